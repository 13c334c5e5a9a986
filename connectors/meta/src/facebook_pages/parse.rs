//! Pure mapping of Page and post JSON to canonical points: no I/O.

use crate::graph::insights::{number, MetricMap};
use crate::graph::InsightsEnvelope;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use tally_model::point::short_name;
use tally_model::{Entity, EntityKind, Point};

/// Platform name written on every point.
pub const PLATFORM: &str = "facebook";

/// Characters of a post's message kept as its display name.
pub const NAME_CHARS: usize = 60;

/// Daily Page insights asked for, and what they map to. Only metrics Meta
/// still serves on v27.0: never `page_impressions*`, `page_fans*` or the
/// "unique" reach metrics removed in 2025 and 2026.
pub const PAGE_METRICS: [MetricMap; 6] = [
    MetricMap::plain("page_media_view", "reach.views"),
    MetricMap::plain("page_total_media_view_unique", "reach.reach"),
    MetricMap::plain("page_post_engagements", "engagement.interactions"),
    MetricMap::plain("page_daily_follows_unique", "audience.follows"),
    MetricMap::plain("page_daily_unfollows_unique", "audience.unfollows"),
    MetricMap::plain("page_views_total", "reach.profile_views"),
];

/// Lifetime post insights asked for with each page of posts.
pub const POST_METRICS: [MetricMap; 4] = [
    MetricMap::plain("post_media_view", "reach.views"),
    MetricMap::plain("post_total_media_view_unique", "reach.reach"),
    MetricMap::plain("post_clicks", "traffic.clicks"),
    MetricMap::keyed(
        "post_reactions_by_type_total",
        "engagement.reactions",
        "reaction",
    ),
];

/// `GET /{page-id}?fields=id,name,followers_count,fan_count`.
#[derive(Debug, Deserialize)]
pub struct Page {
    /// Page id.
    pub id: String,
    /// Page name.
    #[serde(default)]
    pub name: Option<String>,
    /// Followers.
    #[serde(default)]
    pub followers_count: Option<i64>,
    /// Likes, on Pages that still have them (classic Pages).
    #[serde(default)]
    pub fan_count: Option<i64>,
}

/// One post of `GET /{page-id}/posts` with summaries and insights expanded.
#[derive(Debug, Deserialize)]
pub struct Post {
    /// `{page-id}_{post-id}`.
    pub id: String,
    /// The text, if any.
    #[serde(default)]
    pub message: Option<String>,
    /// When it was posted.
    #[serde(default)]
    pub created_time: Option<String>,
    /// `{"count": n}`; Meta leaves it out when nobody shared.
    #[serde(default)]
    pub shares: Option<Count>,
    /// `reactions.summary(total_count).limit(0)`.
    #[serde(default)]
    pub reactions: Option<Summarised>,
    /// `comments.summary(total_count).limit(0)`.
    #[serde(default)]
    pub comments: Option<Summarised>,
    /// `insights.metric(…)`.
    #[serde(default)]
    pub insights: Option<InsightsEnvelope>,
}

/// `{"count": n}`.
#[derive(Debug, Deserialize)]
pub struct Count {
    /// The count.
    #[serde(default)]
    pub count: Value,
}

/// An edge asked for with `.summary(total_count).limit(0)`.
#[derive(Debug, Deserialize)]
pub struct Summarised {
    /// The summary.
    #[serde(default)]
    pub summary: Option<Summary>,
}

/// `summary` of an edge.
#[derive(Debug, Deserialize)]
pub struct Summary {
    /// Items on the edge.
    #[serde(default)]
    pub total_count: Value,
}

impl Page {
    /// The Page as an entity.
    pub fn entity(&self) -> Entity {
        Entity::new(EntityKind::Account, self.id.as_str(), self.name.clone())
    }

    /// Followers (and likes, as a `audience = page_likes` slice) at `now`.
    pub fn points(&self, now: DateTime<Utc>) -> Vec<Point> {
        let entity = self.entity();
        let mut points = Point::gauges(
            PLATFORM,
            &entity,
            now,
            [(
                "audience.followers",
                "followers_count",
                self.followers_count,
            )],
        );
        points.extend(
            Point::gauges(
                PLATFORM,
                &entity,
                now,
                [("audience.followers", "fan_count", self.fan_count)],
            )
            .into_iter()
            .map(|p| p.with_dimension("audience", "page_likes")),
        );
        points
    }
}

impl Post {
    /// The post's reactions, comments, shares and lifetime insights at `now`.
    pub fn points(&self, now: DateTime<Utc>) -> Vec<Point> {
        let name = self
            .message
            .as_deref()
            .and_then(|m| short_name(m, NAME_CHARS));
        let entity = Entity::new(EntityKind::Post, self.id.as_str(), name);
        let total = |edge: &Option<Summarised>| {
            edge.as_ref()
                .and_then(|e| e.summary.as_ref())
                .and_then(|s| number(&s.total_count))
        };
        let mut points = Point::gauges(
            PLATFORM,
            &entity,
            now,
            [
                ("engagement.reactions", "reactions", total(&self.reactions)),
                ("engagement.comments", "comments", total(&self.comments)),
                (
                    "engagement.shares",
                    "shares",
                    self.shares.as_ref().and_then(|s| number(&s.count)),
                ),
            ],
        );
        if let Some(insights) = &self.insights {
            points.extend(insights.lifetime(PLATFORM, &entity, &POST_METRICS, now));
        }
        points
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_documented_page_sample_maps_likes_as_a_slice() {
        // sns-sdks/python-facebook testdata/facebook/apidata/pages/single_fields_page.json
        let page: Page = serde_json::from_str(
            r#"{"id": "20531316728", "name": "Facebook", "username": "facebookapp", "fan_count": 214507731}"#,
        )
        .unwrap();
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let points = page.points(now);
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].raw_name, "fan_count");
        assert_eq!(points[0].dimensions["audience"], "page_likes");
    }

    #[test]
    fn no_removed_metric_is_ever_asked_for() {
        let removed = [
            "page_impressions",
            "page_fans",
            "post_impressions",
            "page_posts_impressions",
        ];
        for m in PAGE_METRICS.iter().chain(&POST_METRICS) {
            assert!(
                !removed.iter().any(|r| m.raw.starts_with(r))
                    && !m.raw.contains("impressions_unique"),
                "{} was removed by Meta",
                m.raw
            );
        }
    }
}
