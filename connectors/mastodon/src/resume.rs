//! Incremental pulls: what a Mastodon source remembers between pulls and how
//! far back each pull reads. Pure, so the rules are tested without a server.
//!
//! - A first pull reads the latest `max_statuses` statuses.
//! - Later pulls read statuses newer than the newest one seen before, plus the
//!   last `lookback_days` (default 7), whose favourites and boosts still move;
//!   older statuses keep their last stored values and cost no requests.
//! - `tally pull --since DATE` reads back to that date, past `max_statuses`.
//! - After each page the pull checkpoints a cursor (the next page's `max_id`),
//!   so a pull killed halfway resumes at the page where it stopped.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// Days of statuses re-read by every incremental pull unless the source sets
/// `lookback_days`: engagement on a toot mostly settles within a week.
pub const DEFAULT_LOOKBACK_DAYS: u32 = 7;

/// What a Mastodon source saves with its points.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The newest status id seen by the last complete pull.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_id: Option<String>,
    /// Where an interrupted pull resumes, while one is in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<Cursor>,
}

/// The position of a pull in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// `max_id` of the next page to read.
    pub max_id: String,
    /// The newest status id the interrupted pull saw (becomes `newest_id` when it completes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_id: Option<String>,
    /// Statuses read so far, against `max_statuses`.
    pub read: usize,
}

impl State {
    /// The saved state, or a fresh one when there is none or it is not ours
    /// (an older format): a fresh state only costs one full pull.
    pub fn load(saved: Option<&serde_json::Value>) -> State {
        saved
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    }

    /// As JSON for the host.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// Where one pull stops reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walk {
    /// Backfill: read everything created at or after this, ignoring the cap.
    since: Option<DateTime<Utc>>,
    /// Statuses to read at most (without `since`).
    cap: usize,
    /// Incremental: stop at statuses this old or older...
    seen_up_to: Option<String>,
    /// ...that were also created before this.
    restated_after: DateTime<Utc>,
}

impl Walk {
    /// The rules for a pull at `now` with this saved state.
    pub fn new(
        state: &State,
        since: Option<DateTime<Utc>>,
        cap: usize,
        lookback_days: Option<u32>,
        now: DateTime<Utc>,
    ) -> Walk {
        let days = lookback_days.unwrap_or(DEFAULT_LOOKBACK_DAYS);
        Walk {
            since,
            cap,
            seen_up_to: state.newest_id.clone(),
            restated_after: now - Duration::days(i64::from(days)),
        }
    }

    /// Whether the status `id` created at `created_at` is still to be read,
    /// after `read` statuses. Statuses come newest first, so the first `false`
    /// ends the pull.
    pub fn wants(&self, id: &str, created_at: Option<DateTime<Utc>>, read: usize) -> bool {
        if let Some(since) = self.since {
            return created_at.is_none_or(|t| t >= since);
        }
        if read >= self.cap {
            return false;
        }
        match &self.seen_up_to {
            None => true,
            Some(seen) => {
                newer(id, seen) == Ordering::Greater
                    || created_at.is_some_and(|t| t >= self.restated_after)
            }
        }
    }
}

/// Orders status ids: numeric strings by value, anything else as text.
pub fn newer(a: &str, b: &str) -> Ordering {
    (a.len(), a).cmp(&(b.len(), b))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 20, 12, 0, 0).unwrap()
    }

    fn days_ago(d: i64) -> Option<DateTime<Utc>> {
        Some(now() - Duration::days(d))
    }

    #[test]
    fn a_first_pull_reads_up_to_the_cap() {
        let walk = Walk::new(&State::default(), None, 2, None, now());
        assert!(walk.wants("9", days_ago(400), 0));
        assert!(walk.wants("8", days_ago(400), 1));
        assert!(!walk.wants("7", days_ago(1), 2));
    }

    #[test]
    fn an_incremental_pull_reads_new_statuses_and_the_lookback_window() {
        let state = State {
            newest_id: Some("100".into()),
            cursor: None,
        };
        let walk = Walk::new(&state, None, 200, None, now());
        assert!(walk.wants("101", days_ago(30), 0), "newer than seen");
        assert!(
            walk.wants("99", days_ago(6), 1),
            "inside the 7-day lookback"
        );
        assert!(!walk.wants("98", days_ago(8), 2), "seen and settled");
        assert!(!walk.wants("97", None, 2), "no date: treated as settled");
        let short = Walk::new(&state, None, 200, Some(1), now());
        assert!(!short.wants("99", days_ago(2), 1));
        // Ids compare as numbers, not text.
        assert_eq!(newer("1000", "999"), Ordering::Greater);
    }

    #[test]
    fn a_backfill_reads_back_to_its_date_past_the_cap() {
        let state = State {
            newest_id: Some("100".into()),
            cursor: None,
        };
        let walk = Walk::new(&state, days_ago(60), 2, None, now());
        assert!(walk.wants("50", days_ago(59), 500));
        assert!(!walk.wants("49", days_ago(61), 501));
    }

    #[test]
    fn state_round_trips_and_foreign_state_starts_fresh() {
        let state = State {
            newest_id: Some("5".into()),
            cursor: Some(Cursor {
                max_id: "3".into(),
                newest_id: Some("9".into()),
                read: 40,
            }),
        };
        assert_eq!(State::load(Some(&state.to_json())), state);
        assert_eq!(
            State::load(Some(&serde_json::json!({"newest_id": 5}))),
            State::default()
        );
        assert_eq!(State::load(None), State::default());
    }
}
