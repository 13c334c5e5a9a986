//! Bluesky XRPC JSON → canonical points. Pure: no I/O, so every mapping rule is
//! tested from lexicon-shaped fixtures.
//!
//! Shapes follow the lexicons in `shared/specs/bluesky/lexicons/app/bsky`:
//! `app.bsky.actor.defs#profileViewDetailed` and
//! `app.bsky.feed.defs#{feedViewPost,postView}`. Every count is optional in the
//! lexicon; an absent count produces no point (absent is not zero).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tally_model::{ConnectorError, Entity, EntityKind, Point, PointTime, SmolStr};

/// Platform name written on every point.
pub const PLATFORM: &str = "bluesky";

/// `app.bsky.actor.getProfile` output (`profileViewDetailed`), the fields used.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// The account's DID, its stable id.
    pub did: String,
    /// Current handle.
    pub handle: String,
    /// Display name, often empty.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `followersCount`.
    #[serde(default)]
    pub followers_count: Option<u64>,
    /// `followsCount`.
    #[serde(default)]
    pub follows_count: Option<u64>,
    /// `postsCount`.
    #[serde(default)]
    pub posts_count: Option<u64>,
}

/// `app.bsky.feed.getAuthorFeed` output.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AuthorFeed {
    /// Opaque cursor of the next page; absent at the end.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Entries, newest first.
    pub feed: Vec<FeedViewPost>,
}

/// One feed entry (`feedViewPost`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FeedViewPost {
    /// The post shown.
    pub post: PostView,
    /// Why it is in the feed when it is not simply the author's post:
    /// `#reasonRepost` (someone else's post, reposted) or `#reasonPin`.
    /// Only its presence matters, so its content is skipped unread.
    #[serde(default)]
    pub reason: Option<serde::de::IgnoredAny>,
}

/// `postView`, the fields used.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostView {
    /// `at://did/app.bsky.feed.post/rkey`: the post's stable id, decoded
    /// straight into the entity id its points share.
    pub uri: SmolStr,
    /// The author (`profileViewBasic`).
    pub author: Author,
    /// The post record; its `text` names the post in reports.
    #[serde(default)]
    pub record: PostRecord,
    /// `likeCount`.
    #[serde(default)]
    pub like_count: Option<u64>,
    /// `repostCount`.
    #[serde(default)]
    pub repost_count: Option<u64>,
    /// `quoteCount`.
    #[serde(default)]
    pub quote_count: Option<u64>,
    /// `replyCount`.
    #[serde(default)]
    pub reply_count: Option<u64>,
}

/// The post record (`app.bsky.feed.post`), the one field used: the rest
/// (facets, embeds, langs) is skipped without building it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PostRecord {
    /// The post's text.
    #[serde(default)]
    pub text: Option<String>,
}

/// The author of a post.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Author {
    /// The author's DID.
    pub did: String,
}

impl FeedViewPost {
    /// Whether this entry is the account's own post, shown for itself: entries with
    /// a `reason` (reposts of other people's posts, a pinned post repeated at the
    /// top) and posts by other authors are not.
    pub fn is_own_post(&self, did: &str) -> bool {
        self.reason.is_none() && self.post.author.did == did
    }
}

/// Account points: followers, follows and posts, as gauges at `now`.
pub fn profile_points(profile: &Profile, now: DateTime<Utc>) -> Vec<Point> {
    let name = profile
        .display_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(&profile.handle)
        .to_string();
    let entity = Entity::new(EntityKind::Account, profile.did.clone(), Some(name));
    [
        (
            "audience.followers",
            "followersCount",
            profile.followers_count,
        ),
        ("audience.following", "followsCount", profile.follows_count),
        ("content.posts", "postsCount", profile.posts_count),
    ]
    .into_iter()
    .filter_map(|(metric, raw, value)| {
        value.map(|v| {
            Point::new(
                PLATFORM,
                metric,
                raw,
                entity.clone(),
                v as f64,
                PointTime::At(now),
            )
        })
    })
    .collect()
}

/// Per-post points: likes, reposts (`engagement.shares`), quotes
/// (`engagement.shares` with `type=quote`) and replies (`engagement.comments`),
/// as gauges at `now`. Built on the stack and handed over one by one: a feed
/// of 10,000 posts made a vector for each.
pub fn post_points(post: &PostView, now: DateTime<Utc>) -> impl Iterator<Item = Point> {
    let entity = Entity {
        kind: EntityKind::Post,
        id: post.uri.clone(),
        name: post_title(&post.record),
    };
    let point = |metric: &str, raw: &str, value: u64| {
        Point::new(
            PLATFORM,
            metric,
            raw,
            entity.clone(),
            value as f64,
            PointTime::At(now),
        )
    };
    [
        post.like_count
            .map(|v| point("engagement.likes", "likeCount", v)),
        post.repost_count
            .map(|v| point("engagement.shares", "repostCount", v)),
        post.quote_count
            .map(|v| point("engagement.shares", "quoteCount", v).with_dimension("type", "quote")),
        post.reply_count
            .map(|v| point("engagement.comments", "replyCount", v)),
    ]
    .into_iter()
    .flatten()
}

/// The first line of a post's text, at most 80 characters, for reports.
/// Made where it is kept: a title of up to 23 bytes needs no allocation.
pub fn post_title(record: &PostRecord) -> Option<SmolStr> {
    let text = record.text.as_deref()?;
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    // Cut by slicing at the 81st character rather than collecting 80.
    Some(match line.char_indices().nth(80) {
        Some((cut, _)) => SmolStr::from(format!("{}…", &line[..cut])),
        None => SmolStr::new(line),
    })
}

