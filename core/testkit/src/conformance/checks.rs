//! The checks themselves, each on its own fresh mock server, each returning
//! what it saw or why it failed (see the module docs of `conformance` for the
//! exact rules).

use super::harness::{discard, natural_key, sample, verified, Harness, Set};
use super::{malformed, Check, Fixtures, Report};
use crate::{source_http, spec_for, Credential, Recording};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tally_config::check_http_url;
use tally_host::http::SourceHttpSpec;
use tally_model::{
    Connector, ConnectorError, Description, HttpError, Point, PointBuffer, QuotaSpec, QuotaWindow,
};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Runs every check in [`Check::ALL`] order.
pub(super) async fn run(connector: Arc<dyn Connector>, fixtures: &dyn Fixtures) -> Report {
    let description = connector.describe();
    let mut report = Report::new(&description.name);
    let h = Harness {
        connector,
        description,
        fixtures,
    };
    report.record(Check::Description, description_fits(&h));
    report.record(Check::AccountCheck, account_check(&h).await);

    // One pull of the happy set feeds the schema, key, pagination and resume checks.
    let server = h.server(Set::Happy).await;
    let happy = h.pull(&server, None).await;
    match &happy.result {
        Ok(buffer) => {
            let expectations = verified(server).await;
            report.record(Check::Schema, schema(&h, buffer));
            report.record(Check::NaturalKeys, natural_keys(buffer));
            report.record(
                Check::Pagination,
                pagination(&h, buffer, happy.requests, expectations),
            );
        }
        Err(e) => {
            discard(server).await;
            let why = format!("the pull of the happy set failed: {e}");
            for check in [Check::Schema, Check::NaturalKeys, Check::Pagination] {
                report.record(check, Err(why.clone()));
            }
        }
    }
    report.record(Check::Retry429, retry_429(&h).await);
    report.record(Check::Retry5xx, retry_5xx(&h, happy.requests).await);
    report.record(Check::Unauthorized401, unauthorized_401(&h).await);
    report.record(Check::MalformedJson, malformed::check(&h).await);
    report.record(Check::Html200, malformed::html_200(&h).await);
    report.record(Check::QuotaStop, quota_stop(&h).await);
    report.record(Check::EmptyAccount, empty_account(&h).await);
    report.record(Check::Resume, resume(&h, &happy.result).await);
    report
}

/// The description validates, survives JSON, and fits the fixtures.
fn description_fits(h: &Harness<'_>) -> Result<String, String> {
    let d: &Description = &h.description;
    d.validate()?;
    let json = serde_json::to_value(d).map_err(|e| format!("does not serialize: {e}"))?;
    let back: Description = serde_json::from_value(json)
        .map_err(|e| format!("does not deserialize from its own JSON: {e}"))?;
    if back != *d {
        return Err(format!(
            "changes in a JSON round trip (a plugin's description arrives as JSON): {back:?}"
        ));
    }
    check_http_url(&d.default_base_url)
        .map_err(|e| format!("default_base_url `{}`: {e}", d.default_base_url))?;
    repeated("metric", d.metrics.iter())?;
    repeated("setting", d.settings.iter().map(|s| &s.name))?;

    let settings = h.fixtures.settings();
    let Some(settings) = settings.as_object() else {
        return Err(format!(
            "the fixture settings must be a JSON object, not {settings}"
        ));
    };
    for key in settings.keys() {
        if !d.settings.iter().any(|s| s.name == *key) {
            return Err(format!(
                "fixture setting `{key}` is not declared in describe().settings"
            ));
        }
    }
    if let Some(missing) = d
        .settings
        .iter()
        .find(|s| s.required && !settings.contains_key(&s.name))
    {
        return Err(format!(
            "required setting `{}` is missing from the fixture settings",
            missing.name
        ));
    }
    let accepted: Vec<&str> = d.auth.iter().map(|a| a.name()).collect();
    let kinds = credential_kinds(&h.fixtures.credential());
    if !kinds.iter().any(|k| accepted.contains(k)) {
        return Err(format!(
            "the fixture credential is {} but the connector accepts {}",
            kinds.join(" or "),
            accepted.join(", ")
        ));
    }
    Ok(format!(
        "`{}` (platform `{}`): {} canonical metrics, {} settings, auth {}",
        d.name,
        d.platform,
        d.metrics.len(),
        d.settings.len(),
        accepted.join(", ")
    ))
}

/// An error naming the first name that appears twice.
fn repeated<'a>(what: &str, names: impl Iterator<Item = &'a String>) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for name in names {
        if !seen.insert(name) {
            return Err(format!("{what} `{name}` is declared twice"));
        }
    }
    Ok(())
}

