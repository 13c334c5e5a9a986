//! Checks that need more than one table: references between clients, sources
//! and goals, each source against its connector's description (settings, auth
//! kinds, quota), goal and cost rules, and reading `*_file` secrets.
//!
//! Ids are taken from the raw document, so an entry that failed to deserialize
//! still counts as defined and does not cause a second, misleading error.

use super::goals::{check_client, check_cost, check_goal};
use super::load::{ParseContext, Sink};
use super::span::{value_at, KeyPath};
use super::suggest::{did_you_mean, list};
use super::{
    AuthConfig, AuthMethod, ClientConfig, Config, CostConfig, GoalConfig, HttpConfig,
    PluginsConfig, ScheduleConfig, ServerConfig, SourceConfig, StorageConfig, TokensConfig,
};
use crate::secret::Secret;
use crate::ServiceAccountKey;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tally_model::Description;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// The tables as deserialized, entries with their index in the file.
pub(crate) struct Parsed {
    pub(crate) storage: StorageConfig,
    pub(crate) plugins: PluginsConfig,
    pub(crate) server: ServerConfig,
    pub(crate) schedule: ScheduleConfig,
    pub(crate) auth: TokensConfig,
    pub(crate) http: HttpConfig,
    pub(crate) clients: Vec<(usize, ClientConfig)>,
    pub(crate) sources: Vec<(usize, SourceConfig)>,
    pub(crate) goals: Vec<(usize, GoalConfig)>,
    pub(crate) costs: Vec<(usize, CostConfig)>,
}

/// Everything the checks share.
pub(super) struct Checker<'r, 'i, 's, 'l> {
    pub(super) root: &'r Spanned<DeTable<'i>>,
    sink: &'s mut Sink<'l>,
}

impl Checker<'_, '_, '_, '_> {
    pub(super) fn value(&mut self, path: &KeyPath, message: String) {
        self.sink.at_value(self.root, path, message);
    }

    pub(super) fn key(&mut self, path: &KeyPath, message: String) {
        self.sink.at_key(self.root, path, message);
    }

    /// The `id` strings of `[[array]]` entries as written, with their index.
    fn declared(&self, array: &str) -> Vec<(usize, String)> {
        let Some(DeValue::Array(items)) = self.root.get_ref().get(array).map(Spanned::get_ref)
        else {
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let id = item.get_ref().as_table()?.get("id")?.get_ref().as_str()?;
                Some((i, id.to_string()))
            })
            .collect()
    }

    /// Reports ids that are malformed or used twice, naming both places.
    fn unique_ids(&mut self, array: &str, what: &str) {
        let mut first: HashMap<String, usize> = HashMap::new();
        for (i, id) in self.declared(array) {
            let path = KeyPath::root().key(array).index(i).key("id");
            if id.is_empty()
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                self.value(
                    &path,
                    format!("{what} id must be non-empty and use only letters, digits, `-`, `_` and `.`"),
                );
            }
            match first.get(&id) {
                Some(&j) => {
                    let earlier = KeyPath::root().key(array).index(j).key("id");
                    let at = value_at(self.root, &earlier)
                        .map(|v| self.sink.locate(v.span().start).to_string())
                        .unwrap_or_default();
                    self.value(
                        &path,
                        format!("duplicate {what} id `{id}`: {array}[{j}] at {at} already uses it; give each a unique id"),
                    );
                }
                None => {
                    first.insert(id, i);
                }
            }
        }
    }
}

