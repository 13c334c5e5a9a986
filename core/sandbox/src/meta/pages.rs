//! Facebook Pages: the Page object, its daily insights and its posts with
//! summaries and post insights expanded.

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Duration, DurationRound};
use serde_json::{json, Value};

use super::{error, graph_time, invalid_metric, metrics, page as paged, unix, Call};
use crate::hash::range;
use crate::web::json;

/// Daily Page metrics still served on v27.0.
const PAGE_METRICS: [&str; 9] = [
    "page_media_view",
    "page_total_media_view_unique",
    "page_post_engagements",
    "page_follows",
    "page_daily_follows",
    "page_daily_follows_unique",
    "page_daily_unfollows_unique",
    "page_views_total",
    "page_video_views",
];

/// Lifetime post metrics still served on v27.0.
const POST_METRICS: [&str; 4] = [
    "post_media_view",
    "post_total_media_view_unique",
    "post_clicks",
    "post_reactions_by_type_total",
];

/// Posts every simulated Page has.
const POSTS: u64 = 30;

/// Followers of a Page: a base from its id plus growth per day.
pub(crate) fn followers(call: &Call<'_>, id: &str) -> u64 {
    let day = call.now.timestamp().div_euclid(86_400) as u64;
    range(call.hash(&["page", id]), 800, 5_000) + day % 365 * 3
}

/// `GET /{page-id}`.
pub(crate) fn page(call: &Call<'_>, id: &str) -> Response {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return super::not_found(&format!(
            "Unsupported get request. Object with ID '{id}' does not exist"
        ));
    }
    json(
        StatusCode::OK,
        json!({
            "id": id,
            "name": format!("Sandbox Page {}", &id[id.len().saturating_sub(4)..]),
            "followers_count": followers(call, id),
            "fan_count": followers(call, id) * 9 / 10,
            "instagram_business_account": {"id": format!("1784{id}")},
        }),
    )
}

/// `GET /{page-id}/insights?metric=…&period=day&since=…&until=…`.
pub(crate) fn insights(call: &Call<'_>, id: &str) -> Response {
    let asked = metrics(&call.params);
    if let Some(refused) = invalid_metric(&asked, &PAGE_METRICS) {
        return refused;
    }
    let until = unix(&call.params, "until").unwrap_or(call.now);
    let since = unix(&call.params, "since").unwrap_or(until - Duration::days(2));
    // Day ends at 07:00 UTC (midnight Pacific, daylight time), as Meta reports.
    let day = Duration::days(1);
    let mut end = since
        .duration_trunc(day)
        .map_or(since, |d| d + Duration::hours(7));
    if end <= since {
        end += day;
    }
    let mut ends = Vec::new();
    while end <= until {
        ends.push(end);
        end += day;
    }
    let data: Vec<Value> = asked
        .iter()
        .map(|metric| {
            let values: Vec<Value> = ends
                .iter()
                .map(|end| {
                    let h = call.hash(&[id, metric, &end.timestamp().to_string()]);
                    let value = match *metric {
                        "page_daily_unfollows_unique" => range(h, 0, 3),
                        "page_daily_follows_unique" | "page_daily_follows" => range(h, 1, 9),
                        "page_views_total" => range(h, 20, 120),
                        "page_post_engagements" => range(h, 40, 400),
                        "page_total_media_view_unique" => range(h, 300, 2_000),
                        _ => range(h, 600, 4_000),
                    };
                    json!({"value": value, "end_time": graph_time(*end)})
                })
                .collect();
            json!({
                "name": metric,
                "period": "day",
                "values": values,
                "title": metric,
                "id": format!("{id}/insights/{metric}/day"),
            })
        })
        .collect();
    json(StatusCode::OK, json!({ "data": data }))
}

/// `GET /{page-id}/posts?fields=…&limit=…`: newest first, 30 posts.
pub(crate) fn posts(call: &Call<'_>, id: &str) -> Response {
    let fields = call.params.get("fields").unwrap_or_default();
    if let Some(start) = fields.find("insights.metric(") {
        let inner = &fields[start + "insights.metric(".len()..];
        let asked: Vec<&str> = inner
            .split(')')
            .next()
            .unwrap_or_default()
            .split(',')
            .collect();
        if let Some(refused) = invalid_metric(&asked, &POST_METRICS) {
            return refused;
        }
    }
    if !id.bytes().all(|b| b.is_ascii_digit()) {
        return error(400, 100, Some(33), "Unsupported get request.");
    }
    let items = (0..POSTS)
        .map(|n| {
            let post = format!("{id}_{n}");
            let h = |what: &str| call.hash(&[&post, what]);
            let age = Duration::days(i64::try_from(n).unwrap_or(0) * 3 + 1);
            let reactions = range(h("reactions"), 5, 200);
            json!({
                "id": post,
                "message": format!("Sandbox post {n}: fresh bread and pastries, baked this morning"),
                "created_time": graph_time(call.now - age),
                "shares": {"count": range(h("shares"), 0, 30)},
                "reactions": {"data": [], "summary": {"total_count": reactions}},
                "comments": {"data": [], "summary": {"total_count": range(h("comments"), 0, 40)}},
                "insights": {"data": [
                    {"name": "post_media_view", "period": "lifetime", "values": [{"value": range(h("views"), 200, 3_000)}]},
                    {"name": "post_total_media_view_unique", "period": "lifetime", "values": [{"value": range(h("reach"), 150, 2_000)}]},
                    {"name": "post_clicks", "period": "lifetime", "values": [{"value": range(h("clicks"), 0, 80)}]},
                    {"name": "post_reactions_by_type_total", "period": "lifetime", "values": [{"value": {"like": reactions * 3 / 4, "love": reactions - reactions * 3 / 4}}]}
                ]}
            })
        })
        .collect();
    paged(items, &call.params, 25)
}
