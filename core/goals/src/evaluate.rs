//! Evaluating one goal: load its points, compute actual, expected-by-now,
//! forecast and status, and say how, in notes a client can read.

use super::activity::{activity, level, number, Activity};
use super::period::{end_of_day, Period};
use super::scope::{LoadError, Scope, UnknownSource};
use super::series::{Series, Settlement};
use super::status::Status;
use crate::roi::costs::cost_series;
use crate::roi::money::Money;
use chrono::{DateTime, Days, Duration, NaiveDate, Utc};
use serde::Serialize;
use tally_config::time::{local_date, local_midnight};
use tally_config::{ClientConfig, Config, GoalConfig, GoalKind};
use tally_store::{ImportedSource, Store, StoreError};

/// Why a goal could not be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum GoalError {
    /// Loading its points failed (store error, currencies without a rate).
    #[error("goal `{goal}`: {source}")]
    Load {
        /// The goal id.
        goal: String,
        /// What failed.
        #[source]
        source: Box<LoadError>,
    },
    /// The goal names a source known nowhere.
    #[error(transparent)]
    UnknownSource(#[from] UnknownSource),
    /// The goal names a client that is not configured (the config check prevents this).
    #[error("goal `{goal}`: client `{client}` is not configured; add a [[clients]] entry")]
    UnknownClient {
        /// The goal id.
        goal: String,
        /// The client id.
        client: String,
    },
}

/// What goals read besides their own config: the config, the store, and the
/// imported sources and settlement windows derived from them.
pub struct Context<'a> {
    /// The validated config.
    pub config: &'a Config,
    /// The store to read points from.
    pub store: &'a Store,
    /// Sources filled by `tally import`, with their clients.
    pub imported: Vec<ImportedSource>,
    /// Each source's settlement window.
    pub settlement: Settlement,
    /// Read values as they were known at this time (`tally goals --at` a past
    /// date); `None` reads the latest values, restatements included.
    pub as_of: Option<DateTime<Utc>>,
}

impl<'a> Context<'a> {
    /// Reads what goals need from `store` besides points.
    pub fn new(config: &'a Config, store: &'a Store) -> Result<Context<'a>, StoreError> {
        Ok(Context {
            config,
            store,
            imported: store.imported_sources()?,
            settlement: Settlement::from_config(config),
            as_of: None,
        })
    }

    /// The configured client `id`.
    pub fn client(&self, id: &str) -> Option<&'a ClientConfig> {
        self.config.client(id)
    }
}

/// The data behind a goal's chart: its metric over the period and the pace to the target.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GoalChart {
    /// The cumulative actual (growth, total, ratio so far, or level) by day.
    pub actual: Vec<(NaiveDate, f64)>,
    /// The target pace: a straight line from the start to the target.
    pub pace: Vec<(NaiveDate, f64)>,
    /// The forecast at the period's last day.
    pub forecast: Option<(NaiveDate, f64)>,
}

/// One goal, evaluated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// The goal id.
    pub id: String,
    /// Its client.
    pub client: String,
    /// `growth`, `total`, `level` or `ratio`.
    pub kind: &'static str,
    /// The metric, or `numerator / denominator` for a ratio.
    pub metric: String,
    /// Which sources it counts.
    pub scope: String,
    /// The unit of actual, expected, forecast and target.
    pub unit: String,
    /// First day of the period (for `level`: the day of the first reading).
    pub start: NaiveDate,
    /// Last day of the period (for `level`: `by`).
    pub end: NaiveDate,
    /// Days elapsed in the counting of this kind (see the module docs).
    pub elapsed_days: i64,
    /// Days the target is paced over.
    pub span_days: i64,
    /// The target, or the bound of a ratio.
    pub target: f64,
    /// `at_most` or `at_least` for a ratio.
    pub bound: Option<&'static str>,
    /// What happened so far; `None` when the data cannot say.
    pub actual: Option<f64>,
    /// Where a steady pace to the target would be by now (a ratio: its bound).
    pub expected: Option<f64>,
    /// The value expected at the period's end (for `level`: on `by`).
    pub forecast: Option<f64>,
    /// How the forecast was made.
    pub forecast_method: String,
    /// Forecast ÷ target (ratios: how far inside the bound), the status's input.
    pub pace: Option<f64>,
    /// Where the goal stands.
    pub status: Status,
    /// Whether any value used may still be restated by its platform.
    pub provisional: bool,
    /// Gaps, readings used, provisional data: how the numbers were computed.
    pub notes: Vec<String>,
    /// Data for the report's chart.
    pub chart: GoalChart,
}