/// Runs every cross-table check and assembles the config (with paths resolved
/// and secret files read). Problems go to `sink`; the result is only used when
/// there are none.
pub(crate) fn validate(
    parsed: Parsed,
    root: &Spanned<DeTable<'_>>,
    connectors: &[Description],
    ctx: &ParseContext<'_>,
    sink: &mut Sink<'_>,
) -> Config {
    let mut c = Checker { root, sink };
    let top = KeyPath::root();
    c.unique_ids("clients", "client");
    c.unique_ids("sources", "source");
    c.unique_ids("goals", "goal");
    let clients: Vec<String> = c
        .declared("clients")
        .into_iter()
        .map(|(_, id)| id)
        .collect();

    check_http(&mut c, &parsed.http);
    let mut storage = parsed.storage;
    if storage.path.as_os_str().is_empty() {
        c.value(
            &top.key("storage").key("path"),
            "the database path is empty; write a file name such as \"tally.db\"".into(),
        );
    }
    storage.path = ctx.base_dir.join(&storage.path);
    check_storage_url(&mut c, &top.key("storage"), &mut storage, ctx.base_dir);
    let mut plugins = parsed.plugins;
    plugins.dirs = plugins.dirs.iter().map(|d| ctx.base_dir.join(d)).collect();
    plugins.files = plugins.files.iter().map(|f| ctx.base_dir.join(f)).collect();
    let mut auth = parsed.auth;
    auth.tokens_dir = auth.tokens_dir.map(|d| ctx.base_dir.join(d));
    auth.key_file = auth.key_file.map(|f| ctx.base_dir.join(f));

    let mut out_sources = Vec::new();
    for (i, mut s) in parsed.sources {
        check_source(
            &mut c,
            &top.key("sources").index(i),
            &mut s,
            &clients,
            connectors,
            ctx.base_dir,
        );
        out_sources.push(s);
    }
    let source_clients: HashMap<&str, Option<&str>> = out_sources
        .iter()
        .map(|s| (s.id.as_str(), s.client.as_deref()))
        .collect();
    for (i, client) in &parsed.clients {
        check_client(&mut c, &top.key("clients").index(*i), client);
    }
    let client_configs: Vec<&ClientConfig> = parsed.clients.iter().map(|(_, k)| k).collect();
    let mut cost_currencies = HashMap::new();
    for (i, g) in &parsed.goals {
        check_goal(
            &mut c,
            &top.key("goals").index(*i),
            g,
            &clients,
            &source_clients,
        );
    }
    for (i, cost) in &parsed.costs {
        check_cost(
            &mut c,
            &top.key("costs").index(*i),
            cost,
            &clients,
            &client_configs,
            &mut cost_currencies,
        );
    }
    Config {
        storage,
        plugins,
        server: parsed.server,
        schedule: ScheduleConfig {
            reports_dir: parsed.schedule.reports_dir.map(|d| ctx.base_dir.join(d)),
            ..parsed.schedule
        },
        http: parsed.http,
        auth,
        clients: parsed.clients.into_iter().map(|(_, v)| v).collect(),
        sources: out_sources,
        goals: parsed.goals.into_iter().map(|(_, v)| v).collect(),
        costs: parsed.costs.into_iter().map(|(_, v)| v).collect(),
        deprecations: Vec::new(),
    }
}

fn check_http(c: &mut Checker<'_, '_, '_, '_>, h: &HttpConfig) {
    let path = KeyPath::root().key("http");
    let counts: [(&str, u64); 2] = [
        ("max_attempts", u64::from(h.max_attempts)),
        ("max_concurrency", h.max_concurrency as u64),
    ];
    for (key, v) in counts {
        if v == 0 {
            c.value(&path.key(key), format!("`{key}` must be at least 1"));
        }
    }
    let durations = [
        ("connect_timeout", h.connect_timeout),
        ("timeout", h.timeout),
        ("backoff_max", h.backoff_max),
    ];
    for (key, v) in durations {
        if v.is_zero() {
            c.value(
                &path.key(key),
                format!("`{key}` must be longer than zero, such as \"30s\""),
            );
        }
    }
    if h.backoff_base > h.backoff_max {
        c.value(
            &path.key("backoff_base"),
            format!(
                "`backoff_base` ({:?}) is longer than `backoff_max` ({:?}); make the base the shorter one",
                h.backoff_base, h.backoff_max
            ),
        );
    }
}

