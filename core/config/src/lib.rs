//! `tally.toml`: the config types, and loading them with errors that point at
//! the line and column to fix.
//!
//! Self-hosters write this file by hand, so a typo must produce a message that
//! names the spot, the key and the likely fix rather than a serde dump, and all
//! problems are reported at once. The pipeline is: parse to a spanned document
//! (`span.rs`), substitute `${VAR}` (`interpolate.rs`), reject unknown keys with a
//! suggestion (`suggest.rs`), deserialize each table into these types
//! (`load.rs`), then check what spans tables: references between sections,
//! connector settings and auth, secret files (`validate.rs`), goal and cost rules
//! (`goals.rs`).
//!
//! Every type here derives `Debug` with secrets redacted (they are [`Secret`]s)
//! and denies unknown fields; the structs themselves are the list of valid keys.

mod deprecated;
mod error;
mod goals;
mod interpolate;
mod load;
mod service_account;
mod span;
mod suggest;
mod validate;
mod values;

pub mod secret;
pub mod time;

pub use deprecated::Deprecation;
pub use error::{ConfigError, ConfigErrors};
pub use load::{load, parse, parse_with, ParseContext};
pub use service_account::ServiceAccountKey;
pub use span::Location;
pub use suggest::did_you_mean;
pub use values::{check_http_url, parse_timezone, Currency, Schedule};

use crate::secret::Secret;
use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The whole validated config.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Where points are stored.
    pub storage: StorageConfig,
    /// Where dynamic connector plugins are loaded from.
    pub plugins: PluginsConfig,
    /// The daemon's HTTP endpoint.
    pub server: ServerConfig,
    /// How `tally run` schedules pulls.
    pub schedule: ScheduleConfig,
    /// Timeouts, retries and concurrency of the host's HTTP client.
    pub http: HttpConfig,
    /// Where OAuth2 tokens are kept and how they are encrypted.
    pub auth: TokensConfig,
    /// The businesses sources, goals and reports belong to.
    pub clients: Vec<ClientConfig>,
    /// The accounts to pull.
    pub sources: Vec<SourceConfig>,
    /// The targets to track.
    pub goals: Vec<GoalConfig>,
    /// Money spent, for cost per lead and ROI.
    pub costs: Vec<CostConfig>,
    /// Old keys the file still uses, for `tally check` to list.
    pub deprecations: Vec<Deprecation>,
}

impl Config {
    /// The source with this id, as the CLI's `--source` and goals refer to it.
    pub fn source(&self, id: &str) -> Option<&SourceConfig> {
        self.sources.iter().find(|s| s.id == id)
    }

    /// The client with this id.
    pub fn client(&self, id: &str) -> Option<&ClientConfig> {
        self.clients.iter().find(|c| c.id == id)
    }

    /// The sources goals name that no `[[sources]]` entry defines. A goal may
    /// count a source `tally import` fills, which only the store knows, so the
    /// config alone cannot call these errors: `tally check --offline` notes
    /// them and the online check (and every goal evaluation) looks in the store.
    pub fn unconfigured_goal_sources(&self) -> Vec<UnconfiguredSource> {
        self.goals
            .iter()
            .flat_map(|goal| goal.sources.iter().map(move |source| (goal, source)))
            .filter(|(_, source)| self.source(source).is_none())
            .map(|(goal, source)| UnconfiguredSource {
                goal: goal.id.clone(),
                source: source.clone(),
                hint: did_you_mean(source, self.sources.iter().map(|s| s.id.as_str())),
            })
            .collect()
    }
}

/// A source a goal names without a `[[sources]]` entry: imported, or a typo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnconfiguredSource {
    /// The goal's id.
    pub goal: String,
    /// The source id it names.
    pub source: String,
    /// `; did you mean `x`?` when a configured source is close, else empty.
    pub hint: String,
}

/// The top-level keys, in the order `config.example.toml` documents them.
pub(crate) const TOP_LEVEL_KEYS: &[&str] = &[
    "storage", "plugins", "server", "schedule", "http", "auth", "clients", "sources", "goals",
    "costs",
];

