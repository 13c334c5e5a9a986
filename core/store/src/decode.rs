//! Reading stored text back into the model's types, with an error naming the
//! database when a row holds something no build writes (a hand edit).

use crate::StoreError;
use std::collections::BTreeMap;
use tally_model::{EntityKind, MetricKind, Unit};

fn corrupt(path: &str, what: &'static str, detail: String) -> StoreError {
    StoreError::Corrupt {
        path: path.to_string(),
        what,
        detail,
    }
}

/// `account`, `post`, … back into an [`EntityKind`].
pub(crate) fn entity_kind(path: &str, text: &str) -> Result<EntityKind, StoreError> {
    EntityKind::parse(text)
        .ok_or_else(|| corrupt(path, "entity kind", format!("`{text}` is not a known kind")))
}

/// `gauge` or `sum` back into a [`MetricKind`].
pub(crate) fn metric_kind(path: &str, text: &str) -> Result<MetricKind, StoreError> {
    match text {
        "gauge" => Ok(MetricKind::Gauge),
        "sum" => Ok(MetricKind::Sum),
        other => Err(corrupt(
            path,
            "metric kind",
            format!("`{other}` is neither gauge nor sum"),
        )),
    }
}

/// A stored unit back into a [`Unit`].
pub(crate) fn unit(path: &str, text: &str) -> Result<Unit, StoreError> {
    Unit::parse(text).map_err(|e| corrupt(path, "unit", e.to_string()))
}

/// Canonical JSON dimensions back into a map.
pub(crate) fn dimensions(path: &str, text: &str) -> Result<BTreeMap<String, String>, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(path, "dimensions", e.to_string()))
}