/// The forecast method of a period that is over.
const OVER: &str = "the period is over: the forecast is the actual";

/// Evaluates every goal (of `client`, when given) at `at`, in config order.
pub fn evaluate_all(
    ctx: &Context<'_>,
    client: Option<&str>,
    at: DateTime<Utc>,
) -> Vec<Result<Evaluation, GoalError>> {
    ctx.config
        .goals
        .iter()
        .filter(|g| client.is_none_or(|c| g.client == c))
        .map(|g| evaluate(ctx, g, at))
        .collect()
}

/// Evaluates one goal as of `at`.
pub fn evaluate(
    ctx: &Context<'_>,
    goal: &GoalConfig,
    at: DateTime<Utc>,
) -> Result<Evaluation, GoalError> {
    let client = ctx
        .client(&goal.client)
        .ok_or_else(|| GoalError::UnknownClient {
            goal: goal.id.clone(),
            client: goal.client.clone(),
        })?;
    if let Some(unknown) = UnknownSource::of_goal(goal, ctx.config, &ctx.imported)
        .into_iter()
        .next()
    {
        return Err(unknown.into());
    }
    let scope = Scope::of_goal(goal, ctx.config, &ctx.imported);
    let load = |source: LoadError| GoalError::Load {
        goal: goal.id.clone(),
        source: Box::new(source),
    };
    let mut money = Money::for_client(client);
    let mut e = match goal.kind {
        GoalKind::Level => {
            evaluate_level(ctx, goal, client, &scope, &mut money, at).map_err(load)?
        }
        GoalKind::Ratio => {
            evaluate_ratio(ctx, goal, client, &scope, &mut money, at).map_err(load)?
        }
        GoalKind::Growth | GoalKind::Total => {
            evaluate_progress(ctx, goal, client, &scope, &mut money, at).map_err(load)?
        }
    };
    e.scope = scope.label;
    Ok(e)
}

/// The period a repeating or one-off goal is in at `at`.
fn goal_period(goal: &GoalConfig, client: &ClientConfig, at: DateTime<Utc>) -> Period {
    let tz = client.timezone;
    match (goal.period, goal.start, goal.end) {
        (Some(p), _, _) => Period::containing(p, local_date(at, tz), tz),
        (None, Some(start), Some(end)) => Period::new(start, end, tz),
        // Validation guarantees one of the above; a single day is a safe reading of neither.
        _ => {
            let day = local_date(at, tz);
            Period::new(day, day + Days::new(1), tz)
        }
    }
}

fn kind_name(kind: GoalKind) -> &'static str {
    match kind {
        GoalKind::Growth => "growth",
        GoalKind::Total => "total",
        GoalKind::Level => "level",
        GoalKind::Ratio => "ratio",
    }
}

fn blank(goal: &GoalConfig, period: &Period) -> Evaluation {
    Evaluation {
        id: goal.id.clone(),
        client: goal.client.clone(),
        kind: kind_name(goal.kind),
        metric: goal.metric.clone().unwrap_or_default(),
        scope: String::new(),
        unit: String::new(),
        start: period.first_day,
        end: period.end_day - Days::new(1),
        elapsed_days: 0,
        span_days: 0,
        target: goal.target.unwrap_or_default(),
        bound: None,
        actual: None,
        expected: None,
        forecast: None,
        forecast_method: String::new(),
        pace: None,
        status: Status::NoData,
        provisional: false,
        notes: Vec::new(),
        chart: GoalChart::default(),
    }
}

/// The unit of a metric's series, or of its registry entry when there are none.
fn unit_of(series: &[Series], metric: &str, money: &Money) -> String {
    series
        .first()
        .map(|s| s.unit.to_string())
        .unwrap_or_else(
            || match tally_model::schema::lookup(metric).map(|m| m.unit) {
                Some(tally_model::UnitClass::Currency) => {
                    money.currency().unwrap_or("currency").to_string()
                }
                Some(tally_model::UnitClass::Seconds) => "seconds".into(),
                Some(tally_model::UnitClass::Rating) => "rating".into(),
                Some(tally_model::UnitClass::Percent) => "percent".into(),
                _ => "count".into(),
            },
        )
}

