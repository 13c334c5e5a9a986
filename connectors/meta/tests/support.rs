//! Fixtures and mock servers shared by the Meta tests.

use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use tally_model::{EntityKind, Point};
use tally_testkit::conformance::Fixtures;
use tally_testkit::Credential;
use wiremock::matchers::{header, method, path, path_regex, query_param, query_param_is_missing};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

/// The token the host injects; the mocks only answer requests carrying it.
pub const TOKEN: &str = "EAAB-test-token";
/// The documented sample Page.
pub const PAGE: &str = "20531316728";
/// The documented sample Instagram account.
pub const IG: &str = "17841407673135339";
/// The documented sample ad account (digits).
pub const ACCOUNT: &str = "349654546336931";

pub const PAGE_JSON: &str = include_str!("../testdata/page.json");
pub const PAGE_INSIGHTS: &str = include_str!("../testdata/page_insights.json");
pub const ERROR_190: &str = include_str!("../testdata/error_190.json");
pub const ERROR_REMOVED_METRIC: &str = include_str!("../testdata/error_removed_metric.json");
pub const IG_USER: &str = include_str!("../testdata/ig_user.json");
pub const IG_BREAKDOWN: &str = include_str!("../testdata/ig_breakdown.json");
pub const ADS_ACCOUNT: &str = include_str!("../testdata/ads_account.json");
pub const ADS_INSIGHTS: &str = include_str!("../testdata/ads_insights.json");

/// A GET of `/v27.0{endpoint}` carrying the token.
pub fn get(endpoint: &str) -> MockBuilder {
    Mock::given(method("GET"))
        .and(path(format!("/v27.0{endpoint}")))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
}

/// Serves a JSON text.
pub fn body(text: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_raw(text.as_bytes().to_vec(), "application/json; charset=UTF-8")
}

/// A Graph error answer.
pub fn graph_error(status: u16, text: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(text.as_bytes().to_vec(), "application/json")
}

/// One page of a Graph listing: `next` and an `after` cursor when `after` is given.
pub fn listing(items: Vec<Value>, after: Option<&str>) -> ResponseTemplate {
    let mut paging = json!({"cursors": {"before": "B0"}});
    if let Some(after) = after {
        paging["cursors"]["after"] = json!(after);
        paging["next"] = json!(format!("https://graph.facebook.com/v27.0/x?after={after}"));
    }
    ResponseTemplate::new(200).set_body_json(json!({"data": items, "paging": paging}))
}

/// Mounts one page of a listing at `endpoint`: the first without `after`,
/// later ones by their cursor; each expected once.
pub async fn mount_page(
    server: &MockServer,
    endpoint: &str,
    cursor: Option<&str>,
    answer: ResponseTemplate,
) {
    let mock = get(endpoint);
    let mock = match cursor {
        Some(c) => mock.and(query_param("after", c)),
        None => mock.and(query_param_is_missing("after")),
    };
    mock.respond_with(answer).expect(1).mount(server).await;
}

/// A post of the posts listing with summaries and insights expanded.
pub fn post(id: &str, reactions: u64) -> Value {
    json!({
        "id": format!("{PAGE}_{id}"),
        "message": format!("Post {id}"),
        "created_time": "2026-05-30T10:00:00+0000",
        "shares": {"count": 2},
        "reactions": {"data": [], "summary": {"total_count": reactions}},
        "comments": {"data": [], "summary": {"total_count": 4}},
        "insights": {"data": [
            {"name": "post_total_media_view_unique", "period": "lifetime", "values": [{"value": 300}]},
            {"name": "post_clicks", "period": "lifetime", "values": [{"value": 12}]},
            {"name": "post_reactions_by_type_total", "period": "lifetime", "values": [{"value": {"like": reactions - 1, "love": 1}}]}
        ]}
    })
}

/// The Facebook Pages fixtures: the sample Page, two days of insights,
/// three posts over two pages.
pub struct PagesFixtures;

#[async_trait]
impl Fixtures for PagesFixtures {
    async fn mount_happy(&self, server: &MockServer) {
        get(&format!("/{PAGE}"))
            .respond_with(body(PAGE_JSON))
            .mount(server)
            .await;
        get(&format!("/{PAGE}/insights"))
            .respond_with(body(PAGE_INSIGHTS))
            .expect(1)
            .mount(server)
            .await;
        let posts = format!("/{PAGE}/posts");
        mount_page(
            server,
            &posts,
            None,
            listing(vec![post("1", 10), post("2", 5)], Some("P2")),
        )
        .await;
        mount_page(
            server,
            &posts,
            Some("P2"),
            listing(vec![post("3", 7)], None),
        )
        .await;
    }

    async fn mount_empty(&self, server: &MockServer) {
        get(&format!("/{PAGE}"))
            .respond_with(body(
                r#"{"id":"20531316728","name":"Quiet","followers_count":0}"#,
            ))
            .mount(server)
            .await;
        get(&format!("/{PAGE}/insights"))
            .respond_with(body(r#"{"data":[]}"#))
            .mount(server)
            .await;
        get(&format!("/{PAGE}/posts"))
            .respond_with(listing(vec![], None))
            .mount(server)
            .await;
    }

    fn happy_records(&self) -> usize {
        3
    }

    fn settings(&self) -> Value {
        json!({"page_id": PAGE})
    }

    fn credential(&self) -> Credential {
        tally_testkit::bearer(TOKEN)
    }
}

/// A media item of the media listing.
pub fn media(id: &str) -> Value {
    json!({"id": id, "caption": format!("Media {id}"), "timestamp": "2026-05-30T10:00:00+0000",
           "media_type": "IMAGE", "media_product_type": "FEED", "like_count": 20, "comments_count": 3})
}

/// Lifetime insights of a media item.
pub fn media_insights() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"data": [
        {"name": "views", "period": "lifetime", "values": [{"value": 500}]},
        {"name": "reach", "period": "lifetime", "values": [{"value": 320}]},
        {"name": "saved", "period": "lifetime", "values": [{"value": 9}]}
    ]}))
}

