//! Where in a scenario file a value stands: TOML spans turned into `file:line:col`, and the
//! error type every scenario problem is reported with.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

/// A problem in a scenario file, located as precisely as the file allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    /// The scenario file.
    pub file: PathBuf,
    /// 1-based line of the problem; 0 when the file could not be read.
    pub line: usize,
    /// 1-based column of the problem; 0 when the file could not be read.
    pub col: usize,
    /// Dotted path of the offending field, e.g. `producer.rate`.
    pub field: String,
    /// What is wrong and, where it helps, what is allowed.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.col)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

/// The text of a scenario file, for locating fields in it.
pub struct Source {
    /// Path the scenario was read from; relative files are resolved against its directory.
    pub path: PathBuf,
    /// The file's contents.
    pub text: String,
}

impl Source {
    /// The scenario `text`, as read from `path`.
    pub fn new(path: &Path, text: String) -> Source {
        Source {
            path: path.to_path_buf(),
            text,
        }
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let col = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
        (line, col)
    }

    /// An error about `field`, located at the start of `span`, or at 1:1 without one.
    pub fn error_at(
        &self,
        span: Option<Range<usize>>,
        field: &str,
        message: impl Into<String>,
    ) -> ScenarioError {
        let (line, col) = span.map_or((1, 1), |s| self.line_col(s.start));
        ScenarioError {
            file: self.path.clone(),
            line,
            col,
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// `text` (field `path`) as a time inside a run lasting `total`.
    pub fn time_in_run(
        &self,
        path: &str,
        text: &str,
        total: std::time::Duration,
    ) -> Result<std::time::Duration, ScenarioError> {
        let at = crate::duration::parse(text).map_err(|m| self.error(path, m))?;
        if at >= total {
            return Err(self.error(
                path,
                format!(
                    "{text} is outside the run, which lasts {} (warm-up + duration)",
                    crate::duration::display(total)
                ),
            ));
        }
        Ok(at)
    }

    /// An error about the field at dotted `path` (e.g. `producer.steps.2.rate`), located at its
    /// value, or at the nearest enclosing table that exists.
    pub fn error(&self, path: &str, message: impl Into<String>) -> ScenarioError {
        self.error_at(self.span_of(path), path, message)
    }

    /// The value `text` of the field at `path` read as one of `T`'s names (an action, a scope,
    /// a backend, ...); an unknown name is an error listing every name `T` has.
    pub fn named<T>(&self, path: &str, what: &str, text: &str) -> Result<T, ScenarioError>
    where
        T: std::str::FromStr + strum::VariantNames,
    {
        text.parse().map_err(|_| {
            let allowed = T::VARIANTS.join(", ");
            self.error(
                path,
                format!("unknown {what} \"{text}\"; allowed: {allowed}"),
            )
        })
    }

    /// Span of the value at dotted `path`; array elements are addressed by index.
    pub fn span_of(&self, path: &str) -> Option<Range<usize>> {
        let root = DeTable::parse(&self.text).ok()?;
        let mut best = None;
        let mut table: &DeTable<'_> = root.get_ref();
        let mut value: Option<&DeValue<'_>> = None;
        for seg in path.split('.') {
            let next = match value {
                None => table.get(seg),
                Some(DeValue::Table(t)) => t.get(seg),
                Some(DeValue::Array(a)) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
                Some(_) => None,
            };
            let Some(next) = next else { break };
            best = Some(next.span());
            if let DeValue::Table(t) = next.get_ref() {
                table = t;
            }
            value = Some(next.get_ref());
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "[run]\nname = \"x\"\n\n[producer]\nrate = -5\n\n[[fault]]\nat = \"1s\"\n\n[[fault]]\nat = \"9s\"\n";

    #[test]
    fn locates_nested_fields_and_array_elements() {
        let src = Source::new(Path::new("s.toml"), DOC.into());
        let e = src.error("producer.rate", "must be positive");
        assert_eq!((e.line, e.col), (5, 8));
        assert_eq!(e.to_string(), "s.toml:5:8: producer.rate: must be positive");
        let e = src.error("fault.1.at", "outside the run");
        assert_eq!((e.line, e.col), (11, 6));
    }

    #[test]
    fn falls_back_to_the_enclosing_table() {
        let src = Source::new(Path::new("s.toml"), DOC.into());
        let e = src.error("producer.count", "x");
        assert_eq!(e.line, 4, "points at [producer] when count is absent");
        let e = src.error("consumer.group", "x");
        assert_eq!((e.line, e.col), (1, 1));
    }
}
