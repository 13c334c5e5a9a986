//! Turning byte offsets from the TOML parser into `file:line:column`, and key
//! paths (`sources[1].settings.channel_id`) into the offsets of what is written
//! there, so every config error points at the exact spot to fix.

use std::fmt;
use std::ops::Range;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// Where in the config file something is, 1-based, columns counted in characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    /// The file as the user named it (`tally.toml`).
    pub file: String,
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Offsets of line starts, for offset → line:column.
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    file: String,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str, file: &str) -> LineIndex<'a> {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex {
            text,
            file: file.to_string(),
            starts,
        }
    }

    /// The location of byte `offset` (clamped to the text).
    pub(crate) fn locate(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        Location {
            file: self.file.clone(),
            line,
            column,
        }
    }
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// A path to a value, displayed as users would write it: `sources[1].auth.api_key`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KeyPath(pub(crate) Vec<Seg>);

impl KeyPath {
    pub(crate) fn root() -> KeyPath {
        KeyPath(Vec::new())
    }

    /// This path with a key appended.
    pub(crate) fn key(&self, k: &str) -> KeyPath {
        let mut v = self.0.clone();
        v.push(Seg::Key(k.to_string()));
        KeyPath(v)
    }

    /// This path with an index appended.
    pub(crate) fn index(&self, i: usize) -> KeyPath {
        let mut v = self.0.clone();
        v.push(Seg::Index(i));
        KeyPath(v)
    }

    /// This path followed by `other`.
    pub(crate) fn join(&self, other: &KeyPath) -> KeyPath {
        let mut v = self.0.clone();
        v.extend(other.0.iter().cloned());
        KeyPath(v)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Index(n) => write!(f, "[{n}]")?,
                Seg::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let bare = !k.is_empty()
                        && k.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if bare {
                        f.write_str(k)?;
                    } else {
                        write!(f, "{k:?}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The spanned value at `path`, if it exists.
pub(crate) fn value_at<'a, 'i>(
    root: &'a Spanned<DeTable<'i>>,
    path: &KeyPath,
) -> Option<&'a Spanned<DeValue<'i>>> {
    let (first, rest) = path.0.split_first()?;
    let Seg::Key(k) = first else { return None };
    let mut cur = root.get_ref().get(k.as_str())?;
    for seg in rest {
        cur = match (seg, cur.get_ref()) {
            (Seg::Key(k), DeValue::Table(t)) => t.get(k.as_str())?,
            (Seg::Index(i), DeValue::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// The span of the key that ends `path` (where an unknown or duplicate key is written).
pub(crate) fn key_span(root: &Spanned<DeTable<'_>>, path: &KeyPath) -> Option<Range<usize>> {
    let (last, parent) = path.0.split_last()?;
    let Seg::Key(k) = last else {
        return value_at(root, path).map(Spanned::span);
    };
    let table = if parent.is_empty() {
        root.get_ref()
    } else {
        match value_at(root, &KeyPath(parent.to_vec()))?.get_ref() {
            DeValue::Table(t) => t,
            _ => return None,
        }
    };
    table.get_key_value(k.as_str()).map(|(key, _)| key.span())
}

/// The span of the value at `path`, or of the closest enclosing value that
/// exists (a missing key is reported where its table is).
pub(crate) fn nearest_span(root: &Spanned<DeTable<'_>>, path: &KeyPath) -> Range<usize> {
    let mut p = path.0.clone();
    loop {
        if p.is_empty() {
            return root.span();
        }
        if let Some(v) = value_at(root, &KeyPath(p.clone())) {
            return v.span();
        }
        p.pop();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_character_columns() {
        let idx = LineIndex::new("a = 1\nbé = \"x\"\n", "t.toml");
        assert_eq!(idx.locate(0).to_string(), "t.toml:1:1");
        assert_eq!(idx.locate(6).to_string(), "t.toml:2:1");
        // `"` after `bé = ` is byte 12 and character 6.
        assert_eq!(idx.locate(12).to_string(), "t.toml:2:6");
    }

    #[test]
    fn paths_display_like_toml() {
        let p = KeyPath::root()
            .key("sources")
            .index(1)
            .key("settings")
            .key("a.b");
        assert_eq!(p.to_string(), "sources[1].settings.\"a.b\"");
    }
}
