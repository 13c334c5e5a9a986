//! What a metric did within a period: the total of its sums, the change of its
//! gauges, a daily curve for charts, a forecast for the period's end, and
//! notes on every gap and on the readings used.
//!
//! This is the arithmetic behind `growth`, `total` and `ratio` goals and the
//! report's month-over-month, funnel and ROI figures. The rules, which the
//! module docs of [`crate::goals`] state for users:
//!
//! - A sum counts for its share of time inside the period up to the end of
//!   the evaluation's day (a weekly total crossing the month's end counts 2/7
//!   in one month, 5/7 in the next; a monthly retainer of 1,500 has cost 500
//!   by the end of day 10 of 30). So the actual is the last point of the
//!   daily curve a chart draws, for every kind of goal.
//! - A sum series with data on at least half of the elapsed days is regular:
//!   an elapsed day without data is a gap, reported, and the forecast fills
//!   gaps and the remaining days at the series' average per covered day. A
//!   sparse series (leads entered as they come) counts days without data as
//!   none and extends its average per elapsed day to the remaining days.
//! - A gauge of an account changes from its opening reading (the sample
//!   nearest the period's start, looking back at most one period) to its
//!   closing reading (the latest one, or the one nearest the end once the
//!   period is over). One reading is not a change: the series is reported as
//!   a gap, never as zero growth. The forecast extends the least-squares line
//!   through its daily readings to the period's last day.
//! - A gauge of a post, video or event (lifetime likes of a post) counts what
//!   it gained since its last reading before the period; an item first seen
//!   in the period counts in full.

use super::period::Period;
use super::series::Series;
use super::trend::slope;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::collections::BTreeMap;
use tally_model::MetricKind;

/// How forecasts of sums that report most days are made.
pub const SUM_REGULAR: &str = "average per day with data, applied to the days without";
/// How forecasts of sparse sums are made.
pub const SUM_SPARSE: &str = "average per elapsed day, applied to the remaining days";
/// How forecasts of gauges are made.
pub const GAUGE_TREND: &str =
    "least-squares line through the daily readings, extended to the last day";

/// What one metric did in one period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Activity {
    /// The total (sums) or change (gauges); `None` when no series could say.
    pub actual: Option<f64>,
    /// The expected value at the period's end; `None` without a trend.
    pub forecast: Option<f64>,
    /// How the forecast was made (distinct methods, joined).
    pub method: String,
    /// Gaps, readings used and other caveats, one sentence each.
    pub notes: Vec<String>,
    /// Cumulative value at the end of each elapsed day, by day index.
    pub curve: Vec<(i64, f64)>,
    /// Samples that went into `actual`.
    pub used: usize,
    /// How many of them are provisional.
    pub provisional: usize,
}

/// One series' share of an [`Activity`].
#[derive(Debug, Default)]
struct Part {
    actual: Option<f64>,
    forecast: Option<f64>,
    method: Option<&'static str>,
    notes: Vec<String>,
    curve: BTreeMap<i64, f64>,
    used: usize,
    provisional: usize,
    item: bool,
}

/// The period's midnights, so a time's day is a binary search.
struct Days {
    bounds: Vec<DateTime<Utc>>,
}

impl Days {
    fn new(period: &Period) -> Days {
        let n = period.days().max(0);
        let mut bounds: Vec<DateTime<Utc>> = (0..n).map(|d| period.day_bounds(d).0).collect();
        bounds.push(period.end);
        Days { bounds }
    }

    fn count(&self) -> usize {
        self.bounds.len() - 1
    }

    /// The day holding `t`, if inside the period.
    fn of(&self, t: DateTime<Utc>) -> Option<usize> {
        let i = self.bounds.partition_point(|b| *b <= t);
        (i >= 1 && i <= self.count()).then(|| i - 1)
    }
}

/// Whole days of the period elapsed before `at`'s day, and `at`'s day index.
fn elapsed(period: &Period, at: DateTime<Utc>) -> (i64, i64) {
    let t = period.elapsed_days(at);
    (t.clamp(0, period.days()), t)
}

fn date_range(period: &Period, from: i64, to: i64) -> String {
    if from == to {
        format!("{}", period.date(from))
    } else {
        format!("{} – {}", period.date(from), period.date(to))
    }
}

/// Runs of `true` in `flags[..limit]`, as (first, last) index pairs.
fn runs(flags: &[bool], limit: usize) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, f) in flags.iter().take(limit).enumerate() {
        match (f, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s as i64, i as i64 - 1));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s as i64, limit as i64 - 1));
    }
    out
}

