//! Meta's Graph API under `/meta`: Graph error bodies, usage headers that
//! climb, removed metrics refused, cursor paging to the last page.

#![allow(clippy::unwrap_used)]

use crate::{client, roomy, send, start};
use serde_json::Value;

/// GETs `path` under the sandbox's Graph root with `token`.
async fn graph(base: &str, path: &str, token: Option<&str>) -> crate::Answer {
    let request = client().get(format!("{base}/v27.0{path}"));
    send(match token {
        Some(t) => request.bearer_auth(t),
        None => request,
    })
    .await
}

fn call_count(answer: &crate::Answer) -> u64 {
    let usage: Value = serde_json::from_str(answer.header("x-app-usage").unwrap()).unwrap();
    usage["call_count"].as_u64().unwrap()
}

#[tokio::test]
async fn graph_answers_need_a_token_and_state_a_usage_that_climbs() {
    let sb = start(roomy()).await;
    let base = sb.base_url("meta");
    let none = graph(&base, "/123", None).await;
    assert_eq!(none.status.as_u16(), 400);
    assert_eq!(none.json()["error"]["code"], 104);
    let expired = graph(&base, "/123", Some("expired")).await;
    assert_eq!(expired.json()["error"]["code"], 190);
    assert_eq!(expired.json()["error"]["error_subcode"], 463);

    let first = graph(&base, "/123", Some("t")).await;
    assert_eq!(first.json()["id"], "123");
    let mut last = call_count(&first);
    for _ in 0..6 {
        let next = call_count(&graph(&base, "/123", Some("t")).await);
        assert!(next >= last);
        last = next;
    }
    assert!(last > call_count(&first), "the usage climbs");
    let buc: Value =
        serde_json::from_str(first.header("x-business-use-case-usage").unwrap()).unwrap();
    assert_eq!(buc["123"][0]["type"], "pages");
    sb.shutdown().await;
}

#[tokio::test]
async fn removed_metrics_are_refused_and_posts_page_to_the_end() {
    let sb = start(roomy()).await;
    let base = sb.base_url("meta");
    let removed = graph(
        &base,
        "/123/insights?metric=page_impressions&period=day",
        Some("t"),
    )
    .await;
    assert_eq!(removed.json()["error"]["code"], 100);
    assert!(removed.text.contains("page_impressions"));
    let mut after = String::new();
    let mut seen = 0;
    loop {
        let page = graph(&base, &format!("/123/posts?limit=25{after}"), Some("t"))
            .await
            .json();
        seen += page["data"].as_array().unwrap().len();
        match page["paging"]["next"].as_str() {
            Some(_) => {
                after = format!(
                    "&after={}",
                    page["paging"]["cursors"]["after"].as_str().unwrap()
                )
            }
            None => break,
        }
    }
    assert_eq!(seen, 30);
    sb.shutdown().await;
}

#[tokio::test]
async fn an_id_ending_in_0429_is_throttled_once_with_a_time_to_regain_access() {
    let sb = start(roomy()).await;
    let base = sb.base_url("meta");
    let throttled = graph(&base, "/5550429", Some("t")).await;
    assert_eq!(throttled.json()["error"]["code"], 80001);
    let buc: Value =
        serde_json::from_str(throttled.header("x-business-use-case-usage").unwrap()).unwrap();
    assert_eq!(buc["5550429"][0]["estimated_time_to_regain_access"], 1);
    assert_eq!(
        graph(&base, "/5550429", Some("t")).await.status.as_u16(),
        200
    );
    sb.shutdown().await;
}
