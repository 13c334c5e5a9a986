//! YouTube connector: a channel's subscribers, lifetime views and video count,
//! plus views, likes and comments of its latest uploads (YouTube Data API v3).
//!
//! Why it looks the way it does:
//!
//! - **Quota, not request rate, is the limit.** Google gives a project 10,000 units a
//!   day (reset at midnight Pacific) and every list call costs one unit. So the
//!   connector reads channel totals in one call, walks the uploads playlist (one
//!   call per 50 videos) instead of `search.list`, and asks `videos.list` for up to
//!   50 ids at a time. A default pull of 50 videos costs 3 units. Each request
//!   declares its cost; the host's ledger enforces the budget.
//! - **The host owns I/O.** The API key is added by the host (`key=` query
//!   parameter), as are retries, backoff and pacing: this crate only builds URLs and
//!   maps JSON, and never sees a secret.
//! - **Absent is not zero.** A hidden subscriber count, likes turned off or comments
//!   disabled produce no point rather than a 0 that would read as a collapse in a
//!   goal report.
//!
//! The JSON → point mapping lives in the pure `parse` module; this file is the
//! request sequence. See README.md for the metric table, auth and limits.

pub mod parse;

use async_trait::async_trait;
use serde::Deserialize;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use tally_model::error::url_path;
use tally_model::paginate::{encode_query_value, param, Step};
use tally_model::{
    AuthKind, AuthQuirk, Connector, ConnectorError, Description, Emitter, QuotaSpec, QuotaWindow,
    Settings, SourceContext,
};

/// Most ids `playlistItems.list` returns per page and `videos.list` accepts per call.
const PAGE_SIZE: usize = 50;

/// The YouTube connector.
#[derive(Debug, Clone, Copy, Default)]
pub struct Youtube;

/// `[sources.settings]` of a YouTube source.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Settings)]
#[serde(deny_unknown_fields)]
#[settings(check = "YoutubeSettings::checked")]
pub struct YoutubeSettings {
    /// The channel id, `UC` + 22 characters (YouTube Studio → Settings → Channel → Advanced settings). Not the `@handle`.
    pub channel_id: String,
    /// How many of the latest uploads get per-video statistics; `0` turns them off.
    #[serde(default = "default_max_videos")]
    pub max_videos: u32,
}

fn default_max_videos() -> u32 {
    50
}

impl YoutubeSettings {
    /// Checks `channel_id` is a channel id, not a handle.
    fn checked(self) -> Result<YoutubeSettings, ConnectorError> {
        let id = self.channel_id.trim();
        if id.starts_with('@') {
            return Err(ConnectorError::Settings(format!(
                "channel_id `{id}` is a handle; use the channel id (UC…) shown in YouTube Studio → Settings → Channel → Advanced settings"
            )));
        }
        if !id.starts_with("UC")
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ConnectorError::Settings(format!(
                "channel_id `{id}` is not a YouTube channel id (`UC` followed by 22 letters, digits, `-` or `_`)"
            )));
        }
        Ok(YoutubeSettings {
            channel_id: id.to_string(),
            ..self
        })
    }
}

#[async_trait]
impl Connector for Youtube {
    fn describe(&self) -> Description {
        Description::new(
            "youtube",
            "YouTube channel subscribers, views and video count, plus views, likes and comments of the latest uploads (Data API v3)",
            "https://youtube.googleapis.com/youtube/v3",
        )
        .metrics([
            "audience.followers",
            "reach.views",
            "content.posts",
            "engagement.likes",
            "engagement.comments",
        ])
        .settings::<YoutubeSettings>()
        .auth([
            AuthKind::api_key_query("key"),
            AuthKind::oauth2(
                "https://accounts.google.com/o/oauth2/v2/auth",
                "https://oauth2.googleapis.com/token",
                &["https://www.googleapis.com/auth/youtube.readonly"],
            )
            .quirk(AuthQuirk::GoogleOfflineAccess),
        ])
        // No documented per-second limit: the daily quota is the real one. Be polite.
        .rate_limit(100, 1, 10)
        .quota(QuotaSpec::new(10_000, QuotaWindow::Day, "America/Los_Angeles"))
    }

    async fn check(&self, ctx: &SourceContext<'_>) -> Result<String, ConnectorError> {
        let settings: YoutubeSettings = ctx.checked_settings()?;
        let channel = fetch_channel(ctx, &settings).await?;
        let title = channel.title.clone().unwrap_or_else(|| channel.id.clone());
        let subscribers = channel
            .subscribers
            .map_or_else(|| "hidden".to_string(), |n| n.to_string());
        Ok(format!("channel {title} ({subscribers} subscribers)"))
    }

