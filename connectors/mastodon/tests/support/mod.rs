//! Mastodon-specific mock setup for the tests in `pull.rs`: the fixtures, the
//! documented statuses and `Link` headers, mounts for the two endpoints, and the
//! conformance kit's view of them. Generic setup comes from `tally-testkit`.

use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use tally_host::http::{Credential, SourceHttp};
use tally_mastodon::Mastodon;
use tally_model::{ConnectorError, EntityKind, Point, PointBuffer};
use tally_testkit::conformance::Fixtures;
use tally_testkit::Source;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

pub use tally_testkit::{hits, merged, row, rows, Row};

/// The documented sample account.
pub const ACCT: &str = "Gargron";
/// The statuses endpoint of that account (its instance-local id is `1`).
pub const STATUSES_PATH: &str = "/api/v1/accounts/1/statuses";
/// `Account200Example`.
pub const ACCOUNT: &str = include_str!("../../testdata/account.json");
/// Three statuses in the documented shape.
pub const STATUSES: &str = include_str!("../../testdata/statuses.json");

/// The real host client for a Mastodon source on this server, with the fixture token.
pub fn http(server: &MockServer) -> SourceHttp {
    tally_testkit::fixture_http(&Mastodon, &MastodonFixtures, server)
}

/// A source for [`ACCT`] with extra settings merged in.
pub fn source(server: &MockServer, extra: Value) -> Source {
    tally_testkit::fixture_source(&MastodonFixtures, server, extra)
}

/// Pulls [`ACCT`] with extra settings, expecting success.
pub async fn pull_ok(server: &MockServer, extra: Value) -> PointBuffer {
    tally_testkit::pull_ok(&Mastodon, &MastodonFixtures, server, extra).await
}

/// Pulls [`ACCT`] with extra settings, expecting an error.
pub async fn pull_err(server: &MockServer, extra: Value) -> ConnectorError {
    tally_testkit::pull_err(&Mastodon, &MastodonFixtures, server, extra).await
}

/// The account fixture with fields replaced.
pub fn account_with(changes: Value) -> Value {
    merged(serde_json::from_str(ACCOUNT).unwrap_or_default(), changes)
}

/// A 200 with Mastodon's rate-limit headers (plenty left).
pub fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("x-ratelimit-limit", "300")
        .insert_header("x-ratelimit-remaining", "299")
        .insert_header("x-ratelimit-reset", "2030-01-01T00:00:00.000Z")
}

/// Serves a JSON body with [`ok`]'s headers.
pub fn json_body(body: &str) -> ResponseTemplate {
    ok().set_body_raw(body.as_bytes().to_vec(), "application/json; charset=utf-8")
}

/// A GET of `endpoint`.
pub fn get(endpoint: &str) -> MockBuilder {
    Mock::given(method("GET")).and(path(endpoint))
}

/// Mounts `accounts/lookup?acct=Gargron` answering `body`.
pub async fn mount_lookup(server: &MockServer, body: &str) {
    get("/api/v1/accounts/lookup")
        .and(query_param("acct", ACCT))
        .respond_with(json_body(body))
        .mount(server)
        .await;
}

/// One status in the documented shape, based on the first fixture status.
pub fn status(id: &str, favourites: u64, reblogs: u64, replies: u64) -> Value {
    let statuses: Vec<Value> = serde_json::from_str(STATUSES).unwrap_or_default();
    let uri = format!("https://mastodon.social/users/Gargron/statuses/{id}");
    let changes = json!({"id": id, "content": format!("<p>Status {id}</p>"), "uri": uri,
        "favourites_count": favourites, "reblogs_count": reblogs, "replies_count": replies});
    merged(statuses.into_iter().next().unwrap_or_default(), changes)
}

/// A page of statuses with ids `ids` (favourites = id, boosts = 1, replies = 0).
pub fn page(ids: &[u64]) -> Value {
    Value::Array(
        ids.iter()
            .map(|id| status(&id.to_string(), *id, 1, 0))
            .collect(),
    )
}

