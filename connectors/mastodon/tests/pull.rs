//! The Mastodon connector against a mock instance, through the real host HTTP
//! client: documented shapes in, exact points out, `Link` pagination followed
//! safely, Mastodon's own errors and limits. What every connector owes the host
//! (retries, 401, malformed JSON, quota) is the conformance kit's, run last.

#![allow(clippy::unwrap_used)]

mod fuzz_body;
mod properties;
mod support;

use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;
use tally_mastodon::Mastodon;
use tally_model::{ConnectorError, EntityKind};
use tally_testkit::Recording;
use wiremock::matchers::{query_param, query_param_is_missing};
use wiremock::{MockServer, ResponseTemplate};

#[tokio::test]
async fn happy_path_emits_documented_account_and_status_points() {
    let server = MockServer::start().await;
    mount_lookup(&server, ACCOUNT).await;
    get(STATUSES_PATH)
        .and(query_param("limit", "40"))
        .and(query_param("exclude_reblogs", "true"))
        .and(query_param_is_missing("exclude_replies"))
        .respond_with(json_body(STATUSES))
        .expect(1)
        .mount(&server)
        .await;

    let buffer = pull_ok(&server, json!({})).await;

    let mut want = vec![
        row("audience.followers", "1", 318_699.0, "followers_count"),
        row("audience.following", "1", 453.0, "following_count"),
        row("content.posts", "1", 61_013.0, "statuses_count"),
    ];
    want.extend(status_rows("108880211901672326", 27.0, 6.0, 4.0));
    want.extend(status_rows("108880209317577809", 3.0, 0.0, 1.0));
    want.extend(status_rows("108880200000000001", 120.0, 14.0, 9.0));
    assert_eq!(rows(&buffer.points), want);
    let account = &buffer.points[0].entity;
    assert_eq!(
        (account.kind, account.name.as_deref()),
        (EntityKind::Account, Some("Eugen"))
    );
    let names: Vec<Option<&str>> = buffer.points[3..]
        .iter()
        .step_by(3)
        .map(|p| p.entity.name.as_deref())
        .collect();
    assert_eq!(
        names,
        vec![
            Some("Tally 1.0 is out: goals & reports for every platform you pos…"),
            Some("Short one with a link https://example.com/tally"),
            Some("photo of the new bakery <3"),
        ]
    );
    assert!(buffer.points.iter().all(|p| p.platform == "mastodon"));
}

#[tokio::test]
async fn statuses_are_paginated_across_three_pages_with_every_status_once() {
    let server = MockServer::start().await;
    mount_three_pages(&server).await;

    let buffer = pull_ok(&server, json!({})).await;

    assert_eq!(post_ids(&buffer.points), THREE_PAGE_POSTS);
    assert_eq!(buffer.points.len(), 3 + 6 * 3);
    let likes: Vec<f64> = buffer
        .points
        .iter()
        .filter(|p| p.metric == "engagement.likes")
        .map(|p| p.value)
        .collect();
    assert_eq!(likes, vec![909.0, 908.0, 907.0, 906.0, 905.0, 903.0]);
    assert_eq!(hits(&server, STATUSES_PATH).await, 3);
}

#[tokio::test]
async fn a_repeated_or_foreign_next_link_is_a_pagination_error_naming_the_path() {
    let elsewhere = r#"<https://evil.example/api/v1/accounts/1/statuses?max_id=8>; rel="next""#;
    for foreign in [false, true] {
        let server = MockServer::start().await;
        mount_lookup(&server, ACCOUNT).await;
        let first = if foreign {
            elsewhere.into()
        } else {
            link(&server, "8", "9")
        };
        mount_page(&server, None, page(&[9, 8]), Some(first)).await;
        if !foreign {
            let again = Some(link(&server, "8", "7"));
            mount_page(&server, Some("8"), page(&[7, 6]), again).await;
        }

        let e = pull_err(&server, json!({})).await;

        let ConnectorError::Pagination { path, message } = &e else {
            panic!("{e:?}");
        };
        assert_eq!(path, STATUSES_PATH);
        let expect = match foreign {
            true => format!("points outside {}", server.uri()),
            false => "same next-page cursor".to_string(),
        };
        assert!(message.contains(&expect), "{message}");
    }
}

