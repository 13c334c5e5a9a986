//! Marketing API: ad accounts, daily insights at account and campaign
//! level with one breakdown, a restated value, and async report runs.

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};

use super::{error, page as paged, Call};
use crate::hash::range;
use crate::limit::lock;
use crate::web::{json, Params};

/// The campaigns every simulated ad account runs.
const CAMPAIGNS: [(&str, &str); 2] = [
    ("120200001", "Weekend brunch"),
    ("120200002", "Catering leads"),
];

/// `GET /act_<id>`.
pub(crate) fn account(_call: &Call<'_>, digits: &str) -> Response {
    json(
        StatusCode::OK,
        json!({
            "id": format!("act_{digits}"),
            "name": format!("Sandbox ads {}", &digits[digits.len().saturating_sub(4)..]),
            "currency": "USD",
            "timezone_name": "America/Chicago",
            "timezone_offset_hours_utc": -6.0,
            "account_status": 1,
        }),
    )
}

/// `{"since":"…","until":"…"}` of `time_range`.
fn range_of(params: &Params) -> Option<(NaiveDate, NaiveDate)> {
    let value: Value = serde_json::from_str(params.get("time_range")?).ok()?;
    let day = |k: &str| value.get(k)?.as_str()?.parse::<NaiveDate>().ok();
    Some((day("since")?, day("until")?))
}

/// The rows of one report.
fn rows(
    call: &Call<'_>,
    id: &str,
    params: &Params,
    restated: bool,
) -> Result<Vec<Value>, Box<Response>> {
    let Some((since, until)) = range_of(params) else {
        return Err(Box::new(error(
            400,
            100,
            None,
            "(#100) time_range must be {\"since\":\"YYYY-MM-DD\",\"until\":\"YYYY-MM-DD\"}",
        )));
    };
    if params.get("time_increment") != Some("1") {
        return Err(Box::new(error(
            400,
            100,
            None,
            "(#100) the sandbox serves daily rows only: time_increment=1",
        )));
    }
    let level = params.get("level").unwrap_or("account");
    let breakdown = params.get("breakdowns");
    if breakdown.is_some_and(|b| b.contains(',')) {
        return Err(Box::new(error(
            400,
            100,
            Some(1504041),
            "(#100) Ask for one breakdown per request",
        )));
    }
    let slices: Vec<(Option<(&str, &str)>, String)> = match (level, breakdown) {
        ("campaign", _) => CAMPAIGNS
            .iter()
            .map(|c| (Some(*c), String::new()))
            .collect(),
        (_, Some("age")) => ["18-24", "25-34", "35-44", "45-54"]
            .iter()
            .map(|v| (None, v.to_string()))
            .collect(),
        (_, Some("gender")) => ["female", "male", "unknown"]
            .iter()
            .map(|v| (None, v.to_string()))
            .collect(),
        (_, Some("country")) => ["US", "CA"].iter().map(|v| (None, v.to_string())).collect(),
        (_, Some("publisher_platform")) => ["facebook", "instagram", "audience_network"]
            .iter()
            .map(|v| (None, v.to_string()))
            .collect(),
        (_, Some(other)) => {
            return Err(Box::new(error(
                400,
                100,
                Some(1504041),
                &format!("(#100) {other} is not a valid breakdown"),
            )))
        }
        (_, None) => vec![(None, String::new())],
    };
    let share = slices.len() as u64;
    let mut out = Vec::new();
    let mut day = since;
    while day <= until {
        let d = day.to_string();
        for (campaign, slice) in &slices {
            let key = [id, &d, campaign.map_or("", |c| c.0), slice];
            let h = |what: &str| call.hash(&[key[0], key[1], key[2], key[3], what]);
            let spend = range(h("spend"), 1_500, 4_500) as f64 / 100.0 / share as f64;
            let impressions = range(h("impressions"), 1_000, 5_000) / share;
            let clicks = range(h("clicks"), 20, 120) / share;
            let mut leads = range(h("leads"), 0, 4);
            // Yesterday always has a lead, and a later read finds one more
            // attributed late: the restatement a re-read must store.
            if day == until - Duration::days(1) && campaign.is_none() && slice.is_empty() {
                leads = leads.max(1) + u64::from(restated);
            }
            let purchases = range(h("purchases"), 0, 3);
            let mut actions =
                vec![json!({"action_type": "link_click", "value": clicks.to_string()})];
            if leads > 0 {
                actions.push(json!({"action_type": "lead", "value": leads.to_string()}));
                actions.push(json!({"action_type": "onsite_conversion.lead_grouped", "value": leads.to_string()}));
            }
            let mut values = Vec::new();
            if purchases > 0 {
                actions
                    .push(json!({"action_type": "omni_purchase", "value": purchases.to_string()}));
                actions.push(json!({"action_type": "purchase", "value": purchases.to_string()}));
                values.push(json!({"action_type": "omni_purchase", "value": format!("{:.2}", purchases as f64 * 38.5)}));
            }
            let mut row = json!({
                "account_id": id.trim_start_matches("act_"),
                "date_start": d,
                "date_stop": d,
                "account_currency": "USD",
                "spend": format!("{spend:.2}"),
                "impressions": impressions.to_string(),
                "reach": (impressions * 7 / 10).to_string(),
                "clicks": (clicks * 13 / 10).to_string(),
                "inline_link_clicks": clicks.to_string(),
                "actions": actions,
                "action_values": values,
            });
            if let Some((cid, name)) = campaign {
                row["campaign_id"] = json!(cid);
                row["campaign_name"] = json!(name);
            }
            if let Some(b) = breakdown {
                row[b] = json!(slice);
            }
            out.push(row);
        }
        day += Duration::days(1);
    }
    Ok(out)
}

