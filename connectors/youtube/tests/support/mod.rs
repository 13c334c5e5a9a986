//! YouTube-specific mock setup shared by the tests in `pull.rs`: the fixtures,
//! a mock server laid out like `youtube.googleapis.com/youtube/v3`, and builders
//! for the documented response shapes. Generic setup (host client, context,
//! conformance checks) comes from `tally-testkit`.

use async_trait::async_trait;
use serde_json::{json, Value};
use tally_host::http::{Credential, SourceHttp};
use tally_model::{Connector, ConnectorError, PointBuffer};
use tally_testkit::conformance::Fixtures;
use tally_testkit::Source;

pub use tally_testkit::{row, rows};
use tally_youtube::Youtube;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockBuilder, MockServer, Request, Respond, ResponseTemplate};

/// The API key the tests configure; the mock only answers requests that carry it.
pub const KEY: &str = "AIza-test-key-0123456789";
/// The documented sample channel.
pub const CHANNEL: &str = "UC_x5XG1OV2P6uZZ5FSM9Ttw";
/// Its uploads playlist.
pub const UPLOADS: &str = "UU_x5XG1OV2P6uZZ5FSM9Ttw";

/// `channels.list` for the documented sample channel.
pub const CHANNELS: &str = include_str!("../../testdata/channels.json");
/// A channel that hides its subscriber count.
pub const CHANNELS_HIDDEN: &str = include_str!("../../testdata/channels_hidden.json");
/// A channel without uploads.
pub const CHANNELS_NO_VIDEOS: &str = include_str!("../../testdata/channels_no_videos.json");
/// `channels.list` for an unknown id.
pub const CHANNELS_EMPTY: &str = include_str!("../../testdata/channels_empty.json");
/// One page of three uploads.
pub const PLAYLIST_ITEMS: &str = include_str!("../../testdata/playlist_items.json");
/// Statistics of those three uploads.
pub const VIDEOS: &str = include_str!("../../testdata/videos.json");
/// 403 quotaExceeded.
pub const ERROR_QUOTA: &str = include_str!("../../testdata/error_quota.json");
/// 400 keyInvalid.
pub const ERROR_KEY_INVALID: &str = include_str!("../../testdata/error_key_invalid.json");

/// The API root a source would configure as `base_url` for this server.
pub fn base(server: &MockServer) -> String {
    format!("{}/youtube/v3", server.uri())
}

/// The real host client for a YouTube source on this server, with [`KEY`] as its API key.
pub fn http(server: &MockServer) -> SourceHttp {
    tally_testkit::fixture_http(&Youtube, &YoutubeFixtures, server)
}

/// The API-key credential the host injects.
pub fn credential() -> Credential {
    tally_testkit::api_key(&Youtube.describe(), KEY)
}

/// A source for [`CHANNEL`] with extra settings merged in.
pub fn source(server: &MockServer, extra: Value) -> Source {
    tally_testkit::fixture_source(&YoutubeFixtures, server, extra)
}

/// Pulls [`CHANNEL`] with extra settings, expecting success.
pub async fn pull_ok(server: &MockServer, extra: Value) -> PointBuffer {
    tally_testkit::pull_ok(&Youtube, &YoutubeFixtures, server, extra).await
}

/// Pulls [`CHANNEL`] with extra settings, expecting an error.
pub async fn pull_err(server: &MockServer, extra: Value) -> ConnectorError {
    tally_testkit::pull_err(&Youtube, &YoutubeFixtures, server, extra).await
}

/// A GET of `/youtube/v3{endpoint}` that carries the API key.
pub fn get(endpoint: &str) -> MockBuilder {
    Mock::given(method("GET"))
        .and(path(format!("/youtube/v3{endpoint}")))
        .and(query_param("key", KEY))
}

/// Serves a JSON body.
pub fn json_body(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_raw(body.as_bytes().to_vec(), "application/json; charset=UTF-8")
}

/// Mounts `channels.list` for [`CHANNEL`] answering `body`.
pub async fn mount_channel(server: &MockServer, body: &str) {
    get("/channels")
        .and(query_param("part", "statistics,snippet,contentDetails"))
        .and(query_param("id", CHANNEL))
        .respond_with(json_body(body))
        .mount(server)
        .await;
}

/// Mounts one page of the uploads playlist: the first page when `token` is
/// `None`, else the page requested with `pageToken=token`. Expects it to be read once.
pub async fn mount_uploads_page(server: &MockServer, token: Option<&str>, body: Value) {
    let mock = get("/playlistItems")
        .and(query_param("part", "contentDetails"))
        .and(query_param("playlistId", UPLOADS));
    let mock = match token {
        Some(token) => mock.and(query_param("pageToken", token)),
        None => mock.and(query_param_is_missing("pageToken")),
    };
    mock.respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(server)
        .await;
}

