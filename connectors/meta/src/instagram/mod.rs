//! `instagram`: an Instagram professional account's followers, daily
//! account insights (with breakdowns), follower demographics, and its latest
//! media with likes, comments and media insights.
//!
//! Two hosts: with Facebook Login the API root is graph.facebook.com and the
//! account is found from its Page (`page_id`); with Instagram Login it is
//! graph.instagram.com (`base_url`) and `ig_user_id` names the account.
//! Media too new or with too few viewers for insights (error 10) keep their
//! likes and comments; their insights are skipped, not the source failed.

pub mod parse;

use crate::graph::insights::{self, MetricMap};
use crate::graph::window::Window;
use crate::graph::{self, version, ErrorMapper, GraphError, InsightsEnvelope};
use async_trait::async_trait;
use serde::Deserialize;
use tally_model::http::decode_json;
use tally_model::paginate::{encode_query_value, Step};
use tally_model::{
    AuthKind, AuthQuirk, Connector, ConnectorError, Description, Emitter, HttpRequest, PointTime,
    Settings, SourceContext,
};

/// Permissions a Facebook Login token needs (Instagram Login: `instagram_business_basic`,
/// `instagram_business_manage_insights`).
pub const PERMISSIONS: [&str; 3] = [
    "instagram_basic",
    "instagram_manage_insights",
    "pages_read_engagement",
];

/// Instagram Login ("Business Login for Instagram"): chosen in a source by
/// `token_url = "https://api.instagram.com/oauth/access_token"`; the host keeps
/// the 60-day token and renews it with `ig_refresh_token`.
fn instagram_login() -> AuthKind {
    AuthKind::OAuth2 {
        auth_url: "https://www.instagram.com/oauth/authorize".into(),
        token_url: INSTAGRAM_TOKEN_URL.into(),
        scopes: vec![
            "instagram_business_basic".into(),
            "instagram_business_manage_insights".into(),
        ],
        pkce: false,
        quirks: Vec::new(),
    }
    .quirk(AuthQuirk::ClientSecretInBody)
    .quirk(AuthQuirk::InstagramLongLived {
        graph_url: INSTAGRAM_GRAPH.into(),
    })
}

/// Instagram Login's token endpoint.
pub const INSTAGRAM_TOKEN_URL: &str = "https://api.instagram.com/oauth/access_token";
/// The API root of Instagram Login tokens.
pub const INSTAGRAM_GRAPH: &str = "https://graph.instagram.com";

/// Media per page of the media listing.
const MEDIA_PER_PAGE: u32 = 25;
/// Days re-read by an incremental pull: Instagram data can lag 48 hours.
const DEFAULT_LOOKBACK_DAYS: u32 = 2;

/// The Instagram connector.
#[derive(Debug, Clone, Copy, Default)]
pub struct Instagram;

/// `[sources.settings]` of an Instagram source.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Settings)]
#[serde(deny_unknown_fields)]
#[settings(check = "InstagramSettings::checked")]
pub struct InstagramSettings {
    /// The Instagram professional account id (digits); needed with Instagram Login, found from `page_id` otherwise.
    #[serde(default)]
    pub ig_user_id: Option<String>,
    /// With Facebook Login: the id of the Facebook Page the account is linked to.
    #[serde(default)]
    pub page_id: Option<String>,
    /// How many of the latest media get likes, comments and media insights; `0` turns them off.
    #[serde(default = "default_max_media")]
    pub max_media: u32,
    /// Days of daily account insights the first pull reads (two requests a day).
    #[serde(default = "default_history_days")]
    pub history_days: u32,
    /// The Graph API version spoken, e.g. `v27.0`; pin another only while moving between versions.
    #[serde(default = "version::default_version")]
    pub api_version: String,
}

fn default_max_media() -> u32 {
    25
}

fn default_history_days() -> u32 {
    7
}

impl InstagramSettings {
    fn checked(self) -> Result<InstagramSettings, ConnectorError> {
        version::check(&self.api_version)?;
        let digits = |v: &Option<String>, key: &str| {
            match v.as_deref().map(str::trim) {
            Some(id) if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) => {
                Err(ConnectorError::Settings(format!(
                    "{key} `{id}` is not a numeric id; use the id Meta shows, not a @username or URL"
                )))
            }
            other => Ok(other.map(str::to_string)),
        }
        };
        let ig_user_id = digits(&self.ig_user_id, "ig_user_id")?;
        let page_id = digits(&self.page_id, "page_id")?;
        if ig_user_id.is_none() && page_id.is_none() {
            return Err(ConnectorError::Settings(
                "set ig_user_id (the Instagram account id) or page_id (the Facebook Page it is linked to)".into(),
            ));
        }
        Ok(InstagramSettings {
            ig_user_id,
            page_id,
            ..self
        })
    }
}