/// `[storage]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// SQLite database file; a relative path is resolved against the config file's directory.
    pub path: PathBuf,
    /// A PostgreSQL database (`postgres://user@host:port/db`) instead of the
    /// file, for several workers on one store. A secret: it may carry a
    /// password through `${VAR}`, so it is never printed.
    pub url: Option<Secret>,
    /// A file holding the PostgreSQL password on its first line, so the url
    /// can be committed; relative to the config file's directory.
    pub password_file: Option<PathBuf>,
    /// The password read from `password_file`, after loading.
    #[serde(skip)]
    pub password: Option<Secret>,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            path: PathBuf::from("tally.db"),
            url: None,
            password_file: None,
            password: None,
        }
    }
}

/// `[plugins]`
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginsConfig {
    /// Directories of connector shared libraries to load; relative to the config file's directory.
    pub dirs: Vec<PathBuf>,
    /// Single plugin files to load besides `dirs` (one plugin out of a build
    /// directory that holds others); relative to the config file's directory.
    pub files: Vec<PathBuf>,
    /// SHA-256 pins by library file name: a file whose digest differs is refused before any of its code runs.
    pub sha256: std::collections::BTreeMap<String, String>,
}

/// `[server]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address `tally run` serves `/healthz` and `/metrics` on.
    pub listen: SocketAddr,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
        }
    }
}

/// `[schedule]`: how `tally run` turns each source's `every` into pulls.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleConfig {
    /// What happens to runs missed while the daemon was down.
    pub catch_up: CatchUp,
    /// Largest per-source offset added to planned times, so sources on the
    /// same schedule do not all start at once (capped at the interval).
    #[serde(deserialize_with = "values::duration")]
    pub max_jitter: Duration,
    /// Extra pulls just after each period boundary in the client's time zone,
    /// so growth over a period has exact start and end values.
    pub boundary_captures: BoundaryCaptures,
    /// Most pulls of one platform at the same time; 0 leaves only the global
    /// `[http] max_concurrency`.
    pub per_platform_concurrency: usize,
    /// How long a shutdown waits for pulls in flight before cancelling them.
    #[serde(deserialize_with = "values::duration")]
    pub shutdown_grace: Duration,
    /// Where `tally run` writes each client's monthly HTML report once the
    /// month is over (`<dir>/<client>/<YYYY-MM>.html`); unset writes none.
    /// Relative to the config file's directory.
    pub reports_dir: Option<PathBuf>,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            catch_up: CatchUp::Once,
            max_jitter: Duration::from_secs(15 * 60),
            boundary_captures: BoundaryCaptures::Month,
            per_platform_concurrency: 4,
            shutdown_grace: Duration::from_secs(30),
            reports_dir: None,
        }
    }
}

/// What `tally run` does about planned runs missed while it was not running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatchUp {
    /// Nothing: each source waits for its next planned run.
    Skip,
    /// One pull right away for each source that missed at least one run.
    Once,
    /// One pull per missed run (at most 24 per source), back to back.
    All,
}

/// Which period boundaries get an extra pull of each scheduled source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoundaryCaptures {
    /// No extra pulls.
    Off,
    /// Every midnight.
    Day,
    /// Every Monday midnight and every first of the month.
    Week,
    /// Every first of the month (and so every quarter).
    Month,
}

/// `[http]`: how the host's client treats every platform.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// How long to wait for a TCP/TLS connection.
    #[serde(deserialize_with = "values::duration")]
    pub connect_timeout: Duration,
    /// How long a whole request may take, unless a source overrides it.
    #[serde(deserialize_with = "values::duration")]
    pub timeout: Duration,
    /// Attempts per request, the first included, before a retryable failure is final.
    pub max_attempts: u32,
    /// Sources pulled at the same time.
    pub max_concurrency: usize,
    /// First retry delay; doubles each attempt, with jitter.
    #[serde(deserialize_with = "values::duration")]
    pub backoff_base: Duration,
    /// Longest retry delay (a Retry-After header may ask for longer).
    #[serde(deserialize_with = "values::duration")]
    pub backoff_max: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_attempts: 5,
            max_concurrency: 8,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
        }
    }
}

