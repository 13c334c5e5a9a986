//! The Mastodon connector against a mock instance, through the real host HTTP
//! client: documented shapes in, exact points out, `Link` pagination followed
//! safely, and every failure turned into an error that says what happened.

#![allow(clippy::unwrap_used)]

mod conformance;
mod support;

use serde_json::json;
use std::time::{Duration, Instant};
use support::*;
use tally_host::http::{Credential, SourceHttpSpec};
use tally_mastodon::Mastodon;
use tally_model::{Connector, ConnectorError, EntityKind, HttpError, QuotaSpec, QuotaWindow};
use tally_testkit::{pull, Recording};
use wiremock::matchers::{bearer_token, query_param, query_param_is_missing};
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

    let buffer = pull(&Mastodon, &http(&server), &source(&server, json!({})))
        .await
        .unwrap();

    assert_eq!(
        rows(&buffer.points),
        vec![
            row("audience.followers", "1", 318_699.0, "followers_count"),
            row("audience.following", "1", 453.0, "following_count"),
            row("content.posts", "1", 61_013.0, "statuses_count"),
            row(
                "engagement.likes",
                "108880211901672326",
                27.0,
                "favourites_count"
            ),
            row(
                "engagement.shares",
                "108880211901672326",
                6.0,
                "reblogs_count"
            ),
            row(
                "engagement.comments",
                "108880211901672326",
                4.0,
                "replies_count"
            ),
            row(
                "engagement.likes",
                "108880209317577809",
                3.0,
                "favourites_count"
            ),
            row(
                "engagement.shares",
                "108880209317577809",
                0.0,
                "reblogs_count"
            ),
            row(
                "engagement.comments",
                "108880209317577809",
                1.0,
                "replies_count"
            ),
            row(
                "engagement.likes",
                "108880200000000001",
                120.0,
                "favourites_count"
            ),
            row(
                "engagement.shares",
                "108880200000000001",
                14.0,
                "reblogs_count"
            ),
            row(
                "engagement.comments",
                "108880200000000001",
                9.0,
                "replies_count"
            ),
        ]
    );
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
    for point in &buffer.points {
        point.validate().unwrap();
        assert_eq!(point.platform, "mastodon");
    }
}

