//! YouTube Data API v3 shapes, pagination and errors.

use std::collections::HashSet;

use serde_json::Value;
use tally_sandbox::data;
use tally_sandbox::{Limit, PlatformLimits, SandboxOptions};

use crate::{count, get, roomy, start, SameDay};

const PARTS: &str = "part=statistics,snippet,contentDetails";

#[tokio::test]
async fn channel_has_the_documented_shape_and_the_generated_numbers() {
    let sb = start(roomy()).await;
    let base = sb.base_url("youtube");
    let day = SameDay::start();
    let a = get(&format!("{base}/channels?{PARTS}&id=UCshape01&key=k")).await;
    assert_eq!(a.status, 200);
    // YouTube sends no usage headers.
    assert!(a.header("x-ratelimit-limit").is_none() && a.header("ratelimit-limit").is_none());
    let body = a.json();
    assert_eq!(body["kind"], "youtube#channelListResponse");
    assert!(body["etag"].is_string());
    assert_eq!(body["pageInfo"]["totalResults"], 1);
    let item = &body["items"][0];
    assert_eq!(item["kind"], "youtube#channel");
    assert!(item["etag"].is_string());
    assert_eq!(item["id"], "UCshape01");
    let snippet = &item["snippet"];
    assert!(snippet["title"].is_string());
    assert_eq!(snippet["customUrl"], "@ucshape01");
    let published = snippet["publishedAt"].as_str().expect("publishedAt");
    assert!(chrono::DateTime::parse_from_rfc3339(published).is_ok());
    assert_eq!(
        item["contentDetails"]["relatedPlaylists"]["uploads"],
        "UUshape01"
    );
    let stats = &item["statistics"];
    assert_eq!(stats["hiddenSubscriberCount"], false);
    for field in ["viewCount", "subscriberCount", "videoCount"] {
        assert!(stats[field].is_string(), "{field} must be a string");
    }
    if let Some(now) = day.now() {
        let expected = data::youtube_channel(42, "UCshape01", now).expect("exists");
        assert_eq!(count(&stats["subscriberCount"]), expected.subscribers);
        assert_eq!(count(&stats["viewCount"]), expected.views);
        assert_eq!(count(&stats["videoCount"]), expected.videos.len() as u64);
        assert_eq!(snippet["title"], expected.title.as_str());
    }
}

#[tokio::test]
async fn for_handle_hidden_missing_and_empty() {
    let sb = start(roomy()).await;
    let base = sb.base_url("youtube");

    let body = get(&format!(
        "{base}/channels?{PARTS}&forHandle=@SomeShop&key=k"
    ))
    .await
    .json();
    assert_eq!(
        body["items"][0]["id"],
        data::youtube_channel_id_for_handle("@someshop").as_str()
    );
    assert_eq!(body["items"][0]["snippet"]["customUrl"], "@someshop");

    let body = get(&format!(
        "{base}/channels?part=statistics&id=UChiddenOne&key=k"
    ))
    .await
    .json();
    let stats = &body["items"][0]["statistics"];
    assert_eq!(stats["hiddenSubscriberCount"], true);
    assert!(stats.get("subscriberCount").is_none());
    // Only the requested parts are present.
    assert!(body["items"][0].get("snippet").is_none());

    let a = get(&format!("{base}/channels?{PARTS}&id=UCmissing&key=k")).await;
    assert_eq!(a.status, 200);
    let body = a.json();
    assert!(
        body.get("items").is_none(),
        "no items for a missing channel"
    );
    assert_eq!(body["pageInfo"]["totalResults"], 0);

    let body = get(&format!("{base}/channels?{PARTS}&id=UCempty&key=k"))
        .await
        .json();
    assert_eq!(body["items"][0]["statistics"]["videoCount"], "0");
    let body = get(&format!(
        "{base}/playlistItems?part=contentDetails&playlistId=UUempty&key=k"
    ))
    .await
    .json();
    assert_eq!(body["items"], Value::Array(vec![]));
    assert!(body.get("nextPageToken").is_none());
    assert_eq!(body["pageInfo"]["totalResults"], 0);
}

