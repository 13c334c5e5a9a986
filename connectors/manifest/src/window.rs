//! Date windows and the time formats platforms write (primitive 6), pure.

use crate::error::{ManifestError, Source};
use crate::spec::RawWindow;
use crate::template::{Names, Ty};
use chrono::{
    DateTime, Duration, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc,
};
use chrono_tz::Tz;
use serde_json::Value;
use toml::Spanned;

/// The zone a time without an offset is in: a fixed offset (`UTC`,
/// `-05:00`) or an IANA zone (`America/Chicago`), whose days start at local
/// midnight whatever the daylight-saving offset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    /// A fixed offset from UTC.
    Fixed(FixedOffset),
    /// A zone of the IANA database.
    Named(Tz),
}

impl Zone {
    /// UTC.
    pub fn utc() -> Zone {
        Zone::Fixed(Utc.fix())
    }

    /// Parses `UTC`, `Z`, an offset such as `-05:00` or an IANA name.
    pub fn parse(text: &str) -> Option<Zone> {
        parse_zone(text)
            .map(Zone::Fixed)
            .or_else(|| text.parse::<Tz>().ok().map(Zone::Named))
    }

    /// The instant a wall-clock time in this zone stands for: the earlier of
    /// two in a repeated hour, the end of the gap in a skipped one.
    pub fn to_utc(self, naive: NaiveDateTime) -> Option<DateTime<Utc>> {
        fn pick<Z: TimeZone>(zone: &Z, naive: NaiveDateTime) -> Option<DateTime<Utc>> {
            match zone.from_local_datetime(&naive) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                    Some(t.with_timezone(&Utc))
                }
                LocalResult::None => zone
                    .from_local_datetime(&(naive + Duration::hours(1)))
                    .earliest()
                    .map(|t| t.with_timezone(&Utc)),
            }
        }
        match self {
            Zone::Fixed(offset) => pick(&offset, naive),
            Zone::Named(tz) => pick(&tz, naive),
        }
    }

    /// The wall-clock time of `time` in this zone.
    pub fn naive(self, time: DateTime<Utc>) -> NaiveDateTime {
        match self {
            Zone::Fixed(offset) => time.with_timezone(&offset).naive_local(),
            Zone::Named(tz) => time.with_timezone(&tz).naive_local(),
        }
    }

    /// The start of the day `time` falls in, in this zone.
    pub fn day_start(self, time: DateTime<Utc>) -> DateTime<Utc> {
        self.midnight(self.naive(time).date()).unwrap_or(time)
    }

    /// Local midnight of `date`.
    fn midnight(self, date: NaiveDate) -> Option<DateTime<Utc>> {
        self.to_utc(date.and_hms_opt(0, 0, 0)?)
    }

    /// The start of the day `days` days after the one `time` starts.
    pub fn days_after(self, time: DateTime<Utc>, days: i64) -> Option<DateTime<Utc>> {
        self.midnight(self.naive(time).date() + Duration::days(days))
    }
}

/// How a time is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    /// `2026-06-01T12:00:00Z`.
    Rfc3339,
    /// `2026-06-01` (midnight in the zone).
    Date,
    /// `2026-06-01 12:00:00` (in the zone).
    DateTime,
    /// `2026-06-01T12:00:00`: ISO 8601 without an offset (in the zone).
    Naive,
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
            "naive" => TimeFormat::Naive,
            "unix" => TimeFormat::Unix,
            "unix_ms" => TimeFormat::UnixMs,
            _ => return None,
        })
    }

    /// The accepted names, for messages.
    pub const NAMES: &'static str = "rfc3339, date, datetime, naive, unix, unix_ms";

    /// Reads a time written this way, in `zone` where the text has no offset.
    pub fn read(self, value: &Value, zone: Zone) -> Option<DateTime<Utc>> {
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
                zone.midnight(date)
            }
            TimeFormat::DateTime | TimeFormat::Naive => {
                let text = value.as_str()?.trim();
                let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
                    .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
                    .ok()?;
                zone.to_utc(naive)
            }
        }
    }

    /// Writes a time this way; the formats without an offset write the
    /// wall-clock time in `zone`.
    pub fn write(self, time: DateTime<Utc>, zone: Zone) -> Value {
        let local = || zone.naive(time);
        match self {
            TimeFormat::Rfc3339 => {
                Value::String(time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            }
            TimeFormat::Date => Value::String(local().format("%Y-%m-%d").to_string()),
            TimeFormat::DateTime => Value::String(local().format("%Y-%m-%d %H:%M:%S").to_string()),
            TimeFormat::Naive => Value::String(local().format("%Y-%m-%dT%H:%M:%S").to_string()),
            TimeFormat::Unix => Value::from(time.timestamp()),
            TimeFormat::UnixMs => Value::from(time.timestamp_millis()),
        }
    }
}

