//! Human durations as scenarios and flags write them: `500ms`, `30s`, `2m`, `1h`, `1m30s`.

use std::time::Duration;

/// Parse `500ms`, `30s`, `2m`, `1h` or a sum such as `1m30s`. A bare number is refused, so a
/// forgotten unit never silently means seconds or milliseconds.
pub fn parse(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration; write e.g. \"30s\", \"2m\" or \"500ms\"".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("\"{text}\" has no unit; write e.g. \"{rest}s\""))?;
        if digits == 0 {
            return Err(format!(
                "\"{text}\" is not a duration; write e.g. \"30s\", \"2m\" or \"500ms\""
            ));
        }
        let value: f64 = rest[..digits]
            .parse()
            .map_err(|_| format!("\"{text}\": bad number \"{}\"", &rest[..digits]))?;
        let after = &rest[digits..];
        let unit_len = after
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(after.len());
        let unit = &after[..unit_len];
        let secs = match unit {
            "ms" => value / 1000.0,
            "s" => value,
            "m" => value * 60.0,
            "h" => value * 3600.0,
            _ => {
                return Err(format!(
                    "\"{text}\": unknown unit \"{unit}\"; use ms, s, m or h"
                ))
            }
        };
        total += Duration::from_secs_f64(secs);
        rest = &after[unit_len..];
    }
    Ok(total)
}

/// Short display: `1m30s`, `250ms`.
pub fn display(d: Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let s = ms / 1000;
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_sums() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
    }

    #[test]
    fn refuses_missing_or_unknown_units() {
        assert!(parse("30").unwrap_err().contains("no unit"));
        assert!(parse("3d").unwrap_err().contains("unknown unit"));
        assert!(parse("").is_err());
        assert!(parse("s").is_err());
    }

    #[test]
    fn displays_compactly() {
        assert_eq!(display(Duration::from_secs(90)), "1m30s");
        assert_eq!(display(Duration::from_millis(250)), "250ms");
        assert_eq!(display(Duration::from_secs(120)), "2m");
    }
}
