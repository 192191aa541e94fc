//! `[schema]`'s evolution under load: the subject's compatibility mode and the
//! `[[schema.evolve]]` entries (when, which file, and whether producers switch together or one
//! by one) — and reading any `.avsc` file a scenario names, so every schema gets the same checks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::raw::RawEvolve;
use super::source::{ScenarioError, Source};

type R<T> = Result<T, ScenarioError>;

/// A subject's compatibility mode, as the Confluent API names it (`BACKWARD_TRANSITIVE`, read
/// in any case): the name comes from the variant.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr, strum::VariantNames,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE", ascii_case_insensitive)]
pub enum Compatibility {
    /// New schemas can read data written with the last one.
    Backward,
    /// ... with every earlier one.
    BackwardTransitive,
    /// The last schema can read data written with new ones.
    Forward,
    /// ... every earlier one can.
    ForwardTransitive,
    /// Backward and forward with the last one.
    Full,
    /// Backward and forward with every earlier one.
    FullTransitive,
    /// No check.
    None,
}

impl Compatibility {
    /// The mode as the registry's config API spells it, e.g. `BACKWARD_TRANSITIVE`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The mode `s` names (any case).
    pub fn parse(s: &str) -> Option<Compatibility> {
        s.parse().ok()
    }
}

/// How producers move to a new version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    /// Every producer from the moment the registry accepted it.
    Together,
    /// Producer `n` this long after producer `n - 1`, as in a rolling deployment.
    OneByOne(Duration),
}

/// One `[[schema.evolve]]` entry.
#[derive(Debug, Clone)]
pub struct Evolution {
    /// When kbench registers it, from the start of the load.
    pub at: Duration,
    /// The `.avsc` file, resolved against the scenario's directory.
    pub file: PathBuf,
    /// The schema as the user wrote it.
    pub avsc: String,
    /// How producers move to it once accepted.
    pub switch: Switch,
}

/// Read the `.avsc` file `rel` (relative to the scenario) for `field`, checking it is an Avro
/// record kbench can add its header to. Returns the resolved path and the text.
pub(super) fn read_avsc(src: &Source, field: &str, rel: &str) -> R<(PathBuf, String)> {
    let file = src.path.parent().unwrap_or(Path::new(".")).join(rel);
    let avsc = std::fs::read_to_string(&file)
        .map_err(|e| src.error(field, format!("cannot read {}: {e}", file.display())))?;
    let augmented = crate::avro::header::augment_schema(&avsc)
        .map_err(|e| src.error(field, format!("{}: {e}", file.display())))?;
    apache_avro::Schema::parse_str(&augmented).map_err(|e| {
        src.error(
            field,
            format!("{} is not a valid Avro schema: {e}", file.display()),
        )
    })?;
    Ok((file, avsc))
}

/// `schema.compatibility`: one of the Confluent modes.
pub(super) fn compatibility(src: &Source, raw: Option<&str>) -> R<Option<Compatibility>> {
    raw.map(|s| src.named("schema.compatibility", "mode", s))
        .transpose()
}

/// `[[schema.evolve]]`, in time order; every time inside the run.
pub(super) fn entries(src: &Source, raw: &[RawEvolve], total: Duration) -> R<Vec<Evolution>> {
    let mut out = raw
        .iter()
        .enumerate()
        .map(|(i, e)| entry(src, i, e, total))
        .collect::<R<Vec<_>>>()?;
    out.sort_by_key(|e| e.at);
    Ok(out)
}

fn entry(src: &Source, i: usize, e: &RawEvolve, total: Duration) -> R<Evolution> {
    let field = |k: &str| format!("schema.evolve.{i}.{k}");
    let at = src.time_in_run(&field("at"), &e.at, total)?;
    let (file, avsc) = read_avsc(src, &field("file"), &e.file)?;
    let spacing = e
        .spacing
        .as_deref()
        .map(|s| crate::duration::parse(s).map_err(|m| src.error(&field("spacing"), m)))
        .transpose()?;
    let switch = match (e.switch.as_deref().unwrap_or("together"), spacing) {
        ("together", None) => Switch::Together,
        ("together", Some(_)) => {
            return Err(src.error(
                &field("spacing"),
                "spacing goes with switch = \"one-by-one\"",
            ))
        }
        ("one-by-one", s) => Switch::OneByOne(s.unwrap_or(Duration::from_secs(1))),
        (other, _) => {
            return Err(src.error(
                &field("switch"),
                format!("unknown switch \"{other}\"; allowed: \"together\", \"one-by-one\""),
            ))
        }
    };
    Ok(Evolution {
        at,
        file,
        avsc,
        switch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_in_any_case_and_print_as_the_api_spells_them() {
        assert_eq!(
            Compatibility::parse("backward"),
            Some(Compatibility::Backward)
        );
        assert_eq!(
            Compatibility::parse("FULL_TRANSITIVE").map(Compatibility::as_str),
            Some("FULL_TRANSITIVE")
        );
        assert_eq!(Compatibility::parse("sideways"), None);
    }
}