/// Parses `+02:00`, `-05:00`, `Z` or `UTC`.
fn parse_zone(text: &str) -> Option<FixedOffset> {
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
    /// The zone whose midnights day windows start at, and the formats
    /// without an offset write in unless `format_zone` says otherwise.
    pub zone: ZoneSpec,
    /// The zone the formats without an offset write in, when it is not
    /// `zone` (a platform that reads UTC while days are the client's).
    pub format_zone: Option<ZoneSpec>,
    /// Whether windows are whole days: they start at midnight, `step` is a
    /// number of days, and the cursor never passes the start of the day
    /// still under way.
    pub align_days: bool,
}

/// A zone as a manifest writes it: fixed, or the value of a string setting
/// (`"{{ settings.timezone }}"`: the client's zone), which is checked with
/// the rest of the settings before a pull reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum ZoneSpec {
    /// `UTC`, an offset or an IANA name.
    Fixed(Zone),
    /// The setting of this name.
    Setting(String),
}

impl ZoneSpec {
    /// Parses a zone; `None` when `text` is neither a zone nor
    /// `{{ settings.NAME }}` of a declared string setting (in `names`).
    pub fn parse(text: &str, names: &Names) -> Option<ZoneSpec> {
        let lookup = text
            .trim()
            .strip_prefix("{{")
            .and_then(|t| t.strip_suffix("}}"))
            .map(str::trim);
        match lookup {
            None => Zone::parse(text).map(ZoneSpec::Fixed),
            Some(lookup) => {
                let name = lookup.strip_prefix("settings.")?;
                (names.settings.get(name) == Some(&Ty::Str))
                    .then(|| ZoneSpec::Setting(name.to_string()))
            }
        }
    }

    /// The message for a zone [`ZoneSpec::parse`] refused.
    pub fn refusal(text: &str) -> String {
        format!(
            "zone `{text}` is not `UTC`, an offset such as `-05:00`, an IANA name such as `America/Chicago` or `{{{{ settings.NAME }}}}` of a string setting"
        )
    }

    /// The zone for a pull with these settings (checked by then, see
    /// [`check_zone_setting`]).
    pub fn resolve(&self, settings: &Value) -> Zone {
        match self {
            ZoneSpec::Fixed(zone) => *zone,
            ZoneSpec::Setting(name) => settings
                .get(name)
                .and_then(Value::as_str)
                .and_then(Zone::parse)
                .unwrap_or_else(Zone::utc),
        }
    }

    /// The setting it reads, if any.
    pub fn setting(&self) -> Option<&str> {
        match self {
            ZoneSpec::Fixed(_) => None,
            ZoneSpec::Setting(name) => Some(name),
        }
    }
}

/// Checks a setting that a manifest reads as a zone: the message for
/// `tally check` and the pull when its value is not one.
pub fn check_zone_setting(name: &str, value: &Value) -> Result<(), String> {
    match value.as_str() {
        Some(text) if Zone::parse(text).is_some() => Ok(()),
        _ => Err(format!(
            "`{name}` is {value}, not a time zone: write an IANA name such as \"America/Chicago\", \"UTC\" or an offset such as \"-05:00\""
        )),
    }
}