pub(super) fn check_reference(
    c: &mut Checker<'_, '_, '_, '_>,
    path: &KeyPath,
    what: &str,
    id: &str,
    known: &[String],
) {
    if !known.iter().any(|k| k == id) {
        let section = if what == "client" {
            "[[clients]]"
        } else {
            "[[sources]]"
        };
        let hint = did_you_mean(id, known.iter().map(String::as_str));
        c.value(
            path,
            format!(
                "{what} `{id}` is not defined by any {section} entry{hint} (defined: {})",
                list(known.iter().map(String::as_str))
            ),
        );
    }
}

fn check_source(
    c: &mut Checker<'_, '_, '_, '_>,
    path: &KeyPath,
    s: &mut SourceConfig,
    clients: &[String],
    connectors: &[Description],
    base_dir: &Path,
) {
    if let Some(client) = &s.client {
        check_reference(c, &path.key("client"), "client", client, clients);
    }
    if s.max_pages == 0 {
        c.value(
            &path.key("max_pages"),
            "`max_pages` must be at least 1".into(),
        );
    }
    if s.timeout.is_some_and(|t| t.is_zero()) {
        c.value(
            &path.key("timeout"),
            "`timeout` must be longer than zero, such as \"60s\"".into(),
        );
    }
    if let Some(r) = &s.rate_limit {
        if r.per.as_secs() == 0 || r.per.subsec_millis() != 0 {
            c.value(
                &path.key("rate_limit").key("per"),
                "`per` must be a whole number of seconds, at least \"1s\"".into(),
            );
        }
        for (key, v) in [("requests", Some(r.requests)), ("burst", r.burst)] {
            if v == Some(0) {
                c.value(
                    &path.key("rate_limit").key(key),
                    format!("`{key}` must be at least 1"),
                );
            }
        }
    }
    if let Some(q) = &s.quota {
        if q.units == 0 {
            c.value(
                &path.key("quota").key("units"),
                "`units` must be at least 1".into(),
            );
        }
    }
    if !s.settings.is_object() {
        c.value(
            &path.key("settings"),
            "`settings` must be a table ([sources.settings])".into(),
        );
    }
    let auth_written = value_at(c.root, &path.key("auth")).is_some();
    if auth_written {
        read_secret_files(c, &path.key("auth"), &mut s.auth, base_dir);
        check_auth_fields(c, &path.key("auth"), &s.auth);
        read_key_file(c, &path.key("auth"), s, base_dir);
    }

    let Some(connector) = connectors.iter().find(|d| d.name == s.connector) else {
        let names = connectors.iter().map(|d| d.name.as_str());
        let hint = did_you_mean(&s.connector, names.clone());
        c.value(
            &path.key("connector"),
            format!(
                "unknown connector `{}`{hint} (known connectors: {}; plugins from [plugins] dirs add more)",
                s.connector,
                list(names)
            ),
        );
        return;
    };
    for spec in connector.settings.iter().filter(|spec| spec.required) {
        let present = s.settings.get(&spec.name).is_some();
        if !present {
            let at = if value_at(c.root, &path.key("settings")).is_some() {
                path.key("settings").key(&spec.name)
            } else {
                path.key(&spec.name)
            };
            c.value(
                &at,
                format!(
                    "connector `{}` needs setting `{}` ({}); add `{} = ...` under [sources.settings]",
                    connector.name, spec.name, spec.description, spec.name
                ),
            );
        }
    }
    let accepted: Vec<&str> = connector.auth.iter().map(|a| a.name()).collect();
    if !auth_written {
        // No [sources.auth]: no credentials, which the connector must accept.
        // Otherwise name its default kind (the first) so consumers see one.
        s.auth.kind = if accepted.contains(&"none") {
            AuthMethod::None
        } else {
            connector
                .auth
                .first()
                .map_or(AuthMethod::None, AuthMethod::of)
        };
        if s.auth.kind != AuthMethod::None {
            let kinds: Vec<String> = accepted.iter().map(|a| format!("\"{a}\"")).collect();
            c.value(
                path,
                format!(
                    "connector `{}` needs credentials: add a [sources.auth] table with kind = {}",
                    connector.name,
                    kinds.join(" or ")
                ),
            );
        }
    } else if !accepted.contains(&s.auth.kind.as_str()) {
        // A service account is nobody's user: say why, not only what is accepted.
        let why = if s.auth.kind == AuthMethod::ServiceAccount {
            ": its data belongs to a user's account, which only that user's consent opens (a service account acts as itself); use kind = \"oauth2\" and `tally auth login`"
        } else {
            ""
        };
        c.value(
            &path.key("auth").key("kind"),
            format!(
                "connector `{}` does not accept auth kind `{}`; accepted kinds: {}{why}",
                connector.name,
                s.auth.kind.as_str(),
                list(accepted.iter().copied())
            ),
        );
    }
    if s.quota.is_some() && connector.quota.is_none() {
        c.value(
            &path.key("quota"),
            format!(
                "connector `{}` has no cost-unit quota to override; remove [sources.quota] (use [sources.rate_limit] for request rates)",
                connector.name
            ),
        );
    }
}

