//! The YouTube connector against a mock Data API v3, through the real host HTTP
//! client: documented shapes in, exact points out, quota costs declared, and
//! Google's own errors turned into errors that say what to do. What every
//! connector owes the host (retries, 401, malformed JSON, quota stop) is the
//! conformance kit's, run last.

#![allow(clippy::unwrap_used)]

mod fuzz_body;
mod properties;
mod support;

use serde_json::json;
use std::sync::Arc;
use support::*;
use tally_model::{ConnectorError, EntityKind, HttpError};
use tally_testkit::{pull, Recording};
use tally_youtube::Youtube;
use wiremock::matchers::query_param;
use wiremock::{MockServer, ResponseTemplate};

#[tokio::test]
async fn happy_path_emits_documented_channel_and_video_points() {
    let server = MockServer::start().await;
    mount_channel(&server, CHANNELS).await;
    get("/playlistItems")
        .and(query_param("playlistId", UPLOADS))
        .and(query_param("maxResults", "50"))
        .respond_with(json_body(PLAYLIST_ITEMS))
        .expect(1)
        .mount(&server)
        .await;
    get("/videos")
        .and(query_param("part", "statistics,snippet"))
        .and(query_param("id", "CvTApw9X8aA,Yh4EKaUY3gg,S-MbpQiwfls"))
        .respond_with(json_body(VIDEOS))
        .expect(1)
        .mount(&server)
        .await;

    let buffer = pull_ok(&server, json!({})).await;

    assert_eq!(
        rows(&buffer.points),
        vec![
            row(
                "audience.followers",
                CHANNEL,
                1_927_873.0,
                "subscriberCount"
            ),
            row("reach.views", CHANNEL, 160_361_638.0, "viewCount"),
            row("content.posts", CHANNEL, 5026.0, "videoCount"),
            row("reach.views", "CvTApw9X8aA", 8431.0, "viewCount"),
            row("engagement.likes", "CvTApw9X8aA", 211.0, "likeCount"),
            row("engagement.comments", "CvTApw9X8aA", 12.0, "commentCount"),
            row("reach.views", "Yh4EKaUY3gg", 1520.0, "viewCount"),
            row("engagement.comments", "Yh4EKaUY3gg", 3.0, "commentCount"),
            row("reach.views", "S-MbpQiwfls", 977.0, "viewCount"),
            row("engagement.likes", "S-MbpQiwfls", 40.0, "likeCount"),
        ]
    );
    let account = &buffer.points[0].entity;
    assert_eq!(account.kind, EntityKind::Account);
    assert_eq!(account.name.as_deref(), Some("Google Developers"));
    let video = &buffer.points[3].entity;
    assert_eq!(video.kind, EntityKind::Video);
    assert_eq!(
        video.name.as_deref(),
        Some("Welcome from Google Developers - Pittsburgh ML Summit ‘19")
    );
    assert!(buffer.points.iter().all(|p| p.platform == "youtube"));
}

#[tokio::test]
async fn api_key_is_added_by_the_host_and_never_seen_by_the_connector() {
    let server = MockServer::start().await;
    mount_channel(&server, CHANNELS_NO_VIDEOS).await;
    let recording = Recording::new(http(&server));

    // The mock only answers requests carrying `key=KEY`, so success proves the host sent it.
    let buffer = pull(&Youtube, &recording, &source(&server, json!({})))
        .await
        .unwrap();
    assert_eq!(buffer.points.len(), 3);

    let requests = recording.requests();
    assert_eq!(requests.len(), 1);
    for request in &requests {
        assert!(
            !request.url.contains("key="),
            "the connector built {}",
            request.url
        );
        assert!(!request.url.contains(KEY));
        assert_eq!(request.cost, 1, "every list call costs one quota unit");
        assert!(request.headers.is_empty());
    }
    let received = server.received_requests().await.unwrap();
    assert!(received[0]
        .url
        .query_pairs()
        .any(|(k, v)| k == "key" && v == KEY));
}

#[tokio::test]
async fn uploads_are_paginated_across_three_pages_with_every_video_once() {
    let server = MockServer::start().await;
    mount_three_upload_pages(&server).await;

    let buffer = pull_ok(&server, json!({})).await;

    let views: Vec<(String, f64)> = buffer
        .points
        .iter()
        .filter(|p| p.entity.kind == EntityKind::Video && p.metric == "reach.views")
        .map(|p| (p.entity.id.to_string(), p.value))
        .collect();
    assert_eq!(
        views,
        vec![
            ("vid00000100".to_string(), 100.0),
            ("vid00000200".to_string(), 200.0),
            ("vid00000300".to_string(), 300.0),
            ("vid00000400".to_string(), 400.0),
            ("vid00000500".to_string(), 500.0),
        ]
    );
    // Three metrics per video, three for the channel, nothing twice.
    assert_eq!(buffer.points.len(), 3 + 5 * 3);
    let mut keys: Vec<_> = buffer
        .points
        .iter()
        .map(|p| (&p.entity.id, &p.metric))
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), buffer.points.len());
    assert_eq!(hits(&server, "/playlistItems").await, 3);
}