#[tokio::test]
async fn statuses_are_paginated_across_three_pages_with_every_status_once() {
    let server = MockServer::start().await;
    mount_three_pages(&server).await;

    let buffer = pull(&Mastodon, &http(&server), &source(&server, json!({})))
        .await
        .unwrap();

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
async fn a_repeated_next_link_is_a_pagination_error_naming_the_path() {
    let server = MockServer::start().await;
    mount_lookup(&server, ACCOUNT).await;
    mount_page(&server, None, page(&[9, 8]), Some(link(&server, "8", "9"))).await;
    mount_page(
        &server,
        Some("8"),
        page(&[7, 6]),
        Some(link(&server, "8", "7")),
    )
    .await;

    let e = pull(&Mastodon, &http(&server), &source(&server, json!({})))
        .await
        .unwrap_err();

    let ConnectorError::Pagination { path, message } = &e else {
        panic!("{e:?}");
    };
    assert_eq!(path, STATUSES_PATH);
    assert!(message.contains("same next-page cursor"), "{message}");
}

#[tokio::test]
async fn a_next_link_to_another_host_is_not_followed() {
    let server = MockServer::start().await;
    mount_lookup(&server, ACCOUNT).await;
    let elsewhere = r#"<https://evil.example/api/v1/accounts/1/statuses?max_id=8>; rel="next""#;
    mount_page(&server, None, page(&[9, 8]), Some(elsewhere.to_string())).await;

    let e = pull(&Mastodon, &http(&server), &source(&server, json!({})))
        .await
        .unwrap_err();

    let ConnectorError::Pagination { path, message } = &e else {
        panic!("{e:?}");
    };
    assert_eq!(path, STATUSES_PATH);
    assert!(
        message.contains("points outside") && message.contains(&server.uri()),
        "{message}"
    );
}

#[tokio::test]
async fn max_statuses_caps_how_many_statuses_are_read() {
    let server = MockServer::start().await;
    mount_lookup(&server, ACCOUNT).await;
    get(STATUSES_PATH)
        .and(query_param("limit", "5"))
        .and(query_param_is_missing("max_id"))
        .respond_with(
            ok().set_body_json(page(&[50, 49, 48]))
                .insert_header("link", link(&server, "48", "50").as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;
    mount_page(
        &server,
        Some("48"),
        page(&[47, 46, 45, 44]),
        Some(link(&server, "44", "47")),
    )
    .await;

    let buffer = pull(
        &Mastodon,
        &http(&server),
        &source(&server, json!({"max_statuses": 5})),
    )
    .await
    .unwrap();

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
    let buffer = pull(
        &Mastodon,
        &http(&server),
        &source(&server, json!({"exclude_replies": true})),
    )
    .await
    .unwrap();
    assert_eq!(buffer.points.len(), 12);
}

#[tokio::test]
async fn an_account_without_statuses_emits_account_points_only() {
    let server = MockServer::start().await;
    mount_empty_account(&server).await;

    let buffer = pull(&Mastodon, &http(&server), &source(&server, json!({})))
        .await
        .unwrap();

    assert_eq!(
        rows(&buffer.points),
        vec![
            row("audience.followers", "1", 0.0, "followers_count"),
            row("audience.following", "1", 2.0, "following_count"),
            row("content.posts", "1", 0.0, "statuses_count"),
        ]
    );
}

#[tokio::test]
async fn max_statuses_zero_reads_the_account_only() {
    let server = MockServer::start().await;
    mount_lookup(&server, ACCOUNT).await;
    let buffer = pull(
        &Mastodon,
        &http(&server),
        &source(&server, json!({"max_statuses": 0})),
    )
    .await
    .unwrap();
    assert_eq!(buffer.points.len(), 3);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_remote_acct_is_sent_percent_encoded() {
    let server = MockServer::start().await;
    get("/api/v1/accounts/lookup")
        .and(query_param("acct", "Gargron@mastodon.social"))
        .respond_with(json_body(
            &account_with(json!({"acct": "Gargron@mastodon.social"})).to_string(),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let recording = Recording::new(http(&server));
    let mut source = source(&server, json!({}));
    source.settings = json!({"acct": "@Gargron@mastodon.social", "max_statuses": 0});

    let found = tally_testkit::check(&Mastodon, &recording, &source)
        .await
        .unwrap();

    assert_eq!(found, "account @Gargron@mastodon.social (318699 followers)");
    assert!(
        recording.requests()[0]
            .url
            .ends_with("/api/v1/accounts/lookup?acct=Gargron%40mastodon.social"),
        "{:?}",
        recording.requests()
    );
}

#[tokio::test]
async fn check_names_the_account_and_its_followers() {
    let server = MockServer::start().await;
    mount_lookup(&server, ACCOUNT).await;
    let found = tally_testkit::check(&Mastodon, &http(&server), &source(&server, json!({})))
        .await
        .unwrap();
    assert_eq!(found, "account @Gargron (318699 followers)");
}

#[tokio::test]
async fn an_unknown_account_is_not_found_naming_the_acct() {
    let server = MockServer::start().await;
    get("/api/v1/accounts/lookup")
        .respond_with(ResponseTemplate::new(404).set_body_string(r#"{"error":"Record not found"}"#))
        .mount(&server)
        .await;
    let e = pull(&Mastodon, &http(&server), &source(&server, json!({})))
        .await
        .unwrap_err();
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
    let http = http(&server);
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
        let e = pull(&Mastodon, &http, &source).await.unwrap_err();
        assert!(
            matches!(&e, ConnectorError::Settings(m) if m.contains(expect)),
            "{e:?}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn malformed_json_is_a_decode_error_naming_the_path() {
    let server = MockServer::start().await;
    mount_lookup(&server, r#"{"id":"1","acct":"Gargron","followers_count":"#).await;
    let e = pull(&Mastodon, &http(&server), &source(&server, json!({})))
        .await
        .unwrap_err();
    let ConnectorError::Decode { path, .. } = &e else {
        panic!("{e:?}");
    };
    assert_eq!(path, "/api/v1/accounts/lookup");
}

#[tokio::test]
async fn a_missing_count_is_a_decode_error_naming_the_field() {
    let server = MockServer::start().await;
    let mut account = account_with(json!({}));
    account.as_object_mut().unwrap().remove("followers_count");
    mount_lookup(&server, &account.to_string()).await;
    let e = pull(&Mastodon, &http(&server), &source(&server, json!({})))
        .await
        .unwrap_err();
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
async fn an_html_page_with_status_200_is_a_decode_error() {
    let server = MockServer::start().await;
    mount_lookup(&server, ACCOUNT).await;
    get(STATUSES_PATH)
        .respond_with(ok().set_body_raw(
            "<html><body><h1>We're sorry, but something went wrong</h1></body></html>",
            "text/html",
        ))
        .mount(&server)
        .await;
    let e = pull(&Mastodon, &http(&server), &source(&server, json!({})))
        .await
        .unwrap_err();
    let ConnectorError::Decode { path, body, .. } = &e else {
        panic!("{e:?}");
    };
    assert_eq!(path, STATUSES_PATH);
    assert!(body.starts_with("<html>"), "{body}");
}

#[tokio::test]
async fn a_server_error_is_retried_by_the_host() {
    let server = MockServer::start().await;
    get("/api/v1/accounts/lookup")
        .respond_with(
            ResponseTemplate::new(500).set_body_string(r#"{"error":"Internal server error"}"#),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_lookup(&server, ACCOUNT).await;

    let buffer = pull(
        &Mastodon,
        &http(&server),
        &source(&server, json!({"max_statuses": 0})),
    )
    .await
    .unwrap();
    assert_eq!(buffer.points.len(), 3);
    assert_eq!(hits(&server, "/api/v1/accounts/lookup").await, 2);
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_by_the_host() {
    let server = MockServer::start().await;
    get("/api/v1/accounts/lookup")
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_string(r#"{"error":"Too many requests"}"#),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_lookup(&server, ACCOUNT).await;

    let started = Instant::now();
    let buffer = pull(
        &Mastodon,
        &http(&server),
        &source(&server, json!({"max_statuses": 0})),
    )
    .await
    .unwrap();
    assert_eq!(buffer.points.len(), 3);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
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
    pull(&Mastodon, &http(&server), &source(&server, json!({})))
        .await
        .unwrap();
    // The statuses request waited for the window reported by the lookup to reset.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_401_is_an_unauthorized_error_and_the_token_is_sent_by_the_host() {
    let server = MockServer::start().await;
    get("/api/v1/accounts/lookup")
        .and(bearer_token("tok-123"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_string(r#"{"error":"The access token is invalid"}"#),
        )
        .expect(1)
        .mount(&server)
        .await;
    let http = http_with(&server, tally_testkit::bearer("tok-123"));
    let recording = Recording::new(http);

    let e = pull(&Mastodon, &recording, &source(&server, json!({})))
        .await
        .unwrap_err();

    let ConnectorError::Http(HttpError::Unauthorized {
        status,
        path,
        message,
    }) = &e
    else {
        panic!("{e:?}");
    };
    assert_eq!((*status, path.as_str()), (401, "/api/v1/accounts/lookup"));
    assert!(message.contains("The access token is invalid"), "{message}");
    assert!(!e.to_string().contains("tok-123"));
    assert!(
        recording.requests().iter().all(|r| r.headers.is_empty()),
        "the connector never sets auth"
    );
}

#[tokio::test]
async fn a_quota_override_of_three_units_stops_the_pull_after_three_calls() {
    let server = MockServer::start().await;
    mount_lookup(&server, ACCOUNT).await;
    mount_page(&server, None, page(&[9, 8]), Some(link(&server, "8", "9"))).await;
    mount_page(
        &server,
        Some("8"),
        page(&[7, 6]),
        Some(link(&server, "6", "7")),
    )
    .await;
    let spec = SourceHttpSpec {
        quota: Some(QuotaSpec {
            units: 3,
            window: QuotaWindow::Day,
            timezone: "UTC".into(),
        }),
        ..tally_testkit::spec_for(&server.uri(), &Mastodon.describe(), Credential::None)
    };
    let http = tally_testkit::source_http(spec);

    let e = pull(&Mastodon, &http, &source(&server, json!({})))
        .await
        .unwrap_err();

    assert!(
        matches!(
            &e,
            ConnectorError::Http(HttpError::QuotaExhausted {
                used: 3,
                limit: 3,
                ..
            })
        ),
        "{e:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn an_incremental_pull_stops_at_settled_statuses_it_has_seen() {
    let server = MockServer::start().await;
    mount_lookup(&server, ACCOUNT).await;
    // The fixtures were posted in 2022: all far outside the 7-day lookback.
    mount_page(
        &server,
        None,
        page(&[910, 909, 908, 907]),
        Some(link(&server, "907", "910")),
    )
    .await;
    let mut source = source(&server, json!({}));
    source.state = Some(json!({ "newest_id": "908" }));

    let buffer = pull(&Mastodon, &http(&server), &source).await.unwrap();

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

    let buffer = pull(&Mastodon, &http(&server), &source).await.unwrap();

    assert_eq!(post_ids(&buffer.points), vec!["906", "905"]);
    assert_eq!(buffer.state, Some(json!({ "newest_id": "909" })));
}

#[tokio::test]
async fn each_page_but_the_last_is_checkpointed_with_the_next_cursor() {
    let server = MockServer::start().await;
    mount_lookup(&server, ACCOUNT).await;
    mount_page(
        &server,
        None,
        page(&[909, 908]),
        Some(link(&server, "908", "909")),
    )
    .await;
    mount_page(&server, Some("908"), page(&[907]), None).await;

    // The default `checkpoint` only records the state, so the last one given wins;
    // record every one through an emitter that keeps them.
    struct Checkpoints(tally_model::PointBuffer, Vec<serde_json::Value>);
    impl tally_model::Emitter for Checkpoints {
        fn emit(&mut self, point: tally_model::Point) -> Result<(), ConnectorError> {
            self.0.emit(point)
        }
        fn save_state(&mut self, state: serde_json::Value) {
            self.0.save_state(state);
        }
        fn checkpoint(&mut self, state: serde_json::Value) -> Result<(), ConnectorError> {
            self.1.push(state);
            Ok(())
        }
    }
    let source = source(&server, json!({}));
    let http = http(&server);
    let mut out = Checkpoints(tally_model::PointBuffer::new("mastodon"), Vec::new());
    Mastodon
        .pull(&source.context(&http), &mut out)
        .await
        .unwrap();
    assert_eq!(
        out.1,
        vec![json!({ "cursor": { "max_id": "908", "newest_id": "909", "read": 2 } })]
    );
    assert_eq!(out.0.state, Some(json!({ "newest_id": "909" })));
}
