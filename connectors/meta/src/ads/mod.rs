//! `meta_ads`: daily ad insights of a Meta ad account (Marketing API) at
//! account and campaign level, with breakdowns, in the account's currency.
//!
//! - **Days are the account's.** `time_range` dates are read in the ad
//!   account's time zone, so the window is computed in it and each row's day
//!   becomes that local day's 24 hours.
//! - **Insights restate for 28 days.** Every pull re-reads a trailing window
//!   (the source's `lookback_days`, default 28); the store keeps a changed
//!   value as a revision, and `settle_days = 28` marks younger values provisional.
//! - **One breakdown per request**, as Meta requires: `age`, `gender`,
//!   `country`, `publisher_platform` each get their own pass, as dimensions.
//! - **Long ranges go async**: past `async_after_days`, each report is a
//!   `POST …/insights` report run, polled through the host (which paces the
//!   polls) and then read page by page, instead of timing out.

pub mod parse;

use crate::graph::window::Window;
use crate::graph::{self, version, ErrorMapper};
use async_trait::async_trait;
use chrono::NaiveDate;
use serde::Deserialize;
use tally_model::paginate::{encode_query_value, Step};
use tally_model::{
    AuthKind, Connector, ConnectorError, Description, Emitter, EntityKind, HttpClientExt,
    HttpRequest, Method, Settings, SourceContext,
};

/// The permission Insights needs (`ads_management` is for writes).
pub const PERMISSIONS: [&str; 1] = ["ads_read"];

/// Days Meta restates insights: re-read on every pull unless the source says otherwise.
pub const DEFAULT_LOOKBACK_DAYS: u32 = 28;
/// Rows per page of an insights answer.
const ROWS_PER_PAGE: u32 = 100;
/// Status polls of one async report run before the pull gives up on it.
const MAX_POLLS: u32 = 60;

/// The Meta Ads connector.
#[derive(Debug, Clone, Copy, Default)]
pub struct MetaAds;

/// `[sources.settings]` of a Meta Ads source.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Settings)]
#[serde(deny_unknown_fields)]
#[settings(check = "MetaAdsSettings::checked")]
pub struct MetaAdsSettings {
    /// The ad account id, `act_` followed by digits (Ads Manager → account menu), or the digits alone.
    pub ad_account_id: String,
    /// Breakdowns read as dimensions, one request each (`age`, `gender`, `country`, `publisher_platform`, …).
    #[serde(default = "default_breakdowns")]
    pub breakdowns: Vec<String>,
    /// Also read each campaign's daily insights (as the `campaign` dimension).
    #[serde(default = "yes")]
    pub campaigns: bool,
    /// Days of daily insights the first pull reads (Meta keeps 37 months).
    #[serde(default = "default_history_days")]
    pub history_days: u32,
    /// Ranges longer than this many days are read with an async report run.
    #[serde(default = "default_async_after_days")]
    pub async_after_days: u32,
    /// The Marketing API version spoken, e.g. `v27.0`; pin another only while moving between versions.
    #[serde(default = "version::default_version")]
    pub api_version: String,
}

fn default_breakdowns() -> Vec<String> {
    ["age", "gender", "country", "publisher_platform"]
        .map(String::from)
        .to_vec()
}

fn yes() -> bool {
    true
}

fn default_history_days() -> u32 {
    28
}

fn default_async_after_days() -> u32 {
    31
}

impl MetaAdsSettings {
    fn checked(self) -> Result<MetaAdsSettings, ConnectorError> {
        version::check(&self.api_version)?;
        let raw = self.ad_account_id.trim();
        let digits = raw.strip_prefix("act_").unwrap_or(raw);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConnectorError::Settings(format!(
                "ad_account_id `{raw}` is not an ad account id; write `act_` followed by the digits Ads Manager shows"
            )));
        }
        if let Some(bad) = self
            .breakdowns
            .iter()
            .find(|b| b.is_empty() || !b.bytes().all(|c| c.is_ascii_lowercase() || c == b'_'))
        {
            return Err(ConnectorError::Settings(format!(
                "breakdown `{bad}` is not a Marketing API breakdown name (lower case, e.g. `age`, `publisher_platform`)"
            )));
        }
        Ok(MetaAdsSettings {
            ad_account_id: digits.to_string(),
            ..self
        })
    }
}