/// The `[sources.auth] kind`s a host credential can come from.
fn credential_kinds(credential: &Credential) -> &'static [&'static str] {
    match credential {
        Credential::None => &["none"],
        Credential::ApiKey { .. } => &["api_key"],
        Credential::Bearer(_) => &["bearer"],
        Credential::OAuth2(_) => &["oauth2", "client_credentials"],
    }
}

/// `check` on the happy set says what it found.
async fn account_check(h: &Harness<'_>) -> Result<String, String> {
    let server = h.server(Set::Happy).await;
    let http = h.http(&server);
    let source = h.source(&server, None);
    let checked = h.connector.check(&source.context(&http)).await;
    discard(server).await;
    match checked {
        Ok(found) if !found.trim().is_empty() => Ok(format!("check said: {found}")),
        Ok(_) => Err(
            "check returned an empty text; say what was found (an account name, a count)".into(),
        ),
        Err(e) => Err(format!("check failed on the happy set: {e}")),
    }
}

/// Every point of the happy pull conforms.
fn schema(h: &Harness<'_>, buffer: &PointBuffer) -> Result<String, String> {
    if buffer.points.is_empty() {
        return Err("the pull of the happy set emitted no points".into());
    }
    h.conforming(&buffer.points)?;
    let metrics: BTreeSet<&str> = buffer.points.iter().map(|p| p.metric.as_str()).collect();
    Ok(format!(
        "{} points of {} metrics conform",
        buffer.points.len(),
        metrics.len()
    ))
}

/// No natural key appears twice in the happy pull.
fn natural_keys(buffer: &PointBuffer) -> Result<String, String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for point in &buffer.points {
        *counts.entry(natural_key(point)).or_default() += 1;
    }
    let twice: Vec<&String> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, _)| k)
        .collect();
    if !twice.is_empty() {
        return Err(format!(
            "{} natural keys are emitted more than once in one pull (the store keeps one, so values are lost): {}",
            twice.len(),
            sample(twice)
        ));
    }
    Ok(format!(
        "{} points, {} distinct keys",
        buffer.points.len(),
        counts.len()
    ))
}

/// The happy pull read every page once and holds every record.
fn pagination(
    h: &Harness<'_>,
    buffer: &PointBuffer,
    requests: u64,
    expectations: Result<(), String>,
) -> Result<String, String> {
    let records = h.records(&buffer.points);
    let want = h.fixtures.happy_records();
    if records.len() != want {
        return Err(format!(
            "the happy set holds {want} records but the pull emitted {} ({}); was every page followed to the end?",
            records.len(),
            sample(&records)
        ));
    }
    if requests < 2 {
        return Err(format!(
            "the happy pull made {requests} request; mount a happy set of at least two pages"
        ));
    }
    expectations?;
    Ok(format!(
        "{want} records over {requests} requests, each expected request made"
    ))
}

/// Two 429s in front of the happy set are retried by the host.
async fn retry_429(h: &Harness<'_>) -> Result<String, String> {
    let server = h.server(Set::Happy).await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    let started = Instant::now();
    let pulled = h.pull(&server, None).await;
    let waited = started.elapsed();
    let judged = match &pulled.result {
        Err(e) => Err(format!(
            "the pull failed after two 429s the host should have retried: {e}"
        )),
        Ok(_) if waited < Duration::from_millis(900) => Err(format!(
            "the pull took {waited:?}, less than the `Retry-After: 1` the host must wait out"
        )),
        Ok(_) if pulled.throttled != 2 || pulled.retries < 2 => Err(format!(
            "the host counted {} 429s and {} retries, expected 2 and at least 2: do all requests go through ctx.http?",
            pulled.throttled, pulled.retries
        )),
        Ok(buffer) => records_all(h, buffer).map(|n| {
            format!(
                "2 × 429 retried by the host ({} requests, {} retries, Retry-After waited out in {waited:?}); all {n} records pulled",
                pulled.requests, pulled.retries
            )
        }),
    };
    finish(server, judged).await
}

