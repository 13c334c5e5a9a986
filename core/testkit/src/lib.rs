//! Test support for connector crates: run a connector against a mock server
//! through the *real* host HTTP client.
//!
//! Why a crate: every connector's tests need the same setup (a `HostHttp` with
//! short backoffs and an in-memory quota ledger, a `SourceHttp` configured from the
//! connector's own [`Description`], a [`SourceContext`], a [`PointBuffer`]), and a
//! copy per connector would drift. Going through the real host client rather than
//! a fake matters: retries, `Retry-After`, 401 handling, credential injection and
//! quota budgets are the host's job, and a connector test should prove the
//! connector works with them, not with a stand-in. The [`conformance`] kit runs
//! the checks every connector must pass on top of the same setup.
//!
//! It is a dev-dependency only: connectors themselves never depend on the runtime.
//!
//! ```ignore
//! let server = wiremock::MockServer::start().await;
//! let http = tally_testkit::host_for(&server.uri(), &connector.describe(), Credential::None);
//! let source = tally_testkit::Source::new(server.uri(), serde_json::json!({"acct": "Gargron"}));
//! let buffer = tally_testkit::pull(&connector, &http, &source).await?;
//! ```

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tally_config::secret::Secret;
use tally_host::http::{HostHttp, HttpSettings, MemoryLedger, SourceHttp, SourceHttpSpec};
use tally_model::{
    AuthKind, Connector, ConnectorError, Description, Emitter, HttpClient, HttpError, HttpRequest,
    HttpResponse, Point, PointBuffer, PointTime, Settings, SourceContext,
};

pub mod conformance;
pub mod process;
pub mod props;
pub mod spec;

use conformance::Fixtures;

/// The credential the host injects, re-exported so a connector's tests need no
/// direct dependency on the runtime to name one.
pub use tally_host::http::Credential;

/// The reference time every test pull runs at, so expected points can be written out exactly.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// Host HTTP settings for tests: the production retry policy with millisecond
/// backoffs, so "500 then 200" retries without slowing the suite down.
pub fn http_settings() -> HttpSettings {
    HttpSettings {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(10),
        max_attempts: 3,
        backoff_base: Duration::from_millis(5),
        backoff_max: Duration::from_millis(20),
        max_throttle_wait: Duration::from_secs(5),
        max_body_bytes: 4 * 1024 * 1024,
    }
}

/// The `SourceHttpSpec` the host would build for a source of this connector at
/// `base_url`: the connector's declared rate limit, usage headers and quota.
///
/// Override fields with struct update syntax to test a source-level override:
/// `SourceHttpSpec { quota: Some(tiny), ..spec_for(..) }`.
pub fn spec_for(
    base_url: &str,
    description: &Description,
    credential: Credential,
) -> SourceHttpSpec {
    SourceHttpSpec {
        source_id: format!("test-{}", description.name),
        platform: description.platform.clone(),
        base_url: base_url.to_string(),
        credential,
        rate_limit: description.rate_limit,
        rate_limit_is_ceiling: false,
        usage_headers: description.usage_headers.clone(),
        throttle_errors: description.throttle_errors.clone(),
        quota: description.quota.clone(),
        timeout: None,
    }
}

/// A fresh host (its own pacers and an empty in-memory quota ledger) and the
/// client one source of it uses. Each call is independent, so tests do not share
/// rate-limit or quota state.
pub fn source_http(spec: SourceHttpSpec) -> SourceHttp {
    let ledger = Arc::new(MemoryLedger::default());
    match HostHttp::new(http_settings(), ledger) {
        Ok(host) => host.for_source(spec),
        Err(e) => panic!("the host HTTP client could not be built: {e}"),
    }
}

/// The host client for a source of this connector at `base_url` (a mock server's
/// URI, plus any API path prefix), with the connector's declared limits.
pub fn host_for(base_url: &str, description: &Description, credential: Credential) -> SourceHttp {
    source_http(spec_for(base_url, description, credential))
}

/// An API-key credential placed where the connector's `AuthKind::ApiKey` says
/// (query parameter and/or header), exactly as the host would from `[sources.auth]`.
///
/// Panics when the connector does not accept API keys.
pub fn api_key(description: &Description, key: &str) -> Credential {
    let placement = description.auth.iter().find_map(|kind| match kind {
        AuthKind::ApiKey {
            query_param,
            header,
        } => Some((query_param.clone(), header.clone())),
        _ => None,
    });
    let Some((query_param, header)) = placement else {
        panic!("connector `{}` declares no api_key auth", description.name);
    };
    Credential::ApiKey {
        key: Secret::new(key),
        query_param,
        header,
    }
}

