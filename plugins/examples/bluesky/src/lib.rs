//! Bluesky connector: an account's followers, follows and post count, plus likes,
//! reposts, quotes and replies of its latest posts, from the public AppView
//! (`app.bsky.actor.getProfile`, `app.bsky.feed.getAuthorFeed`).
//!
//! This crate is Tally's out-of-tree example plugin. It is an ordinary connector
//! written against `tally-model` only, and the last line,
//! `tally_plugin_sdk::export_connector!(Bluesky)`, makes its `cdylib` a plugin that
//! the host loads at run time; the `rlib` is the same connector for static use.
//! It never touches the network itself: the SDK's HTTP client sends each request
//! back to the host, whose limiter paces it at Bluesky's documented 3000 requests
//! per 5 minutes and reads the `RateLimit-*` headers.
//!
//! Why it looks the way it does:
//!
//! - **Public reads need no auth.** Counts come from the AppView, which serves
//!   them without a session, so the connector declares `AuthKind::None`.
//! - **Reposts are not the account's posts.** `getAuthorFeed` mixes in reposts of
//!   other people's posts (entries with a `reason`); counting their likes would
//!   credit the account with someone else's engagement, so they are skipped.
//! - **The DID, not the handle, identifies things.** Handles change; the account
//!   entity is its DID and each post its `at://` URI.
//!
//! The JSON → point mapping lives in the pure `parse` module; this file is the
//! request sequence. See README.md for the metric table, auth and limits.

pub mod parse;

use async_trait::async_trait;
use serde::Deserialize;
use std::collections::HashSet;
use tally_model::error::url_path;
use tally_model::http::decode_json;
use tally_model::paginate::encode_query_value;
use tally_model::{
    AuthKind, Connector, ConnectorError, Description, Emitter, HttpRequest, RateLimitSpec,
    ResetEncoding, SettingSpec, SourceContext, UsageHeaders,
};

/// The sample `[[sources]]` block from this crate's `sample.toml`.
pub const SAMPLE_CONFIG: &str = include_str!("../sample.toml");

/// Most entries `getAuthorFeed` returns per page.
const PAGE_SIZE: u32 = 100;

/// The Bluesky connector.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bluesky;

/// `[sources.settings]` of a Bluesky source.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlueskySettings {
    /// The account: its handle without `@` (`alice.bsky.social`) or its DID (`did:plc:…`).
    pub actor: String,
    /// How many of the latest own posts get likes, reposts, quotes and replies (default 100; 0 turns per-post metrics off).
    #[serde(default = "default_max_posts")]
    pub max_posts: u32,
}

fn default_max_posts() -> u32 {
    100
}

impl BlueskySettings {
    /// Decodes and checks the source's settings; a leading `@` is forgiven.
    pub fn from_context(ctx: &SourceContext<'_>) -> Result<BlueskySettings, ConnectorError> {
        let settings: BlueskySettings = ctx.settings()?;
        let actor = settings.actor.trim().trim_start_matches('@').to_string();
        let is_did = actor.starts_with("did:") && actor.len() > 8;
        let is_handle = actor.contains('.')
            && actor
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if !is_did && !is_handle {
            return Err(ConnectorError::Settings(format!(
                "actor `{}` is neither a Bluesky handle (`alice.bsky.social`) nor a DID (`did:plc:…`)",
                settings.actor
            )));
        }
        Ok(BlueskySettings { actor, ..settings })
    }
}

#[async_trait]
impl Connector for Bluesky {
    fn describe(&self) -> Description {
        Description {
            name: "bluesky".into(),
            platform: parse::PLATFORM.into(),
            summary: "Bluesky account followers, follows and posts, plus likes, reposts, quotes and replies of the latest posts (public AppView)".into(),
            default_base_url: "https://public.api.bsky.app/xrpc".into(),
            metrics: [
                "audience.followers",
                "audience.following",
                "content.posts",
                "engagement.likes",
                "engagement.shares",
                "engagement.comments",
            ]
            .map(String::from)
            .to_vec(),
            settings: vec![
                SettingSpec::required(
                    "actor",
                    "the account: its handle without `@` (alice.bsky.social) or its DID (did:plc:…)",
                ),
                SettingSpec::optional(
                    "max_posts",
                    "how many of the latest own posts get per-post engagement (default 100; 0 = none)",
                ),
            ],
            auth: vec![AuthKind::None],
            // The PDS default, 3000 requests per 5 minutes per IP; the AppView publishes none.
            rate_limit: RateLimitSpec {
                requests: 3000,
                per_seconds: 300,
                burst: 300,
            },
            usage_headers: Some(UsageHeaders {
                limit: "ratelimit-limit".into(),
                remaining: "ratelimit-remaining".into(),
                reset: "ratelimit-reset".into(),
                reset_encoding: ResetEncoding::EpochSeconds,
            }),
            quota: None,
        }
    }

