//! The one connector API, shared by built-in connectors and dynamic plugins.

use crate::error::ConnectorError;
use crate::http::{HttpClient, HttpClientExt, HttpRequest, HttpResponse};
use crate::paginate::{Paginator, Step};
use crate::point::Point;
use crate::valid_points::ValidPoints;
pub use crate::version::{ApiVersion, ThrottleErrors};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A connector's self-description: what it produces and what it needs.
///
/// The host reads it to validate config (required settings, auth kind), to set up
/// rate limits and quota budgets before the first request, and to list connectors.
/// It is plain data so a plugin can hand it over as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Description {
    /// Name used in `connector = "..."`.
    pub name: String,
    /// Platform name written on every point.
    pub platform: String,
    /// One line for `tally connectors`.
    pub summary: String,
    /// The platform's documented API root; a source's `base_url` overrides it.
    pub default_base_url: String,
    /// Canonical metrics this connector can emit.
    pub metrics: Vec<String>,
    /// Keys of `[sources.settings]` it understands.
    pub settings: Vec<SettingSpec>,
    /// Auth kinds it accepts; the first is the default.
    pub auth: Vec<AuthKind>,
    /// The platform's documented request rate, the default for the host's limiter.
    pub rate_limit: RateLimitSpec,
    /// The platform's usage headers, if it sends any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_headers: Option<UsageHeaders>,
    /// A cost-unit budget, where the platform counts units rather than requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaSpec>,
    /// The platform API version the connector speaks and when the platform retires it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<ApiVersion>,
    /// Error bodies that mean "throttled" although the status is not 429.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle_errors: Option<ThrottleErrors>,
}

/// One key of `[sources.settings]`.
///
/// Connectors do not write these by hand: `#[derive(Settings)]` on the settings
/// struct produces them from its fields and `///` docs (see [`Settings`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingSpec {
    /// The TOML key.
    pub name: String,
    /// Whether `tally check` fails without it.
    pub required: bool,
    /// What it is, shown in errors and `tally connectors`.
    pub description: String,
    /// The value used when the key is left out, as TOML text (`200`, `false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

impl SettingSpec {
    /// A required setting.
    pub fn required(name: &str, description: &str) -> SettingSpec {
        SettingSpec {
            name: name.into(),
            required: true,
            description: description.into(),
            default: None,
        }
    }

    /// An optional setting.
    pub fn optional(name: &str, description: &str) -> SettingSpec {
        SettingSpec {
            name: name.into(),
            required: false,
            description: description.into(),
            default: None,
        }
    }

    /// Records the value used when the key is left out, written as TOML would
    /// show it (a JSON scalar is the same text: `200`, `false`, `"en"`).
    pub fn with_default(mut self, value: &impl Serialize) -> SettingSpec {
        self.default = serde_json::to_value(value).ok().map(|v| v.to_string());
        self
    }
}

/// A connector's `[sources.settings]` struct: how it decodes (serde) and what
/// the host and the docs say about each key ([`Settings::specs`]).
///
/// Derive it (`#[derive(Deserialize, Settings)]`) rather than implement it: the
/// derive reads each field's name, `///` doc and `#[serde(default)]`, so the list
/// cannot drift from the struct. [`Settings::check`] is where a connector adds
/// the rules serde cannot express (a channel id's shape).
pub trait Settings: DeserializeOwned {
    /// Every key, in field order.
    fn specs() -> Vec<SettingSpec>;

    /// Checks and normalises decoded settings; the default accepts them as they are.
    fn check(self) -> Result<Self, ConnectorError> {
        Ok(self)
    }
}

