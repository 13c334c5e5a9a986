//! Mastodon connector: an account's followers, following and post count, plus
//! favourites, boosts and replies of its latest statuses, on any instance.
//!
//! Why it looks the way it does:
//!
//! - **Any instance, public endpoints.** `accounts/lookup` and
//!   `accounts/:id/statuses` are public on stock Mastodon, so the default auth is
//!   none; a bearer token (or OAuth2 with `read:accounts read:statuses`) is for
//!   instances that require one. The host injects it; this crate never sees it.
//! - **Pagination is RFC 8288 `Link` headers.** The next page is the `rel="next"`
//!   URL the instance hands out (parsed by `tally_model::paginate::next_link`),
//!   followed only while it stays on the source's own origin, so a credential
//!   cannot be sent elsewhere; the host's paginator stops repeated links.
//! - **The rate limit is 300 requests per 5 minutes**, reported in
//!   `X-RateLimit-*` headers with an ISO 8601 reset; the connector declares them and
//!   the host paces by them. A default pull is 1 + 5 requests.
//! - **Boosts are not the account's posts**: they are excluded in the query and
//!   skipped if an instance sends them anyway.
//!
//! - **Pulls are incremental and resumable** (`resume`): later pulls read only
//!   new statuses plus a restatement window, and a checkpoint after each page
//!   lets a pull killed halfway resume at its page.
//!
//! The JSON → point mapping lives in the pure `parse` module; this file is the
//! request sequence. See README.md for the metric table, auth and limits.

mod parse;
mod resume;

pub use resume::DEFAULT_LOOKBACK_DAYS;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::HashSet;
use tally_model::error::{snippet, url_path};
use tally_model::http::decode_json;
use tally_model::paginate::encode_query_value;
use tally_model::{
    AuthKind, Connector, ConnectorError, Description, Emitter, HttpRequest, HttpResponse,
    RateLimitSpec, ResetEncoding, SettingSpec, SourceContext, UsageHeaders,
};

/// The sample `[[sources]]` block from this crate's `sample.toml`, for
/// `config.example.toml` and `tally connectors`.
pub const SAMPLE_CONFIG: &str = include_str!("../sample.toml");

/// Most statuses Mastodon returns per page.
const PAGE_SIZE: u32 = 40;

/// The Mastodon connector.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mastodon;

/// The Mastodon connector, boxed for registration with the host.
pub fn connector() -> Box<dyn Connector> {
    Box::new(Mastodon)
}

/// `[sources.settings]` of a Mastodon source.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MastodonSettings {
    /// The account: `user` on the instance at `base_url`, or `user@instance` (a remote account shows the counts `base_url`'s instance knows; point `base_url` at its home instance for exact numbers).
    pub acct: String,
    /// How many of the latest statuses get per-status favourites, boosts and replies (default 200; 0 turns per-status statistics off).
    #[serde(default = "default_max_statuses")]
    pub max_statuses: u32,
    /// Leave replies to other accounts out of the per-status statistics (default false).
    #[serde(default)]
    pub exclude_replies: bool,
}

fn default_max_statuses() -> u32 {
    200
}

impl MastodonSettings {
    /// Decodes and checks the source's settings; a leading `@` on `acct` is dropped.
    pub fn from_context(ctx: &SourceContext<'_>) -> Result<MastodonSettings, ConnectorError> {
        let settings: MastodonSettings = ctx.settings()?;
        let acct = settings.acct.trim().trim_start_matches('@');
        if let Some((_, rest)) = acct.split_once("://") {
            let hint = match rest.split_once("/@") {
                Some((host, user)) => {
                    format!("; write it as `{}@{host}`", user.trim_end_matches('/'))
                }
                None => String::new(),
            };
            return Err(ConnectorError::Settings(format!(
                "acct `{acct}` is a URL, not an account address{hint}"
            )));
        }
        let (user, domain) = acct.split_once('@').unwrap_or((acct, ""));
        let well_formed = !user.is_empty()
            && acct.matches('@').count() <= 1
            && (domain.is_empty()
                || domain.contains('.')
                || domain.contains(':')
                || domain == "localhost")
            && !acct.contains(|c: char| c.is_whitespace() || c == '/' || c == '?' || c == '#');
        if !well_formed {
            return Err(ConnectorError::Settings(format!(
                "acct `{}` is not an account address; write `user` or `user@instance.example`",
                settings.acct
            )));
        }
        Ok(MastodonSettings {
            acct: acct.to_string(),
            ..settings
        })
    }
}