/// Pairs of a secret and the key naming a file that holds it instead.
const SECRET_FILES: [(&str, &str); 4] = [
    ("api_key", "api_key_file"),
    ("token", "token_file"),
    ("client_secret", "client_secret_file"),
    ("refresh_token", "refresh_token_file"),
];

fn secret_slot<'a>(
    auth: &'a mut AuthConfig,
    name: &str,
) -> (&'a mut Option<Secret>, &'a Option<PathBuf>) {
    match name {
        "api_key" => (&mut auth.api_key, &auth.api_key_file),
        "token" => (&mut auth.token, &auth.token_file),
        "client_secret" => (&mut auth.client_secret, &auth.client_secret_file),
        _ => (&mut auth.refresh_token, &auth.refresh_token_file),
    }
}

/// Reads each `*_file` secret into its value field. The file's content never
/// appears in a message; its path does.
fn read_secret_files(
    c: &mut Checker<'_, '_, '_, '_>,
    path: &KeyPath,
    auth: &mut AuthConfig,
    base_dir: &Path,
) {
    for (value_key, file_key) in SECRET_FILES {
        let (value, file) = secret_slot(auth, value_key);
        let Some(file) = file else { continue };
        if value.is_some() {
            c.key(
                &path.key(file_key),
                format!("both `{value_key}` and `{file_key}` are set; keep one"),
            );
            continue;
        }
        let full = base_dir.join(file);
        match std::fs::read_to_string(&full) {
            Ok(text) => {
                let secret = text.trim_end_matches(['\n', '\r']);
                if secret.is_empty() {
                    c.value(
                        &path.key(file_key),
                        format!("secret file {} is empty; put the {value_key} on its first line", full.display()),
                    );
                } else {
                    *value = Some(Secret::new(secret));
                }
            }
            Err(e) => c.value(
                &path.key(file_key),
                format!(
                    "cannot read secret file {}: {e}; create it or fix the path (relative paths start at the config file's directory)",
                    full.display()
                ),
            ),
        }
    }
}

/// Reads a service account's `key_file` (kind `service_account`), resolved
/// against the config's directory, into `service_account`.
fn read_key_file(
    c: &mut Checker<'_, '_, '_, '_>,
    path: &KeyPath,
    s: &mut SourceConfig,
    base_dir: &Path,
) {
    let auth = &mut s.auth;
    let Some(file) = auth.key_file.as_mut() else {
        return;
    };
    *file = base_dir.join(&*file);
    if auth.kind != AuthMethod::ServiceAccount {
        return;
    }
    let credential = auth.credential.as_deref().unwrap_or(&s.id);
    match ServiceAccountKey::read(file, credential) {
        Ok(key) => auth.service_account = Some(key),
        Err(message) => c.value(&path.key("key_file"), message),
    }
}

