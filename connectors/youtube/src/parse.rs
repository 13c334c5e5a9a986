//! Pure mapping of YouTube Data API v3 JSON to canonical points, and of Google
//! error bodies to errors a user can act on.
//!
//! No I/O lives here: `lib.rs` fetches, this file decodes and maps. That keeps every
//! platform quirk (counts are strings, a hidden subscriber count is not zero, a
//! video with likes turned off has no like count rather than zero likes) in one
//! place, unit-tested against fixtures without a server.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use tally_model::{ConnectorError, Entity, EntityKind, HttpError, Point};

/// Platform name written on every point.
pub const PLATFORM: &str = "youtube";

/// `channels.list` (only the fields Tally reads).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelListResponse {
    /// Matching channels: absent or empty when the id is unknown or not visible.
    #[serde(default)]
    pub items: Vec<Channel>,
}

/// One channel resource.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Channel {
    /// The `UC…` channel id.
    pub id: String,
    /// Title and other display data (`part=snippet`).
    #[serde(default)]
    pub snippet: Option<Snippet>,
    /// Lifetime counts (`part=statistics`).
    #[serde(default)]
    pub statistics: Option<ChannelStatistics>,
    /// Related playlists (`part=contentDetails`).
    #[serde(default)]
    pub content_details: Option<ChannelContentDetails>,
}

/// The part of a channel or video snippet Tally reads.
#[derive(Debug, Deserialize)]
pub struct Snippet {
    /// Display title.
    #[serde(default)]
    pub title: Option<String>,
}

/// `ChannelStatistics`: every count is a uint64 encoded as a JSON string.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelStatistics {
    /// Lifetime views of all the channel's videos.
    #[serde(default)]
    pub view_count: Option<Value>,
    /// Subscribers (publicly rounded to three significant figures).
    #[serde(default)]
    pub subscriber_count: Option<Value>,
    /// Whether the owner hides the subscriber count; then the count means nothing.
    #[serde(default)]
    pub hidden_subscriber_count: Option<bool>,
    /// Public videos on the channel.
    #[serde(default)]
    pub video_count: Option<Value>,
}

/// `ChannelContentDetails`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelContentDetails {
    /// Playlists YouTube maintains for the channel.
    #[serde(default)]
    pub related_playlists: Option<RelatedPlaylists>,
}

/// `ChannelContentDetails.relatedPlaylists`.
#[derive(Debug, Deserialize)]
pub struct RelatedPlaylists {
    /// The `UU…` playlist of the channel's uploads, newest first.
    #[serde(default)]
    pub uploads: Option<String>,
}

/// `playlistItems.list` (only the fields Tally reads).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlaylistItemListResponse {
    /// This page's entries.
    #[serde(default)]
    pub items: Vec<PlaylistItem>,
    /// Token for the next page; absent on the last one.
    #[serde(default)]
    pub next_page_token: Option<String>,
}

/// One playlist entry.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlaylistItem {
    /// Present when the entry is a video.
    #[serde(default)]
    pub content_details: Option<PlaylistItemContentDetails>,
}

/// `PlaylistItemContentDetails`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlaylistItemContentDetails {
    /// The video the entry points at.
    #[serde(default)]
    pub video_id: Option<String>,
}

impl PlaylistItemListResponse {
    /// The page's video ids, in playlist order (newest upload first).
    pub fn video_ids(&self) -> impl Iterator<Item = &str> {
        self.items
            .iter()
            .filter_map(|item| item.content_details.as_ref()?.video_id.as_deref())
            .filter(|id| !id.is_empty())
    }
}

/// `videos.list` (only the fields Tally reads).
#[derive(Debug, Deserialize)]
pub struct VideoListResponse {
    /// The requested videos that still exist and are visible; others are left out.
    #[serde(default)]
    pub items: Vec<Video>,
}

/// One video resource.
#[derive(Debug, Deserialize)]
pub struct Video {
    /// The video id.
    pub id: String,
    /// Title (`part=snippet`).
    #[serde(default)]
    pub snippet: Option<Snippet>,
    /// Counts (`part=statistics`).
    #[serde(default)]
    pub statistics: Option<VideoStatistics>,
}