/// A bearer-token credential, as the host builds it for `kind = "bearer"`.
pub fn bearer(token: &str) -> Credential {
    Credential::Bearer(Secret::new(token))
}

/// The parts of a [`SourceContext`] a test chooses; the rest have defaults.
#[derive(Debug, Clone)]
pub struct Source {
    /// API root the connector is pointed at (the `base_url` override).
    pub base_url: String,
    /// `[sources.settings]` as JSON.
    pub settings: serde_json::Value,
    /// State from a previous pull.
    pub state: Option<serde_json::Value>,
    /// Page cap for any one listing.
    pub max_pages: u32,
    /// The pull's reference time.
    pub now: DateTime<Utc>,
    /// Backfill start (`tally pull --since`).
    pub since: Option<DateTime<Utc>>,
    /// The source's restatement window override.
    pub lookback_days: Option<u32>,
}

impl Source {
    /// A source at `base_url` with these settings, no state, 100 pages and [`now()`].
    pub fn new(base_url: impl Into<String>, settings: serde_json::Value) -> Source {
        Source {
            base_url: base_url.into(),
            settings,
            state: None,
            max_pages: 100,
            now: now(),
            since: None,
            lookback_days: None,
        }
    }

    /// The context a connector receives, borrowing `http` as its only way out.
    pub fn context<'a>(&'a self, http: &'a dyn HttpClient) -> SourceContext<'a> {
        SourceContext {
            source_id: "test-source",
            base_url: self.base_url.trim_end_matches('/'),
            settings: &self.settings,
            http,
            state: self.state.as_ref(),
            max_pages: self.max_pages,
            now: self.now,
            since: self.since,
            lookback_days: self.lookback_days,
        }
    }
}

/// Runs one pull into a [`PointBuffer`] (which validates every point as it
/// arrives) and returns the buffer, or the connector's error.
///
/// On success it also checks what the conformance kit will: every point
/// validates against the schema, carries the connector's platform, uses a metric
/// the connector declares, has a non-empty entity id, and every gauge is stamped
/// with the pull's `now`. A violation panics with the offending point, since it
/// is a bug in the connector rather than an outcome to assert on.
pub async fn pull(
    connector: &dyn Connector,
    http: &dyn HttpClient,
    source: &Source,
) -> Result<PointBuffer, ConnectorError> {
    let description = connector.describe();
    let mut buffer = PointBuffer::new(&description.name);
    connector.pull(&source.context(http), &mut buffer).await?;
    for point in &buffer.points {
        assert_conforms(&description, source.now, point);
    }
    Ok(buffer)
}

/// A source on `server` as the conformance kit builds it from `fixtures` (their
/// base URL and settings), with the keys of `changes` set on the settings: the
/// starting point of a connector's own platform tests.
pub fn fixture_source(
    fixtures: &dyn Fixtures,
    server: &wiremock::MockServer,
    changes: serde_json::Value,
) -> Source {
    let settings = merged(fixtures.settings(), changes);
    Source::new(fixtures.base_url(server), settings)
}

/// The real host client for `connector` on `server`, with the fixtures' credential.
pub fn fixture_http(
    connector: &dyn Connector,
    fixtures: &dyn Fixtures,
    server: &wiremock::MockServer,
) -> SourceHttp {
    let base = fixtures.base_url(server);
    host_for(&base, &connector.describe(), fixtures.credential())
}

/// [`pull`] of [`fixture_source`] through [`fixture_http`].
pub async fn fixture_pull(
    connector: &dyn Connector,
    fixtures: &dyn Fixtures,
    server: &wiremock::MockServer,
    changes: serde_json::Value,
) -> Result<PointBuffer, ConnectorError> {
    let http = fixture_http(connector, fixtures, server);
    pull(connector, &http, &fixture_source(fixtures, server, changes)).await
}

/// [`fixture_pull`], panicking with the connector's error if it fails.
pub async fn pull_ok(
    connector: &dyn Connector,
    fixtures: &dyn Fixtures,
    server: &wiremock::MockServer,
    changes: serde_json::Value,
) -> PointBuffer {
    let pulled = fixture_pull(connector, fixtures, server, changes).await;
    pulled.unwrap_or_else(|e| panic!("the pull failed: {e}"))
}

