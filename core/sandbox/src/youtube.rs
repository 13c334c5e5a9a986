//! YouTube Data API v3 (`/youtube/v3`): `channels`, `playlistItems` and
//! `videos` list endpoints with the discovery document's response shapes
//! (counts as strings, `pageInfo`, `nextPageToken`) and Google's legacy error
//! body for bad keys, bad parameters, quota and rate limits.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use serde_json::{json, Map, Value};

use crate::data::{
    decode, encode, etag, iso, uploads_playlist_for, youtube_channel, youtube_channel_for_handle,
    youtube_channel_prefix, youtube_video_prefix, ChannelData, VideoData, BASE64URL,
};
use crate::hash::{pick, Hash};
use crate::state::Shared;
use crate::web::{bearer, json, Params};
use crate::SAMPLE_YOUTUBE_CHANNEL;

/// Most ids (or results per page) one list call accepts.
const MAX_RESULTS: usize = 50;
const PAGE_TOKEN_PREFIX: &str = "EAAaBlBUOk";

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/channels", get(channels))
        .route("/playlistItems", get(playlist_items))
        .route("/videos", get(videos))
        .fallback(not_found)
}

/// The quota/limit key of a request: its `key`, else its OAuth token.
pub(crate) fn credential(params: &Params, bearer: Option<&str>) -> Result<String, GoogleError> {
    match (params.get("key"), bearer) {
        (Some("bad"), _) => Err(key_invalid()),
        (Some(key), _) => Ok(format!("key:{key}")),
        (None, Some(token)) => Ok(format!("token:{token}")),
        (None, None) => Err(google_error(
            StatusCode::FORBIDDEN,
            "The request is missing a valid API key.",
            "global",
            "forbidden",
            None,
        )),
    }
}

type Answer = Result<Response, GoogleError>;

async fn channels(State(s): State<Arc<Shared>>, headers: HeaderMap, uri: Uri) -> Answer {
    let p = Params::from_uri(&uri);
    let parts = Parts::of(&p)?;
    let now = Utc::now();
    let found: Vec<ChannelData> = if let Some(ids) = p.get("id") {
        split_ids(ids)?
            .into_iter()
            .filter_map(|id| youtube_channel(s.seed, id, now))
            .collect()
    } else if let Some(handle) = p.get("forHandle") {
        youtube_channel_for_handle(s.seed, handle, now)
            .into_iter()
            .collect()
    } else if p.flag("mine") {
        if bearer(&headers).is_none() {
            return Err(google_error(
                StatusCode::UNAUTHORIZED,
                "The request uses the <code>mine</code> parameter but is not properly authorized.",
                "youtube.parameter",
                "authorizationRequired",
                Some("mine"),
            ));
        }
        youtube_channel(s.seed, SAMPLE_YOUTUBE_CHANNEL, now)
            .into_iter()
            .collect()
    } else {
        return Err(no_filter(
            "forUsername, mine, forHandle, id, managedByMe, categoryId, mySubscribers",
        ));
    };
    for c in &found {
        s.registry
            .remember_channel(youtube_channel_prefix(&c.id), &c.id);
    }
    let items: Vec<Value> = found.iter().map(|c| channel_item(c, &parts)).collect();
    let per_page = if items.is_empty() { 5 } else { items.len() };
    let mut body = list_body("youtube#channelListResponse", items, per_page, None, None);
    // A channel list with no match has no `items` at all, like the real API.
    if body
        .get("items")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
    {
        body.remove("items");
    }
    Ok(json(StatusCode::OK, Value::Object(body)))
}

