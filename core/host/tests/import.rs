//! `tally import` as a library: valid files stored idempotently, a bad row
//! refused with its line number and nothing of the file stored, clients
//! resolved and remembered.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{TimeZone, Utc};
use tally_config::{self as config, Config};
use tally_host::import::{import, Format, ImportFailure};
use tally_store::{PointQuery, Store};

fn config() -> Config {
    config::parse(
        "[[clients]]\nid = \"bakery\"\nname = \"B\"\ntimezone = \"America/Chicago\"\n\n[[clients]]\nid = \"gym\"\nname = \"G\"\n",
        "tally.toml",
        &[],
    )
    .unwrap()
}

const CSV: &str = "\
source,platform,entity,metric,value,unit,kind,at,period_start,period_end,campaign
door,offline,event:open-day,events.attendees,120,,,2026-06-05T18:00:00Z,,,
door,offline,account:bakery,conversions.leads,4,,,2026-06-05,,,june-launch
sheet,sheet,campaign:june,cost.spend,250.5,USD,sum,,2026-06-01,2026-07-01,
";

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 20, 12, 0, 0).unwrap()
}

fn stored(store: &Store) -> usize {
    store.query(&PointQuery::default()).unwrap().len()
}

#[test]
fn a_csv_is_stored_once_and_dates_are_the_clients_days() {
    let cfg = config();
    let mut store = Store::open_in_memory().unwrap();
    let out = import(
        &mut store,
        &cfg,
        "a.csv",
        CSV,
        Format::Csv,
        Some("bakery"),
        now(),
    )
    .unwrap();
    assert_eq!((out.stats.inserted, out.per_source.len()), (3, 2));
    assert_eq!(
        out.new_sources,
        [
            ("door".to_string(), "bakery".to_string()),
            ("sheet".to_string(), "bakery".to_string())
        ]
    );
    // The same file again writes nothing; the sources are remembered, so no --client is needed.
    let again = import(&mut store, &cfg, "a.csv", CSV, Format::Csv, None, now()).unwrap();
    assert_eq!((again.stats.inserted, again.stats.unchanged), (0, 3));
    assert_eq!(stored(&store), 3);

    let leads = store
        .query(&PointQuery {
            metric: Some("conversions.leads".into()),
            ..PointQuery::default()
        })
        .unwrap();
    let p = &leads[0].point;
    // A sum dated 2026-06-05 covers that day in Chicago (UTC-5 in June).
    assert_eq!(
        p.time,
        tally_model::PointTime::Period {
            start: Utc.with_ymd_and_hms(2026, 6, 5, 5, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 6, 6, 5, 0, 0).unwrap(),
        }
    );
    assert_eq!(
        p.dimensions.get("campaign").map(String::as_str),
        Some("june-launch")
    );
    // Each source's import is recorded as a run.
    assert_eq!(store.recent_runs(Some("door"), 10).unwrap().len(), 2);
}

#[test]
fn a_bad_row_is_reported_by_line_and_nothing_is_stored() {
    let cfg = config();
    let mut store = Store::open_in_memory().unwrap();
    let bad = format!(
        "{CSV}door,offline,account:bakery,audience.follower,5,,,2026-06-05,,,\ndoor,offline,account:bakery,cost.spend,5,,,2026-06-05,,,\n"
    );
    let err = import(
        &mut store,
        &cfg,
        "bad.csv",
        &bad,
        Format::Csv,
        Some("bakery"),
        now(),
    )
    .unwrap_err();
    let ImportFailure::Invalid(errors) = err else {
        panic!("{err}")
    };
    let text = errors.to_string();
    assert!(
        text.contains("bad.csv:5: `audience.follower` is not a canonical metric; did you mean `audience.followers`?"),
        "{text}"
    );
    assert!(
        text.contains("bad.csv:6: `cost.spend` is money: write its currency"),
        "{text}"
    );
    assert!(text.contains("nothing of the file was stored"), "{text}");
    assert_eq!(stored(&store), 0);
    assert!(store.imported_sources().unwrap().is_empty());
}

#[test]
fn sources_need_a_client_and_keep_it() {
    let cfg = config();
    let mut store = Store::open_in_memory().unwrap();
    let err = import(&mut store, &cfg, "a.csv", CSV, Format::Csv, None, now())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "a.csv:2: source `door` is not a configured source nor imported before; pass --client"
        ),
        "{err}"
    );
    import(
        &mut store,
        &cfg,
        "a.csv",
        CSV,
        Format::Csv,
        Some("bakery"),
        now(),
    )
    .unwrap();
    let err = import(
        &mut store,
        &cfg,
        "a.csv",
        CSV,
        Format::Csv,
        Some("gym"),
        now(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("source `door` belongs to client `bakery`, not `gym`"),
        "{err}"
    );
}

#[test]
fn a_repeated_point_and_a_bad_header_are_refused() {
    let cfg = config();
    let mut store = Store::open_in_memory().unwrap();
    let twice = "source,platform,entity,metric,value,at\nd,offline,event:e,events.attendees,1,2026-06-05T18:00:00Z\nd,offline,event:e,events.attendees,2,2026-06-05T18:00:00Z\n";
    let err = import(
        &mut store,
        &cfg,
        "t.csv",
        twice,
        Format::Csv,
        Some("bakery"),
        now(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("t.csv:3: repeats the point of line 2"),
        "{err}"
    );
    let err = import(
        &mut store,
        &cfg,
        "h.csv",
        "source,metric,value\n",
        Format::Csv,
        Some("bakery"),
        now(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("h.csv:1: the header lacks platform, entity"),
        "{err}"
    );
}

#[test]
fn json_lines_in_the_metric_schema_are_imported() {
    let cfg = config();
    let mut store = Store::open_in_memory().unwrap();
    let text = r#"{"source":"survey","platform":"survey","entity":{"kind":"campaign","id":"june"},"metric":"conversions.count","value":12,"time":{"period":{"start":"2026-06-01T05:00:00Z","end":"2026-07-01T05:00:00Z"}},"dimensions":{"age":"25-34"}}

{"source":"survey","platform":"survey","entity":{"kind":"campaign","id":"june"},"metric":"conversions.count","value":-1,"time":{"period":{"start":"2026-06-01T05:00:00Z","end":"2026-07-01T05:00:00Z"}}}
"#;
    let err = import(
        &mut store,
        &cfg,
        "s.jsonl",
        text,
        Format::JsonLines,
        Some("bakery"),
        now(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("s.jsonl:3: metric `conversions.count`: value -1"),
        "{err}"
    );
    let good = text.lines().next().unwrap();
    let out = import(
        &mut store,
        &cfg,
        "s.jsonl",
        good,
        Format::JsonLines,
        Some("bakery"),
        now(),
    )
    .unwrap();
    assert_eq!(out.stats.inserted, 1);
}
