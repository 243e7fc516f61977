//! Problems found in a document, each naming the field in the caller's own vocabulary.

use std::fmt;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The document is refused.
    Error,
    /// The document is accepted; the problem is reported and logged.
    Warning,
}

/// One problem: where (a path in the caller's format: `jyz.tyshxydm`,
/// `/RemoteApply/Operator/Uscc`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The field, spelled as the caller's platform spells it.
    pub path: String,
    /// What is wrong and, where it helps, what to do.
    pub message: String,
    /// Error or warning.
    pub severity: Severity,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.severity {
            Severity::Error => write!(f, "{}: {}", self.path, self.message),
            Severity::Warning => write!(f, "{}: warning: {}", self.path, self.message),
        }
    }
}

/// Every problem found in one document; readers collect them all before giving up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(Vec<Problem>);

impl Problems {
    /// No problems yet.
    pub fn new() -> Self {
        Self::default()
    }
    /// Records an error at `path`.
    pub fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.push(path.into(), message.into(), Severity::Error);
    }
    /// Records a warning at `path`.
    pub fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.push(path.into(), message.into(), Severity::Warning);
    }
    fn push(&mut self, path: String, message: String, severity: Severity) {
        self.0.push(Problem {
            path,
            message,
            severity,
        });
    }
    /// The value of `result`, or `None` with its error recorded at `path`.
    pub fn check<T, E: fmt::Display>(
        &mut self,
        path: impl FnOnce() -> String,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.error(path(), e.to_string());
                None
            }
        }
    }
    /// True when any problem is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|p| p.severity == Severity::Error)
    }
    /// True when there is no problem at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The problems in the order found.
    pub fn iter(&self) -> std::slice::Iter<'_, Problem> {
        self.0.iter()
    }
    /// Number of problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Adds every problem of `other`.
    pub fn extend(&mut self, other: Problems) {
        self.0.extend(other.0);
    }
}

impl IntoIterator for Problems {
    type Item = Problem;
    type IntoIter = std::vec::IntoIter<Problem>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl fmt::Display for Problems {
    /// One `path: message` line per problem.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}