/// A one-shot 500 in front of the happy set is retried by the host: one
/// request more than the plain happy pull (`happy_requests`), every record.
async fn retry_5xx(h: &Harness<'_>, happy_requests: u64) -> Result<String, String> {
    let server = h.server(Set::Happy).await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(serde_json::json!({"error": "Internal server error"})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let pulled = h.pull(&server, None).await;
    let judged = match &pulled.result {
        Err(e) => Err(format!(
            "the pull failed after one 500 the host should have retried: {e}"
        )),
        Ok(_) if pulled.retries != 1 || pulled.requests != happy_requests + 1 => Err(format!(
            "after one 500 the host made {} requests ({} retries); expected the happy pull's {happy_requests} plus 1 retry",
            pulled.requests, pulled.retries
        )),
        Ok(buffer) => records_all(h, buffer).map(|n| {
            format!(
                "a 500 retried by the host ({} requests, 1 retry); all {n} records pulled",
                pulled.requests
            )
        }),
    };
    finish(server, judged).await
}

/// With a quota budget of what all but the last request of the happy pull
/// cost, the host refuses that last request: the pull fails with
/// `HttpError::QuotaExhausted` after exactly the requests the budget covers.
async fn quota_stop(h: &Harness<'_>) -> Result<String, String> {
    let server = h.server(Set::Happy).await;
    let http = Recording::new(h.http(&server));
    let first = h.pull_with(&http, &server, None).await;
    discard(server).await;
    let costs: Vec<u64> = http.requests().iter().map(|r| u64::from(r.cost)).collect();
    if let Err(e) = first {
        return Err(format!(
            "needs the pull of the happy set, which failed: {e}"
        ));
    }
    let covered = costs.len().saturating_sub(1);
    let units: u64 = costs[..covered].iter().sum();
    let server = h.server(Set::Happy).await;
    let spec = SourceHttpSpec {
        quota: Some(QuotaSpec::new(units, QuotaWindow::Day, "UTC")),
        ..spec_for(
            &h.fixtures.base_url(&server),
            &h.description,
            h.fixtures.credential(),
        )
    };
    let result = h.pull_with(&source_http(spec), &server, None).await;
    let sent = server.received_requests().await.map_or(0, |r| r.len());
    discard(server).await;
    let platform = format!("{}#", h.description.platform);
    match &result {
        Err(e @ ConnectorError::Http(HttpError::QuotaExhausted { used, limit, key, .. }))
            if *used == units && *limit == units && key.starts_with(&platform) =>
        {
            h.no_secret_in(&e.to_string())?;
            if sent != covered {
                return Err(format!(
                    "the budget covers {covered} requests but the server received {sent}"
                ));
            }
            Ok(format!(
                "a budget of {units} units stopped the pull after {covered} of {} requests: {e}",
                costs.len()
            ))
        }
        Err(e) => Err(format!(
            "with a budget of {units} units (all but the last request of the happy pull) the pull must fail with HttpError::QuotaExhausted {{ used: {units}, limit: {units}, key: `{platform}…` }}, got: {e:?}"
        )),
        Ok(_) => Err(format!(
            "the pull succeeded with a budget of {units} units, less than the happy pull's {}: does every request go through ctx.http with its cost?",
            costs.iter().sum::<u64>()
        )),
    }
}

/// The points conform and hold every record of the happy set; returns the count.
fn records_all(h: &Harness<'_>, buffer: &PointBuffer) -> Result<usize, String> {
    h.conforming(&buffer.points)?;
    let records = h.records(&buffer.points);
    let want = h.fixtures.happy_records();
    if records.len() != want {
        return Err(format!(
            "the pull emitted {} of the happy set's {want} records",
            records.len()
        ));
    }
    Ok(want)
}

/// Verifies the server's expectations if the check passed so far, else discards it.
async fn finish(server: MockServer, judged: Result<String, String>) -> Result<String, String> {
    match judged {
        Ok(seen) => verified(server).await.map(|()| seen),
        Err(why) => {
            discard(server).await;
            Err(why)
        }
    }
}

/// Every request answered 401: `pull` and `check` fail with the host's auth error.
async fn unauthorized_401(h: &Harness<'_>) -> Result<String, String> {
    let server = h.server(Set::Bare).await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(serde_json::json!({"error": "The access token is invalid"})),
        )
        .mount(&server)
        .await;
    let http = Recording::new(h.http(&server));
    let pulled = h.pull_with(&http, &server, None).await;
    let made = http.requests().len();
    let source = h.source(&server, None);
    let checked = h.connector.check(&source.context(&http)).await;
    let received = server.received_requests().await.unwrap_or_default();
    discard(server).await;
    if let Some(request) = http.requests().iter().find(|r| {
        r.headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("authorization"))
    }) {
        return Err(format!(
            "the connector set an Authorization header itself on {}; the host injects credentials",
            tally_model::error::url_path(&request.url)
        ));
    }
    if let Some(request) = received.iter().find(|r| !h.carries_credential(r)) {
        return Err(format!(
            "the host did not send the fixture credential with {}",
            request.url.path()
        ));
    }

    let unauthorized = |e: &ConnectorError| {
        matches!(
            e,
            ConnectorError::Http(HttpError::Unauthorized { status: 401, .. })
        )
    };
    match &pulled {
        Ok(_) => return Err("the pull succeeded although every request was answered 401".into()),
        Err(e) if !unauthorized(e) => {
            return Err(format!(
                "a 401 must reach the caller as ConnectorError::Http(HttpError::Unauthorized), got: {e:?}"
            ))
        }
        Err(_) if made != 1 => {
            return Err(format!(
                "the pull made {made} requests after a 401; a refused credential must end it at the first"
            ))
        }
        Err(e) => h.no_secret_in(&e.to_string())?,
    }
    let first_path = http
        .requests()
        .first()
        .map(|r| tally_model::error::url_path(&r.url))
        .unwrap_or_default();
    if let Err(ConnectorError::Http(HttpError::Unauthorized { path, message, .. })) = &pulled {
        if *path != first_path || !message.contains("The access token is invalid") {
            return Err(format!(
                "the 401 error must name the request's path `{first_path}` and quote the platform's message; it says {path}: {message}"
            ));
        }
    }
    match checked {
        Err(e) if unauthorized(&e) => {
            h.no_secret_in(&e.to_string())?;
            Ok(format!("pull and check fail with: {e}"))
        }
        Err(e) => Err(format!(
            "check must fail with HttpError::Unauthorized on a 401, got: {e:?}"
        )),
        Ok(found) => Err(format!(
            "check succeeded ({found}) although every request was answered 401"
        )),
    }
}

