//! Reading `tally.toml`: parse with spans, interpolate, reject unknown keys,
//! deserialize table by table, then validate across tables.
//!
//! Each table (and each `[[sources]]` item) is deserialized on its own, and a
//! value that fails is reported, dropped and the table retried, so one run of
//! `tally check` lists every mistake rather than the first.

use super::deprecated::rewrite_deprecated_keys;
use super::error::{ConfigError, ConfigErrors};
use super::interpolate::{interpolate_document, InterpolateError};
use super::span::{key_span, nearest_span, KeyPath, LineIndex, Location, Seg};
use super::suggest::{did_you_mean, fields_of, list};
use super::validate::{validate, Parsed};
use super::{
    AuthConfig, ClientConfig, Config, CostConfig, GoalConfig, HttpConfig, PluginsConfig,
    QuotaOverride, RateLimitOverride, ScheduleConfig, ServerConfig, SourceConfig, StorageConfig,
    TokensConfig, TOP_LEVEL_KEYS,
};
use serde::de::DeserializeOwned;
use std::ops::Range;
use std::path::Path;
use tally_model::Description;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

/// What parsing needs from outside the text: where relative paths start and
/// how `${VAR}` is looked up (tests pass a closure instead of the process environment).
pub struct ParseContext<'a> {
    /// Directory that `storage.path`, `plugins.dirs`, `plugins.files` and `*_file` secrets are relative to.
    pub base_dir: &'a Path,
    /// Looks up an environment variable for `${NAME}`.
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Reads and validates the config file at `path` against the available
/// connectors. Relative paths in it resolve against the file's directory.
pub fn load(path: &Path, connectors: &[Description]) -> Result<Config, ConfigErrors> {
    let label = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors::new(vec![ConfigError {
            location: None,
            path: String::new(),
            message: format!(
                "cannot read config file {label}: {e}; create it (config.example.toml lists every option) or pass --config"
            ),
        }])
    })?;
    let base_dir = path.parent().unwrap_or(Path::new(""));
    parse_with(
        &text,
        &label,
        connectors,
        &ParseContext {
            base_dir,
            env: &process_env,
        },
    )
}

/// Validates config text; `file_label` names it in errors. Relative paths stay
/// relative to the current directory and `${VAR}` reads the process environment.
pub fn parse(
    text: &str,
    file_label: &str,
    connectors: &[Description],
) -> Result<Config, ConfigErrors> {
    parse_with(
        text,
        file_label,
        connectors,
        &ParseContext {
            base_dir: Path::new(""),
            env: &process_env,
        },
    )
}

/// [`parse`] with an explicit base directory and environment.
pub fn parse_with(
    text: &str,
    file_label: &str,
    connectors: &[Description],
    ctx: &ParseContext<'_>,
) -> Result<Config, ConfigErrors> {
    let lines = LineIndex::new(text, file_label);
    let mut root = DeTable::parse(text).map_err(|e| {
        ConfigErrors::new(vec![ConfigError {
            location: e.span().map(|s| lines.locate(s.start)),
            path: String::new(),
            message: format!("{}; this is not valid TOML", e.message().trim_end()),
        }])
    })?;
    let mut sink = Sink::new(&lines);

    let (failures, secrets) = interpolate_document(&mut root, ctx.env);
    for f in failures {
        let message = match f.error {
            InterpolateError::Unset(name) => format!(
                "environment variable {name} is not set; export it before running tally (write `$${{` for a literal `${{`)"
            ),
            InterpolateError::Malformed(m) => m,
        };
        sink.push(Some(f.span), &f.path, message);
        sink.suppress(f.path);
    }

    let deprecations = rewrite_deprecated_keys(&mut root, &mut sink);
    reject_unknown_keys(&mut root, connectors, &mut sink);

    let parsed = Parsed {
        storage: section::<StorageConfig>(&root, "storage", &mut sink).unwrap_or_default(),
        plugins: section::<PluginsConfig>(&root, "plugins", &mut sink).unwrap_or_default(),
        server: section::<ServerConfig>(&root, "server", &mut sink).unwrap_or_default(),
        schedule: section::<ScheduleConfig>(&root, "schedule", &mut sink).unwrap_or_default(),
        http: section::<HttpConfig>(&root, "http", &mut sink).unwrap_or_default(),
        auth: section::<TokensConfig>(&root, "auth", &mut sink).unwrap_or_default(),
        clients: items::<ClientConfig>(&root, "clients", &mut sink),
        sources: items::<SourceConfig>(&root, "sources", &mut sink),
        goals: items::<GoalConfig>(&root, "goals", &mut sink),
        costs: items::<CostConfig>(&root, "costs", &mut sink),
    };
    let mut config = validate(parsed, &root, connectors, ctx, &mut sink);
    config.deprecations = deprecations;
    let mut file_secrets = Vec::new();
    if let Some(p) = &config.storage.password {
        file_secrets.push(p.expose().to_string());
    }
    for s in &config.sources {
        let a = &s.auth;
        for v in [&a.api_key, &a.token, &a.client_secret, &a.refresh_token]
            .into_iter()
            .flatten()
        {
            file_secrets.push(v.expose().to_string());
        }
    }
    let errors = sink.finish(secrets.iter().chain(file_secrets.iter()));
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors::new(errors))
    }
}