/// `[auth]`: the token store of OAuth2 sources (`tally auth login` writes it,
/// pulls read and renew it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokensConfig {
    /// Directory of token files, one per credential; default `tokens/` next to
    /// the database. Relative to the config file's directory.
    pub tokens_dir: Option<PathBuf>,
    /// File holding the key that encrypts token files (64 hex digits); the
    /// `TALLY_TOKEN_KEY` environment variable wins over it. Without either, token
    /// files are plain JSON readable by their owner only.
    pub key_file: Option<PathBuf>,
}

/// `[[clients]]`: a business whose sources, goals and costs are reported together.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// Id that sources, goals and costs refer to.
    pub id: String,
    /// Name printed on reports.
    pub name: String,
    /// IANA time zone that months and weeks of goals and reports follow.
    #[serde(default = "values::utc", deserialize_with = "values::timezone")]
    pub timezone: Tz,
    /// Currency reports show money in; needed when costs, revenue or values
    /// come in more than one currency, or `value_per_*` is set.
    #[serde(default)]
    pub currency: Option<Currency>,
    /// What one lead is worth to the business, in `currency`, for ROI.
    #[serde(default)]
    pub value_per_lead: Option<f64>,
    /// What one conversion (sale, booking) is worth, in `currency`, for ROI.
    #[serde(default)]
    pub value_per_conversion: Option<f64>,
    /// Exchange rates into `currency`: `EUR = 1.08` means one euro is 1.08 of
    /// `currency`. Amounts in a currency without a rate are an error, never summed.
    #[serde(default)]
    pub rates: BTreeMap<String, f64>,
}

fn default_max_pages() -> u32 {
    1000
}

fn default_true() -> bool {
    true
}

fn empty_settings() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// `[[sources]]`: one account on one platform, pulled by one connector.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Id stored on every point and used by goals and the CLI.
    pub id: String,
    /// Connector name, as `tally connectors` lists it.
    pub connector: String,
    /// The `[[clients]]` id this source belongs to.
    #[serde(default)]
    pub client: Option<String>,
    /// How often `tally run` pulls it; without it the source is pulled only by `tally pull`.
    #[serde(default)]
    pub every: Option<Schedule>,
    /// Days an incremental pull re-reads because the platform still restates
    /// them; default: the connector's own window.
    #[serde(default)]
    pub lookback_days: Option<u32>,
    /// API root replacing the connector's documented one (a sandbox, a proxy, a mock).
    #[serde(default, deserialize_with = "values::opt_http_url")]
    pub base_url: Option<String>,
    /// Most pages fetched from any one listing in a pull.
    #[serde(default = "default_max_pages")]
    pub max_pages: u32,
    /// Per-request timeout, replacing `[http] timeout` for this source.
    #[serde(default, deserialize_with = "values::opt_duration")]
    pub timeout: Option<Duration>,
    /// Whether pulls include it; `false` keeps it configured but idle.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Request rate replacing the connector's documented default.
    #[serde(default)]
    pub rate_limit: Option<RateLimitOverride>,
    /// Cost-unit budget replacing the connector's default.
    #[serde(default)]
    pub quota: Option<QuotaOverride>,
    /// Days the platform keeps restating this source's numbers (Meta insights:
    /// 28, GA4: about 3); goals and reports mark newer points provisional.
    #[serde(default)]
    pub settle_days: u32,
    /// Connector-specific settings, checked against the connector's description.
    #[serde(default = "empty_settings")]
    pub settings: serde_json::Value,
    /// Credentials. Without `[sources.auth]` this is the connector's default
    /// kind (the first it accepts) with no credentials, which is only valid
    /// when that kind is `none`.
    #[serde(default)]
    pub auth: AuthConfig,
}