/// The XRPC error body: `{"error": "InvalidRequest", "message": "Profile not found"}`.
#[derive(Debug, Clone, Default, Deserialize)]
struct XrpcError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    message: String,
}

/// Turns a non-success XRPC response into an error that says what to do.
pub fn error_for(path: &str, status: u16, body: &[u8], actor: &str) -> ConnectorError {
    let xrpc: XrpcError = serde_json::from_slice(body).unwrap_or_default();
    let not_found = xrpc.error == "ActorNotFound"
        || (xrpc.error == "InvalidRequest"
            && xrpc.message.to_ascii_lowercase().contains("not found"));
    match xrpc.error.as_str() {
        _ if not_found => ConnectorError::NotFound(format!(
            "Bluesky account `{actor}` does not exist or is deactivated ({}); check `actor` in the source's settings",
            xrpc.message
        )),
        "BlockedActor" | "BlockedByActor" => ConnectorError::Other(format!(
            "{path}: Bluesky refuses to show `{actor}`'s posts ({}: {}); a block between the accounts prevents it",
            xrpc.error, xrpc.message
        )),
        _ => ConnectorError::Status {
            path: path.to_string(),
            status,
            body: tally_model::error::snippet(body),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;

    const PROFILE: &str = include_str!("../testdata/profile.json");
    const FEED: &str = include_str!("../testdata/author_feed.json");

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
    }

    fn rows(points: &[Point]) -> Vec<(String, String, f64, String, Option<String>)> {
        points
            .iter()
            .map(|p| {
                (
                    p.metric.to_string(),
                    p.entity.id.to_string(),
                    p.value,
                    p.raw_name.to_string(),
                    p.dimensions.get("type").cloned(),
                )
            })
            .collect()
    }

    #[test]
    fn profile_counts_map_to_audience_and_content() {
        let profile: Profile = serde_json::from_str(PROFILE).unwrap();
        let points = profile_points(&profile, now());
        assert_eq!(
            rows(&points),
            vec![
                (
                    "audience.followers".into(),
                    "user(0)".into(),
                    2.0,
                    "followersCount".into(),
                    None
                ),
                (
                    "audience.following".into(),
                    "user(0)".into(),
                    3.0,
                    "followsCount".into(),
                    None
                ),
                (
                    "content.posts".into(),
                    "user(0)".into(),
                    4.0,
                    "postsCount".into(),
                    None
                ),
            ]
        );
        assert_eq!(points[0].entity.name.as_deref(), Some("ali"));
        for p in &points {
            p.validate().unwrap();
            assert_eq!(p.time, PointTime::At(now()));
        }
    }

    #[test]
    fn own_posts_map_to_engagement_and_reposts_are_skipped() {
        let feed: AuthorFeed = serde_json::from_str(FEED).unwrap();
        let did = "did:plc:alice";
        let own: Vec<&FeedViewPost> = feed.feed.iter().filter(|e| e.is_own_post(did)).collect();
        assert_eq!(own.len(), 2, "the repost of bob's post is not alice's");
        let points: Vec<Point> = own
            .iter()
            .flat_map(|e| post_points(&e.post, now()))
            .collect();
        let first = "at://did:plc:alice/app.bsky.feed.post/3k2";
        let second = "at://did:plc:alice/app.bsky.feed.post/3k1";
        assert_eq!(
            rows(&points),
            vec![
                (
                    "engagement.likes".into(),
                    first.into(),
                    12.0,
                    "likeCount".into(),
                    None
                ),
                (
                    "engagement.shares".into(),
                    first.into(),
                    3.0,
                    "repostCount".into(),
                    None
                ),
                (
                    "engagement.shares".into(),
                    first.into(),
                    1.0,
                    "quoteCount".into(),
                    Some("quote".into())
                ),
                (
                    "engagement.comments".into(),
                    first.into(),
                    4.0,
                    "replyCount".into(),
                    None
                ),
                // The second post's counts are absent except likes: absent is not zero.
                (
                    "engagement.likes".into(),
                    second.into(),
                    0.0,
                    "likeCount".into(),
                    None
                ),
            ]
        );
        assert_eq!(
            points[0].entity.name.as_deref(),
            Some("Fresh sourdough is out of the oven")
        );
        assert_eq!(points[0].entity.kind, EntityKind::Post);
        for p in &points {
            p.validate().unwrap();
        }
        assert_eq!(feed.cursor.as_deref(), Some("1717243200000::bafyreib"));
    }

    #[test]
    fn titles_are_first_lines_cut_at_80_characters() {
        let long = "x".repeat(100);
        let record = |text: Option<String>| PostRecord { text };
        let title = post_title(&record(Some(format!("\n{long}\nsecond")))).unwrap();
        assert_eq!(title.chars().count(), 81);
        assert!(title.ends_with('…'));
        assert_eq!(post_title(&record(Some(String::new()))), None);
        assert_eq!(post_title(&record(None)), None);
    }

    #[test]
    fn xrpc_errors_say_what_to_do() {
        let e = error_for(
            "/xrpc/app.bsky.actor.getProfile",
            400,
            br#"{"error":"InvalidRequest","message":"Profile not found"}"#,
            "missing.test",
        );
        assert!(matches!(e, ConnectorError::NotFound(_)), "{e}");
        assert!(e.to_string().contains("missing.test") && e.to_string().contains("check `actor`"));
        let e = error_for(
            "/f",
            400,
            br#"{"error":"BlockedByActor","message":"blocked"}"#,
            "a.test",
        );
        assert!(e.to_string().contains("block"), "{e}");
        let e = error_for("/f", 502, b"<html>bad gateway</html>", "a.test");
        assert!(
            matches!(e, ConnectorError::Status { status: 502, .. }),
            "{e}"
        );
    }
}
