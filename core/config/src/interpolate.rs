//! `${VAR}` in config strings, so credentials and per-machine URLs stay out of
//! the file that gets committed. `$${` writes a literal `${`.
//!
//! Substitution happens on the parsed document before anything else looks at
//! it, so every later check sees the real value while its span still points at
//! the string as written.

use super::span::KeyPath;
use toml::de::{DeString, DeTable, DeValue};
use toml::Spanned;

/// Why a string could not be interpolated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InterpolateError {
    /// `${NAME}` with NAME not set.
    Unset(String),
    /// `${` without `}`, or an empty or malformed name.
    Malformed(String),
}

/// Replaces `${NAME}` with `env(NAME)` and `$${` with `${`. Returns `None` when
/// the string holds neither, so untouched strings stay borrowed.
pub(crate) fn interpolate(
    s: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, InterpolateError> {
    if !s.contains("${") {
        return Ok(None);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find("${") {
        let (before, after) = rest.split_at(pos);
        if let Some(kept) = before.strip_suffix('$') {
            // `$${` is an escaped literal `${`.
            out.push_str(kept);
            out.push_str("${");
            rest = &after[2..];
            continue;
        }
        out.push_str(before);
        let body = &after[2..];
        let end = body.find('}').ok_or_else(|| {
            InterpolateError::Malformed(
                "`${` is not closed by `}`; write `${NAME}`, or `$${` for a literal `${`"
                    .to_string(),
            )
        })?;
        let name = &body[..end];
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(InterpolateError::Malformed(format!(
                "`${{{name}}}` is not a variable reference; names use letters, digits and `_` (write `$${{` for a literal `${{`)"
            )));
        }
        let value = env(name).ok_or_else(|| InterpolateError::Unset(name.to_string()))?;
        out.push_str(&value);
        rest = &body[end + 1..];
    }
    out.push_str(rest);
    Ok(Some(out))
}

/// A substitution that failed, with the path and span of its string.
pub(crate) struct Failure {
    pub(crate) path: KeyPath,
    pub(crate) span: std::ops::Range<usize>,
    pub(crate) error: InterpolateError,
}

/// Interpolates every string value in the document. Returns the failures and
/// the substituted values of strings under an `auth` table (credentials), which
/// the caller scrubs from every message as a last line of defence.
pub(crate) fn interpolate_document(
    root: &mut Spanned<DeTable<'_>>,
    env: &dyn Fn(&str) -> Option<String>,
) -> (Vec<Failure>, Vec<String>) {
    let mut failures = Vec::new();
    let mut secrets = Vec::new();
    walk_table(
        root.get_mut(),
        &KeyPath::root(),
        env,
        &mut failures,
        &mut secrets,
    );
    (failures, secrets)
}

fn walk_table(
    table: &mut DeTable<'_>,
    path: &KeyPath,
    env: &dyn Fn(&str) -> Option<String>,
    failures: &mut Vec<Failure>,
    secrets: &mut Vec<String>,
) {
    for (key, value) in table.iter_mut() {
        walk_value(value, &path.key(key.get_ref()), env, failures, secrets);
    }
}

fn walk_value(
    value: &mut Spanned<DeValue<'_>>,
    path: &KeyPath,
    env: &dyn Fn(&str) -> Option<String>,
    failures: &mut Vec<Failure>,
    secrets: &mut Vec<String>,
) {
    let span = value.span();
    match value.get_mut() {
        DeValue::String(s) => match interpolate(s, env) {
            Ok(None) => {}
            Ok(Some(new)) => {
                if path.to_string().contains(".auth.") {
                    secrets.push(new.clone());
                }
                *s = DeString::Owned(new);
            }
            Err(error) => failures.push(Failure {
                path: path.clone(),
                span,
                error,
            }),
        },
        DeValue::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk_value(item, &path.index(i), env, failures, secrets);
            }
        }
        DeValue::Table(t) => walk_table(t, path, env, failures, secrets),
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "KEY" => Some("s3cr3t".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn substitutes_and_escapes() {
        assert_eq!(interpolate("plain", &env), Ok(None));
        assert_eq!(interpolate("${KEY}", &env), Ok(Some("s3cr3t".into())));
        assert_eq!(
            interpolate("a-${KEY}-${EMPTY}-b", &env),
            Ok(Some("a-s3cr3t--b".into()))
        );
        assert_eq!(interpolate("$${KEY}", &env), Ok(Some("${KEY}".into())));
        assert_eq!(
            interpolate("cost $5 and $${x} ${KEY}", &env),
            Ok(Some("cost $5 and ${x} s3cr3t".into()))
        );
    }

    #[test]
    fn reports_unset_and_malformed() {
        assert_eq!(
            interpolate("${NOPE}", &env),
            Err(InterpolateError::Unset("NOPE".into()))
        );
        assert!(matches!(
            interpolate("${KEY", &env),
            Err(InterpolateError::Malformed(_))
        ));
        assert!(matches!(
            interpolate("${}", &env),
            Err(InterpolateError::Malformed(_))
        ));
        assert!(matches!(
            interpolate("${9A}", &env),
            Err(InterpolateError::Malformed(_))
        ));
    }
}