#[tokio::test]
async fn uploads_paginate_to_the_end_and_videos_match() {
    let sb = start(roomy()).await;
    let base = sb.base_url("youtube");
    let day = SameDay::start();
    let channel = get(&format!("{base}/channels?{PARTS}&id=UCpager&key=k"))
        .await
        .json();
    let video_count = count(&channel["items"][0]["statistics"]["videoCount"]) as usize;
    assert!((5..=60).contains(&video_count));
    let uploads = channel["items"][0]["contentDetails"]["relatedPlaylists"]["uploads"]
        .as_str()
        .expect("uploads")
        .to_string();

    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut url = format!(
            "{base}/playlistItems?part=contentDetails&playlistId={uploads}&maxResults=7&key=k"
        );
        if let Some(t) = &token {
            url.push_str(&format!("&pageToken={t}"));
        }
        let body = get(&url).await.json();
        assert_eq!(body["kind"], "youtube#playlistItemListResponse");
        assert_eq!(body["pageInfo"]["totalResults"], video_count);
        assert_eq!(body["pageInfo"]["resultsPerPage"], 7);
        for item in body["items"].as_array().expect("items") {
            assert_eq!(item["kind"], "youtube#playlistItem");
            let cd = &item["contentDetails"];
            assert!(cd["videoPublishedAt"].is_string());
            ids.push(cd["videoId"].as_str().expect("videoId").to_string());
        }
        pages += 1;
        match body.get("nextPageToken").and_then(Value::as_str) {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
        assert!(pages < 20, "pagination does not end");
    }
    assert_eq!(pages, video_count.div_ceil(7));
    assert_eq!(ids.len(), video_count);
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        ids.len(),
        "no duplicates"
    );

    // videos.list in batches of up to 50.
    let mut seen = 0;
    for chunk in ids.chunks(50) {
        let body = get(&format!(
            "{base}/videos?part=statistics,snippet&id={}&key=k",
            chunk.join(",")
        ))
        .await
        .json();
        assert_eq!(body["kind"], "youtube#videoListResponse");
        let items = body["items"].as_array().expect("items");
        assert_eq!(items.len(), chunk.len());
        for (item, id) in items.iter().zip(chunk) {
            assert_eq!(item["id"], id.as_str());
            assert_eq!(item["kind"], "youtube#video");
            assert!(item["snippet"]["title"].is_string());
            assert!(item["snippet"]["publishedAt"].is_string());
            let st = &item["statistics"];
            for field in ["viewCount", "likeCount", "favoriteCount", "commentCount"] {
                assert!(st[field].is_string(), "{field} must be a string");
            }
        }
        if let Some(now) = day.now() {
            let expected = data::youtube_channel(42, "UCpager", now).expect("exists");
            for item in items {
                let v = expected
                    .videos
                    .iter()
                    .find(|v| v.id == item["id"].as_str().unwrap_or_default())
                    .expect("known video");
                assert_eq!(count(&item["statistics"]["viewCount"]), v.views);
                assert_eq!(count(&item["statistics"]["likeCount"]), v.likes);
                assert_eq!(count(&item["statistics"]["commentCount"]), v.comments);
            }
        }
        seen += items.len();
    }
    assert_eq!(seen, video_count);

    // Unknown video ids are simply left out.
    let body = get(&format!(
        "{base}/videos?part=statistics&id=zzzzzzzzzzz,nope&key=k"
    ))
    .await
    .json();
    assert_eq!(body["items"], Value::Array(vec![]));
}

#[tokio::test]
async fn same_seed_same_numbers_other_seed_other_numbers() {
    let a = start(roomy()).await;
    let b = start(roomy()).await;
    let c = start(SandboxOptions { seed: 7, ..roomy() }).await;
    let url = |sb: &tally_sandbox::Sandbox| {
        format!(
            "{}/channels?part=statistics&id=UCsame,UCother&key=k",
            sb.base_url("youtube")
        )
    };
    let day = SameDay::start();
    let (ja, jb, jc) = (
        get(&url(&a)).await.json(),
        get(&url(&b)).await.json(),
        get(&url(&c)).await.json(),
    );
    if day.now().is_some() {
        assert_eq!(ja["items"], jb["items"]);
        assert_ne!(ja["items"], jc["items"]);
    }
    assert_eq!(ja["items"].as_array().map(Vec::len), Some(2));
}