#[tokio::test]
async fn a_repeated_page_token_is_a_pagination_error_naming_the_path() {
    let server = MockServer::start().await;
    mount_channel(&server, CHANNELS).await;
    mount_uploads_page(
        &server,
        None,
        playlist_page(&["vid00000001"], Some("CAIQAA")),
    )
    .await;
    mount_uploads_page(
        &server,
        Some("CAIQAA"),
        playlist_page(&["vid00000002"], Some("CAIQAA")),
    )
    .await;

    let e = pull_err(&server, json!({})).await;

    let ConnectorError::Pagination { path, message } = &e else {
        panic!("{e:?}");
    };
    assert_eq!(path, "/youtube/v3/playlistItems");
    assert!(message.contains("same next-page cursor"), "{message}");
    assert_eq!(hits(&server, "/videos").await, 0);
}

#[tokio::test]
async fn max_videos_caps_how_many_uploads_are_read() {
    let server = MockServer::start().await;
    mount_channel(&server, CHANNELS).await;
    // Asks for at most what is still needed, and ignores any surplus the page holds.
    get("/playlistItems")
        .and(query_param("maxResults", "3"))
        .respond_with(ResponseTemplate::new(200).set_body_json(playlist_page(
            &["vid00000010", "vid00000020"],
            Some("CAIQAA"),
        )))
        .expect(1)
        .mount(&server)
        .await;
    get("/playlistItems")
        .and(query_param("maxResults", "1"))
        .and(query_param("pageToken", "CAIQAA"))
        .respond_with(ResponseTemplate::new(200).set_body_json(playlist_page(
            &["vid00000030", "vid00000040"],
            Some("CAUQAA"),
        )))
        .expect(1)
        .mount(&server)
        .await;
    get("/videos")
        .and(query_param("id", "vid00000010,vid00000020,vid00000030"))
        .respond_with(VideosFromIds)
        .expect(1)
        .mount(&server)
        .await;

    let buffer = pull_ok(&server, json!({"max_videos": 3})).await;

    let mut videos: Vec<&str> = buffer
        .points
        .iter()
        .filter(|p| p.entity.kind == EntityKind::Video)
        .map(|p| p.entity.id.as_str())
        .collect();
    videos.dedup();
    assert_eq!(videos, vec!["vid00000010", "vid00000020", "vid00000030"]);
}