/// `VideoStatistics`: uint64 strings; a count the owner turned off is absent.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoStatistics {
    /// Views.
    #[serde(default)]
    pub view_count: Option<Value>,
    /// Likes; absent when the owner hides them.
    #[serde(default)]
    pub like_count: Option<Value>,
    /// Comments; absent when comments are disabled.
    #[serde(default)]
    pub comment_count: Option<Value>,
}

/// What one `channels.list` item says, mapped.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelSummary {
    /// The channel id as YouTube returned it.
    pub id: String,
    /// Display title, when the snippet carries one.
    pub title: Option<String>,
    /// Subscribers, or `None` when the owner hides the count.
    pub subscribers: Option<u64>,
    /// Public videos, when reported.
    pub video_count: Option<u64>,
    /// The uploads playlist (`UU…`), when reported.
    pub uploads_playlist: Option<String>,
    /// The account-level points at the pull's instant.
    pub points: Vec<Point>,
}

/// Maps the first channel of a `channels.list` response; `None` when there is none.
pub fn channel(
    response: &ChannelListResponse,
    now: DateTime<Utc>,
) -> Result<Option<ChannelSummary>, String> {
    let Some(channel) = response.items.first() else {
        return Ok(None);
    };
    let field = |name: &str| format!("statistics.{name} of channel {}", channel.id);
    let Some(stats) = &channel.statistics else {
        return Err(format!(
            "statistics of channel {} is missing although part=statistics was requested",
            channel.id
        ));
    };
    let title = channel
        .snippet
        .as_ref()
        .and_then(|s| s.title.clone())
        .filter(|t| !t.is_empty());
    let entity = Entity::new(EntityKind::Account, channel.id.clone(), title.clone());
    let hidden = stats.hidden_subscriber_count == Some(true);
    // A hidden count is reported as 0 or left out; either way it is not a measurement.
    let subscribers = if hidden {
        None
    } else {
        count(|| field("subscriberCount"), stats.subscriber_count.as_ref())?
    };
    let views = count(|| field("viewCount"), stats.view_count.as_ref())?;
    let video_count = count(|| field("videoCount"), stats.video_count.as_ref())?;
    let points = Point::gauges(
        PLATFORM,
        &entity,
        now,
        [
            ("audience.followers", "subscriberCount", subscribers),
            ("reach.views", "viewCount", views),
            ("content.posts", "videoCount", video_count),
        ],
    );

    let uploads_playlist = channel
        .content_details
        .as_ref()
        .and_then(|c| c.related_playlists.as_ref())
        .and_then(|r| r.uploads.clone())
        .filter(|u| !u.is_empty());
    Ok(Some(ChannelSummary {
        id: channel.id.clone(),
        title,
        subscribers,
        video_count,
        uploads_playlist,
        points,
    }))
}

/// Maps a `videos.list` response to per-video gauges at `now`: views, likes and
/// comments. A count the owner turned off (absent) is skipped, never zero.
pub fn video_points(
    response: &VideoListResponse,
    now: DateTime<Utc>,
) -> Result<Vec<Point>, String> {
    let mut points = Vec::new();
    for video in &response.items {
        let Some(stats) = &video.statistics else {
            continue;
        };
        let title = video
            .snippet
            .as_ref()
            .and_then(|s| s.title.clone())
            .filter(|t| !t.is_empty());
        let entity = Entity::new(EntityKind::Video, video.id.clone(), title);
        let field = |name: &str| format!("statistics.{name} of video {}", video.id);
        let mut values = Vec::new();
        for (metric, raw, value) in [
            ("reach.views", "viewCount", &stats.view_count),
            ("engagement.likes", "likeCount", &stats.like_count),
            ("engagement.comments", "commentCount", &stats.comment_count),
        ] {
            values.push((metric, raw, count(|| field(raw), value.as_ref())?));
        }
        points.extend(Point::gauges(PLATFORM, &entity, now, values));
    }
    Ok(points)
}

