//! Instagram professional accounts: the user, its insights (daily series,
//! `total_value` totals with breakdowns, demographics) and its media.

use axum::http::StatusCode;
use axum::response::Response;
use chrono::Duration;
use serde_json::{json, Value};

use super::{error, graph_time, invalid_metric, metrics, page as paged, unix, Call};
use crate::hash::range;
use crate::web::json;

/// Account metrics still served (never `impressions` or `plays`).
const USER_METRICS: [&str; 9] = [
    "reach",
    "views",
    "profile_views",
    "accounts_engaged",
    "total_interactions",
    "follower_count",
    "follower_demographics",
    "likes",
    "comments",
];

/// Media metrics still served.
const MEDIA_METRICS: [&str; 7] = [
    "views",
    "reach",
    "saved",
    "shares",
    "total_interactions",
    "likes",
    "comments",
];

/// Media every simulated account has.
const MEDIA: u64 = 30;

/// `GET /{ig-user-id}`: the account linked to Page `page`.
pub(crate) fn user(call: &Call<'_>, id: &str, page: &str) -> Response {
    json(
        StatusCode::OK,
        json!({
            "id": id,
            "username": format!("sandbox_{}", &page[page.len().saturating_sub(4)..]),
            "name": "Sandbox Instagram",
            "followers_count": super::pages::followers(call, page) * 2,
            "follows_count": range(call.hash(&[id, "follows"]), 50, 400),
            "media_count": MEDIA,
        }),
    )
}

/// `GET /{ig-user-id}/insights`.
pub(crate) fn insights(call: &Call<'_>, id: &str) -> Response {
    let asked = metrics(&call.params);
    if let Some(refused) = invalid_metric(&asked, &USER_METRICS) {
        return refused;
    }
    let p = &call.params;
    let until = unix(p, "until").unwrap_or(call.now);
    let since = unix(p, "since").unwrap_or(until - Duration::days(1));
    let breakdown = p.get("breakdown");
    let span = since.timestamp().to_string();
    let data: Vec<Value> = asked
        .iter()
        .map(|metric| {
            let h = |what: &str| call.hash(&[id, metric, &span, what]);
            let total = range(h("total"), 100, 3_000);
            if *metric == "follower_count" {
                let days = (until - since).num_days().max(0);
                let values: Vec<Value> = (1..=days)
                    .map(|d| {
                        let end = since + Duration::days(d);
                        let v = range(call.hash(&[id, metric, &end.timestamp().to_string()]), 0, 12);
                        json!({"value": v, "end_time": graph_time(end)})
                    })
                    .collect();
                return json!({"name": metric, "period": "day", "values": values, "id": format!("{id}/insights/{metric}/day")});
            }
            let breakdowns = match (breakdown, *metric) {
                (Some(b), "follower_demographics") => {
                    let values: &[&str] = match b {
                        "age" => &["18-24", "25-34", "35-44", "45-54"],
                        "gender" => &["F", "M", "U"],
                        _ => &["US", "CA", "MX"],
                    };
                    vec![json!({"dimension_keys": [b], "results": values.iter().map(|v| json!({"dimension_values": [v], "value": range(h(v), 10, 900)})).collect::<Vec<_>>()})]
                }
                (Some(b), _) => {
                    let keys: Vec<&str> = b.split(',').collect();
                    let combos: Vec<Vec<&str>> = match keys.len() {
                        2 => vec![vec!["POST", "FOLLOWER"], vec!["POST", "NON_FOLLOWER"], vec!["REEL", "FOLLOWER"], vec!["REEL", "NON_FOLLOWER"]],
                        _ => vec![vec!["POST"], vec!["REEL"], vec!["STORY"]],
                    };
                    vec![json!({"dimension_keys": keys, "results": combos.iter().map(|c| json!({"dimension_values": c, "value": range(h(&c.join("/")), 10, 900)})).collect::<Vec<_>>()})]
                }
                (None, _) => Vec::new(),
            };
            let period = if *metric == "follower_demographics" { "lifetime" } else { "day" };
            json!({
                "name": metric,
                "period": period,
                "total_value": {"value": total, "breakdowns": breakdowns},
                "id": format!("{id}/insights/{metric}/{period}"),
            })
        })
        .collect();
    json(StatusCode::OK, json!({ "data": data }))
}

/// The id of media item `n` of account `id`.
fn media_id(id: &str, n: u64) -> String {
    format!("1790{}{n:02}", &id[id.len().saturating_sub(6)..])
}

/// `GET /{ig-user-id}/media`: newest first.
pub(crate) fn media(call: &Call<'_>, id: &str) -> Response {
    let items = (0..MEDIA)
        .map(|n| {
            let media = media_id(id, n);
            let h = |what: &str| call.hash(&[&media, what]);
            json!({
                "id": media,
                "caption": format!("Sandbox media {n}: the sourdough of the day"),
                "timestamp": graph_time(call.now - Duration::days(i64::try_from(n).unwrap_or(0) * 2)),
                "media_type": if n % 3 == 0 { "VIDEO" } else { "IMAGE" },
                "media_product_type": if n % 3 == 0 { "REELS" } else { "FEED" },
                "like_count": range(h("likes"), 10, 500),
                "comments_count": range(h("comments"), 0, 60),
                "permalink": format!("https://www.instagram.com/p/{media}/"),
            })
        })
        .collect();
    paged(items, &call.params, 25)
}

/// `GET /{ig-media-id}/insights`: the newest item (`…00`) is too new for
/// insights and answers Meta's error 10.
pub(crate) fn media_insights(call: &Call<'_>, id: &str) -> Response {
    let asked = metrics(&call.params);
    if let Some(refused) = invalid_metric(&asked, &MEDIA_METRICS) {
        return refused;
    }
    if id.ends_with("00") {
        return error(
            400,
            10,
            None,
            "(#10) Not enough viewers for the media to show insights",
        );
    }
    let data: Vec<Value> = asked
        .iter()
        .map(|metric| {
            json!({
                "name": metric,
                "period": "lifetime",
                "values": [{"value": range(call.hash(&[id, metric]), 5, 900)}],
                "id": format!("{id}/insights/{metric}/lifetime"),
            })
        })
        .collect();
    json(StatusCode::OK, json!({ "data": data }))
}
