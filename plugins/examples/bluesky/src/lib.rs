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
mod seen;

use async_trait::async_trait;
use seen::SeenPosts;
use serde::Deserialize;
use tally_model::paginate::{encode_query_value, param, Step};
use tally_model::{
    AuthKind, Connector, ConnectorError, Description, Emitter, ResetEncoding, Settings,
    SourceContext, UsageHeaders,
};

/// Most entries `getAuthorFeed` returns per page.
const PAGE_SIZE: u32 = 100;

/// The Bluesky connector.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bluesky;

/// `[sources.settings]` of a Bluesky source.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Settings)]
#[serde(deny_unknown_fields)]
#[settings(check = "BlueskySettings::checked")]
pub struct BlueskySettings {
    /// The account: its handle without `@` (`bakery.bsky.social`) or its DID (`did:plc:…`); a leading `@` is forgiven.
    pub actor: String,
    /// How many of the latest own posts get per-post likes, reposts, quotes and replies; `0` turns them off.
    #[serde(default = "default_max_posts")]
    pub max_posts: u32,
}

fn default_max_posts() -> u32 {
    100
}

impl BlueskySettings {
    /// Checks `actor` is a handle or a DID; a leading `@` is forgiven.
    fn checked(self) -> Result<BlueskySettings, ConnectorError> {
        let actor = self.actor.trim().trim_start_matches('@').to_string();
        let is_did = actor.starts_with("did:") && actor.len() > 8;
        let is_handle = actor.contains('.')
            && actor
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if !is_did && !is_handle {
            return Err(ConnectorError::Settings(format!(
                "actor `{}` is neither a Bluesky handle (`alice.bsky.social`) nor a DID (`did:plc:…`)",
                self.actor
            )));
        }
        Ok(BlueskySettings { actor, ..self })
    }
}

#[async_trait]
impl Connector for Bluesky {
    fn describe(&self) -> Description {
        Description::new(
            "bluesky",
            "Bluesky account followers, follows and posts, plus likes, reposts, quotes and replies of the latest posts (public AppView)",
            "https://public.api.bsky.app/xrpc",
        )
        .metrics([
            "audience.followers",
            "audience.following",
            "content.posts",
            "engagement.likes",
            "engagement.shares",
            "engagement.comments",
        ])
        .settings::<BlueskySettings>()
        .auth([AuthKind::None])
        // The PDS default, 3000 requests per 5 minutes per IP; the AppView publishes none.
        .rate_limit(3000, 300, 300)
        .usage_headers(UsageHeaders::prefixed("ratelimit-", ResetEncoding::EpochSeconds))
    }

    async fn check(&self, ctx: &SourceContext<'_>) -> Result<String, ConnectorError> {
        let settings: BlueskySettings = ctx.checked_settings()?;
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
        let settings: BlueskySettings = ctx.checked_settings()?;
        let profile = fetch_profile(ctx, &settings.actor).await?;
        for point in parse::profile_points(&profile, ctx.now) {
            out.emit(point)?;
        }
        if settings.max_posts == 0 || profile.posts_count == Some(0) {
            return Ok(());
        }

        let max = settings.max_posts as usize;
        let endpoint = "/app.bsky.feed.getAuthorFeed";
        let mut seen = SeenPosts::default();
        let mut skipped = 0usize;
        let actor = settings.actor.as_str();
        let fetch = |cursor: Option<String>| {
            let path = format!(
                "{endpoint}?actor={}&limit={PAGE_SIZE}{}",
                encode_query_value(&profile.did),
                param("cursor", cursor.as_deref())
            );
            async move {
                let (page, _) = get::<parse::AuthorFeed>(ctx, &path, actor).await?;
                let next = page.cursor.clone();
                Ok((page, next))
            }
        };
        let each = |page: parse::AuthorFeed, out: &mut dyn Emitter| {
            for entry in &page.feed {
                if !entry.is_own_post(&profile.did) || !seen.insert(&entry.post.uri) {
                    skipped += 1;
                    continue;
                }
                for point in parse::post_points(&entry.post, ctx.now) {
                    out.emit(point)?;
                }
                if seen.len() >= max {
                    return Ok(Step::Stop);
                }
            }
            Ok(Step::Continue(None))
        };
        ctx.paginate(endpoint, None, out, fetch, each).await?;
        log_skipped(skipped);
        Ok(())
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
    let path = format!(
        "/app.bsky.actor.getProfile?actor={}",
        encode_query_value(actor)
    );
    Ok(get(ctx, &path, actor).await?.0)
}

/// GETs an XRPC query and decodes its JSON, turning XRPC error bodies into
/// actionable errors that name the actor.
async fn get<T: serde::de::DeserializeOwned>(
    ctx: &SourceContext<'_>,
    path: &str,
    actor: &str,
) -> Result<(T, tally_model::HttpResponse), ConnectorError> {
    ctx.get_json(path, |path: &str, status: u16, body: &[u8]| {
        parse::error_for(path, status, body, actor)
    })
    .await
}

tally_plugin_sdk::export_connector!(Bluesky);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn settings_are_documented_once() {
        let sample: BlueskySettings =
            tally_testkit::assert_settings_documented(&Bluesky, env!("CARGO_MANIFEST_DIR"));
        assert_eq!(sample.max_posts, 100);
    }
}