/// Mounts the account's insights: daily totals, the breakdown, the
/// follower count series and the demographics.
pub async fn mount_ig_insights(server: &MockServer) {
    let insights = format!("/{IG}/insights");
    get(&insights)
        .and(query_param("metric_type", "total_value"))
        .and(query_param_is_missing("breakdown"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"name": "reach", "period": "day", "total_value": {"value": 1200}},
            {"name": "views", "period": "day", "total_value": {"value": 3400}},
            {"name": "accounts_engaged", "period": "day", "total_value": {"value": 77}}
        ]})))
        .mount(server)
        .await;
    get(&insights)
        .and(query_param("breakdown", "media_product_type,follow_type"))
        .respond_with(body(IG_BREAKDOWN))
        .mount(server)
        .await;
    get(&insights)
        .and(query_param("metric", "follower_count"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"name": "follower_count", "period": "day", "values": [{"value": 6, "end_time": "2026-05-31T07:00:00+0000"}]}
        ]})))
        .mount(server)
        .await;
    for breakdown in ["country", "age", "gender"] {
        get(&insights)
            .and(query_param("metric", "follower_demographics"))
            .and(query_param("breakdown", breakdown))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
                {"name": "follower_demographics", "period": "lifetime", "total_value": {"breakdowns": [
                    {"dimension_keys": [breakdown], "results": [{"dimension_values": ["x"], "value": 40000}]}
                ]}}
            ]})))
            .mount(server)
            .await;
    }
}

/// The Instagram fixtures: the sample account, one day of insights, three
/// media over two pages.
pub struct InstagramFixtures;

#[async_trait]
impl Fixtures for InstagramFixtures {
    async fn mount_happy(&self, server: &MockServer) {
        get(&format!("/{IG}"))
            .respond_with(body(IG_USER))
            .mount(server)
            .await;
        mount_ig_insights(server).await;
        let listing_path = format!("/{IG}/media");
        mount_page(
            server,
            &listing_path,
            None,
            listing(vec![media("179001"), media("179002")], Some("M2")),
        )
        .await;
        mount_page(
            server,
            &listing_path,
            Some("M2"),
            listing(vec![media("179003")], None),
        )
        .await;
        Mock::given(method("GET"))
            .and(path_regex(r"^/v27\.0/1790\d+/insights$"))
            .respond_with(media_insights())
            .expect(3)
            .mount(server)
            .await;
    }

    async fn mount_empty(&self, server: &MockServer) {
        get(&format!("/{IG}")).respond_with(body(r#"{"id":"17841407673135339","username":"quiet","followers_count":3,"media_count":0}"#)).mount(server).await;
        get(&format!("/{IG}/insights"))
            .respond_with(body(r#"{"data":[]}"#))
            .mount(server)
            .await;
        get(&format!("/{IG}/media"))
            .respond_with(listing(vec![], None))
            .mount(server)
            .await;
    }

    fn happy_records(&self) -> usize {
        3
    }

    fn settings(&self) -> Value {
        json!({"ig_user_id": IG, "history_days": 1})
    }

    fn credential(&self) -> Credential {
        tally_testkit::bearer(TOKEN)
    }
}

/// An insights row of day `day` (`2026-10-0N`) in the documented shape.
pub fn ads_row(day: &str, spend: &str) -> Value {
    let mut row: Value = serde_json::from_str::<Value>(ADS_INSIGHTS).unwrap()["data"][0].clone();
    row["date_start"] = json!(day);
    row["date_stop"] = json!(day);
    row["spend"] = json!(spend);
    row
}

/// The Meta Ads fixtures: the sample account and three days of account
/// rows over two pages (campaigns and breakdowns off).
pub struct AdsFixtures;

#[async_trait]
impl Fixtures for AdsFixtures {
    async fn mount_happy(&self, server: &MockServer) {
        get(&format!("/act_{ACCOUNT}"))
            .respond_with(body(ADS_ACCOUNT))
            .mount(server)
            .await;
        let insights = format!("/act_{ACCOUNT}/insights");
        mount_page(
            server,
            &insights,
            None,
            listing(
                vec![
                    ads_row("2026-05-29", "10.50"),
                    ads_row("2026-05-30", "12.00"),
                ],
                Some("R2"),
            ),
        )
        .await;
        mount_page(
            server,
            &insights,
            Some("R2"),
            listing(vec![ads_row("2026-05-31", "9.75")], None),
        )
        .await;
    }

    async fn mount_empty(&self, server: &MockServer) {
        get(&format!("/act_{ACCOUNT}"))
            .respond_with(body(ADS_ACCOUNT))
            .mount(server)
            .await;
        get(&format!("/act_{ACCOUNT}/insights"))
            .respond_with(listing(vec![], None))
            .mount(server)
            .await;
    }

    fn happy_records(&self) -> usize {
        3
    }

    fn settings(&self) -> Value {
        json!({"ad_account_id": format!("act_{ACCOUNT}"), "campaigns": false, "breakdowns": []})
    }

    fn credential(&self) -> Credential {
        tally_testkit::bearer(TOKEN)
    }

    /// A record is a day of the account's spend.
    fn records(&self, points: &[Point]) -> BTreeSet<String> {
        points
            .iter()
            .filter(|p| p.metric == "cost.spend" && p.entity.kind == EntityKind::Account)
            .map(|p| format!("{:?}", p.time))
            .collect()
    }
}
