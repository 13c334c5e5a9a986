//! Meta's Graph API (`/meta/{version}/…`): Facebook Pages, Instagram
//! professional accounts and Marketing API insights, with Graph error
//! bodies, cursor paging, JSON usage headers that climb with use, a
//! throttle error, a restated ads insight and async report runs.
//!
//! Ids say what they are, as the connectors are told them: `act_<digits>`
//! is an ad account, `1784<digits>` an Instagram account (the one linked to
//! Page `<digits>`), `1790…` an Instagram media item, `9000…` an async
//! report run, other digits a Page and `<page>_<n>` a post. An id ending in
//! `0429` answers its first request with Meta's throttle error (code 80001,
//! `estimated_time_to_regain_access: 1`). Every request needs a bearer
//! token; `expired` gets error 190. Removed insights metrics get error 100.

mod ads;
mod instagram;
mod pages;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::hash::Hash;
use crate::limit::lock;
use crate::state::Shared;
use crate::web::{bearer, json, set_header, Params};

/// Where the Graph API is mounted (a connector's `base_url`).
pub(crate) const ROOT: &str = "/meta";

/// What the simulated Graph remembers between requests.
#[derive(Debug, Default)]
pub(crate) struct Graph {
    seed: u64,
    /// Requests per token, for the usage headers that climb.
    calls: Mutex<HashMap<String, u64>>,
    /// Ids whose first request was throttled already.
    throttled: Mutex<HashSet<String>>,
    /// Insights reads per ad account, for the restated value.
    reads: Mutex<HashMap<String, u64>>,
    /// Async report runs: id → (ad account, query, status polls so far).
    runs: Mutex<HashMap<String, (String, Params, u32)>>,
}

/// The Graph routes, with their own state beside the sandbox's.
pub(crate) fn router(seed: u64) -> Router<Arc<Shared>> {
    let graph = Arc::new(Graph {
        seed,
        ..Graph::default()
    });
    Router::new()
        .route("/{version}/{id}", get(object))
        .route("/{version}/{id}/{edge}", get(edge).post(start_run))
        .with_state(graph)
}

/// A request as the handlers see it: who asks, with which parameters, when.
pub(crate) struct Call<'a> {
    pub graph: &'a Graph,
    pub params: Params,
    pub now: DateTime<Utc>,
}

impl Call<'_> {
    /// A hash of the seed and `parts`, for simulated numbers.
    pub fn hash(&self, parts: &[&str]) -> u64 {
        parts
            .iter()
            .fold(Hash::new(self.graph.seed), |h, p| h.str(p))
            .get()
    }
}

