//! `facebook_pages`: a Facebook Page's followers, daily Page insights, and
//! its latest posts with reactions, comments, shares and post insights.
//!
//! A pull is one request for the Page, one per 90 days of daily insights,
//! and one per 25 posts: summaries (`reactions.summary(total_count).limit(0)`)
//! and post insights (`insights.metric(…)`) are expanded into the posts
//! listing, so there is no request per post and no multi-id `?ids=` request
//! (which v27.0 refuses to new apps).

pub mod parse;

use crate::graph::window::Window;
use crate::graph::{self, insights, version, ErrorMapper};
use async_trait::async_trait;
use serde::Deserialize;
use tally_model::paginate::{encode_query_value, Step};
use tally_model::{Connector, ConnectorError, Description, Emitter, Settings, SourceContext};

/// Permissions a Page token needs for everything this connector reads.
pub const PERMISSIONS: [&str; 3] = ["pages_read_engagement", "read_insights", "pages_show_list"];

/// Posts per page of the posts listing.
const POSTS_PER_PAGE: u32 = 25;
/// Days re-read by an incremental pull, for late Page insights.
const DEFAULT_LOOKBACK_DAYS: u32 = 3;
/// Page insights answer at most 93 days per request.
const SPAN_DAYS: i64 = 90;

/// The Facebook Pages connector.
#[derive(Debug, Clone, Copy, Default)]
pub struct FacebookPages;

/// `[sources.settings]` of a Facebook Pages source.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Settings)]
#[serde(deny_unknown_fields)]
#[settings(check = "FacebookPagesSettings::checked")]
pub struct FacebookPagesSettings {
    /// The Page id (digits): Page → About → Page transparency, or Meta Business Suite → Settings.
    pub page_id: String,
    /// How many of the latest posts get reactions, comments, shares and post insights; `0` turns them off.
    #[serde(default = "default_max_posts")]
    pub max_posts: u32,
    /// Days of daily Page insights the first pull reads (later pulls read on from the last one).
    #[serde(default = "default_history_days")]
    pub history_days: u32,
    /// The Graph API version spoken, e.g. `v27.0`; pin another only while moving between versions.
    #[serde(default = "version::default_version")]
    pub api_version: String,
}

fn default_max_posts() -> u32 {
    50
}

fn default_history_days() -> u32 {
    28
}

impl FacebookPagesSettings {
    fn checked(self) -> Result<FacebookPagesSettings, ConnectorError> {
        version::check(&self.api_version)?;
        let id = self.page_id.trim();
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConnectorError::Settings(format!(
                "page_id `{id}` is not a Page id; use the digits shown under Page → About → Page transparency, not the Page's name or URL"
            )));
        }
        Ok(FacebookPagesSettings {
            page_id: id.to_string(),
            ..self
        })
    }
}

#[async_trait]
impl Connector for FacebookPages {
    fn describe(&self) -> Description {
        graph::description(
            Description::new(
                "facebook_pages",
                "Facebook Page followers, daily views, viewers, engagement and follows, plus reactions, comments, shares and insights of the latest posts (Graph API)",
                graph::GRAPH_ROOT,
            )
            .platform(parse::PLATFORM)
            .metrics([
                "audience.followers",
                "audience.follows",
                "audience.unfollows",
                "reach.views",
                "reach.reach",
                "reach.profile_views",
                "engagement.interactions",
                "engagement.reactions",
                "engagement.comments",
                "engagement.shares",
                "traffic.clicks",
            ])
            .settings::<FacebookPagesSettings>(),
            &PERMISSIONS,
            true,
        )
    }

    async fn check(&self, ctx: &SourceContext<'_>) -> Result<String, ConnectorError> {
        let settings: FacebookPagesSettings = ctx.checked_settings()?;
        let page = fetch_page(ctx, &settings).await?;
        let followers = page
            .followers_count
            .map_or_else(|| "hidden".to_string(), |n| n.to_string());
        Ok(format!(
            "Page {} ({followers} followers)",
            page.name.as_deref().unwrap_or(&page.id)
        ))
    }

