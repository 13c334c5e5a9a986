//! Mastodon-specific mock setup shared by the tests in `pull.rs`: the fixtures,
//! builders for statuses and `Link` headers in the documented shapes, and mounts
//! for the two endpoints. Generic setup (host client, context, conformance
//! checks) comes from `tally-testkit`.

use serde_json::{json, Value};
use tally_host::http::{Credential, SourceHttp};
use tally_mastodon::Mastodon;
use tally_model::{Connector, Point};
use tally_testkit::Source;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

/// The documented sample account.
pub const ACCT: &str = "Gargron";
/// The statuses endpoint of that account (its instance-local id is `1`).
pub const STATUSES_PATH: &str = "/api/v1/accounts/1/statuses";

/// `Account200Example`.
pub const ACCOUNT: &str = include_str!("../../testdata/account.json");
/// Three statuses in the documented shape.
pub const STATUSES: &str = include_str!("../../testdata/statuses.json");

/// The real host client for a Mastodon source on this server, without a credential.
pub fn http(server: &MockServer) -> SourceHttp {
    http_with(server, Credential::None)
}

/// The real host client for a Mastodon source on this server with `credential`.
pub fn http_with(server: &MockServer, credential: Credential) -> SourceHttp {
    tally_testkit::host_for(&server.uri(), &Mastodon.describe(), credential)
}

/// A source for [`ACCT`] with extra settings merged in.
pub fn source(server: &MockServer, extra: Value) -> Source {
    let mut settings = json!({ "acct": ACCT });
    if let (Some(settings), Some(extra)) = (settings.as_object_mut(), extra.as_object()) {
        settings.extend(extra.clone());
    }
    Source::new(server.uri(), settings)
}

/// The account fixture with fields replaced.
pub fn account_with(changes: Value) -> Value {
    let mut account: Value = serde_json::from_str(ACCOUNT).unwrap_or_default();
    if let (Some(account), Some(changes)) = (account.as_object_mut(), changes.as_object()) {
        account.extend(changes.clone());
    }
    account
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
    let mut status = statuses.into_iter().next().unwrap_or_default();
    if let Some(fields) = status.as_object_mut() {
        fields.insert("id".into(), json!(id));
        fields.insert("content".into(), json!(format!("<p>Status {id}</p>")));
        fields.insert("favourites_count".into(), json!(favourites));
        fields.insert("reblogs_count".into(), json!(reblogs));
        fields.insert("replies_count".into(), json!(replies));
        fields.insert(
            "uri".into(),
            json!(format!(
                "https://mastodon.social/users/Gargron/statuses/{id}"
            )),
        );
    }
    status
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
    let base = format!("{}{STATUSES_PATH}", server.uri());
    format!(
        r#"<{base}?limit=40&exclude_reblogs=true&max_id={max_id}>; rel="next", <{base}?limit=40&exclude_reblogs=true&min_id={min_id}>; rel="prev""#
    )
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
    mount_page(
        server,
        None,
        page(&[909, 908, 907]),
        Some(link(server, "907", "909")),
    )
    .await;
    let mut second = page(&[907, 906, 905]);
    if let Some(list) = second.as_array_mut() {
        let mut boost = status("904", 999, 999, 999);
        boost["reblog"] = status("1234", 5, 5, 5);
        list.push(boost);
    }
    mount_page(
        server,
        Some("907"),
        second,
        Some(link(server, "904", "907")),
    )
    .await;
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

pub use tally_testkit::{row, rows};

/// The ids of the posts that got points, in order, each once.
pub fn post_ids(points: &[Point]) -> Vec<String> {
    let mut ids: Vec<String> = points
        .iter()
        .filter(|p| p.entity.kind == tally_model::EntityKind::Post)
        .map(|p| p.entity.id.to_string())
        .collect();
    ids.dedup();
    ids
}

/// Requests the server received for `endpoint`.
pub async fn hits(server: &MockServer, endpoint: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == endpoint)
        .count()
}
