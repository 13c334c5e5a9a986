//! Property tests of `tally import`'s readers: any text as CSV or JSON Lines, any
//! line after a valid header, and valid points written as JSON Lines rows, which
//! must import back equal.

use crate::import_fuzz_body;
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use serde_json::json;
use tally_host::import::{parse, Format};
use tally_model::schema::CANONICAL_METRICS;
use tally_model::{Entity, EntityKind, MetricKind, Point, PointTime, Unit, UnitClass};

const HEADER: &str =
    "source,platform,entity,metric,value,unit,kind,at,period_start,period_end,campaign";

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    // 1970 to 2100, any nanosecond.
    (0i64..4_102_444_800, 0u32..1_000_000_000)
        .prop_map(|(s, n)| DateTime::from_timestamp(s, n).expect("in range"))
}

/// Any point that passes the schema: a canonical metric with an allowed kind,
/// a unit of its family, a time that fits the kind and a value in range.
fn valid_point() -> impl Strategy<Value = (String, Point)> {
    let spec = prop::sample::select(CANONICAL_METRICS.to_vec());
    (
        spec,
        any::<prop::sample::Index>(),
        "[A-Za-z0-9_.-]{1,16}",
        "[^\u{0}]{1,12}",
        (
            prop::sample::select(vec![
                EntityKind::Account,
                EntityKind::Post,
                EntityKind::Event,
            ]),
            "[^\u{0}]{1,16}",
            prop::option::of("[^\u{0}]{1,16}"),
        ),
        (0.0f64..1e12, "[A-Z]{3}", instant(), 1i64..400 * 86_400),
        (
            prop::collection::btree_map("[a-z_]{1,8}", any::<String>(), 0..3),
            any::<String>(),
        ),
    )
        .prop_map(
            |(
                spec,
                kind,
                source,
                platform,
                (ek, id, name),
                (value, code, at, secs),
                (dims, raw),
            )| {
                let kind = spec.kinds[kind.index(spec.kinds.len())];
                let unit = match spec.unit {
                    UnitClass::Count => Unit::Count,
                    UnitClass::Seconds => Unit::Seconds,
                    UnitClass::Rating => Unit::Rating,
                    UnitClass::Percent => Unit::Percent,
                    UnitClass::Currency => Unit::Currency(code),
                };
                let value = match unit {
                    Unit::Rating => value % 5.0,
                    Unit::Percent => value % 100.0,
                    _ => value,
                };
                let time = match kind {
                    MetricKind::Gauge => PointTime::At(at),
                    MetricKind::Sum => PointTime::Period {
                        start: at,
                        end: at + Duration::seconds(secs),
                    },
                };
                let raw_name = if raw.is_empty() {
                    spec.name.to_string()
                } else {
                    raw
                };
                let point = Point {
                    platform: platform.into(),
                    entity: Entity::new(ek, id, name),
                    metric: spec.name.into(),
                    value,
                    unit,
                    kind,
                    time,
                    dimensions: dims,
                    raw_name: raw_name.into(),
                };
                (source, point)
            },
        )
}

/// The JSON Lines row of a point, every field written out.
fn jsonl_row(source: &str, p: &Point) -> String {
    json!({
        "source": source,
        "platform": p.platform,
        "entity": p.entity,
        "metric": p.metric,
        "value": p.value,
        "unit": p.unit,
        "kind": p.kind,
        "time": p.time,
        "dimensions": p.dimensions,
        "raw_name": p.raw_name,
    })
    .to_string()
}

proptest! {
    #![proptest_config(tally_testkit::props::config())]

    #[test]
    fn any_text_is_rows_or_refusals_with_their_line(text in any::<String>()) {
        import_fuzz_body::rows(&text);
    }

    #[test]
    fn any_line_after_a_valid_header_is_a_row_or_a_refusal(
        cells in prop::collection::vec(prop_oneof![any::<String>(), "[a-z:.0-9-]{0,12}"], 0..12),
    ) {
        import_fuzz_body::rows(&format!("{HEADER}\n{}\n", cells.join(",")));
    }

    #[test]
    fn a_valid_point_written_as_a_jsonl_row_imports_back_equal(
        rows in prop::collection::vec(valid_point(), 1..5),
    ) {
        let text: String = rows.iter().map(|(s, p)| jsonl_row(s, p) + "\n").collect();
        let back = parse("points.jsonl", &text, Format::JsonLines, &|_| chrono_tz::UTC)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let back: Vec<(String, Point)> = back.into_iter().map(|r| (r.source, r.point)).collect();
        prop_assert_eq!(back, rows);
    }

    #[test]
    fn any_bytes_reach_the_fuzz_target_without_a_panic(data in prop::collection::vec(any::<u8>(), 0..512)) {
        import_fuzz_body::any(&data);
    }
}