/// [`fixture_pull`], returning the connector's error and panicking if the pull succeeds.
pub async fn pull_err(
    connector: &dyn Connector,
    fixtures: &dyn Fixtures,
    server: &wiremock::MockServer,
    changes: serde_json::Value,
) -> ConnectorError {
    match fixture_pull(connector, fixtures, server, changes).await {
        Ok(buffer) => panic!("the pull succeeded with {} points", buffer.points.len()),
        Err(e) => e,
    }
}

/// `base` (a JSON object) with the keys of `changes` set.
pub fn merged(mut base: serde_json::Value, changes: serde_json::Value) -> serde_json::Value {
    if let (Some(base), Some(changes)) = (base.as_object_mut(), changes.as_object()) {
        base.extend(changes.clone());
    }
    base
}

/// How many requests `server` received for the URL path `path`.
pub async fn hits(server: &wiremock::MockServer, path: &str) -> usize {
    let received = server.received_requests().await.unwrap_or_default();
    received.iter().filter(|r| r.url.path() == path).count()
}

/// The ids of the entities of `kind` that got points, in order, each once.
pub fn entity_ids(points: &[Point], kind: tally_model::EntityKind) -> Vec<String> {
    let mut ids: Vec<String> = points
        .iter()
        .filter(|p| p.entity.kind == kind)
        .map(|p| p.entity.id.to_string())
        .collect();
    ids.dedup();
    ids
}

/// Runs one pull as [`pull`] does and also returns every state the connector
/// checkpointed, in order: what a resumable connector's tests compare (a
/// [`PointBuffer`] keeps only the latest state).
pub async fn pull_checkpoints(
    connector: &dyn Connector,
    http: &dyn HttpClient,
    source: &Source,
) -> Result<(PointBuffer, Vec<serde_json::Value>), ConnectorError> {
    /// A [`PointBuffer`] that also keeps every checkpoint.
    struct Checkpoints(PointBuffer, Vec<serde_json::Value>);
    impl Emitter for Checkpoints {
        fn emit(&mut self, point: Point) -> Result<(), ConnectorError> {
            self.0.emit(point)
        }
        fn save_state(&mut self, state: serde_json::Value) {
            self.0.save_state(state);
        }
        fn checkpoint(&mut self, state: serde_json::Value) -> Result<(), ConnectorError> {
            self.1.push(state);
            Ok(())
        }
    }
    let description = connector.describe();
    let mut out = Checkpoints(PointBuffer::new(&description.name), Vec::new());
    connector.pull(&source.context(http), &mut out).await?;
    for point in &out.0.points {
        assert_conforms(&description, source.now, point);
    }
    Ok((out.0, out.1))
}

/// Runs `check` and returns what it reported.
pub async fn check(
    connector: &dyn Connector,
    http: &dyn HttpClient,
    source: &Source,
) -> Result<String, ConnectorError> {
    connector.check(&source.context(http)).await
}

/// A point as a `(metric, entity id, value, raw name)` row: what a connector
/// test compares exactly against the fixture it served.
pub type Row = (String, String, f64, String);

/// Points as [`Row`]s, in emission order.
pub fn rows(points: &[Point]) -> Vec<Row> {
    points
        .iter()
        .map(|p| {
            (
                p.metric.to_string(),
                p.entity.id.to_string(),
                p.value,
                p.raw_name.to_string(),
            )
        })
        .collect()
}

/// One expected [`Row`].
pub fn row(metric: &str, entity: &str, value: f64, raw: &str) -> Row {
    (metric.into(), entity.into(), value, raw.into())
}

/// Panics unless `point` is one this connector may emit in a pull at `now`.
pub fn assert_conforms(description: &Description, now: DateTime<Utc>, point: &Point) {
    if let Err(why) = conforms(description, now, point) {
        panic!("{why}");
    }
}

