//! Goal and cost rules: which keys each goal kind needs and refuses, metrics
//! that exist and fit the kind (growth needs a level, a total a per-period
//! sum), periods that make sense, and references to defined clients and
//! sources. Kept apart from source checks because reports depend on these
//! rules, not on connectors.

use super::span::KeyPath;
use super::suggest::nearest;
use super::validate::{check_reference, Checker};
use super::{ClientConfig, CostConfig, CostPeriod, Currency, GoalConfig, GoalKind};
use std::collections::HashMap;
use tally_model::{MetricKind, CANONICAL_METRICS};

fn check_metric(
    c: &mut Checker<'_, '_, '_, '_>,
    path: &KeyPath,
    metric: &str,
) -> Option<&'static tally_model::MetricSpec> {
    let spec = CANONICAL_METRICS.iter().find(|m| m.name == metric);
    if spec.is_none() {
        let hint = tally_model::schema::nearest_metric(metric)
            .or_else(|| nearest(metric, CANONICAL_METRICS.iter().map(|m| m.name)))
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_else(|| " (`tally connectors` lists the canonical metrics)".to_string());
        c.value(path, format!("`{metric}` is not a canonical metric{hint}"));
    }
    spec
}

pub(super) fn check_goal(
    c: &mut Checker<'_, '_, '_, '_>,
    path: &KeyPath,
    g: &GoalConfig,
    clients: &[String],
    source_clients: &HashMap<&str, Option<&str>>,
) {
    check_reference(c, &path.key("client"), "client", &g.client, clients);
    // A source without a `[[sources]]` entry may be one `tally import` fills:
    // only the store can tell (see `Config::unconfigured_goal_sources`).
    for (j, s) in g.sources.iter().enumerate() {
        let p = path.key("sources").index(j);
        if let Some(Some(owner)) = source_clients.get(s.as_str()) {
            if *owner != g.client {
                c.value(
                    &p,
                    format!("source `{s}` belongs to client `{owner}`, not `{}`; a goal counts its own client's sources", g.client),
                );
            }
        }
    }
    let kind_name = match g.kind {
        GoalKind::Growth => "growth",
        GoalKind::Total => "total",
        GoalKind::Level => "level",
        GoalKind::Ratio => "ratio",
    };
    let not_used = |c: &mut Checker<'_, '_, '_, '_>, key: &str, set: bool| {
        if set {
            c.key(
                &path.key(key),
                format!("`{key}` is not used by a `{kind_name}` goal; remove it or change `kind`"),
            );
        }
    };
    let needs = |c: &mut Checker<'_, '_, '_, '_>, key: &str, set: bool, what: &str| {
        if !set {
            c.value(
                &path.key(key),
                format!("a `{kind_name}` goal needs `{key}` ({what})"),
            );
        }
    };

    if g.kind == GoalKind::Ratio {
        not_used(c, "metric", g.metric.is_some());
        not_used(c, "target", g.target.is_some());
        needs(
            c,
            "numerator",
            g.numerator.is_some(),
            "the metric divided, e.g. \"cost.spend\"",
        );
        needs(
            c,
            "denominator",
            g.denominator.is_some(),
            "the metric divided by, e.g. \"conversions.leads\"",
        );
        for key in ["numerator", "denominator"] {
            let m = if key == "numerator" {
                &g.numerator
            } else {
                &g.denominator
            };
            if let Some(m) = m {
                check_metric(c, &path.key(key), m);
            }
        }
        match (g.at_most, g.at_least) {
            (None, None) => c.value(
                &path.key("at_most"),
                "a `ratio` goal needs `at_most` (e.g. cost per lead at most 20) or `at_least`"
                    .into(),
            ),
            (Some(_), Some(_)) => c.key(
                &path.key("at_least"),
                "set one of `at_most` and `at_least`, not both".into(),
            ),
            _ => {}
        }
    } else {
        not_used(c, "numerator", g.numerator.is_some());
        not_used(c, "denominator", g.denominator.is_some());
        not_used(c, "at_most", g.at_most.is_some());
        not_used(c, "at_least", g.at_least.is_some());
        needs(
            c,
            "metric",
            g.metric.is_some(),
            "a canonical metric such as \"audience.followers\"",
        );
        needs(c, "target", g.target.is_some(), "the number to reach");
        if let Some(m) = &g.metric {
            if let Some(spec) = check_metric(c, &path.key("metric"), m) {
                let (needed, why) = match g.kind {
                    GoalKind::Total => (MetricKind::Sum, "a total adds up a per-period metric"),
                    _ => (
                        MetricKind::Gauge,
                        "growth and levels are measured on a level metric",
                    ),
                };
                if !spec.kinds.contains(&needed) {
                    c.value(
                        &path.key("metric"),
                        format!(
                            "`{m}` is a {} metric and a `{kind_name}` goal needs a {} one ({why})",
                            spec.kinds.first().map_or("", |k| k.as_str()),
                            needed.as_str()
                        ),
                    );
                }
            }
        }
    }
    for (key, v) in [
        ("target", g.target),
        ("at_most", g.at_most),
        ("at_least", g.at_least),
    ] {
        if v.is_some_and(|v| !v.is_finite() || v < 0.0) {
            c.value(
                &path.key(key),
                format!("`{key}` must be a number of 0 or more"),
            );
        }
    }

    if g.kind == GoalKind::Level {
        not_used(c, "period", g.period.is_some());
        not_used(c, "start", g.start.is_some());
        not_used(c, "end", g.end.is_some());
        needs(
            c,
            "by",
            g.by.is_some(),
            "the date to reach the level by, e.g. 2026-06-30",
        );
    } else {
        not_used(c, "by", g.by.is_some());
        match (g.period, g.start, g.end) {
            (Some(_), None, None) => {}
            (None, Some(start), Some(end)) => {
                if end <= start {
                    c.value(&path.key("end"), "`end` must be after `start`".into());
                }
            }
            (Some(_), _, _) => c.key(
                &path.key(if g.start.is_some() { "start" } else { "end" }),
                "set either `period` or `start` and `end`, not both".into(),
            ),
            (None, None, None) => c.value(
                &path.key("period"),
                format!("a `{kind_name}` goal needs `period` (\"week\", \"month\" or \"quarter\") or `start` and `end` dates"),
            ),
            (None, _, _) => c.value(
                &path.key(if g.start.is_none() { "start" } else { "end" }),
                "a one-off period needs both `start` and `end`".into(),
            ),
        }
    }
}

