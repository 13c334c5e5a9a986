//! Google Analytics 4 (Data API v1beta, `properties/{id}:runReport`): daily
//! sessions, users, new users, key events and revenue of a property, in total,
//! by campaign source / medium / name (the UTM tags `tally utm` writes) and by
//! country.
//!
//! Why it looks the way it does:
//!
//! - **Three reports, not one.** Totals come from a report by `date` alone, so
//!   goals add up what GA4 itself counts (a user who came from two campaigns
//!   is one user, not two); the breakdowns are segments beside them.
//! - **GA4 restates recent days.** Each pull re-reads from the last day it saw
//!   minus the lookback (3 days by default); a changed value is kept by the
//!   store as a revision, and `settle_days` marks young days provisional.
//! - **Offset paging.** `limit` rows from `offset` until `rowCount`, ordered by
//!   date so pages do not shift.
//! - **Tokens, not requests.** Every request asks for `propertyQuota` and is
//!   charged to the property's budget (`properties/{id}`); each answer's
//!   buckets go to the host (`ctx.report_quota`), which refuses, unsent, any
//!   later request on the property (of this source or another, in this pull or
//!   the next) while a bucket cannot pay for one like the last, until the
//!   bucket's reset. The decision is the host's because only it sees every
//!   source and outlives the pull.

pub mod parse;

use crate::google;
use async_trait::async_trait;
use chrono::{Days, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::json;
use tally_model::error::url_path;
use tally_model::paginate::Step;
use tally_model::{
    AuthKind, Connector, ConnectorError, Description, Emitter, Entity, EntityKind, HttpClientExt,
    HttpRequest, Settings, SourceContext,
};

/// Rows asked for per page: GA4's default page size.
pub const PAGE_ROWS: u64 = 10_000;
/// The last day every report reads: GA4's relative `today`, in the property's time zone.
const END_DATE: &str = "today";
/// Days re-read on each pull when the source sets no `lookback_days`.
pub const DEFAULT_LOOKBACK_DAYS: u32 = 3;
const SCOPE: &str = "https://www.googleapis.com/auth/analytics.readonly";
/// The calendar of a daily bucket when an answer states no time zone: Google's quota day.
const GOOGLE_QUOTA_DAY: Tz = chrono_tz::America::Los_Angeles;

/// The GA4 connector.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ga4;

/// `[sources.settings]` of a GA4 source.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Settings)]
#[serde(deny_unknown_fields)]
#[settings(check = "Ga4Settings::checked")]
pub struct Ga4Settings {
    /// The GA4 property id, digits only (Admin → Property details), or `properties/123456789`.
    pub property_id: String,
    /// Key events counted as leads (`conversions.leads`), such as `["generate_lead"]`.
    #[serde(default)]
    pub lead_events: Vec<String>,
    /// Days of history the first pull reads.
    #[serde(default = "default_history_days")]
    pub history_days: u32,
}

fn default_history_days() -> u32 {
    28
}

impl Ga4Settings {
    /// Accepts `123` or `properties/123`; refuses a measurement id (`G-…`) or a UA id.
    fn checked(self) -> Result<Ga4Settings, ConnectorError> {
        let id = self.property_id.trim();
        let id = id.strip_prefix("properties/").unwrap_or(id);
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConnectorError::Settings(format!(
                "property_id `{}` is not a GA4 property id (digits, shown in Admin → Property details; not a `G-` measurement id)",
                self.property_id
            )));
        }
        for event in &self.lead_events {
            if event.is_empty()
                || !event
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return Err(ConnectorError::Settings(format!(
                    "lead_events: `{event}` is not a GA4 event name (letters, digits and `_`)"
                )));
            }
        }
        Ok(Ga4Settings {
            property_id: id.to_string(),
            ..self
        })
    }
}

#[async_trait]
impl Connector for Ga4 {
    fn describe(&self) -> Description {
        Description::new(
            "ga4",
            "Google Analytics 4: daily sessions, users, key events and revenue, in total, by campaign source/medium/name and by country (Data API v1beta)",
            "https://analyticsdata.googleapis.com/v1beta",
        )
        .metrics([
            "traffic.sessions",
            "traffic.users",
            "traffic.new_users",
            "conversions.count",
            "conversions.revenue",
            "conversions.leads",
        ])
        .settings::<Ga4Settings>()
        .auth(google::auth(SCOPE))
        // The Data API serves a service account added to the property (Viewer),
        // so agencies need no user's login per client.
        .also_auth(AuthKind::service_account(&[SCOPE]))
        // GA4 limits tokens, not requests (see propertyQuota); 10 concurrent requests per property.
        .rate_limit(10, 1, 10)
    }

