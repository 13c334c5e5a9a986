//! Simulated YouTube channels and their uploads.

use chrono::{DateTime, Utc};

use super::{
    at, decode, display_name, encode, saturating, topic, Account, Day, Schedule, BASE64URL,
};
use crate::hash::{frange, permute, pick, unpermute, Hash};

/// Channel id that exists with no uploads, for empty-account tests.
pub const YOUTUBE_EMPTY: &str = "UCempty";
/// Channel id that does not exist (`channels.list` answers without `items`).
pub const YOUTUBE_MISSING: &str = "UCmissing";

const S_VIDEOS: u64 = 100;
const S_VIEWS: u64 = 101;
const S_VIDEO: u64 = 102;

/// A channel as `channels.list` reports it, so tests can predict the response.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelData {
    /// `UC…` channel id.
    pub id: String,
    /// `snippet.title`.
    pub title: String,
    /// `snippet.customUrl` (`@handle`; for ids the lowercased id).
    pub custom_url: String,
    /// `snippet.publishedAt`: channel creation.
    pub published_at: DateTime<Utc>,
    /// `statistics.subscriberCount` (still computed when hidden).
    pub subscribers: u64,
    /// `statistics.hiddenSubscriberCount`: true for ids containing `hidden`.
    pub hidden_subscribers: bool,
    /// `statistics.viewCount`: lifetime views, at least the sum of `videos`.
    pub views: u64,
    /// The uploads playlist, newest first; `statistics.videoCount` is its length.
    pub videos: Vec<VideoData>,
}

impl ChannelData {
    /// `contentDetails.relatedPlaylists.uploads`, the playlist connectors page through.
    pub fn uploads_playlist_id(&self) -> String {
        uploads_playlist_for(&self.id)
    }
}

/// One upload as `videos.list` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoData {
    /// 11-character video id.
    pub id: String,
    /// `snippet.title`.
    pub title: String,
    /// `snippet.publishedAt` and `contentDetails.videoPublishedAt`.
    pub published_at: DateTime<Utc>,
    /// `statistics.viewCount`.
    pub views: u64,
    /// `statistics.likeCount`.
    pub likes: u64,
    /// `statistics.commentCount`.
    pub comments: u64,
}

/// The uploads playlist id of a channel: `UU` + the rest of the channel id.
pub(crate) fn uploads_playlist_for(channel_id: &str) -> String {
    format!("UU{}", channel_id.get(2..).unwrap_or_default())
}

/// The channel id `forHandle=@handle` resolves to, so tests can predict it.
/// `@empty` and `@missing` map to [`YOUTUBE_EMPTY`] and [`YOUTUBE_MISSING`].
pub fn youtube_channel_id_for_handle(handle: &str) -> String {
    let handle = normalize_handle(handle);
    match handle.as_str() {
        "empty" => YOUTUBE_EMPTY.to_string(),
        "missing" => YOUTUBE_MISSING.to_string(),
        _ => {
            let x = Hash::new(0).str("youtube-handle").str(&handle).get();
            let mut id = String::with_capacity(24);
            id.push_str("UC");
            encode(x, 10, BASE64URL, &mut id);
            encode(pick(x, 1), 10, BASE64URL, &mut id);
            encode(pick(x, 2), 2, BASE64URL, &mut id);
            id
        }
    }
}

/// The channel behind `forHandle=@handle`, with `customUrl` set to the handle.
pub fn youtube_channel_for_handle(
    seed: u64,
    handle: &str,
    now: DateTime<Utc>,
) -> Option<ChannelData> {
    let mut channel = youtube_channel(seed, &youtube_channel_id_for_handle(handle), now)?;
    channel.custom_url = format!("@{}", normalize_handle(handle));
    Some(channel)
}

fn normalize_handle(handle: &str) -> String {
    handle.trim().trim_start_matches('@').to_lowercase()
}

/// The channel `channel_id` as of the UTC day of `now`; `None` when it does
/// not exist ([`YOUTUBE_MISSING`], or an id that does not start with `UC`).
pub fn youtube_channel(seed: u64, channel_id: &str, now: DateTime<Utc>) -> Option<ChannelData> {
    let m = Model::new(seed, channel_id, now)?;
    let videos: Vec<VideoData> = m
        .schedule
        .map(|s| s.posts(m.day))
        .unwrap_or_default()
        .into_iter()
        .map(|(k, t)| m.video(channel_id, k, t))
        .collect();
    let h = m.h;
    let subscribers = m.account.audience(h, m.day);
    let base_views = m.account.base as f64 * frange(pick(h, S_VIEWS), 20.0, 200.0);
    let daily_views = m.account.per_day * frange(pick(h, S_VIEWS + 1), 30.0, 90.0);
    let views = (base_views + daily_views * m.account.age_days as f64) as u64
        + videos.iter().map(|v| v.views).sum::<u64>();
    Some(ChannelData {
        id: channel_id.to_string(),
        title: display_name(h, channel_id.strip_prefix("UC").unwrap_or(channel_id)),
        custom_url: format!("@{}", channel_id.to_lowercase()),
        published_at: at(m.account.created_ms),
        subscribers,
        hidden_subscribers: channel_id.contains("hidden"),
        views,
        videos,
    })
}

