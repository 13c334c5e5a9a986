//! The three connectors against the sandbox's Graph API: the restated
//! insight, the async report run and the throttle error.

use serde_json::json;
use std::net::SocketAddr;
use tally_meta::{FacebookPages, MetaAds};
use tally_model::{PointTime, SourceContext};
use tally_sandbox::{Sandbox, SandboxOptions};
use tally_testkit::{bearer, host_for, pull, Source};

async fn sandbox() -> Sandbox {
    Sandbox::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SandboxOptions::default(),
    )
    .await
    .unwrap()
}

/// A source on the sandbox's Graph at the current time.
fn source(sb: &Sandbox, settings: serde_json::Value) -> Source {
    Source {
        now: chrono::Utc::now(),
        ..Source::new(sb.base_url("meta"), settings)
    }
}

#[tokio::test]
async fn an_insight_restated_within_the_lookback_is_read_again_with_its_new_value() {
    let sb = sandbox().await;
    let http = host_for(
        &sb.base_url("meta"),
        &tally_model::Connector::describe(&MetaAds),
        bearer("t"),
    );
    let settings = json!({"ad_account_id": "act_555", "campaigns": false, "breakdowns": []});
    let first = pull(&MetaAds, &http, &source(&sb, settings.clone()))
        .await
        .unwrap();
    let again = Source {
        state: first.state.clone(),
        ..source(&sb, settings)
    };
    let second = pull(&MetaAds, &http, &again).await.unwrap();
    let leads = |points: &[tally_model::Point]| -> Vec<(PointTime, f64)> {
        points
            .iter()
            .filter(|p| p.metric == "conversions.leads")
            .map(|p| (p.time, p.value))
            .collect()
    };
    let (before, after) = (leads(&first.points), leads(&second.points));
    // The second pull re-read the whole 28-day window (same natural keys) ...
    let days = |v: &[(PointTime, f64)]| {
        v.iter()
            .map(|(t, _)| *t)
            .collect::<std::collections::HashSet<_>>()
            .len()
    };
    assert!(days(&after) + 1 >= days(&before), "{before:?} / {after:?}");
    // ... and yesterday's late-attributed lead changed the value: the store keeps it as a revision.
    let changed: Vec<_> = after
        .iter()
        .filter(|(t, v)| before.iter().any(|(bt, bv)| bt == t && bv != v))
        .collect();
    assert_eq!(changed.len(), 1, "{before:?} / {after:?}");
    assert_eq!(
        changed[0].1,
        before.iter().find(|(t, _)| *t == changed[0].0).unwrap().1 + 1.0
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn a_long_backfill_goes_through_an_async_report_run() {
    let sb = sandbox().await;
    let http = host_for(
        &sb.base_url("meta"),
        &tally_model::Connector::describe(&MetaAds),
        bearer("t"),
    );
    let mut long = source(
        &sb,
        json!({"ad_account_id": "act_777", "campaigns": false, "breakdowns": []}),
    );
    long.since = Some(long.now - chrono::Duration::days(60));
    let recording = tally_testkit::Recording::new(http);
    let buffer = pull(&MetaAds, &recording, &long).await.unwrap();
    let methods: Vec<String> = recording
        .requests()
        .iter()
        .map(|r| format!("{:?} {}", r.method, tally_model::error::url_path(&r.url)))
        .collect();
    assert!(
        methods.contains(&"Post /meta/v27.0/act_777/insights".to_string()),
        "{methods:?}"
    );
    assert!(
        methods
            .iter()
            .any(|m| m.starts_with("Get /meta/v27.0/9000") && m.ends_with("/insights")),
        "{methods:?}"
    );
    let days = buffer
        .points
        .iter()
        .filter(|p| p.metric == "cost.spend")
        .count();
    assert!(days >= 60, "{days} days of spend");
    sb.shutdown().await;
}

#[tokio::test]
async fn the_sandbox_page_pulls_and_its_throttle_is_waited_out() {
    let sb = sandbox().await;
    let http = host_for(
        &sb.base_url("meta"),
        &tally_model::Connector::describe(&FacebookPages),
        bearer("t"),
    );
    // An id ending in 0429 is throttled once (80001, one minute to regain access):
    // longer than this run waits (5 s), so the check stops, naming the wait.
    let throttled = source(&sb, json!({"page_id": "1000000429"}));
    let ctx: SourceContext<'_> = throttled.context(&http);
    let error = tally_model::Connector::check(&FacebookPages, &ctx)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "/meta/v27.0/1000000429 is throttled for 60s more; the source will be pulled again on its next run"
    );
    // The host now holds the credential for the minute Meta stated; another
    // credential is not held.
    let other = host_for(
        &sb.base_url("meta"),
        &tally_model::Connector::describe(&FacebookPages),
        bearer("u"),
    );
    let started = std::time::Instant::now();
    let fine = pull(
        &FacebookPages,
        &other,
        &source(&sb, json!({"page_id": "1029384756"})),
    )
    .await
    .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert!(fine.points.iter().any(|p| p.metric == "audience.followers"));
    sb.shutdown().await;
}