/// Collects errors with their spans, drops those about values already
/// reported, and sorts them into file order.
pub(crate) struct Sink<'a> {
    lines: &'a LineIndex<'a>,
    errors: Vec<(usize, ConfigError)>,
    suppressed: Vec<KeyPath>,
}

impl<'a> Sink<'a> {
    fn new(lines: &'a LineIndex<'a>) -> Sink<'a> {
        Sink {
            lines,
            errors: Vec::new(),
            suppressed: Vec::new(),
        }
    }

    /// Location of a byte offset, for messages that cite a second place.
    pub(crate) fn locate(&self, offset: usize) -> Location {
        self.lines.locate(offset)
    }

    /// Records an error at `span` about the value at `path`.
    pub(crate) fn push(&mut self, span: Option<Range<usize>>, path: &KeyPath, message: String) {
        let is_suppressed = self
            .suppressed
            .iter()
            .any(|s| path.0.len() >= s.0.len() && path.0[..s.0.len()] == s.0[..]);
        if is_suppressed {
            return;
        }
        let order = span.as_ref().map_or(usize::MAX, |s| s.start);
        self.errors.push((
            order,
            ConfigError {
                location: span.map(|s| self.lines.locate(s.start)),
                path: path.to_string(),
                message,
            },
        ));
    }

    /// Records an error about the value at `path` (or its closest existing parent).
    pub(crate) fn at_value(
        &mut self,
        root: &Spanned<DeTable<'_>>,
        path: &KeyPath,
        message: String,
    ) {
        let span = nearest_span(root, path);
        self.push(Some(span), path, message);
    }

    /// Records an error about the key that ends `path`.
    pub(crate) fn at_key(&mut self, root: &Spanned<DeTable<'_>>, path: &KeyPath, message: String) {
        let span = key_span(root, path).unwrap_or_else(|| nearest_span(root, path));
        self.push(Some(span), path, message);
    }

    /// Later errors at or under `path` repeat one already reported; drop them.
    pub(crate) fn suppress(&mut self, path: KeyPath) {
        self.suppressed.push(path);
    }

    /// The errors in file order, with any secret value that slipped into a
    /// message replaced.
    fn finish<'s>(self, secrets: impl Iterator<Item = &'s String>) -> Vec<ConfigError> {
        let secrets: Vec<&String> = secrets.filter(|s| s.len() >= 4).collect();
        let mut errors = self.errors;
        errors.sort_by_key(|(order, _)| *order);
        errors
            .into_iter()
            .map(|(_, mut e)| {
                for s in &secrets {
                    if e.message.contains(s.as_str()) {
                        e.message = e.message.replace(s.as_str(), "[redacted]");
                    }
                }
                e
            })
            .collect()
    }
}

