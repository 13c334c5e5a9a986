//! Google Business Profile: the review count, average rating and new reviews
//! per day of each location of an account, and its daily performance
//! (impressions by surface, website clicks, calls, direction requests,
//! conversations, bookings).
//!
//! Why it looks the way it does:
//!
//! - **Three APIs on three hosts.** Locations come from Business Information
//!   v1, reviews from the v4 API (which has no v1 successor), performance from
//!   Business Profile Performance v1. One `base_url` names them all: the
//!   default is the v4 host, and each v1 API lives on its own
//!   `{api}.googleapis.com`; any other `base_url` (a proxy, the sandbox) serves
//!   them under `{base_url}/{api}` (see [`service_root`]).
//! - **Every review is read.** New reviews per day and rating are counted from
//!   the whole list (newest first, 50 a page), so a day's count is never cut
//!   by a page boundary; local businesses have hundreds, not millions.
//! - **Zero is a value.** Performance series leave a zero day's value out;
//!   the parser stores 0, so "no calls on Sunday" is not "no data".

pub mod parse;

use crate::google;
use async_trait::async_trait;
use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Deserialize;
use tally_model::error::url_path;
use tally_model::paginate::{encode_query_value, param, Step};
use tally_model::{
    Connector, ConnectorError, Description, Emitter, Entity, EntityKind, HttpClientExt,
    HttpRequest, Settings, SourceContext,
};

/// The documented root of the v4 API, which is also the connector's default `base_url`.
pub const DEFAULT_BASE_URL: &str = "https://mybusiness.googleapis.com";
/// Days of performance re-read on each pull (Google fills them in late).
pub const DEFAULT_LOOKBACK_DAYS: u32 = 7;
const SCOPE: &str = "https://www.googleapis.com/auth/business.manage";
const REVIEWS_PER_PAGE: u32 = 50;
const LOCATIONS_PER_PAGE: u32 = 100;

/// The Google Business Profile connector.
#[derive(Debug, Clone, Copy, Default)]
pub struct GoogleBusinessProfile;

/// `[sources.settings]` of a Business Profile source.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Settings)]
#[serde(deny_unknown_fields)]
#[settings(check = "GbpSettings::checked")]
pub struct GbpSettings {
    /// The account id, digits (business.google.com → Settings → Business Profile ID of the group), or `accounts/123`.
    pub account_id: String,
    /// Location ids (digits or `locations/123`) to read; empty reads every location of the account.
    #[serde(default)]
    pub locations: Vec<String>,
    /// IANA time zone of the business, whose days new reviews and performance are counted in.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Days of performance history the first pull reads.
    #[serde(default = "default_history_days")]
    pub history_days: u32,
}

fn default_timezone() -> String {
    "UTC".into()
}

fn default_history_days() -> u32 {
    28
}

/// Digits, after an optional `prefix/`.
fn id_digits<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    let id = value.trim();
    let id = id.strip_prefix(prefix).unwrap_or(id);
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

impl GbpSettings {
    /// Normalises ids to digits and checks the time zone.
    fn checked(self) -> Result<GbpSettings, ConnectorError> {
        let account_id = id_digits(&self.account_id, "accounts/")
            .ok_or_else(|| {
                ConnectorError::Settings(format!(
                    "account_id `{}` is not a Business Profile account id (digits, or accounts/ and digits)",
                    self.account_id
                ))
            })?
            .to_string();
        let locations = self
            .locations
            .iter()
            .map(|l| {
                id_digits(l, "locations/")
                    .map(str::to_string)
                    .ok_or_else(|| {
                        ConnectorError::Settings(format!(
                        "locations: `{l}` is not a location id (digits, or locations/ and digits)"
                    ))
                    })
            })
            .collect::<Result<_, _>>()?;
        google::time_zone(&self.timezone, "timezone").map_err(ConnectorError::Settings)?;
        Ok(GbpSettings {
            account_id,
            locations,
            ..self
        })
    }

    fn tz(&self) -> Tz {
        self.timezone.parse().unwrap_or(chrono_tz::UTC)
    }
}

/// The root of Google API `service` (`mybusinessbusinessinformation`) for a
/// source whose `base_url` is `base`: its own `googleapis.com` host for the
/// real API, `{base}/{service}` behind anything else.
pub fn service_root(base: &str, service: &str) -> String {
    let base = base.trim_end_matches('/');
    if base == DEFAULT_BASE_URL {
        format!("https://{service}.googleapis.com")
    } else {
        format!("{base}/{service}")
    }
}