async fn playlist_items(State(s): State<Arc<Shared>>, uri: Uri) -> Answer {
    let p = Params::from_uri(&uri);
    let parts = Parts::of(&p)?;
    let playlist_id = p
        .get("playlistId")
        .ok_or_else(|| no_filter("id, playlistId"))?;
    let max = max_results(&p, 5)?;
    let offset = match p.get("pageToken") {
        None => 0,
        Some(token) => decode_page_token(token).ok_or_else(|| {
            google_error(
                StatusCode::BAD_REQUEST,
                "The request specifies an invalid page token.",
                "youtube.parameter",
                "invalidPageToken",
                Some("pageToken"),
            )
        })?,
    };
    let channel = playlist_id
        .strip_prefix("UU")
        .and_then(|rest| youtube_channel(s.seed, &format!("UC{rest}"), Utc::now()))
        .ok_or_else(|| {
            google_error(
                StatusCode::NOT_FOUND,
                "The playlist identified with the request's <code>playlistId</code> parameter cannot be found.",
                "youtube.playlistItem",
                "playlistNotFound",
                Some("playlistId"),
            )
        })?;
    s.registry
        .remember_channel(youtube_channel_prefix(&channel.id), &channel.id);
    let total = channel.videos.len();
    let items: Vec<Value> = channel
        .videos
        .iter()
        .enumerate()
        .skip(offset)
        .take(max)
        .map(|(position, v)| playlist_item(&channel, v, position, &parts))
        .collect();
    let end = offset.saturating_add(max);
    let next = (max > 0 && end < total).then(|| page_token(end));
    let prev = (offset > 0).then(|| page_token(offset.saturating_sub(max)));
    let mut body = list_body("youtube#playlistItemListResponse", items, max, next, prev);
    body.insert("pageInfo".into(), page_info(total, max));
    Ok(json(StatusCode::OK, Value::Object(body)))
}

async fn videos(State(s): State<Arc<Shared>>, uri: Uri) -> Answer {
    let p = Params::from_uri(&uri);
    let parts = Parts::of(&p)?;
    let ids = split_ids(p.get("id").ok_or_else(|| no_filter("chart, id, myRated"))?)?;
    let now = Utc::now();
    // One channel computation per distinct channel, not per video.
    let mut channels: HashMap<u64, Option<ChannelData>> = HashMap::new();
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(prefix) = youtube_video_prefix(id) else {
            continue;
        };
        let channel = channels.entry(prefix).or_insert_with(|| {
            s.registry
                .channel(prefix)
                .and_then(|c| youtube_channel(s.seed, &c, now))
        });
        if let Some(c) = channel {
            if let Some(v) = c.videos.iter().find(|v| v.id == id) {
                items.push(video_item(c, v, &parts));
            }
        }
    }
    let n = items.len();
    let body = list_body("youtube#videoListResponse", items, n, None, None);
    Ok(json(StatusCode::OK, Value::Object(body)))
}

async fn not_found() -> GoogleError {
    google_error(
        StatusCode::NOT_FOUND,
        "Not Found",
        "global",
        "notFound",
        None,
    )
}

/// The `part` parameter: required, a comma list.
struct Parts(Vec<String>);

impl Parts {
    fn of(p: &Params) -> Result<Parts, GoogleError> {
        let part = p.get("part").ok_or_else(|| {
            google_error(
                StatusCode::BAD_REQUEST,
                "Required parameter: part",
                "global",
                "required",
                Some("part"),
            )
        })?;
        Ok(Parts(
            part.split(',').map(|s| s.trim().to_string()).collect(),
        ))
    }

    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|p| p == name)
    }
}

fn split_ids(ids: &str) -> Result<Vec<&str>, GoogleError> {
    let ids: Vec<&str> = ids
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if ids.len() > MAX_RESULTS {
        return Err(google_error(
            StatusCode::BAD_REQUEST,
            "The request specifies an invalid filter parameter.",
            "youtube.parameter",
            "invalidFilters",
            Some("id"),
        ));
    }
    Ok(ids)
}

fn max_results(p: &Params, default: usize) -> Result<usize, GoogleError> {
    let Some(raw) = p.get("maxResults") else {
        return Ok(default);
    };
    match raw.parse::<usize>() {
        Ok(n) if n <= MAX_RESULTS => Ok(n),
        _ => Err(google_error(
            StatusCode::BAD_REQUEST,
            format!("Invalid value '{raw}'. Values must be within the range: [0, 50]"),
            "global",
            "invalidParameter",
            Some("maxResults"),
        )),
    }
}

fn page_token(offset: usize) -> String {
    let mut t = PAGE_TOKEN_PREFIX.to_string();
    encode(offset as u64, 4, BASE64URL, &mut t);
    t
}

fn decode_page_token(token: &str) -> Option<usize> {
    let rest = token.strip_prefix(PAGE_TOKEN_PREFIX)?;
    (rest.len() == 4)
        .then(|| decode(rest, BASE64URL))
        .flatten()
        .map(|n| n as usize)
}

