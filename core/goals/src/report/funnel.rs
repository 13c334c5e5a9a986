//! Awareness → consideration → conversion: each stage's total from the funnel
//! stage every canonical metric declares, and the rate from one stage to the
//! next.
//!
//! Only counts are added (people and actions); seconds of watch time, star
//! ratings and money have no place in a count of people, and adding them
//! would be adding followers to dollars.

use super::Data;
use crate::activity::activity;
use crate::period::Period;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tally_model::{schema, FunnelStage, UnitClass};

/// One stage of the funnel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelStageRow {
    /// `awareness`, `consideration` or `conversion`.
    pub stage: &'static str,
    /// Sum of the stage's metrics; `None` when none of them has data (not zero).
    pub total: Option<f64>,
    /// Each metric's contribution.
    pub metrics: Vec<(String, f64)>,
    /// This stage's total ÷ the previous stage's.
    pub rate: Option<f64>,
}

/// The funnel of one month.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Funnel {
    /// The three stages, in order.
    pub stages: Vec<FunnelStageRow>,
}

/// The funnel of `period` from `data`.
pub(crate) fn funnel(data: &Data, period: &Period, at: DateTime<Utc>) -> Funnel {
    let stages = [
        (FunnelStage::Awareness, "awareness"),
        (FunnelStage::Consideration, "consideration"),
        (FunnelStage::Conversion, "conversion"),
    ];
    let mut out = Funnel::default();
    let mut previous: Option<f64> = None;
    for (stage, name) in stages {
        let mut metrics = Vec::new();
        for (metric, series) in &data.by_metric {
            let Some(spec) = schema::lookup(metric) else {
                continue;
            };
            if spec.stage != Some(stage) || spec.unit != UnitClass::Count {
                continue;
            }
            if let Some(v) = activity(series, period, at).actual {
                metrics.push((metric.clone(), v));
            }
        }
        let total = (!metrics.is_empty()).then(|| metrics.iter().map(|(_, v)| v).sum::<f64>());
        let rate = match (previous, total) {
            (Some(p), Some(t)) if p > 0.0 => Some(t / p),
            _ => None,
        };
        previous = total;
        out.stages.push(FunnelStageRow {
            stage: name,
            total,
            metrics,
            rate,
        });
    }
    out
}