/// How a platform authenticates, so the host can inject credentials without the
/// connector ever seeing them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuthKind {
    /// Public endpoints.
    None,
    /// A static key sent as a query parameter or a header.
    ApiKey {
        /// Query parameter name (`key` for Google).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        query_param: Option<String>,
        /// Header name, when sent as a header.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        header: Option<String>,
    },
    /// A static bearer token in `Authorization`.
    Bearer,
    /// OAuth2 authorization code (with PKCE where supported).
    #[serde(rename = "oauth2")]
    OAuth2 {
        /// The platform's authorization endpoint.
        auth_url: String,
        /// The platform's token endpoint.
        token_url: String,
        /// Scopes the connector needs.
        scopes: Vec<String>,
        /// Whether the login sends a PKCE (S256) challenge; true unless the platform
        /// rejects one.
        #[serde(default = "yes", skip_serializing_if = "is_true")]
        pkce: bool,
        /// How the platform departs from RFC 6749, for the host to apply.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        quirks: Vec<AuthQuirk>,
    },
    /// OAuth2 client credentials (app-only tokens).
    ClientCredentials {
        /// The platform's token endpoint.
        token_url: String,
        /// Scopes the connector needs.
        #[serde(default)]
        scopes: Vec<String>,
        /// How the platform departs from RFC 6749, for the host to apply.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        quirks: Vec<AuthQuirk>,
    },
    /// A service account's key file signs a JWT the host trades for an access
    /// token (RFC 7523 JWT bearer grant, Google's server-to-server flow): no
    /// user and no login, for agencies pulling many clients' properties. Only
    /// platforms whose data a service account can be granted accept it.
    ServiceAccount {
        /// Scopes the connector needs, joined with spaces in the JWT's `scope`.
        scopes: Vec<String>,
    },
}

fn yes() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
}

/// A documented way a platform's OAuth2 differs from RFC 6749. A connector lists
/// the ones its platform needs; the host's auth code applies them, so connectors
/// (and plugins, which send their description as JSON) never run a token flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthQuirk {
    /// Client id and secret go in the token request's form body, not in HTTP
    /// Basic (LinkedIn, Meta, TikTok).
    ClientSecretInBody,
    /// The client id is named `client_key`, in the authorization URL and in token
    /// requests (TikTok).
    ClientKeyParam,
    /// Scopes are joined with commas instead of spaces (TikTok).
    CommaSeparatedScopes,
    /// The authorization URL asks for a refresh token with `access_type=offline`
    /// and `prompt=consent` (Google: YouTube, Analytics, Business Profile).
    GoogleOfflineAccess,
    /// Every refresh returns a new refresh token and invalidates the old one (X):
    /// a refresh answer without one leaves no refresh token behind.
    RotatingRefreshToken,
    /// After the code exchange, the short-lived user token (1-2 h) is exchanged
    /// for a long-lived one (about 60 days) with `grant_type=fb_exchange_token`;
    /// there are no refresh tokens, the expiry date is tracked instead (Meta).
    MetaLongLivedExchange,
    /// After the long-lived exchange, the token used for requests is the Page
    /// token of the page named by this `[sources.settings]` key (Meta).
    MetaPageToken {
        /// The settings key holding the page id (`page_id`).
        page_setting: String,
    },
    /// Instagram Login: after the code exchange, the short-lived token (1 h)
    /// is exchanged for a long-lived one (60 days) with
    /// `grant_type=ig_exchange_token` at `{graph_url}/access_token`, and renewed
    /// before it expires with `grant_type=ig_refresh_token` at
    /// `{graph_url}/refresh_access_token`; there are no refresh tokens.
    InstagramLongLived {
        /// The Instagram Graph root (`https://graph.instagram.com`).
        graph_url: String,
    },
}

impl AuthKind {
    /// A static key sent as the query parameter `param` (`key` for Google).
    pub fn api_key_query(param: &str) -> AuthKind {
        AuthKind::ApiKey {
            query_param: Some(param.into()),
            header: None,
        }
    }

    /// OAuth2 authorization code with PKCE and no quirks; add quirks with [`AuthKind::quirk`].
    pub fn oauth2(auth_url: &str, token_url: &str, scopes: &[&str]) -> AuthKind {
        AuthKind::OAuth2 {
            auth_url: auth_url.into(),
            token_url: token_url.into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            pkce: true,
            quirks: Vec::new(),
        }
    }