fn page_info(total: usize, per_page: usize) -> Value {
    json!({ "totalResults": total, "resultsPerPage": per_page })
}

fn list_body(
    kind: &str,
    items: Vec<Value>,
    per_page: usize,
    next: Option<String>,
    prev: Option<String>,
) -> Map<String, Value> {
    let tag = items.iter().fold(Hash::new(0).str(kind), |h, item| {
        h.str(item.get("etag").and_then(Value::as_str).unwrap_or_default())
    });
    let mut body = Map::new();
    body.insert("kind".into(), json!(kind));
    body.insert("etag".into(), json!(etag(tag.get())));
    if let Some(next) = next {
        body.insert("nextPageToken".into(), json!(next));
    }
    if let Some(prev) = prev {
        body.insert("prevPageToken".into(), json!(prev));
    }
    body.insert("pageInfo".into(), page_info(items.len(), per_page));
    body.insert("items".into(), Value::Array(items));
    body
}

fn channel_item(c: &ChannelData, parts: &Parts) -> Value {
    let mut item = Map::new();
    item.insert("kind".into(), json!("youtube#channel"));
    item.insert(
        "etag".into(),
        json!(etag(
            Hash::new(0)
                .str(&c.id)
                .num(c.subscribers)
                .num(c.views)
                .get()
        )),
    );
    item.insert("id".into(), json!(c.id));
    if parts.has("snippet") {
        item.insert(
            "snippet".into(),
            json!({
                "title": c.title,
                "description": "",
                "customUrl": c.custom_url,
                "publishedAt": iso(c.published_at),
                "localized": { "title": c.title, "description": "" },
                "country": "US",
            }),
        );
    }
    if parts.has("contentDetails") {
        item.insert(
            "contentDetails".into(),
            json!({ "relatedPlaylists": { "likes": "", "uploads": c.uploads_playlist_id() } }),
        );
    }
    if parts.has("statistics") {
        let mut stats = Map::new();
        stats.insert("viewCount".into(), json!(c.views.to_string()));
        if !c.hidden_subscribers {
            stats.insert("subscriberCount".into(), json!(c.subscribers.to_string()));
        }
        stats.insert("hiddenSubscriberCount".into(), json!(c.hidden_subscribers));
        stats.insert("videoCount".into(), json!(c.videos.len().to_string()));
        item.insert("statistics".into(), Value::Object(stats));
    }
    Value::Object(item)
}

fn playlist_item(c: &ChannelData, v: &VideoData, position: usize, parts: &Parts) -> Value {
    let playlist_id = uploads_playlist_for(&c.id);
    let id_hash = Hash::new(0).str(&playlist_id).str(&v.id).get();
    let mut item = Map::new();
    item.insert("kind".into(), json!("youtube#playlistItem"));
    item.insert("etag".into(), json!(etag(pick(id_hash, 1))));
    item.insert("id".into(), json!(etag(id_hash)));
    if parts.has("snippet") {
        item.insert(
            "snippet".into(),
            json!({
                "publishedAt": iso(v.published_at),
                "channelId": c.id,
                "title": v.title,
                "description": "",
                "channelTitle": c.title,
                "playlistId": playlist_id,
                "position": position,
                "resourceId": { "kind": "youtube#video", "videoId": v.id },
                "videoOwnerChannelTitle": c.title,
                "videoOwnerChannelId": c.id,
            }),
        );
    }
    if parts.has("contentDetails") {
        item.insert(
            "contentDetails".into(),
            json!({ "videoId": v.id, "videoPublishedAt": iso(v.published_at) }),
        );
    }
    if parts.has("status") {
        item.insert("status".into(), json!({ "privacyStatus": "public" }));
    }
    Value::Object(item)
}

