//! Bluesky AppView XRPC (`/bluesky/xrpc`): `app.bsky.actor.getProfile(s)`
//! and `app.bsky.feed.getAuthorFeed` with lexicon shapes, an opaque cursor
//! that disappears at the end, repost entries connectors must skip, the
//! `RateLimit-*` headers (reset in epoch seconds) and XRPC error bodies.

use std::borrow::Cow;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::data::{bluesky_profile, iso, FeedItem, PostData, ProfileData};
use crate::limit::Usage;
use crate::state::Shared;
use crate::web::{json, set_header, Params};

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 100;
const MAX_ACTORS: usize = 25;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/app.bsky.actor.getProfile", get(get_profile))
        .route("/app.bsky.actor.getProfiles", get(get_profiles))
        .route("/app.bsky.feed.getAuthorFeed", get(get_author_feed))
        .fallback(not_implemented)
}

type Answer = Result<Response, XrpcError>;

async fn get_profile(State(s): State<Arc<Shared>>, uri: Uri) -> Answer {
    let p = Params::from_uri(&uri);
    let actor = p.get("actor").ok_or_else(|| missing_param("actor"))?;
    let profile = resolve(&s, actor)?;
    Ok(json(StatusCode::OK, profile_json(&profile)))
}

async fn get_profiles(State(s): State<Arc<Shared>>, uri: Uri) -> Answer {
    let p = Params::from_uri(&uri);
    let actors: Vec<&str> = p.all("actors").filter(|a| !a.trim().is_empty()).collect();
    if actors.is_empty() {
        return Err(missing_param("actors"));
    }
    if actors.len() > MAX_ACTORS {
        return Err(invalid_request(
            "Error: actors must not have more than 25 elements",
        ));
    }
    // Unknown actors are left out, as the AppView does.
    let profiles: Vec<Value> = actors
        .into_iter()
        .filter_map(|a| resolve(&s, a).ok())
        .map(|profile| profile_json(&profile))
        .collect();
    Ok(json(StatusCode::OK, json!({ "profiles": profiles })))
}

async fn get_author_feed(State(s): State<Arc<Shared>>, uri: Uri) -> Answer {
    let p = Params::from_uri(&uri);
    let actor = p.get("actor").ok_or_else(|| missing_param("actor"))?;
    let limit = match p.get("limit").map(str::parse::<i64>) {
        None => DEFAULT_LIMIT,
        Some(Err(_)) => return Err(invalid_request("Error: limit must be an integer")),
        Some(Ok(l)) if l < 1 => return Err(invalid_request("Error: limit can not be less than 1")),
        Some(Ok(l)) if l > MAX_LIMIT => {
            return Err(invalid_request("Error: limit can not be greater than 100"))
        }
        Some(Ok(l)) => l,
    };
    let after = match p.get("cursor") {
        None => None,
        Some(raw) => Some(parse_cursor(raw).ok_or_else(|| invalid_request("Malformed cursor"))?),
    };
    let profile = resolve(&s, actor)?;
    let feed = profile.feed();
    let rest: Vec<&FeedItem<'_>> = feed
        .iter()
        .filter(|item| {
            after
                .as_ref()
                .is_none_or(|(ms, cid)| (millis(item.sort_at()), item.cid()) < (*ms, cid.as_str()))
        })
        .collect();
    let take = (limit as usize).min(rest.len());
    let page = &rest[..take];
    let mut body = serde_json::Map::new();
    if take < rest.len() {
        if let Some(last) = page.last() {
            body.insert("cursor".into(), json!(cursor(last)));
        }
    }
    let entries: Vec<Value> = page.iter().map(|item| feed_entry(&profile, item)).collect();
    body.insert("feed".into(), Value::Array(entries));
    Ok(json(StatusCode::OK, Value::Object(body)))
}

/// Finds a profile by handle or by a DID this sandbox has handed out.
fn resolve(s: &Shared, actor: &str) -> Result<ProfileData, XrpcError> {
    let actor = actor.trim();
    let handle = if actor.starts_with("did:") {
        s.registry.handle(actor)
    } else if is_handle(actor) {
        Some(actor.to_ascii_lowercase())
    } else {
        return Err(invalid_request(
            "Error: actor must be a valid did or a handle",
        ));
    };
    let profile = handle.and_then(|h| bluesky_profile(s.seed, &h, Utc::now()));
    let Some(profile) = profile else {
        return Err(invalid_request("Profile not found"));
    };
    s.registry.remember_did(&profile.did, &profile.handle);
    Ok(profile)
}