/// Whether `point` is one this connector may emit in a pull at `now`: it
/// validates against the canonical schema (metric, unit, kind, time, value),
/// carries the connector's platform and a declared metric, has a non-empty
/// entity id, and a gauge carries the pull's `now`. The error names the point.
pub fn conforms(
    description: &Description,
    now: DateTime<Utc>,
    point: &Point,
) -> Result<(), String> {
    if let Err(e) = point.validate() {
        return Err(format!("invalid point {point:?}: {e}"));
    }
    if point.platform != description.platform {
        return Err(format!(
            "point carries platform `{}`, not the connector's `{}`: {point:?}",
            point.platform, description.platform
        ));
    }
    if !description.metrics.iter().any(|m| *m == point.metric) {
        return Err(format!(
            "metric `{}` is not declared in describe().metrics {:?}",
            point.metric, description.metrics
        ));
    }
    if point.entity.id.is_empty() {
        return Err(format!("point without an entity id: {point:?}"));
    }
    match point.time {
        PointTime::At(at) if at != now => Err(format!(
            "a gauge must carry the pull's `now` ({now}), not {at}: {point:?}"
        )),
        _ => Ok(()),
    }
}

/// An [`HttpClient`] that records each request exactly as the connector built it
/// before handing it to the real client, so a test can prove what the connector
/// did and did not see or send (no API key in its URLs, the quota cost it declared).
pub struct Recording<C> {
    inner: C,
    requests: Mutex<Vec<HttpRequest>>,
}

impl<C: HttpClient> Recording<C> {
    /// Wraps a client.
    pub fn new(inner: C) -> Recording<C> {
        Recording {
            inner,
            requests: Mutex::new(Vec::new()),
        }
    }

    /// The requests the connector made, in order.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[async_trait]
impl<C: HttpClient> HttpClient for Recording<C> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(request.clone());
        self.inner.send(request).await
    }

    fn report_quota(&self, stated: &tally_model::StatedQuota) -> Result<(), HttpError> {
        self.inner.report_quota(stated)
    }
}

/// Checks, in one call from a connector's tests, that its settings are
/// documented once and everywhere alike, and returns `sample.toml`'s settings
/// decoded (and [`Settings::check`]ed) as `S`.
///
/// `S`'s fields and `///` docs are the source (`#[derive(Settings)]`); then:
/// - `describe().settings` is exactly `S::specs()`;
/// - `sample.toml` (in `crate_dir`, pass `env!("CARGO_MANIFEST_DIR")`) holds one
///   `[[sources]]` block naming the connector, with only declared settings,
///   every required one uncommented, every optional one at least as
///   `# name = value` where `value` is its default, and an auth kind, if given,
///   that is the connector's default;
/// - README.md's `## Settings` table (`| key | required | default | meaning |`)
///   lists every setting once, in order, with the same required flag, default
///   and meaning (the field's doc).
///
/// A mismatch panics naming the file, the line and what to change.
pub fn assert_settings_documented<S: Settings>(connector: &dyn Connector, crate_dir: &str) -> S {
    let description = connector.describe();
    let specs = S::specs();
    assert_eq!(
        description.settings, specs,
        "describe().settings of `{}` must be the settings struct's own list: use `.settings::<Settings>()`",
        description.name
    );
    let dir = std::path::Path::new(crate_dir);
    let settings = sample_settings(
        &description,
        &read(&dir.join("sample.toml")),
        &dir.join("sample.toml"),
    );
    readme_settings(
        &specs,
        &read(&dir.join("README.md")),
        &dir.join("README.md"),
    );
    let decoded: S = serde_json::from_value(settings).unwrap_or_else(|e| {
        panic!(
            "{}/sample.toml: [sources.settings] does not decode: {e}",
            dir.display()
        )
    });
    decoded.check().unwrap_or_else(|e| {
        panic!(
            "{}/sample.toml: [sources.settings] is refused: {e}",
            dir.display()
        )
    })
}

/// [`assert_settings_documented`] for a connector whose settings are
/// declared elsewhere than in a Rust struct (a manifest's `[settings.NAME]`):
/// `describe().settings` is the source, `sample` and `readme` the files held
/// to it the same way. Returns the sample's `[sources.settings]` as JSON.
pub fn assert_described_settings_documented(
    connector: &dyn Connector,
    sample: &std::path::Path,
    readme: &std::path::Path,
) -> serde_json::Value {
    let description = connector.describe();
    let settings = sample_settings(&description, &read(sample), sample);
    readme_settings(&description.settings, &read(readme), readme);
    settings
}

/// A file's text, or a panic naming it.
fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("could not read {}: {e}", path.display()))
}

