//! `meta_ads` against a mock Marketing API.

use crate::support::*;
use serde_json::json;
use std::sync::Arc;
use tally_meta::MetaAds;
use tally_model::Unit;
use tally_testkit::pull_ok;

#[tokio::test]
async fn daily_rows_map_in_the_accounts_currency_and_days() {
    let server = wiremock::MockServer::start().await;
    tally_testkit::conformance::Fixtures::mount_happy(&AdsFixtures, &server).await;
    let buffer = pull_ok(&MetaAds, &AdsFixtures, &server, json!({})).await;
    let spend: Vec<_> = buffer
        .points
        .iter()
        .filter(|p| p.metric == "cost.spend")
        .collect();
    assert_eq!(
        spend.iter().map(|p| p.value).collect::<Vec<_>>(),
        [10.5, 12.0, 9.75]
    );
    // Every amount is in the ad account's currency.
    assert!(buffer
        .points
        .iter()
        .filter(|p| p.metric == "cost.spend" || p.metric == "conversions.revenue")
        .all(|p| p.unit == Unit::Currency("EUR".into())));
    let leads: Vec<_> = buffer
        .points
        .iter()
        .filter(|p| p.metric == "conversions.leads")
        .map(|p| p.value)
        .collect();
    assert_eq!(leads, [19.0, 19.0, 19.0], "lead, not lead + its variants");
    // The account's day (UTC+1) starts at 23:00 UTC the day before.
    assert_eq!(
        spend[0].time,
        tally_model::PointTime::Period {
            start: "2026-05-28T23:00:00Z".parse().unwrap(),
            end: "2026-05-29T23:00:00Z".parse().unwrap(),
        }
    );
}

#[tokio::test]
async fn campaigns_and_breakdowns_are_dimensions_one_breakdown_a_request() {
    let server = wiremock::MockServer::start().await;
    get(&format!("/act_{ACCOUNT}"))
        .respond_with(body(ADS_ACCOUNT))
        .mount(&server)
        .await;
    let insights = format!("/act_{ACCOUNT}/insights");
    get(&insights)
        .and(wiremock::matchers::query_param("level", "campaign"))
        .respond_with(listing(
            vec![{
                let mut row = ads_row("2026-05-30", "4.00");
                row["campaign_id"] = json!("61");
                row["campaign_name"] = json!("Brunch");
                row
            }],
            None,
        ))
        .expect(1)
        .mount(&server)
        .await;
    get(&insights)
        .and(wiremock::matchers::query_param("breakdowns", "age"))
        .respond_with(listing(
            vec![{
                let mut row = ads_row("2026-05-30", "3.00");
                row["age"] = json!("25-34");
                row
            }],
            None,
        ))
        .expect(1)
        .mount(&server)
        .await;
    get(&insights)
        .and(wiremock::matchers::query_param_is_missing("breakdowns"))
        .and(wiremock::matchers::query_param("level", "account"))
        .respond_with(listing(vec![ads_row("2026-05-30", "7.00")], None))
        .expect(1)
        .mount(&server)
        .await;
    let buffer = pull_ok(
        &MetaAds,
        &AdsFixtures,
        &server,
        json!({"campaigns": true, "breakdowns": ["age"]}),
    )
    .await;
    let spend: Vec<_> = buffer
        .points
        .iter()
        .filter(|p| p.metric == "cost.spend")
        .map(|p| {
            (
                p.entity.id.to_string(),
                p.dimensions.clone().into_iter().collect::<Vec<_>>(),
                p.value,
            )
        })
        .collect();
    assert_eq!(
        spend,
        [
            (format!("act_{ACCOUNT}"), vec![], 7.0),
            (
                "61".to_string(),
                vec![("campaign".to_string(), "Brunch".to_string())],
                4.0
            ),
            (
                format!("act_{ACCOUNT}"),
                vec![("age".to_string(), "25-34".to_string())],
                3.0
            ),
        ]
    );
}

#[tokio::test]
async fn conformance() {
    let report = tally_testkit::conformance::run_conformance(Arc::new(MetaAds), &AdsFixtures);
    println!("{}", report.await);
}
