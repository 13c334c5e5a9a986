//! Mastodon (`/mastodon`, an instance root): account lookup, account, and
//! account statuses with `Link` header pagination, `X-RateLimit-*` headers
//! (reset as an ISO 8601 timestamp) and Mastodon's `{"error": …}` bodies.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use serde_json::{json, Value};

use crate::data::{iso, mastodon_account, AccountData, StatusData};
use crate::limit::Usage;
use crate::oauth;
use crate::state::Shared;
use crate::web::{host, json, set_header as set, Params};

const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 40;
/// Filters carried from a statuses request into its pagination links.
const CARRIED: [&str; 3] = ["exclude_reblogs", "exclude_replies", "only_media"];

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/accounts/lookup", get(lookup))
        .route("/api/v1/accounts/{id}", get(account))
        .route("/api/v1/accounts/{id}/statuses", get(statuses))
        .route("/oauth/token", post(oauth::token_endpoint))
        .fallback(not_found)
}

async fn lookup(State(s): State<Arc<Shared>>, headers: HeaderMap, uri: Uri) -> Response {
    let p = Params::from_uri(&uri);
    let Some(a) = p
        .get("acct")
        .and_then(|acct| mastodon_account(s.seed, acct, Utc::now()))
    else {
        return not_found().await;
    };
    s.registry.remember_account(&a.id, &a.acct);
    json(StatusCode::OK, account_json(&a, &origin(&s, &headers)))
}

async fn account(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match resolve(&s, &id) {
        Some(a) => json(StatusCode::OK, account_json(&a, &origin(&s, &headers))),
        None => not_found().await,
    }
}

async fn statuses(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let Some(a) = resolve(&s, &id) else {
        return not_found().await;
    };
    let p = Params::from_uri(&uri);
    let limit = p
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|&l| l > 0)
        .unwrap_or(DEFAULT_LIMIT)
        .min(MAX_LIMIT);
    let id_param = |name| p.get(name).and_then(|v| v.parse::<u64>().ok());
    let (max_id, since_id, min_id) = (id_param("max_id"), id_param("since_id"), id_param("min_id"));
    let newer_than = since_id.max(min_id);
    let candidates: Vec<&StatusData> = a
        .statuses
        .iter()
        .filter(|st| {
            let n = numeric(st);
            max_id.is_none_or(|m| n < m) && newer_than.is_none_or(|m| n > m)
        })
        .collect();
    // No simulated status has media or is pinned.
    let page: &[&StatusData] = if p.flag("only_media") || p.flag("pinned") {
        &[]
    } else if min_id.is_some() {
        // min_id pages forward: the statuses just above it, still newest first.
        &candidates[candidates.len().saturating_sub(limit)..]
    } else {
        &candidates[..limit.min(candidates.len())]
    };
    let origin = origin(&s, &headers);
    let account = account_json(&a, &origin);
    let body: Vec<Value> = page
        .iter()
        .map(|st| status_json(st, &a, &account, &origin))
        .collect();
    let mut resp = json(StatusCode::OK, Value::Array(body));
    if let (Some(first), Some(last)) = (page.first(), page.last()) {
        let older = a.statuses.iter().any(|st| numeric(st) < numeric(last));
        let link = link_header(
            &origin,
            &id,
            limit,
            &p,
            older.then_some(&last.id),
            &first.id,
        );
        if let Ok(v) = HeaderValue::from_str(&link) {
            resp.headers_mut().insert(header::LINK, v);
        }
    }
    resp
}

fn resolve(s: &Shared, id: &str) -> Option<AccountData> {
    let acct = s.registry.account(id)?;
    mastodon_account(s.seed, &acct, Utc::now())
}

fn numeric(st: &StatusData) -> u64 {
    st.id.parse().unwrap_or_default()
}

/// `http://HOST/mastodon`: the instance root as the client addressed it.
fn origin(s: &Shared, headers: &HeaderMap) -> String {
    format!("http://{}/mastodon", host(headers, &s.addr.to_string()))
}