/// The 48-bit, seed-independent channel tag that prefixes its video ids.
pub(crate) fn youtube_channel_prefix(channel_id: &str) -> u64 {
    Hash::new(0).str("youtube-id").str(channel_id).get() >> 16
}

/// The channel prefix of a video id, to find its channel; `None` if it is not ours.
pub(crate) fn youtube_video_prefix(video_id: &str) -> Option<u64> {
    // 11 characters carry 66 bits; ours only use 64, so the first is < 16.
    let first = video_id.bytes().next()?;
    if video_id.len() != 11 || BASE64URL[..16].iter().all(|&c| c != first) {
        return None;
    }
    Some(unpermute(decode(video_id, BASE64URL)?) >> 16)
}

/// `permute(channel prefix << 16 | slot)` in 11 base64url characters: looks
/// like a real video id, and names its channel for `videos.list`.
fn video_id(channel_id: &str, k: u64) -> String {
    let mut id = String::with_capacity(11);
    let v = (youtube_channel_prefix(channel_id) << 16) | (k & 0xFFFF);
    encode(permute(v), 11, BASE64URL, &mut id);
    id
}

/// What one channel's numbers are derived from.
struct Model {
    h: u64,
    day: Day,
    account: Account,
    schedule: Option<Schedule>,
}

impl Model {
    fn new(seed: u64, channel_id: &str, now: DateTime<Utc>) -> Option<Model> {
        if channel_id.len() <= 2 || !channel_id.starts_with("UC") || channel_id == YOUTUBE_MISSING {
            return None;
        }
        let h = Hash::new(seed).str("youtube").str(channel_id).get();
        let day = Day::of(now);
        Some(Model {
            h,
            day,
            account: Account::new(h, day),
            schedule: (channel_id != YOUTUBE_EMPTY).then(|| Schedule::new(h, S_VIDEOS, 6, 59)),
        })
    }

    fn video(&self, channel_id: &str, k: u64, t_ms: i64) -> VideoData {
        let vh = Hash::new(self.h).num(S_VIDEO).num(k).get();
        let max_views = self.account.base as f64 * frange(pick(vh, 1), 0.3, 4.0)
            + frange(pick(vh, 2), 50.0, 500.0);
        let views = saturating(
            max_views,
            self.day.age_days(t_ms),
            frange(pick(vh, 3), 1.5, 12.0),
        );
        VideoData {
            id: video_id(channel_id, k),
            title: topic(self.h, k),
            published_at: at(t_ms),
            views,
            likes: (views as f64 * frange(pick(vh, 4), 0.01, 0.07)) as u64,
            comments: (views as f64 * frange(pick(vh, 5), 0.001, 0.01)) as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0)
            .single()
            .expect("valid")
    }

    #[test]
    fn reserved_ids() {
        assert!(youtube_channel(42, YOUTUBE_MISSING, now()).is_none());
        assert!(youtube_channel(42, "not-a-channel", now()).is_none());
        let empty = youtube_channel(42, YOUTUBE_EMPTY, now()).expect("exists");
        assert!(empty.videos.is_empty());
        assert_eq!(youtube_channel_id_for_handle("@Empty"), YOUTUBE_EMPTY);
    }

    #[test]
    fn video_ids_resolve_back_to_their_channel() {
        let c = youtube_channel(42, "UCabc", now()).expect("exists");
        assert!((5..=60).contains(&c.videos.len()));
        for v in &c.videos {
            assert_eq!(
                youtube_video_prefix(&v.id),
                Some(youtube_channel_prefix("UCabc"))
            );
        }
        let ids: std::collections::HashSet<_> = c.videos.iter().map(|v| &v.id).collect();
        assert_eq!(ids.len(), c.videos.len());
        assert_eq!(c.uploads_playlist_id(), "UUabc");
    }

    #[test]
    fn engagement_grows_with_time() {
        let a = youtube_channel(42, "UCgrow", now()).expect("exists");
        let later = now() + chrono::Duration::days(3);
        let b = youtube_channel(42, "UCgrow", later).expect("exists");
        for v in &b.videos {
            if let Some(old) = a.videos.iter().find(|o| o.id == v.id) {
                assert!(v.views >= old.views);
                assert_eq!(v.published_at, old.published_at);
            }
        }
    }
}