/// A `zone` key, compiled; an error at its place when it is not one.
pub fn compile_zone(
    zone: &Spanned<String>,
    names: &Names,
    src: &Source<'_>,
) -> Result<ZoneSpec, ManifestError> {
    ZoneSpec::parse(zone.get_ref(), names)
        .ok_or_else(|| src.at(zone.span(), ZoneSpec::refusal(zone.get_ref())))
}

impl WindowSpec {
    /// Compiles `[streams.window]`; `names` are the declared settings.
    pub fn compile(
        raw: &RawWindow,
        names: &Names,
        src: &Source<'_>,
    ) -> Result<WindowSpec, ManifestError> {
        let duration = |d: &Spanned<String>| {
            parse_duration(d.get_ref()).ok_or_else(|| {
                src.at(
                    d.span(),
                    format!(
                        "`{}` is not a duration such as `1d`, `6h`, `30m`",
                        d.get_ref()
                    ),
                )
            })
        };
        let step = duration(&raw.step)?;
        let align_days = match &raw.align {
            None => false,
            Some(a) if a.get_ref() == "day" => {
                if step.num_seconds() % 86_400 != 0 {
                    return Err(src.at(
                        raw.step.span(),
                        format!(
                            "`align = \"day\"` needs a `step` of whole days (`1d`, `7d`), not `{}`",
                            raw.step.get_ref()
                        ),
                    ));
                }
                true
            }
            Some(a) => {
                return Err(src.at(
                    a.span(),
                    format!("`align = \"{}\"`: the only alignment is `day`", a.get_ref()),
                ))
            }
        };
        Ok(WindowSpec {
            step,
            max_span: raw.max_span.as_ref().map(duration).transpose()?,
            lookback: raw
                .lookback
                .as_ref()
                .map(duration)
                .transpose()?
                .unwrap_or(Duration::zero()),
            backfill: raw
                .backfill
                .as_ref()
                .map(duration)
                .transpose()?
                .unwrap_or(Duration::days(30)),
            format: match &raw.format {
                None => TimeFormat::Rfc3339,
                Some(f) => TimeFormat::parse(f.get_ref()).ok_or_else(|| {
                    src.at(
                        f.span(),
                        format!(
                            "unknown time format `{}`: one of {}",
                            f.get_ref(),
                            TimeFormat::NAMES
                        ),
                    )
                })?,
            },
            zone: raw
                .zone
                .as_ref()
                .map(|z| compile_zone(z, names, src))
                .transpose()?
                .unwrap_or(ZoneSpec::Fixed(Zone::utc())),
            format_zone: raw
                .format_zone
                .as_ref()
                .map(|z| compile_zone(z, names, src))
                .transpose()?,
            align_days,
        })
    }

    /// The windows of one pull, oldest first: from `since` (a backfill), else
    /// the saved cursor minus the lookback (`lookback_days` overriding it),
    /// else now minus the backfill; up to now, at most `max_span` long. Day
    /// windows start at the midnight (in `zone`, resolved) at or before that
    /// start.
    pub fn windows(
        &self,
        now: DateTime<Utc>,
        cursor: Option<DateTime<Utc>>,
        since: Option<DateTime<Utc>>,
        lookback_days: Option<u32>,
        zone: Zone,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let lookback = lookback_days.map_or(self.lookback, |d| Duration::days(i64::from(d)));
        let mut start = since
            .or_else(|| cursor.map(|c| c - lookback))
            .unwrap_or(now - self.backfill);
        if let Some(max) = self.max_span {
            start = start.max(now - max);
        }
        if self.align_days {
            start = zone.day_start(start);
        }
        let mut out = Vec::new();
        while start < now {
            let next = if self.align_days {
                zone.days_after(start, self.step.num_days())
                    .unwrap_or(start + self.step)
            } else {
                start + self.step
            };
            let end = next.min(now);
            out.push((start, end));
            start = end;
        }
        out
    }

