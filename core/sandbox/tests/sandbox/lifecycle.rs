//! Start, URLs, generated config, stats and shutdown.

use tally_sandbox::{Sandbox, SandboxOptions};

use crate::{client, get, roomy, start};

#[tokio::test]
async fn base_urls_point_at_the_bound_port() {
    let sb = start(SandboxOptions::default()).await;
    let addr = sb.addr();
    assert_ne!(addr.port(), 0);
    assert_eq!(sb.base_url("youtube"), format!("http://{addr}/youtube/v3"));
    assert_eq!(sb.base_url("mastodon"), format!("http://{addr}/mastodon"));
    assert_eq!(
        sb.base_url("bluesky"),
        format!("http://{addr}/bluesky/xrpc")
    );
}

#[tokio::test]
async fn sources_toml_is_valid_and_points_at_the_sandbox() {
    let sb = start(roomy()).await;
    let text = sb.sources_toml();
    assert_eq!(text.matches("# Tally sandbox").count(), 10);
    let doc: toml::Table = text.parse().expect("valid TOML");
    let sources = doc["sources"].as_array().expect("[[sources]]");
    assert_eq!(sources.len(), 10);
    let find = |connector: &str| {
        sources
            .iter()
            .find(|s| s["connector"].as_str() == Some(connector))
            .unwrap_or_else(|| panic!("{connector} block"))
    };
    let yt = find("youtube");
    assert_eq!(yt["id"].as_str(), Some("sandbox-youtube"));
    assert_eq!(
        yt["base_url"].as_str(),
        Some(sb.base_url("youtube").as_str())
    );
    assert_eq!(yt["settings"]["channel_id"].as_str(), Some("UCsandbox0001"));
    assert_eq!(yt["auth"]["kind"].as_str(), Some("api_key"));
    assert_eq!(yt["auth"]["api_key"].as_str(), Some("sandbox-key"));
    let md = find("mastodon");
    assert_eq!(
        md["settings"]["acct"].as_str(),
        Some("tally@sandbox.example")
    );
    assert_eq!(md["auth"]["kind"].as_str(), Some("none"));
    let bs = find("bluesky");
    assert_eq!(bs["settings"]["actor"].as_str(), Some("tally.bsky.social"));
    assert_eq!(
        bs["base_url"].as_str(),
        Some(sb.base_url("bluesky").as_str())
    );

    // The platforms built as manifests take the sample token; the survey's
    // block names its "How did you hear about us?" question.
    for name in ["yelp", "eventbrite", "surveymonkey", "x"] {
        assert_eq!(
            find(name)["auth"]["kind"].as_str(),
            Some("bearer"),
            "{name}"
        );
    }
    let survey = tally_sandbox::data::surveymonkey_survey(
        42,
        tally_sandbox::SAMPLE_SURVEYMONKEY_SURVEY,
        chrono::Utc::now(),
    )
    .expect("the sample survey");
    assert_eq!(
        find("surveymonkey")["settings"]["question_id"].as_str(),
        Some(survey.questions[0].id.as_str())
    );

    // And the configured sources answer.
    let yt_url = format!(
        "{}/channels?part=statistics&id=UCsandbox0001&key=sandbox-key",
        sb.base_url("youtube")
    );
    assert_eq!(get(&yt_url).await.status, 200);
}

#[tokio::test]
async fn stats_count_every_request() {
    let sb = start(roomy()).await;
    get(&format!(
        "{}/channels?part=id&id=UCa&key=k",
        sb.base_url("youtube")
    ))
    .await;
    get(&format!(
        "{}/api/v1/accounts/lookup?acct=a",
        sb.base_url("mastodon")
    ))
    .await;
    get(&format!(
        "{}/app.bsky.actor.getProfile?actor=a.test",
        sb.base_url("bluesky")
    ))
    .await;
    get(&format!(
        "{}/app.bsky.actor.getProfile?actor=b.test",
        sb.base_url("bluesky")
    ))
    .await;
    let unknown = get(&format!("http://{}/elsewhere", sb.addr())).await;
    assert_eq!(unknown.status, 404);
    let stats = sb.stats();
    assert_eq!(stats.requests, 5);
    assert_eq!(stats.throttled, 0);
    assert_eq!(stats.per_platform["youtube"].requests, 1);
    assert_eq!(stats.per_platform["mastodon"].requests, 1);
    assert_eq!(stats.per_platform["bluesky"].requests, 2);
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let sb = Sandbox::start("127.0.0.1:0".parse().expect("addr"), roomy())
        .await
        .expect("starts");
    let url = format!(
        "{}/app.bsky.actor.getProfile?actor=a.test",
        sb.base_url("bluesky")
    );
    let c = client();
    assert_eq!(c.get(&url).send().await.expect("served").status(), 200);
    sb.shutdown().await;
    assert!(
        client().get(&url).send().await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn many_distinct_sources_exist() {
    let sb = start(roomy()).await;
    let base = sb.base_url("mastodon");
    let c = client();
    let mut ids = std::collections::HashSet::new();
    for i in 0..200 {
        let r = c
            .get(format!(
                "{base}/api/v1/accounts/lookup?acct=client{i}@agency.example"
            ))
            .send()
            .await
            .expect("served");
        assert_eq!(r.status(), 200);
        let v: serde_json::Value = r.json().await.expect("json");
        ids.insert(v["id"].as_str().unwrap_or_default().to_string());
    }
    assert_eq!(ids.len(), 200);
}