fn video_item(c: &ChannelData, v: &VideoData, parts: &Parts) -> Value {
    let h = Hash::new(0).str(&v.id).get();
    let mut item = Map::new();
    item.insert("kind".into(), json!("youtube#video"));
    item.insert(
        "etag".into(),
        json!(etag(Hash::new(h).num(v.views).num(v.likes).get())),
    );
    item.insert("id".into(), json!(v.id));
    if parts.has("snippet") {
        item.insert(
            "snippet".into(),
            json!({
                "publishedAt": iso(v.published_at),
                "channelId": c.id,
                "title": v.title,
                "description": "",
                "channelTitle": c.title,
                "categoryId": "22",
                "liveBroadcastContent": "none",
                "localized": { "title": v.title, "description": "" },
            }),
        );
    }
    if parts.has("contentDetails") {
        let seconds = 30 + h % 1200;
        item.insert(
            "contentDetails".into(),
            json!({
                "duration": format!("PT{}M{}S", seconds / 60, seconds % 60),
                "dimension": "2d",
                "definition": "hd",
                "caption": "false",
                "licensedContent": false,
                "projection": "rectangular",
            }),
        );
    }
    if parts.has("statistics") {
        item.insert(
            "statistics".into(),
            json!({
                "viewCount": v.views.to_string(),
                "likeCount": v.likes.to_string(),
                "favoriteCount": "0",
                "commentCount": v.comments.to_string(),
            }),
        );
    }
    Value::Object(item)
}

/// Google's legacy error body:
/// `{"error":{"code","message","errors":[{message,domain,reason[,location,locationType]}]}}`.
#[derive(Debug)]
pub(crate) struct GoogleError {
    status: StatusCode,
    message: Cow<'static, str>,
    domain: &'static str,
    reason: &'static str,
    /// The offending query parameter, if any.
    parameter: Option<&'static str>,
}

fn google_error(
    status: StatusCode,
    message: impl Into<Cow<'static, str>>,
    domain: &'static str,
    reason: &'static str,
    parameter: Option<&'static str>,
) -> GoogleError {
    GoogleError {
        status,
        message: message.into(),
        domain,
        reason,
        parameter,
    }
}

impl IntoResponse for GoogleError {
    fn into_response(self) -> Response {
        let mut e = Map::new();
        e.insert("message".into(), json!(self.message));
        e.insert("domain".into(), json!(self.domain));
        e.insert("reason".into(), json!(self.reason));
        if let Some(parameter) = self.parameter {
            e.insert("location".into(), json!(parameter));
            e.insert("locationType".into(), json!("parameter"));
        }
        let body = json!({ "error": {
            "code": self.status.as_u16(),
            "message": self.message,
            "errors": [e],
        } });
        json(self.status, body)
    }
}

fn no_filter(expected: &str) -> GoogleError {
    google_error(
        StatusCode::BAD_REQUEST,
        format!("No filter selected. Expected one of: {expected}"),
        "youtube.parameter",
        "missingRequiredParameter",
        None,
    )
}

/// `key=bad`: 400 `keyInvalid` (sns-sdks/python-youtube `error_response.json`).
fn key_invalid() -> GoogleError {
    google_error(
        StatusCode::BAD_REQUEST,
        "Bad Request",
        "usageLimits",
        "keyInvalid",
        None,
    )
}

/// The daily units are spent: 403 `quotaExceeded` in domain `youtube.quota`.
pub(crate) fn quota_exceeded() -> Response {
    google_error(
        StatusCode::FORBIDDEN,
        "The request cannot be completed because you have exceeded your <a href=\"/youtube/v3/getting-started#quota\">quota</a>.",
        "youtube.quota",
        "quotaExceeded",
        None,
    )
    .into_response()
}

/// The per-second bucket is empty: 429 `rateLimitExceeded` (no usage headers, no Retry-After).
pub(crate) fn rate_limited() -> Response {
    google_error(
        StatusCode::TOO_MANY_REQUESTS,
        "Rate Limit Exceeded",
        "usageLimits",
        "rateLimitExceeded",
        None,
    )
    .into_response()
}

/// An expired sandbox-issued OAuth token: 401 `authError`.
pub(crate) fn unauthorized() -> Response {
    let mut resp = google_error(
        StatusCode::UNAUTHORIZED,
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
        "global",
        "authError",
        None,
    )
    .into_response();
    resp.headers_mut().insert(
        axum::http::header::WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static(
            "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"",
        ),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_roundtrip() {
        for offset in [0, 5, 49, 1000] {
            assert_eq!(decode_page_token(&page_token(offset)), Some(offset));
        }
        assert_eq!(decode_page_token("nope"), None);
        assert_eq!(decode_page_token("EAAaBlBUOk!!!!"), None);
    }
}
