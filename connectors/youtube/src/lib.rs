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

mod parse;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::HashSet;
use tally_model::error::{snippet, url_path};
use tally_model::http::decode_json;
use tally_model::paginate::encode_query_value;
use tally_model::{
    AuthKind, AuthQuirk, Connector, ConnectorError, Description, Emitter, HttpRequest,
    HttpResponse, QuotaSpec, QuotaWindow, RateLimitSpec, SettingSpec, SourceContext,
};

/// The sample `[[sources]]` block from this crate's `sample.toml`, for
/// `config.example.toml` and `tally connectors`.
pub const SAMPLE_CONFIG: &str = include_str!("../sample.toml");

/// Most ids `playlistItems.list` returns per page and `videos.list` accepts per call.
const PAGE_SIZE: usize = 50;

/// Quota units of one list call (`channels`, `playlistItems`, `videos`).
const LIST_COST: u32 = 1;

/// The YouTube connector.
#[derive(Debug, Clone, Copy, Default)]
pub struct Youtube;

/// The YouTube connector, boxed for registration with the host.
pub fn connector() -> Box<dyn Connector> {
    Box::new(Youtube)
}

/// `[sources.settings]` of a YouTube source.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YoutubeSettings {
    /// The channel to read: its id, `UC` followed by 22 characters (YouTube Studio → Settings → Channel → Advanced settings), not the `@handle`.
    pub channel_id: String,
    /// How many of the latest uploads get per-video views, likes and comments (default 50; 0 turns per-video statistics off).
    #[serde(default = "default_max_videos")]
    pub max_videos: u32,
}

fn default_max_videos() -> u32 {
    50
}

impl YoutubeSettings {
    /// Decodes and checks the source's settings.
    pub fn from_context(ctx: &SourceContext<'_>) -> Result<YoutubeSettings, ConnectorError> {
        let settings: YoutubeSettings = ctx.settings()?;
        let id = settings.channel_id.trim();
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
            ..settings
        })
    }
}

#[async_trait]
impl Connector for Youtube {
    fn describe(&self) -> Description {
        Description {
            name: "youtube".into(),
            platform: parse::PLATFORM.into(),
            summary: "YouTube channel subscribers, views and video count, plus views, likes and comments of the latest uploads (Data API v3)".into(),
            default_base_url: "https://youtube.googleapis.com/youtube/v3".into(),
            metrics: ["audience.followers", "reach.views", "content.posts", "engagement.likes", "engagement.comments"]
                .map(String::from)
                .to_vec(),
            settings: vec![
                SettingSpec::required(
                    "channel_id",
                    "the channel id (UC…) from YouTube Studio → Settings → Channel → Advanced settings",
                ),
                SettingSpec::optional(
                    "max_videos",
                    "how many of the latest uploads get per-video views, likes and comments (default 50; 0 = none)",
                ),
            ],
            auth: vec![
                AuthKind::ApiKey {
                    query_param: Some("key".into()),
                    header: None,
                },
                AuthKind::OAuth2 {
                    auth_url: "https://accounts.google.com/o/oauth2/v2/auth".into(),
                    token_url: "https://oauth2.googleapis.com/token".into(),
                    scopes: vec!["https://www.googleapis.com/auth/youtube.readonly".into()],
                    pkce: true,
                    quirks: vec![AuthQuirk::GoogleOfflineAccess],
                },
            ],
            // No documented per-second limit: the daily quota is the real one. Be polite.
            rate_limit: RateLimitSpec {
                requests: 100,
                per_seconds: 1,
                burst: 10,
            },
            usage_headers: None,
            quota: Some(QuotaSpec {
                units: 10_000,
                window: QuotaWindow::Day,
                timezone: "America/Los_Angeles".into(),
            }),
        }
    }

    async fn check(&self, ctx: &SourceContext<'_>) -> Result<String, ConnectorError> {
        let settings = YoutubeSettings::from_context(ctx)?;
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
        let settings = YoutubeSettings::from_context(ctx)?;
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
        let ids = latest_uploads(ctx, uploads, settings.max_videos as usize).await?;
        for batch in ids.chunks(PAGE_SIZE) {
            let list = batch
                .iter()
                .map(|id| encode_query_value(id))
                .collect::<Vec<_>>()
                .join(",");
            let url = ctx.url(&format!("/videos?part=statistics,snippet&id={list}"));
            let (videos, response) = get::<parse::VideoListResponse>(ctx, url).await?;
            let points = parse::video_points(&videos, ctx.now)
                .map_err(|e| bad_field(&response, ctx, "/videos", e))?;
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
    let url = ctx.url(&format!(
        "/channels?part=statistics,snippet,contentDetails&id={}",
        encode_query_value(&settings.channel_id)
    ));
    let (list, response) = get::<parse::ChannelListResponse>(ctx, url).await?;
    parse::channel(&list, ctx.now)
        .map_err(|e| bad_field(&response, ctx, "/channels", e))?
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
    playlist: &str,
    max: usize,
) -> Result<Vec<String>, ConnectorError> {
    let mut pages = ctx.paginator(&url_path(&ctx.url("/playlistItems")));
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let want = (max - ids.len()).min(PAGE_SIZE);
        let mut url = ctx.url(&format!(
            "/playlistItems?part=contentDetails&playlistId={}&maxResults={want}",
            encode_query_value(playlist)
        ));
        if let Some(token) = &token {
            url.push_str("&pageToken=");
            url.push_str(&encode_query_value(token));
        }
        let page = match get::<parse::PlaylistItemListResponse>(ctx, url).await {
            Ok((page, _)) => page,
            // YouTube has been seen to answer 404 playlistNotFound for the uploads list of a channel
            // without public videos (undocumented): that is an empty list, not a failure.
            Err(ConnectorError::NotFound(_)) if token.is_none() => return Ok(ids),
            Err(e) => return Err(e),
        };
        for id in page.video_ids() {
            if seen.insert(id.to_string()) {
                ids.push(id.to_string());
                if ids.len() >= max {
                    return Ok(ids);
                }
            }
        }
        match pages.advance(page.next_page_token)? {
            Some(next) => token = Some(next),
            None => return Ok(ids),
        }
    }
}

/// Sends a one-unit GET and decodes its JSON, turning Google error bodies into
/// actionable errors.
async fn get<T: DeserializeOwned>(
    ctx: &SourceContext<'_>,
    url: String,
) -> Result<(T, HttpResponse), ConnectorError> {
    let path = url_path(&url);
    let response = ctx
        .http
        .send(HttpRequest::get(url).with_cost(LIST_COST))
        .await?;
    if !response.is_success() {
        return Err(parse::error_for(&path, response.status, &response.body));
    }
    let value = decode_json(&path, &response.body)?;
    Ok((value, response))
}

/// A well-formed body whose field breaks the documented contract (a count that is not a number).
fn bad_field(
    response: &HttpResponse,
    ctx: &SourceContext<'_>,
    endpoint: &str,
    error: parse::BadField,
) -> ConnectorError {
    ConnectorError::Decode {
        path: url_path(&ctx.url(endpoint)),
        message: error.to_string(),
        body: snippet(&response.body),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sample_config_matches_the_description() {
        let settings = tally_testkit::sample_settings(&Youtube.describe(), SAMPLE_CONFIG);
        let parsed: YoutubeSettings = serde_json::from_value(settings).unwrap();
        assert_eq!(parsed.max_videos, 50);
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
