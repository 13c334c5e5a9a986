//! The monthly report model built from a small store, with the figures
//! computed by hand: ROI, funnel rates, month over month, top posts,
//! segments and provenance.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{TimeZone, Utc};
use tally_config as config;
use tally_goals::report::build;
use tally_goals::Context;
use tally_host::import::{import, Format};
use tally_store::Store;

const CONFIG: &str = "
[[clients]]
id = \"bakery\"
name = \"Corner Bakery\"
currency = \"USD\"
value_per_lead = 50

[[costs]]
client = \"bakery\"
name = \"retainer\"
amount = 1000
currency = \"USD\"
period = \"month\"
";

const DATA: &str = "\
source,platform,entity,metric,value,unit,kind,at,period_start,period_end,country
sheet,offline,account:b,reach.impressions,20000,,,,2026-06-01,2026-07-01,
sheet,offline,account:b,reach.impressions,10000,,,,2026-05-01,2026-06-01,
sheet,offline,account:b,reach.impressions,15000,,,,2026-06-01,2026-07-01,US
sheet,offline,account:b,reach.impressions,5000,,,,2026-06-01,2026-07-01,CA
sheet,offline,account:b,conversions.leads,40,,,,2026-06-01,2026-07-01,
sheet,offline,account:b,cost.spend,1000,USD,,,2026-06-01,2026-07-01,
sheet,offline,account:b,conversions.revenue,2500,USD,,,2026-06-01,2026-07-01,
sheet,offline,post:p1,engagement.likes,300,,gauge,2026-06-10,,,
sheet,offline,post:p1,engagement.comments,100,,gauge,2026-06-10,,,
sheet,offline,post:p2,engagement.likes,500,,gauge,2026-06-12,,,
sheet,offline,account:b,audience.followers,1000,,,2026-05-31,,,
sheet,offline,account:b,audience.followers,1100,,,2026-06-30,,,
";

#[test]
fn a_month_reads_as_computed_by_hand() {
    let cfg = config::parse(CONFIG, "tally.toml", &[]).unwrap();
    let mut store = Store::open_in_memory().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 7, 15, 0, 0, 0).unwrap();
    import(
        &mut store,
        &cfg,
        "data.csv",
        DATA,
        Format::Csv,
        Some("bakery"),
        now,
    )
    .unwrap();
    let ctx = Context::new(&cfg, &store).unwrap();
    let r = build(&ctx, "bakery", Some((2026, 6)), now).unwrap();
    assert!(r.complete);

    // Cost: retainer 1000 + spend 1000 = 2000. Value: revenue 2500 + 40 leads × 50 = 4500.
    let roi = &r.roi;
    assert_eq!(
        (roi.cost, roi.value, roi.leads),
        (Some(2000.0), Some(4500.0), Some(40.0))
    );
    assert_eq!(roi.cost_per_lead, Some(50.0));
    assert_eq!(roi.cost_per_mille, Some(100.0)); // 2000 / 20000 × 1000
    assert_eq!(roi.roi, Some(1.25)); // (4500 - 2000) / 2000
                                     // Engagement 900 over 20000 impressions.
    assert_eq!(roi.engagement_rate, Some(0.045));

    // Awareness: 20000 impressions + 100 new followers; consideration: 900; conversion: 40.
    let totals: Vec<Option<f64>> = r.funnel.stages.iter().map(|s| s.total).collect();
    assert_eq!(totals, [Some(20100.0), Some(900.0), Some(40.0)]);
    assert_eq!(r.funnel.stages[1].rate, Some(900.0 / 20100.0));
    assert_eq!(r.funnel.stages[2].rate, Some(40.0 / 900.0));

    let impressions = r
        .month_over_month
        .iter()
        .find(|c| c.metric == "reach.impressions")
        .unwrap();
    assert_eq!(
        (
            impressions.this_month,
            impressions.last_month,
            impressions.change_pct
        ),
        (Some(20000.0), Some(10000.0), Some(1.0))
    );
    let level = r
        .month_over_month
        .iter()
        .find(|c| c.metric == "audience.followers" && c.measure == "level")
        .unwrap();
    assert_eq!(
        (level.this_month, level.last_month),
        (Some(1100.0), Some(1000.0))
    );

    let top: Vec<(&str, f64)> = r
        .top_posts
        .iter()
        .map(|p| (p.id.as_str(), p.engagement))
        .collect();
    assert_eq!(top, [("p2", 500.0), ("p1", 400.0)]);
    let us = &r.segments[0];
    assert_eq!(
        (us.dimension.as_str(), us.value.as_str(), us.share),
        ("country", "US", 0.75)
    );

    assert_eq!(r.provenance.len(), 1);
    assert_eq!(r.provenance[0].origin, "import (data.csv)");
    assert_eq!(r.provenance[0].status, "final");
}

#[test]
fn an_unknown_client_or_month_is_named() {
    let cfg = config::parse(CONFIG, "tally.toml", &[]).unwrap();
    let store = Store::open_in_memory().unwrap();
    let ctx = Context::new(&cfg, &store).unwrap();
    let e = build(&ctx, "gym", None, Utc::now())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("client `gym` is not configured (configured: bakery)"),
        "{e}"
    );
    let e = tally_goals::report::parse_month("2026-13")
        .unwrap_err()
        .to_string();
    assert!(e.contains("write it as YYYY-MM"), "{e}");
}