/// `[sources.rate_limit]`: a request rate replacing the connector's documented one
/// (a stricter API plan, a shared key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitOverride {
    /// Requests allowed per window.
    pub requests: u32,
    /// Window length, in whole seconds (`"1s"`, `"5m"`).
    #[serde(deserialize_with = "values::duration")]
    pub per: Duration,
    /// Requests that may go back to back before pacing starts; default: the
    /// connector's burst, capped at `requests`.
    #[serde(default)]
    pub burst: Option<u32>,
}

impl RateLimitOverride {
    /// The rate to enforce: this override, with the connector's burst when none is given.
    pub fn apply(&self, base: tally_model::RateLimitSpec) -> tally_model::RateLimitSpec {
        tally_model::RateLimitSpec {
            requests: self.requests,
            per_seconds: u32::try_from(self.per.as_secs()).unwrap_or(u32::MAX),
            burst: self.burst.unwrap_or(base.burst.min(self.requests)).max(1),
        }
    }
}

/// `[sources.quota]`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaOverride {
    /// Cost units per window (the window and its time zone stay the connector's).
    pub units: u64,
}

/// How a source authenticates; must be one of the kinds its connector accepts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
pub enum AuthMethod {
    /// No credentials (public endpoints).
    #[default]
    #[serde(rename = "none")]
    None,
    /// A static API key (`api_key` or `api_key_file`).
    #[serde(rename = "api_key")]
    ApiKey,
    /// A static bearer token (`token` or `token_file`).
    #[serde(rename = "bearer")]
    Bearer,
    /// OAuth2 authorization code: `client_id`, optional secret and refresh token.
    #[serde(rename = "oauth2")]
    OAuth2,
    /// OAuth2 client credentials: `client_id` and a client secret.
    #[serde(rename = "client_credentials")]
    ClientCredentials,
    /// A service account's JSON key file (`key_file`) signing JWTs the host
    /// trades for tokens (Google).
    #[serde(rename = "service_account")]
    ServiceAccount,
}

impl AuthMethod {
    /// The method a connector's [`tally_model::AuthKind`] stands for.
    pub fn of(kind: &tally_model::AuthKind) -> AuthMethod {
        match kind {
            tally_model::AuthKind::None => AuthMethod::None,
            tally_model::AuthKind::ApiKey { .. } => AuthMethod::ApiKey,
            tally_model::AuthKind::Bearer => AuthMethod::Bearer,
            tally_model::AuthKind::OAuth2 { .. } => AuthMethod::OAuth2,
            tally_model::AuthKind::ClientCredentials { .. } => AuthMethod::ClientCredentials,
            tally_model::AuthKind::ServiceAccount { .. } => AuthMethod::ServiceAccount,
        }
    }

    /// The name written in config, equal to [`tally_model::AuthKind::name`].
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::ApiKey => "api_key",
            AuthMethod::Bearer => "bearer",
            AuthMethod::OAuth2 => "oauth2",
            AuthMethod::ClientCredentials => "client_credentials",
            AuthMethod::ServiceAccount => "service_account",
        }
    }
}

/// `[sources.auth]`. After loading, a `*_file` secret has been read into its
/// value field (`api_key_file` into `api_key`), so consumers read only those.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Which scheme; decides which other keys are needed.
    pub kind: AuthMethod,
    /// API key (kind `api_key`).
    #[serde(default)]
    pub api_key: Option<Secret>,
    /// File holding the API key, instead of `api_key`.
    #[serde(default)]
    pub api_key_file: Option<PathBuf>,
    /// Bearer token (kind `bearer`).
    #[serde(default)]
    pub token: Option<Secret>,
    /// File holding the bearer token, instead of `token`.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// OAuth2 client id (kinds `oauth2`, `client_credentials`).
    #[serde(default)]
    pub client_id: Option<String>,
    /// OAuth2 client secret.
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// File holding the client secret, instead of `client_secret`.
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    /// OAuth2 refresh token (kind `oauth2`); `tally auth login` can obtain one.
    #[serde(default)]
    pub refresh_token: Option<Secret>,
    /// File holding the refresh token, instead of `refresh_token`.
    #[serde(default)]
    pub refresh_token_file: Option<PathBuf>,
    /// Scopes replacing the connector's defaults.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Authorization endpoint replacing the connector's (kind `oauth2`).
    #[serde(default, deserialize_with = "values::opt_http_url")]
    pub auth_url: Option<String>,
    /// Token endpoint replacing the connector's.
    #[serde(default, deserialize_with = "values::opt_http_url")]
    pub token_url: Option<String>,
    /// Local port `tally auth login` listens on for the OAuth2 redirect.
    #[serde(default)]
    pub redirect_port: Option<u16>,
    /// Name of the token file, so sources logged in as one user share one
    /// credential (and one refresh); default: the source id.
    #[serde(default)]
    pub credential: Option<String>,
    /// The service account's JSON key file from Google Cloud (kind
    /// `service_account`); relative paths start at the config file's directory.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// The key file as read and checked at load (kind `service_account`).
    #[serde(skip)]
    pub service_account: Option<ServiceAccountKey>,
}