#[tokio::test]
async fn a_channel_without_uploads_or_with_max_videos_zero_costs_one_unit() {
    let server = MockServer::start().await;
    mount_channel(&server, CHANNELS_NO_VIDEOS).await;
    let new = "UCnew0channel0000000000A";
    assert_eq!(
        rows(&pull_ok(&server, json!({})).await.points),
        vec![
            row("audience.followers", new, 3.0, "subscriberCount"),
            row("reach.views", new, 0.0, "viewCount"),
            row("content.posts", new, 0.0, "videoCount"),
        ]
    );
    // videoCount 0: no quota spent on an empty (possibly 404ing) uploads playlist.
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    let server = MockServer::start().await;
    mount_channel(&server, CHANNELS).await;
    let buffer = pull_ok(&server, json!({"max_videos": 0})).await;
    assert_eq!(buffer.points.len(), 3);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn large_max_videos_reads_videos_in_batches_of_fifty() {
    let server = MockServer::start().await;
    mount_channel(&server, CHANNELS).await;
    let first: Vec<String> = (1..=50).map(|n| format!("vid{n:08}")).collect();
    let second: Vec<String> = (51..=70).map(|n| format!("vid{n:08}")).collect();
    let refs = |v: &[String]| v.iter().map(String::as_str).collect::<Vec<_>>().join(",");
    let page = |ids: &[String], next| {
        playlist_page(&ids.iter().map(String::as_str).collect::<Vec<_>>(), next)
    };
    mount_uploads_page(&server, None, page(&first, Some("CDIQAA"))).await;
    mount_uploads_page(&server, Some("CDIQAA"), page(&second, None)).await;
    for batch in [&first, &second] {
        get("/videos")
            .and(query_param("id", refs(batch)))
            .respond_with(VideosFromIds)
            .expect(1)
            .mount(&server)
            .await;
    }

    let buffer = pull_ok(&server, json!({"max_videos": 500})).await;
    assert_eq!(buffer.points.len(), 3 + 70 * 3);
}

#[tokio::test]
async fn an_empty_or_missing_uploads_playlist_is_not_an_error() {
    for answer in [
        ResponseTemplate::new(200).set_body_json(playlist_page(&[], None)),
        ResponseTemplate::new(404).set_body_string(
            r#"{"error":{"code":404,"message":"The playlist identified with the request's playlistId parameter cannot be found.","errors":[{"domain":"youtube.playlistItem","reason":"playlistNotFound"}]}}"#,
        ),
    ] {
        let server = MockServer::start().await;
        mount_channel(&server, CHANNELS).await;
        get("/playlistItems").respond_with(answer).expect(1).mount(&server).await;

        let buffer = pull_ok(&server, json!({})).await;
        assert_eq!(buffer.points.len(), 3);
        assert_eq!(hits(&server, "/videos").await, 0);
    }
}

#[tokio::test]
async fn check_names_the_channel_and_a_hidden_subscriber_count_emits_no_point() {
    let server = MockServer::start().await;
    mount_channel(&server, CHANNELS).await;
    let found = tally_testkit::check(&Youtube, &http(&server), &source(&server, json!({}))).await;
    assert_eq!(
        found.unwrap(),
        "channel Google Developers (1927873 subscribers)"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    let server = MockServer::start().await;
    let hidden = "UCq-Fj5jknLsUf-MWSy4_brA";
    get("/channels")
        .and(query_param("id", hidden))
        .respond_with(json_body(CHANNELS_HIDDEN))
        .mount(&server)
        .await;
    let buffer = pull_ok(&server, json!({"channel_id": hidden})).await;
    assert_eq!(
        rows(&buffer.points),
        vec![
            row("reach.views", hidden, 48210.0, "viewCount"),
            row("content.posts", hidden, 0.0, "videoCount"),
        ]
    );
    let source = source(&server, json!({"channel_id": hidden}));
    let found = tally_testkit::check(&Youtube, &http(&server), &source).await;
    assert_eq!(found.unwrap(), "channel Corner Bakery (hidden subscribers)");
}

#[tokio::test]
async fn an_unknown_channel_is_not_found() {
    let server = MockServer::start().await;
    mount_channel(&server, CHANNELS_EMPTY).await;
    let e = pull_err(&server, json!({})).await;
    assert_eq!(
        e,
        ConnectorError::NotFound(format!(
            "channel {CHANNEL} does not exist or is not visible to this API key"
        ))
    );
}

#[tokio::test]
async fn bad_settings_fail_before_any_request() {
    let server = MockServer::start().await;
    let http = http(&server);
    for (settings, expect) in [
        (json!({}), "missing field `channel_id`"),
        (json!({"channel_id": "@googledevelopers"}), "is a handle"),
        (json!({"channel_id": "UC x"}), "not a YouTube channel id"),
        (
            json!({"channel_id": CHANNEL, "max_video": 3}),
            "unknown field `max_video`",
        ),
    ] {
        let mut source = source(&server, json!({}));
        source.settings = settings;
        let e = pull(&Youtube, &http, &source).await.unwrap_err();
        assert!(
            matches!(&e, ConnectorError::Settings(m) if m.contains(expect)),
            "{e:?}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_count_that_is_not_numeric_is_a_decode_error_naming_the_field() {
    let server = MockServer::start().await;
    mount_channel(&server, &CHANNELS.replace("\"160361638\"", "\"lots\"")).await;
    let e = pull_err(&server, json!({})).await;
    let ConnectorError::Decode { path, message, .. } = &e else {
        panic!("{e:?}");
    };
    assert_eq!(path, "/youtube/v3/channels");
    assert_eq!(
        message,
        "statistics.viewCount of channel UC_x5XG1OV2P6uZZ5FSM9Ttw is \"lots\", not a whole number"
    );
}

#[tokio::test]
async fn google_errors_say_what_to_do() {
    for (status, body, says) in [
        (
            400,
            ERROR_KEY_INVALID,
            "the API key was rejected (keyInvalid); check [sources.auth] api_key",
        ),
        (
            403,
            ERROR_QUOTA,
            "YouTube quota for this API key is spent (quotaExceeded); it resets at midnight Pacific",
        ),
    ] {
        let server = MockServer::start().await;
        get("/channels")
            .respond_with(ResponseTemplate::new(status).set_body_string(body))
            .expect(1)
            .mount(&server)
            .await;
        let e = pull_err(&server, json!({})).await;
        // A rejected key is an auth failure; a spent quota is the platform's answer.
        let kind_ok = match status {
            400 => matches!(&e, ConnectorError::Http(HttpError::Unauthorized { status: 400, .. })),
            _ => matches!(&e, ConnectorError::Status { status: 403, .. }),
        };
        assert!(kind_ok && e.to_string().contains(says), "{e:?}");
    }
}

#[tokio::test]
async fn conformance() {
    let report = tally_testkit::conformance::run_conformance(Arc::new(Youtube), &YoutubeFixtures);
    println!("{}", report.await);
}
