//! Problems found in a document, each naming the field in the caller's own vocabulary and
//! saying what is wrong as a [`Message`] of the catalogue, rendered for its reader.

use std::fmt;

use super::message::{Lang, Message};
use super::Invalid;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The document is refused.
    Error,
    /// The document is accepted; the problem is reported and logged.
    Warning,
}

/// One problem: where (a path in the caller's format: `jyz.tyshxydm`,
/// `/RemoteApply/Operator/Uscc`) and what is wrong (a code of the catalogue and its
/// parameters; the text is written for the reader by [`Problem::text`] or [`Problem::line`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The field, spelled as the caller's platform spells it.
    pub path: String,
    /// What is wrong and, where it helps, what to do.
    pub message: Message,
    /// Error or warning.
    pub severity: Severity,
}

impl Problem {
    /// The message's stable code (`decimal.shape`).
    pub fn code(&self) -> &'static str {
        self.message.code()
    }
    /// The message alone in `lang`, for a reader who sees the field already (the clerks'
    /// page places it under the field named by [`Problem::path`]).
    pub fn text(&self, lang: Lang) -> String {
        self.message.render(lang)
    }
    /// `path: message` (`path: warning: message`, `路径：警告：…` in Chinese) in `lang`, for
    /// a reader who knows the document by its paths: a platform's `msg` / `<Message>`, the
    /// CLI.
    pub fn line(&self, lang: Lang) -> String {
        let text = self.message.render(lang);
        match (self.severity, lang) {
            (Severity::Error, _) => format!("{}: {text}", self.path),
            (Severity::Warning, Lang::En) => format!("{}: warning: {text}", self.path),
            (Severity::Warning, Lang::Zh) => format!("{}: 警告：{text}", self.path),
        }
    }
}

impl fmt::Display for Problem {
    /// In English, for logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line(Lang::En))
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
    /// Records an error at `path`. Only a [`Message`] of the catalogue is taken: no text
    /// reaches a reader untranslated, which the compiler checks at every call site.
    ///
    /// ```compile_fail
    /// let mut p = tongban::model::Problems::new();
    /// p.error("jycs.mj", "a sentence of its own, in one language");
    /// ```
    /// ```
    /// use tongban::model::{Message, Problems};
    /// let mut p = Problems::new();
    /// p.error("jycs.mj", Message::Required);
    /// assert_eq!(p.iter().next().unwrap().code(), "field.required");
    /// ```
    pub fn error(&mut self, path: impl Into<String>, message: Message) {
        self.push(path.into(), message, Severity::Error);
    }
    /// Records a warning at `path`.
    pub fn warn(&mut self, path: impl Into<String>, message: Message) {
        self.push(path.into(), message, Severity::Warning);
    }
    fn push(&mut self, path: String, message: Message, severity: Severity) {
        self.0.push(Problem {
            path,
            message,
            severity,
        });
    }
    /// The value of `result`, or `None` with its error recorded at `path`.
    pub fn check<T>(
        &mut self,
        path: impl FnOnce() -> String,
        result: Result<T, Invalid>,
    ) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.error(path(), e.0);
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

impl Problems {
    /// One `path: message` line per problem, in `lang`.
    pub fn lines(&self, lang: Lang) -> String {
        let lines: Vec<String> = self.0.iter().map(|p| p.line(lang)).collect();
        lines.join("\n")
    }
}

impl fmt::Display for Problems {
    /// One `path: message` line per problem, in English (for logs).
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A problem is rendered where its reader is known: the text alone for the page, a
    /// `path: text` line for a platform or the CLI, English for logs.
    #[test]
    fn a_problem_is_rendered_for_its_reader() {
        let mut p = Problems::new();
        let area = Message::DecimalShape {
            value: "45.5平方".into(),
            unit: "m²",
        };
        p.error("jycs.mj", area.clone());
        p.warn("zz.zzbh", Message::LicenceNoEmpty);
        let first = p.iter().next().unwrap();
        assert_eq!(first.code(), "decimal.shape");
        assert_eq!(
            first.text(Lang::Zh),
            "“45.5平方”不是以 m² 计的数值（数字，可带小数点和小数部分）"
        );
        assert_eq!(
            p.lines(Lang::Zh),
            format!(
                "jycs.mj: {}\nzz.zzbh: 警告：证照编号不能为空",
                area.render(Lang::Zh)
            )
        );
        assert_eq!(
            p.to_string(),
            "jycs.mj: '45.5平方' is not a decimal number of m² (digits with an optional '.' and fraction)\nzz.zzbh: warning: licence number must not be empty"
        );
        assert_eq!(p.to_string(), p.lines(Lang::En));
    }

    #[test]
    fn a_refused_value_becomes_a_problem_at_its_path() {
        let mut p = Problems::new();
        let got: Option<()> = p.check(
            || "sqr.sjhm".to_owned(),
            Err(Invalid(Message::MobileShape {
                value: "138".into(),
            })),
        );
        assert_eq!(got, None);
        assert!(p.has_errors());
        let only = p.iter().next().unwrap();
        assert_eq!(
            (only.path.as_str(), only.code()),
            ("sqr.sjhm", "mobile.shape")
        );
    }
}
