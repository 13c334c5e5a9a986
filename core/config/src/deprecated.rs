//! Keys that older configs used and that still load, rewritten to today's names.
//!
//! Durations are written one way everywhere (`timeout = "30s"`, `backoff_base =
//! "500ms"`), but configs written before that used numeric keys with the unit in
//! the name (`timeout_secs = 30`). Refusing them would break working installs on
//! upgrade, so each old key is rewritten in the parsed document before the
//! types see it, and `tally check` lists what to change.

use super::load::Sink;
use super::span::{KeyPath, Location};
use std::borrow::Cow;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// An old key found in the config, with where it is and what replaces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deprecation {
    /// Where the old key is written.
    pub location: Option<Location>,
    /// The old key's path, such as `sources[0].timeout_secs`.
    pub path: String,
    /// The line to write instead, such as `timeout = "30s"`.
    pub replacement: String,
}

impl std::fmt::Display for Deprecation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(at) = &self.location {
            write!(f, "{at}: ")?;
        }
        write!(
            f,
            "`{}` is deprecated; write `{}` instead (it still works for now)",
            self.path, self.replacement
        )
    }
}

/// An old numeric key, the key replacing it and the unit its number was in.
struct Renamed {
    old: &'static str,
    new: &'static str,
    unit: &'static str,
}

const HTTP: &[Renamed] = &[
    Renamed {
        old: "connect_timeout_secs",
        new: "connect_timeout",
        unit: "s",
    },
    Renamed {
        old: "timeout_secs",
        new: "timeout",
        unit: "s",
    },
    Renamed {
        old: "backoff_base_ms",
        new: "backoff_base",
        unit: "ms",
    },
    Renamed {
        old: "backoff_max_ms",
        new: "backoff_max",
        unit: "ms",
    },
];

const SOURCE: &[Renamed] = &[Renamed {
    old: "timeout_secs",
    new: "timeout",
    unit: "s",
}];

const RATE_LIMIT: &[Renamed] = &[Renamed {
    old: "per_seconds",
    new: "per",
    unit: "s",
}];

/// Rewrites every old key in `root` to its new name and a duration string, and
/// returns what was rewritten. An old key beside its new one, or an old key
/// whose value is not a whole number, is an error in `sink` and is dropped.
pub(crate) fn rewrite_deprecated_keys(
    root: &mut Spanned<DeTable<'_>>,
    sink: &mut Sink<'_>,
) -> Vec<Deprecation> {
    let mut found = Vec::new();
    let top = KeyPath::root();
    if let Some(DeValue::Table(http)) = root.get_mut().get_mut("http").map(Spanned::get_mut) {
        rewrite(http, &top.key("http"), HTTP, sink, &mut found);
    }
    if let Some(DeValue::Array(sources)) = root.get_mut().get_mut("sources").map(Spanned::get_mut) {
        for (i, source) in sources.iter_mut().enumerate() {
            let DeValue::Table(source) = source.get_mut() else {
                continue;
            };
            let path = top.key("sources").index(i);
            rewrite(source, &path, SOURCE, sink, &mut found);
            if let Some(DeValue::Table(limit)) = source.get_mut("rate_limit").map(Spanned::get_mut)
            {
                rewrite(limit, &path.key("rate_limit"), RATE_LIMIT, sink, &mut found);
            }
        }
    }
    found
}

fn rewrite(
    table: &mut DeTable<'_>,
    path: &KeyPath,
    keys: &[Renamed],
    sink: &mut Sink<'_>,
    found: &mut Vec<Deprecation>,
) {
    for key in keys {
        let Some((old_key, old_value)) = table.remove_entry(key.old) else {
            continue;
        };
        let old_path = path.key(key.old);
        if table.get(key.new).is_some() {
            sink.push(
                Some(old_key.span()),
                &old_path,
                format!(
                    "both `{}` and `{}` are set; remove the deprecated `{}`",
                    key.old, key.new, key.old
                ),
            );
            continue;
        }
        let number = match old_value.get_ref() {
            DeValue::Integer(n) if n.radix() == 10 => {
                n.as_str().replace('_', "").parse::<u64>().ok()
            }
            _ => None,
        };
        let Some(number) = number else {
            sink.push(
                Some(old_value.span()),
                &old_path,
                format!(
                    "`{}` takes a whole number; better, write `{} = \"30{}\"` instead",
                    key.old, key.new, key.unit
                ),
            );
            continue;
        };
        let replacement = format!("{number}{}", key.unit);
        found.push(Deprecation {
            location: Some(sink.locate(old_key.span().start)),
            path: old_path.to_string(),
            replacement: format!("{} = \"{replacement}\"", key.new),
        });
        let span = old_value.span();
        table.insert(
            Spanned::new(old_key.span(), Cow::Borrowed(key.new)),
            Spanned::new(span, DeValue::String(Cow::Owned(replacement))),
        );
    }
}