    async fn check(&self, ctx: &SourceContext<'_>) -> Result<String, ConnectorError> {
        let settings: Ga4Settings = ctx.checked_settings()?;
        let report = Report::totals(&settings);
        let body = report.body("7daysAgo", 0, 1);
        let (page, _) = run_report(ctx, &settings, &body).await?;
        let zone = page
            .metadata
            .as_ref()
            .and_then(|m| m.time_zone.clone())
            .unwrap_or_else(|| "an unstated time zone".into());
        Ok(format!(
            "property {} ({zone}), {} days with data in the last week",
            settings.property_id, page.row_count
        ))
    }

    async fn pull(
        &self,
        ctx: &SourceContext<'_>,
        out: &mut dyn Emitter,
    ) -> Result<(), ConnectorError> {
        let settings: Ga4Settings = ctx.checked_settings()?;
        let start = start_date(ctx, &settings);
        let property = Entity::new(
            EntityKind::Property,
            format!("properties/{}", settings.property_id),
            None,
        );
        let mut latest: Option<NaiveDate> = None;
        for report in [
            Report::totals(&settings),
            Report::by(
                &settings,
                &["sessionSource", "sessionMedium", "sessionCampaignName"],
            ),
            Report::by(&settings, &["country"]),
        ] {
            let path = report_path(&settings);
            let names = report.metric_names();
            let mut caveats = parse::Caveats::default();
            let fetch = |cursor: Option<String>| {
                let offset = cursor.and_then(|c| c.parse::<u64>().ok()).unwrap_or(0);
                let body = report.body(&start, offset, PAGE_ROWS);
                let settings = &settings;
                async move {
                    let (page, body) = run_report(ctx, settings, &body).await?;
                    let read = offset + page.rows.len() as u64;
                    let next =
                        (!page.rows.is_empty() && read < page.row_count).then(|| read.to_string());
                    Ok(((page, body), next))
                }
            };
            ctx.paginate(&path, None, out, fetch, |(page, body), out| {
                let decode = |e| ConnectorError::decode(&url_path(&ctx.url(&path)), e, &body);
                let mapped = parse::report_points(&property, &page, &names).map_err(decode)?;
                caveats.read(&page).map_err(decode)?;
                latest = latest.max(mapped.latest_day);
                for point in mapped.points {
                    out.emit(point)?;
                }
                Ok(Step::Continue(None))
            })
            .await?;
            for warning in caveats.warnings(&report.label(), &start, END_DATE) {
                out.warn(&warning);
            }
        }
        if let Some(day) = latest {
            out.save_state(google::through(day));
        } else if let Some(state) = ctx.state {
            out.save_state(state.clone());
        }
        Ok(())
    }
}

/// The URL path of the property's `runReport`.
fn report_path(settings: &Ga4Settings) -> String {
    format!("/properties/{}:runReport", settings.property_id)
}

/// The first day to read: `--since`, else the last day read minus the
/// lookback, else `history_days` ago (as GA4's relative `NdaysAgo`, since the
/// property's time zone is not known before its first answer).
fn start_date(ctx: &SourceContext<'_>, settings: &Ga4Settings) -> String {
    if let Some(since) = ctx.since {
        return since.date_naive().format("%Y-%m-%d").to_string();
    }
    match google::last_day_read(ctx) {
        Some(day) => {
            let lookback = ctx.lookback_days.unwrap_or(DEFAULT_LOOKBACK_DAYS);
            day.checked_sub_days(Days::new(u64::from(lookback)))
                .unwrap_or(day)
                .format("%Y-%m-%d")
                .to_string()
        }
        None => format!("{}daysAgo", settings.history_days),
    }
}

/// One report: its dimensions besides `date`, and the metrics asked for.
struct Report {
    dimensions: Vec<&'static str>,
    metrics: Vec<(String, &'static str)>,
}

impl Report {
    /// By `date` alone: the totals goals add up.
    fn totals(settings: &Ga4Settings) -> Report {
        Report::by(settings, &[])
    }