    /// A service-account key signing JWTs for these scopes.
    pub fn service_account(scopes: &[&str]) -> AuthKind {
        AuthKind::ServiceAccount {
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Adds a documented departure from RFC 6749; kinds without a token flow are unchanged.
    pub fn quirk(mut self, quirk: AuthQuirk) -> AuthKind {
        if let AuthKind::OAuth2 { quirks, .. } | AuthKind::ClientCredentials { quirks, .. } =
            &mut self
        {
            quirks.push(quirk);
        }
        self
    }

    /// The name used in `[sources.auth] kind = "..."`.
    pub fn name(&self) -> &'static str {
        match self {
            AuthKind::None => "none",
            AuthKind::ApiKey { .. } => "api_key",
            AuthKind::Bearer => "bearer",
            AuthKind::OAuth2 { .. } => "oauth2",
            AuthKind::ClientCredentials { .. } => "client_credentials",
            AuthKind::ServiceAccount { .. } => "service_account",
        }
    }
}

/// A request rate: `requests` per `per_seconds`, with up to `burst` sent back to back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitSpec {
    /// Requests allowed per window.
    pub requests: u32,
    /// Window length in seconds.
    pub per_seconds: u32,
    /// How many may go at once before pacing starts (at least 1).
    pub burst: u32,
}

/// Where a platform reports remaining budget, so the host slows down before a 429.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageHeaders {
    /// Header with the window's limit.
    pub limit: String,
    /// Header with requests left in the window.
    pub remaining: String,
    /// Header saying when the window resets.
    pub reset: String,
    /// How the reset header is written.
    pub reset_encoding: ResetEncoding,
}

impl UsageHeaders {
    /// The common `{prefix}limit`, `{prefix}remaining`, `{prefix}reset` triple
    /// (`x-ratelimit-` for Mastodon and GitHub, `ratelimit-` for Bluesky).
    pub fn prefixed(prefix: &str, reset_encoding: ResetEncoding) -> UsageHeaders {
        UsageHeaders {
            limit: format!("{prefix}limit"),
            remaining: format!("{prefix}remaining"),
            reset: format!("{prefix}reset"),
            reset_encoding,
        }
    }
}

/// The encodings platforms use for "when does my budget come back".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetEncoding {
    /// Unix seconds (X, Bluesky, GitHub).
    EpochSeconds,
    /// An ISO 8601 timestamp (Mastodon, Yelp).
    Iso8601,
    /// Seconds from now (Reddit).
    SecondsRemaining,
}

/// A budget of cost units per window (YouTube: 10,000 units a day, reset at midnight Pacific).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaSpec {
    /// Units per window.
    pub units: u64,
    /// Window length.
    pub window: QuotaWindow,
    /// IANA time zone in which the window resets (`America/Los_Angeles`).
    pub timezone: String,
}

impl QuotaSpec {
    /// `units` per `window`, resetting on the calendar of `timezone` (IANA name).
    pub fn new(units: u64, window: QuotaWindow, timezone: &str) -> QuotaSpec {
        QuotaSpec {
            units,
            window,
            timezone: timezone.into(),
        }
    }
}

/// Length of a quota window, aligned to the calendar in the quota's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotaWindow {
    /// Resets every hour.
    Hour,
    /// Resets at midnight.
    Day,
    /// Resets on the first of the month.
    Month,
}

/// What the host hands a connector for one check or pull of one source.
pub struct SourceContext<'a> {
    /// The configured source id, for messages.
    pub source_id: &'a str,
    /// API root: the source's `base_url` or the connector's default, without a trailing slash.
    pub base_url: &'a str,
    /// `[sources.settings]` as JSON.
    pub settings: &'a serde_json::Value,
    /// The host's HTTP client: the only way to reach the network.
    pub http: &'a dyn HttpClient,
    /// State the connector saved at the end of its last successful pull.
    pub state: Option<&'a serde_json::Value>,
    /// Page cap for any one listing.
    pub max_pages: u32,
    /// The pull's reference time: every gauge of one pull carries it.
    pub now: DateTime<Utc>,
    /// Backfill: read history from this instant on (`tally pull --since DATE`),
    /// regardless of what `state` says was already read.
    pub since: Option<DateTime<Utc>>,
    /// Days the platform still restates (late likes, revised analytics) that an
    /// incremental pull re-reads; `None` means the connector's own default.
    pub lookback_days: Option<u32>,
}