#[tokio::test]
async fn max_statuses_caps_how_many_statuses_are_read() {
    let server = MockServer::start().await;
    mount_lookup(&server, ACCOUNT).await;
    let first = ok().set_body_json(page(&[50, 49, 48]));
    get(STATUSES_PATH)
        .and(query_param("limit", "5"))
        .and(query_param_is_missing("max_id"))
        .respond_with(first.insert_header("link", link(&server, "48", "50").as_str()))
        .expect(1)
        .mount(&server)
        .await;
    let next = Some(link(&server, "44", "47"));
    mount_page(&server, Some("48"), page(&[47, 46, 45, 44]), next).await;

    let buffer = pull_ok(&server, json!({"max_statuses": 5})).await;

    assert_eq!(post_ids(&buffer.points), vec!["50", "49", "48", "47", "46"]);
    assert_eq!(hits(&server, STATUSES_PATH).await, 2);
}

#[tokio::test]
async fn exclude_replies_is_passed_to_the_instance() {
    let server = MockServer::start().await;
    mount_lookup(&server, ACCOUNT).await;
    get(STATUSES_PATH)
        .and(query_param("exclude_replies", "true"))
        .and(query_param("exclude_reblogs", "true"))
        .respond_with(json_body(STATUSES))
        .expect(1)
        .mount(&server)
        .await;
    let buffer = pull_ok(&server, json!({"exclude_replies": true})).await;
    assert_eq!(buffer.points.len(), 12);
}