    async fn check(&self, ctx: &SourceContext<'_>) -> Result<String, ConnectorError> {
        let settings = BlueskySettings::from_context(ctx)?;
        let profile = fetch_profile(ctx, &settings.actor).await?;
        let count = |n: Option<u64>| n.map_or_else(|| "?".to_string(), |n| n.to_string());
        Ok(format!(
            "@{} ({} followers, {} posts)",
            profile.handle,
            count(profile.followers_count),
            count(profile.posts_count)
        ))
    }

    async fn pull(
        &self,
        ctx: &SourceContext<'_>,
        out: &mut dyn Emitter,
    ) -> Result<(), ConnectorError> {
        let settings = BlueskySettings::from_context(ctx)?;
        let profile = fetch_profile(ctx, &settings.actor).await?;
        for point in parse::profile_points(&profile, ctx.now) {
            out.emit(point)?;
        }
        if settings.max_posts == 0 || profile.posts_count == Some(0) {
            return Ok(());
        }

        let max = settings.max_posts as usize;
        let endpoint = "/app.bsky.feed.getAuthorFeed";
        let mut pages = ctx.paginator(&url_path(&ctx.url(endpoint)));
        let mut seen = HashSet::new();
        let mut skipped = 0usize;
        let mut cursor: Option<String> = None;
        loop {
            let mut url = ctx.url(&format!(
                "{endpoint}?actor={}&limit={PAGE_SIZE}",
                encode_query_value(&profile.did)
            ));
            if let Some(cursor) = &cursor {
                url.push_str("&cursor=");
                url.push_str(&encode_query_value(cursor));
            }
            let page: parse::AuthorFeed = get(ctx, url, &settings.actor).await?;
            for entry in &page.feed {
                if !entry.is_own_post(&profile.did) || !seen.insert(entry.post.uri.clone()) {
                    skipped += 1;
                    continue;
                }
                for point in parse::post_points(&entry.post, ctx.now) {
                    out.emit(point)?;
                }
                if seen.len() >= max {
                    log_skipped(skipped);
                    return Ok(());
                }
            }
            match pages.advance(page.cursor)? {
                Some(next) => cursor = Some(next),
                None => {
                    log_skipped(skipped);
                    return Ok(());
                }
            }
        }
    }
}

/// Says (through the host's log when running as a plugin) how many feed entries were not own posts.
fn log_skipped(skipped: usize) {
    if skipped > 0 {
        tally_plugin_sdk::log(
            tally_plugin_sdk::Level::Debug,
            &format!(
                "skipped {skipped} feed entries that are reposts or not the account's own posts"
            ),
        );
    }
}

/// `app.bsky.actor.getProfile` for the configured actor.
async fn fetch_profile(
    ctx: &SourceContext<'_>,
    actor: &str,
) -> Result<parse::Profile, ConnectorError> {
    let url = ctx.url(&format!(
        "/app.bsky.actor.getProfile?actor={}",
        encode_query_value(actor)
    ));
    get(ctx, url, actor).await
}

/// GETs an XRPC query and decodes its JSON, turning XRPC error bodies into
/// actionable errors.
async fn get<T: serde::de::DeserializeOwned>(
    ctx: &SourceContext<'_>,
    url: String,
    actor: &str,
) -> Result<T, ConnectorError> {
    let path = url_path(&url);
    let response = ctx
        .http
        .send(HttpRequest::get(url).with_header("accept", "application/json"))
        .await?;
    if !response.is_success() {
        return Err(parse::error_for(
            &path,
            response.status,
            &response.body,
            actor,
        ));
    }
    decode_json(&path, &response.body)
}

tally_plugin_sdk::export_connector!(Bluesky);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sample_config_matches_the_description() {
        let description = Bluesky.describe();
        description.validate().unwrap();
        let settings = tally_testkit::sample_settings(&description, SAMPLE_CONFIG);
        let parsed: BlueskySettings = serde_json::from_value(settings).unwrap();
        assert_eq!(parsed.max_posts, 100);
    }
}