    /// By `date` and `dimensions`.
    fn by(settings: &Ga4Settings, dimensions: &[&'static str]) -> Report {
        let mut metrics: Vec<(String, &'static str)> = parse::METRICS
            .iter()
            .map(|(ga, ours)| (ga.to_string(), *ours))
            .collect();
        metrics.extend(
            settings
                .lead_events
                .iter()
                .map(|event| (format!("keyEvents:{event}"), "conversions.leads")),
        );
        Report {
            dimensions: dimensions.to_vec(),
            metrics,
        }
    }

    /// How warnings name the report: `totals`, `by country`.
    fn label(&self) -> String {
        if self.dimensions.is_empty() {
            "totals".to_string()
        } else {
            format!("by {}", self.dimensions.join(", "))
        }
    }

    fn metric_names(&self) -> Vec<(String, &'static str)> {
        self.metrics.clone()
    }

    /// The `RunReportRequest` for one page.
    fn body(&self, start: &str, offset: u64, limit: u64) -> serde_json::Value {
        let dimensions: Vec<_> = std::iter::once("date")
            .chain(self.dimensions.iter().copied())
            .map(|name| json!({ "name": name }))
            .collect();
        let metrics: Vec<_> = self
            .metrics
            .iter()
            .map(|(name, _)| json!({ "name": name }))
            .collect();
        json!({
            "dateRanges": [{ "startDate": start, "endDate": END_DATE }],
            "dimensions": dimensions,
            "metrics": metrics,
            "orderBys": [{ "dimension": { "dimensionName": "date" } }],
            "offset": offset.to_string(),
            "limit": limit.to_string(),
            "returnPropertyQuota": true,
        })
    }
}

/// The budget GA4's property quota is kept under: the property, whichever
/// source or credential reads it.
fn budget(settings: &Ga4Settings) -> String {
    format!("properties/{}", settings.property_id)
}

/// POSTs one `runReport`, charged to the property's budget, decodes it (with
/// the body, for error messages) and hands the host what `propertyQuota` says
/// is left, so the host refuses the next request, of this source or any other
/// on the property, once a bucket cannot pay for it.
async fn run_report(
    ctx: &SourceContext<'_>,
    settings: &Ga4Settings,
    body: &serde_json::Value,
) -> Result<(parse::RunReportResponse, Vec<u8>), ConnectorError> {
    let budget = budget(settings);
    let request = HttpRequest::post_json(ctx.url(&report_path(settings)), body).charged_to(&budget);
    let (page, response) = ctx
        .http
        .get_json_with::<parse::RunReportResponse, _>(request, |path, status, body| {
            google::error_for("Google Analytics", path, status, body)
        })
        .await?;
    if let Some(quota) = &page.property_quota {
        let tz = page
            .metadata
            .as_ref()
            .and_then(|m| m.time_zone.as_deref())
            .and_then(|name| google::time_zone(name, "metadata.timeZone").ok())
            .unwrap_or(GOOGLE_QUOTA_DAY);
        for stated in quota.statements(&budget, Utc::now(), tz) {
            ctx.report_quota(&stated)?;
        }
    }
    Ok((page, response.body))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_documented_once() {
        let sample: Ga4Settings = tally_testkit::assert_settings_documented(
            &Ga4,
            concat!(env!("CARGO_MANIFEST_DIR"), "/ga4"),
        );
        assert_eq!(sample.lead_events, vec!["generate_lead".to_string()]);
    }

    #[test]
    fn a_measurement_id_is_refused_with_where_to_find_the_property_id() {
        let settings = Ga4Settings {
            property_id: "G-ABC123".into(),
            lead_events: vec![],
            history_days: 28,
        };
        assert_eq!(
            settings.checked().unwrap_err().to_string(),
            "invalid settings: property_id `G-ABC123` is not a GA4 property id (digits, shown in Admin → Property details; not a `G-` measurement id)"
        );
    }

    #[test]
    fn the_request_body_names_the_report_and_asks_for_the_quota() {
        let settings = Ga4Settings {
            property_id: "1".into(),
            lead_events: vec!["generate_lead".into()],
            history_days: 28,
        };
        let body = Report::by(&settings, &["country"]).body("28daysAgo", 10_000, PAGE_ROWS);
        assert_eq!(
            body["dimensions"],
            json!([{"name": "date"}, {"name": "country"}])
        );
        assert_eq!(
            body["metrics"][5],
            json!({"name": "keyEvents:generate_lead"})
        );
        assert_eq!(body["offset"], "10000");
        assert_eq!(body["limit"], "10000");
        assert_eq!(body["returnPropertyQuota"], true);
        assert!(
            !body.to_string().contains("\"conversions\""),
            "never the deprecated name"
        );
    }
}