/// Checks `sample.toml` against the description (see
/// [`assert_settings_documented`]) and returns its `[sources.settings]` as JSON.
fn sample_settings(
    description: &Description,
    sample: &str,
    file: &std::path::Path,
) -> serde_json::Value {
    let file = file.display();
    let parsed: toml::Table =
        toml::from_str(sample).unwrap_or_else(|e| panic!("{file} does not parse: {e}"));
    let sources = parsed
        .get("sources")
        .and_then(toml::Value::as_array)
        .unwrap_or_else(|| panic!("{file} has no [[sources]] block"));
    assert_eq!(sources.len(), 1, "{file} must hold one [[sources]] block");
    let source = &sources[0];
    assert_eq!(
        source.get("connector").and_then(toml::Value::as_str),
        Some(description.name.as_str()),
        "{file}: the [[sources]] block must say connector = \"{}\"",
        description.name
    );
    let empty = toml::Table::new();
    let settings = source
        .get("settings")
        .and_then(toml::Value::as_table)
        .unwrap_or(&empty);
    for key in settings.keys() {
        assert!(
            description.settings.iter().any(|s| &s.name == key),
            "{file}: setting `{key}` is not a field of the settings struct"
        );
    }
    for spec in &description.settings {
        let commented = sample.lines().position(|line| {
            line.trim_start()
                .starts_with(&format!("# {} = ", spec.name))
        });
        match (settings.get(&spec.name), commented) {
            (Some(_), _) => {}
            (None, _) if spec.required => {
                panic!(
                    "{file}: required setting `{}` must be uncommented",
                    spec.name
                )
            }
            (None, None) => panic!(
                "{file}: setting `{}` is missing; show it as `# {} = {}`",
                spec.name,
                spec.name,
                spec.default.as_deref().unwrap_or("...")
            ),
            (None, Some(at)) => {
                let line = sample.lines().nth(at).unwrap_or_default();
                let shown = line.split_once(" = ").map_or("", |(_, v)| v.trim());
                if let Some(default) = &spec.default {
                    assert_eq!(
                        shown,
                        default,
                        "{file}:{}: `{}` is shown with {shown}, but its default is {default}",
                        at + 1,
                        spec.name
                    );
                }
            }
        }
    }
    let auth = source
        .get("auth")
        .and_then(|a| a.get("kind"))
        .and_then(toml::Value::as_str);
    assert!(
        auth.is_none_or(|k| k == description.auth[0].name()),
        "{file}: auth kind {auth:?} is not the connector's default `{}`",
        description.auth[0].name()
    );
    serde_json::to_value(settings).unwrap_or_else(|e| panic!("{file}: settings as JSON: {e}"))
}

