//! Pure mapping of Instagram user, media and insights JSON to canonical points: no I/O.

use crate::graph::insights::MetricMap;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tally_model::point::short_name;
use tally_model::{Entity, EntityKind, Point};

/// Platform name written on every point.
pub const PLATFORM: &str = "instagram";

/// Characters of a caption kept as a media item's display name.
pub const NAME_CHARS: usize = 60;

/// Accounts below this many followers get no `follower_count` or demographics.
pub const MIN_FOLLOWERS_FOR_AUDIENCE_INSIGHTS: i64 = 100;

/// Account insights asked per day with `metric_type=total_value`. Never
/// `impressions` or `plays`, removed on every version on 21 Apr 2025.
pub const ACCOUNT_METRICS: [MetricMap; 5] = [
    MetricMap::plain("reach", "reach.reach"),
    MetricMap::plain("views", "reach.views"),
    MetricMap::plain("profile_views", "reach.profile_views"),
    MetricMap::plain("accounts_engaged", "audience.engaged"),
    MetricMap::plain("total_interactions", "engagement.interactions"),
];

/// Account insights asked per day with `breakdown=media_product_type,follow_type`.
pub const BREAKDOWN_METRICS: [MetricMap; 1] = [MetricMap::plain("reach", "reach.reach")];

/// The breakdowns asked for with [`BREAKDOWN_METRICS`].
pub const BREAKDOWNS: &str = "media_product_type,follow_type";

/// New followers per day (`period=day` series), for accounts with 100 followers or more.
pub const FOLLOWER_COUNT: [MetricMap; 1] = [MetricMap::plain("follower_count", "audience.follows")];

/// Followers by country, age and gender (`period=lifetime`, one breakdown each).
pub const DEMOGRAPHICS: [MetricMap; 1] = [MetricMap::plain(
    "follower_demographics",
    "audience.followers",
)];

/// The demographic breakdowns, one request each.
pub const DEMOGRAPHIC_BREAKDOWNS: [&str; 3] = ["country", "age", "gender"];

/// Lifetime insights of one media item.
pub const MEDIA_METRICS: [MetricMap; 5] = [
    MetricMap::plain("views", "reach.views"),
    MetricMap::plain("reach", "reach.reach"),
    MetricMap::plain("saved", "engagement.saves"),
    MetricMap::plain("shares", "engagement.shares"),
    MetricMap::plain("total_interactions", "engagement.interactions"),
];

/// `GET /{page-id}?fields=instagram_business_account`.
#[derive(Debug, Deserialize)]
pub struct LinkedPage {
    /// The Instagram professional account linked to the Page, if any.
    #[serde(default)]
    pub instagram_business_account: Option<IdOnly>,
}

/// `{"id": "…"}`.
#[derive(Debug, Deserialize)]
pub struct IdOnly {
    /// The id.
    pub id: String,
}

/// `GET /{ig-user-id}?fields=id,username,name,followers_count,follows_count,media_count`.
#[derive(Debug, Deserialize)]
pub struct User {
    /// IG user id.
    pub id: String,
    /// `@username`.
    #[serde(default)]
    pub username: Option<String>,
    /// Followers.
    #[serde(default)]
    pub followers_count: Option<i64>,
    /// Accounts followed.
    #[serde(default)]
    pub follows_count: Option<i64>,
    /// Media published.
    #[serde(default)]
    pub media_count: Option<i64>,
}

/// One item of `GET /{ig-user-id}/media`.
#[derive(Debug, Deserialize)]
pub struct Media {
    /// IG media id.
    pub id: String,
    /// Caption, if any.
    #[serde(default)]
    pub caption: Option<String>,
    /// Likes (absent when the owner hides them).
    #[serde(default)]
    pub like_count: Option<i64>,
    /// Comments.
    #[serde(default)]
    pub comments_count: Option<i64>,
    /// `FEED`, `REELS`, `STORY`.
    #[serde(default)]
    pub media_product_type: Option<String>,
}

impl User {
    /// The account as an entity, named by its `@username`.
    pub fn entity(&self) -> Entity {
        let name = self.username.as_ref().map(|u| format!("@{u}"));
        Entity::new(EntityKind::Account, self.id.as_str(), name)
    }

    /// Followers, following and media count at `now`.
    pub fn points(&self, now: DateTime<Utc>) -> Vec<Point> {
        Point::gauges(
            PLATFORM,
            &self.entity(),
            now,
            [
                (
                    "audience.followers",
                    "followers_count",
                    self.followers_count,
                ),
                ("audience.following", "follows_count", self.follows_count),
                ("content.posts", "media_count", self.media_count),
            ],
        )
    }

    /// Whether Meta serves `follower_count` and demographics for the account.
    pub fn has_audience_insights(&self) -> bool {
        self.followers_count
            .is_some_and(|n| n >= MIN_FOLLOWERS_FOR_AUDIENCE_INSIGHTS)
    }
}

impl Media {
    /// The media item as a post entity, named by its caption.
    pub fn entity(&self) -> Entity {
        let name = self
            .caption
            .as_deref()
            .and_then(|c| short_name(c, NAME_CHARS));
        Entity::new(EntityKind::Post, self.id.as_str(), name)
    }

    /// Likes and comments at `now`.
    pub fn points(&self, now: DateTime<Utc>) -> Vec<Point> {
        Point::gauges(
            PLATFORM,
            &self.entity(),
            now,
            [
                ("engagement.likes", "like_count", self.like_count),
                ("engagement.comments", "comments_count", self.comments_count),
            ],
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_documented_user_sample_maps_to_gauges() {
        // sns-sdks/python-facebook testdata/instagram/apidata/users/user_fields.json, trimmed
        let user: User = serde_json::from_str(
            r#"{"id":"17841407673135339","name":"Facebook for Developers","username":"facebookfordevelopers","followers_count":64363,"media_count":427}"#,
        )
        .unwrap();
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let points = user.points(now);
        let got: Vec<_> = points
            .iter()
            .map(|p| (p.metric.as_str(), p.value))
            .collect();
        assert_eq!(
            got,
            [("audience.followers", 64363.0), ("content.posts", 427.0)]
        );
        assert_eq!(
            points[0].entity.name.as_deref(),
            Some("@facebookfordevelopers")
        );
        assert!(user.has_audience_insights());
    }

    #[test]
    fn removed_metrics_are_never_asked_for() {
        for m in ACCOUNT_METRICS.iter().chain(&MEDIA_METRICS) {
            assert!(
                !["impressions", "plays", "clips_replays_count", "video_views"].contains(&m.raw),
                "{} was removed by Meta",
                m.raw
            );
        }
    }
}