/// Reads a uint64 count: documented as a string, accepted as a JSON number too.
/// A field whose value is not what the API documents is an error naming it
/// (`statistics.viewCount of channel UC… is "lots", not a whole number`).
fn count(field: impl Fn() -> String, raw: Option<&Value>) -> Result<Option<u64>, String> {
    let bad = |shown: String| format!("{} is {shown}, not a whole number", field());
    match raw {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => text
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| bad(format!("{text:?}"))),
        Some(Value::Number(number)) => number
            .as_u64()
            .map(Some)
            .ok_or_else(|| bad(number.to_string())),
        Some(other) => Err(bad(other.to_string())),
    }
}

/// Google's error body: `{"error":{"code":403,"message":…,"errors":[{"reason":…}]}}`.
#[derive(Debug, Deserialize)]
struct GoogleErrorBody {
    error: GoogleError,
}

#[derive(Debug, Deserialize)]
struct GoogleError {
    #[serde(default)]
    message: Option<String>,
    /// The newer-style status (`PERMISSION_DENIED`), used when `errors` is empty.
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    errors: Vec<GoogleErrorItem>,
}

#[derive(Debug, Deserialize)]
struct GoogleErrorItem {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// Turns a non-2xx YouTube response into an error that says what happened and
/// what to do, quoting Google's own `message` and `reason`.
///
/// Credential problems (`keyInvalid`, `accessNotConfigured`, `forbidden`, …) become
/// [`HttpError::Unauthorized`] so the host reports them as auth failures; a spent
/// quota stays a [`ConnectorError::Status`] that names the reset; 404s become
/// [`ConnectorError::NotFound`].
pub fn error_for(path: &str, status: u16, body: &[u8]) -> ConnectorError {
    let Ok(GoogleErrorBody { error }) = serde_json::from_slice::<GoogleErrorBody>(body) else {
        return ConnectorError::status(path, status, body);
    };
    let first = error.errors.first();
    let reason = first
        .and_then(|e| e.reason.clone())
        .or(error.status.clone())
        .unwrap_or_else(|| "unknown reason".to_string());
    let message = error
        .message
        .clone()
        .or_else(|| first.and_then(|e| e.message.clone()))
        .map(|m| without_tags(&m))
        .filter(|m| !m.is_empty());
    let said = message
        .as_ref()
        .map(|m| format!("; YouTube said: {m}"))
        .unwrap_or_default();
    let unauthorized = |advice: &str| {
        ConnectorError::Http(HttpError::Unauthorized {
            path: path.to_string(),
            status,
            message: format!("{advice}{said}"),
        })
    };
    let status_error = |text: String| ConnectorError::Status {
        path: path.to_string(),
        status,
        body: text,
    };
    match reason.as_str() {
        "quotaExceeded" | "dailyLimitExceeded" | "dailyLimitExceededUnreg" => status_error(format!(
            "YouTube quota for this API key is spent ({reason}); it resets at midnight Pacific{said}"
        )),
        "rateLimitExceeded" | "userRateLimitExceeded" => status_error(format!(
            "YouTube is limiting this key's request rate ({reason}); the next run will try again{said}"
        )),
        "keyInvalid" | "keyExpired" => unauthorized(&format!(
            "the API key was rejected ({reason}); check [sources.auth] api_key"
        )),
        "accessNotConfigured" | "SERVICE_DISABLED" => unauthorized(&format!(
            "the YouTube Data API v3 is not enabled for this key's Google Cloud project ({reason}); enable it in the Cloud console"
        )),
        "ipRefererBlocked" => unauthorized(&format!(
            "the API key's restrictions refuse requests from this host ({reason}); relax them in the Cloud console"
        )),
        _ if status == 401 || status == 403 => unauthorized(&format!(
            "YouTube refused the request ({reason}); check [sources.auth]"
        )),
        _ if status == 404 => ConnectorError::NotFound(format!("{path} ({reason}){said}")),
        _ => status_error(match &message {
            Some(m) => format!("{m} ({reason})"),
            None => format!("({reason})"),
        }),
    }
}

/// Google wraps words of some messages in links (`your <a href="…">quota</a>`); keep the words.
fn without_tags(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut in_tag = false;
    for c in message.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use tally_model::PointTime;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
    }

