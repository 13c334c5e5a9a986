//! Eventbrite API v3 (`/eventbrite/v3`): the token's organizations, an
//! organization's events, an event's ticket classes and attendees, each
//! paged by an opaque `continuation` token while `has_more_items`; the
//! private token as a bearer header or `?token=`; Eventbrite's
//! `{"error","error_description","status_code"}` bodies (`HIT_RATE_LIMIT`,
//! `BAD_CONTINUATION_TOKEN`, `NOT_FOUND`, ...). Eventbrite documents no
//! usage headers, so none are sent.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::data::{
    eventbrite_event_parts, eventbrite_organization, eventbrite_organization_of_token,
    offset_token, token_offset, AttendeeData, EventData, OrganizationData, TicketClassData,
    BASE64URL,
};
use crate::state::Shared;
use crate::web::{bearer, json, Params, Refusal};

/// Eventbrite's page size ("around 50"); `page_size` may ask for another.
const PAGE_SIZE: usize = 50;
const MAX_PAGE_SIZE: usize = 200;

pub(crate) fn router() -> Router<Arc<Shared>> {
    // Eventbrite's paths end with a slash; both forms are served.
    let mut r = Router::new();
    for (path, handler) in [
        ("/users/me/organizations", get(organizations)),
        ("/organizations/{id}/events", get(events)),
        ("/events/{id}", get(event)),
        ("/events/{id}/ticket_classes", get(ticket_classes)),
        ("/events/{id}/attendees", get(attendees)),
    ] {
        r = r
            .route(&format!("{path}/"), handler.clone())
            .route(path, handler);
    }
    r.fallback(|| async {
        error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The path you requested does not exist.",
        )
    })
}

/// The rate-limit key of a request: its private token, from the
/// `Authorization` header or `?token=`.
pub(crate) fn credential(params: &Params, token: Option<&str>) -> Result<String, Refusal> {
    match token.or_else(|| params.get("token")) {
        None => Err(error(
            StatusCode::UNAUTHORIZED,
            "NO_AUTH",
            "An OAuth token is required for this request.",
        )
        .into()),
        Some("bad") => Err(unauthorized().into()),
        Some(t) => Ok(format!("token:{t}")),
    }
}

type Answer = Result<Response, Refusal>;

async fn organizations(headers: HeaderMap, uri: Uri) -> Answer {
    let p = Params::from_uri(&uri);
    let token = bearer(&headers)
        .or_else(|| p.get("token").map(str::to_string))
        .unwrap_or_default();
    let id = eventbrite_organization_of_token(&token);
    let org = json!({
        "id": id,
        "name": format!("Organization {id}"),
        "vertical": "Default",
        "parent_id": null,
        "locale": "en_US",
        "image_id": null,
    });
    page(&p, "organizations", vec![org])
}

async fn events(State(s): State<Arc<Shared>>, Path(id): Path<String>, uri: Uri) -> Answer {
    let p = Params::from_uri(&uri);
    let org = organization(&s, &id)?;
    let statuses: Vec<&str> = p
        .get("status")
        .map(|v| v.split(',').map(str::trim).collect())
        .unwrap_or_default();
    let now = Utc::now();
    let time_filter = p.get("time_filter").unwrap_or("all");
    if !matches!(time_filter, "all" | "past" | "current_future") {
        return Err(argument("time_filter", "must be one of all, past, current_future").into());
    }
    let mut chosen: Vec<Value> = org
        .events
        .iter()
        .filter(|e| {
            statuses.is_empty() || statuses.contains(&"all") || statuses.contains(&e.status)
        })
        .filter(|e| match time_filter {
            "past" => e.end <= now,
            "current_future" => e.end > now,
            _ => true,
        })
        .map(|e| event_json(&org, e))
        .collect();
    match p.get("order_by").unwrap_or("start_asc") {
        "start_asc" => {}
        "start_desc" => chosen.reverse(),
        other => return Err(argument("order_by", &format!("unknown ordering `{other}`")).into()),
    }
    page(&p, "events", chosen)
}

