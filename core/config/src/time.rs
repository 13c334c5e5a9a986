//! Local days in a client's time zone, turned into UTC instants.
//!
//! Goals count "this month" from midnight in the client's zone, the scheduler
//! captures follower counts just after that midnight, and an import of a
//! `2026-06-01` row stores it at that same instant. All three must agree on
//! where a local day starts, so the rule lives here, once.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The instant a local day starts: midnight, or the first minute that exists
/// when a daylight-saving jump skips midnight (America/Santiago, Asia/Beirut).
pub fn local_midnight(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let mut time = NaiveTime::MIN;
    for _ in 0..=180 {
        if let Some(t) = tz.from_local_datetime(&day.and_time(time)).earliest() {
            return t.with_timezone(&Utc);
        }
        time += chrono::Duration::minutes(1);
    }
    Utc.from_utc_datetime(&day.and_time(NaiveTime::MIN))
}

/// The local calendar date of an instant.
pub fn local_date(t: DateTime<Utc>, tz: Tz) -> NaiveDate {
    t.with_timezone(&tz).date_naive()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn a_skipped_midnight_starts_the_day_at_its_first_minute() {
        // Santiago springs forward at 00:00 on 2026-09-06: the day starts at 01:00 local.
        let start = local_midnight(d(2026, 9, 6), Tz::America__Santiago);
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 9, 6, 4, 0, 0).unwrap());
        assert_eq!(local_date(start, Tz::America__Santiago), d(2026, 9, 6));
    }

    #[test]
    fn chicago_midnight_is_five_or_six_hours_after_utc_midnight() {
        let summer = local_midnight(d(2026, 6, 1), Tz::America__Chicago);
        assert_eq!(summer.to_rfc3339(), "2026-06-01T05:00:00+00:00");
        let winter = local_midnight(d(2026, 12, 1), Tz::America__Chicago);
        assert_eq!(winter.to_rfc3339(), "2026-12-01T06:00:00+00:00");
    }
}