#[async_trait]
impl Connector for GoogleBusinessProfile {
    fn describe(&self) -> Description {
        Description::new(
            "google_business_profile",
            "Google Business Profile: review count, rating and new reviews per day of each location, plus daily impressions, clicks, calls, direction requests and bookings",
            DEFAULT_BASE_URL,
        )
        .metrics([
            "reviews.count",
            "reviews.rating",
            "reviews.new",
            "reach.impressions",
            "traffic.clicks",
            "actions.calls",
            "actions.directions",
            "actions.conversations",
            "actions.bookings",
        ])
        .settings::<GbpSettings>()
        .auth(google::auth(SCOPE))
        // Business Profile APIs allow 300 queries per minute per project.
        .rate_limit(300, 60, 10)
    }

    async fn check(&self, ctx: &SourceContext<'_>) -> Result<String, ConnectorError> {
        let settings: GbpSettings = ctx.checked_settings()?;
        let locations = locations(ctx, &settings).await?;
        let names: Vec<String> = locations
            .iter()
            .map(|l| l.title.clone().unwrap_or_else(|| l.name.clone()))
            .collect();
        Ok(format!(
            "account {} with {} location(s): {}",
            settings.account_id,
            names.len(),
            names.join(", ")
        ))
    }

    async fn pull(
        &self,
        ctx: &SourceContext<'_>,
        out: &mut dyn Emitter,
    ) -> Result<(), ConnectorError> {
        let settings: GbpSettings = ctx.checked_settings()?;
        let tz = settings.tz();
        let (start, end) =
            google::date_window(ctx, tz, settings.history_days, DEFAULT_LOOKBACK_DAYS);
        for location in locations(ctx, &settings).await? {
            let id = location.name.trim_start_matches("locations/").to_string();
            let entity = Entity::new(
                EntityKind::Location,
                location.name.clone(),
                location.title.clone(),
            );
            reviews(ctx, out, &settings, &id, &entity, tz).await?;
            performance(ctx, out, &id, &entity, tz, start, end).await?;
        }
        out.save_state(google::through(end));
        Ok(())
    }
}

/// The locations to read: those configured (by id), else every location of the account.
async fn locations(
    ctx: &SourceContext<'_>,
    settings: &GbpSettings,
) -> Result<Vec<parse::Location>, ConnectorError> {
    let root = service_root(ctx.base_url, "mybusinessbusinessinformation");
    let error = |path: &str, status: u16, body: &[u8]| {
        google::error_for("Google Business Profile", path, status, body)
    };
    if !settings.locations.is_empty() {
        let mut found = Vec::new();
        for id in &settings.locations {
            let url = format!("{root}/v1/locations/{id}?readMask=name,title");
            let (location, _) = ctx
                .http
                .get_json_with::<parse::Location, _>(HttpRequest::get(url), error)
                .await?;
            found.push(location);
        }
        return Ok(found);
    }
    let list_path = format!("{root}/v1/accounts/{}/locations", settings.account_id);
    let mut pages = ctx.paginator(&url_path(&list_path));
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let url = format!(
            "{list_path}?readMask=name,title&pageSize={LOCATIONS_PER_PAGE}{}",
            param("pageToken", token.as_deref())
        );
        let (page, _) = ctx
            .http
            .get_json_with::<parse::LocationList, _>(HttpRequest::get(url), error)
            .await?;
        found.extend(page.locations);
        match pages.advance(page.next_page_token)? {
            Some(next) => token = Some(next),
            None => return Ok(found),
        }
    }
}