/// Checks that the keys of `[sources.auth]` fit its kind.
fn check_auth_fields(c: &mut Checker<'_, '_, '_, '_>, path: &KeyPath, a: &AuthConfig) {
    let set: Vec<(&str, bool)> = vec![
        ("api_key", a.api_key.is_some() || a.api_key_file.is_some()),
        ("token", a.token.is_some() || a.token_file.is_some()),
        ("client_id", a.client_id.is_some()),
        (
            "client_secret",
            a.client_secret.is_some() || a.client_secret_file.is_some(),
        ),
        (
            "refresh_token",
            a.refresh_token.is_some() || a.refresh_token_file.is_some(),
        ),
        ("scopes", a.scopes.is_some()),
        ("auth_url", a.auth_url.is_some()),
        ("token_url", a.token_url.is_some()),
        ("redirect_port", a.redirect_port.is_some()),
        ("credential", a.credential.is_some()),
        ("key_file", a.key_file.is_some()),
    ];
    let (required, optional): (&[&str], &[&str]) = match a.kind {
        AuthMethod::None => (&[], &[]),
        AuthMethod::ApiKey => (&["api_key"], &[]),
        AuthMethod::Bearer => (&["token"], &[]),
        AuthMethod::OAuth2 => (
            &["client_id"],
            &[
                "client_secret",
                "refresh_token",
                "scopes",
                "auth_url",
                "token_url",
                "redirect_port",
                "credential",
            ],
        ),
        AuthMethod::ClientCredentials => (
            &["client_id", "client_secret"],
            &["scopes", "token_url", "credential"],
        ),
        AuthMethod::ServiceAccount => (&["key_file"], &["scopes", "credential"]),
    };
    let kind = a.kind.as_str();
    for (name, is_set) in &set {
        if *is_set && !required.contains(name) && !optional.contains(name) {
            let written = if value_at(c.root, &path.key(name)).is_some() {
                name.to_string()
            } else {
                format!("{name}_file")
            };
            c.key(
                &path.key(&written),
                format!(
                    "`{written}` is not used with kind = \"{kind}\"; remove it or change `kind`"
                ),
            );
        }
    }
    for name in required {
        let is_set = set.iter().any(|(n, s)| n == name && *s);
        if !is_set {
            let file = if SECRET_FILES.iter().any(|(v, _)| v == name) {
                format!(" (or `{name}_file`)")
            } else {
                String::new()
            };
            c.value(
                &path.key(name),
                format!("kind = \"{kind}\" needs `{name}`{file}; add it to [sources.auth]"),
            );
        }
    }
}

/// The PostgreSQL url must name PostgreSQL, and `password_file` is read into
/// `password` (its content never appears in a message; its path does).
fn check_storage_url(
    c: &mut Checker<'_, '_, '_, '_>,
    path: &KeyPath,
    storage: &mut StorageConfig,
    base_dir: &Path,
) {
    if let Some(url) = &storage.url {
        let url = url.expose();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            c.value(
                &path.key("url"),
                "the url must start with `postgres://` (or `postgresql://`), e.g. \"postgres://tally@db.internal:5432/tally\"; for a SQLite file use `path`".into(),
            );
        }
    }
    let Some(file) = storage.password_file.take() else {
        return;
    };
    let full = base_dir.join(&file);
    storage.password_file = Some(full.clone());
    if storage.url.is_none() {
        c.key(
            &path.key("password_file"),
            "`password_file` is the password of a PostgreSQL `url`, and no `url` is set; add `url = \"postgres://user@host/db\"` or remove `password_file`".into(),
        );
        return;
    }
    match std::fs::read_to_string(&full) {
        Ok(text) => {
            let secret = text.lines().next().unwrap_or("").trim_end_matches('\r');
            if secret.is_empty() {
                c.value(
                    &path.key("password_file"),
                    format!("password file {} is empty; put the password on its first line", full.display()),
                );
            } else {
                storage.password = Some(Secret::new(secret));
            }
        }
        Err(e) => c.value(
            &path.key("password_file"),
            format!(
                "cannot read password file {}: {e}; create it or fix the path (relative paths start at the config file's directory)",
                full.display()
            ),
        ),
    }
}
