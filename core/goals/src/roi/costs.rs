//! `[[costs]]` as series of sums, so a retainer counts like spend reported by
//! an ads API: spread evenly over its week, month or quarter, and a one-off
//! cost on its day.

use crate::period::Period;
use crate::roi::money::{Money, UnitError};
use crate::series::{within, Sample, Series};
use chrono::{Days, NaiveDate};
use tally_config::{ClientConfig, CostConfig, CostPeriod, GoalPeriod};
use tally_model::{Entity, EntityKind, MetricKind, Unit};

/// The source name configured costs appear under in notes and reports.
pub const COSTS_SOURCE: &str = "[[costs]]";

/// One series per configured cost of `client`, with a sample for each
/// occurrence overlapping the days `[from, to)`.
pub fn cost_series(
    costs: &[CostConfig],
    client: &ClientConfig,
    from: NaiveDate,
    to: NaiveDate,
    money: &mut Money,
    context: &str,
) -> Result<Vec<Series>, UnitError> {
    let tz = client.timezone;
    let mut out = Vec::new();
    for cost in costs.iter().filter(|c| c.client == client.id) {
        let unit = Unit::Currency(cost.currency.as_str().to_string());
        let q = money.convert(
            cost.amount,
            &unit,
            &within(context, &format!("cost `{}`", cost.name)),
        )?;
        let periods: Vec<Period> = match cost.period {
            CostPeriod::Once => cost
                .date
                .filter(|d| *d >= from && *d < to)
                .map(|d| Period::new(d, d + Days::new(1), tz))
                .into_iter()
                .collect(),
            recurring => {
                let kind = match recurring {
                    CostPeriod::Week => GoalPeriod::Week,
                    CostPeriod::Quarter => GoalPeriod::Quarter,
                    _ => GoalPeriod::Month,
                };
                let mut list = Vec::new();
                let mut day = from;
                while day < to {
                    let p = Period::containing(kind, day, tz);
                    day = p.end_day;
                    list.push(p);
                }
                list
            }
        };
        if periods.is_empty() {
            continue;
        }
        out.push(Series {
            source: COSTS_SOURCE.to_string(),
            platform: "config".to_string(),
            entity: Entity::new(
                EntityKind::Campaign,
                cost.name.clone(),
                Some(cost.name.clone()),
            ),
            metric: "cost.spend".to_string(),
            kind: MetricKind::Sum,
            unit: q.unit.clone(),
            samples: periods
                .iter()
                .map(|p| Sample {
                    start: p.start,
                    end: p.end,
                    value: q.value,
                    provisional: false,
                })
                .collect(),
        });
    }
    Ok(out)
}