/// `GET /act_<id>/insights`: a second read of the account's daily totals
/// restates yesterday's leads.
pub(crate) fn insights(call: &Call<'_>, id: &str) -> Response {
    let totals =
        call.params.get("level") != Some("campaign") && call.params.get("breakdowns").is_none();
    let first_page = call.params.get("after").is_none();
    let reads = if totals && first_page {
        let mut reads = lock(&call.graph.reads);
        let n = reads.entry(id.to_string()).or_insert(0);
        *n += 1;
        *n
    } else {
        lock(&call.graph.reads).get(id).copied().unwrap_or(1)
    };
    match rows(call, id, &call.params, reads >= 2) {
        Ok(items) => paged(items, &call.params, 25),
        Err(refused) => *refused,
    }
}

/// `POST /act_<id>/insights`: starts an async report run.
pub(crate) fn start_run(call: &Call<'_>, id: &str) -> Response {
    if let Err(refused) = rows(call, id, &call.params, false) {
        return *refused;
    }
    let mut runs = lock(&call.graph.runs);
    let run = format!("9000{:06}", runs.len() + 1);
    runs.insert(run.clone(), (id.to_string(), call.params.clone(), 0));
    json(StatusCode::OK, json!({ "report_run_id": run }))
}

/// `GET /{report_run_id}`: running on the first poll, completed after.
pub(crate) fn run_status(call: &Call<'_>, run: &str) -> Response {
    let mut runs = lock(&call.graph.runs);
    let Some((_, _, polls)) = runs.get_mut(run) else {
        return super::not_found(&format!(
            "Unsupported get request. Object with ID '{run}' does not exist"
        ));
    };
    *polls += 1;
    let (status, pct) = if *polls < 2 {
        ("Job Running", 50)
    } else {
        ("Job Completed", 100)
    };
    json(
        StatusCode::OK,
        json!({"id": run, "async_status": status, "async_percent_completion": pct}),
    )
}

/// `GET /{report_run_id}/insights`: the finished run's rows.
pub(crate) fn run_rows(call: &Call<'_>, run: &str) -> Response {
    let found = lock(&call.graph.runs).get(run).cloned();
    let Some((account, params, polls)) = found else {
        return super::not_found(&format!(
            "Unsupported get request. Object with ID '{run}' does not exist"
        ));
    };
    if polls < 2 {
        return error(
            400,
            100,
            Some(2490547),
            "(#100) The report is not ready yet",
        );
    }
    match rows(call, &account, &params, false) {
        Ok(items) => paged(items, &call.params, 25),
        Err(refused) => *refused,
    }
}
