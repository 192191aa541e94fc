//! The payload fields: `schema.record_size` as one size, a range or a histogram,
//! `schema.repeat` (how compressible contents are) and `producer.keys`.

use super::source::{ScenarioError, Source};
use crate::load::payload::{KeyDist, PayloadSpec, SizeDist};

type R<T> = Result<T, ScenarioError>;

const MAX_SIZE: i64 = 16 << 20;
const MAX_KEYS: i64 = 1_000_000;

/// `schema.record_size`: `1024`, `{ min = 256, max = 4096 }` or
/// `{ sizes = [200, 1000], weights = [80, 20] }`; the size to calibrate to (the mean) and the
/// spread.
pub(super) fn record_size(src: &Source, v: Option<&toml::Value>) -> R<(Option<usize>, SizeDist)> {
    const F: &str = "schema.record_size";
    let Some(v) = v else {
        return Ok((None, SizeDist::Fixed));
    };
    let size = |field: &str, v: &toml::Value| match v.as_integer() {
        Some(n) if (1..=MAX_SIZE).contains(&n) => Ok(n as usize),
        _ => Err(src.error(field, format!("must be a size in bytes, 1 to {MAX_SIZE}"))),
    };
    let dist = match v {
        toml::Value::Integer(_) => return Ok((Some(size(F, v)?), SizeDist::Fixed)),
        toml::Value::Table(t) => match (t.get("min"), t.get("max"), t.get("sizes")) {
            (Some(lo), Some(hi), None) if t.len() == 2 => {
                let (min, max) = (
                    size(&format!("{F}.min"), lo)?,
                    size(&format!("{F}.max"), hi)?,
                );
                if max < min {
                    return Err(src.error(&format!("{F}.max"), "must be at least min"));
                }
                SizeDist::Uniform { min, max }
            }
            (None, None, Some(sizes)) => histogram(src, sizes, t.get("weights"))?,
            _ => return Err(src.error(F, SHAPES)),
        },
        _ => return Err(src.error(F, SHAPES)),
    };
    let mean = dist.mean().expect("not fixed").round() as usize;
    Ok((Some(mean), dist))
}

const SHAPES: &str = "give one size (`record_size = 1024`), a uniform range \
    (`record_size = { min = 256, max = 4096 }`) or a histogram \
    (`record_size = { sizes = [200, 1000, 8000], weights = [70, 25, 5] }`)";

fn histogram(src: &Source, sizes: &toml::Value, weights: Option<&toml::Value>) -> R<SizeDist> {
    const F: &str = "schema.record_size";
    let numbers = |field: &str, v: &toml::Value| -> R<Vec<f64>> {
        let arr = v
            .as_array()
            .filter(|a| !a.is_empty() && a.len() <= 64)
            .ok_or_else(|| src.error(field, "must be a list of 1 to 64 numbers"))?;
        arr.iter()
            .map(|x| {
                (x.as_float().or(x.as_integer().map(|i| i as f64)))
                    .filter(|f| f.is_finite() && *f > 0.0)
                    .ok_or_else(|| src.error(field, "every entry must be a positive number"))
            })
            .collect()
    };
    let s = numbers(&format!("{F}.sizes"), sizes)?;
    if s.iter().any(|x| x.fract() != 0.0 || *x > MAX_SIZE as f64) {
        return Err(src.error(
            &format!("{F}.sizes"),
            format!("sizes are whole bytes, 1 to {MAX_SIZE}"),
        ));
    }
    let w = match weights {
        Some(w) => numbers(&format!("{F}.weights"), w)?,
        None => vec![1.0; s.len()],
    };
    if w.len() != s.len() {
        return Err(src.error(
            &format!("{F}.weights"),
            format!("has {} entries for {} sizes", w.len(), s.len()),
        ));
    }
    Ok(SizeDist::Histogram(
        s.iter().map(|x| *x as usize).zip(w).collect(),
    ))
}

/// `producer.keys`: `"none"` (default), `{ count = 1000 }` (uniform) or
/// `{ count = 1000, distribution = "zipf", exponent = 1.1 }`.
pub(super) fn keys(src: &Source, v: Option<&toml::Value>) -> R<KeyDist> {
    const F: &str = "producer.keys";
    let shapes = "give \"none\", `{ count = 1000 }` (uniform over 1000 keys) or \
                  `{ count = 1000, distribution = \"zipf\", exponent = 1.0 }`";
    let t = match v {
        None => return Ok(KeyDist::None),
        Some(toml::Value::String(s)) if s == "none" => return Ok(KeyDist::None),
        Some(toml::Value::Table(t)) => t,
        Some(_) => return Err(src.error(F, shapes)),
    };
    if let Some(k) =
        (t.keys()).find(|k| !["count", "distribution", "exponent"].contains(&k.as_str()))
    {
        return Err(src.error(&format!("{F}.{k}"), format!("unknown field; {shapes}")));
    }
    let count = match t.get("count").and_then(toml::Value::as_integer) {
        Some(n) if (1..=MAX_KEYS).contains(&n) => n as u32,
        _ => {
            return Err(src.error(
                &format!("{F}.count"),
                format!("must be a number of distinct keys, 1 to {MAX_KEYS}"),
            ))
        }
    };
    let exponent = t
        .get("exponent")
        .map(|e| e.as_float().or(e.as_integer().map(|i| i as f64)));
    match (
        t.get("distribution").and_then(toml::Value::as_str),
        exponent,
    ) {
        (None | Some("uniform"), None) => Ok(KeyDist::Uniform { count }),
        (Some("zipf"), e) => match e.unwrap_or(Some(1.0)) {
            Some(exponent) if (0.0..=5.0).contains(&exponent) => {
                Ok(KeyDist::Zipf { count, exponent })
            }
            _ => Err(src.error(&format!("{F}.exponent"), "must be a number from 0 to 5")),
        },
        (None | Some("uniform"), Some(_)) => Err(src.error(
            &format!("{F}.exponent"),
            "only applies to distribution = \"zipf\"",
        )),
        (Some(other), _) => Err(src.error(
            &format!("{F}.distribution"),
            format!("unknown distribution \"{other}\"; allowed: \"uniform\", \"zipf\""),
        )),
    }
}

/// `schema.repeat`: the share of string/bytes contents that repeats, 0 (default) to 1.
pub(super) fn repeat(src: &Source, v: Option<f64>) -> R<f64> {
    match v {
        None => Ok(0.0),
        Some(f) if (0.0..=1.0).contains(&f) => Ok(f),
        Some(_) => Err(src.error(
            "schema.repeat",
            "must be a share from 0 (random contents) to 1 (every run repeated)",
        )),
    }
}

/// The payload of a scenario whose schema may evolve: sizes that vary need one length model,
/// which a second writer schema would not share.
pub(super) fn spec(
    src: &Source,
    sizes: SizeDist,
    repeat: f64,
    keys: KeyDist,
    evolves: bool,
) -> R<PayloadSpec> {
    if evolves && sizes != SizeDist::Fixed {
        return Err(src.error(
            "schema.record_size",
            "a size range or histogram cannot be combined with [[schema.evolve]]: each version \
             would need its own; give one record_size",
        ));
    }
    Ok(PayloadSpec {
        sizes,
        repeat,
        keys,
    })
}