/// Reads every review of a location: the count and rating gauges from the
/// first page, new reviews per day and rating from all of them.
async fn reviews(
    ctx: &SourceContext<'_>,
    out: &mut dyn Emitter,
    settings: &GbpSettings,
    location_id: &str,
    entity: &Entity,
    tz: Tz,
) -> Result<(), ConnectorError> {
    let path = format!(
        "/v4/accounts/{}/locations/{location_id}/reviews",
        settings.account_id
    );
    let mut days = parse::ReviewDays::default();
    let mut gauges_done = false;
    let fetch = |token: Option<String>| {
        let query = format!(
            "{path}?pageSize={REVIEWS_PER_PAGE}{}",
            param("pageToken", token.as_deref())
        );
        async move {
            let (page, response) = ctx
                .get_json::<parse::ReviewList, _>(&query, |p, s, b| {
                    google::error_for("Google Business Profile", p, s, b)
                })
                .await?;
            let next = page.next_page_token.clone();
            Ok(((page, response.body), next))
        }
    };
    ctx.paginate(&path, None, out, fetch, |(page, body), out| {
        if !gauges_done {
            for point in parse::review_gauges(entity, &page, ctx.now) {
                out.emit(point)?;
            }
            gauges_done = true;
        }
        days.add(&page, tz)
            .map_err(|e| ConnectorError::decode(&url_path(&ctx.url(&path)), e, &body))?;
        Ok(Step::Continue(None))
    })
    .await?;
    let points = days
        .points(entity, tz)
        .map_err(|e| ConnectorError::Other(format!("{path}: {e}")))?;
    for point in points {
        out.emit(point)?;
    }
    Ok(())
}

/// One `fetchMultiDailyMetricsTimeSeries` call for every daily metric Tally maps.
async fn performance(
    ctx: &SourceContext<'_>,
    out: &mut dyn Emitter,
    location_id: &str,
    entity: &Entity,
    tz: Tz,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<(), ConnectorError> {
    use chrono::Datelike;
    let root = service_root(ctx.base_url, "businessprofileperformance");
    let metrics: String = parse::DAILY_METRICS
        .iter()
        .map(|(name, _, _)| format!("dailyMetrics={}&", encode_query_value(name)))
        .collect();
    let url = format!(
        "{root}/v1/locations/{location_id}:fetchMultiDailyMetricsTimeSeries?{metrics}\
         dailyRange.startDate.year={}&dailyRange.startDate.month={}&dailyRange.startDate.day={}&\
         dailyRange.endDate.year={}&dailyRange.endDate.month={}&dailyRange.endDate.day={}",
        start.year(),
        start.month(),
        start.day(),
        end.year(),
        end.month(),
        end.day()
    );
    let (series, response) = ctx
        .http
        .get_json_with::<parse::MultiSeries, _>(HttpRequest::get(url.clone()), |p, s, b| {
            google::error_for("Google Business Profile", p, s, b)
        })
        .await?;
    let points = parse::performance_points(entity, &series, tz)
        .map_err(|e| ConnectorError::decode(&url_path(&url), e, &response.body))?;
    for point in points {
        out.emit(point)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_documented_once() {
        let sample: GbpSettings = tally_testkit::assert_settings_documented(
            &GoogleBusinessProfile,
            concat!(env!("CARGO_MANIFEST_DIR"), "/google_business_profile"),
        );
        assert_eq!(sample.account_id, "1234567890");
    }

    #[test]
    fn ids_are_digits_and_the_time_zone_is_real() {
        let settings = GbpSettings {
            account_id: "accounts/12".into(),
            locations: vec!["locations/34".into()],
            timezone: "America/Chicago".into(),
            history_days: 28,
        };
        let ok = settings.clone().checked().unwrap();
        assert_eq!(
            (ok.account_id.as_str(), ok.locations[0].as_str()),
            ("12", "34")
        );
        let bad = GbpSettings {
            account_id: "Corner Bakery".into(),
            ..settings.clone()
        };
        assert_eq!(
            bad.checked().unwrap_err().to_string(),
            "invalid settings: account_id `Corner Bakery` is not a Business Profile account id (digits, or accounts/ and digits)"
        );
        let bad = GbpSettings {
            timezone: "Chicago".into(),
            ..settings
        };
        assert_eq!(
            bad.checked().unwrap_err().to_string(),
            "invalid settings: timezone `Chicago` is not an IANA time zone (such as America/Chicago)"
        );
    }

    #[test]
    fn each_api_has_its_own_root() {
        assert_eq!(
            service_root(DEFAULT_BASE_URL, "businessprofileperformance"),
            "https://businessprofileperformance.googleapis.com"
        );
        assert_eq!(
            service_root("http://127.0.0.1:9/gbp/", "businessprofileperformance"),
            "http://127.0.0.1:9/gbp/businessprofileperformance"
        );
    }
}
