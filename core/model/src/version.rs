//! The platform API version a connector speaks, and the warning before the
//! platform retires it.
//!
//! Versioned platforms (Meta's Graph API, LinkedIn, TikTok) retire each
//! version on an announced day; after it, calls fail or are silently
//! upgraded. The version is a fact of the connector, so it lives in its
//! [`crate::Description`]; a source may pin another one through a setting,
//! and `tally check` warns once the sunset is near ([`ApiVersion::warning`]).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Days before a sunset from which `tally check` warns.
pub const SUNSET_WARNING_DAYS: i64 = 30;

/// The version a connector speaks by default, its sunset and how a source overrides it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiVersion {
    /// The version spoken when the source does not choose one (`v27.0`).
    pub version: String,
    /// The day the platform stops serving it, when announced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sunset: Option<NaiveDate>,
    /// The `[sources.settings]` key that pins another version, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setting: Option<String>,
    /// Announced sunsets of other versions a source may pin.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub known: Vec<(String, NaiveDate)>,
}

impl ApiVersion {
    /// `version`, retired on `sunset` when that is announced.
    pub fn new(version: &str, sunset: Option<NaiveDate>) -> ApiVersion {
        ApiVersion {
            version: version.into(),
            sunset,
            setting: None,
            known: Vec::new(),
        }
    }

    /// Names the `[sources.settings]` key that pins another version.
    pub fn overridden_by(mut self, setting: &str) -> ApiVersion {
        self.setting = Some(setting.into());
        self
    }

    /// Records the announced sunset of another version.
    pub fn known(mut self, version: &str, sunset: NaiveDate) -> ApiVersion {
        self.known.push((version.into(), sunset));
        self
    }

    /// The version a source with these settings speaks.
    pub fn effective<'a>(&'a self, settings: &'a serde_json::Value) -> &'a str {
        self.setting
            .as_deref()
            .and_then(|key| settings.get(key))
            .and_then(serde_json::Value::as_str)
            .unwrap_or(&self.version)
    }

    /// The sunset of `version`, when announced.
    pub fn sunset_of(&self, version: &str) -> Option<NaiveDate> {
        if version == self.version {
            return self.sunset;
        }
        self.known
            .iter()
            .find(|(v, _)| v == version)
            .map(|(_, day)| *day)
    }

    /// What `tally check` says about a source with these settings on `today`:
    /// a warning from [`SUNSET_WARNING_DAYS`] before its version's sunset, and
    /// after it; `None` while the version is safe or its sunset unknown.
    pub fn warning(&self, settings: &serde_json::Value, today: NaiveDate) -> Option<String> {
        let version = self.effective(settings);
        let sunset = self.sunset_of(version)?;
        let days = (sunset - today).num_days();
        let fix = match &self.setting {
            Some(key) if version != self.version => {
                format!(
                    "; remove `{key}` to use {} or pin a newer one",
                    self.version
                )
            }
            Some(key) => format!("; pin a newer version with `{key}`"),
            None => "; upgrade Tally".to_string(),
        };
        if days < 0 {
            Some(format!(
                "API version {version} was retired on {sunset}; requests may fail or be upgraded by the platform{fix}"
            ))
        } else if days <= SUNSET_WARNING_DAYS {
            Some(format!(
                "API version {version} is retired on {sunset}, in {days} days{fix}"
            ))
        } else {
            None
        }
    }
}

/// Error bodies that mean "slow down" although the status is not 429: Meta's
/// Graph API answers 400 or 403 with `{"error":{"code":4,...}}`. The host
/// reads the code at `code_pointer`, and treats a match as throttling: it
/// waits (the usage headers' time to regain access, or its backoff) and
/// retries, instead of handing the connector a failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottleErrors {
    /// Statuses whose body is read (`[400, 403]`).
    pub statuses: Vec<u16>,
    /// JSON pointer to the numeric error code (`/error/code`).
    pub code_pointer: String,
    /// Inclusive ranges of codes that mean throttling (`[4, 4]`, `[80000, 80014]`).
    pub codes: Vec<(i64, i64)>,
}

impl ThrottleErrors {
    /// Whether a response with `status` and `body` is a throttling answer.
    pub fn matches(&self, status: u16, body: &[u8]) -> bool {
        if !self.statuses.contains(&status) {
            return false;
        }
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
            return false;
        };
        value
            .pointer(&self.code_pointer)
            .and_then(serde_json::Value::as_i64)
            .is_some_and(|code| {
                self.codes
                    .iter()
                    .any(|(lo, hi)| (*lo..=*hi).contains(&code))
            })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn graph() -> ApiVersion {
        ApiVersion::new("v27.0", None)
            .overridden_by("api_version")
            .known("v24.0", day("2026-11-10"))
            .known("v25.0", day("2027-02-23"))
    }

    #[test]
    fn a_pinned_version_warns_thirty_days_before_its_sunset_and_after_it() {
        let v = graph();
        let pinned = json!({"api_version": "v25.0"});
        assert_eq!(v.warning(&pinned, day("2027-01-23")), None);
        assert_eq!(
            v.warning(&pinned, day("2027-01-24")).as_deref(),
            Some("API version v25.0 is retired on 2027-02-23, in 30 days; remove `api_version` to use v27.0 or pin a newer one")
        );
        assert_eq!(
            v.warning(&json!({"api_version": "v24.0"}), day("2026-12-06")).as_deref(),
            Some("API version v24.0 was retired on 2026-11-10; requests may fail or be upgraded by the platform; remove `api_version` to use v27.0 or pin a newer one")
        );
        // The default's sunset is not announced: nothing to say.
        assert_eq!(v.warning(&json!({}), day("2026-12-06")), None);
        assert_eq!(v.effective(&json!({})), "v27.0");
    }

    #[test]
    fn throttle_codes_are_read_from_the_body() {
        let t = ThrottleErrors {
            statuses: vec![400, 403],
            code_pointer: "/error/code".into(),
            codes: vec![(4, 4), (80000, 80004)],
        };
        assert!(t.matches(400, br#"{"error":{"code":4,"message":"(#4) limit"}}"#));
        assert!(t.matches(403, br#"{"error":{"code":80002}}"#));
        assert!(!t.matches(400, br#"{"error":{"code":100}}"#));
        assert!(!t.matches(500, br#"{"error":{"code":4}}"#));
        assert!(!t.matches(400, b"<html>"));
    }
}
