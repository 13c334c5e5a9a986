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

pub mod parse;
mod resume;

pub use resume::DEFAULT_LOOKBACK_DAYS;

use async_trait::async_trait;
use serde::Deserialize;
use std::collections::HashSet;
use tally_model::paginate::{encode_query_value, next_link_within, param, Step};
use tally_model::{
    AuthKind, Connector, ConnectorError, Description, Emitter, HttpClientExt, HttpRequest,
    ResetEncoding, Settings, SourceContext, UsageHeaders,
};

/// Most statuses Mastodon returns per page.
const PAGE_SIZE: u32 = 40;

/// The Mastodon connector.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mastodon;

/// `[sources.settings]` of a Mastodon source.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Settings)]
#[serde(deny_unknown_fields)]
#[settings(check = "MastodonSettings::checked")]
pub struct MastodonSettings {
    /// `user` on the `base_url` instance, or `user@instance`. A leading `@` is ignored.
    pub acct: String,
    /// How many of the latest statuses get per-status statistics; `0` turns them off.
    #[serde(default = "default_max_statuses")]
    pub max_statuses: u32,
    /// Leave replies to other accounts out of the per-status statistics.
    #[serde(default)]
    pub exclude_replies: bool,
}

fn default_max_statuses() -> u32 {
    200
}

impl MastodonSettings {
    /// Checks `acct` is an account address; a leading `@` is dropped.
    fn checked(self) -> Result<MastodonSettings, ConnectorError> {
        let acct = self.acct.trim().trim_start_matches('@');
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
                self.acct
            )));
        }
        Ok(MastodonSettings {
            acct: acct.to_string(),
            ..self
        })
    }
}

#[async_trait]
impl Connector for Mastodon {
    fn describe(&self) -> Description {
        Description::new(
            "mastodon",
            "Mastodon account followers, following and posts, plus favourites, boosts and replies of the latest statuses (any instance)",
            "https://mastodon.social",
        )
        .metrics([
            "audience.followers",
            "audience.following",
            "content.posts",
            "engagement.likes",
            "engagement.shares",
            "engagement.comments",
        ])
        .settings::<MastodonSettings>()
        .auth([
            AuthKind::None,
            AuthKind::Bearer,
            AuthKind::oauth2(
                "https://mastodon.social/oauth/authorize",
                "https://mastodon.social/oauth/token",
                &["read:accounts", "read:statuses"],
            ),
        ])
        .rate_limit(300, 300, 30)
        .usage_headers(UsageHeaders::prefixed("x-ratelimit-", ResetEncoding::Iso8601))
    }

    async fn check(&self, ctx: &SourceContext<'_>) -> Result<String, ConnectorError> {
        let settings: MastodonSettings = ctx.checked_settings()?;
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
        let settings: MastodonSettings = ctx.checked_settings()?;
        let account = lookup(ctx, &settings).await?;
        for point in parse::account_points(&account, ctx.now) {
            out.emit(point)?;
        }
        if settings.max_statuses == 0 {
            return Ok(());
        }
        let mut state = resume::State::load(ctx.state);
        let walk = resume::Walk::new(
            &state,
            ctx.since,
            settings.max_statuses as usize,
            ctx.lookback_days,
            ctx.now,
        );
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
        let limit = match ctx.since {
            Some(_) => PAGE_SIZE,
            None => settings.max_statuses.min(PAGE_SIZE),
        };
        let replies = if settings.exclude_replies {
            "&exclude_replies=true"
        } else {
            ""
        };
        let resume_at = param("max_id", cursor.as_ref().map(|c| c.max_id.as_str()));
        let first = ctx.url(&format!(
            "{path}?limit={limit}&exclude_reblogs=true{replies}{resume_at}"
        ));
        let mut seen = HashSet::new();
        let fetch = |next: Option<String>| {
            let url = next.unwrap_or_else(|| first.clone());
            async move {
                let (statuses, response) = ctx
                    .http
                    .get_json_with::<Vec<parse::Status>, _>(
                        HttpRequest::get(&url),
                        parse::error_for,
                    )
                    .await?;
                let next = next_link_within(response.header("link"), ctx.base_url, &url)?;
                Ok((statuses, next))
            }
        };
        let each = |statuses: Vec<parse::Status>, out: &mut dyn Emitter| {
            let Some(last) = statuses.last().map(|s| s.id.clone()) else {
                return Ok(Step::Stop);
            };
            for status in &statuses {
                if !walk.wants(&status.id, status.created_at, read) {
                    return Ok(Step::Stop);
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
            // Everything up to this page is committed with where to go on.
            let mut progress = state.clone();
            progress.cursor = Some(resume::Cursor {
                max_id: last,
                newest_id: newest.clone(),
                read,
            });
            Ok(Step::Continue(Some(progress.to_json())))
        };
        ctx.paginate(&path, None, out, fetch, each).await?;
        state.cursor = None;
        if newest.is_some() {
            state.newest_id = newest;
        }
        out.save_state(state.to_json());
        Ok(())
    }
}

/// `accounts/lookup` for the configured acct.
async fn lookup(
    ctx: &SourceContext<'_>,
    settings: &MastodonSettings,
) -> Result<parse::Account, ConnectorError> {
    let path = format!(
        "/api/v1/accounts/lookup?acct={}",
        encode_query_value(&settings.acct)
    );
    let (acct, base) = (&settings.acct, ctx.base_url);
    let account: parse::Account = match ctx.get_json(&path, parse::error_for).await {
        Err(ConnectorError::Status { status: 404, .. }) => {
            return Err(ConnectorError::NotFound(format!(
                "account @{acct} does not exist on {base} (or the instance cannot resolve it)"
            )))
        }
        Err(ConnectorError::Status { status: 410, .. }) => {
            return Err(ConnectorError::NotFound(format!(
                "account @{acct} is gone from {base} (suspended or deleted)"
            )))
        }
        other => other?.0,
    };
    if account.suspended == Some(true) {
        return Err(ConnectorError::NotFound(format!(
            "account @{acct} is suspended on {base}; its counts are not published"
        )));
    }
    Ok(account)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_documented_once() {
        let sample: MastodonSettings =
            tally_testkit::assert_settings_documented(&Mastodon, env!("CARGO_MANIFEST_DIR"));
        assert_eq!((sample.max_statuses, sample.exclude_replies), (200, false));
    }
}
