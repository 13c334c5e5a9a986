//! Config values that need more than a type check: schedules, time zones,
//! currencies, URLs and dates.
//!
//! Each is validated while the TOML is deserialized, so the error carries the
//! value's line and column. Messages never repeat the value itself: it may have
//! come from an environment variable, and the location already shows what was
//! written.

use super::suggest::nearest;
use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::time::Duration;

/// When a source is pulled: a fixed interval or a cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// Every so often (`every = "6h"`), on a grid aligned to the Unix epoch
    /// (UTC) plus a per-source offset, so a restart does not shift it.
    Every(Duration),
    /// A 5-field cron expression (minute hour day-of-month month day-of-week),
    /// kept as written for the scheduler to interpret in the client's time zone.
    Cron(String),
}

impl Schedule {
    /// Parses `30m`, `6h`, `1d`, `1h30m` or a 5-field cron expression. The error
    /// says what is accepted and never repeats the input.
    pub fn parse(s: &str) -> Result<Schedule, String> {
        let s = s.trim();
        if s.split_whitespace().count() > 1 {
            return parse_cron(s)
                .map(|()| Schedule::Cron(s.split_whitespace().collect::<Vec<_>>().join(" ")));
        }
        parse_duration(s).map(Schedule::Every)
    }
}

const SCHEDULE_HELP: &str =
    "write a duration such as \"30m\", \"6h\" or \"1d\" (units s, m, h, d), or a 5-field cron expression such as \"0 6 * * *\"";

fn parse_duration(s: &str) -> Result<Duration, String> {
    if s.is_empty() {
        return Err(format!("the schedule is empty; {SCHEDULE_HELP}"));
    }
    // Milliseconds, so "500ms" and "1h30m" add up in one unit.
    let mut total: u64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let (number, after) = rest.split_at(digits);
        let letters = after.len()
            - after
                .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                .len();
        let (unit, after) = after.split_at(letters);
        let millis: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" if !number.is_empty() && after.is_empty() => {
                return Err(format!(
                    "the duration's number needs a unit (ms, s, m, h or d); {SCHEDULE_HELP}"
                ))
            }
            _ => {
                return Err(format!(
                    "the schedule is neither a duration nor a cron expression; {SCHEDULE_HELP}"
                ))
            }
        };
        let n: u64 = number.parse().map_err(|_| {
            format!("each unit of the duration needs a number before it; {SCHEDULE_HELP}")
        })?;
        total = n
            .checked_mul(millis)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| "the duration is too long".to_string())?;
        rest = after;
    }
    if total == 0 {
        return Err(format!(
            "the interval must be longer than zero; {SCHEDULE_HELP}"
        ));
    }
    Ok(Duration::from_millis(total))
}

fn parse_cron(s: &str) -> Result<(), String> {
    let fields: Vec<&str> = s.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "a cron expression has 5 fields (minute hour day-of-month month day-of-week), this one has {}; {SCHEDULE_HELP}",
            fields.len()
        ));
    }
    let names = ["minute", "hour", "day-of-month", "month", "day-of-week"];
    for (field, name) in fields.iter().zip(names) {
        let ok = field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | ',' | '-' | '/' | '?'));
        if !ok {
            return Err(format!(
                "the cron {name} field may only hold digits, names, `*`, `,`, `-` and `/`; {SCHEDULE_HELP}"
            ));
        }
    }
    let parser = croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .build();
    parser.parse(s).map_err(|_| {
        format!(
            "the cron expression does not parse: a value is out of range (minute 0-59, hour 0-23, day 1-31, month 1-12, weekday 0-7) or malformed; {SCHEDULE_HELP}"
        )
    })?;
    Ok(())
}

/// `deserialize_with` for a duration option (`"500ms"`, `"30s"`, `"15m"`, `"1h"`; `"0s"` is zero).
pub(crate) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    let s = s.trim();
    if s.trim_end_matches('s').trim_end_matches('m') == "0" {
        return Ok(Duration::ZERO);
    }
    parse_duration(s).map_err(|_| {
        de::Error::custom(
            "write a duration such as \"500ms\", \"30s\", \"15m\", \"1h\" or \"1h30m\" (units ms, s, m, h, d)",
        )
    })
}

/// `deserialize_with` for an optional duration; see [`duration`].
pub(crate) fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    duration(d).map(Some)
}

impl<'de> Deserialize<'de> for Schedule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Schedule::parse(&s).map_err(de::Error::custom)
    }
}

/// An ISO 4217 currency code (`USD`), so costs and revenue in different
/// currencies are never added up.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(String);