fn sum_part(s: &Series, period: &Period, days: &Days, at: DateTime<Utc>) -> Part {
    let n = days.count();
    let mut daily = vec![0.0; n];
    let mut covered = vec![false; n];
    let mut part = Part::default();
    // Only the part of the period up to the end of the evaluation's day
    // counts: a retainer for the month has cost a tenth of itself by day 3 of
    // 30, not all of it. The total is each sample's share of that span in one
    // step (exact for a sample inside it); the daily split is for coverage and
    // the curve, whose last point is the total.
    let (_, t) = elapsed(period, at);
    let horizon = if t < 0 {
        period.start
    } else {
        days.bounds[(t + 1).min(n as i64) as usize]
    };
    let mut actual = 0.0;
    for x in &s.samples {
        if x.start >= at || x.end <= period.start || x.start >= horizon || x.end <= x.start {
            continue;
        }
        let duration = (x.end - x.start).num_milliseconds() as f64;
        let inside = (x.end.min(horizon) - x.start.max(period.start)).num_milliseconds() as f64;
        actual += if inside >= duration {
            x.value
        } else {
            x.value * inside / duration
        };
        let from = days.of(x.start.max(period.start)).unwrap_or(0);
        let to = days
            .of(x.end.min(horizon) - Duration::milliseconds(1))
            .unwrap_or(n - 1);
        for d in from..=to {
            let overlap = x.end.min(days.bounds[d + 1]) - x.start.max(days.bounds[d]);
            let ms = overlap.num_milliseconds();
            if ms > 0 {
                daily[d] += x.value * ms as f64 / duration;
                covered[d] = true;
            }
        }
        part.used += 1;
        part.provisional += usize::from(x.provisional);
    }
    if part.used == 0 {
        part.notes.push(format!(
            "{} {}: no data in {}",
            s.label(),
            s.metric,
            period.label()
        ));
        return part;
    }
    let done = elapsed(period, at).0 as usize;
    let covered_elapsed = covered[..done].iter().filter(|c| **c).count();
    let regular = done == 0 || covered_elapsed * 2 >= done;
    let over = t >= n as i64;
    let mut forecast = actual;
    if regular {
        let missing: Vec<bool> = covered.iter().map(|c| !c).collect();
        let gaps = runs(&missing, done);
        for (a, b) in &gaps {
            part.notes.push(format!(
                "{} {}: no data for {} ({} day{})",
                s.label(),
                s.metric,
                date_range(period, *a, *b),
                b - a + 1,
                if a == b { "" } else { "s" }
            ));
        }
        let with_data = covered.iter().filter(|c| **c).count();
        if !over && with_data > 0 {
            forecast += actual / with_data as f64 * (n - with_data) as f64;
        }
        part.method = Some(SUM_REGULAR);
    } else {
        part.notes.push(format!(
            "{} {}: data on {covered_elapsed} of {done} elapsed days; days without data count as none",
            s.label(),
            s.metric
        ));
        if !over {
            let remaining = covered[done.min(n)..].iter().filter(|c| !**c).count();
            forecast += actual / done.max(1) as f64 * remaining as f64;
        }
        part.method = Some(SUM_SPARSE);
    }
    let last = t.min(n as i64 - 1);
    let mut running = 0.0;
    for (d, v) in daily.iter().enumerate().take((last + 1).max(0) as usize) {
        running += v;
        part.curve.insert(d as i64, running);
    }
    part.actual = Some(actual);
    part.forecast = Some(forecast);
    part
}

/// The opening and closing samples of a gauge series for `period` at `at`.
fn boundary_samples(
    s: &Series,
    period: &Period,
    at: DateTime<Utc>,
) -> (Option<usize>, Option<usize>) {
    let lookback = Duration::days(period.days().max(1));
    let known = |i: &usize| s.samples[*i].start <= at;
    let before = (0..s.samples.len())
        .rev()
        .filter(known)
        .find(|i| s.samples[*i].start < period.start)
        .filter(|i| s.samples[*i].start >= period.start - lookback);
    let inside: Vec<usize> = (0..s.samples.len())
        .filter(known)
        .filter(|i| s.samples[*i].start >= period.start && s.samples[*i].start < period.end)
        .collect();
    let distance = |i: usize, t: DateTime<Utc>| (s.samples[i].start - t).num_milliseconds().abs();
    let open = if s.is_item() {
        before.or(inside.first().copied())
    } else {
        match (before, inside.first().copied()) {
            (Some(b), Some(f)) => Some(if distance(b, period.start) <= distance(f, period.start) {
                b
            } else {
                f
            }),
            (b, f) => b.or(f),
        }
    };
    let mut close = inside.last().copied();
    if at >= period.end {
        let after = (0..s.samples.len())
            .filter(known)
            .find(|i| s.samples[*i].start >= period.end)
            .filter(|i| s.samples[*i].start < period.end + lookback);
        close = match (close, after) {
            (Some(c), Some(a)) => Some(if distance(a, period.end) < distance(c, period.end) {
                a
            } else {
                c
            }),
            (c, a) => c.or(a),
        };
    }
    if close.is_none() && !s.is_item() {
        close = before;
    }
    (open, close)
}