/// (status, reason, domain) of a legacy Google error.
async fn google_error(url: &str) -> (u16, String, String) {
    let a = get(url).await;
    let body = a.json();
    let e = &body["error"];
    assert_eq!(e["code"], a.status.as_u16(), "{body}");
    assert!(e["message"].is_string());
    let first = &e["errors"][0];
    (
        a.status.as_u16(),
        first["reason"].as_str().unwrap_or_default().to_string(),
        first["domain"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn bad_requests_get_the_legacy_error_shape() {
    let sb = start(roomy()).await;
    let base = sb.base_url("youtube");
    let cases = [
        (format!("{base}/channels?{PARTS}&id=UCx"), 403, "forbidden"),
        (
            format!("{base}/channels?{PARTS}&id=UCx&key=bad"),
            400,
            "keyInvalid",
        ),
        (format!("{base}/channels?id=UCx&key=k"), 400, "required"),
        (
            format!("{base}/channels?{PARTS}&key=k"),
            400,
            "missingRequiredParameter",
        ),
        (
            format!("{base}/playlistItems?part=contentDetails&playlistId=UUx&maxResults=51&key=k"),
            400,
            "invalidParameter",
        ),
        (
            format!("{base}/playlistItems?part=contentDetails&playlistId=UUx&pageToken=junk&key=k"),
            400,
            "invalidPageToken",
        ),
        (
            format!("{base}/playlistItems?part=contentDetails&playlistId=UUmissing&key=k"),
            404,
            "playlistNotFound",
        ),
        (
            format!("{base}/playlistItems?part=contentDetails&playlistId=PLother&key=k"),
            404,
            "playlistNotFound",
        ),
        (
            format!("{base}/videos?part=statistics&key=k"),
            400,
            "missingRequiredParameter",
        ),
        (format!("{base}/search?part=snippet&key=k"), 404, "notFound"),
    ];
    for (url, status, reason) in cases {
        let (s, r, _) = google_error(&url).await;
        assert_eq!((s, r.as_str()), (status, reason), "{url}");
    }
    // The exact documented keyInvalid body.
    let body = get(&format!("{base}/channels?{PARTS}&id=UCx&key=bad"))
        .await
        .json();
    assert_eq!(
        body,
        serde_json::json!({"error":{"errors":[{"domain":"usageLimits","reason":"keyInvalid","message":"Bad Request"}],"code":400,"message":"Bad Request"}})
    );
    let too_many: Vec<String> = (0..51).map(|i| format!("v{i}")).collect();
    let (s, r, _) = google_error(&format!(
        "{base}/videos?part=statistics&id={}&key=k",
        too_many.join(",")
    ))
    .await;
    assert_eq!((s, r.as_str()), (400, "invalidFilters"));
}

#[tokio::test]
async fn daily_quota_answers_403_quota_exceeded_per_key() {
    let sb = start(SandboxOptions {
        limits: PlatformLimits {
            youtube_quota_per_day: 3,
            ..roomy().limits
        },
        ..roomy()
    })
    .await;
    let base = sb.base_url("youtube");
    for _ in 0..3 {
        let a = get(&format!("{base}/channels?part=id&id=UCq&key=one")).await;
        assert_eq!(a.status, 200);
    }
    let (s, r, d) = google_error(&format!("{base}/channels?part=id&id=UCq&key=one")).await;
    assert_eq!(
        (s, r.as_str(), d.as_str()),
        (403, "quotaExceeded", "youtube.quota")
    );
    let a = get(&format!("{base}/channels?part=id&id=UCq&key=two")).await;
    assert_eq!(a.status, 200, "another key has its own quota");
}

#[tokio::test]
async fn per_second_bucket_answers_429_rate_limit_exceeded() {
    let sb = start(SandboxOptions {
        limits: PlatformLimits {
            youtube: Limit::new(2, 60),
            ..PlatformLimits::default()
        },
        ..SandboxOptions::default()
    })
    .await;
    let url = format!("{}/channels?part=id&id=UCr&key=k", sb.base_url("youtube"));
    assert_eq!(get(&url).await.status, 200);
    assert_eq!(get(&url).await.status, 200);
    let a = get(&url).await;
    assert_eq!(a.status, 429);
    assert!(a.header("retry-after").is_none());
    let body = a.json();
    assert_eq!(body["error"]["errors"][0]["reason"], "rateLimitExceeded");
    assert_eq!(body["error"]["errors"][0]["domain"], "usageLimits");
    let stats = sb.stats();
    assert_eq!(stats.per_platform["youtube"].throttled, 1);
    assert_eq!(stats.throttled, 1);
}
