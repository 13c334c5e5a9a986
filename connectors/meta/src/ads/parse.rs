//! Pure mapping of Marketing API insights rows to canonical points: no I/O.
//!
//! Numbers arrive as strings (`"spend":"533.95"`). Action types nest and
//! repeat each other, so one type is picked per canonical metric, never a
//! sum of variants: `lead` (else the on-Facebook form leads plus the Pixel
//! leads), and `omni_purchase` (else `purchase`) for both the purchase count
//! and its value. A missing action type means the action is absent: no point.

use crate::graph::insights::number;
use chrono::{Duration, FixedOffset, NaiveDate, Offset, TimeZone, Utc};
use serde::Deserialize;
use serde_json::Value;
use tally_model::{Entity, EntityKind, Point, PointTime, Unit};

/// Platform name written on every point.
pub const PLATFORM: &str = "meta_ads";

/// The insights fields asked for on every row.
pub const FIELDS: &str =
    "date_start,date_stop,account_currency,spend,impressions,reach,clicks,inline_link_clicks,actions,action_values";

/// Lead action types, first match wins; the second entry is a pair summed
/// only when `lead` is absent (form leads and Pixel leads do not overlap).
const LEAD: &str = "lead";
const LEAD_PARTS: [&str; 2] = [
    "onsite_conversion.lead_grouped",
    "offsite_conversion.fb_pixel_lead",
];
/// Purchase action types, first present wins.
const PURCHASE: [&str; 2] = ["omni_purchase", "purchase"];

/// `GET /act_<id>?fields=name,currency,timezone_name,timezone_offset_hours_utc`.
#[derive(Debug, Deserialize)]
pub struct AdAccount {
    /// `act_<id>`.
    #[serde(default)]
    pub id: Option<String>,
    /// Account name.
    #[serde(default)]
    pub name: Option<String>,
    /// ISO 4217 currency every amount is in.
    pub currency: String,
    /// IANA time zone the account's days are counted in.
    #[serde(default)]
    pub timezone_name: Option<String>,
    /// Its offset from UTC in hours (`-6.0`).
    #[serde(default)]
    pub timezone_offset_hours_utc: Option<f64>,
}

/// One row of an insights answer (one day, one level, one breakdown value).
#[derive(Debug, Deserialize)]
pub struct Row {
    /// First day counted, in the account's time zone.
    pub date_start: NaiveDate,
    /// Currency of the amounts, when asked for.
    #[serde(default)]
    pub account_currency: Option<String>,
    /// Amount spent, in major units.
    #[serde(default)]
    pub spend: Option<Value>,
    /// Impressions.
    #[serde(default)]
    pub impressions: Option<Value>,
    /// Accounts reached (not additive across days or breakdowns).
    #[serde(default)]
    pub reach: Option<Value>,
    /// All clicks.
    #[serde(default)]
    pub clicks: Option<Value>,
    /// Link clicks on the ad (1-day click window).
    #[serde(default)]
    pub inline_link_clicks: Option<Value>,
    /// Actions by type.
    #[serde(default)]
    pub actions: Vec<ActionStat>,
    /// Action values by type.
    #[serde(default)]
    pub action_values: Vec<ActionStat>,
    /// Campaign id, at campaign level.
    #[serde(default)]
    pub campaign_id: Option<String>,
    /// Campaign name, at campaign level.
    #[serde(default)]
    pub campaign_name: Option<String>,
    /// Breakdown values (`age`, `gender`, `country`, `publisher_platform`).
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

/// An `AdsActionStats` element.
#[derive(Debug, Deserialize)]
pub struct ActionStat {
    /// `lead`, `omni_purchase`, `link_click`, …
    pub action_type: String,
    /// Value for the default attribution window, a numeric string.
    #[serde(default)]
    pub value: Value,
}

impl AdAccount {
    /// The account as an entity (`act_<id>`).
    pub fn entity(&self, account_id: &str) -> Entity {
        Entity::new(
            EntityKind::Account,
            format!("act_{account_id}"),
            self.name.clone(),
        )
    }

