//! Goals evaluated against a real (in-memory) store, with expectations
//! computed by hand in the comments: every kind and status, a data gap,
//! provisional data, a currency without a rate, and a client whose month
//! starts at a different instant than UTC's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use std::path::Path;
use tally_config::{self as config, Config, ParseContext};
use tally_goals::period::end_of_day;
use tally_goals::{evaluate, evaluate_all, Context, Evaluation, Status};
use tally_model::{Description, Entity, EntityKind, Point, PointTime, Unit};
use tally_store::Store;

/// A connector whose platform restates its numbers, described as a plugin would.
fn analytics() -> Description {
    serde_json::from_value(serde_json::json!({
        "name": "analytics",
        "platform": "analytics",
        "summary": "test analytics",
        "default_base_url": "http://127.0.0.1:9",
        "metrics": ["conversions.leads"],
        "settings": [],
        "auth": [{"kind": "none"}],
        "rate_limit": {"requests": 10, "per_seconds": 1, "burst": 1}
    }))
    .unwrap()
}

fn config(body: &str) -> Config {
    let text = format!(
        "[[clients]]\nid = \"bakery\"\nname = \"Corner Bakery\"\ntimezone = \"UTC\"\n\n{body}"
    );
    config::parse_with(
        &text,
        "tally.toml",
        &[analytics()],
        &ParseContext {
            base_dir: Path::new(""),
            env: &|_| None,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

/// Noon UTC of a day in 2026.
fn noon(m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, m, d, 12, 0, 0).unwrap()
}

fn account() -> Entity {
    Entity::new(EntityKind::Account, "acct", None)
}

fn followers(value: f64, at: DateTime<Utc>) -> Point {
    Point::new(
        "sheet",
        "audience.followers",
        "followers",
        account(),
        value,
        PointTime::At(at),
    )
}

/// A daily total of `metric` on a UTC day.
fn daily(metric: &str, value: f64, m: u32, d: u32) -> Point {
    let start = Utc.with_ymd_and_hms(2026, m, d, 0, 0, 0).unwrap();
    Point::new(
        "sheet",
        metric,
        metric,
        account(),
        value,
        PointTime::Period {
            start,
            end: start + chrono::Duration::days(1),
        },
    )
}

/// A store holding `points` of imported source `sheet`, which belongs to bakery.
fn store_with(source: &str, points: Vec<Point>) -> Store {
    let mut store = Store::open_in_memory().unwrap();
    let rows: Vec<(String, Point)> = points
        .into_iter()
        .map(|p| (source.to_string(), p))
        .collect();
    store
        .write_import(
            "test.csv",
            &rows,
            &[(source.to_string(), "bakery".to_string())],
            noon(11, 1),
        )
        .unwrap();
    store
}

fn eval(cfg: &Config, store: &Store, at: DateTime<Utc>) -> Evaluation {
    let ctx = Context::new(cfg, store).unwrap();
    evaluate(&ctx, &cfg.goals[0], at).unwrap()
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 0.01)
}

const GROWTH: &str = "[[goals]]\nid = \"followers\"\nclient = \"bakery\"\nmetric = \"audience.followers\"\nkind = \"growth\"\ntarget = 100\nperiod = \"month\"\n";

#[test]
fn the_issue_example_is_at_risk() {
    // June has 30 days: 29 day-to-day steps. Day 20 is 19 steps in.
    // actual = 1060 - 1000 = 60; expected = 100 × 19 / 29 = 65.52;
    // forecast = 60 + (60 / 19) × (29 - 19) = 91.58; pace 91.6 % → at risk.
    let cfg = config(GROWTH);
    let store = store_with(
        "sheet",
        vec![
            followers(1000.0, noon(6, 1)),
            followers(1060.0, noon(6, 20)),
        ],
    );
    let e = eval(&cfg, &store, end_of_day(day(6, 20), chrono_tz::Tz::UTC));
    assert_eq!((e.elapsed_days, e.span_days), (19, 29));
    assert!(close(e.actual, 60.0), "{e:?}");
    assert!(close(e.expected, 65.517), "{e:?}");
    assert!(close(e.forecast, 91.579), "{e:?}");
    assert_eq!(e.status, Status::AtRisk);
    assert!(
        e.notes
            .iter()
            .any(|n| n.contains("from 1,000 on 2026-06-01 to 1,060 on 2026-06-20")),
        "the readings used are named: {:?}",
        e.notes
    );
    assert!(!e.provisional);
}

#[test]
fn growth_on_track_behind_achieved_and_missed() {
    let cfg = config(GROWTH);
    let at = end_of_day(day(6, 20), chrono_tz::Tz::UTC);
    let status = |end: f64| {
        let store = store_with(
            "sheet",
            vec![followers(1000.0, noon(6, 1)), followers(end, noon(6, 20))],
        );
        eval(&cfg, &store, at)
    };
    // +80 in 19 steps → 80 + 80/19 × 10 = 122.1 ≥ 100.
    assert_eq!(status(1080.0).status, Status::OnTrack);
    // +30 → 30 + 30/19 × 10 = 45.8, 46 % < 80 %.
    assert_eq!(status(1030.0).status, Status::Behind);
    assert_eq!(status(1110.0).status, Status::Achieved);

    // The end of the last day closes the month: +60 of 100 is missed, the forecast is the actual.
    let store = store_with(
        "sheet",
        vec![
            followers(1000.0, noon(6, 1)),
            followers(1060.0, noon(6, 30)),
        ],
    );
    let e = eval(&cfg, &store, end_of_day(day(6, 30), chrono_tz::Tz::UTC));
    assert_eq!(e.status, Status::Missed);
    assert!(close(e.forecast, 60.0) && close(e.expected, 100.0), "{e:?}");
}

#[test]
fn one_reading_is_no_data_not_zero_growth() {
    let cfg = config(GROWTH);
    let store = store_with("sheet", vec![followers(1000.0, noon(6, 10))]);
    let e = eval(&cfg, &store, end_of_day(day(6, 20), chrono_tz::Tz::UTC));
    assert_eq!((e.actual, e.status), (None, Status::NoData));
    assert!(
        e.notes
            .iter()
            .any(|n| n.contains("one reading (1,000 on 2026-06-10)")),
        "{:?}",
        e.notes
    );
}

#[test]
fn a_sparse_gauge_takes_the_nearest_readings_and_says_which() {
    // Monthly readings on the 28th: the one 4 days before June starts is
    // nearer than any in June, so June's growth runs from May 28.
    let cfg = config(GROWTH);
    let store = store_with(
        "sheet",
        vec![followers(900.0, noon(5, 28)), followers(990.0, noon(6, 28))],
    );
    let e = eval(&cfg, &store, end_of_day(day(6, 30), chrono_tz::Tz::UTC));
    assert!(close(e.actual, 90.0), "{e:?}");
    assert!(
        e.notes
            .iter()
            .any(|n| n.contains("from 900 on 2026-05-28 to 990 on 2026-06-28")),
        "{:?}",
        e.notes
    );
}

#[test]
fn a_gap_in_daily_readings_is_reported() {
    let cfg = config(GROWTH);
    let points: Vec<Point> = (1..=12)
        .filter(|d| !(5..=8).contains(d))
        .map(|d| followers(1000.0 + 3.0 * d as f64, noon(6, d)))
        .collect();
    let store = store_with("sheet", points);
    let e = eval(&cfg, &store, end_of_day(day(6, 12), chrono_tz::Tz::UTC));
    // 1003 on day 1 to 1036 on day 12: +33; least squares of 3/day over 11 steps left... forecast 33 + 3 × 18 = 87.
    assert!(close(e.actual, 33.0) && close(e.forecast, 87.0), "{e:?}");
    assert!(
        e.notes
            .iter()
            .any(|n| n.contains("no readings for 2026-06-05 – 2026-06-08")),
        "{:?}",
        e.notes
    );
}

const TOTAL: &str = "[[goals]]\nid = \"leads\"\nclient = \"bakery\"\nmetric = \"conversions.leads\"\nkind = \"total\"\ntarget = 60\nperiod = \"month\"\n";

#[test]
fn a_total_with_a_gap_fills_it_at_the_average_and_says_so() {
    // 2 leads a day on June 1-4 and 8-10: 14 leads on 7 of the 10 elapsed days
    // (June 11 is day 11, so 10 whole days have elapsed).
    // expected = 60 × 10 / 30 = 20; forecast = 14 + 2 × 23 days without data = 60 → on track.
    let cfg = config(TOTAL);
    let points: Vec<Point> = [1, 2, 3, 4, 8, 9, 10]
        .into_iter()
        .map(|d| daily("conversions.leads", 2.0, 6, d))
        .collect();
    let store = store_with("sheet", points);
    let e = eval(&cfg, &store, noon(6, 11));
    assert!(
        close(e.actual, 14.0) && close(e.expected, 20.0) && close(e.forecast, 60.0),
        "{e:?}"
    );
    assert_eq!(e.status, Status::OnTrack);
    assert!(
        e.notes
            .iter()
            .any(|n| n.contains("no data for 2026-06-05 – 2026-06-07 (3 days)")),
        "{:?}",
        e.notes
    );
}

#[test]
fn as_of_reads_the_values_known_then_and_the_latest_by_default() {
    // Imported on Nov 1; on Nov 5 a new import restates June 2 from 2 leads to 5.
    let cfg = config(TOTAL);
    let points: Vec<Point> = [1, 2, 3, 4, 8, 9, 10]
        .into_iter()
        .map(|d| daily("conversions.leads", 2.0, 6, d))
        .collect();
    let mut store = store_with("sheet", points);
    let restated = vec![("sheet".to_string(), daily("conversions.leads", 5.0, 6, 2))];
    let owners = [("sheet".to_string(), "bakery".to_string())];
    let stats = store
        .write_import("fix.csv", &restated, &owners, noon(11, 5))
        .unwrap();
    assert_eq!(stats["sheet"].revised, 1);
    let at = noon(6, 11);
    let with_as_of = |as_of: Option<DateTime<Utc>>| {
        let mut ctx = Context::new(&cfg, &store).unwrap();
        ctx.as_of = as_of;
        evaluate(&ctx, &cfg.goals[0], at).unwrap()
    };
    assert!(close(with_as_of(None).actual, 17.0), "the latest values");
    assert!(
        close(with_as_of(Some(noon(11, 3))).actual, 14.0),
        "as known on Nov 3, before the restatement"
    );
    let before = with_as_of(Some(noon(10, 1)));
    assert_eq!(
        before.actual, None,
        "nothing was known on Oct 1: {before:?}"
    );
}

#[test]
fn a_sparse_total_counts_days_without_data_as_none() {
    // Leads entered as they came: 3 on June 3, 5 on June 10. On June 20
    // (19 days elapsed): 8 leads, 8/19 a day over the 11 days left → 12.63; 21 % → behind.
    let cfg = config(TOTAL);
    let store = store_with(
        "sheet",
        vec![
            daily("conversions.leads", 3.0, 6, 3),
            daily("conversions.leads", 5.0, 6, 10),
        ],
    );
    let e = eval(&cfg, &store, noon(6, 20));
    assert!(
        close(e.actual, 8.0) && close(e.forecast, 8.0 + 8.0 / 19.0 * 11.0),
        "{e:?}"
    );
    assert_eq!(e.status, Status::Behind);
}

#[test]
fn a_period_not_started_has_no_data() {
    let cfg = config("[[goals]]\nid = \"q4\"\nclient = \"bakery\"\nmetric = \"conversions.leads\"\nkind = \"total\"\ntarget = 10\nstart = 2026-10-01\nend = 2027-01-01\n");
    let store = store_with("sheet", vec![daily("conversions.leads", 3.0, 6, 3)]);
    let e = eval(&cfg, &store, noon(6, 20));
    assert_eq!(e.status, Status::NoData);
    assert!(
        e.notes.iter().any(|n| n.contains("starts on 2026-10-01")),
        "{:?}",
        e.notes
    );
}

const LEVEL: &str = "[[goals]]\nid = \"reach-600\"\nclient = \"bakery\"\nmetric = \"audience.followers\"\nkind = \"level\"\ntarget = 600\nby = 2026-07-31\n";

#[test]
fn a_level_is_paced_from_the_first_reading() {
    // 400 on June 1, 460 on June 11: 6 a day. By July 31 (50 days after
    // June 11): 460 + 300 = 760. Paced over the 60 days from June 1:
    // expected on June 11 = 400 + 200 × 10 / 60 = 433.33; pace (760-400)/(600-400) = 180 %.
    let cfg = config(LEVEL);
    let store = store_with(
        "sheet",
        vec![followers(400.0, noon(6, 1)), followers(460.0, noon(6, 11))],
    );
    let e = eval(&cfg, &store, noon(6, 11));
    assert!(
        close(e.actual, 460.0) && close(e.expected, 433.333) && close(e.forecast, 760.0),
        "{e:?}"
    );
    assert_eq!(e.status, Status::OnTrack);
    let late = eval(&cfg, &store, noon(8, 2));
    assert_eq!(late.status, Status::Missed);
    let store = store_with(
        "sheet",
        vec![followers(400.0, noon(6, 1)), followers(610.0, noon(6, 11))],
    );
    assert_eq!(eval(&cfg, &store, noon(6, 12)).status, Status::Achieved);
}

const RATIO: &str = "[[goals]]\nid = \"cpl\"\nclient = \"bakery\"\nkind = \"ratio\"\nnumerator = \"cost.spend\"\ndenominator = \"conversions.leads\"\nat_most = 20\nperiod = \"month\"\n\n[[costs]]\nclient = \"bakery\"\nname = \"retainer\"\namount = 1500\ncurrency = \"USD\"\nperiod = \"month\"\n";

fn leads_per_day(per_day: f64, days: u32) -> Vec<Point> {
    (1..=days)
        .map(|d| daily("conversions.leads", per_day, 6, d))
        .collect()
}

#[test]
fn cost_per_lead_counts_the_retainer_and_forecasts_both_sides() {
    let cfg = config(RATIO);
    // 5 leads a day for 14 days on June 15: the retainer is spread over its
    // month, so 15 of its 30 days have cost 750, and the month so far is
    // 750 / 70 = 10.71 per lead, as the chart shows for that day. The
    // forecast: 1500 / (70 + 5 × 16 = 150) = 10 ≤ 20: on track.
    let store = store_with("sheet", leads_per_day(5.0, 14));
    let e = eval(&cfg, &store, noon(6, 15));
    assert!(
        close(e.actual, 750.0 / 70.0) && close(e.forecast, 10.0),
        "{e:?}"
    );
    assert_eq!(e.chart.actual.last().map(|(_, v)| *v), e.actual);
    // With a bound of 10.50 the month so far (10.71, today's costs before
    // today's leads) is outside it while the forecast is inside: the status
    // follows the forecast, and a note says so.
    let tight = config(&RATIO.replace("at_most = 20", "at_most = 10.5"));
    let e = eval(&tight, &store, noon(6, 15));
    assert_eq!(e.status, Status::OnTrack);
    assert!(
        e.notes.iter().any(|n| n
            == "so far 10.71 is outside the bound of 10.50; the forecast for the period's end, 10, is within it and sets the status"),
        "{:?}",
        e.notes
    );
    assert_eq!(
        (e.status, e.unit.as_str()),
        (Status::OnTrack, "USD per leads")
    );
    // 2 a day → 60 leads → 25 per lead: 20/25 = 80 % → at risk.
    let store = store_with("sheet", leads_per_day(2.0, 14));
    assert_eq!(eval(&cfg, &store, noon(6, 15)).status, Status::AtRisk);
    // 1 a day → 30 → 50 per lead: behind.
    let store = store_with("sheet", leads_per_day(1.0, 14));
    assert_eq!(eval(&cfg, &store, noon(6, 15)).status, Status::Behind);
    // The whole month: 100 leads → 15 ≤ 20 achieved; 50 → 30 missed.
    let end = end_of_day(day(6, 30), chrono_tz::Tz::UTC);
    let store = store_with("sheet", vec![daily("conversions.leads", 100.0, 6, 12)]);
    assert_eq!(eval(&cfg, &store, end).status, Status::Achieved);
    let store = store_with("sheet", vec![daily("conversions.leads", 50.0, 6, 12)]);
    let e = eval(&cfg, &store, end);
    assert!(close(e.actual, 30.0), "{e:?}");
    assert_eq!(e.status, Status::Missed);
}

#[test]
fn spend_in_a_currency_without_a_rate_is_an_error() {
    let cfg = config(RATIO);
    let eur = daily("cost.spend", 100.0, 6, 2).with_unit(Unit::Currency("EUR".into()));
    let store = store_with("sheet", vec![eur, daily("conversions.leads", 5.0, 6, 2)]);
    let ctx = Context::new(&cfg, &store).unwrap();
    let e = evaluate(&ctx, &cfg.goals[0], noon(6, 15))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("goal `cpl`: ")
            && e.contains("cannot be added to amounts in EUR without a rate")
            && e.contains("rates = { USD = ... }"),
        "{e}"
    );

    // With a rate the euros are converted: 1500 + 100 × 1.1 = 1610 over 5 leads.
    let text = "[[clients]]\nid = \"bakery\"\nname = \"Corner Bakery\"\ncurrency = \"USD\"\nrates = { EUR = 1.1 }\n\n".to_string()
        + RATIO;
    let cfg = config::parse(&text, "tally.toml", &[]).unwrap_or_else(|e| panic!("{e}"));
    let end = end_of_day(day(6, 30), chrono_tz::Tz::UTC);
    let e = eval(&cfg, &store, end);
    assert!(close(e.actual, 1610.0 / 5.0), "{e:?}");
}