/// Adds the provisional note and flag.
fn mark_provisional(
    e: &mut Evaluation,
    ctx: &Context<'_>,
    series: &[&Series],
    provisional: usize,
    used: usize,
) {
    if provisional == 0 {
        return;
    }
    e.provisional = true;
    let mut windows: Vec<String> = series
        .iter()
        .filter(|s| s.samples.iter().any(|x| x.provisional))
        .map(|s| format!("{} ({} days)", s.source, ctx.settlement.days(&s.source)))
        .collect();
    windows.dedup();
    e.notes.push(format!(
        "provisional: {provisional} of {used} values are within their source's settlement window ({}) and may still be restated",
        windows.join(", ")
    ));
}

/// The series a period-based goal counts: the stored points of `metric` and, for
/// `cost.spend` over a whole client, the configured `[[costs]]` spread over the period.
#[allow(clippy::too_many_arguments)]
fn goal_series(
    ctx: &Context<'_>,
    scope: &Scope,
    client: &ClientConfig,
    metric: &str,
    period: &Period,
    money: &mut Money,
    at: DateTime<Utc>,
    context: &str,
) -> Result<Vec<Series>, LoadError> {
    let mut series = period_series(ctx, scope, metric, period, money, at, context)?;
    if metric == "cost.spend" && scope.whole_client {
        series.extend(cost_series(
            &ctx.config.costs,
            client,
            period.first_day,
            period.end_day,
            money,
            context,
        )?);
    }
    Ok(series)
}

/// Loads the series of `metric` for a period-based goal, window widened by one
/// period before the start so gauges find their opening reading.
fn period_series(
    ctx: &Context<'_>,
    scope: &Scope,
    metric: &str,
    period: &Period,
    money: &mut Money,
    at: DateTime<Utc>,
    context: &str,
) -> Result<Vec<Series>, LoadError> {
    let from = period.start - Duration::days(period.days().max(1));
    let to = at.min(period.end + Duration::days(period.days().max(1))) + Duration::milliseconds(1);
    scope.series(
        ctx.store,
        metric,
        Some(from),
        to,
        ctx.as_of,
        money,
        &ctx.settlement,
        at,
        context,
    )
}

/// The status of a growth or total goal.
fn progress_status(e: &mut Evaluation, period: &Period, t: i64) -> Status {
    if t < 0 {
        e.notes
            .push(format!("the period starts on {}", period.first_day));
        return Status::NoData;
    }
    let Some(actual) = e.actual else {
        return if t >= period.days() {
            Status::Missed
        } else {
            Status::NoData
        };
    };
    if actual >= e.target {
        return Status::Achieved;
    }
    if t >= period.days() {
        return Status::Missed;
    }
    let pace = match (e.forecast, e.expected) {
        (Some(f), _) if e.target > 0.0 => Some(f / e.target),
        (None, Some(x)) if x > 0.0 => Some(actual / x),
        _ => None,
    };
    e.pace = pace;
    match pace {
        Some(p) => Status::from_pace(p),
        None => {
            e.notes
                .push("no trend yet: the forecast needs readings on two days".into());
            Status::NoData
        }
    }
}

fn evaluate_progress(
    ctx: &Context<'_>,
    goal: &GoalConfig,
    client: &ClientConfig,
    scope: &Scope,
    money: &mut Money,
    at: DateTime<Utc>,
) -> Result<Evaluation, LoadError> {
    let period = goal_period(goal, client, at);
    let metric = goal.metric.clone().unwrap_or_default();
    let context = String::new();
    let series = goal_series(ctx, scope, client, &metric, &period, money, at, &context)?;
    let act = activity(&series, &period, at);
    let n = period.days();
    let t = period.elapsed_days(at);
    let span = if goal.kind == GoalKind::Growth {
        (n - 1).max(1)
    } else {
        n.max(1)
    };
    let mut e = blank(goal, &period);
    e.unit = unit_of(&series, &metric, money);
    e.span_days = span;
    e.elapsed_days = t.clamp(0, span);
    e.expected = Some(e.target * e.elapsed_days as f64 / span as f64);
    e.actual = act.actual;
    e.forecast = act.forecast;
    e.forecast_method = act.method.clone();
    e.notes = act.notes.clone();
    if act.actual.is_none() && !series.is_empty() {
        e.notes.push(format!(
            "not enough data for a {}: nothing is reported rather than zero",
            e.kind
        ));
    } else if series.is_empty() {
        e.notes
            .push(format!("no {metric} data from {}", scope.label));
    }
    if period.is_over(at) {
        e.forecast = e.actual;
        e.forecast_method = OVER.into();
    }
    let refs: Vec<&Series> = series.iter().collect();
    mark_provisional(&mut e, ctx, &refs, act.provisional, act.used);
    e.status = progress_status(&mut e, &period, t);
    e.chart = progress_chart(&act, &period, goal.kind, e.target, e.forecast);
    Ok(e)
}

