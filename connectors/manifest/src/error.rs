//! Load errors: what is wrong with a manifest, at its `file:line:column`.

use crate::template::TemplateError;
use std::ops::Range;

/// A manifest that cannot be used, with where and why, like `tally check`
/// reports for `tally.toml`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ManifestError {
    /// The manifest's file name (or `builtin/NAME.connector.toml`).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong and what to write instead.
    pub message: String,
}

/// The text being compiled, to turn byte offsets into lines and columns.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// File name for messages.
    pub file: &'a str,
    /// Its text.
    pub text: &'a str,
}

impl Source<'_> {
    /// An error at byte `offset` of the file.
    pub fn error(&self, offset: usize, message: impl Into<String>) -> ManifestError {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = self.text[line_start..offset].chars().count() + 1;
        ManifestError {
            file: self.file.to_string(),
            line,
            column,
            message: message.into(),
        }
    }

    /// An error at the start of `span`.
    pub fn at(&self, span: Range<usize>, message: impl Into<String>) -> ManifestError {
        self.error(span.start, message)
    }

    /// A template error inside the TOML string at `span`: the template text
    /// starts one byte after the opening quote.
    pub fn template(&self, span: Range<usize>, error: TemplateError) -> ManifestError {
        let quote = usize::from(
            self.text
                .get(span.start..span.start + 1)
                .is_some_and(|q| q == "\"" || q == "'"),
        );
        self.error(span.start + quote + error.offset, error.message)
    }
}