fn gauge_part(s: &Series, period: &Period, at: DateTime<Utc>) -> Part {
    let mut part = Part {
        item: s.is_item(),
        ..Part::default()
    };
    let (open, close) = boundary_samples(s, period, at);
    let (Some(open), Some(close)) = (open, close) else {
        if !s.is_item() {
            part.notes.push(format!(
                "{} {}: no readings near {}",
                s.label(),
                s.metric,
                period.label()
            ));
        }
        return part;
    };
    let day = |i: usize| period.day_index(s.samples[i].start);
    let value = |i: usize| s.samples[i].value;
    let date = |i: usize| period.date(day(i));
    let new_item = s.is_item() && s.samples[open].start >= period.start;
    let base = if new_item { 0.0 } else { value(open) };
    if open == close && !new_item {
        part.notes.push(format!(
            "{} {}: one reading ({} on {}); a change needs two, so this source is left out",
            s.label(),
            s.metric,
            number(value(open)),
            date(open)
        ));
        return part;
    }
    let growth = value(close) - base;
    if !s.is_item() {
        part.notes.push(format!(
            "{} {}: from {} on {} to {} on {}",
            s.label(),
            s.metric,
            number(value(open)),
            date(open),
            number(value(close)),
            date(close)
        ));
    }
    // Daily closing readings from the opening one to the closing one.
    let mut readings: BTreeMap<i64, f64> = BTreeMap::new();
    readings.insert(day(open), value(open));
    for i in open..=close {
        readings.insert(day(i), value(i));
    }
    let points: Vec<(f64, f64)> = readings.iter().map(|(x, v)| (*x as f64, *v)).collect();
    let n = period.days();
    let (_, t) = elapsed(period, at);
    let over = t >= n;
    if !s.is_item() {
        let regular = readings.len() as i64 * 2 >= (day(close) - day(open) + 1);
        let xs: Vec<i64> = readings.keys().copied().collect();
        if regular {
            for w in xs.windows(2) {
                if w[1] - w[0] > 2 {
                    part.notes.push(format!(
                        "{} {}: no readings for {}",
                        s.label(),
                        s.metric,
                        date_range(period, w[0] + 1, w[1] - 1)
                    ));
                }
            }
        }
    }
    let mut forecast = growth;
    if !over {
        if let Some(k) = slope(&points) {
            forecast += k * ((n - 1) - day(close)).max(0) as f64;
            part.method = Some(GAUGE_TREND);
        }
    }
    // The curve has a point on each day with a reading, so a chart draws
    // straight lines between readings instead of steps at each one.
    let last = t.min(n - 1);
    for (d, v) in readings.range(day(open).max(0)..=last) {
        part.curve.insert(*d, v - base);
    }
    if day(open) < 0 {
        part.curve.insert(0, 0.0);
    }
    // A closing reading just after a period that is over ends its curve too,
    // so the chart's last point is the actual.
    if day(close) > last {
        part.curve.insert(last, growth);
    }
    part.used = readings.len();
    part.provisional = (open..=close).filter(|i| s.samples[*i].provisional).count();
    part.actual = Some(growth);
    part.forecast = Some(forecast);
    part
}

/// A number for notes: whole numbers without decimals, others with two.
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        let digits = format!("{}", v.abs() as i64);
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        if v < 0.0 {
            format!("-{out}")
        } else {
            out
        }
    } else {
        format!("{v:.2}")
    }
}

/// What `series` (all of one metric) did in `period`, as known at `at`.
pub fn activity(series: &[Series], period: &Period, at: DateTime<Utc>) -> Activity {
    let days = Days::new(period);
    let parts: Vec<Part> = series
        .iter()
        .map(|s| match s.kind {
            MetricKind::Sum => sum_part(s, period, &days, at),
            MetricKind::Gauge => gauge_part(s, period, at),
        })
        .collect();
    combine(parts)
}