/// What a goal measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoalKind {
    /// Growth of a gauge within the period (+100 followers this month).
    Growth,
    /// Total of a sum within the period (10,000 impressions this month).
    Total,
    /// A gauge reaching a level by a date (50 reviews by June).
    Level,
    /// A ratio of two metrics kept under or over a bound (cost per lead under $20).
    Ratio,
}

/// The calendar period a goal or a recurring cost repeats over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoalPeriod {
    /// Monday to Sunday in the client's time zone.
    Week,
    /// A calendar month.
    Month,
    /// A calendar quarter.
    Quarter,
}

/// `[[goals]]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoalConfig {
    /// Id shown in `tally goals` and reports.
    pub id: String,
    /// The `[[clients]]` id whose report shows it.
    pub client: String,
    /// Canonical metric (all kinds but `ratio`).
    #[serde(default)]
    pub metric: Option<String>,
    /// Source ids it counts; empty means every source of the client.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Only points of this platform (`youtube`).
    #[serde(default)]
    pub platform: Option<String>,
    /// What is measured.
    pub kind: GoalKind,
    /// The number to reach (all kinds but `ratio`).
    #[serde(default)]
    pub target: Option<f64>,
    /// Repeating period (`growth`, `total`, `ratio`), instead of `start`/`end`.
    #[serde(default)]
    pub period: Option<GoalPeriod>,
    /// First day of a one-off period, with `end`.
    #[serde(default, deserialize_with = "values::opt_date")]
    pub start: Option<NaiveDate>,
    /// Day after the last day of a one-off period, with `start`.
    #[serde(default, deserialize_with = "values::opt_date")]
    pub end: Option<NaiveDate>,
    /// Date a `level` goal must be reached by.
    #[serde(default, deserialize_with = "values::opt_date")]
    pub by: Option<NaiveDate>,
    /// Upper bound of a `ratio` goal (cost per lead at most 20).
    #[serde(default)]
    pub at_most: Option<f64>,
    /// Lower bound of a `ratio` goal (revenue per post at least 50).
    #[serde(default)]
    pub at_least: Option<f64>,
    /// Metric divided (`cost.spend`), for `ratio`.
    #[serde(default)]
    pub numerator: Option<String>,
    /// Metric divided by (`conversions.leads`), for `ratio`.
    #[serde(default)]
    pub denominator: Option<String>,
}

/// How often a cost recurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostPeriod {
    /// Every week.
    Week,
    /// Every month.
    Month,
    /// Every quarter.
    Quarter,
    /// Once, on `date`.
    Once,
}

/// `[[costs]]`: money spent outside the ads APIs (retainers, tools, events).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostConfig {
    /// The `[[clients]]` id it is charged to.
    pub client: String,
    /// What it is, printed in reports.
    pub name: String,
    /// Amount per period (or in total, when `once`).
    pub amount: f64,
    /// ISO 4217 currency of the amount.
    pub currency: Currency,
    /// How often it recurs.
    pub period: CostPeriod,
    /// The day a `once` cost was spent.
    #[serde(default, deserialize_with = "values::opt_date")]
    pub date: Option<NaiveDate>,
}