/// Reports and removes every key the config does not define, suggesting the
/// closest valid one. `[sources.settings]` keys are checked against the
/// source's connector.
fn reject_unknown_keys(
    root: &mut Spanned<DeTable<'_>>,
    connectors: &[Description],
    sink: &mut Sink<'_>,
) {
    let top = KeyPath::root();
    prune(root.get_mut(), &top, TOP_LEVEL_KEYS, "the top level", sink);
    let sections: [(&str, &[&str]); 6] = [
        ("storage", fields_of::<StorageConfig>()),
        ("plugins", fields_of::<PluginsConfig>()),
        ("server", fields_of::<ServerConfig>()),
        ("schedule", fields_of::<ScheduleConfig>()),
        ("http", fields_of::<HttpConfig>()),
        ("auth", fields_of::<TokensConfig>()),
    ];
    for (name, fields) in sections {
        if let Some(DeValue::Table(t)) = root.get_mut().get_mut(name).map(Spanned::get_mut) {
            prune(t, &top.key(name), fields, &format!("[{name}]"), sink);
        }
    }
    let arrays: [(&str, &[&str]); 4] = [
        ("clients", fields_of::<ClientConfig>()),
        ("sources", fields_of::<SourceConfig>()),
        ("goals", fields_of::<GoalConfig>()),
        ("costs", fields_of::<CostConfig>()),
    ];
    for (name, fields) in arrays {
        let Some(value) = root.get_mut().get_mut(name) else {
            continue;
        };
        let span = value.span();
        let DeValue::Array(items) = value.get_mut() else {
            sink.push(
                Some(span),
                &top.key(name),
                format!("must be an array of tables: write each entry as a [[{name}]] section"),
            );
            sink.suppress(top.key(name));
            continue;
        };
        for (i, item) in items.iter_mut().enumerate() {
            let path = top.key(name).index(i);
            let DeValue::Table(t) = item.get_mut() else {
                continue;
            };
            prune(t, &path, fields, &format!("[[{name}]]"), sink);
            if name == "sources" {
                prune_source_tables(t, &path, connectors, sink);
            }
        }
    }
}

fn prune_source_tables(
    source: &mut DeTable<'_>,
    path: &KeyPath,
    connectors: &[Description],
    sink: &mut Sink<'_>,
) {
    let nested: [(&str, &[&str]); 3] = [
        ("rate_limit", fields_of::<RateLimitOverride>()),
        ("quota", fields_of::<QuotaOverride>()),
        ("auth", fields_of::<AuthConfig>()),
    ];
    for (name, fields) in nested {
        if let Some(DeValue::Table(t)) = source.get_mut(name).map(Spanned::get_mut) {
            prune(
                t,
                &path.key(name),
                fields,
                &format!("[sources.{name}]"),
                sink,
            );
        }
    }
    let connector = source
        .get("connector")
        .and_then(|v| v.get_ref().as_str())
        .and_then(|name| connectors.iter().find(|c| c.name == name));
    if let (Some(c), Some(DeValue::Table(t))) =
        (connector, source.get_mut("settings").map(Spanned::get_mut))
    {
        let names: Vec<&str> = c.settings.iter().map(|s| s.name.as_str()).collect();
        let place = format!("[sources.settings] of connector `{}`", c.name);
        prune(t, &path.key("settings"), &names, &place, sink);
    }
}

/// Reports and removes the keys of `table` not in `valid`.
fn prune(
    table: &mut DeTable<'_>,
    path: &KeyPath,
    valid: &[&str],
    place: &str,
    sink: &mut Sink<'_>,
) {
    let unknown: Vec<(String, Range<usize>)> = table
        .iter()
        .filter(|(k, _)| !valid.contains(&k.get_ref().as_ref()))
        .map(|(k, _)| (k.get_ref().to_string(), k.span()))
        .collect();
    for (key, span) in unknown {
        let hint = did_you_mean(&key, valid.iter().copied());
        sink.push(
            Some(span),
            &path.key(&key),
            format!(
                "unknown key `{key}` in {place}{hint} (valid keys: {})",
                list(valid.iter().copied())
            ),
        );
        table.remove(key.as_str());
    }
}

/// Deserializes the table `[name]`, if present.
fn section<T: DeserializeOwned>(
    root: &Spanned<DeTable<'_>>,
    name: &str,
    sink: &mut Sink<'_>,
) -> Option<T> {
    let value = root.get_ref().get(name)?;
    deserialize_at(value, &KeyPath::root().key(name), sink)
}