#[tokio::test]
async fn an_account_without_statuses_or_with_max_statuses_zero_gives_account_points_only() {
    let server = MockServer::start().await;
    mount_empty_account(&server).await;
    assert_eq!(
        rows(&pull_ok(&server, json!({})).await.points),
        vec![
            row("audience.followers", "1", 0.0, "followers_count"),
            row("audience.following", "1", 2.0, "following_count"),
            row("content.posts", "1", 0.0, "statuses_count"),
        ]
    );
    let server = MockServer::start().await;
    mount_lookup(&server, ACCOUNT).await;
    let buffer = pull_ok(&server, json!({"max_statuses": 0})).await;
    assert_eq!(buffer.points.len(), 3);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn check_names_the_account_and_sends_a_remote_acct_percent_encoded() {
    let server = MockServer::start().await;
    mount_lookup(&server, ACCOUNT).await;
    let found = tally_testkit::check(&Mastodon, &http(&server), &source(&server, json!({}))).await;
    assert_eq!(found.unwrap(), "account @Gargron (318699 followers)");

    let server = MockServer::start().await;
    let remote = account_with(json!({"acct": "Gargron@mastodon.social"}));
    get("/api/v1/accounts/lookup")
        .and(query_param("acct", "Gargron@mastodon.social"))
        .respond_with(json_body(&remote.to_string()))
        .expect(1)
        .mount(&server)
        .await;
    let recording = Recording::new(http(&server));
    let source = source(&server, json!({"acct": "@Gargron@mastodon.social"}));
    let found = tally_testkit::check(&Mastodon, &recording, &source).await;
    assert_eq!(
        found.unwrap(),
        "account @Gargron@mastodon.social (318699 followers)"
    );
    let url = &recording.requests()[0].url;
    assert!(
        url.ends_with("/api/v1/accounts/lookup?acct=Gargron%40mastodon.social"),
        "{url}"
    );
}

#[tokio::test]
async fn an_unknown_account_is_not_found_naming_the_acct() {
    let server = MockServer::start().await;
    get("/api/v1/accounts/lookup")
        .respond_with(ResponseTemplate::new(404).set_body_string(r#"{"error":"Record not found"}"#))
        .mount(&server)
        .await;
    let e = pull_err(&server, json!({})).await;
    let ConnectorError::NotFound(message) = &e else {
        panic!("{e:?}");
    };
    assert!(
        message.contains("@Gargron") && message.contains(&server.uri()),
        "{message}"
    );
}

#[tokio::test]
async fn bad_settings_fail_before_any_request() {
    let server = MockServer::start().await;
    for (settings, expect) in [
        (json!({}), "missing field `acct`"),
        (
            json!({"acct": "https://mastodon.social/@Gargron"}),
            "write it as `Gargron@mastodon.social`",
        ),
        (json!({"acct": "two words"}), "not an account address"),
        (json!({"acct": "a@b@c.social"}), "not an account address"),
        (
            json!({"acct": "Gargron", "exclude_reblogs": true}),
            "unknown field `exclude_reblogs`",
        ),
    ] {
        let mut source = source(&server, json!({}));
        source.settings = settings;
        let e = tally_testkit::pull(&Mastodon, &http(&server), &source).await;
        assert!(
            matches!(&e, Err(ConnectorError::Settings(m)) if m.contains(expect)),
            "{e:?}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_missing_count_is_a_decode_error_naming_the_field() {
    let server = MockServer::start().await;
    let mut account = account_with(json!({}));
    account.as_object_mut().unwrap().remove("followers_count");
    mount_lookup(&server, &account.to_string()).await;
    let e = pull_err(&server, json!({})).await;
    let ConnectorError::Decode { path, message, .. } = &e else {
        panic!("{e:?}");
    };
    assert_eq!(path, "/api/v1/accounts/lookup");
    assert!(
        message.contains("missing field `followers_count`"),
        "{message}"
    );
}

#[tokio::test]
async fn the_declared_usage_headers_make_the_host_wait_for_the_reset() {
    let server = MockServer::start().await;
    let reset = (chrono::Utc::now() + chrono::Duration::milliseconds(1500))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    get("/api/v1/accounts/lookup")
        .respond_with(
            json_body(ACCOUNT)
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.as_str()),
        )
        .mount(&server)
        .await;
    mount_page(&server, None, page(&[1]), None).await;

    let started = Instant::now();
    pull_ok(&server, json!({})).await;
    // The statuses request waited for the window reported by the lookup to reset.
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
}

#[tokio::test]
async fn an_incremental_pull_stops_at_settled_statuses_it_has_seen() {
    let server = MockServer::start().await;
    mount_lookup(&server, ACCOUNT).await;
    // The fixtures were posted in 2022: all far outside the 7-day lookback.
    let next = Some(link(&server, "907", "910"));
    mount_page(&server, None, page(&[910, 909, 908, 907]), next).await;
    let mut source = source(&server, json!({}));
    source.state = Some(json!({ "newest_id": "908" }));

    let buffer = tally_testkit::pull(&Mastodon, &http(&server), &source)
        .await
        .unwrap();

    assert_eq!(post_ids(&buffer.points), vec!["910", "909"]);
    assert_eq!(buffer.state, Some(json!({ "newest_id": "910" })));
    assert_eq!(
        hits(&server, STATUSES_PATH).await,
        1,
        "no page past the seen ones"
    );
}

#[tokio::test]
async fn an_interrupted_pull_resumes_at_its_checkpointed_page() {
    let server = MockServer::start().await;
    mount_lookup(&server, ACCOUNT).await;
    // Only the page after the checkpoint is served: the first must not be read again.
    mount_page(&server, Some("907"), page(&[906, 905]), None).await;
    let mut source = source(&server, json!({}));
    source.state = Some(json!({
        "cursor": { "max_id": "907", "newest_id": "909", "read": 3 }
    }));

    let buffer = tally_testkit::pull(&Mastodon, &http(&server), &source)
        .await
        .unwrap();

    assert_eq!(post_ids(&buffer.points), vec!["906", "905"]);
    assert_eq!(buffer.state, Some(json!({ "newest_id": "909" })));
}

#[tokio::test]
async fn each_page_but_the_last_is_checkpointed_with_the_next_cursor() {
    let server = MockServer::start().await;
    mount_lookup(&server, ACCOUNT).await;
    let next = Some(link(&server, "908", "909"));
    mount_page(&server, None, page(&[909, 908]), next).await;
    mount_page(&server, Some("908"), page(&[907]), None).await;

    let source = source(&server, json!({}));
    let (buffer, checkpoints) = tally_testkit::pull_checkpoints(&Mastodon, &http(&server), &source)
        .await
        .unwrap();

    assert_eq!(
        checkpoints,
        vec![json!({ "cursor": { "max_id": "908", "newest_id": "909", "read": 2 } })]
    );
    assert_eq!(buffer.state, Some(json!({ "newest_id": "909" })));
}

#[tokio::test]
async fn conformance() {
    let report = tally_testkit::conformance::run_conformance(Arc::new(Mastodon), &MastodonFixtures);
    println!("{}", report.await);
}