async fn event(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let (org, e) = find_event(&s, &id)?;
    Ok(json(StatusCode::OK, event_json(&org, &e)))
}

async fn ticket_classes(State(s): State<Arc<Shared>>, Path(id): Path<String>, uri: Uri) -> Answer {
    let (_, e) = find_event(&s, &id)?;
    let classes = e
        .ticket_classes
        .iter()
        .map(|c| ticket_class_json(&e, c))
        .collect();
    page(&Params::from_uri(&uri), "ticket_classes", classes)
}

async fn attendees(State(s): State<Arc<Shared>>, Path(id): Path<String>, uri: Uri) -> Answer {
    let p = Params::from_uri(&uri);
    let (_, e) = find_event(&s, &id)?;
    let wanted = match p.get("status") {
        None => None,
        Some(v @ ("attending" | "not_attending" | "unpaid")) => Some(v),
        Some(other) => {
            return Err(argument("status", &format!("unknown attendee status `{other}`")).into())
        }
    };
    let list = e
        .attendees
        .iter()
        .filter(|a| match wanted {
            None => true,
            Some("attending") => !a.cancelled,
            Some("not_attending") => a.cancelled,
            // Every simulated order is paid.
            _ => false,
        })
        .map(|a| attendee_json(&e, a))
        .collect();
    page(&p, "attendees", list)
}

fn organization(s: &Shared, id: &str) -> Result<OrganizationData, Refusal> {
    eventbrite_organization(s.seed, id, Utc::now()).ok_or_else(|| Refusal::from(not_found()))
}

fn find_event(s: &Shared, id: &str) -> Result<(OrganizationData, EventData), Refusal> {
    let (org_id, _) = eventbrite_event_parts(id).ok_or_else(|| Refusal::from(not_found()))?;
    let org = organization(s, org_id)?;
    let e = org
        .events
        .iter()
        .find(|e| e.id == id)
        .cloned()
        .ok_or_else(|| Refusal::from(not_found()))?;
    Ok((org, e))
}

/// One page of `items` under `key`, with Eventbrite's pagination object.
fn page(p: &Params, key: &str, items: Vec<Value>) -> Answer {
    let size = match p.get("page_size").map(str::parse::<usize>) {
        None => PAGE_SIZE,
        Some(Ok(n)) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
        Some(_) => return Err(argument("page_size", "must be between 1 and 200").into()),
    };
    let start = match p.get("continuation") {
        None => 0,
        Some(token) => decode_continuation(token)
            .filter(|&o| o < items.len())
            .ok_or_else(|| {
                error(
                    StatusCode::BAD_REQUEST,
                    "BAD_CONTINUATION_TOKEN",
                    "The continuation token you provided is invalid.",
                )
            })?,
    };
    let end = (start + size).min(items.len());
    let more = end < items.len();
    let mut pagination = json!({
        "object_count": items.len(),
        "page_number": start / size + 1,
        "page_size": size,
        "page_count": items.len().div_ceil(size).max(1),
        "has_more_items": more,
    });
    if more {
        pagination["continuation"] = json!(continuation(end));
    }
    let mut body = serde_json::Map::new();
    body.insert("pagination".into(), pagination);
    body.insert(key.into(), Value::Array(items[start..end].to_vec()));
    Ok(json(StatusCode::OK, Value::Object(body)))
}

/// Eventbrite's continuation tokens: opaque base64-like text.
const CONTINUATION: (&str, usize) = ("dGFsbHk", 11);

fn continuation(offset: usize) -> String {
    offset_token(CONTINUATION.0, offset, CONTINUATION.1, BASE64URL)
}