    async fn pull(
        &self,
        ctx: &SourceContext<'_>,
        out: &mut dyn Emitter,
    ) -> Result<(), ConnectorError> {
        let settings: YoutubeSettings = ctx.checked_settings()?;
        let channel = fetch_channel(ctx, &settings).await?;
        for point in channel.points.iter().cloned() {
            out.emit(point)?;
        }
        let Some(uploads) = channel.uploads_playlist.as_deref() else {
            return Ok(());
        };
        if settings.max_videos == 0 || channel.video_count == Some(0) {
            // Nothing to list; an empty channel's uploads playlist may even 404.
            return Ok(());
        }
        let ids = latest_uploads(ctx, out, uploads, settings.max_videos as usize).await?;
        for batch in ids.chunks(PAGE_SIZE) {
            let list = batch
                .iter()
                .map(|id| encode_query_value(id))
                .collect::<Vec<_>>()
                .join(",");
            let path = format!("/videos?part=statistics,snippet&id={list}");
            let (videos, response) = ctx
                .get_json::<parse::VideoListResponse, _>(&path, parse::error_for)
                .await?;
            let points = parse::video_points(&videos, ctx.now).map_err(|e| {
                ConnectorError::decode(&url_path(&ctx.url("/videos")), e, &response.body)
            })?;
            for point in points {
                out.emit(point)?;
            }
        }
        Ok(())
    }
}

/// `channels.list` for the configured channel, mapped.
async fn fetch_channel(
    ctx: &SourceContext<'_>,
    settings: &YoutubeSettings,
) -> Result<parse::ChannelSummary, ConnectorError> {
    let path = format!(
        "/channels?part=statistics,snippet,contentDetails&id={}",
        encode_query_value(&settings.channel_id)
    );
    let (list, response) = ctx
        .get_json::<parse::ChannelListResponse, _>(&path, parse::error_for)
        .await?;
    parse::channel(&list, ctx.now)
        .map_err(|e| ConnectorError::decode(&url_path(&ctx.url("/channels")), e, &response.body))?
        .ok_or_else(|| {
            ConnectorError::NotFound(format!(
                "channel {} does not exist or is not visible to this API key",
                settings.channel_id
            ))
        })
}

/// The ids of the newest `max` uploads, following `nextPageToken` until enough are
/// collected or the playlist ends. Each id appears once even if a page repeats it
/// (an upload published mid-walk shifts the pages).
async fn latest_uploads(
    ctx: &SourceContext<'_>,
    out: &mut dyn Emitter,
    playlist: &str,
    max: usize,
) -> Result<Vec<String>, ConnectorError> {
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    // How many ids are still wanted: the next page asks for no more.
    let wanted = AtomicUsize::new(max);
    let fetch = |token: Option<String>| {
        let path = format!(
            "/playlistItems?part=contentDetails&playlistId={}&maxResults={}{}",
            encode_query_value(playlist),
            wanted.load(Ordering::Relaxed).min(PAGE_SIZE),
            param("pageToken", token.as_deref())
        );
        async move {
            match ctx
                .get_json::<parse::PlaylistItemListResponse, _>(&path, parse::error_for)
                .await
            {
                Ok((page, _)) => {
                    let next = page.next_page_token.clone();
                    Ok((page, next))
                }
                // YouTube has been seen to answer 404 playlistNotFound for the uploads list of a
                // channel without public videos (undocumented): an empty list, not a failure.
                Err(ConnectorError::NotFound(_)) if token.is_none() => {
                    Ok((parse::PlaylistItemListResponse::default(), None))
                }
                Err(e) => Err(e),
            }
        }
    };
    ctx.paginate("/playlistItems", None, out, fetch, |page, _| {
        for id in page.video_ids() {
            if seen.insert(id.to_string()) {
                ids.push(id.to_string());
                wanted.store(max - ids.len(), Ordering::Relaxed);
                if ids.len() >= max {
                    return Ok(Step::Stop);
                }
            }
        }
        Ok(Step::Continue(None))
    })
    .await?;
    Ok(ids)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_documented_once() {
        let sample: YoutubeSettings =
            tally_testkit::assert_settings_documented(&Youtube, env!("CARGO_MANIFEST_DIR"));
        assert_eq!(sample.max_videos, 50);
    }

    #[test]
    fn every_setting_field_is_described_and_unknown_keys_are_refused() {
        let e = serde_json::from_value::<YoutubeSettings>(
            serde_json::json!({"channel_id": "UC1", "chanel": 1}),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown field `chanel`"), "{e}");
    }
}