#[async_trait]
impl Connector for MetaAds {
    fn describe(&self) -> Description {
        Description::new(
            "meta_ads",
            "Meta ad account daily spend, impressions, reach, link clicks, leads, purchases and revenue, per account and campaign, with breakdowns (Marketing API insights)",
            graph::GRAPH_ROOT,
        )
        .metrics([
            "cost.spend",
            "reach.impressions",
            "reach.reach",
            "traffic.clicks",
            "conversions.leads",
            "conversions.count",
            "conversions.revenue",
        ])
        .settings::<MetaAdsSettings>()
        .auth([
            // A system user token (Business Manager) is the usual server credential.
            AuthKind::Bearer,
            graph::facebook_login(&PERMISSIONS, false),
        ])
        // Ads insights are a BUC limit per ad account; the score limit of
        // the development tier is 60 reads per 300 s. The host follows
        // X-Business-Use-Case-Usage and x-fb-ads-insights-throttle.
        .rate_limit(60, 300, 20)
        .api_version_spec(version::marketing())
        .throttle_errors(graph::throttle_errors())
    }

    async fn check(&self, ctx: &SourceContext<'_>) -> Result<String, ConnectorError> {
        let settings: MetaAdsSettings = ctx.checked_settings()?;
        let account = fetch_account(ctx, &settings).await?;
        Ok(format!(
            "ad account {} ({}, {})",
            account.name.as_deref().unwrap_or(&settings.ad_account_id),
            account.currency,
            account.timezone_name.as_deref().unwrap_or("UTC")
        ))
    }

    async fn pull(
        &self,
        ctx: &SourceContext<'_>,
        out: &mut dyn Emitter,
    ) -> Result<(), ConnectorError> {
        let settings: MetaAdsSettings = ctx.checked_settings()?;
        let account = fetch_account(ctx, &settings).await?;
        let window = Window::of(ctx, settings.history_days, DEFAULT_LOOKBACK_DAYS);
        let offset = account.offset();
        let since = window.start.with_timezone(&offset).date_naive();
        let until = window.end.with_timezone(&offset).date_naive();
        let run = Reports {
            ctx,
            settings: &settings,
            account: &account,
            since,
            until,
        };
        run.report("account", None, out).await?;
        if settings.campaigns {
            run.report("campaign", None, out).await?;
        }
        for breakdown in &settings.breakdowns {
            run.report("account", Some(breakdown), out).await?;
        }
        out.save_state(window.state());
        Ok(())
    }
}

/// The ad account's currency and time zone.
async fn fetch_account(
    ctx: &SourceContext<'_>,
    settings: &MetaAdsSettings,
) -> Result<parse::AdAccount, ConnectorError> {
    let path = format!(
        "/act_{}?fields=id,name,currency,timezone_name,timezone_offset_hours_utc,account_status",
        settings.ad_account_id
    );
    let mapper = ErrorMapper::new(ctx.source_id, &PERMISSIONS);
    graph::get(ctx, &settings.api_version, &path, mapper).await
}

/// The insights reports of one pull: same account, same days.
struct Reports<'a> {
    ctx: &'a SourceContext<'a>,
    settings: &'a MetaAdsSettings,
    account: &'a parse::AdAccount,
    since: NaiveDate,
    until: NaiveDate,
}