    fn channels(text: &str) -> ChannelListResponse {
        serde_json::from_str(text).unwrap()
    }

    fn summary(points: &[Point]) -> Vec<(String, String, String, f64)> {
        points
            .iter()
            .map(|p| {
                (
                    p.metric.to_string(),
                    p.entity.id.to_string(),
                    p.raw_name.to_string(),
                    p.value,
                )
            })
            .collect()
    }

    #[test]
    fn documented_channel_maps_to_three_gauges() {
        let c = channel(&channels(include_str!("../testdata/channels.json")), now())
            .unwrap()
            .unwrap();
        let id = "UC_x5XG1OV2P6uZZ5FSM9Ttw";
        assert_eq!(c.id, id);
        assert_eq!(c.title.as_deref(), Some("Google Developers"));
        assert_eq!(c.subscribers, Some(1_927_873));
        assert_eq!(c.video_count, Some(5026));
        assert_eq!(
            c.uploads_playlist.as_deref(),
            Some("UU_x5XG1OV2P6uZZ5FSM9Ttw")
        );
        assert_eq!(
            summary(&c.points),
            vec![
                (
                    "audience.followers".into(),
                    id.into(),
                    "subscriberCount".into(),
                    1_927_873.0
                ),
                (
                    "reach.views".into(),
                    id.into(),
                    "viewCount".into(),
                    160_361_638.0
                ),
                (
                    "content.posts".into(),
                    id.into(),
                    "videoCount".into(),
                    5026.0
                ),
            ]
        );
        for p in &c.points {
            p.validate().unwrap();
            assert_eq!(p.entity.kind, EntityKind::Account);
            assert_eq!(p.entity.name.as_deref(), Some("Google Developers"));
            assert_eq!(p.time, PointTime::At(now()));
            assert_eq!(p.kind, tally_model::MetricKind::Gauge);
        }
    }

