//! X API v2 (`/x`, paths from `/2/`): user lookup by username or id, a
//! user's posts paged by `pagination_token` (`meta.next_token` until the
//! last page), fields only when asked for (`user.fields`, and
//! `tweet.fields` as the docs name it or `post.fields` as the vendored
//! OpenAPI 2.167 does), metrics under both their documented names
//! (`tweet_count`, `retweet_count`) and the spec's (`post_count`,
//! `repost_count`), unknown users as HTTP 200 with an `errors` array, the
//! `x-rate-limit-*` headers (reset in epoch seconds), RFC 7807 problem
//! bodies, and an OAuth 2.0 token endpoint whose refresh tokens work once.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::data::{
    offset_token, token_offset, x_user, x_username_valid, UserData, XPostData, BASE32,
};
use crate::limit::Usage;
use crate::oauth::{grant, Policy};
use crate::state::Shared;
use crate::web::{json, set_header, Params, Refusal};

const DEFAULT_RESULTS: usize = 10;
const MIN_RESULTS: usize = 5;
const MAX_RESULTS: usize = 100;
const PROBLEMS: &str = "https://api.x.com/2/problems";
const TOKEN_PATH: &str = "/2/oauth2/token";

/// X's OAuth 2.0: PKCE public clients, refresh tokens rotated on use.
const X_OAUTH: Policy = Policy {
    public_clients: true,
    rotate_refresh: true,
};

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/2/users/by/username/{username}", get(by_username))
        .route("/2/users/{id}", get(by_id))
        .route("/2/users/{id}/tweets", get(posts))
        .route(TOKEN_PATH, post(token))
        .fallback(|| async {
            problem(
                StatusCode::NOT_FOUND,
                "about:blank",
                "Not Found Error",
                "The requested resource does not exist.",
                json!({}),
            )
        })
}

/// The rate-limit key of a request: its bearer token (the token endpoint
/// needs none).
pub(crate) fn credential(path: &str, token: Option<&str>) -> Result<String, Refusal> {
    match token {
        _ if path.ends_with(TOKEN_PATH) => Ok("oauth2".to_string()),
        None | Some("bad") => Err(unauthorized().into()),
        Some(t) => Ok(format!("token:{t}")),
    }
}

async fn token(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    grant(&s, &headers, &body, X_OAUTH)
}

async fn by_username(
    State(s): State<Arc<Shared>>,
    Path(username): Path<String>,
    uri: Uri,
) -> Response {
    let p = Params::from_uri(&uri);
    if !x_username_valid(&username) {
        return invalid(
            "username",
            &username,
            &format!("The `username` query parameter value [{username}] does not match ^[A-Za-z0-9_]{{1,15}}$"),
        );
    }
    match x_user(s.seed, &username, Utc::now()) {
        Some(u) => {
            s.registry.remember_name("x", &u.id, &u.username);
            json(StatusCode::OK, json!({ "data": user_json(&u, &p) }))
        }
        None => not_found("user", "username", &username),
    }
}

async fn by_id(State(s): State<Arc<Shared>>, Path(id): Path<String>, uri: Uri) -> Response {
    let p = Params::from_uri(&uri);
    match resolve(&s, &id) {
        Ok(u) => json(StatusCode::OK, json!({ "data": user_json(&u, &p) })),
        Err(refused) => refused.into_response(),
    }
}

async fn posts(State(s): State<Arc<Shared>>, Path(id): Path<String>, uri: Uri) -> Response {
    let p = Params::from_uri(&uri);
    let max = match p.get("max_results").map(str::parse::<usize>) {
        None => DEFAULT_RESULTS,
        Some(Ok(n)) if (MIN_RESULTS..=MAX_RESULTS).contains(&n) => n,
        Some(_) => {
            let v = p.get("max_results").unwrap_or_default();
            return invalid(
                "max_results",
                v,
                &format!("The `max_results` query parameter value [{v}] is not between 5 and 100"),
            );
        }
    };
    let user = match resolve(&s, &id) {
        Ok(u) => u,
        Err(refused) => return refused.into_response(),
    };
    let start = match p.get("pagination_token") {
        None => 0,
        Some(t) => match decode_token(t).filter(|&o| o < user.posts.len()) {
            Some(o) => o,
            None => {
                return invalid(
                    "pagination_token",
                    t,
                    &format!("The `pagination_token` query parameter value [{t}] is not valid"),
                )
            }
        },
    };
    let page = &user.posts[start.min(user.posts.len())..(start + max).min(user.posts.len())];
    let mut fields = fields(&p, "tweet.fields");
    fields.extend(self::fields(&p, "post.fields"));
    let mut meta = json!({ "result_count": page.len() });
    if let (Some(first), Some(last)) = (page.first(), page.last()) {
        meta["newest_id"] = json!(first.id);
        meta["oldest_id"] = json!(last.id);
    }
    if start + max < user.posts.len() {
        meta["next_token"] = json!(next_token(start + max));
    }
    if start > 0 {
        meta["previous_token"] = json!(next_token(start.saturating_sub(max)));
    }
    let mut body = json!({ "meta": meta });
    if !page.is_empty() {
        body["data"] = page
            .iter()
            .map(|post| post_json(&user, post, &fields))
            .collect();
    }
    json(StatusCode::OK, body)
}