#[test]
fn a_cost_in_another_currency_is_refused_by_the_config_check() {
    let text = "[[clients]]\nid = \"bakery\"\nname = \"B\"\ncurrency = \"USD\"\n\n[[costs]]\nclient = \"bakery\"\nname = \"event\"\namount = 300\ncurrency = \"EUR\"\nperiod = \"once\"\ndate = 2026-06-14\n";
    let e = config::parse(text, "tally.toml", &[])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("costs[0].currency") && e.contains("no rate for EUR"),
        "{e}"
    );
}

#[test]
fn the_client_time_zone_decides_which_month_a_lead_is_in() {
    // 03:00 UTC on July 1 is 22:00 on June 30 in Chicago: a June lead there,
    // a July lead in UTC. 03:00 UTC on June 1 is still May in Chicago.
    let lead = |at: DateTime<Utc>| {
        Point::new(
            "sheet",
            "conversions.leads",
            "leads",
            account(),
            1.0,
            PointTime::Period {
                start: at,
                end: at + chrono::Duration::hours(1),
            },
        )
    };
    let points = vec![
        lead(Utc.with_ymd_and_hms(2026, 7, 1, 3, 0, 0).unwrap()),
        lead(Utc.with_ymd_and_hms(2026, 6, 1, 3, 0, 0).unwrap()),
        lead(noon(6, 15)),
    ];
    let goal = "[[goals]]\nid = \"leads\"\nclient = \"bakery\"\nmetric = \"conversions.leads\"\nkind = \"total\"\ntarget = 2\nperiod = \"month\"\n";
    let at = Utc.with_ymd_and_hms(2026, 7, 1, 4, 59, 0).unwrap(); // 23:59 June 30 in Chicago
    for (zone, expected) in [("America/Chicago", 2.0), ("UTC", 1.0)] {
        let text =
            format!("[[clients]]\nid = \"bakery\"\nname = \"B\"\ntimezone = \"{zone}\"\n\n{goal}");
        let cfg = config::parse(&text, "tally.toml", &[]).unwrap();
        let store = store_with("sheet", points.clone());
        let e = eval(&cfg, &store, at);
        assert!(close(e.actual, expected), "{zone}: {e:?}");
        if zone == "UTC" {
            // At 04:59 UTC on July 1 it is July in UTC: only the 03:00 lead is in it.
            assert_eq!(e.start, day(7, 1));
        } else {
            assert_eq!(
                (e.start, e.end, e.status),
                (day(6, 1), day(6, 30), Status::Achieved)
            );
        }
    }
}