/// The `Link` header Mastodon sends: `rel="next"` to `max_id`, `rel="prev"` back.
pub fn link(server: &MockServer, max_id: &str, min_id: &str) -> String {
    let base = format!(
        "{}{STATUSES_PATH}?limit=40&exclude_reblogs=true",
        server.uri()
    );
    format!(r#"<{base}&max_id={max_id}>; rel="next", <{base}&min_id={min_id}>; rel="prev""#)
}

/// Mounts one statuses page: the first when `max_id` is `None`, else the one at
/// `max_id`, with an optional `Link` header. Expects it to be read exactly once.
pub async fn mount_page(
    server: &MockServer,
    max_id: Option<&str>,
    body: Value,
    link: Option<String>,
) {
    let mock = get(STATUSES_PATH).and(query_param("exclude_reblogs", "true"));
    let mock = match max_id {
        Some(id) => mock.and(query_param("max_id", id)),
        None => mock.and(query_param_is_missing("max_id")),
    };
    let mut answer = ok().set_body_json(body);
    if let Some(link) = link {
        answer = answer.insert_header("link", link.as_str());
    }
    mock.respond_with(answer).expect(1).mount(server).await;
}

/// The posts of [`mount_three_pages`], newest first, each once.
pub const THREE_PAGE_POSTS: [&str; 6] = ["909", "908", "907", "906", "905", "903"];

/// Mounts the account and three pages of statuses linked by `Link` headers: page
/// 2 repeats 907 (a status edited mid-walk) and holds a boost, which is not the
/// account's post. Each page is expected to be read exactly once.
pub async fn mount_three_pages(server: &MockServer) {
    mount_lookup(server, ACCOUNT).await;
    let first = Some(link(server, "907", "909"));
    mount_page(server, None, page(&[909, 908, 907]), first).await;
    let mut second = page(&[907, 906, 905]);
    let mut boost = status("904", 999, 999, 999);
    boost["reblog"] = status("1234", 5, 5, 5);
    if let Some(list) = second.as_array_mut() {
        list.push(boost);
    }
    let next = Some(link(server, "904", "907"));
    mount_page(server, Some("907"), second, next).await;
    mount_page(server, Some("904"), page(&[903]), None).await;
}

/// Mounts an account without statuses (0 followers, 2 following) and its empty
/// first page, expected to be read once.
pub async fn mount_empty_account(server: &MockServer) {
    let empty =
        account_with(json!({"followers_count": 0, "following_count": 2, "statuses_count": 0}));
    mount_lookup(server, &empty.to_string()).await;
    mount_page(server, None, json!([]), None).await;
}

/// The rows of one status: favourites, boosts and replies, in that order.
pub fn status_rows(id: &str, likes: f64, shares: f64, comments: f64) -> Vec<Row> {
    vec![
        row("engagement.likes", id, likes, "favourites_count"),
        row("engagement.shares", id, shares, "reblogs_count"),
        row("engagement.comments", id, comments, "replies_count"),
    ]
}

/// The ids of the posts that got points, in order, each once.
pub fn post_ids(points: &[Point]) -> Vec<String> {
    tally_testkit::entity_ids(points, EntityKind::Post)
}

/// The mock instance as the conformance kit needs it: the happy set is three
/// `Link`-paginated pages, the empty one an account without statuses, and the
/// host sends a bearer token (the kit checks it arrives).
pub struct MastodonFixtures;

#[async_trait]
impl Fixtures for MastodonFixtures {
    async fn mount_happy(&self, server: &MockServer) {
        mount_three_pages(server).await;
    }

    async fn mount_empty(&self, server: &MockServer) {
        mount_empty_account(server).await;
    }

    fn happy_records(&self) -> usize {
        THREE_PAGE_POSTS.len()
    }

    fn settings(&self) -> Value {
        json!({ "acct": ACCT })
    }

    fn credential(&self) -> Credential {
        tally_testkit::bearer("tok-123")
    }

    /// The saved `newest_id` marks every status up to it as done: each fixture
    /// status was posted in 2022, long before the re-read (lookback) window.
    fn records_done(&self, state: &Value) -> BTreeSet<String> {
        let newest: u64 = state["newest_id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .unwrap_or(0);
        let done = THREE_PAGE_POSTS
            .iter()
            .filter(|id| id.parse::<u64>().is_ok_and(|id| id <= newest));
        done.map(|id| format!("post:{id}")).collect()
    }
}