#[async_trait]
impl Connector for Mastodon {
    fn describe(&self) -> Description {
        Description {
            name: "mastodon".into(),
            platform: parse::PLATFORM.into(),
            summary: "Mastodon account followers, following and posts, plus favourites, boosts and replies of the latest statuses (any instance)".into(),
            default_base_url: "https://mastodon.social".into(),
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
                    "acct",
                    "the account, `user` on the base_url instance or `user@instance`",
                ),
                SettingSpec::optional(
                    "max_statuses",
                    "how many of the latest statuses get per-status favourites, boosts and replies (default 200; 0 = none)",
                ),
                SettingSpec::optional(
                    "exclude_replies",
                    "leave replies to other accounts out of the per-status statistics (default false)",
                ),
            ],
            auth: vec![
                AuthKind::None,
                AuthKind::Bearer,
                AuthKind::OAuth2 {
                    auth_url: "https://mastodon.social/oauth/authorize".into(),
                    token_url: "https://mastodon.social/oauth/token".into(),
                    scopes: vec!["read:accounts".into(), "read:statuses".into()],
                    pkce: true,
                    quirks: vec![],
                },
            ],
            rate_limit: RateLimitSpec {
                requests: 300,
                per_seconds: 300,
                burst: 30,
            },
            usage_headers: Some(UsageHeaders {
                limit: "x-ratelimit-limit".into(),
                remaining: "x-ratelimit-remaining".into(),
                reset: "x-ratelimit-reset".into(),
                reset_encoding: ResetEncoding::Iso8601,
            }),
            quota: None,
        }
    }

    async fn check(&self, ctx: &SourceContext<'_>) -> Result<String, ConnectorError> {
        let settings = MastodonSettings::from_context(ctx)?;
        let account = lookup(ctx, &settings).await?;
        Ok(format!(
            "account @{} ({} followers)",
            account.acct, account.followers_count
        ))
    }

    async fn pull(
        &self,
        ctx: &SourceContext<'_>,
        out: &mut dyn Emitter,
    ) -> Result<(), ConnectorError> {
        let settings = MastodonSettings::from_context(ctx)?;
        let account = lookup(ctx, &settings).await?;
        for point in parse::account_points(&account, ctx.now) {
            out.emit(point)?;
        }
        let max = settings.max_statuses as usize;
        if max == 0 {
            return Ok(());
        }
        let mut state = resume::State::load(ctx.state);
        let walk = resume::Walk::new(&state, ctx.since, max, ctx.lookback_days, ctx.now);
        // A backfill starts from the top; otherwise an interrupted pull resumes.
        let cursor = state.cursor.take().filter(|_| ctx.since.is_none());
        let (mut read, mut newest) = match &cursor {
            Some(c) => (c.read, c.newest_id.clone()),
            None => (0, None),
        };

        let path = format!(
            "/api/v1/accounts/{}/statuses",
            encode_query_value(&account.id)
        );
        let mut url = ctx.url(&format!(
            "{path}?limit={}&exclude_reblogs=true{}{}",
            if ctx.since.is_some() {
                PAGE_SIZE
            } else {
                settings.max_statuses.min(PAGE_SIZE)
            },
            if settings.exclude_replies {
                "&exclude_replies=true"
            } else {
                ""
            },
            cursor
                .as_ref()
                .map(|c| format!("&max_id={}", encode_query_value(&c.max_id)))
                .unwrap_or_default()
        ));
        let mut pages = ctx.paginator(&url_path(&url));
        let mut seen = HashSet::new();
        loop {
            let (statuses, response) = get::<Vec<parse::Status>>(ctx, &url).await?;
            let Some(last) = statuses.last().map(|s| s.id.clone()) else {
                finish(out, state, newest);
                return Ok(());
            };
            for status in &statuses {
                if !walk.wants(&status.id, status.created_at, read) {
                    finish(out, state, newest);
                    return Ok(());
                }
                if newest
                    .as_deref()
                    .is_none_or(|n| resume::newer(&status.id, n).is_gt())
                {
                    newest = Some(status.id.clone());
                }
                let points = parse::status_points(status, ctx.now);
                // A boost maps to nothing; a status repeated across pages counts once.
                if points.is_empty() || !seen.insert(status.id.clone()) {
                    continue;
                }
                read += 1;
                for point in points {
                    out.emit(point)?;
                }
            }
            let next =
                parse::next_page(response.header("link"), ctx.base_url).map_err(|message| {
                    ConnectorError::Pagination {
                        path: url_path(&url),
                        message,
                    }
                })?;
            match pages.advance(next)? {
                Some(next) => {
                    // Everything up to this page is committed with where to go on.
                    let mut progress = state.clone();
                    progress.cursor = Some(resume::Cursor {
                        max_id: last,
                        newest_id: newest.clone(),
                        read,
                    });
                    out.checkpoint(progress.to_json())?;
                    url = next;
                }
                None => {
                    finish(out, state, newest);
                    return Ok(());
                }
            }
        }
    }
}