#[test]
fn values_inside_the_settlement_window_are_provisional() {
    let cfg = config(&format!(
        "[[sources]]\nid = \"ga\"\nconnector = \"analytics\"\nclient = \"bakery\"\nsettle_days = 3\n\n{TOTAL}"
    ));
    let mut store = Store::open_in_memory().unwrap();
    let points: Vec<Point> = (1..=10)
        .map(|d| daily("conversions.leads", 2.0, 6, d))
        .collect();
    store.write_batch("ga", &points, noon(6, 11), None).unwrap();
    // On June 11 the days ending June 9, 10 and 11 are within 3 days: June 8, 9 and 10.
    let e = eval(&cfg, &store, noon(6, 11));
    assert!(e.provisional);
    assert!(
        e.notes
            .iter()
            .any(|n| n.contains("provisional: 3 of 10 values") && n.contains("ga (3 days)")),
        "{:?}",
        e.notes
    );
    // A month later they have settled.
    assert!(!eval(&cfg, &store, noon(7, 20)).provisional);
}

#[test]
fn evaluate_all_keeps_config_order_and_filters_by_client() {
    let cfg = config(&format!("{GROWTH}\n{TOTAL}"));
    let store = store_with("sheet", vec![followers(1.0, noon(6, 1))]);
    let ctx = Context::new(&cfg, &store).unwrap();
    let ids: Vec<String> = evaluate_all(&ctx, Some("bakery"), noon(6, 2))
        .into_iter()
        .map(|r| r.unwrap().id)
        .collect();
    assert_eq!(ids, ["followers", "leads"]);
    assert!(evaluate_all(&ctx, Some("gym"), noon(6, 2)).is_empty());
}