    #[test]
    fn hidden_subscriber_count_is_skipped_not_zero() {
        let c = channel(
            &channels(include_str!("../testdata/channels_hidden.json")),
            now(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.subscribers, None);
        assert!(
            c.points.iter().all(|p| p.metric != "audience.followers"),
            "{:?}",
            c.points
        );
        assert_eq!(c.points.len(), 2);
    }

    #[test]
    fn no_items_means_no_channel() {
        assert_eq!(
            channel(
                &channels(include_str!("../testdata/channels_empty.json")),
                now()
            ),
            Ok(None)
        );
        assert_eq!(channel(&channels("{}"), now()), Ok(None));
    }

    #[test]
    fn a_count_that_is_not_a_number_names_the_field() {
        let text = include_str!("../testdata/channels.json").replace("\"1927873\"", "\"1.93M\"");
        let e = channel(&channels(&text), now()).unwrap_err();
        assert!(
            e.starts_with("statistics.subscriberCount of channel UC_x5XG1OV2P6uZZ5FSM9Ttw "),
            "{e}"
        );
        assert!(
            e.to_string().contains("\"1.93M\", not a whole number"),
            "{e}"
        );
        let text = include_str!("../testdata/channels.json").replace("\"5026\"", "-3");
        let e = channel(&channels(&text), now()).unwrap_err();
        assert!(
            e.to_string().contains("videoCount") && e.to_string().contains("-3"),
            "{e}"
        );
    }

    #[test]
    fn counts_as_json_numbers_are_accepted() {
        let text = include_str!("../testdata/channels.json").replace("\"5026\"", "5026");
        let c = channel(&channels(&text), now()).unwrap().unwrap();
        assert_eq!(c.video_count, Some(5026));
    }

    #[test]
    fn playlist_page_yields_video_ids_and_token() {
        let page: PlaylistItemListResponse =
            serde_json::from_str(include_str!("../testdata/playlist_items.json")).unwrap();
        assert_eq!(
            page.video_ids().collect::<Vec<_>>(),
            vec!["CvTApw9X8aA", "Yh4EKaUY3gg", "S-MbpQiwfls"]
        );
        assert_eq!(page.next_page_token, None);
    }

    #[test]
    fn videos_map_views_likes_comments_and_skip_disabled_counts() {
        let response: VideoListResponse =
            serde_json::from_str(include_str!("../testdata/videos.json")).unwrap();
        let points = video_points(&response, now()).unwrap();
        assert_eq!(
            summary(&points),
            vec![
                (
                    "reach.views".into(),
                    "CvTApw9X8aA".into(),
                    "viewCount".into(),
                    8431.0
                ),
                (
                    "engagement.likes".into(),
                    "CvTApw9X8aA".into(),
                    "likeCount".into(),
                    211.0
                ),
                (
                    "engagement.comments".into(),
                    "CvTApw9X8aA".into(),
                    "commentCount".into(),
                    12.0
                ),
                // Likes hidden by the owner: no likes point.
                (
                    "reach.views".into(),
                    "Yh4EKaUY3gg".into(),
                    "viewCount".into(),
                    1520.0
                ),
                (
                    "engagement.comments".into(),
                    "Yh4EKaUY3gg".into(),
                    "commentCount".into(),
                    3.0
                ),
                // Comments disabled: no comments point.
                (
                    "reach.views".into(),
                    "S-MbpQiwfls".into(),
                    "viewCount".into(),
                    977.0
                ),
                (
                    "engagement.likes".into(),
                    "S-MbpQiwfls".into(),
                    "likeCount".into(),
                    40.0
                ),
            ]
        );
        assert_eq!(points[0].entity.kind, EntityKind::Video);
        assert_eq!(
            points[0].entity.name.as_deref(),
            Some("Welcome from Google Developers - Pittsburgh ML Summit ‘19")
        );
        points.iter().for_each(|p| p.validate().unwrap());
    }

    #[test]
    fn quota_exceeded_says_when_it_resets_and_quotes_google() {
        let e = error_for(
            "/youtube/v3/channels",
            403,
            include_str!("../testdata/error_quota.json").as_bytes(),
        );
        let text = e.to_string();
        assert!(
            matches!(e, ConnectorError::Status { status: 403, .. }),
            "{e:?}"
        );
        assert!(
            text.contains("YouTube quota for this API key is spent (quotaExceeded); it resets at midnight Pacific"),
            "{text}"
        );
        assert!(
            text.ends_with("YouTube said: The request cannot be completed because you have exceeded your quota."),
            "{text}"
        );
        assert!(
            text.starts_with("/youtube/v3/channels answered HTTP 403"),
            "{text}"
        );
    }

    #[test]
    fn invalid_key_is_an_auth_error_pointing_at_the_config() {
        let e = error_for(
            "/youtube/v3/channels",
            400,
            include_str!("../testdata/error_key_invalid.json").as_bytes(),
        );
        let ConnectorError::Http(HttpError::Unauthorized {
            status, message, ..
        }) = &e
        else {
            panic!("{e:?}");
        };
        assert_eq!(*status, 400);
        assert!(
            message.contains("the API key was rejected (keyInvalid); check [sources.auth] api_key"),
            "{message}"
        );
        assert!(message.contains("Bad Request"), "{message}");
    }

    #[test]
    fn other_google_errors_keep_reason_and_message() {
        let body = br#"{"error":{"code":404,"message":"The playlist identified with the request's <code>playlistId</code> parameter cannot be found.","errors":[{"domain":"youtube.playlistItem","reason":"playlistNotFound","message":"x"}]}}"#;
        let e = error_for("/youtube/v3/playlistItems", 404, body);
        assert!(
            matches!(&e, ConnectorError::NotFound(m) if m.contains("playlistNotFound")),
            "{e:?}"
        );
        let body = br#"{"error":{"code":400,"message":"Invalid value","errors":[{"reason":"invalidParameter"}]}}"#;
        let e = error_for("/youtube/v3/videos", 400, body).to_string();
        assert!(
            e.contains("answered HTTP 400: Invalid value (invalidParameter)"),
            "{e}"
        );
        let e = error_for("/youtube/v3/videos", 502, b"<html>Bad gateway</html>").to_string();
        assert!(e.contains("502") && e.contains("<html>Bad gateway"), "{e}");
    }
}