fn progress_chart(
    act: &Activity,
    period: &Period,
    kind: GoalKind,
    target: f64,
    forecast: Option<f64>,
) -> GoalChart {
    let n = period.days();
    let last = period.date(n - 1);
    let first_value = if kind == GoalKind::Total {
        target / n.max(1) as f64
    } else {
        0.0
    };
    GoalChart {
        actual: act
            .curve
            .iter()
            .map(|(d, v)| (period.date(*d), *v))
            .collect(),
        pace: vec![(period.first_day, first_value), (last, target)],
        forecast: forecast.map(|f| (last, f)),
    }
}

fn evaluate_level(
    ctx: &Context<'_>,
    goal: &GoalConfig,
    client: &ClientConfig,
    scope: &Scope,
    money: &mut Money,
    at: DateTime<Utc>,
) -> Result<Evaluation, LoadError> {
    let tz = client.timezone;
    let today = local_date(at, tz);
    let by = goal.by.unwrap_or(today);
    // The end of `by` counts as the deadline passed, like a period's last instant.
    let deadline = local_midnight(by + Days::new(1), tz) - Duration::milliseconds(1);
    let limit = at.min(end_of_day(by, tz));
    let metric = goal.metric.clone().unwrap_or_default();
    let context = String::new();
    let series = scope.series(
        ctx.store,
        &metric,
        None,
        limit + Duration::milliseconds(1),
        ctx.as_of,
        money,
        &ctx.settlement,
        at,
        &context,
    )?;
    let lv = level(&series, limit, by, tz);
    let start = lv.baseline_day.unwrap_or(today).min(by);
    let period = Period::new(start, by + Days::new(1), tz);
    let mut e = blank(goal, &period);
    e.unit = unit_of(&series, &metric, money);
    let span = (by - start).num_days().max(1);
    e.span_days = span;
    e.elapsed_days = (today - start).num_days().clamp(0, span);
    e.actual = lv.actual;
    e.forecast = lv.forecast;
    e.notes = lv.notes.clone();
    if lv.forecast.is_some() {
        e.forecast_method = format!(
            "least-squares line through each source's daily readings since its first, extended to {by}"
        );
    }
    if let (Some(actual), Some(base)) = (lv.actual, lv.baseline) {
        e.expected = Some(base + (e.target - base) * e.elapsed_days as f64 / span as f64);
        if e.target > base {
            e.notes.push(format!(
                "paced from {} on {start} (the first reading) to {} on {by}",
                number(base),
                number(e.target)
            ));
        }
        e.status = if actual >= e.target {
            Status::Achieved
        } else if at >= deadline {
            Status::Missed
        } else if let Some(f) = lv.forecast {
            let pace = if e.target > base {
                (f - base) / (e.target - base)
            } else {
                1.0
            };
            e.pace = Some(pace);
            Status::from_pace(pace)
        } else {
            Status::NoData
        };
    } else {
        e.notes
            .push(format!("no {metric} readings from {}", scope.label));
        e.status = if at >= deadline {
            Status::Missed
        } else {
            Status::NoData
        };
    }
    let refs: Vec<&Series> = series.iter().collect();
    mark_provisional(&mut e, ctx, &refs, lv.provisional, lv.used);
    e.chart = GoalChart {
        actual: lv.curve.clone(),
        pace: lv
            .baseline
            .map(|b| vec![(start, b), (by, e.target)])
            .unwrap_or_default(),
        forecast: lv.forecast.map(|f| (by, f)),
    };
    Ok(e)
}