/// A user by an id this sandbox has handed out.
fn resolve(s: &Shared, id: &str) -> Result<UserData, Refusal> {
    if id.is_empty() || id.len() > 19 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            "id",
            id,
            &format!("The `id` query parameter value [{id}] does not match ^[0-9]{{1,19}}$"),
        )
        .into());
    }
    s.registry
        .name("x", id)
        .and_then(|name| x_user(s.seed, &name, Utc::now()))
        .ok_or_else(|| not_found("user", "id", id).into())
}

fn fields(p: &Params, key: &str) -> Vec<String> {
    p.all(key)
        .flat_map(|v| v.split(','))
        .map(|f| f.trim().to_string())
        .filter(|f| !f.is_empty())
        .collect()
}

fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn user_json(u: &UserData, p: &Params) -> Value {
    let fields = fields(p, "user.fields");
    let mut v = json!({ "id": u.id, "name": u.name, "username": u.username });
    for f in &fields {
        let value = match f.as_str() {
            "created_at" => json!(iso(u.created_at)),
            "description" => json!("Simulated by the Tally sandbox."),
            "verified" => json!(false),
            "protected" => json!(false),
            // Which names the live API sends is unconfirmed (the docs say
            // `tweet_count`, spec 2.167 `post_count`): both are sent.
            "public_metrics" => json!({
                "followers_count": u.followers,
                "following_count": u.following,
                "post_count": u.post_count,
                "tweet_count": u.post_count,
                "listed_count": u.listed,
                "like_count": u.post_count * 2,
                "media_count": u.post_count / 4,
            }),
            _ => continue,
        };
        v[f.as_str()] = value;
    }
    v
}

fn post_json(u: &UserData, post: &XPostData, fields: &[String]) -> Value {
    let mut v = json!({
        "id": post.id,
        "text": post.text,
        "edit_history_tweet_ids": [post.id],
    });
    for f in fields {
        let value = match f.as_str() {
            "created_at" => json!(iso(post.created_at)),
            "author_id" => json!(u.id),
            "lang" => json!("en"),
            "public_metrics" => json!({
                "repost_count": post.reposts,
                "retweet_count": post.reposts,
                "reply_count": post.replies,
                "like_count": post.likes,
                "quote_count": post.quotes,
                "bookmark_count": post.bookmarks,
                "impression_count": post.impressions,
            }),
            _ => continue,
        };
        v[f.as_str()] = value;
    }
    v
}

/// X's pagination tokens: 13 base32 characters.
fn next_token(offset: usize) -> String {
    offset_token("", offset, 13, BASE32)
}

fn decode_token(token: &str) -> Option<usize> {
    token_offset(token, "", 13, BASE32)
}

/// An RFC 7807 problem (`application/problem+json`), with extra members.
fn problem(status: StatusCode, kind: &str, title: &str, detail: &str, extra: Value) -> Response {
    let mut body =
        json!({ "title": title, "detail": detail, "type": kind, "status": status.as_u16() });
    if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), extra) {
        b.extend(extra);
    }
    let mut resp = json(status, body);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    resp
}

/// 400 `invalid-request`, naming the parameter.
fn invalid(parameter: &str, value: &str, message: &str) -> Response {
    problem(
        StatusCode::BAD_REQUEST,
        &format!("{PROBLEMS}/invalid-request"),
        "Invalid Request",
        "One or more parameters to your request was invalid.",
        json!({ "errors": [{ "parameters": { parameter: [value] }, "message": message }] }),
    )
}

/// X's "not found": HTTP 200 with an `errors` array and no `data`.
fn not_found(resource_type: &str, parameter: &str, value: &str) -> Response {
    json(
        StatusCode::OK,
        json!({ "errors": [{
            "value": value,
            "detail": format!("Could not find {resource_type} with {parameter}: [{value}]."),
            "title": "Not Found Error",
            "resource_type": resource_type,
            "parameter": parameter,
            "resource_id": value,
            "type": format!("{PROBLEMS}/resource-not-found"),
        }] }),
    )
}

/// `x-rate-limit-limit`, `-remaining` and `-reset` (epoch seconds).
pub(crate) fn usage_headers(headers: &mut HeaderMap, u: &Usage) {
    let reset = Utc::now() + u.reset_in;
    let reset_secs = reset.timestamp() + i64::from(reset.timestamp_subsec_nanos() > 0);
    set_header(headers, "x-rate-limit-limit", &u.limit.to_string());
    set_header(headers, "x-rate-limit-remaining", &u.remaining.to_string());
    set_header(headers, "x-rate-limit-reset", &reset_secs.to_string());
}

/// 429 problem "Too Many Requests", with the usage headers when stated.
pub(crate) fn throttled(usage: Option<&Usage>) -> Response {
    let mut resp = problem(
        StatusCode::TOO_MANY_REQUESTS,
        "about:blank",
        "Too Many Requests",
        "Too Many Requests",
        json!({}),
    );
    if let Some(u) = usage {
        usage_headers(resp.headers_mut(), u);
    }
    resp
}

/// 401 problem "Unauthorized" (no, a bad or an expired token).
pub(crate) fn unauthorized() -> Response {
    problem(
        StatusCode::UNAUTHORIZED,
        "about:blank",
        "Unauthorized",
        "Unauthorized",
        json!({}),
    )
}
