//! Yelp Places API (`/yelp/v3`): business details and review excerpts (at
//! most three on the base plan, whatever `total` says), `limit`/`offset`
//! paging, the API key as a bearer token, the daily quota's `RateLimit-*`
//! headers (reset as an ISO 8601 timestamp) and Yelp's
//! `{"error":{"code","description"}}` bodies: `TOO_MANY_REQUESTS_PER_SECOND`
//! for the per-second limit, `ACCESS_LIMIT_REACHED` for the day's.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::data::{yelp_business, BusinessData, ReviewData};
use crate::limit::DayUsage;
use crate::state::Shared;
use crate::web::{json, set_header, Params, Refusal};

const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 50;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/businesses/{id}", get(business))
        .route("/businesses/{id}/reviews", get(reviews))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "Resource could not be found.",
            )
        })
}

/// The quota key of a request: its API key, sent as a bearer token.
pub(crate) fn credential(token: Option<&str>) -> Result<String, Refusal> {
    match token {
        None => Err(error(
            StatusCode::UNAUTHORIZED,
            "TOKEN_MISSING",
            "An access token must be supplied in order to use this endpoint.",
        )
        .into()),
        Some("bad") => Err(unauthorized().into()),
        Some(key) => Ok(format!("key:{key}")),
    }
}

async fn business(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match resolve(&s, &id) {
        Some(b) => json(StatusCode::OK, business_json(&b)),
        None => not_found(),
    }
}

async fn reviews(State(s): State<Arc<Shared>>, Path(id): Path<String>, uri: Uri) -> Response {
    let p = Params::from_uri(&uri);
    let limit = match p.get("limit").map(str::parse::<usize>) {
        None => DEFAULT_LIMIT,
        Some(Ok(l)) if l > MAX_LIMIT => {
            return validation(&format!("{l} is greater than the maximum of {MAX_LIMIT}"))
        }
        Some(Ok(l)) => l,
        Some(Err(_)) => return validation("limit must be an integer"),
    };
    let offset = match p.get("offset").map(str::parse::<usize>) {
        None => 0,
        Some(Ok(o)) => o,
        Some(Err(_)) => return validation("offset must be a non-negative integer"),
    };
    let Some(b) = resolve(&s, &id) else {
        return not_found();
    };
    let page: Vec<Value> = b
        .reviews
        .iter()
        .skip(offset)
        .take(limit)
        .map(|r| review_json(&b, r))
        .collect();
    json(
        StatusCode::OK,
        json!({ "reviews": page, "total": b.review_count, "possible_languages": ["en"] }),
    )
}

/// A business by alias or by an id this sandbox has handed out.
fn resolve(s: &Shared, id: &str) -> Option<BusinessData> {
    let alias = s
        .registry
        .name("yelp", id)
        .unwrap_or_else(|| id.to_string());
    let b = yelp_business(s.seed, &alias, Utc::now())?;
    s.registry.remember_name("yelp", &b.id, &b.alias);
    Some(b)
}

fn business_json(b: &BusinessData) -> Value {
    json!({
        "id": b.id,
        "alias": b.alias,
        "name": b.name,
        "image_url": "",
        "is_claimed": true,
        "is_closed": false,
        "url": format!("https://www.yelp.com/biz/{}", b.alias),
        "phone": "+15555550100",
        "display_phone": "(555) 555-0100",
        "review_count": b.review_count,
        "categories": [{ "alias": "bakeries", "title": "Bakeries" }],
        "rating": b.rating,
        "location": {
            "address1": "1 Sandbox Street",
            "city": "Springfield",
            "zip_code": "00000",
            "country": "US",
            "state": "CA",
            "display_address": ["1 Sandbox Street", "Springfield, CA 00000"],
        },
        "coordinates": { "latitude": 37.0, "longitude": -122.0 },
        "photos": [],
        "price": "$$",
        "transactions": [],
    })
}

fn review_json(b: &BusinessData, r: &ReviewData) -> Value {
    json!({
        "id": r.id,
        "url": format!("https://www.yelp.com/biz/{}?hrid={}", b.alias, r.id),
        "text": r.text,
        "rating": r.rating,
        "time_created": r.time_created.format("%Y-%m-%d %H:%M:%S").to_string(),
        "user": {
            "id": format!("u-{}", &r.id[..11]),
            "profile_url": format!("https://www.yelp.com/user_details?userid=u-{}", &r.id[..11]),
            "image_url": null,
            "name": r.user,
        },
    })
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    json(
        status,
        json!({ "error": { "code": code, "description": description } }),
    )
}

fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "BUSINESS_NOT_FOUND",
        "The requested business could not be found.",
    )
}

fn validation(description: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", description)
}

/// `RateLimit-DailyLimit`, `RateLimit-Remaining` and `RateLimit-ResetTime`
/// (ISO 8601, the next midnight UTC) when the daily quota is on.
pub(crate) fn usage_headers(headers: &mut HeaderMap, day: Option<&DayUsage>) {
    if let Some(d) = day {
        set_header(headers, "ratelimit-dailylimit", &d.limit.to_string());
        set_header(headers, "ratelimit-remaining", &d.remaining.to_string());
        set_header(headers, "ratelimit-resettime", &reset_time(d.reset_at));
    }
}

fn reset_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// 429 `TOO_MANY_REQUESTS_PER_SECOND`: the per-second limit; retry soon.
pub(crate) fn too_many_per_second() -> Response {
    error(
        StatusCode::TOO_MANY_REQUESTS,
        "TOO_MANY_REQUESTS_PER_SECOND",
        "You have exceeded the queries-per-second limit for this endpoint. Try reducing the rate at which you make queries.",
    )
}

/// 429 `ACCESS_LIMIT_REACHED`: the day's calls are spent until the reset.
pub(crate) fn access_limit_reached(day: Option<&DayUsage>) -> Response {
    let mut resp = error(
        StatusCode::TOO_MANY_REQUESTS,
        "ACCESS_LIMIT_REACHED",
        "You've reached the access limit for this client. Please email api@yelp.com to resolve this issue.",
    );
    usage_headers(resp.headers_mut(), day);
    resp
}

/// 401 `TOKEN_INVALID`.
pub(crate) fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "TOKEN_INVALID",
        "Invalid access token or authorization header.",
    )
}
