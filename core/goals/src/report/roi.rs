//! The ROI block: what the month cost, what it was worth, and the ratios a
//! client asks about (cost per lead, cost per conversion, cost per 1,000
//! impressions, engagement rate, ROI = (value − cost) ÷ cost).

use super::{Data, ReportError};
use crate::activity::activity;
use crate::period::Period;
use crate::roi::costs::cost_series;
use crate::roi::money::Money;
use crate::Context;
use chrono::DateTime;
use chrono::Utc;
use serde::Serialize;
use tally_config::ClientConfig;

/// One item of the month's cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostLine {
    /// What it is: a `[[costs]]` name, or "ad spend" for `cost.spend` points.
    pub name: String,
    /// Its share of the month, in the report's currency.
    pub amount: f64,
}

/// Costs, value and derived ratios of one month.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Roi {
    /// Currency of every amount.
    pub currency: Option<String>,
    /// Cost items.
    pub costs: Vec<CostLine>,
    /// Total cost.
    pub cost: Option<f64>,
    /// `conversions.revenue` in the month.
    pub revenue: Option<f64>,
    /// `conversions.leads` in the month.
    pub leads: Option<f64>,
    /// `conversions.count` in the month.
    pub conversions: Option<f64>,
    /// Leads × `value_per_lead`.
    pub value_of_leads: Option<f64>,
    /// Conversions × `value_per_conversion`.
    pub value_of_conversions: Option<f64>,
    /// Revenue plus the values of leads and conversions.
    pub value: Option<f64>,
    /// `reach.impressions` in the month.
    pub impressions: Option<f64>,
    /// Likes, comments, shares, saves and reactions in the month.
    pub engagement: Option<f64>,
    /// Cost ÷ leads.
    pub cost_per_lead: Option<f64>,
    /// Cost ÷ conversions.
    pub cost_per_conversion: Option<f64>,
    /// Cost ÷ impressions × 1,000.
    pub cost_per_mille: Option<f64>,
    /// Engagement ÷ impressions (or ÷ followers without impressions).
    pub engagement_rate: Option<f64>,
    /// What the engagement rate is relative to.
    pub engagement_basis: String,
    /// (value − cost) ÷ cost.
    pub roi: Option<f64>,
    /// What was missing for a figure.
    pub notes: Vec<String>,
}

/// Engagement metrics, added up for the engagement rate.
pub(crate) const ENGAGEMENT: &[&str] = &[
    "engagement.likes",
    "engagement.comments",
    "engagement.shares",
    "engagement.saves",
    "engagement.reactions",
];

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

fn add(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
    }
}

/// The ROI block of `client` for `period`.
pub(crate) fn roi(
    ctx: &Context<'_>,
    client: &ClientConfig,
    data: &Data,
    period: &Period,
    at: DateTime<Utc>,
    money: &mut Money,
) -> Result<Roi, ReportError> {
    let total = |metric: &str| {
        data.by_metric
            .get(metric)
            .and_then(|s| activity(s, period, at).actual)
    };
    let mut out = Roi::default();
    for s in cost_series(
        &ctx.config.costs,
        client,
        period.first_day,
        period.end_day,
        money,
        &format!("report of client `{}`", client.id),
    )? {
        if let Some(amount) = activity(std::slice::from_ref(&s), period, at).actual {
            out.costs.push(CostLine {
                name: s.entity.id.to_string(),
                amount,
            });
        }
    }
    if let Some(spend) = total("cost.spend") {
        out.costs.push(CostLine {
            name: "ad spend (cost.spend)".into(),
            amount: spend,
        });
    }
    out.cost = (!out.costs.is_empty()).then(|| out.costs.iter().map(|c| c.amount).sum());
    out.revenue = total("conversions.revenue");
    out.leads = total("conversions.leads");
    out.conversions = total("conversions.count");
    out.value_of_leads = client.value_per_lead.and_then(|v| out.leads.map(|l| l * v));
    out.value_of_conversions = client
        .value_per_conversion
        .and_then(|v| out.conversions.map(|c| c * v));
    out.value = add(
        add(out.revenue, out.value_of_leads),
        out.value_of_conversions,
    );
    out.impressions = total("reach.impressions");
    out.engagement = ENGAGEMENT.iter().fold(None, |acc, m| add(acc, total(m)));
    out.cost_per_lead = ratio(out.cost, out.leads);
    out.cost_per_conversion = ratio(out.cost, out.conversions);
    out.cost_per_mille = ratio(out.cost, out.impressions).map(|v| v * 1000.0);
    if out.impressions.is_some_and(|i| i > 0.0) {
        out.engagement_rate = ratio(out.engagement, out.impressions);
        out.engagement_basis = "impressions".into();
    } else {
        let followers = data.by_metric.get("audience.followers").map(|s| {
            crate::activity::level(s, at, period.date(period.days() - 1), period.tz).actual
        });
        out.engagement_rate = ratio(out.engagement, followers.flatten());
        out.engagement_basis = "followers at the month's end (no impressions data)".into();
    }
    out.roi = match (out.value, out.cost) {
        (Some(v), Some(c)) if c > 0.0 => Some((v - c) / c),
        _ => None,
    };
    if out.cost.is_none() {
        out.notes.push(
            "no costs: add [[costs]] or import cost.spend to get cost per lead and ROI".into(),
        );
    }
    if out.value.is_none() {
        out.notes.push(
            "no value: import conversions.revenue, or set value_per_lead / value_per_conversion on the client"
                .into(),
        );
    }
    out.currency = money.currency().map(str::to_string);
    Ok(out)
}