/// The empty account gives no records and no error.
async fn empty_account(h: &Harness<'_>) -> Result<String, String> {
    let server = h.server(Set::Empty).await;
    let pulled = h.pull(&server, None).await;
    let judged = match pulled.result {
        Err(e) => Err(format!(
            "the pull of the empty account failed ({e}); an account with nothing in it is not an error"
        )),
        Ok(buffer) => h.conforming(&buffer.points).and_then(|()| {
            let records = h.records(&buffer.points);
            if records.is_empty() {
                Ok(format!(
                    "{} account-level points, no records, no error",
                    buffer.points.len()
                ))
            } else {
                Err(format!(
                    "the empty account gave {} records: {}",
                    records.len(),
                    sample(&records)
                ))
            }
        }),
    };
    finish(server, judged).await
}

/// A second pull from the first one's state neither skips nor repeats.
async fn resume(
    h: &Harness<'_>,
    happy: &Result<PointBuffer, ConnectorError>,
) -> Result<String, String> {
    let first = match happy {
        Ok(first) => first,
        Err(e) => {
            return Err(format!(
                "needs the pull of the happy set, which failed: {e}"
            ))
        }
    };
    let server = h.server(Set::Happy).await;
    let second = h.pull(&server, first.state.clone()).await.result;
    let judged = match (&first.state, second) {
        (_, Err(e)) => Err(format!(
            "the second pull, from the first one's state {:?}, failed: {e}",
            first.state
        )),
        (None, Ok(second)) => same_keys(&first.points, &second.points),
        (Some(state), Ok(second)) => resumed(h, state, &first.points, &second.points),
    };
    // Not verified: a resumed pull may skip pages (that is the point), and a
    // stateless one is judged by its keys; `pagination` already checks the pages.
    discard(server).await;
    judged
}

/// Without state, two pulls emit the same natural keys.
fn same_keys(first: &[Point], second: &[Point]) -> Result<String, String> {
    let a: BTreeSet<String> = first.iter().map(natural_key).collect();
    let b: BTreeSet<String> = second.iter().map(natural_key).collect();
    if a != b {
        return Err(format!(
            "no state was saved, so a second pull must emit the same natural keys; only in the first: [{}]; only in the second: [{}]",
            sample(a.difference(&b)),
            sample(b.difference(&a))
        ));
    }
    Ok(format!(
        "no state saved; a second pull emitted the same {} keys",
        a.len()
    ))
}

/// With state, the second pull re-reads exactly what the state does not mark done.
fn resumed(
    h: &Harness<'_>,
    state: &serde_json::Value,
    first: &[Point],
    second: &[Point],
) -> Result<String, String> {
    h.conforming(second)?;
    let done = h.fixtures.records_done(state);
    let a = h.records(first);
    let b = h.records(second);
    let claimed: Vec<&String> = done.difference(&a).collect();
    if !claimed.is_empty() {
        return Err(format!(
            "the saved state marks records done that the pull never emitted (they would be skipped): {}",
            sample(claimed)
        ));
    }
    let repeated: Vec<&String> = b.intersection(&done).collect();
    if !repeated.is_empty() {
        return Err(format!(
            "the resumed pull emitted again records the state marks done: {}",
            sample(repeated)
        ));
    }
    let skipped: Vec<&String> = a.difference(&done).filter(|r| !b.contains(*r)).collect();
    if !skipped.is_empty() {
        return Err(format!(
            "the resumed pull skipped records the state does not mark done: {}",
            sample(skipped)
        ));
    }
    let together = a.union(&b).count();
    let want = h.fixtures.happy_records();
    if together != want {
        return Err(format!(
            "the two pulls hold {together} records together, the happy set {want}"
        ));
    }
    Ok(format!(
        "state saved; first pull {} records ({} marked done), resumed pull {}, {together} together",
        a.len(),
        done.len(),
        b.len()
    ))
}