    async fn pull(
        &self,
        ctx: &SourceContext<'_>,
        out: &mut dyn Emitter,
    ) -> Result<(), ConnectorError> {
        let settings: FacebookPagesSettings = ctx.checked_settings()?;
        let v = settings.api_version.as_str();
        let page = fetch_page(ctx, &settings).await?;
        for point in page.points(ctx.now) {
            out.emit(point)?;
        }
        let entity = page.entity();
        let window = Window::of(ctx, settings.history_days, DEFAULT_LOOKBACK_DAYS);
        let names = insights::names(&parse::PAGE_METRICS);
        let mapper = ErrorMapper::new(ctx.source_id, &PERMISSIONS).asking(&names);
        for span in window.spans(SPAN_DAYS) {
            let path = format!(
                "/{}/insights?metric={}&period=day&since={}&until={}",
                encode_query_value(&settings.page_id),
                names.join(","),
                span.start.timestamp(),
                span.end.timestamp()
            );
            let envelope: graph::InsightsEnvelope = graph::get(ctx, v, &path, mapper).await?;
            for point in envelope.daily(parse::PLATFORM, &entity, &parse::PAGE_METRICS) {
                out.emit(point)?;
            }
        }
        if settings.max_posts > 0 {
            posts(ctx, &settings, out).await?;
        }
        out.save_state(window.state());
        Ok(())
    }
}

/// The Page's followers and likes.
async fn fetch_page(
    ctx: &SourceContext<'_>,
    settings: &FacebookPagesSettings,
) -> Result<parse::Page, ConnectorError> {
    let path = format!(
        "/{}?fields=id,name,followers_count,fan_count",
        encode_query_value(&settings.page_id)
    );
    let mapper = ErrorMapper::new(ctx.source_id, &PERMISSIONS);
    graph::get(ctx, &settings.api_version, &path, mapper).await
}

/// The latest `max_posts` posts, 25 a page, with summaries and insights expanded.
async fn posts(
    ctx: &SourceContext<'_>,
    settings: &FacebookPagesSettings,
    out: &mut dyn Emitter,
) -> Result<(), ConnectorError> {
    let metrics = insights::names(&parse::POST_METRICS);
    let path = format!(
        "/{}/posts?fields=id,message,created_time,shares,reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0),insights.metric({})&limit={}",
        encode_query_value(&settings.page_id),
        metrics.join(","),
        POSTS_PER_PAGE.min(settings.max_posts)
    );
    let mapper = ErrorMapper::new(ctx.source_id, &PERMISSIONS).asking(&metrics);
    let mut left = settings.max_posts as usize;
    graph::walk(
        ctx,
        &settings.api_version,
        &path,
        mapper,
        out,
        |page: graph::Page<parse::Post>, out| {
            for post in page.data.iter().take(left) {
                for point in post.points(ctx.now) {
                    out.emit(point)?;
                }
            }
            left = left.saturating_sub(page.data.len());
            Ok(if left == 0 {
                Step::Stop
            } else {
                Step::Continue(None)
            })
        },
    )
    .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_documented_once() {
        let sample: FacebookPagesSettings = tally_testkit::assert_settings_documented(
            &FacebookPages,
            concat!(env!("CARGO_MANIFEST_DIR"), "/facebook_pages"),
        );
        assert_eq!(
            (sample.max_posts, sample.api_version.as_str()),
            (50, "v27.0")
        );
    }

    #[test]
    fn a_page_name_is_refused_with_where_to_find_the_id() {
        let e = serde_json::from_value::<FacebookPagesSettings>(
            serde_json::json!({"page_id": "CornerBakery"}),
        )
        .unwrap()
        .check()
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid settings: page_id `CornerBakery` is not a Page id; use the digits shown under Page → About → Page transparency, not the Page's name or URL"
        );
    }
}
