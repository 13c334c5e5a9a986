//! The monthly report of one client: goals with status and pace, ROI, the
//! funnel, month-over-month change per metric and platform, top posts, top
//! segments and where every number came from.
//!
//! This module builds the report as data ([`Report`], serializable as the
//! JSON format); `tally-report` renders it as Markdown or a self-contained
//! HTML page with charts. Everything is computed with the same rules as
//! goals (see [`crate::goals`]): totals of sums and changes of gauges within
//! the client's calendar month, gaps stated rather than counted as zero,
//! money in the client's currency.

mod funnel;
mod mom;
mod provenance;
mod roi;
mod top;

pub use funnel::{Funnel, FunnelStageRow};
pub use mom::Change;
pub use provenance::Provenance;
pub use roi::{CostLine, Roi};
pub use top::{Segment, TopPost};

use crate::period::Period;
use crate::roi::money::{Money, UnitError};
use crate::scope::{LoadError, Scope};
use crate::series::{self, Series};
use crate::{evaluate_all, Context, Evaluation};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use tally_config::time::local_date;
use tally_store::{PointQuery, StoreError, StoredPoint};

/// Why a report could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The client is not configured.
    #[error(
        "client `{client}` is not configured (configured: {known}); pass one of them with --client"
    )]
    UnknownClient {
        /// The id asked for.
        client: String,
        /// The configured ids.
        known: String,
    },
    /// The month does not exist.
    #[error("`{month}` is not a month; write it as YYYY-MM, e.g. 2026-06")]
    BadMonth {
        /// What was given.
        month: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Money in currencies that cannot be added up.
    #[error(transparent)]
    Unit(#[from] UnitError),
}

impl From<LoadError> for ReportError {
    fn from(e: LoadError) -> ReportError {
        match e {
            LoadError::Store(s) => ReportError::Store(s),
            LoadError::Unit(u) => ReportError::Unit(u),
        }
    }
}

/// The client a report is for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientInfo {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its time zone.
    pub timezone: String,
}

/// One client's month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Whose report.
    pub client: ClientInfo,
    /// `YYYY-MM`.
    pub month: String,
    /// First day of the month.
    pub start: NaiveDate,
    /// Last day of the month.
    pub end: NaiveDate,
    /// The instant the figures are as of: the month's end, or now for the current month.
    pub as_of: DateTime<Utc>,
    /// Whether the month is over.
    pub complete: bool,
    /// Currency money is shown in.
    pub currency: Option<String>,
    /// The client's goals, evaluated at `as_of`.
    pub goals: Vec<Evaluation>,
    /// Goals that could not be evaluated, with the reason.
    pub goal_errors: Vec<String>,
    /// Costs, value and derived ratios.
    pub roi: Roi,
    /// Awareness → consideration → conversion.
    pub funnel: Funnel,
    /// This month against the previous one, per platform and metric.
    pub month_over_month: Vec<Change>,
    /// Posts and videos with the most engagement in the month.
    pub top_posts: Vec<TopPost>,
    /// The largest breakdowns (country, age, gender) where connectors collect them.
    pub segments: Vec<Segment>,
    /// Each source: when pulled, how many points, provisional or final.
    pub provenance: Vec<Provenance>,
}

/// Parses `YYYY-MM`.
pub fn parse_month(text: &str) -> Result<(i32, u32), ReportError> {
    let bad = || ReportError::BadMonth {
        month: text.to_string(),
    };
    let (y, m) = text.split_once('-').ok_or_else(bad)?;
    let y: i32 = y.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if !(1..=12).contains(&m) || y < 1970 {
        return Err(bad());
    }
    Ok((y, m))
}

/// Every series of a client over a window, by metric, plus the breakdown points.
pub(crate) struct Data {
    /// Series that add up to totals, by metric.
    pub(crate) by_metric: BTreeMap<String, Vec<Series>>,
    /// Every post, video and event series, by metric, for top posts.
    pub(crate) items: BTreeMap<String, Vec<Series>>,
    /// Points with dimensions, for segments.
    pub(crate) breakdowns: Vec<StoredPoint>,
}

fn load(
    ctx: &Context<'_>,
    scope: &Scope,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    at: DateTime<Utc>,
    money: &mut Money,
) -> Result<Data, ReportError> {
    let points = if scope.sources.is_empty() {
        Vec::new()
    } else {
        ctx.store.query(&PointQuery {
            sources: scope.sources.clone(),
            from: Some(from),
            to: Some(to),
            ..PointQuery::default()
        })?
    };
    let (breakdowns, totals): (Vec<StoredPoint>, Vec<StoredPoint>) = points
        .into_iter()
        .partition(|p| !p.point.dimensions.is_empty());
    let context = format!("report of {}", scope.label);
    let rows = totals.into_iter().filter_map(series::row_of).collect();
    let all = series::build_all(rows, money, &ctx.settlement, at, &context)?;
    let mut items: BTreeMap<String, Vec<Series>> = BTreeMap::new();
    for s in all.iter().filter(|s| s.is_item()) {
        items.entry(s.metric.clone()).or_default().push(s.clone());
    }
    let mut by_metric: BTreeMap<String, Vec<Series>> = BTreeMap::new();
    for s in series::totals(all) {
        by_metric.entry(s.metric.clone()).or_default().push(s);
    }
    Ok(Data {
        by_metric,
        items,
        breakdowns,
    })
}

/// Builds the report of `client` for `month` (default: the current month in
/// the client's time zone) as known at `now`.
pub fn build(
    ctx: &Context<'_>,
    client: &str,
    month: Option<(i32, u32)>,
    now: DateTime<Utc>,
) -> Result<Report, ReportError> {
    let config = ctx
        .client(client)
        .ok_or_else(|| ReportError::UnknownClient {
            client: client.to_string(),
            known: ctx
                .config
                .clients
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let tz = config.timezone;
    let today = local_date(now, tz);
    let (y, m) = month.unwrap_or((today.year(), today.month()));
    let period = Period::month(y, m, tz).ok_or_else(|| ReportError::BadMonth {
        month: format!("{y}-{m:02}"),
    })?;
    let previous = period.previous_month();
    let complete = now >= period.end;
    let at = if complete {
        period.end - Duration::milliseconds(1)
    } else {
        now
    };
    let scope = Scope::client(client, ctx.config, &ctx.imported);
    let mut money = Money::for_client(config);
    let from = previous.start - Duration::days(31);
    let to = at.min(period.end + Duration::days(31)) + Duration::milliseconds(1);
    let data = load(ctx, &scope, from, to, at, &mut money)?;

    let mut goals = Vec::new();
    let mut goal_errors = Vec::new();
    for result in evaluate_all(ctx, Some(client), at) {
        match result {
            Ok(e) => goals.push(e),
            Err(e) => goal_errors.push(e.to_string()),
        }
    }
    let roi = roi::roi(ctx, config, &data, &period, at, &mut money)?;
    Ok(Report {
        client: ClientInfo {
            id: config.id.clone(),
            name: config.name.clone(),
            timezone: tz.name().to_string(),
        },
        month: format!("{y}-{m:02}"),
        start: period.first_day,
        end: period.date(period.days() - 1),
        as_of: at,
        complete,
        currency: money.currency().map(str::to_string),
        goals,
        goal_errors,
        roi,
        funnel: funnel::funnel(&data, &period, at),
        month_over_month: mom::changes(&data, &period, &previous, at),
        top_posts: top::top_posts(&data, &period, at, 10),
        segments: top::segments(&data, &period, at, 5),
        provenance: provenance::provenance(ctx, &scope, &data, &period, at)?,
    })
}