/// Saves the state of a completed pull: no cursor, and the newest status seen.
fn finish(out: &mut dyn Emitter, mut state: resume::State, newest: Option<String>) {
    state.cursor = None;
    if newest.is_some() {
        state.newest_id = newest;
    }
    out.save_state(state.to_json());
}

/// `accounts/lookup` for the configured acct.
async fn lookup(
    ctx: &SourceContext<'_>,
    settings: &MastodonSettings,
) -> Result<parse::Account, ConnectorError> {
    let url = ctx.url(&format!(
        "/api/v1/accounts/lookup?acct={}",
        encode_query_value(&settings.acct)
    ));
    let acct = &settings.acct;
    let (account, _) = match get::<parse::Account>(ctx, &url).await {
        Err(ConnectorError::Status { status: 404, .. }) => {
            return Err(ConnectorError::NotFound(format!(
                "account @{acct} does not exist on {} (or the instance cannot resolve it)",
                ctx.base_url
            )))
        }
        Err(ConnectorError::Status { status: 410, .. }) => {
            return Err(ConnectorError::NotFound(format!(
                "account @{acct} is gone from {} (suspended or deleted)",
                ctx.base_url
            )))
        }
        other => other?,
    };
    if account.suspended == Some(true) {
        return Err(ConnectorError::NotFound(format!(
            "account @{acct} is suspended on {}; its counts are not published",
            ctx.base_url
        )));
    }
    Ok(account)
}

/// Sends a GET and decodes its JSON; a non-2xx keeps Mastodon's own `error` message.
async fn get<T: DeserializeOwned>(
    ctx: &SourceContext<'_>,
    url: &str,
) -> Result<(T, HttpResponse), ConnectorError> {
    let path = url_path(url);
    let response = ctx.http.send(HttpRequest::get(url)).await?;
    if !response.is_success() {
        return Err(ConnectorError::Status {
            path,
            status: response.status,
            body: parse::error_message(&response.body).unwrap_or_else(|| snippet(&response.body)),
        });
    }
    let value = decode_json(&path, &response.body)?;
    Ok((value, response))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sample_config_matches_the_description() {
        let settings = tally_testkit::sample_settings(&Mastodon.describe(), SAMPLE_CONFIG);
        let parsed: MastodonSettings = serde_json::from_value(settings).unwrap();
        assert_eq!((parsed.max_statuses, parsed.exclude_replies), (200, false));
    }

    #[test]
    fn unknown_setting_keys_are_refused() {
        let e = serde_json::from_value::<MastodonSettings>(
            serde_json::json!({"acct": "a", "max_status": 1}),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown field `max_status`"), "{e}");
    }
}