/// Mounts the sample channel with five uploads over three playlist pages (page 2
/// repeats the last video of page 1, as when an upload lands mid-walk) and one
/// `videos.list` call for all five. Each call is expected exactly once.
pub async fn mount_three_upload_pages(server: &MockServer) {
    mount_channel(server, CHANNELS).await;
    mount_uploads_page(
        server,
        None,
        playlist_page(&["vid00000100", "vid00000200"], Some("CAIQAA")),
    )
    .await;
    mount_uploads_page(
        server,
        Some("CAIQAA"),
        playlist_page(
            &["vid00000200", "vid00000300", "vid00000400"],
            Some("CAUQAA"),
        ),
    )
    .await;
    mount_uploads_page(
        server,
        Some("CAUQAA"),
        playlist_page(&["vid00000500"], None),
    )
    .await;
    get("/videos")
        .and(query_param(
            "id",
            "vid00000100,vid00000200,vid00000300,vid00000400,vid00000500",
        ))
        .respond_with(VideosFromIds)
        .expect(1)
        .mount(server)
        .await;
}

/// A `PlaylistItemListResponse` page in the documented shape.
pub fn playlist_page(video_ids: &[&str], next_page_token: Option<&str>) -> Value {
    let items: Vec<Value> = video_ids
        .iter()
        .map(|id| {
            json!({
                "kind": "youtube#playlistItem",
                "etag": format!("\"etag-{id}\""),
                "id": format!("VVV{id}"),
                "contentDetails": { "videoId": id, "videoPublishedAt": "2026-05-01T10:00:00Z" }
            })
        })
        .collect();
    let mut page = json!({
        "kind": "youtube#playlistItemListResponse",
        "etag": "\"page-etag\"",
        "pageInfo": { "totalResults": 99, "resultsPerPage": 50 },
        "items": items,
    });
    if let (Some(token), Some(page)) = (next_page_token, page.as_object_mut()) {
        page.insert("nextPageToken".into(), json!(token));
    }
    page
}

/// Answers `videos.list` for whatever ids were asked, in the documented shape:
/// video `vidNNNNNNNN` has `NNNNNNNN` views, a tenth as many likes and a hundredth as many comments.
pub struct VideosFromIds;

impl Respond for VideosFromIds {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let ids: Vec<String> = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "id")
            .map(|(_, v)| v.split(',').map(str::to_string).collect())
            .unwrap_or_default();
        let items: Vec<Value> = ids
            .iter()
            .map(|id| {
                let n: u64 = id.trim_start_matches("vid").parse().unwrap_or(0);
                json!({
                    "kind": "youtube#video",
                    "etag": format!("\"etag-{id}\""),
                    "id": id,
                    "snippet": { "title": format!("Video {n}"), "channelId": CHANNEL },
                    "statistics": {
                        "viewCount": n.to_string(),
                        "likeCount": (n / 10).to_string(),
                        "favoriteCount": "0",
                        "commentCount": (n / 100).to_string()
                    }
                })
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "kind": "youtube#videoListResponse",
            "etag": "\"videos-etag\"",
            "pageInfo": { "totalResults": items.len(), "resultsPerPage": items.len() },
            "items": items
        }))
    }
}

/// Requests the server received for `/youtube/v3{endpoint}`.
pub async fn hits(server: &MockServer, endpoint: &str) -> usize {
    tally_testkit::hits(server, &format!("/youtube/v3{endpoint}")).await
}

/// The mock Data API as the conformance kit needs it: the happy set is the
/// sample channel with five uploads over three playlist pages, the empty one a
/// channel without uploads; the host sends [`KEY`] (the kit checks it arrives).
pub struct YoutubeFixtures;

#[async_trait]
impl Fixtures for YoutubeFixtures {
    async fn mount_happy(&self, server: &MockServer) {
        mount_three_upload_pages(server).await;
    }

    async fn mount_empty(&self, server: &MockServer) {
        mount_channel(server, CHANNELS_NO_VIDEOS).await;
    }

    fn happy_records(&self) -> usize {
        5
    }

    fn settings(&self) -> Value {
        json!({ "channel_id": CHANNEL })
    }

    fn base_url(&self, server: &MockServer) -> String {
        base(server)
    }

    fn credential(&self) -> Credential {
        credential()
    }
}