/// RFC 8288 links: `rel="next"` (older, by `max_id`) while older statuses
/// exist, `rel="prev"` (newer, by `min_id`).
fn link_header(
    origin: &str,
    id: &str,
    limit: usize,
    p: &Params,
    next_max_id: Option<&String>,
    prev_min_id: &str,
) -> String {
    let mut base = format!("{origin}/api/v1/accounts/{id}/statuses?limit={limit}");
    for key in CARRIED {
        if let Some(v) = p.get(key) {
            base.push_str(&format!("&{key}="));
            base.extend(url::form_urlencoded::byte_serialize(v.as_bytes()));
        }
    }
    let prev = format!("<{base}&min_id={prev_min_id}>; rel=\"prev\"");
    match next_max_id {
        Some(max_id) => format!("<{base}&max_id={max_id}>; rel=\"next\", {prev}"),
        None => prev,
    }
}

/// Where the account lives: its own domain for `user@domain`, else this instance.
fn home(a: &AccountData, origin: &str) -> String {
    match a.acct.split_once('@') {
        Some((_, domain)) => format!("https://{domain}"),
        None => origin.to_string(),
    }
}

fn account_json(a: &AccountData, origin: &str) -> Value {
    let home = home(a, origin);
    json!({
        "id": a.id,
        "username": a.username,
        "acct": a.acct,
        "display_name": a.display_name,
        "locked": false,
        "bot": false,
        "discoverable": true,
        "indexable": true,
        "group": false,
        "created_at": iso(a.created_at),
        "note": "<p>Simulated by the Tally sandbox.</p>",
        "url": format!("{home}/@{}", a.username),
        "uri": format!("{home}/users/{}", a.username),
        "avatar": format!("{home}/avatars/original/missing.png"),
        "avatar_static": format!("{home}/avatars/original/missing.png"),
        "header": format!("{home}/headers/original/missing.png"),
        "header_static": format!("{home}/headers/original/missing.png"),
        "followers_count": a.followers,
        "following_count": a.following,
        "statuses_count": a.statuses.len(),
        "last_status_at": a.last_status_at().map(|t| t.format("%Y-%m-%d").to_string()),
        "hide_collections": false,
        "noindex": false,
        "emojis": [],
        "roles": [],
        "fields": [],
    })
}

fn status_json(st: &StatusData, a: &AccountData, account: &Value, origin: &str) -> Value {
    let home = home(a, origin);
    json!({
        "id": st.id,
        "created_at": iso(st.created_at),
        "in_reply_to_id": null,
        "in_reply_to_account_id": null,
        "sensitive": false,
        "spoiler_text": "",
        "visibility": "public",
        "language": "en",
        "uri": format!("{home}/users/{}/statuses/{}", a.username, st.id),
        "url": format!("{home}/@{}/{}", a.username, st.id),
        "replies_count": st.replies,
        "reblogs_count": st.reblogs,
        "favourites_count": st.favourites,
        "quotes_count": st.quotes,
        "edited_at": null,
        "content": st.content,
        "reblog": null,
        "account": account,
        "media_attachments": [],
        "mentions": [],
        "tags": [],
        "emojis": [],
        "card": null,
        "poll": null,
    })
}

async fn not_found() -> Response {
    json(
        StatusCode::NOT_FOUND,
        json!({ "error": "Record not found" }),
    )
}

/// `X-RateLimit-Limit/-Remaining/-Reset` (reset as an ISO 8601 timestamp).
pub(crate) fn usage_headers(headers: &mut HeaderMap, u: &Usage) {
    let reset = Utc::now() + u.reset_in;
    set(headers, "x-ratelimit-limit", &u.limit.to_string());
    set(headers, "x-ratelimit-remaining", &u.remaining.to_string());
    set(headers, "x-ratelimit-reset", &iso(reset));
}

/// 429 `{"error":"Too many requests"}` with usage headers and `Retry-After`.
pub(crate) fn throttled(usage: Option<&Usage>, retry_after_secs: u64) -> Response {
    let mut resp = json(
        StatusCode::TOO_MANY_REQUESTS,
        json!({ "error": "Too many requests" }),
    );
    if let Some(u) = usage {
        usage_headers(resp.headers_mut(), u);
    }
    set(
        resp.headers_mut(),
        "retry-after",
        &retry_after_secs.to_string(),
    );
    resp
}

/// 401 for an expired sandbox-issued token.
pub(crate) fn unauthorized() -> Response {
    let mut resp = json(
        StatusCode::UNAUTHORIZED,
        json!({ "error": "The access token is invalid" }),
    );
    set(
        resp.headers_mut(),
        "www-authenticate",
        "Bearer realm=\"Doorkeeper\", error=\"invalid_token\", error_description=\"The access token expired\"",
    );
    resp
}
