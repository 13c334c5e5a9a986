//! Property tests of what crosses the plugin boundary: any bytes as a point batch
//! or as the JSON heads and errors never panic, and any batch of points survives
//! encode → decode unchanged.

#![allow(clippy::unwrap_used)]

mod fuzz_body;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use std::collections::BTreeMap;
use tally_model::{Entity, EntityKind, MetricKind, Point, PointTime, Unit};
use tally_plugin_sdk::points::{decode_batch, encode_batch};
use tally_plugin_sdk::wire::{to_json, WireError};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    // Years 1 to 9999, any nanosecond: the range an RFC 3339 time can name.
    (-62_135_596_800i64..253_402_300_799, 0u32..1_000_000_000)
        .prop_map(|(s, n)| DateTime::from_timestamp(s, n).unwrap())
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-z._]{1,12}"]
}

fn point() -> impl Strategy<Value = Point> {
    let entity = (
        prop::sample::select(vec![
            EntityKind::Account,
            EntityKind::Post,
            EntityKind::Video,
            EntityKind::Location,
            EntityKind::Property,
            EntityKind::Event,
            EntityKind::Campaign,
        ]),
        text(),
        prop::option::of(text()),
    )
        .prop_map(|(kind, id, name)| Entity::new(kind, id, name));
    let unit = prop_oneof![
        Just(Unit::Count),
        Just(Unit::Seconds),
        Just(Unit::Rating),
        Just(Unit::Percent),
        "[A-Z]{3}".prop_map(Unit::Currency),
    ];
    let time = prop_oneof![
        instant().prop_map(PointTime::At),
        (instant(), instant()).prop_map(|(start, end)| PointTime::Period { start, end }),
    ];
    (
        (
            text(),
            entity,
            text(),
            any::<f64>().prop_filter("NaN", |v| !v.is_nan()),
        ),
        (unit, prop::bool::ANY, time),
        (prop::collection::btree_map(text(), text(), 0..3), text()),
    )
        .prop_map(
            |((platform, entity, metric, value), (unit, gauge, time), (dimensions, raw))| Point {
                platform: platform.into(),
                entity,
                metric: metric.into(),
                value,
                unit,
                kind: if gauge {
                    MetricKind::Gauge
                } else {
                    MetricKind::Sum
                },
                time,
                dimensions: dimensions.into_iter().collect::<BTreeMap<_, _>>(),
                raw_name: raw.into(),
            },
        )
}

/// Batches like a connector's: runs of points that share most fields, so the
/// repeat flags are exercised, mixed with unrelated points.
fn batch() -> impl Strategy<Value = Vec<Point>> {
    prop::collection::vec((point(), 1usize..4, any::<f64>()), 0..12).prop_map(|groups| {
        groups
            .into_iter()
            .flat_map(|(p, n, v)| {
                (0..n).map(move |i| Point {
                    value: if i == 0 || v.is_nan() { p.value } else { v },
                    ..p.clone()
                })
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_batch_of_points_survives_encode_then_decode(points in batch()) {
        let mut bytes = Vec::new();
        encode_batch(&points, &mut bytes);
        prop_assert_eq!(decode_batch(&bytes).unwrap(), points);
    }

    #[test]
    fn any_bytes_as_a_batch_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        fuzz_body::batch(&bytes);
    }

    #[test]
    fn a_cut_or_corrupted_batch_is_refused_with_its_offset(
        points in batch(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        mask in 1u8..,
    ) {
        let mut bytes = Vec::new();
        encode_batch(&points, &mut bytes);
        let mut corrupted = bytes.clone();
        let at = flip.index(corrupted.len());
        corrupted[at] ^= mask;
        fuzz_body::batch(&corrupted);
        let cut = cut.index(bytes.len());
        let e = decode_batch(&bytes[..cut]).unwrap_err();
        prop_assert!(e.offset <= cut, "{}", e);
    }

    #[test]
    fn any_connector_error_survives_the_trip(
        kind in 0u8..6,
        path in text(),
        detail in text(),
        body in text(),
        status in any::<u16>(),
    ) {
        use tally_model::ConnectorError as E;
        let error = match kind {
            0 => E::Status { path, status, body },
            1 => E::Decode { path, message: detail, body },
            2 => E::Settings(detail),
            3 => E::NotFound(detail),
            4 => E::Pagination { path, message: detail },
            _ => E::Other(detail),
        };
        let back: WireError = serde_json::from_slice(&to_json(&WireError::from_connector(&error))).unwrap();
        prop_assert_eq!(back.into_connector(), error);
    }

    #[test]
    fn any_json_as_a_head_or_error_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256), text in any::<String>()) {
        fuzz_body::wire(&bytes);
        fuzz_body::wire(text.as_bytes());
        fuzz_body::wire(format!(r#"{{"kind":"status","message":{text:?},"path":"/x","status":7}}"#).as_bytes());
        fuzz_body::wire(format!(r#"{{"status":200,"headers":[[{text:?},"v"]]}}"#).as_bytes());
    }

    #[test]
    fn any_bytes_reach_the_fuzz_target_without_a_panic(data in prop::collection::vec(any::<u8>(), 0..256)) {
        fuzz_body::any(&data);
    }
}
