//! Each primitive against a mock platform, through the real host client.

use serde_json::json;
use tally_host::http::Credential;
use tally_manifest::load;
use tally_model::{Connector, PointBuffer, PointTime};
use tally_testkit::{pull, Source};
use wiremock::matchers::{body_json, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const HEAD: &str = r#"name = "acme"
summary = "A test platform"
base_url = "https://api.acme.example"
rate_limit = { requests = 100, per_seconds = 1, burst = 100 }
auth = [{ kind = "bearer" }]
"#;

async fn run(
    server: &MockServer,
    body: &str,
    settings: serde_json::Value,
    state: Option<serde_json::Value>,
) -> PointBuffer {
    let connector =
        load("acme.connector.toml", &format!("{HEAD}{body}")).unwrap_or_else(|e| panic!("{e}"));
    let http = tally_testkit::host_for(
        &server.uri(),
        &connector.describe(),
        tally_testkit::bearer("t0ken"),
    );
    let mut source = Source::new(server.uri(), settings);
    source.state = state;
    pull(&connector, &http, &source)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

fn ok(body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

#[tokio::test]
async fn the_readme_shop_example_counts_orders_per_day() {
    let readme = include_str!("../../../README.md");
    let start = readme
        .find("<!-- shop-manifest -->")
        .expect("the README shows the shop manifest");
    let block = &readme[start..];
    let text = &block[block.find("```toml\n").unwrap() + 8..];
    let text = &text[..text.find("```").unwrap()];
    assert!(text.lines().count() <= 10, "ten lines at most:\n{text}");
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/stats/daily"))
        .respond_with(ok(json!({"days": [{"date": "2026-06-01", "orders": 7}, {"date": "2026-06-02", "orders": "12"}]})))
        .mount(&server)
        .await;
    let connector = load("shop.connector.toml", text).unwrap();
    let http = tally_testkit::host_for(
        &server.uri(),
        &connector.describe(),
        tally_testkit::bearer("k"),
    );
    let points = pull(&connector, &http, &Source::new(server.uri(), json!({})))
        .await
        .unwrap()
        .points;
    let got: Vec<(f64, String)> = points
        .iter()
        .map(|p| match p.time {
            PointTime::Period { start, .. } => (p.value, start.format("%F").to_string()),
            PointTime::At(_) => panic!("orders per day are sums"),
        })
        .collect();
    assert_eq!(
        got,
        vec![(7.0, "2026-06-01".into()), (12.0, "2026-06-02".into())]
    );
}

#[tokio::test]
async fn offset_pagination_stops_on_a_short_page_and_page_numbers_on_the_total() {
    let server = MockServer::start().await;
    for (offset, n) in [("0", 2), ("2", 1)] {
        let items: Vec<_> = (0..n)
            .map(|i| json!({"id": format!("{offset}-{i}"), "views": 5}))
            .collect();
        Mock::given(method("GET"))
            .and(path("/videos"))
            .and(query_param("offset", offset))
            .and(query_param("limit", "2"))
            .respond_with(ok(json!({"items": items})))
            .expect(1)
            .mount(&server)
            .await;
    }
    for page in ["1", "2"] {
        Mock::given(method("GET"))
            .and(path("/events"))
            .and(query_param("page", page))
            .respond_with(ok(json!({"total": 4, "events": [{"id": format!("e{page}a"), "n": 1}, {"id": format!("e{page}b"), "n": 2}]})))
            .expect(1)
            .mount(&server)
            .await;
    }
    let body = r#"
[[streams]]
name = "videos"
request = { path = "/videos" }
paginate = { kind = "offset", param = "offset", size_param = "limit", size = 2 }
records = { path = "items" }
entity = { kind = "video", id = "{{ record.id }}" }
points = [{ metric = "reach.views", value = "{{ record.views }}" }]

[[streams]]
name = "events"
request = { path = "/events" }
paginate = { kind = "page", param = "page", size = 2, total = "total" }
records = { path = "events" }
entity = { kind = "event", id = "{{ record.id }}" }
points = [{ metric = "events.attendees", value = "{{ record.n }}" }]
"#;
    let buffer = run(&server, body, json!({}), None).await;
    assert_eq!(buffer.points.len(), 3 + 4);
    server.verify().await;
}

#[tokio::test]
async fn fan_out_batches_ids_from_every_page_of_the_parent_and_switch_picks_per_item() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/media"))
        .and(query_param_is_missing("after"))
        .respond_with(ok(json!({"data": [{"id": "m1", "type": "VIDEO"}, {"id": "m2", "type": "IMAGE"}], "paging": {"after": "c2"}})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/media"))
        .and(query_param("after", "c2"))
        .respond_with(ok(json!({"data": [{"id": "m3", "type": "VIDEO"}]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/insights"))
        .and(query_param("ids", "m1,m2"))
        .respond_with(ok(json!({"m1": {"plays": 4}, "m2": {"plays": 0}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/insights"))
        .and(query_param("ids", "m3"))
        .respond_with(ok(json!({"m3": {"plays": 9}})))
        .expect(1)
        .mount(&server)
        .await;
    for (id, metric) in [("m1", "plays"), ("m2", "impressions"), ("m3", "plays")] {
        Mock::given(method("GET"))
            .and(path(format!("/media/{id}/insights")))
            .and(query_param("metric", metric))
            .respond_with(ok(json!({"value": 3})))
            .expect(1)
            .mount(&server)
            .await;
    }
    let body = r#"
[[streams]]
name = "media"
request = { path = "/media" }
paginate = { kind = "cursor", token = "paging.after", param = "after" }
records = { path = "data" }

[[streams]]
name = "batched"
fan_out = { stream = "media", value = "{{ record.id }}", batch = 2 }
request = { path = "/insights", query = { ids = "{{ item }}" } }

[[streams]]
name = "insights"
fan_out = { stream = "media" }
switch = { on = "{{ item.type }}", cases = { VIDEO = { metric = "plays" } }, default = { metric = "impressions" } }
request = { path = "/media/{{ item.id }}/insights", query = { metric = "{{ case.metric }}" } }
entity = { kind = "post", id = "{{ item.id }}" }
points = [{ metric = "reach.views", value = "{{ record.value }}" }]
"#;
    let buffer = run(&server, body, json!({}), None).await;
    assert_eq!(buffer.points.len(), 3);
    server.verify().await;
}

#[tokio::test]
async fn windows_resume_from_the_saved_cursor_less_the_lookback() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/daily"))
        .respond_with(ok(json!({"rows": [{"clicks": "1,204"}]})))
        .mount(&server)
        .await;
    let body = r#"
[[streams]]
name = "clicks"
window = { step = "1d", lookback = "1d", backfill = "3d", format = "date" }
incremental = { cursor = "window_end" }
request = { path = "/daily", query = { start = "{{ window.start }}", end = "{{ window.end }}" } }
records = { path = "rows" }
entity = { kind = "property", id = "site" }
points = [{ metric = "traffic.clicks", value = "{{ record.clicks }}", time = "window" }]
"#;
    let first = run(&server, body, json!({}), None).await;
    assert_eq!(first.points.len(), 3, "a 3-day backfill in 1-day windows");
    assert_eq!(
        first.points[0].value, 1204.0,
        "a string-encoded number is parsed"
    );
    let state = first.state.clone().unwrap();
    let now = tally_testkit::now();
    assert_eq!(state, json!({"cursors": {"clicks": now.to_rfc3339()}}));
    let requests = server.received_requests().await.unwrap().len();
    let second = run(&server, body, json!({}), Some(state)).await;
    assert_eq!(second.points.len(), 1, "one day of lookback re-read");
    let last = server.received_requests().await.unwrap();
    assert_eq!(last.len(), requests + 1);
    let query = last.last().unwrap().url.query().unwrap().to_string();
    assert_eq!(
        query,
        format!(
            "end={}&start={}",
            now.format("%F"),
            (now - chrono::Duration::days(1)).format("%F")
        )
    );
}

#[tokio::test]
async fn columnar_answers_explode_and_metric_maps() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/report"))
        .and(body_json(json!({"limit": 5, "metrics": ["views", "likes"], "dry": false})))
        .respond_with(ok(json!({"columnHeaders": [{"name": "video"}, {"name": "views"}, {"name": "likes"}], "rows": [["v1", 10, 2], ["v2", 3, null]]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/events"))
        .respond_with(ok(json!({"events": [{"id": "e1", "classes": [{"name": "VIP", "sold": 3}, {"name": "GA", "sold": 40}]}]})))
        .mount(&server)
        .await;
    let body = r#"
[settings.limit]
type = "integer"
default = 5
description = "Rows."

[[streams]]
name = "report"
request = { method = "POST", path = "/report", body = { limit = "{{ settings.limit }}", metrics = ["views", "likes"], dry = false } }
records = { columnar = { columns = "columnHeaders", rows = "rows" } }
entity = { kind = "video", id = "{{ record.video }}" }
points = [{ fields = "{{ record }}", map = { views = "reach.views", likes = "engagement.likes" } }]

[[streams]]
name = "tickets"
request = { path = "/events" }
records = { path = "events", explode = "classes" }
entity = { kind = "event", id = "{{ parent.id }}" }
points = [{ metric = "events.attendees", value = "{{ record.sold }}", dimensions = { ticket_class = "{{ record.name }}" } }]
"#;
    let buffer = run(&server, body, json!({}), None).await;
    let rows: Vec<(String, String, f64)> = buffer
        .points
        .iter()
        .map(|p| (p.entity.id.to_string(), p.metric.to_string(), p.value))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("v1".into(), "engagement.likes".into(), 2.0),
            ("v1".into(), "reach.views".into(), 10.0),
            ("v2".into(), "reach.views".into(), 3.0),
            ("e1".into(), "events.attendees".into(), 3.0),
            ("e1".into(), "events.attendees".into(), 40.0),
        ]
    );
    assert_eq!(buffer.points[4].dimensions["ticket_class"], "GA");
}

#[tokio::test]
async fn error_rules_read_200_bodies_skip_partitions_and_throttle() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/locations/a/stats"))
        .respond_with(ok(json!({"error": {"code": "LOCATION_CLOSED"}})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/locations/b/stats"))
        .respond_with(ok(json!({"rating": 4.5, "review_count": 12})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/locations/c/stats"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"error": {"code": "ACCESS_LIMIT_REACHED"}}))
                .insert_header("ratelimit-reset-in", "120"),
        )
        .mount(&server)
        .await;
    let body = r#"
[settings.locations]
type = "list"
required = true
description = "Location ids."

[[streams]]
name = "stats"
fan_out = { setting = "locations" }
request = { path = "/locations/{{ item }}/stats" }
entity = { kind = "location", id = "{{ item }}" }
points = [
  { metric = "reviews.rating", value = "{{ record.rating }}" },
  { metric = "reviews.count", value = "{{ record.review_count }}" },
]

[[streams.errors]]
status = [200]
where = [{ value = "{{ body.error.code }}", equals = "LOCATION_CLOSED" }]
action = "skip_partition"
message = "location {{ item }} is closed"

[[streams.errors]]
status = [403]
where = [{ value = "{{ body.error.code }}", equals = "ACCESS_LIMIT_REACHED" }]
action = "throttled"
wait_seconds = "{{ headers.ratelimit-reset-in }}"
"#;
    let buffer = run(&server, body, json!({"locations": ["a", "b"]}), None).await;
    assert_eq!(buffer.points.len(), 2);
    assert_eq!(
        buffer.warnings,
        vec!["stream `stats`: skipped a partition: /locations/a/stats: location a is closed"]
    );

    let connector = load("acme.connector.toml", &format!("{HEAD}{body}")).unwrap();
    let http = tally_testkit::host_for(&server.uri(), &connector.describe(), Credential::None);
    let e = pull(
        &connector,
        &http,
        &Source::new(server.uri(), json!({"locations": ["c"]})),
    )
    .await
    .unwrap_err();
    assert_eq!(e.to_string(), "/locations/c/stats is throttled for 120s more; the source will be pulled again on its next run");
}

#[tokio::test]
async fn a_sum_folds_every_page_of_every_fan_out_batch_into_one_point_per_group() {
    let server = MockServer::start().await;
    let order = |day: &str, channel: &str, total: serde_json::Value| json!({"day": day, "channel": channel, "total": total});
    Mock::given(method("GET"))
        .and(path("/orders"))
        .and(query_param("shops", "s1,s2"))
        .and(query_param_is_missing("after"))
        .respond_with(ok(
            json!({"orders": [order("2026-06-01", "web", json!("12.50")),
                                            order("2026-06-01", "shop", json!(3))], "next": "p2"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/orders"))
        .and(query_param("shops", "s1,s2"))
        .and(query_param("after", "p2"))
        .respond_with(ok(
            json!({"orders": [order("2026-06-01", "web", json!(7.5)),
                                            order("2026-05-31", "web", json!(1))]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/orders"))
        .and(query_param("shops", "s3"))
        .respond_with(ok(
            json!({"orders": [order("2026-06-01", "web", json!(10))]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let body = r#"
[settings.shops]
type = "list"
required = true
description = "The shops."

[[streams]]
name = "orders"
fan_out = { setting = "shops", batch = 2 }
request = { path = "/orders", query = { shops = "{{ item | join(\",\") }}" } }
paginate = { kind = "cursor", token = "next", param = "after" }
records = { path = "orders" }
entity = { kind = "account", id = "acme" }
[[streams.points]]
metric = "conversions.revenue"
aggregate = "sum"
group_by = ["time", "channel"]
value = "{{ record.total }}"
unit = "USD"
time = { value = "{{ record.day }}", format = "date", period = "1d" }
dimensions = { channel = "{{ record.channel }}" }
"#;
    let points = run(&server, body, json!({"shops": ["s1", "s2", "s3"]}), None)
        .await
        .points;
    let got: Vec<(String, String, f64)> = points
        .iter()
        .map(|p| match p.time {
            PointTime::Period { start, .. } => (
                start.format("%F").to_string(),
                p.dimensions["channel"].clone(),
                p.value,
            ),
            PointTime::At(_) => panic!("revenue per day is a sum"),
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("2026-06-01".into(), "web".into(), 30.0),
            ("2026-06-01".into(), "shop".into(), 3.0),
            ("2026-05-31".into(), "web".into(), 1.0),
        ]
    );
    server.verify().await;
}

#[tokio::test]
async fn a_skipped_partition_leaves_no_partial_count() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/events/a/guests"))
        .and(query_param_is_missing("after"))
        .respond_with(ok(
            json!({"guests": [{"in": true}, {"in": true}], "next": "p2"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/events/a/guests"))
        .and(query_param("after", "p2"))
        .respond_with(ok(json!({"error": "EVENT_DELETED"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/events/b/guests"))
        .respond_with(ok(json!({"guests": [{"in": true}, {"in": false}]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/events/c/guests"))
        .respond_with(ok(json!({"guests": []})))
        .mount(&server)
        .await;
    let body = r#"
[settings.events]
type = "list"
required = true
description = "Event ids."

[[streams]]
name = "guests"
fan_out = { setting = "events" }
request = { path = "/events/{{ item }}/guests" }
paginate = { kind = "cursor", token = "next", param = "after" }
records = { path = "guests" }
entity = { kind = "event", id = "{{ item }}" }
[[streams.points]]
metric = "events.attendees"
aggregate = "count"
dimensions = { status = "checked_in" }
where = [{ value = "{{ record.in }}", equals = true }]

[[streams.errors]]
status = [200]
where = [{ value = "{{ body.error }}", equals = "EVENT_DELETED" }]
action = "skip_partition"
message = "event {{ item }} was deleted"
"#;
    let buffer = run(&server, body, json!({"events": ["a", "b", "c"]}), None).await;
    let got: Vec<(String, f64)> = buffer
        .points
        .iter()
        .map(|p| (p.entity.id.to_string(), p.value))
        .collect();
    assert_eq!(
        got,
        vec![("b".to_string(), 1.0), ("c".to_string(), 0.0)],
        "a: skipped, not 2 from its first page; c: read, and nobody came"
    );
    assert_eq!(
        buffer.warnings,
        vec!["stream `guests`: skipped a partition: /events/a/guests: event a was deleted"]
    );
}
