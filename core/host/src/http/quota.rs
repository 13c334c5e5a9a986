//! Cost-unit budgets (YouTube's 10,000 units a day) and budgets a platform
//! states in its answers (GA4's property tokens), both surviving restarts.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use tally_model::{QuotaWindow, StatedQuota};

/// Where spent quota units are recorded; the store implements it so a restart
/// does not hand a spent budget back.
pub trait QuotaLedger: Send + Sync {
    /// Units spent on `key` in the window starting at `window_start`.
    fn used(&self, key: &str, window_start: DateTime<Utc>) -> Result<u64, LedgerError>;
    /// Records `units` more and returns the new total.
    fn add(&self, key: &str, window_start: DateTime<Utc>, units: u64) -> Result<u64, LedgerError>;
    /// Replaces the latest statement of one bucket of the stated budget `key`.
    fn state(&self, key: &str, stated: &StatedQuota) -> Result<(), LedgerError>;
    /// The latest statement of every bucket of the stated budget `key`.
    fn stated(&self, key: &str) -> Result<Vec<StatedQuota>, LedgerError>;
}

/// Why spent units could not be read or recorded. The request is not sent:
/// spending quota that cannot be counted could exhaust a daily budget unseen.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The store holding the ledger failed.
    #[error("the quota ledger could not be read or written: {0}")]
    Store(#[from] tally_store::StoreError),
}

/// The window containing `now`: its start and its reset, aligned to the calendar in `tz`.
pub fn quota_window(
    window: QuotaWindow,
    tz: Tz,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let local = now.with_timezone(&tz);
    let midnight = |d: NaiveDate| -> DateTime<Utc> {
        let naive = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        tz.from_local_datetime(&naive)
            .earliest()
            .map_or_else(|| Utc.from_utc_datetime(&naive), |t| t.with_timezone(&Utc))
    };
    match window {
        QuotaWindow::Hour => {
            let start = now
                - Duration::seconds(i64::from(local.minute() * 60 + local.second()))
                - Duration::nanoseconds(i64::from(local.nanosecond()));
            (start, start + Duration::hours(1))
        }
        QuotaWindow::Day => {
            let day = local.date_naive();
            (midnight(day), midnight(day + Duration::days(1)))
        }
        QuotaWindow::Month => {
            let first = NaiveDate::from_ymd_opt(local.year(), local.month(), 1)
                .unwrap_or(local.date_naive());
            let next = if local.month() == 12 {
                NaiveDate::from_ymd_opt(local.year() + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(local.year(), local.month() + 1, 1)
            }
            .unwrap_or(first);
            (midnight(first), midnight(next))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn youtube_day_resets_at_midnight_pacific() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap(); // 02:00 PST
        let (start, reset) = quota_window(QuotaWindow::Day, chrono_tz::America::Los_Angeles, now);
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap());
        assert_eq!(reset, Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap());
    }

    #[test]
    fn month_window_rolls_over_the_year() {
        let now = Utc.with_ymd_and_hms(2026, 12, 31, 23, 0, 0).unwrap();
        let (start, reset) = quota_window(QuotaWindow::Month, chrono_tz::UTC, now);
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap());
        assert_eq!(reset, Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap());
    }
}