impl SourceContext<'_> {
    /// Decodes `[sources.settings]` into the connector's settings struct.
    pub fn settings<T: DeserializeOwned>(&self) -> Result<T, ConnectorError> {
        serde_json::from_value(self.settings.clone())
            .map_err(|e| ConnectorError::Settings(e.to_string()))
    }

    /// `base_url` joined with a path that starts with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url.trim_end_matches('/'), path)
    }

    /// GETs `base_url` joined with `path` (and its query), requires a 2xx and
    /// decodes the JSON body; a non-2xx goes through the platform's error mapper
    /// `on_error(path, status, body)` (see [`HttpClientExt::get_json_with`]).
    pub async fn get_json<T, F>(
        &self,
        path: &str,
        on_error: F,
    ) -> Result<(T, HttpResponse), ConnectorError>
    where
        T: DeserializeOwned,
        F: Fn(&str, u16, &[u8]) -> ConnectorError + Send,
    {
        let request = HttpRequest::get(self.url(path));
        self.http.get_json_with(request, on_error).await
    }

    /// Hands the host a bucket of a budget as the platform stated it in an
    /// answer (GA4's `propertyQuota`): the host keeps it for every source
    /// charging requests to the same budget ([`HttpRequest::charged_to`]) and
    /// refuses, unsent, those it cannot pay for until `resets_at`. An error
    /// means the host could not record it; stop the pull with it.
    pub fn report_quota(&self, stated: &crate::StatedQuota) -> Result<(), ConnectorError> {
        self.http.report_quota(stated).map_err(ConnectorError::Http)
    }

    /// Decodes `[sources.settings]` and runs the struct's own [`Settings::check`].
    pub fn checked_settings<T: Settings>(&self) -> Result<T, ConnectorError> {
        self.settings::<T>()?.check()
    }

    /// A paginator for the listing at `path`, capped at this source's `max_pages`.
    pub fn paginator(&self, path: &str) -> Paginator {
        Paginator::new(path, self.max_pages)
    }

    /// Walks the listing at `path` (under `base_url`; its URL path names the
    /// listing in errors) from `first` (no cursor: the first page), capped at
    /// this source's `max_pages`; see [`crate::paginate::walk`].
    pub async fn paginate<T, Fetch, Fut, Each>(
        &self,
        path: &str,
        first: Option<String>,
        out: &mut dyn Emitter,
        fetch: Fetch,
        each: Each,
    ) -> Result<(), ConnectorError>
    where
        Fetch: FnMut(Option<String>) -> Fut,
        Fut: std::future::Future<Output = Result<(T, Option<String>), ConnectorError>>,
        Each: FnMut(T, &mut dyn Emitter) -> Result<Step, ConnectorError>,
    {
        let pages = self.paginator(&crate::error::url_path(&self.url(path)));
        crate::paginate::walk(pages, first, out, fetch, each).await
    }
}

/// Where a connector's points go. The host validates each point against the
/// schema as it arrives and stores the batch atomically with the saved state.
pub trait Emitter: Send {
    /// Hands over one point; an error means the point does not fit the schema.
    fn emit(&mut self, point: Point) -> Result<(), ConnectorError>;
    /// Replaces the state passed to the next pull (cursors, last-seen ids).
    fn save_state(&mut self, state: serde_json::Value);

    /// Marks a resumable point in a long pull: every point emitted so far,
    /// together with `state`, may be committed now in one transaction, so a
    /// crash later in the pull loses only what comes after and the next pull
    /// resumes from `state`. Call it after each page with the cursor of the
    /// next one. An error means the commit failed; stop the pull with it.
    ///
    /// The default only remembers the state (as [`Emitter::save_state`]), so
    /// emitters that cannot commit early still see the latest state.
    fn checkpoint(&mut self, state: serde_json::Value) -> Result<(), ConnectorError> {
        self.save_state(state);
        Ok(())
    }

