//! `pipeline.*` points: how a pull went, stored like any other metric so goals
//! and reports can track data freshness ("no more than 2 failed pulls a month").

use super::engine::{SourceOutcome, SourceStatus};
use chrono::{DateTime, Utc};
use tally_model::{Entity, EntityKind, Point, PointTime};

/// Platform written on pipeline points: they are Tally's own measurements.
pub const PIPELINE_PLATFORM: &str = "tally";

/// Entity id of pipeline points; the source column says whose pipeline it is.
pub const PIPELINE_ENTITY: &str = "pipeline";

/// One point per `pipeline.*` metric for a pull that ran over `[started, finished)`.
pub fn pipeline_points(
    outcome: &SourceOutcome,
    started: DateTime<Utc>,
    finished: DateTime<Utc>,
) -> Vec<Point> {
    // A period must not be empty, even for a pull refused within a millisecond.
    let end = finished.max(started + chrono::Duration::milliseconds(1));
    let time = PointTime::Period {
        start: started,
        end,
    };
    let entity = Entity::new(
        EntityKind::Account,
        PIPELINE_ENTITY,
        Some("Tally pipeline".to_string()),
    );
    let failed = u64::from(matches!(outcome.status, SourceStatus::Failed(_)));
    [
        ("pipeline.pulls", 1),
        ("pipeline.failures", failed),
        ("pipeline.requests", outcome.counts.requests),
        ("pipeline.retries", outcome.counts.retries),
        ("pipeline.throttled", outcome.counts.throttled),
        ("pipeline.points", outcome.counts.points),
    ]
    .into_iter()
    .map(|(metric, value)| {
        Point::new(
            PIPELINE_PLATFORM,
            metric,
            metric,
            entity.clone(),
            value as f64,
            time,
        )
    })
    .collect()
}