/// Checks the README's `## Settings` table against `specs`.
fn readme_settings(specs: &[tally_model::SettingSpec], readme: &str, file: &std::path::Path) {
    let file = file.display();
    let Some(start) = readme.lines().position(|l| l.trim() == "## Settings") else {
        panic!("{file} has no `## Settings` section");
    };
    let rows: Vec<(usize, Vec<String>)> = readme
        .lines()
        .enumerate()
        .skip(start + 1)
        .skip_while(|(_, l)| !l.starts_with('|'))
        .take_while(|(_, l)| l.starts_with('|'))
        .map(|(at, l)| {
            let cells = l.trim().trim_matches('|').split('|');
            (at + 1, cells.map(|c| c.trim().to_string()).collect())
        })
        .collect();
    let header: Vec<&str> = rows
        .first()
        .map_or(Vec::new(), |(_, h)| h.iter().map(String::as_str).collect());
    assert_eq!(
        header,
        ["key", "required", "default", "meaning"],
        "{file}:{}: the settings table's columns must be key | required | default | meaning",
        start + 1
    );
    let rows = &rows[2.min(rows.len())..];
    let keys: Vec<&str> = rows.iter().map(|(_, r)| r[0].trim_matches('`')).collect();
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        keys,
        names,
        "{file}:{}: the settings table must list the settings struct's fields, in order",
        start + 1
    );
    for ((line, row), spec) in rows.iter().zip(specs) {
        let want = [
            if spec.required { "yes" } else { "no" },
            spec.default.as_deref().unwrap_or(""),
            spec.description.as_str(),
        ];
        let got: Vec<&str> = row.iter().skip(1).map(String::as_str).collect();
        assert_eq!(
            got, want,
            "{file}:{line}: `{}` must read required | default | meaning as the field's `///` doc and serde default say",
            spec.name
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use tally_model::Emitter;

    /// `[sources.settings]` of the made-up connector below.
    #[derive(Debug, serde::Deserialize, tally_model::Settings)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct DemoSettings {
        /// The account's handle.
        account: String,
        /// How many posts to read.
        #[serde(default = "fifty")]
        max_posts: u32,
    }

    fn fifty() -> u32 {
        50
    }

    struct Demo;

    #[async_trait]
    impl Connector for Demo {
        fn describe(&self) -> Description {
            Description::new("demo", "a demo", "https://demo.example")
                .metrics(["audience.followers"])
                .settings::<DemoSettings>()
                .auth([AuthKind::Bearer])
                .rate_limit(1, 1, 1)
        }
        async fn check(&self, _: &SourceContext<'_>) -> Result<String, ConnectorError> {
            Ok(String::new())
        }
        async fn pull(
            &self,
            _: &SourceContext<'_>,
            _: &mut dyn Emitter,
        ) -> Result<(), ConnectorError> {
            Ok(())
        }
    }

    const SAMPLE: &str = "[[sources]]\nid = \"d\"\nconnector = \"demo\"\n\n[sources.settings]\n## The account's handle.\naccount = \"bakery\"\n## How many posts to read.\n# max_posts = 50\n";
    const README: &str = "# Demo\n\n## Settings\n\n| key | required | default | meaning |\n|---|---|---|---|\n| `account` | yes | | The account's handle. |\n| `max_posts` | no | 50 | How many posts to read. |\n";

    /// The panic message of `assert_settings_documented` on a crate with these files.
    fn failure(sample: &str, readme: &str) -> String {
        let dir = std::env::temp_dir().join(format!(
            "tally-testkit-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join("sample.toml"), sample).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join("README.md"), readme).unwrap_or_else(|e| panic!("{e}"));
        let path = dir.to_string_lossy().to_string();
        let outcome = std::panic::catch_unwind(|| {
            assert_settings_documented::<DemoSettings>(&Demo, &path);
        });
        let _ = std::fs::remove_dir_all(&dir);
        match outcome {
            Ok(()) => "passed".to_string(),
            Err(payload) => payload
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_default(),
        }
    }

    #[test]
    fn the_derive_reads_names_docs_and_defaults() {
        assert_eq!(
            DemoSettings::specs(),
            vec![
                tally_model::SettingSpec::required("account", "The account's handle."),
                tally_model::SettingSpec::optional("max_posts", "How many posts to read.")
                    .with_default(&50),
            ]
        );
        assert_eq!(failure(SAMPLE, README), "passed");
    }

    #[test]
    fn a_sample_showing_another_default_is_refused_naming_the_line() {
        let e = failure(
            &SAMPLE.replace("# max_posts = 50", "# max_posts = 40"),
            README,
        );
        assert!(
            e.contains("/sample.toml:9: `max_posts` is shown with 40, but its default is 50"),
            "{e}"
        );
    }

    #[test]
    fn a_sample_without_an_optional_setting_is_refused() {
        let e = failure(&SAMPLE.replace("# max_posts = 50\n", ""), README);
        assert!(
            e.contains(
                "/sample.toml: setting `max_posts` is missing; show it as `# max_posts = 50`"
            ),
            "{e}"
        );
    }

    #[test]
    fn a_readme_row_that_disagrees_is_refused_naming_the_line() {
        let e = failure(SAMPLE, &README.replace("| no | 50 |", "| no | 100 |"));
        assert!(
            e.contains("/README.md:8: `max_posts` must read required | default | meaning as the field's `///` doc and serde default say"),
            "{e}"
        );
        let e = failure(
            SAMPLE,
            &README.replace("The account's handle. |", "The handle. |"),
        );
        assert!(e.contains("/README.md:7: `account` must read"), "{e}");
    }

    #[test]
    fn a_readme_missing_a_setting_is_refused() {
        let e = failure(
            SAMPLE,
            &README.replace("| `max_posts` | no | 50 | How many posts to read. |\n", ""),
        );
        assert!(
            e.contains(
                "/README.md:3: the settings table must list the settings struct's fields, in order"
            ),
            "{e}"
        );
    }
}