    /// Reports something a user should know that does not stop the pull (a
    /// records path that matched nothing, a skipped partition). The host logs
    /// it with the source id; the default drops it.
    fn warn(&mut self, message: &str) {
        let _ = message;
    }
}

/// A platform connector. Built-in connectors and plugins implement exactly this.
#[async_trait]
pub trait Connector: Send + Sync {
    /// What this connector produces and needs.
    fn describe(&self) -> Description;

    /// Verifies settings and credentials with one cheap call; returns what it found
    /// (an account name) for `tally check`.
    async fn check(&self, ctx: &SourceContext<'_>) -> Result<String, ConnectorError>;

    /// Pulls current values and emits them.
    async fn pull(
        &self,
        ctx: &SourceContext<'_>,
        out: &mut dyn Emitter,
    ) -> Result<(), ConnectorError>;
}

/// An [`Emitter`] that validates each point against the schema and keeps it in
/// memory; the host stores the buffer in one transaction once the pull succeeds,
/// so a pull that fails halfway stores nothing.
#[derive(Debug, Default)]
pub struct PointBuffer {
    connector: String,
    /// Points received so far, in emission order.
    pub points: ValidPoints,
    /// The state the connector asked to save, if any.
    pub state: Option<serde_json::Value>,
    /// Warnings the connector reported, in order.
    pub warnings: Vec<String>,
}

impl PointBuffer {
    /// An empty buffer for a connector (its name appears in schema errors).
    pub fn new(connector: &str) -> PointBuffer {
        PointBuffer {
            connector: connector.to_string(),
            points: ValidPoints::default(),
            state: None,
            warnings: Vec::new(),
        }
    }
}

impl Emitter for PointBuffer {
    fn emit(&mut self, point: Point) -> Result<(), ConnectorError> {
        self.points
            .push(point)
            .map_err(|error| ConnectorError::Schema {
                connector: self.connector.clone(),
                error,
            })
    }

    fn save_state(&mut self, state: serde_json::Value) {
        self.state = Some(state);
    }

    fn warn(&mut self, message: &str) {
        self.warnings.push(message.to_string());
    }
}

impl Description {
    /// The start of a description: connector `name` (also its platform; change
    /// it with [`Description::platform`]), the one-line summary and the
    /// documented API root. Add metrics, settings, auth and the rate limit with
    /// the other methods; [`Description::validate`] refuses one that lacks them.
    pub fn new(name: &str, summary: &str, default_base_url: &str) -> Description {
        Description {
            name: name.into(),
            platform: name.into(),
            summary: summary.into(),
            default_base_url: default_base_url.into(),
            metrics: Vec::new(),
            settings: Vec::new(),
            auth: Vec::new(),
            rate_limit: RateLimitSpec {
                requests: 0,
                per_seconds: 0,
                burst: 0,
            },
            usage_headers: None,
            quota: None,
            api_version: None,
            throttle_errors: None,
        }
    }

    /// The platform written on every point, when it differs from the name.
    pub fn platform(mut self, platform: &str) -> Description {
        self.platform = platform.into();
        self
    }

    /// The canonical metrics the connector emits.
    pub fn metrics<const N: usize>(mut self, metrics: [&str; N]) -> Description {
        self.metrics = metrics.map(String::from).to_vec();
        self
    }

    /// The keys of `[sources.settings]`, from the connector's settings struct.
    pub fn settings<S: Settings>(mut self) -> Description {
        self.settings = S::specs();
        self
    }

    /// The auth kinds accepted; the first is the default.
    pub fn auth<const N: usize>(mut self, kinds: [AuthKind; N]) -> Description {
        self.auth = kinds.to_vec();
        self
    }

    /// One more accepted auth kind, after those given to [`Description::auth`].
    pub fn also_auth(mut self, kind: AuthKind) -> Description {
        self.auth.push(kind);
        self
    }

    /// The documented rate: `requests` per `per_seconds`, `burst` back to back.
    pub fn rate_limit(mut self, requests: u32, per_seconds: u32, burst: u32) -> Description {
        self.rate_limit = RateLimitSpec {
            requests,
            per_seconds,
            burst,
        };
        self
    }