#[async_trait]
impl Connector for Instagram {
    fn describe(&self) -> Description {
        graph::description(
            Description::new(
                "instagram",
                "Instagram professional account followers, daily reach, views, profile views and engagement with breakdowns, follower demographics, plus likes, comments and insights of the latest media",
                graph::GRAPH_ROOT,
            )
            .platform(parse::PLATFORM)
            .metrics([
                "audience.followers",
                "audience.following",
                "audience.follows",
                "audience.engaged",
                "content.posts",
                "reach.reach",
                "reach.views",
                "reach.profile_views",
                "engagement.interactions",
                "engagement.likes",
                "engagement.comments",
                "engagement.saves",
                "engagement.shares",
            ])
            .settings::<InstagramSettings>(),
            &PERMISSIONS,
            false,
        )
        .also_auth(instagram_login())
    }

    async fn check(&self, ctx: &SourceContext<'_>) -> Result<String, ConnectorError> {
        let settings: InstagramSettings = ctx.checked_settings()?;
        let user = fetch_user(ctx, &settings).await?;
        let followers = user
            .followers_count
            .map_or_else(|| "hidden".to_string(), |n| n.to_string());
        Ok(format!(
            "Instagram account {} ({followers} followers)",
            user.entity().name.as_deref().unwrap_or(&user.id)
        ))
    }

    async fn pull(
        &self,
        ctx: &SourceContext<'_>,
        out: &mut dyn Emitter,
    ) -> Result<(), ConnectorError> {
        let settings: InstagramSettings = ctx.checked_settings()?;
        let v = settings.api_version.as_str();
        let user = fetch_user(ctx, &settings).await?;
        for point in user.points(ctx.now) {
            out.emit(point)?;
        }
        let window = Window::of(ctx, settings.history_days, DEFAULT_LOOKBACK_DAYS);
        let account = Account {
            ctx,
            version: v,
            user: &user,
        };
        for day in window.days() {
            let period = PointTime::Period {
                start: day.start,
                end: day.end,
            };
            let totals = format!(
                "&metric_type=total_value&since={}&until={}",
                day.start.timestamp(),
                day.end.timestamp()
            );
            let breakdown = format!("{totals}&breakdown={}", parse::BREAKDOWNS);
            for (maps, extra) in [
                (&parse::ACCOUNT_METRICS[..], totals.as_str()),
                (&parse::BREAKDOWN_METRICS[..], breakdown.as_str()),
            ] {
                let envelope = account.insights(maps, "day", extra).await?;
                for point in envelope.totals(parse::PLATFORM, &user.entity(), maps, period) {
                    out.emit(point)?;
                }
            }
        }
        if user.has_audience_insights() {
            for span in window.spans(30) {
                let extra = format!(
                    "&since={}&until={}",
                    span.start.timestamp(),
                    span.end.timestamp()
                );
                let envelope = account
                    .insights(&parse::FOLLOWER_COUNT, "day", &extra)
                    .await?;
                for point in envelope.daily(parse::PLATFORM, &user.entity(), &parse::FOLLOWER_COUNT)
                {
                    out.emit(point)?;
                }
            }
            for breakdown in parse::DEMOGRAPHIC_BREAKDOWNS {
                let extra = format!("&metric_type=total_value&breakdown={breakdown}");
                let envelope = account
                    .insights(&parse::DEMOGRAPHICS, "lifetime", &extra)
                    .await?;
                let now = PointTime::At(ctx.now);
                for point in
                    envelope.totals(parse::PLATFORM, &user.entity(), &parse::DEMOGRAPHICS, now)
                {
                    out.emit(point)?;
                }
            }
        }
        if settings.max_media > 0 {
            media(ctx, &settings, &user, out).await?;
        }
        out.save_state(window.state());
        Ok(())
    }
}

/// The account's insights requests.
struct Account<'a> {
    ctx: &'a SourceContext<'a>,
    version: &'a str,
    user: &'a parse::User,
}

impl Account<'_> {
    /// `GET /{ig-user-id}/insights?metric=…&period=…{extra}`.
    async fn insights(
        &self,
        maps: &[MetricMap],
        period: &str,
        extra: &str,
    ) -> Result<InsightsEnvelope, ConnectorError> {
        let names = insights::names(maps);
        let path = format!(
            "/{}/insights?metric={}&period={period}{extra}",
            encode_query_value(&self.user.id),
            names.join(",")
        );
        let mapper = ErrorMapper::new(self.ctx.source_id, &PERMISSIONS).asking(&names);
        graph::get(self.ctx, self.version, &path, mapper).await
    }
}