/// Deserializes each entry of `[[name]]` that can be, with its index in the file.
fn items<T: DeserializeOwned>(
    root: &Spanned<DeTable<'_>>,
    name: &str,
    sink: &mut Sink<'_>,
) -> Vec<(usize, T)> {
    let Some(DeValue::Array(items)) = root.get_ref().get(name).map(Spanned::get_ref) else {
        return Vec::new();
    };
    let path = KeyPath::root().key(name);
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| deserialize_at(item, &path.index(i), sink).map(|v| (i, v)))
        .collect()
}

/// Deserializes one value. On an error, reports it, drops the offending key
/// and tries again, so every bad value of a table is reported. The result (if
/// any) has defaults where bad values were; later errors about those keys are
/// suppressed, and the whole config fails anyway.
fn deserialize_at<T: DeserializeOwned>(
    value: &Spanned<DeValue<'_>>,
    path: &KeyPath,
    sink: &mut Sink<'_>,
) -> Option<T> {
    let mut value = value.clone();
    let mut removed: Vec<KeyPath> = Vec::new();
    loop {
        let de = ValueDeserializer::from(value.clone());
        let err = match serde_path_to_error::deserialize::<_, T>(de) {
            Ok(v) => return Some(v),
            Err(e) => e,
        };
        let rel = KeyPath(
            err.path()
                .iter()
                .filter_map(|s| match s {
                    serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
                    serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
                    _ => None,
                })
                .collect(),
        );
        let inner = err.into_inner();
        let raw = inner.message().trim_end().to_string();
        if let Some(field) = missing_field(&raw) {
            let missing = rel.key(field);
            if removed.contains(&missing) {
                return None;
            }
            sink.push(
                inner.span(),
                &path.join(&missing),
                format!("missing required key `{field}`; add it"),
            );
            return None;
        }
        sink.push(inner.span(), &path.join(&rel), polish(&raw));
        // Drop the whole key (not an array element) and retry.
        let mut target = rel.0.clone();
        while matches!(target.last(), Some(Seg::Index(_))) {
            target.pop();
        }
        if target.is_empty()
            || removed.contains(&KeyPath(target.clone()))
            || !remove_at(&mut value, &target)
        {
            return None;
        }
        sink.suppress(path.join(&KeyPath(target.clone())));
        removed.push(KeyPath(target));
    }
}

/// The field of serde's "missing field `x`" message.
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.strip_suffix('`')
}

/// Makes serde's wording read like the rest: suggests the nearest variant.
fn polish(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        if let Some((given, expected)) = rest.split_once("`, expected ") {
            let options: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
            let hint = did_you_mean(given, options.iter().copied());
            return format!(
                "`{given}` is not one of {}{hint}",
                list(options.iter().copied())
            );
        }
    }
    // Serde names Rust types; say what to write instead.
    let mut out = message.to_string();
    if let Some((head, expected)) = out.clone().split_once(", expected ") {
        let plain = match expected {
            "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number of 0 or more",
            "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
            "f32" | "f64" => "a number",
            "a sequence" => "an array such as [\"a\", \"b\"]",
            e if e.starts_with("struct ") => "a table",
            _ => "",
        };
        if !plain.is_empty() {
            out = format!("{head}, expected {plain}");
        }
    }
    out
}

/// Removes the key at `rel` (relative to `value`); false if it is not there.
fn remove_at(value: &mut Spanned<DeValue<'_>>, rel: &[Seg]) -> bool {
    let Some((Seg::Key(last), parent)) = rel.split_last() else {
        return false;
    };
    let mut cur = value;
    for seg in parent {
        let next = match (seg, cur.get_mut()) {
            (Seg::Key(k), DeValue::Table(t)) => t.get_mut(k.as_str()),
            (Seg::Index(i), DeValue::Array(a)) => a.get_mut(*i),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return false,
        }
    }
    match cur.get_mut() {
        DeValue::Table(t) => t.remove(last.as_str()).is_some(),
        _ => false,
    }
}