fn decode_continuation(token: &str) -> Option<usize> {
    token_offset(token, CONTINUATION.0, CONTINUATION.1, BASE64URL)
}

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn when(t: DateTime<Utc>) -> Value {
    json!({
        "timezone": "UTC",
        "local": t.format("%Y-%m-%dT%H:%M:%S").to_string(),
        "utc": utc(t),
    })
}

fn event_json(org: &OrganizationData, e: &EventData) -> Value {
    json!({
        "id": e.id,
        "name": { "text": e.name, "html": e.name },
        "description": { "text": "Simulated by the Tally sandbox.", "html": "<p>Simulated by the Tally sandbox.</p>" },
        "url": format!("https://www.eventbrite.com/e/{}", e.id),
        "start": when(e.start),
        "end": when(e.end),
        "organization_id": org.id,
        "created": utc(e.start - chrono::Duration::days(40)),
        "changed": utc(e.start - chrono::Duration::days(30)),
        "capacity": e.capacity(),
        "capacity_is_custom": false,
        "status": e.status,
        "currency": "USD",
        "listed": true,
        "shareable": true,
        "online_event": false,
        "is_free": false,
        "is_series": false,
    })
}

fn money(cents: u64) -> Value {
    let major = format!("{}.{:02}", cents / 100, cents % 100);
    json!({
        "currency": "USD",
        "value": cents,
        "major_value": major,
        "display": format!("${major}"),
    })
}

fn ticket_class_json(e: &EventData, c: &TicketClassData) -> Value {
    json!({
        "id": c.id,
        "event_id": e.id,
        "name": c.name,
        "free": false,
        "donation": false,
        "capacity": c.quantity_total,
        "quantity_total": c.quantity_total,
        "quantity_sold": c.quantity_sold,
        "on_sale_status": if c.quantity_sold >= c.quantity_total { "SOLD_OUT" } else { "AVAILABLE" },
        "cost": money(c.cost_cents),
        "sales_start": utc(e.start - chrono::Duration::days(30)),
        "sales_end": utc(e.start),
    })
}

fn attendee_json(e: &EventData, a: &AttendeeData) -> Value {
    let cents = e
        .ticket_classes
        .iter()
        .find(|c| c.id == a.ticket_class_id)
        .map_or(0, |c| c.cost_cents);
    json!({
        "id": a.id,
        "created": utc(a.created),
        "changed": utc(a.created),
        "event_id": e.id,
        "order_id": format!("9{}", a.id),
        "ticket_class_id": a.ticket_class_id,
        "status": a.status,
        "checked_in": a.checked_in,
        "cancelled": a.cancelled,
        "refunded": a.cancelled,
        "quantity": 1,
        "costs": { "base_price": money(cents), "gross": money(cents) },
        "profile": { "name": format!("Guest {}", &a.id[a.id.len() - 4..]) },
        "barcodes": [{
            "barcode": a.id,
            "status": match (a.cancelled, a.checked_in) {
                (true, _) => "refunded",
                (false, true) => "used",
                (false, false) => "unused",
            },
        }],
    })
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    json(
        status,
        json!({ "error": code, "error_description": description, "status_code": status.as_u16() }),
    )
}

fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "The object you requested does not exist.",
    )
}

fn argument(name: &str, why: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "ARGUMENTS_ERROR",
        &format!("There are errors with your arguments: {name} - {why}"),
    )
}

/// 429 `HIT_RATE_LIMIT` (no `Retry-After` or usage header is documented).
pub(crate) fn hit_rate_limit() -> Response {
    error(
        StatusCode::TOO_MANY_REQUESTS,
        "HIT_RATE_LIMIT",
        "Hourly rate limit has been reached for this token. Default rate limits are 2,000 calls per hour.",
    )
}

/// 400 `INVALID_AUTH` (Eventbrite's answer to a bad or expired token).
pub(crate) fn unauthorized() -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "INVALID_AUTH",
        "The OAuth token you provided was invalid.",
    )
}