/// The account, found from its Page when only `page_id` is set.
async fn fetch_user(
    ctx: &SourceContext<'_>,
    settings: &InstagramSettings,
) -> Result<parse::User, ConnectorError> {
    let v = settings.api_version.as_str();
    let mapper = ErrorMapper::new(ctx.source_id, &PERMISSIONS);
    let id = match (&settings.ig_user_id, &settings.page_id) {
        (Some(id), _) => id.clone(),
        (None, page) => {
            let page = page.as_deref().unwrap_or_default();
            let path = format!(
                "/{}?fields=instagram_business_account",
                encode_query_value(page)
            );
            let linked: parse::LinkedPage = graph::get(ctx, v, &path, mapper).await?;
            linked.instagram_business_account.map(|a| a.id).ok_or_else(|| {
                ConnectorError::NotFound(format!(
                    "Facebook Page {page} has no Instagram professional account linked; link one in Meta Business Suite or set ig_user_id"
                ))
            })?
        }
    };
    let path = format!(
        "/{}?fields=id,username,name,followers_count,follows_count,media_count",
        encode_query_value(&id)
    );
    graph::get(ctx, v, &path, mapper).await
}

/// The latest media with likes and comments, then each one's insights.
async fn media(
    ctx: &SourceContext<'_>,
    settings: &InstagramSettings,
    user: &parse::User,
    out: &mut dyn Emitter,
) -> Result<(), ConnectorError> {
    let v = settings.api_version.as_str();
    let path = format!(
        "/{}/media?fields=id,caption,timestamp,media_type,media_product_type,like_count,comments_count,permalink&limit={}",
        encode_query_value(&user.id),
        MEDIA_PER_PAGE.min(settings.max_media)
    );
    let mapper = ErrorMapper::new(ctx.source_id, &PERMISSIONS);
    let mut left = settings.max_media as usize;
    let mut items = Vec::new();
    graph::walk(
        ctx,
        v,
        &path,
        mapper,
        out,
        |page: graph::Page<parse::Media>, out| {
            for item in page.data.into_iter().take(left) {
                for point in item.points(ctx.now) {
                    out.emit(point)?;
                }
                items.push(item);
            }
            left = settings.max_media as usize - items.len();
            Ok(if left == 0 {
                Step::Stop
            } else {
                Step::Continue(None)
            })
        },
    )
    .await?;
    let names = insights::names(&parse::MEDIA_METRICS);
    let mapper = mapper.asking(&names);
    for item in &items {
        let path = format!(
            "/{v}/{}/insights?metric={}",
            encode_query_value(&item.id),
            names.join(",")
        );
        let response = ctx.http.send(HttpRequest::get(ctx.url(&path))).await?;
        let url_path = tally_model::error::url_path(&ctx.url(&path));
        if !response.is_success() {
            // Too new, or too few viewers: Meta answers #10; keep the item's
            // likes and comments and go on.
            if GraphError::parse(&response.body).is_some_and(|e| e.code == 10) {
                out.warn(&format!(
                    "media {} has no insights yet (Meta error 10: too new or too few viewers); \
                     its likes and comments are stored, its insights come with a later pull",
                    item.id
                ));
                continue;
            }
            return Err(mapper.map(&url_path, response.status, &response.body));
        }
        let envelope: InsightsEnvelope = decode_json(&url_path, &response.body)?;
        for point in envelope.lifetime(
            parse::PLATFORM,
            &item.entity(),
            &parse::MEDIA_METRICS,
            ctx.now,
        ) {
            out.emit(point)?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_documented_once() {
        let sample: InstagramSettings = tally_testkit::assert_settings_documented(
            &Instagram,
            concat!(env!("CARGO_MANIFEST_DIR"), "/instagram"),
        );
        assert_eq!(sample.max_media, 25);
    }

    #[test]
    fn an_account_needs_an_id_or_a_page() {
        let e = serde_json::from_value::<InstagramSettings>(serde_json::json!({}))
            .unwrap()
            .check()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid settings: set ig_user_id (the Instagram account id) or page_id (the Facebook Page it is linked to)"
        );
        let e = serde_json::from_value::<InstagramSettings>(
            serde_json::json!({"ig_user_id": "@bakery"}),
        )
        .unwrap()
        .check()
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("ig_user_id `@bakery` is not a numeric id"),
            "{e}"
        );
    }
}