/// A syntactically valid handle: dot-separated DNS labels, at least two.
fn is_handle(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    labels.len() >= 2
        && s.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// `"{sort ms}::{cid}"`: the feed position, like the AppView's keyset cursor.
fn cursor(item: &FeedItem<'_>) -> String {
    format!("{}::{}", millis(item.sort_at()), item.cid())
}

fn parse_cursor(raw: &str) -> Option<(i64, String)> {
    let (ms, cid) = raw.split_once("::")?;
    Some((ms.parse().ok()?, cid.to_string()))
}

fn profile_json(p: &ProfileData) -> Value {
    json!({
        "did": p.did,
        "handle": p.handle,
        "displayName": p.display_name,
        "description": "Simulated by the Tally sandbox.",
        "associated": { "lists": 0, "feedgens": 0, "starterPacks": 0, "labeler": false },
        "followersCount": p.followers,
        "followsCount": p.follows,
        "postsCount": p.posts.len(),
        "indexedAt": iso(p.created_at),
        "createdAt": iso(p.created_at),
        "labels": [],
    })
}

/// `profileViewBasic` of the feed's owner.
fn owner_basic(p: &ProfileData) -> Value {
    json!({
        "did": p.did,
        "handle": p.handle,
        "displayName": p.display_name,
        "labels": [],
        "createdAt": iso(p.created_at),
    })
}

fn post_view(post: &PostData, author: Value) -> Value {
    json!({
        "uri": post.uri,
        "cid": post.cid,
        "author": author,
        "record": {
            "$type": "app.bsky.feed.post",
            "text": post.text,
            "createdAt": iso(post.created_at),
            "langs": ["en"],
        },
        "bookmarkCount": 0,
        "replyCount": post.replies,
        "repostCount": post.reposts,
        "likeCount": post.likes,
        "quoteCount": post.quotes,
        "indexedAt": iso(post.created_at),
        "labels": [],
    })
}

fn feed_entry(owner: &ProfileData, item: &FeedItem<'_>) -> Value {
    match item {
        FeedItem::Post(post) => json!({ "post": post_view(post, owner_basic(owner)) }),
        FeedItem::Repost(r) => {
            let author = json!({
                "did": r.post.author_did,
                "handle": r.post.author_handle,
                "labels": [],
            });
            json!({
                "post": post_view(&r.post, author),
                "reason": {
                    "$type": "app.bsky.feed.defs#reasonRepost",
                    "by": owner_basic(owner),
                    "uri": r.uri,
                    "cid": r.cid,
                    "indexedAt": iso(r.reposted_at),
                },
            })
        }
    }
}

/// The XRPC error body: `{"error": name, "message": text}`.
#[derive(Debug)]
pub(crate) struct XrpcError {
    status: StatusCode,
    error: &'static str,
    message: Cow<'static, str>,
}

impl IntoResponse for XrpcError {
    fn into_response(self) -> Response {
        json(
            self.status,
            json!({ "error": self.error, "message": self.message }),
        )
    }
}

fn xrpc_error(
    status: StatusCode,
    error: &'static str,
    message: impl Into<Cow<'static, str>>,
) -> XrpcError {
    XrpcError {
        status,
        error,
        message: message.into(),
    }
}

fn invalid_request(message: impl Into<Cow<'static, str>>) -> XrpcError {
    xrpc_error(StatusCode::BAD_REQUEST, "InvalidRequest", message)
}

fn missing_param(name: &str) -> XrpcError {
    invalid_request(format!("Error: Params must have the property \"{name}\""))
}

async fn not_implemented() -> XrpcError {
    xrpc_error(
        StatusCode::NOT_IMPLEMENTED,
        "MethodNotImplemented",
        "Method Not Implemented",
    )
}

/// `RateLimit-Limit/-Remaining/-Reset` (epoch seconds) and `RateLimit-Policy`.
pub(crate) fn usage_headers(headers: &mut HeaderMap, u: &Usage) {
    let reset = Utc::now() + u.reset_in;
    // Round up so "reset" is never before the bucket is actually full.
    let reset_secs = reset.timestamp() + i64::from(reset.timestamp_subsec_nanos() > 0);
    set_header(headers, "ratelimit-limit", &u.limit.to_string());
    set_header(headers, "ratelimit-remaining", &u.remaining.to_string());
    set_header(headers, "ratelimit-reset", &reset_secs.to_string());
    set_header(
        headers,
        "ratelimit-policy",
        &format!("{};w={}", u.quota, u.window_secs),
    );
}

/// 429 `RateLimitExceeded` with usage headers and `Retry-After`.
pub(crate) fn throttled(usage: Option<&Usage>, retry_after_secs: u64) -> Response {
    let mut resp = xrpc_error(
        StatusCode::TOO_MANY_REQUESTS,
        "RateLimitExceeded",
        "Rate Limit Exceeded",
    )
    .into_response();
    if let Some(u) = usage {
        usage_headers(resp.headers_mut(), u);
    }
    set_header(
        resp.headers_mut(),
        "retry-after",
        &retry_after_secs.to_string(),
    );
    resp
}

/// An expired sandbox-issued token (atproto answers 400 `ExpiredToken`).
pub(crate) fn unauthorized() -> Response {
    xrpc_error(StatusCode::BAD_REQUEST, "ExpiredToken", "Token has expired").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_and_cursors() {
        assert!(is_handle("tally.bsky.social"));
        assert!(is_handle("empty.test"));
        assert!(!is_handle("@tally.bsky.social"));
        assert!(!is_handle("tally"));
        assert!(!is_handle("a..b"));
        assert_eq!(parse_cursor("12::bafy"), Some((12, "bafy".into())));
        assert_eq!(parse_cursor("x::bafy"), None);
        assert_eq!(parse_cursor("12"), None);
    }
}
