//! YouTube Analytics (v2 `reports.query`): a channel's daily views, watch
//! time, likes, comments, shares and subscribers gained and lost, and its
//! daily views and watch time by traffic source.
//!
//! Why it looks the way it does:
//!
//! - **The same channel, the same platform.** Points are written under the
//!   `youtube` platform and the channel id, beside the Data API connector's
//!   lifetime totals, and the quota is the YouTube project's 10,000 units a
//!   day (reset at midnight Pacific): a source using the same credential as a
//!   `youtube` source shares its ledger.
//! - **Days are Pacific days.** YouTube Analytics counts in Pacific time; the
//!   last days are restated, so each pull re-reads from the last day it saw
//!   minus the lookback (3 days by default).
//! - **Owner data needs OAuth.** Analytics are private: an API key is not enough.
//! - **Demographics are a reading, not a day.** YouTube gives viewer shares
//!   by age group and gender only over a whole window, never per day, so
//!   they are gauges at the pull over the last 28 days, in percent.

pub mod parse;

use crate::google;
use async_trait::async_trait;
use chrono::{Days, NaiveDate};
use serde::Deserialize;
use tally_model::error::url_path;
use tally_model::paginate::encode_query_value;
use tally_model::{
    Connector, ConnectorError, Description, Emitter, Entity, EntityKind, QuotaSpec, QuotaWindow,
    Settings, SourceContext,
};

/// The platform written on every point: the Data API connector's.
pub const PLATFORM: &str = "youtube";
/// The window the demographics cover, ending with the pull's last day: YouTube
/// Studio's default, and long enough for the shares to hold still.
pub const DEMOGRAPHICS_DAYS: u64 = 28;
/// Days re-read on each pull when the source sets no `lookback_days`.
pub const DEFAULT_LOOKBACK_DAYS: u32 = 3;
const SCOPE: &str = "https://www.googleapis.com/auth/yt-analytics.readonly";

/// The YouTube Analytics connector.
#[derive(Debug, Clone, Copy, Default)]
pub struct YoutubeAnalytics;

/// `[sources.settings]` of a YouTube Analytics source.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Settings)]
#[serde(deny_unknown_fields)]
#[settings(check = "YoutubeAnalyticsSettings::checked")]
pub struct YoutubeAnalyticsSettings {
    /// The channel id (`UC…`) the signed-in account owns or manages.
    pub channel_id: String,
    /// Days of history the first pull reads.
    #[serde(default = "default_history_days")]
    pub history_days: u32,
}

fn default_history_days() -> u32 {
    28
}

impl YoutubeAnalyticsSettings {
    /// Checks `channel_id` is a channel id, not a handle.
    fn checked(self) -> Result<YoutubeAnalyticsSettings, ConnectorError> {
        let id = self.channel_id.trim();
        let shaped = id.starts_with("UC")
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !shaped {
            return Err(ConnectorError::Settings(format!(
                "channel_id `{id}` is not a YouTube channel id (`UC` followed by letters, digits, `-` or `_`; YouTube Studio → Settings → Channel → Advanced settings)"
            )));
        }
        Ok(YoutubeAnalyticsSettings {
            channel_id: id.to_string(),
            ..self
        })
    }
}

#[async_trait]
impl Connector for YoutubeAnalytics {
    fn describe(&self) -> Description {
        Description::new(
            "youtube_analytics",
            "YouTube Analytics: a channel's daily views, watch time, likes, comments, shares and subscribers gained and lost, views by traffic source, and its viewers' age and gender (v2)",
            "https://youtubeanalytics.googleapis.com/v2",
        )
        .platform(PLATFORM)
        .metrics([
            "reach.views",
            "engagement.watch_time",
            "engagement.likes",
            "engagement.comments",
            "engagement.shares",
            "audience.follows",
            "audience.unfollows",
            "audience.viewer_share",
        ])
        .settings::<YoutubeAnalyticsSettings>()
        .auth(google::auth(SCOPE))
        .rate_limit(100, 1, 10)
        .quota(QuotaSpec::new(10_000, QuotaWindow::Day, "America/Los_Angeles"))
    }