    /// The account's UTC offset, which its report days are counted in.
    pub fn offset(&self) -> FixedOffset {
        let secs = self
            .timezone_offset_hours_utc
            .map_or(0, |h| (h * 3600.0).round() as i32);
        FixedOffset::east_opt(secs).unwrap_or_else(|| Utc.fix())
    }
}

/// The value of the first present action type among `types`.
fn action(stats: &[ActionStat], types: &[&str]) -> Option<f64> {
    types
        .iter()
        .find_map(|t| stats.iter().find(|s| s.action_type == *t))
        .and_then(|s| number(&s.value))
}

/// Leads: `lead`, else the sum of its parts that are present, else none.
fn leads(stats: &[ActionStat]) -> Option<f64> {
    action(stats, &[LEAD]).or_else(|| {
        let parts: Vec<f64> = LEAD_PARTS
            .iter()
            .filter_map(|t| action(stats, &[t]))
            .collect();
        (!parts.is_empty()).then(|| parts.iter().sum())
    })
}

impl Row {
    /// The row's points for `entity`, over its day in the account's time
    /// zone, money in `currency` (the row's own `account_currency` wins),
    /// with `dimensions` (a breakdown or the campaign) on each.
    pub fn points(
        &self,
        entity: &Entity,
        offset: FixedOffset,
        currency: &str,
        dimensions: &[(String, String)],
    ) -> Vec<Point> {
        let Some(start) = offset
            .from_local_datetime(&self.date_start.and_time(chrono::NaiveTime::MIN))
            .single()
            .map(|t| t.with_timezone(&Utc))
        else {
            return Vec::new();
        };
        let time = PointTime::Period {
            start,
            end: start + Duration::days(1),
        };
        let money = Unit::Currency(
            self.account_currency
                .clone()
                .unwrap_or_else(|| currency.to_string()),
        );
        let num = |v: &Option<Value>| v.as_ref().and_then(number);
        let clicks = num(&self.inline_link_clicks)
            .map(|v| (v, "inline_link_clicks"))
            .or_else(|| num(&self.clicks).map(|v| (v, "clicks")));
        let values: [(&str, &str, Option<f64>, bool); 7] = [
            ("cost.spend", "spend", num(&self.spend), true),
            (
                "reach.impressions",
                "impressions",
                num(&self.impressions),
                false,
            ),
            ("reach.reach", "reach", num(&self.reach), false),
            (
                "traffic.clicks",
                clicks.map_or("inline_link_clicks", |c| c.1),
                clicks.map(|c| c.0),
                false,
            ),
            (
                "conversions.leads",
                "actions:lead",
                leads(&self.actions),
                false,
            ),
            (
                "conversions.count",
                "actions:purchase",
                action(&self.actions, &PURCHASE),
                false,
            ),
            (
                "conversions.revenue",
                "action_values:purchase",
                action(&self.action_values, &PURCHASE),
                true,
            ),
        ];
        values
            .into_iter()
            .filter_map(|(metric, raw, value, is_money)| {
                let point = Point::new(PLATFORM, metric, raw, entity.clone(), value?, time);
                let point = if is_money {
                    point.with_unit(money.clone())
                } else {
                    point
                };
                Some(
                    dimensions
                        .iter()
                        .fold(point, |p, (k, v)| p.with_dimension(k, v)),
                )
            })
            .collect()
    }

    /// The value of breakdown `key` on this row.
    pub fn breakdown(&self, key: &str) -> Option<String> {
        match self.other.get(key)? {
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }
}

/// `{"report_run_id": "…"}`, the answer to an async insights POST.
#[derive(Debug, Deserialize)]
pub struct ReportRunStarted {
    /// The run to poll.
    pub report_run_id: String,
}

/// `GET /{report_run_id}`: where an async run stands.
#[derive(Debug, Deserialize)]
pub struct ReportRun {
    /// `Job Not Started`, `Job Started`, `Job Running`, `Job Completed`, `Job Failed`, `Job Skipped`.
    pub async_status: String,
    /// Percent done.
    #[serde(default)]
    pub async_percent_completion: Option<f64>,
    /// Why it failed (an int from v25.0).
    #[serde(default)]
    pub error_code: Option<Value>,
    /// Meta's message for a failed run.
    #[serde(default)]
    pub error_message: Option<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The Insights page's sample row, with actions in the documented shape.
    const SAMPLE: &str = r#"{"account_id":"1","campaign_id":"9","date_start":"2026-10-01","date_stop":"2026-10-01",
      "account_currency":"EUR","impressions":"36132","reach":"21877","clicks":"812","inline_link_clicks":"604","spend":"533.95",
      "actions":[{"action_type":"link_click","value":"604"},{"action_type":"lead","value":"19"},
                 {"action_type":"onsite_conversion.lead_grouped","value":"12"},{"action_type":"offsite_conversion.fb_pixel_lead","value":"7"},
                 {"action_type":"omni_purchase","value":"3"},{"action_type":"purchase","value":"3"}],
      "action_values":[{"action_type":"omni_purchase","value":"289.90"}]}"#;

    #[test]
    fn the_sample_row_maps_without_summing_action_variants() {
        let row: Row = serde_json::from_str(SAMPLE).unwrap();
        let entity = Entity::new(EntityKind::Account, "act_1", None);
        let offset = FixedOffset::west_opt(6 * 3600).unwrap();
        let points = row.points(&entity, offset, "USD", &[]);
        let got: Vec<_> = points
            .iter()
            .map(|p| (p.metric.as_str(), p.value, p.unit.as_str().to_string()))
            .collect();
        assert_eq!(
            got,
            [
                ("cost.spend", 533.95, "EUR".to_string()),
                ("reach.impressions", 36132.0, "count".to_string()),
                ("reach.reach", 21877.0, "count".to_string()),
                ("traffic.clicks", 604.0, "count".to_string()),
                ("conversions.leads", 19.0, "count".to_string()),
                ("conversions.count", 3.0, "count".to_string()),
                ("conversions.revenue", 289.9, "EUR".to_string()),
            ]
        );
        // The day is the account's: midnight at UTC-6 is 06:00 UTC.
        assert_eq!(
            points[0].time,
            PointTime::Period {
                start: "2026-10-01T06:00:00Z".parse().unwrap(),
                end: "2026-10-02T06:00:00Z".parse().unwrap(),
            }
        );
    }

    #[test]
    fn leads_fall_back_to_their_parts_and_absence_is_no_point() {
        let row: Row = serde_json::from_str(
            r#"{"date_start":"2026-10-01","spend":"10","actions":[{"action_type":"onsite_conversion.lead_grouped","value":"2"},{"action_type":"offsite_conversion.fb_pixel_lead","value":"1"}]}"#,
        )
        .unwrap();
        let entity = Entity::new(EntityKind::Account, "act_1", None);
        let points = row.points(&entity, Utc.fix(), "USD", &[]);
        let got: Vec<_> = points
            .iter()
            .map(|p| (p.metric.as_str(), p.value))
            .collect();
        assert_eq!(got, [("cost.spend", 10.0), ("conversions.leads", 3.0)]);
        assert_eq!(points[0].unit, Unit::Currency("USD".into()));
    }
}
