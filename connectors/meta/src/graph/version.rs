//! The Graph API version the connectors speak, and the sunsets Meta announced.
//!
//! Each version lives about two years; Meta retires it on an announced day
//! and then answers with an error or silently upgrades the call. The
//! connectors speak [`CURRENT`] unless a source pins another with the
//! `api_version` setting, and `tally check` warns 30 days before the pinned
//! version's sunset (see `tally_model::ApiVersion`).

use chrono::NaiveDate;
use tally_model::{ApiVersion, ConnectorError};

/// The version spoken by default: v27.0, released 4 Nov 2026, sunset not announced yet.
pub const CURRENT: &str = "v27.0";

/// Graph API sunsets (Pages, Instagram), from Meta's changelog of 29 Oct 2026.
const GRAPH_SUNSETS: [(&str, (i32, u32, u32)); 8] = [
    ("v19.0", (2026, 5, 21)),
    ("v20.0", (2026, 9, 24)),
    ("v21.0", (2027, 1, 21)),
    ("v22.0", (2027, 5, 20)),
    ("v23.0", (2027, 10, 8)),
    ("v24.0", (2028, 2, 18)),
    ("v25.0", (2028, 7, 29)),
    ("v26.0", (0, 0, 0)),
];

/// Marketing API sunsets (ads insights), which come sooner than the Graph API's.
const MARKETING_SUNSETS: [(&str, (i32, u32, u32)); 4] = [
    ("v22.0", (2026, 2, 19)),
    ("v23.0", (2026, 6, 9)),
    ("v24.0", (2026, 11, 10)),
    ("v25.0", (2027, 2, 23)),
];

/// The version spec of the Pages and Instagram connectors.
pub fn graph() -> ApiVersion {
    spec(&GRAPH_SUNSETS)
}

/// The version spec of the Meta Ads connector.
pub fn marketing() -> ApiVersion {
    spec(&MARKETING_SUNSETS)
}

fn spec(sunsets: &[(&str, (i32, u32, u32))]) -> ApiVersion {
    sunsets.iter().fold(
        ApiVersion::new(CURRENT, None).overridden_by("api_version"),
        |spec, (version, (y, m, d))| match NaiveDate::from_ymd_opt(*y, *m, *d) {
            Some(day) => spec.known(version, day),
            None => spec,
        },
    )
}

/// The `api_version` setting's default, for serde.
pub fn default_version() -> String {
    CURRENT.to_string()
}

/// Checks an `api_version` setting is written as Meta writes versions (`v27.0`).
pub fn check(version: &str) -> Result<(), ConnectorError> {
    let ok = version
        .strip_prefix('v')
        .and_then(|rest| rest.strip_suffix(".0"))
        .is_some_and(|major| !major.is_empty() && major.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(ConnectorError::Settings(format!(
            "api_version `{version}` is not a Graph API version; write it as Meta does, e.g. `{CURRENT}`"
        )))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_written_as_meta_writes_them() {
        assert!(check("v27.0").is_ok());
        assert_eq!(
            check("27").unwrap_err().to_string(),
            "invalid settings: api_version `27` is not a Graph API version; write it as Meta does, e.g. `v27.0`"
        );
        assert!(check("v27.1").is_err() && check("v.0").is_err());
    }

    #[test]
    fn ads_sunsets_come_sooner_than_graph_ones() {
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(marketing().sunset_of("v24.0"), Some(day("2026-11-10")));
        assert_eq!(graph().sunset_of("v24.0"), Some(day("2028-02-18")));
        assert_eq!(graph().sunset_of("v26.0"), None);
        assert_eq!(graph().sunset_of(CURRENT), None);
    }
}