impl Currency {
    /// Validates the shape of a code: three upper-case ASCII letters.
    pub fn parse(s: &str) -> Result<Currency, String> {
        if s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()) {
            return Ok(Currency(s.to_string()));
        }
        if s.len() == 3 && s.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(format!(
                "a currency is an ISO 4217 code in upper case; did you mean `{}`?",
                s.to_ascii_uppercase()
            ));
        }
        Err(
            "a currency is a 3-letter ISO 4217 code such as \"USD\", \"EUR\" or \"GBP\""
                .to_string(),
        )
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse(&s).map_err(de::Error::custom)
    }
}

/// Parses an IANA time zone name, suggesting the closest one when it is misspelt.
pub fn parse_timezone(s: &str) -> Result<Tz, String> {
    if let Ok(tz) = s.parse::<Tz>() {
        return Ok(tz);
    }
    let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
    let hint = match chrono_tz::TZ_VARIANTS
        .iter()
        .find(|tz| tz.name().eq_ignore_ascii_case(s))
    {
        Some(tz) => format!("; did you mean `{}`?", tz.name()),
        None => nearest(s, names)
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default(),
    };
    Err(format!(
        "not an IANA time zone name{hint} (names look like \"America/Chicago\", \"Europe/Berlin\" or \"UTC\")"
    ))
}

/// `deserialize_with` for a time zone.
pub(crate) fn timezone<'de, D: Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
    let s = String::deserialize(d)?;
    parse_timezone(&s).map_err(de::Error::custom)
}

/// The default time zone of a client.
pub(crate) fn utc() -> Tz {
    Tz::UTC
}

/// Checks that a URL is absolute `http` or `https`.
pub fn check_http_url(s: &str) -> Result<(), String> {
    match url::Url::parse(s) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(()),
        Ok(_) => Err("the URL must start with http:// or https:// and name a host".to_string()),
        Err(e) => Err(format!(
            "not a valid URL ({e}); write an absolute URL such as \"https://api.example.com/v1\""
        )),
    }
}

/// `deserialize_with` for an optional http(s) URL.
pub(crate) fn opt_http_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = String::deserialize(d)?;
    check_http_url(&s).map_err(de::Error::custom)?;
    Ok(Some(s))
}

/// `deserialize_with` for an optional calendar date, written either as a TOML
/// local date (`2026-03-01`) or a string (`"2026-03-01"`).
pub(crate) fn opt_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    d.deserialize_any(DateVisitor).map(Some)
}

struct DateVisitor;

const DATE_HELP: &str = "write a date as 2026-03-01 (year-month-day, no time)";

fn parse_date<E: de::Error>(s: &str) -> Result<NaiveDate, E> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| E::custom(format!("not a valid date; {DATE_HELP}")))
}

impl<'de> Visitor<'de> for DateVisitor {
    type Value = NaiveDate;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a date such as 2026-03-01")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<NaiveDate, E> {
        parse_date(s)
    }

    // TOML dates arrive as a one-entry map holding the date's text.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NaiveDate, A::Error> {
        let _key: Option<String> = map.next_key()?;
        let text: String = map.next_value()?;
        parse_date(&text)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_cron() {
        assert_eq!(
            Schedule::parse("6h"),
            Ok(Schedule::Every(Duration::from_secs(6 * 3600)))
        );
        assert_eq!(
            Schedule::parse("1h30m"),
            Ok(Schedule::Every(Duration::from_secs(5400)))
        );
        assert_eq!(
            Schedule::parse("1d"),
            Ok(Schedule::Every(Duration::from_secs(86_400)))
        );
        assert_eq!(
            Schedule::parse("0  6 * * 1-5"),
            Ok(Schedule::Cron("0 6 * * 1-5".into()))
        );
        for bad in [
            "6",
            "h",
            "0m",
            "6x",
            "",
            "* * * *",
            "0 6 * * * *",
            "0 6 * * ;",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn currencies_and_zones() {
        assert!(Currency::parse("USD").is_ok());
        assert!(Currency::parse("usd").unwrap_err().contains("`USD`"));
        assert!(Currency::parse("dollars").is_err());
        assert_eq!(parse_timezone("America/Chicago"), Ok(Tz::America__Chicago));
        assert!(parse_timezone("america/chicago")
            .unwrap_err()
            .contains("`America/Chicago`"));
        assert!(parse_timezone("America/Chicgo")
            .unwrap_err()
            .contains("`America/Chicago`"));
    }

    #[test]
    fn urls() {
        assert!(check_http_url("http://127.0.0.1:8080/youtube/v3").is_ok());
        assert!(check_http_url("ftp://x.org").is_err());
        assert!(check_http_url("localhost:8080").is_err());
        assert!(check_http_url("not a url").is_err());
    }
}
