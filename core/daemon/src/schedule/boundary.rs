//! Period boundaries in a client's time zone.
//!
//! Platforms give follower counts only as current totals, so "growth this
//! month" is only exact if a sample exists right at the month's start. The
//! scheduler adds a pull just after each boundary; this module says where the
//! boundaries are (local midnight, which daylight saving time can move or, in
//! a few zones, skip).

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use tally_config::time::local_midnight;
use tally_config::BoundaryCaptures;

/// The first boundary of `kind` strictly after `after`, in `tz`; `None` for `Off`.
pub fn next_boundary(
    kind: BoundaryCaptures,
    tz: Tz,
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if kind == BoundaryCaptures::Off {
        return None;
    }
    let mut day = after.with_timezone(&tz).date_naive();
    // A month has at most 31 days, so a month boundary is within 32 days.
    for _ in 0..=32 {
        if is_boundary(kind, day) {
            let at = local_midnight(day, tz);
            if at > after {
                return Some(at);
            }
        }
        day = day.checked_add_days(Days::new(1))?;
    }
    None
}

/// Whether local `day` starts a period that `kind` captures.
fn is_boundary(kind: BoundaryCaptures, day: NaiveDate) -> bool {
    match kind {
        BoundaryCaptures::Off => false,
        BoundaryCaptures::Day => true,
        BoundaryCaptures::Week => day.weekday() == Weekday::Mon || day.day() == 1,
        BoundaryCaptures::Month => day.day() == 1,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    #[test]
    fn a_month_starts_at_local_midnight_chicago_versus_utc() {
        // 2026-02-28 20:00 in Chicago is 2026-03-01 02:00 UTC: UTC is already
        // in March, Chicago's March starts at 06:00 UTC (CST, UTC-6).
        let t = utc(2026, 3, 1, 2, 0);
        assert_eq!(
            next_boundary(BoundaryCaptures::Month, Tz::UTC, t),
            Some(utc(2026, 4, 1, 0, 0))
        );
        assert_eq!(
            next_boundary(BoundaryCaptures::Month, Tz::America__Chicago, t),
            Some(utc(2026, 3, 1, 6, 0))
        );
        // After the DST change (CDT, UTC-5) April starts at 05:00 UTC.
        assert_eq!(
            next_boundary(
                BoundaryCaptures::Month,
                Tz::America__Chicago,
                utc(2026, 3, 1, 6, 0)
            ),
            Some(utc(2026, 4, 1, 5, 0))
        );
    }

    #[test]
    fn weeks_days_and_off() {
        // 2026-03-04 is a Wednesday; the next Monday is the 9th.
        let t = utc(2026, 3, 4, 12, 0);
        assert_eq!(
            next_boundary(BoundaryCaptures::Week, Tz::UTC, t),
            Some(utc(2026, 3, 9, 0, 0))
        );
        // A month start that is not a Monday is a boundary of `week` too.
        assert_eq!(
            next_boundary(BoundaryCaptures::Week, Tz::UTC, utc(2026, 3, 30, 1, 0)),
            Some(utc(2026, 4, 1, 0, 0))
        );
        assert_eq!(
            next_boundary(BoundaryCaptures::Day, Tz::UTC, t),
            Some(utc(2026, 3, 5, 0, 0))
        );
        assert_eq!(next_boundary(BoundaryCaptures::Off, Tz::UTC, t), None);
        // Exactly on a boundary: the next one, not this one.
        assert_eq!(
            next_boundary(BoundaryCaptures::Day, Tz::UTC, utc(2026, 3, 5, 0, 0)),
            Some(utc(2026, 3, 6, 0, 0))
        );
    }
}