    /// The headers the platform reports its remaining budget in.
    pub fn usage_headers(mut self, headers: UsageHeaders) -> Description {
        self.usage_headers = Some(headers);
        self
    }

    /// A cost-unit budget.
    pub fn quota(mut self, quota: QuotaSpec) -> Description {
        self.quota = Some(quota);
        self
    }

    /// The API version spoken (`v27.0`) and the day the platform retires it,
    /// when announced; add the setting that overrides it and the sunsets of
    /// other versions with [`ApiVersion`]'s methods via [`Description::api_version_spec`].
    pub fn api_version(self, version: &str, sunset: Option<NaiveDate>) -> Description {
        self.api_version_spec(ApiVersion::new(version, sunset))
    }

    /// The API version in full: default, sunset, overriding setting, other known versions.
    pub fn api_version_spec(mut self, version: ApiVersion) -> Description {
        self.api_version = Some(version);
        self
    }

    /// The error bodies the host treats as throttling (see [`ThrottleErrors`]).
    pub fn throttle_errors(mut self, errors: ThrottleErrors) -> Description {
        self.throttle_errors = Some(errors);
        self
    }

    /// Checks that a description can be used by the host: a lower-case name, only
    /// canonical metrics, at least one auth kind, a usable rate. Plugins' descriptions
    /// arrive as data, so the host runs this before registering any connector.
    pub fn validate(&self) -> Result<(), String> {
        let name_ok = !self.name.is_empty()
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !name_ok {
            return Err(format!(
                "connector name `{}` must be non-empty lower-case letters, digits, `-` or `_`",
                self.name
            ));
        }
        if self.platform.is_empty() {
            return Err(format!("connector `{}` declares no platform", self.name));
        }
        for metric in &self.metrics {
            if crate::schema::lookup(metric).is_none() {
                return Err(format!(
                    "connector `{}` declares metric `{metric}`, which is not canonical",
                    self.name
                ));
            }
        }
        if self.auth.is_empty() {
            return Err(format!("connector `{}` declares no auth kind", self.name));
        }
        if self.rate_limit.requests == 0 || self.rate_limit.per_seconds == 0 {
            return Err(format!(
                "connector `{}` declares a zero rate limit",
                self.name
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn oauth2_without_pkce_or_quirks_reads_as_before() {
        let old =
            r#"{"kind":"oauth2","auth_url":"https://a","token_url":"https://t","scopes":["s"]}"#;
        let kind: AuthKind = serde_json::from_str(old).unwrap();
        let AuthKind::OAuth2 { pkce, quirks, .. } = &kind else {
            panic!("{kind:?}")
        };
        assert!(*pkce);
        assert!(quirks.is_empty());
        // Written back, the defaults stay implicit, so older hosts read it too.
        assert_eq!(serde_json::to_string(&kind).unwrap(), old);
    }

    #[test]
    fn quirks_are_plain_json() {
        let kind = AuthKind::OAuth2 {
            auth_url: "https://a".into(),
            token_url: "https://t".into(),
            scopes: vec![],
            pkce: false,
            quirks: vec![
                AuthQuirk::ClientKeyParam,
                AuthQuirk::MetaPageToken {
                    page_setting: "page_id".into(),
                },
            ],
        };
        let json = serde_json::to_value(&kind).unwrap();
        assert_eq!(json["pkce"], false);
        assert_eq!(json["quirks"][0], "client_key_param");
        assert_eq!(
            json["quirks"][1]["meta_page_token"]["page_setting"],
            "page_id"
        );
        assert_eq!(serde_json::from_value::<AuthKind>(json).unwrap(), kind);
    }

    #[test]
    fn a_service_account_crosses_the_plugin_boundary_as_plain_json() {
        let kind =
            AuthKind::service_account(&["https://www.googleapis.com/auth/analytics.readonly"]);
        let json = serde_json::to_string(&kind).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"service_account","scopes":["https://www.googleapis.com/auth/analytics.readonly"]}"#
        );
        assert_eq!(serde_json::from_str::<AuthKind>(&json).unwrap(), kind);
        assert_eq!(kind.name(), "service_account");
    }
}
