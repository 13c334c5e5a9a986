//! Calendar periods in a client's time zone, and where an instant falls in one.
//!
//! "This month" for a bakery in Chicago starts at midnight in Chicago, not in
//! UTC: a sale at 20:00 on 31 May local time is a May sale although it is
//! already 1 June in UTC. Every period is therefore a range of local calendar
//! days, turned into UTC instants only at its edges.

use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use tally_config::time::{local_date, local_midnight};
use tally_config::GoalPeriod;

/// A run of whole local days `[first_day, end_day)` in one time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    /// The first day.
    pub first_day: NaiveDate,
    /// The day after the last day.
    pub end_day: NaiveDate,
    /// Midnight starting `first_day`, in UTC.
    pub start: DateTime<Utc>,
    /// Midnight starting `end_day`, in UTC.
    pub end: DateTime<Utc>,
    /// The time zone the days are counted in.
    #[serde(serialize_with = "tz_name")]
    pub tz: Tz,
}

fn tz_name<S: serde::Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

/// The first day of the month of `day`.
fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// The first day of the month `months` after (or before) the month of `day`.
fn add_months(day: NaiveDate, months: i32) -> NaiveDate {
    let index = day.year() * 12 + day.month0() as i32 + months;
    NaiveDate::from_ymd_opt(index.div_euclid(12), index.rem_euclid(12) as u32 + 1, 1).unwrap_or(day)
}

impl Period {
    /// The days `[first_day, end_day)` in `tz`.
    pub fn new(first_day: NaiveDate, end_day: NaiveDate, tz: Tz) -> Period {
        Period {
            first_day,
            end_day,
            start: local_midnight(first_day, tz),
            end: local_midnight(end_day, tz),
            tz,
        }
    }

    /// The week (Monday to Sunday), month or quarter holding `day`.
    pub fn containing(kind: GoalPeriod, day: NaiveDate, tz: Tz) -> Period {
        match kind {
            GoalPeriod::Week => {
                let first = day - Days::new(u64::from(day.weekday().num_days_from_monday()));
                Period::new(first, first + Days::new(7), tz)
            }
            GoalPeriod::Month => {
                let first = month_start(day);
                Period::new(first, add_months(first, 1), tz)
            }
            GoalPeriod::Quarter => {
                let first =
                    NaiveDate::from_ymd_opt(day.year(), day.month0() / 3 * 3 + 1, 1).unwrap_or(day);
                Period::new(first, add_months(first, 3), tz)
            }
        }
    }

    /// The calendar month `year-month`, or `None` for a month that does not exist.
    pub fn month(year: i32, month: u32, tz: Tz) -> Option<Period> {
        let first = NaiveDate::from_ymd_opt(year, month, 1)?;
        Some(Period::new(first, add_months(first, 1), tz))
    }

    /// The calendar month before this period's first month.
    pub fn previous_month(&self) -> Period {
        let first = add_months(self.first_day, -1);
        Period::new(first, month_start(self.first_day), self.tz)
    }

    /// Number of days.
    pub fn days(&self) -> i64 {
        (self.end_day - self.first_day).num_days()
    }

    /// Whole days from `first_day` to the local date of `t` (negative before
    /// the period, `days()` or more after it).
    pub fn day_index(&self, t: DateTime<Utc>) -> i64 {
        (local_date(t, self.tz) - self.first_day).num_days()
    }

    /// Whether the period is over at `at`: at or after the last instant of
    /// its last day, so the end of the last day counts as complete.
    pub fn is_over(&self, at: DateTime<Utc>) -> bool {
        at >= self.end - Duration::milliseconds(1)
    }

    /// Whole days elapsed at `at`: the day index of `at`, or `days()` once
    /// the period is over.
    pub fn elapsed_days(&self, at: DateTime<Utc>) -> i64 {
        if self.is_over(at) {
            self.days().max(self.day_index(at))
        } else {
            self.day_index(at)
        }
    }

    /// The date of day `index` of the period.
    pub fn date(&self, index: i64) -> NaiveDate {
        self.first_day + Duration::days(index)
    }

    /// The instants `[start, end)` of day `index`.
    pub fn day_bounds(&self, index: i64) -> (DateTime<Utc>, DateTime<Utc>) {
        let day = self.date(index);
        (
            local_midnight(day, self.tz),
            local_midnight(day + Days::new(1), self.tz),
        )
    }

    /// `2026-06-01 – 2026-06-30`, for notes.
    pub fn label(&self) -> String {
        format!("{} – {}", self.first_day, self.end_day - Days::new(1))
    }
}

/// The end of a local day: the last millisecond before the next midnight, so
/// `--at 2026-06-20` evaluates with everything recorded on the 20th.
pub fn end_of_day(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    local_midnight(day + Days::new(1), tz) - Duration::milliseconds(1)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn a_chicago_month_starts_at_local_midnight() {
        let p = Period::containing(GoalPeriod::Month, d(2026, 6, 20), Tz::America__Chicago);
        assert_eq!(
            (p.first_day, p.end_day, p.days()),
            (d(2026, 6, 1), d(2026, 7, 1), 30)
        );
        assert_eq!(p.start.to_rfc3339(), "2026-06-01T05:00:00+00:00");
        // 03:00 UTC on 1 June is still 31 May in Chicago: day -1 of June.
        let t = Utc.with_ymd_and_hms(2026, 6, 1, 3, 0, 0).unwrap();
        assert_eq!(p.day_index(t), -1);
    }

    #[test]
    fn weeks_start_on_monday_and_quarters_on_the_quarter() {
        let w = Period::containing(GoalPeriod::Week, d(2026, 6, 20), Tz::UTC);
        assert_eq!((w.first_day, w.end_day), (d(2026, 6, 15), d(2026, 6, 22)));
        let q = Period::containing(GoalPeriod::Quarter, d(2026, 11, 3), Tz::UTC);
        assert_eq!((q.first_day, q.end_day), (d(2026, 10, 1), d(2027, 1, 1)));
        let m = Period::month(2026, 1, Tz::UTC).unwrap().previous_month();
        assert_eq!((m.first_day, m.end_day), (d(2025, 12, 1), d(2026, 1, 1)));
    }
}
