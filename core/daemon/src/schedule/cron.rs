//! 5-field cron expressions read in a client's time zone.
//!
//! `every = "0 6 * * *"` means 06:00 where the client is, not 06:00 UTC, so the
//! expression is evaluated on local wall-clock time (croner handles daylight
//! saving: a skipped 02:30 does not fire, a repeated one fires once).

use super::ScheduleError;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds};
use croner::Cron;

/// A parsed cron expression and the zone it is read in.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    cron: Cron,
    tz: Tz,
}

impl CronSchedule {
    /// Parses a 5-field expression (minute hour day-of-month month day-of-week).
    pub fn parse(source: &str, expression: &str, tz: Tz) -> Result<CronSchedule, ScheduleError> {
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .build()
            .parse(expression)
            .map_err(|e| ScheduleError::Cron {
                source_id: source.to_string(),
                message: e.to_string(),
            })?;
        Ok(CronSchedule { cron, tz })
    }

    /// The first time the expression matches strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&after.with_timezone(&self.tz), false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn six_am_is_local_time() {
        let t = Utc.with_ymd_and_hms(2026, 1, 10, 0, 0, 0).unwrap();
        let chicago = CronSchedule::parse("s", "0 6 * * *", Tz::America__Chicago).unwrap();
        assert_eq!(
            chicago.next_after(t),
            Some(Utc.with_ymd_and_hms(2026, 1, 10, 12, 0, 0).unwrap())
        );
        let utc = CronSchedule::parse("s", "0 6 * * *", Tz::UTC).unwrap();
        assert_eq!(
            utc.next_after(t),
            Some(Utc.with_ymd_and_hms(2026, 1, 10, 6, 0, 0).unwrap())
        );
        // Strictly after: a time that matches gives the next one.
        assert_eq!(
            utc.next_after(Utc.with_ymd_and_hms(2026, 1, 10, 6, 0, 0).unwrap()),
            Some(Utc.with_ymd_and_hms(2026, 1, 11, 6, 0, 0).unwrap())
        );
    }

    #[test]
    fn weekdays_and_steps() {
        // 2026-01-10 is a Saturday: the next weekday 09:30 is Monday the 12th.
        let t = Utc.with_ymd_and_hms(2026, 1, 10, 0, 0, 0).unwrap();
        let c = CronSchedule::parse("s", "30 9 * * 1-5", Tz::UTC).unwrap();
        assert_eq!(
            c.next_after(t),
            Some(Utc.with_ymd_and_hms(2026, 1, 12, 9, 30, 0).unwrap())
        );
        let c = CronSchedule::parse("s", "*/15 * * * *", Tz::UTC).unwrap();
        assert_eq!(
            c.next_after(Utc.with_ymd_and_hms(2026, 1, 10, 0, 7, 0).unwrap()),
            Some(Utc.with_ymd_and_hms(2026, 1, 10, 0, 15, 0).unwrap())
        );
    }

    #[test]
    fn a_bad_expression_names_the_source() {
        let e = CronSchedule::parse("bakery", "61 * * * *", Tz::UTC).unwrap_err();
        assert!(e.to_string().contains("bakery"), "{e}");
    }
}