    async fn check(&self, ctx: &SourceContext<'_>) -> Result<String, ConnectorError> {
        let settings: YoutubeAnalyticsSettings = ctx.checked_settings()?;
        let today = google::today(ctx.now, parse::DAY_ZONE);
        let start = today.checked_sub_days(Days::new(7)).unwrap_or(today);
        let (table, _) = query(ctx, &settings, "views", "day", start, today, Some("day")).await?;
        Ok(format!(
            "channel {}: {} days of analytics in the last week",
            settings.channel_id,
            table.rows.len()
        ))
    }

    async fn pull(
        &self,
        ctx: &SourceContext<'_>,
        out: &mut dyn Emitter,
    ) -> Result<(), ConnectorError> {
        let settings: YoutubeAnalyticsSettings = ctx.checked_settings()?;
        let (start, end) = google::date_window(
            ctx,
            parse::DAY_ZONE,
            settings.history_days,
            DEFAULT_LOOKBACK_DAYS,
        );
        let channel = Entity::new(EntityKind::Account, settings.channel_id.clone(), None);
        let all: Vec<&str> = parse::METRICS.iter().map(|(name, _, _)| *name).collect();
        let reports = [
            (all.join(","), "day"),
            (
                "views,estimatedMinutesWatched".to_string(),
                "day,insightTrafficSourceType",
            ),
        ];
        for (metrics, dimensions) in &reports {
            let (table, body) =
                query(ctx, &settings, metrics, dimensions, start, end, Some("day")).await?;
            let points = parse::table_points(&channel, &table)
                .map_err(|e| ConnectorError::decode(&url_path(&ctx.url("/reports")), e, &body))?;
            for point in points {
                out.emit(point)?;
            }
        }
        // Demographics: shares over the last DEMOGRAPHICS_DAYS, read at the pull.
        let from = end
            .checked_sub_days(Days::new(DEMOGRAPHICS_DAYS - 1))
            .unwrap_or(end);
        let (metric, _) = parse::VIEWER_PERCENTAGE;
        let (table, body) =
            query(ctx, &settings, metric, "ageGroup,gender", from, end, None).await?;
        let points = parse::demographic_points(&channel, &table, ctx.now)
            .map_err(|e| ConnectorError::decode(&url_path(&ctx.url("/reports")), e, &body))?;
        for point in points {
            out.emit(point)?;
        }
        out.save_state(google::through(end));
        Ok(())
    }
}

/// One `reports.query` (1 quota unit), decoded, with its body for error
/// messages; `sort` orders the rows (`day`), where the report has that dimension.
async fn query(
    ctx: &SourceContext<'_>,
    settings: &YoutubeAnalyticsSettings,
    metrics: &str,
    dimensions: &str,
    start: NaiveDate,
    end: NaiveDate,
    sort: Option<&str>,
) -> Result<(parse::QueryResponse, Vec<u8>), ConnectorError> {
    let mut path = format!(
        "/reports?ids={}&startDate={}&endDate={}&metrics={}&dimensions={}",
        encode_query_value(&format!("channel=={}", settings.channel_id)),
        start.format("%Y-%m-%d"),
        end.format("%Y-%m-%d"),
        encode_query_value(metrics),
        encode_query_value(dimensions),
    );
    if let Some(sort) = sort {
        path.push_str(&format!("&sort={}", encode_query_value(sort)));
    }
    let (table, response) = ctx
        .get_json::<parse::QueryResponse, _>(&path, |p, s, b| {
            google::error_for("YouTube Analytics", p, s, b)
        })
        .await?;
    Ok((table, response.body))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_documented_once() {
        let sample: YoutubeAnalyticsSettings = tally_testkit::assert_settings_documented(
            &YoutubeAnalytics,
            concat!(env!("CARGO_MANIFEST_DIR"), "/youtube_analytics"),
        );
        assert_eq!(sample.history_days, 28);
    }

    #[test]
    fn a_handle_is_refused() {
        let settings = YoutubeAnalyticsSettings {
            channel_id: "@cornerbakery".into(),
            history_days: 28,
        };
        assert_eq!(
            settings.checked().unwrap_err().to_string(),
            "invalid settings: channel_id `@cornerbakery` is not a YouTube channel id (`UC` followed by letters, digits, `-` or `_`; YouTube Studio → Settings → Channel → Advanced settings)"
        );
    }
}