async fn object(
    State(graph): State<Arc<Graph>>,
    Path((_version, id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    serve(&graph, &id, &headers, &uri, |call| {
        if let Some(account) = id.strip_prefix("act_") {
            ads::account(call, account)
        } else if id.starts_with("9000") {
            ads::run_status(call, &id)
        } else if let Some(page) = id.strip_prefix("1784") {
            instagram::user(call, &id, page)
        } else {
            pages::page(call, &id)
        }
    })
}

async fn edge(
    State(graph): State<Arc<Graph>>,
    Path((_version, id, edge)): Path<(String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    serve(&graph, &id, &headers, &uri, |call| match edge.as_str() {
        "insights" if id.starts_with("act_") => ads::insights(call, &id),
        "insights" if id.starts_with("9000") => ads::run_rows(call, &id),
        "insights" if id.starts_with("1790") => instagram::media_insights(call, &id),
        "insights" if id.starts_with("1784") => instagram::insights(call, &id),
        "insights" => pages::insights(call, &id),
        "posts" => pages::posts(call, &id),
        "media" => instagram::media(call, &id),
        _ => not_found(&format!("Unknown path components: /{edge}")),
    })
}

async fn start_run(
    State(graph): State<Arc<Graph>>,
    Path((_version, id, edge)): Path<(String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    serve(&graph, &id, &headers, &uri, |call| match edge.as_str() {
        "insights" if id.starts_with("act_") => ads::start_run(call, &id),
        _ => not_found(&format!("Unsupported post request: /{id}/{edge}")),
    })
}

/// Checks the token, throttles an `…0429` id once, answers with `handle`
/// and stamps the usage headers.
fn serve(
    graph: &Graph,
    id: &str,
    headers: &HeaderMap,
    uri: &Uri,
    handle: impl FnOnce(&Call<'_>) -> Response,
) -> Response {
    let Some(token) = bearer(headers) else {
        return error(
            400,
            104,
            None,
            "An access token is required to request this resource.",
        );
    };
    if token == "expired" {
        return error(
            400,
            190,
            Some(463),
            "Error validating access token: Session has expired.",
        );
    }
    let calls = {
        let mut calls = lock(&graph.calls);
        let n = calls.entry(token).or_insert(0);
        *n += 1;
        *n
    };
    let call = Call {
        graph,
        params: Params::from_uri(uri),
        now: Utc::now(),
    };
    let throttle = id.ends_with("0429") && lock(&graph.throttled).insert(id.to_string());
    let mut response = if throttle {
        error(
            400,
            80001,
            None,
            "(#80001) There have been too many calls to this Page account. Wait a bit and try again.",
        )
    } else {
        handle(&call)
    };
    usage_headers(response.headers_mut(), id, calls, throttle);
    response
}

/// `X-App-Usage` and `X-Business-Use-Case-Usage` (and, for ad accounts,
/// `x-fb-ads-insights-throttle`): percentages that climb by one point every
/// two requests of a token, up to 99; a throttled answer states 100 % and
/// one minute to regain access.
fn usage_headers(headers: &mut HeaderMap, id: &str, calls: u64, throttled: bool) {
    let pct = if throttled {
        100
    } else {
        (4 + calls / 2).min(99)
    };
    let regain = u64::from(throttled);
    let kind = if id.starts_with("act_") {
        "ads_insights"
    } else if id.starts_with("17") {
        "instagram"
    } else {
        "pages"
    };
    let app = json!({"call_count": pct, "total_cputime": pct / 2, "total_time": pct / 2});
    set_header(headers, "x-app-usage", &app.to_string());
    let buc = json!({ id: [{
        "type": kind,
        "call_count": pct,
        "total_cputime": pct / 2,
        "total_time": pct / 2,
        "estimated_time_to_regain_access": regain
    }]});
    set_header(headers, "x-business-use-case-usage", &buc.to_string());
    if kind == "ads_insights" {
        let insights = json!({"app_id_util_pct": pct / 2, "acc_id_util_pct": pct});
        set_header(headers, "x-fb-ads-insights-throttle", &insights.to_string());
    }
    set_header(headers, "facebook-api-version", "v27.0");
}

/// A Graph error body.
pub(crate) fn error(status: u16, code: i64, subcode: Option<i64>, message: &str) -> Response {
    let mut error = json!({
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "ASandboxTrace0001",
    });
    if let Some(sub) = subcode {
        error["error_subcode"] = json!(sub);
    }
    json(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        json!({ "error": error }),
    )
}

/// Graph's answer to an unknown object or edge.
pub(crate) fn not_found(message: &str) -> Response {
    error(400, 100, Some(33), message)
}

/// The invalid-metric error for the first of `asked` not in `served`.
pub(crate) fn invalid_metric(asked: &[&str], served: &[&str]) -> Option<Response> {
    let bad = asked.iter().find(|m| !served.contains(m))?;
    Some(error(
        400,
        100,
        None,
        &format!("(#100) The value must be a valid insights metric: {bad}"),
    ))
}

/// The metrics of `metric=a,b`.
pub(crate) fn metrics(params: &Params) -> Vec<&str> {
    params
        .get("metric")
        .map(|m| m.split(',').map(str::trim).collect())
        .unwrap_or_default()
}

/// One page of `items` from the `after` cursor (`o<offset>`), with Graph's
/// `paging` (a `next` only when more follow).
pub(crate) fn page(items: Vec<Value>, params: &Params, default_limit: usize) -> Response {
    let limit = params
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(default_limit)
        .clamp(1, 100);
    let offset = params
        .get("after")
        .and_then(|a| a.strip_prefix('o'))
        .and_then(|o| o.parse::<usize>().ok())
        .unwrap_or(0);
    let end = (offset + limit).min(items.len());
    let data: Vec<Value> = items.get(offset..end).unwrap_or_default().to_vec();
    let mut paging =
        json!({"cursors": {"before": format!("o{offset}"), "after": format!("o{end}")}});
    if end < items.len() {
        paging["next"] = json!(format!("https://graph.facebook.com/v27.0/…?after=o{end}"));
    }
    json(StatusCode::OK, json!({"data": data, "paging": paging}))
}

/// Graph's time format: `2026-06-19T07:00:00+0000`.
pub(crate) fn graph_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S+0000").to_string()
}

/// A `since`/`until` parameter in Unix seconds.
pub(crate) fn unix(params: &Params, key: &str) -> Option<DateTime<Utc>> {
    params
        .get(key)
        .and_then(|v| v.parse::<i64>().ok())
        .and_then(|s| DateTime::from_timestamp(s, 0))
}