impl Reports<'_> {
    /// The query of one report: daily rows at `level`, with one breakdown or none.
    fn query(&self, level: &str, breakdown: Option<&str>) -> String {
        let range = format!(
            r#"{{"since":"{}","until":"{}"}}"#,
            graph::ymd(self.since),
            graph::ymd(self.until)
        );
        let campaign = if level == "campaign" {
            ",campaign_id,campaign_name"
        } else {
            ""
        };
        let breakdown = breakdown.map_or_else(String::new, |b| format!("&breakdowns={b}"));
        format!(
            "level={level}&time_increment=1&time_range={}&fields={}{campaign}{breakdown}&limit={ROWS_PER_PAGE}",
            encode_query_value(&range),
            parse::FIELDS
        )
    }

    /// Reads one report (synchronously, or as an async run for long ranges)
    /// and emits its rows.
    async fn report(
        &self,
        level: &str,
        breakdown: Option<&str>,
        out: &mut dyn Emitter,
    ) -> Result<(), ConnectorError> {
        let ctx = self.ctx;
        let v = self.settings.api_version.as_str();
        let mapper = ErrorMapper::new(ctx.source_id, &PERMISSIONS);
        let query = self.query(level, breakdown);
        let days = (self.until - self.since).num_days();
        let path = if days > i64::from(self.settings.async_after_days) {
            let run = self.start_run(&query, mapper).await?;
            format!(
                "/{}/insights?limit={ROWS_PER_PAGE}",
                encode_query_value(&run)
            )
        } else {
            format!("/act_{}/insights?{query}", self.settings.ad_account_id)
        };
        let account_entity = self.account.entity(&self.settings.ad_account_id);
        let offset = self.account.offset();
        let currency = self.account.currency.as_str();
        graph::walk(
            ctx,
            v,
            &path,
            mapper,
            out,
            |page: graph::Page<parse::Row>, out| {
                for row in &page.data {
                    let (entity, dimensions) = match (level, breakdown) {
                        ("campaign", _) => {
                            let id = row.campaign_id.clone().unwrap_or_default();
                            let name = row.campaign_name.clone().unwrap_or_else(|| id.clone());
                            let entity = tally_model::Entity::new(
                                EntityKind::Campaign,
                                id,
                                Some(name.clone()),
                            );
                            (entity, vec![("campaign".to_string(), name)])
                        }
                        (_, Some(key)) => {
                            let Some(value) = row.breakdown(key) else {
                                continue;
                            };
                            (account_entity.clone(), vec![(key.to_string(), value)])
                        }
                        _ => (account_entity.clone(), Vec::new()),
                    };
                    for point in row.points(&entity, offset, currency, &dimensions) {
                        out.emit(point)?;
                    }
                }
                Ok(Step::Continue(None))
            },
        )
        .await
    }

    /// Starts an async report run and polls it until it completes; returns its id.
    async fn start_run(
        &self,
        query: &str,
        mapper: ErrorMapper<'_>,
    ) -> Result<String, ConnectorError> {
        let ctx = self.ctx;
        let v = self.settings.api_version.as_str();
        let path = format!("/{v}/act_{}/insights?{query}", self.settings.ad_account_id);
        let request = HttpRequest {
            method: Method::Post,
            ..HttpRequest::get(ctx.url(&path))
        };
        let (started, _) = ctx
            .http
            .get_json_with::<parse::ReportRunStarted, _>(request, |p, s, b| mapper.map(p, s, b))
            .await?;
        let id = started.report_run_id;
        let status_path = format!(
            "/{}?fields=async_status,async_percent_completion,error_code,error_message",
            encode_query_value(&id)
        );
        for _ in 0..MAX_POLLS {
            let run: parse::ReportRun = graph::get(ctx, v, &status_path, mapper).await?;
            match run.async_status.as_str() {
                "Job Completed" => return Ok(id),
                "Job Failed" | "Job Skipped" => {
                    return Err(ConnectorError::Other(format!(
                        "/{v}/{id}: Meta's async insights report {} ({}: {}); try a shorter history_days or fewer breakdowns",
                        run.async_status.to_lowercase(),
                        run.error_code.map_or_else(|| "no code".to_string(), |c| c.to_string()),
                        run.error_message.unwrap_or_default()
                    )))
                }
                _ => {}
            }
        }
        Err(ConnectorError::Other(format!(
            "/{v}/{id}: Meta's async insights report is still running after {MAX_POLLS} status checks; the source will be pulled again on its next run"
        )))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_documented_once() {
        let sample: MetaAdsSettings = tally_testkit::assert_settings_documented(
            &MetaAds,
            concat!(env!("CARGO_MANIFEST_DIR"), "/meta_ads"),
        );
        assert_eq!(sample.ad_account_id, "1234567890");
        assert_eq!(sample.breakdowns.len(), 4);
    }

    #[test]
    fn an_account_name_is_refused() {
        let e = serde_json::from_value::<MetaAdsSettings>(
            serde_json::json!({"ad_account_id": "Bakery ads"}),
        )
        .unwrap()
        .check()
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid settings: ad_account_id `Bakery ads` is not an ad account id; write `act_` followed by the digits Ads Manager shows"
        );
    }
}