/// Money settings of a client: values need a currency to be in, and every
/// rate converts a valid currency code at a positive rate.
pub(super) fn check_client(c: &mut Checker<'_, '_, '_, '_>, path: &KeyPath, client: &ClientConfig) {
    for (key, v) in [
        ("value_per_lead", client.value_per_lead),
        ("value_per_conversion", client.value_per_conversion),
    ] {
        let Some(v) = v else { continue };
        if !v.is_finite() || v < 0.0 {
            c.value(
                &path.key(key),
                format!("`{key}` must be a number of 0 or more"),
            );
        } else if client.currency.is_none() {
            c.key(
                &path.key(key),
                format!("`{key}` is an amount of money: add `currency = \"USD\"` (or the client's ISO 4217 code) to this client"),
            );
        }
    }
    if !client.rates.is_empty() && client.currency.is_none() {
        c.key(
            &path.key("rates"),
            "`rates` convert into the client's `currency`; add `currency = \"USD\"` (or the client's code)".into(),
        );
    }
    for (code, rate) in &client.rates {
        let p = path.key("rates").key(code);
        if let Err(e) = Currency::parse(code) {
            c.key(&p, e);
        }
        if !rate.is_finite() || *rate <= 0.0 {
            c.value(&p, format!("the rate of {code} must be a number above 0 (how much one {code} is worth in the client's currency)"));
        }
    }
}

/// Whether `client` can add up an amount in `currency` with its other money.
fn convertible(client: &ClientConfig, currency: &Currency) -> bool {
    match &client.currency {
        Some(own) => own == currency || client.rates.contains_key(currency.as_str()),
        None => true,
    }
}

pub(super) fn check_cost(
    c: &mut Checker<'_, '_, '_, '_>,
    path: &KeyPath,
    cost: &CostConfig,
    clients: &[String],
    client_configs: &[&ClientConfig],
    first_currency: &mut HashMap<String, Currency>,
) {
    check_reference(c, &path.key("client"), "client", &cost.client, clients);
    if let Some(client) = client_configs.iter().find(|k| k.id == cost.client) {
        let currency = &cost.currency;
        if !convertible(client, currency) {
            let own = client
                .currency
                .as_ref()
                .map(Currency::as_str)
                .unwrap_or_default();
            c.value(
                &path.key("currency"),
                format!("client `{}` reports in {own} and has no rate for {currency}; add `rates = {{ {currency} = ... }}` to the client (one {currency} in {own}) or use {own}", client.id),
            );
        } else if client.currency.is_none() {
            match first_currency.get(&client.id) {
                Some(first) if first != currency => c.value(
                    &path.key("currency"),
                    format!("client `{}` has costs in {first} and {currency}, which cannot be added up; add `currency` and `rates` to the client", client.id),
                ),
                Some(_) => {}
                None => {
                    first_currency.insert(client.id.clone(), currency.clone());
                }
            }
        }
    }
    if !cost.amount.is_finite() || cost.amount < 0.0 {
        c.value(
            &path.key("amount"),
            "`amount` must be a number of 0 or more".into(),
        );
    }
    match (cost.period, cost.date) {
        (CostPeriod::Once, None) => c.value(
            &path.key("date"),
            "a cost with period = \"once\" needs `date` (the day it was spent, e.g. 2026-03-15)"
                .into(),
        ),
        (CostPeriod::Week | CostPeriod::Month | CostPeriod::Quarter, Some(_)) => c.key(
            &path.key("date"),
            "`date` is only used with period = \"once\"; remove it or change `period`".into(),
        ),
        _ => {}
    }
}