fn evaluate_ratio(
    ctx: &Context<'_>,
    goal: &GoalConfig,
    client: &ClientConfig,
    scope: &Scope,
    money: &mut Money,
    at: DateTime<Utc>,
) -> Result<Evaluation, LoadError> {
    let period = goal_period(goal, client, at);
    let numerator = goal.numerator.clone().unwrap_or_default();
    let denominator = goal.denominator.clone().unwrap_or_default();
    let context = String::new();
    let side = |metric: &str, money: &mut Money| -> Result<(Vec<Series>, Activity), LoadError> {
        let series = goal_series(ctx, scope, client, metric, &period, money, at, &context)?;
        let act = activity(&series, &period, at);
        Ok((series, act))
    };
    let (num_series, num) = side(&numerator, money)?;
    let (den_series, den) = side(&denominator, money)?;
    let bound = goal.at_most.or(goal.at_least).unwrap_or_default();
    let at_most = goal.at_most.is_some();
    let mut e = blank(goal, &period);
    e.metric = format!("{numerator} / {denominator}");
    e.unit = format!(
        "{} per {}",
        unit_of(&num_series, &numerator, money),
        denominator.rsplit('.').next().unwrap_or(&denominator)
    );
    e.target = bound;
    e.bound = Some(if at_most { "at_most" } else { "at_least" });
    e.expected = Some(bound);
    let n = period.days();
    let t = period.elapsed_days(at);
    e.span_days = n;
    e.elapsed_days = t.clamp(0, n);
    e.notes = num.notes.iter().chain(&den.notes).cloned().collect();
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    e.actual = ratio(num.actual, den.actual);
    e.forecast = ratio(num.forecast, den.forecast);
    e.forecast_method = format!(
        "forecast {numerator} ÷ forecast {denominator} ({})",
        num.method
    );
    if period.is_over(at) {
        e.forecast = e.actual;
        e.forecast_method = OVER.into();
    }
    let within = |v: f64| if at_most { v <= bound } else { v >= bound };
    let pace_of = |v: f64| {
        if at_most {
            if v > 0.0 {
                bound / v
            } else {
                f64::INFINITY
            }
        } else if bound > 0.0 {
            v / bound
        } else {
            f64::INFINITY
        }
    };
    let unbounded = num.actual.is_some_and(|v| v > 0.0) && den.actual.is_none_or(|v| v <= 0.0);
    if unbounded {
        e.notes.push(format!(
            "no {denominator} yet while {numerator} is {}: the ratio is unbounded",
            number(num.actual.unwrap_or_default())
        ));
    }
    if let (Some(now), Some(end)) = (e.actual, e.forecast) {
        if t >= 0 && t < n && within(now) != within(end) {
            let side = |v: f64| if within(v) { "within" } else { "outside" };
            e.notes.push(format!(
                "so far {} is {} the bound of {}; the forecast for the period's end, {}, is {} it and sets the status",
                number(now),
                side(now),
                number(bound),
                number(end),
                side(end)
            ));
        }
    }
    e.status = if t < 0 {
        e.notes
            .push(format!("the period starts on {}", period.first_day));
        Status::NoData
    } else if t >= n {
        match e.actual {
            Some(v) if within(v) => Status::Achieved,
            Some(_) => Status::Missed,
            None if unbounded && at_most => Status::Missed,
            None => Status::NoData,
        }
    } else {
        match e.forecast.or(e.actual) {
            Some(v) => {
                let pace = pace_of(v);
                e.pace = pace.is_finite().then_some(pace);
                Status::from_pace(pace)
            }
            None if unbounded && at_most => Status::Behind,
            None => Status::NoData,
        }
    };
    let refs: Vec<&Series> = num_series.iter().chain(&den_series).collect();
    mark_provisional(
        &mut e,
        ctx,
        &refs,
        num.provisional + den.provisional,
        num.used + den.used,
    );
    let den_curve: std::collections::BTreeMap<i64, f64> = den.curve.iter().copied().collect();
    e.chart = GoalChart {
        actual: num
            .curve
            .iter()
            .filter_map(|(d, v)| {
                let b = den_curve.get(d).copied().filter(|b| *b > 0.0)?;
                Some((period.date(*d), v / b))
            })
            .collect(),
        pace: vec![(period.first_day, bound), (period.date(n - 1), bound)],
        forecast: e.forecast.map(|f| (period.date(n - 1), f)),
    };
    Ok(e)
}
