//! Which days an insights pull reads: history on the first pull, then from
//! where the last pull ended minus the restatement window, so a late
//! restatement is read again and stored as a revision.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use tally_model::SourceContext;

/// The state key holding the end of the last window read.
const READ_UNTIL: &str = "insights_read_until";

/// The range of one pull's insights, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First instant read.
    pub start: DateTime<Utc>,
    /// The pull's `now`.
    pub end: DateTime<Utc>,
}

impl Window {
    /// `--since` when backfilling; else the last end minus `lookback_days`
    /// (the source's, or `default_lookback`); else `history_days` back.
    pub fn of(ctx: &SourceContext<'_>, history_days: u32, default_lookback: u32) -> Window {
        let end = ctx.now;
        let lookback = Duration::days(i64::from(ctx.lookback_days.unwrap_or(default_lookback)));
        let resumed = ctx
            .state
            .and_then(|s| s.get(READ_UNTIL))
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc) - lookback);
        let history = end - Duration::days(i64::from(history_days));
        let start = ctx.since.or(resumed).unwrap_or(history).min(end);
        Window { start, end }
    }

    /// The state to save once the window is read.
    pub fn state(&self) -> Value {
        json!({ READ_UNTIL: self.end.to_rfc3339() })
    }

    /// The window cut into spans of at most `days` (Page insights answer at most 93 days).
    pub fn spans(&self, days: i64) -> Vec<Window> {
        let mut out = Vec::new();
        let mut start = self.start;
        while start < self.end {
            let end = (start + Duration::days(days)).min(self.end);
            out.push(Window { start, end });
            start = end;
        }
        out
    }

    /// Whole days of the window, oldest first, as `[start, end)` of 24 hours
    /// ending at the window's end (Instagram's `total_value` is asked per day).
    pub fn days(&self) -> Vec<Window> {
        let mut out = Vec::new();
        let mut end = self.end;
        while end - Duration::days(1) >= self.start {
            out.push(Window {
                start: end - Duration::days(1),
                end,
            });
            end -= Duration::days(1);
        }
        out.reverse();
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn spans_and_days_cover_the_window() {
        let end = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let w = Window {
            start: end - Duration::days(100),
            end,
        };
        let spans = w.spans(90);
        assert_eq!(spans.len(), 2);
        assert_eq!((spans[0].start, spans[1].end), (w.start, end));
        let days = Window {
            start: end - Duration::days(3),
            end,
        }
        .days();
        assert_eq!(days.len(), 3);
        assert_eq!(days[2].end, end);
    }
}