fn combine(parts: Vec<Part>) -> Activity {
    let mut out = Activity::default();
    let mut methods: Vec<&str> = Vec::new();
    let mut curves: Vec<BTreeMap<i64, f64>> = Vec::new();
    let mut items = 0;
    let mut any_forecast = false;
    let mut forecast = 0.0;
    for p in parts {
        out.notes.extend(p.notes);
        let Some(actual) = p.actual else { continue };
        *out.actual.get_or_insert(0.0) += actual;
        forecast += p.forecast.unwrap_or(actual);
        any_forecast |= p.method.is_some();
        if let Some(m) = p.method {
            if !methods.contains(&m) {
                methods.push(m);
            }
        }
        curves.push(p.curve);
        out.used += p.used;
        out.provisional += p.provisional;
        items += usize::from(p.item);
    }
    if items > 0 {
        out.notes.push(format!(
            "{items} posts/videos/events: each counts what it gained since its last reading before the period (in full when first seen in it)"
        ));
    }
    if out.actual.is_some() {
        out.forecast = any_forecast.then_some(forecast);
    }
    out.method = methods.join("; ");
    // On each day any series has a point, the sum of every series' latest point.
    let mut days: Vec<i64> = curves.iter().flat_map(|c| c.keys().copied()).collect();
    days.sort_unstable();
    days.dedup();
    out.curve = days
        .into_iter()
        .map(|d| {
            let total = curves
                .iter()
                .filter_map(|c| c.range(..=d).next_back().map(|(_, v)| *v))
                .sum();
            (d, total)
        })
        .collect();
    out
}

/// A gauge's level: the sum of each series' latest reading at or before `at`,
/// its first reading as the baseline, and the least-squares trend of each
/// series extended to `deadline`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Level {
    /// Sum of the latest readings.
    pub actual: Option<f64>,
    /// Sum of the first readings.
    pub baseline: Option<f64>,
    /// The earliest day of a first reading.
    pub baseline_day: Option<NaiveDate>,
    /// The level expected on the deadline's day, when every series has a trend.
    pub forecast: Option<f64>,
    /// Notes on stale or missing series.
    pub notes: Vec<String>,
    /// The summed level at the end of each day with a reading, carried forward.
    pub curve: Vec<(NaiveDate, f64)>,
    /// Readings used.
    pub used: usize,
    /// How many of them are provisional.
    pub provisional: usize,
}

/// The level of `series` (gauges) at `at`, forecast to the local day `by`.
pub fn level(series: &[Series], at: DateTime<Utc>, by: NaiveDate, tz: chrono_tz::Tz) -> Level {
    use tally_config::time::local_date;
    let mut out = Level::default();
    let mut daily: Vec<BTreeMap<NaiveDate, f64>> = Vec::new();
    let mut forecast = Some(0.0);
    for s in series.iter().filter(|s| s.kind == MetricKind::Gauge) {
        let known: Vec<_> = s.samples.iter().filter(|x| x.start <= at).collect();
        let (Some(first), Some(last)) = (known.first(), known.last()) else {
            out.notes
                .push(format!("{} {}: no readings yet", s.label(), s.metric));
            continue;
        };
        let mut days: BTreeMap<NaiveDate, f64> = BTreeMap::new();
        for x in &known {
            days.insert(local_date(x.start, tz), x.value);
        }
        let last_day = local_date(last.start, tz);
        *out.actual.get_or_insert(0.0) += last.value;
        *out.baseline.get_or_insert(0.0) += first.value;
        let first_day = local_date(first.start, tz);
        out.baseline_day = Some(out.baseline_day.map_or(first_day, |d| d.min(first_day)));
        let origin = first_day;
        let points: Vec<(f64, f64)> = days
            .iter()
            .map(|(d, v)| ((*d - origin).num_days() as f64, *v))
            .collect();
        forecast = match (forecast, slope(&points)) {
            (Some(f), Some(k)) => {
                Some(f + last.value + k * (by - last_day).num_days().max(0) as f64)
            }
            _ => None,
        };
        if (local_date(at, tz) - last_day).num_days() > 2 {
            out.notes.push(format!(
                "{} {}: latest reading {} on {} is {} days old",
                s.label(),
                s.metric,
                number(last.value),
                last_day,
                (local_date(at, tz) - last_day).num_days()
            ));
        }
        if days.len() == 1 {
            out.notes.push(format!(
                "{} {}: one reading ({} on {}); a trend needs readings on two days",
                s.label(),
                s.metric,
                number(last.value),
                last_day
            ));
        }
        out.used += known.len();
        out.provisional += known.iter().filter(|x| x.provisional).count();
        daily.push(days);
    }
    if out.actual.is_some() {
        out.forecast = forecast;
    }
    // The summed curve on each day with any reading, each series carried forward.
    let mut all_days: Vec<NaiveDate> = daily.iter().flat_map(|d| d.keys().copied()).collect();
    all_days.sort();
    all_days.dedup();
    for day in all_days {
        let values: Vec<f64> = daily
            .iter()
            .filter_map(|d| d.range(..=day).next_back().map(|(_, v)| *v))
            .collect();
        if values.len() == daily.len() {
            out.curve.push((day, values.iter().sum()));
        }
    }
    out
}
