//! Secrets and the environment: a [`Secret`] never prints its value (Debug and Display show
//! `***`), and [`expand`] resolves `${VAR}` references in scenario values at the edge, naming the
//! variable when it is unset — so passwords live in the environment, never in a scenario file.

use std::fmt;

/// A password or key passphrase. Only [`Secret::expose`] gives the value, for the one place that
/// hands it to a client library.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a value read from the environment or a file.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for a client's configuration only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Why a value could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpandError {
    /// `${VAR}` names a variable that is not set (or is empty).
    Unset(String),
    /// `${` without a closing `}`, or an empty or invalid name.
    Malformed(String),
}

impl fmt::Display for ExpandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpandError::Unset(v) => write!(f, "environment variable {v} is not set"),
            ExpandError::Malformed(m) => f.write_str(m),
        }
    }
}

/// Replace every `${VAR}` in `text` with the variable's value, looked up through `env`.
pub fn expand_with(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ExpandError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| {
            ExpandError::Malformed(format!("`${{` without a closing `}}` in \"{text}\""))
        })?;
        let name = &after[..end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ExpandError::Malformed(format!(
                "`${{{name}}}` is not a variable name (letters, digits and '_')"
            )));
        }
        let value = env(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ExpandError::Unset(name.to_string()))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// [`expand_with`] over the process environment.
pub fn expand(text: &str) -> Result<String, ExpandError> {
    expand_with(text, &|name| std::env::var(name).ok())
}

/// Whether `text` is exactly one `${VAR}` reference: the only way a scenario may give a secret.
pub fn is_reference(text: &str) -> bool {
    let t = text.trim();
    t.starts_with("${")
        && t.ends_with('}')
        && t[2..t.len() - 1]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        && t.len() > 3
}

/// `text` with every non-empty secret value replaced by `***`: the last guard wherever text that
/// might quote a secret (the echoed scenario, an error) leaves kbench.
pub fn redact(text: &str, secrets: &[&Secret]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if !s.0.is_empty() {
            out = out.replace(&s.0, "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "PW" => Some("s3cret".into()),
            "DIR" => Some("/etc/kbench".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn references_expand_and_unset_ones_are_named() {
        assert_eq!(expand_with("${PW}", &env).unwrap(), "s3cret");
        assert_eq!(
            expand_with("${DIR}/ca.pem", &env).unwrap(),
            "/etc/kbench/ca.pem"
        );
        assert_eq!(expand_with("plain", &env).unwrap(), "plain");
        assert_eq!(
            expand_with("${NOPE}", &env),
            Err(ExpandError::Unset("NOPE".into()))
        );
        assert_eq!(
            expand_with("${EMPTY}", &env),
            Err(ExpandError::Unset("EMPTY".into()))
        );
        assert!(matches!(
            expand_with("${PW", &env),
            Err(ExpandError::Malformed(_))
        ));
        assert!(matches!(
            expand_with("${P W}", &env),
            Err(ExpandError::Malformed(_))
        ));
    }

    #[test]
    fn a_secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
        assert_eq!(redact("a hunter2 b", &[&s]), "a *** b");
        assert!(is_reference("${KBENCH_SASL_PASSWORD}"));
        assert!(!is_reference("hunter2"));
        assert!(!is_reference("${}"));
        assert!(!is_reference("x${A}"));
    }
}