    /// The cursor once the window ending at `end` is read: `end`, or for day
    /// windows the start of the day `end` falls in, so that a day still
    /// under way is read whole again by the next pull.
    pub fn cursor_after(&self, end: DateTime<Utc>, zone: Zone) -> DateTime<Utc> {
        if self.align_days {
            zone.day_start(end)
        } else {
            end
        }
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
        let utc = Zone::parse("UTC").unwrap();
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
        let chicago = Zone::parse("-05:00").unwrap();
        assert_eq!(
            TimeFormat::DateTime.read(&json!("2026-06-01 07:00:00"), chicago),
            Some(t)
        );
        assert_eq!(
            TimeFormat::Date.read(&json!("2026-06-01"), utc),
            Some(at("2026-06-01T00:00:00Z"))
        );
        assert_eq!(TimeFormat::Date.read(&json!("June 1st"), utc), None);
        let chicago = Zone::parse("America/Chicago").unwrap();
        assert_eq!(
            TimeFormat::Naive.read(&json!("2026-06-01T07:00:00"), chicago),
            Some(t),
            "daylight time in June"
        );
        assert_eq!(
            TimeFormat::Naive.write(t, utc),
            json!("2026-06-01T12:00:00")
        );
        assert_eq!(
            TimeFormat::Naive.write(t, chicago),
            json!("2026-06-01T07:00:00")
        );
        assert_eq!(Zone::parse("Chicago"), None);
    }

    #[test]
    fn day_windows_start_at_midnight_and_the_cursor_stays_on_the_unfinished_day() {
        let spec = WindowSpec {
            step: parse_duration("1d").unwrap(),
            max_span: None,
            lookback: parse_duration("1d").unwrap(),
            backfill: parse_duration("2d").unwrap(),
            format: TimeFormat::Naive,
            zone: ZoneSpec::Fixed(Zone::utc()),
            format_zone: None,
            align_days: true,
        };
        let utc = Zone::utc();
        let now = at("2026-06-10T12:00:00Z");
        let w = spec.windows(now, None, None, None, utc);
        assert_eq!(
            w,
            vec![
                (at("2026-06-08T00:00:00Z"), at("2026-06-09T00:00:00Z")),
                (at("2026-06-09T00:00:00Z"), at("2026-06-10T00:00:00Z")),
                (at("2026-06-10T00:00:00Z"), now),
            ]
        );
        assert_eq!(spec.cursor_after(now, utc), at("2026-06-10T00:00:00Z"));
        assert_eq!(
            spec.cursor_after(at("2026-06-10T00:00:00Z"), utc),
            at("2026-06-10T00:00:00Z")
        );
        let again = spec.windows(now, Some(at("2026-06-10T00:00:00Z")), None, Some(0), utc);
        assert_eq!(again, vec![(at("2026-06-10T00:00:00Z"), now)]);
        let w = spec.windows(
            at("2026-03-09T12:00:00Z"),
            None,
            Some(at("2026-03-07T12:00:00Z")),
            None,
            Zone::parse("America/Chicago").unwrap(),
        );
        assert_eq!(
            w.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
            vec![
                at("2026-03-07T06:00:00Z"),
                at("2026-03-08T06:00:00Z"),
                at("2026-03-09T05:00:00Z"),
            ],
            "a 23-hour day when daylight time starts"
        );
    }

    #[test]
    fn windows_step_from_the_cursor_less_the_lookback_and_stop_at_max_span() {
        let spec = WindowSpec {
            step: parse_duration("1d").unwrap(),
            max_span: parse_duration("3d"),
            lookback: parse_duration("1d").unwrap(),
            backfill: parse_duration("30d").unwrap(),
            format: TimeFormat::Date,
            zone: ZoneSpec::Fixed(Zone::utc()),
            format_zone: None,
            align_days: false,
        };
        let utc = Zone::utc();
        let now = at("2026-06-10T12:00:00Z");
        let w = spec.windows(now, Some(at("2026-06-09T00:00:00Z")), None, None, utc);
        assert_eq!(w.first().unwrap().0, at("2026-06-08T00:00:00Z"));
        assert_eq!(w.last().unwrap().1, now);
        assert_eq!(w.len(), 3);
        let first = spec.windows(now, None, None, None, utc);
        assert_eq!(
            first.first().unwrap().0,
            at("2026-06-07T12:00:00Z"),
            "max_span caps the backfill"
        );
        assert!(spec.windows(now, Some(now), None, Some(0), utc).is_empty());
    }
}
