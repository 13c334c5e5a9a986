//! Date windows and the time formats platforms write (primitive 6), pure.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

/// How a time is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    /// `2026-06-01T12:00:00Z`.
    Rfc3339,
    /// `2026-06-01` (midnight in the zone).
    Date,
    /// `2026-06-01 12:00:00` (in the zone).
    DateTime,
    /// Seconds since 1970.
    Unix,
    /// Milliseconds since 1970.
    UnixMs,
}

impl TimeFormat {
    /// Parses a format name.
    pub fn parse(name: &str) -> Option<TimeFormat> {
        Some(match name {
            "rfc3339" => TimeFormat::Rfc3339,
            "date" => TimeFormat::Date,
            "datetime" => TimeFormat::DateTime,
            "unix" => TimeFormat::Unix,
            "unix_ms" => TimeFormat::UnixMs,
            _ => return None,
        })
    }

    /// The accepted names, for messages.
    pub const NAMES: &'static str = "rfc3339, date, datetime, unix, unix_ms";

    /// Reads a time written this way, in `zone` where the text has no offset.
    pub fn read(self, value: &Value, zone: FixedOffset) -> Option<DateTime<Utc>> {
        let number = || match value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match self {
            TimeFormat::Unix => DateTime::from_timestamp_millis((number()? * 1000.0) as i64),
            TimeFormat::UnixMs => DateTime::from_timestamp_millis(number()? as i64),
            TimeFormat::Rfc3339 => DateTime::parse_from_rfc3339(value.as_str()?.trim())
                .ok()
                .map(|t| t.with_timezone(&Utc)),
            TimeFormat::Date => {
                let date = NaiveDate::parse_from_str(value.as_str()?.trim(), "%Y-%m-%d").ok()?;
                local(zone, date.and_hms_opt(0, 0, 0)?)
            }
            TimeFormat::DateTime => {
                let text = value.as_str()?.trim();
                let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
                    .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
                    .ok()?;
                local(zone, naive)
            }
        }
    }

    /// Writes a time this way (UTC).
    pub fn write(self, time: DateTime<Utc>) -> Value {
        match self {
            TimeFormat::Rfc3339 => {
                Value::String(time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            }
            TimeFormat::Date => Value::String(time.format("%Y-%m-%d").to_string()),
            TimeFormat::DateTime => Value::String(time.format("%Y-%m-%d %H:%M:%S").to_string()),
            TimeFormat::Unix => Value::from(time.timestamp()),
            TimeFormat::UnixMs => Value::from(time.timestamp_millis()),
        }
    }
}

fn local(zone: FixedOffset, naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    zone.from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// Parses `+02:00`, `-05:00`, `Z` or `UTC`.
pub fn parse_zone(text: &str) -> Option<FixedOffset> {
    if matches!(text, "Z" | "UTC" | "utc") {
        return FixedOffset::east_opt(0);
    }
    let sign = match text.get(..1)? {
        "+" => 1,
        "-" => -1,
        _ => return None,
    };
    let (h, m) = text.get(1..)?.split_once(':')?;
    let seconds = h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60;
    FixedOffset::east_opt(sign * seconds)
}

/// Parses `90s`, `15m`, `6h`, `30d`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let n: i64 = text[..text.len() - unit.len_utf8()].trim().parse().ok()?;
    if n <= 0 {
        return None;
    }
    Some(match unit {
        's' => Duration::seconds(n),
        'm' => Duration::minutes(n),
        'h' => Duration::hours(n),
        'd' => Duration::days(n),
        _ => return None,
    })
}

/// A stream's window settings.
#[derive(Debug, Clone)]
pub struct WindowSpec {
    /// One request's span.
    pub step: Duration,
    /// Longest span in one pull.
    pub max_span: Option<Duration>,
    /// Re-read before the saved cursor.
    pub lookback: Duration,
    /// First pull's reach.
    pub backfill: Duration,
    /// How `window.start`/`window.end` render.
    pub format: TimeFormat,
}

impl WindowSpec {
    /// The windows of one pull, oldest first: from `since` (a backfill), else
    /// the saved cursor minus the lookback (`lookback_days` overriding it),
    /// else now minus the backfill; up to now, at most `max_span` long.
    pub fn windows(
        &self,
        now: DateTime<Utc>,
        cursor: Option<DateTime<Utc>>,
        since: Option<DateTime<Utc>>,
        lookback_days: Option<u32>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let lookback = lookback_days.map_or(self.lookback, |d| Duration::days(i64::from(d)));
        let mut start = since
            .or_else(|| cursor.map(|c| c - lookback))
            .unwrap_or(now - self.backfill);
        if let Some(max) = self.max_span {
            start = start.max(now - max);
        }
        let mut out = Vec::new();
        while start < now {
            let end = (start + self.step).min(now);
            out.push((start, end));
            start = end;
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn formats_read_what_platforms_write() {
        let utc = parse_zone("UTC").unwrap();
        let t = at("2026-06-01T12:00:00Z");
        assert_eq!(TimeFormat::Unix.read(&json!(t.timestamp()), utc), Some(t));
        assert_eq!(
            TimeFormat::Unix.read(&json!(t.timestamp().to_string()), utc),
            Some(t)
        );
        assert_eq!(
            TimeFormat::UnixMs.read(&json!(t.timestamp_millis()), utc),
            Some(t)
        );
        assert_eq!(
            TimeFormat::Rfc3339.read(&json!("2026-06-01T14:00:00+02:00"), utc),
            Some(t)
        );
        let chicago = parse_zone("-05:00").unwrap();
        assert_eq!(
            TimeFormat::DateTime.read(&json!("2026-06-01 07:00:00"), chicago),
            Some(t)
        );
        assert_eq!(
            TimeFormat::Date.read(&json!("2026-06-01"), utc),
            Some(at("2026-06-01T00:00:00Z"))
        );
        assert_eq!(TimeFormat::Date.read(&json!("June 1st"), utc), None);
    }

    #[test]
    fn windows_step_from_the_cursor_less_the_lookback_and_stop_at_max_span() {
        let spec = WindowSpec {
            step: parse_duration("1d").unwrap(),
            max_span: parse_duration("3d"),
            lookback: parse_duration("1d").unwrap(),
            backfill: parse_duration("30d").unwrap(),
            format: TimeFormat::Date,
        };
        let now = at("2026-06-10T12:00:00Z");
        let w = spec.windows(now, Some(at("2026-06-09T00:00:00Z")), None, None);
        assert_eq!(w.first().unwrap().0, at("2026-06-08T00:00:00Z"));
        assert_eq!(w.last().unwrap().1, now);
        assert_eq!(w.len(), 3);
        let first = spec.windows(now, None, None, None);
        assert_eq!(
            first.first().unwrap().0,
            at("2026-06-07T12:00:00Z"),
            "max_span caps the backfill"
        );
        assert!(spec.windows(now, Some(now), None, Some(0)).is_empty());
    }
}
