//! Every bad input the manifest format promises to refuse or survive, each
//! with its exact message.

use serde_json::json;
use tally_host::http::Credential;
use tally_manifest::{load, ManifestConnector};
use tally_model::{Connector, ConnectorError};
use tally_testkit::{pull, Source};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A small valid manifest; `stream` is appended as its only stream.
fn manifest(stream: &str) -> String {
    format!(
        r#"name = "shop"
summary = "A shop's own JSON endpoint"
base_url = "https://shop.example.com/api"
rate_limit = {{ requests = 60, per_seconds = 60, burst = 5 }}
auth = [{{ kind = "none" }}]

[settings.shop_id]
type = "string"
required = true
description = "The shop."

{stream}"#
    )
}

const ORDERS: &str = r#"[[streams]]
name = "orders"
request = { path = "/shops/{{ settings.shop_id }}/orders" }
records = { path = "orders" }
paginate = { kind = "cursor", token = "next", param = "after" }
entity = { kind = "account", id = "{{ settings.shop_id }}" }
[[streams.points]]
metric = "conversions.count"
value = 1
time = { value = "{{ record.day }}", format = "date", period = "1d" }
"#;

fn refused(stream: &str) -> String {
    load("shop.connector.toml", &manifest(stream))
        .unwrap_err()
        .to_string()
}

async fn pulled(
    server: &MockServer,
    text: &str,
) -> Result<tally_model::PointBuffer, ConnectorError> {
    let connector: ManifestConnector = load("shop.connector.toml", text).unwrap();
    let http = tally_testkit::host_for(&server.uri(), &connector.describe(), Credential::None);
    pull(
        &connector,
        &http,
        &Source::new(server.uri(), json!({"shop_id": "s1"})),
    )
    .await
}

async fn serve(server: &MockServer, at: &str, body: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

#[test]
fn the_valid_manifest_compiles() {
    let c = load("shop.connector.toml", &manifest(ORDERS)).unwrap();
    assert_eq!(c.describe().metrics, vec!["conversions.count"]);
}

#[test]
fn an_unknown_primitive_is_refused_at_its_line() {
    let stream = ORDERS.replace(
        "[[streams.points]]",
        "[streams.transform]\nscript = \"x\"\n[[streams.points]]",
    );
    assert_eq!(
        refused(&stream),
        "shop.connector.toml:18:10: unknown field `transform`, expected one of `name`, `request`, `paginate`, `records`, `fan_out`, `window`, `incremental`, `switch`, `entity`, `points`, `errors`"
    );
}

#[test]
fn a_template_naming_an_undefined_field_is_refused_at_its_column() {
    let stream = ORDERS.replace("settings.shop_id }}/orders", "settings.shop }}/orders");
    assert_eq!(
        refused(&stream),
        "shop.connector.toml:14:31: undefined name `settings.shop`: declare it under `[settings.shop]` (declared: shop_id)"
    );
    let stream = ORDERS.replace("{{ record.day }}", "{{ item.day }}");
    assert_eq!(
        refused(&stream),
        "shop.connector.toml:21:22: undefined name `item`: there is no fan-out item here (add `fan_out` to the stream)"
    );
}

#[test]
fn a_template_with_a_wrong_type_is_refused() {
    let stream = ORDERS.replace(
        "{{ settings.shop_id }}/orders",
        "{{ settings.shop_id | length | upper }}/orders",
    );
    assert_eq!(
        refused(&stream),
        "shop.connector.toml:14:59: wrong type: filter `upper` takes a string, but the value here is an integer"
    );
}

#[test]
fn a_metric_not_in_the_schema_is_refused() {
    let stream = ORDERS.replace("conversions.count", "conversions.orders");
    assert_eq!(
        refused(&stream),
        "shop.connector.toml:19:10: unknown metric `conversions.orders`: not in the canonical schema (tally_model::schema)"
    );
}

#[test]
fn an_absolute_url_on_another_host_is_refused() {
    let stream = ORDERS.replace(
        "/shops/{{ settings.shop_id }}/orders",
        "https://evil.example/steal",
    );
    assert_eq!(
        refused(&stream),
        "shop.connector.toml:14:20: request path `https://evil.example/steal` is an absolute URL; requests stay on the source's base URL: write the path under it (`/users/…`)"
    );
}

#[tokio::test]
async fn a_next_url_on_another_host_is_not_followed() {
    let server = MockServer::start().await;
    serve(&server, "/shops/s1/orders", json!({"orders": [{"day": "2026-06-01"}], "next": "https://evil.example/shops/s1/orders?page=2"})).await;
    let text = manifest(&ORDERS.replace(
        r#"paginate = { kind = "cursor", token = "next", param = "after" }"#,
        r#"paginate = { kind = "next_url", token = "next" }"#,
    ));
    let e = pulled(&server, &text).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "pagination of /shops/s1/orders stopped: the next-page link points outside {} (/shops/s1/orders); not following it, so the source's credential stays with its instance",
            server.uri()
        )
    );
}

#[tokio::test]
async fn a_selector_that_matches_nothing_gives_zero_points_and_a_warning() {
    let server = MockServer::start().await;
    serve(
        &server,
        "/shops/s1/orders",
        json!({"items": [{"day": "2026-06-01"}]}),
    )
    .await;
    let buffer = pulled(&server, &manifest(ORDERS)).await.unwrap();
    assert!(buffer.points.is_empty());
    assert_eq!(
        buffer.warnings,
        vec!["stream `orders`: the records path `orders` matched nothing in the answer of /shops/s1/orders; no points from it"]
    );
}

#[tokio::test]
async fn a_response_of_the_wrong_type_names_the_path() {
    let server = MockServer::start().await;
    serve(&server, "/shops/s1/orders", json!({"orders": "none today"})).await;
    let e = pulled(&server, &manifest(ORDERS)).await.unwrap_err();
    assert!(matches!(e, ConnectorError::Decode { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        r#"/shops/s1/orders returned a body that is not the documented JSON (`orders` is a string, expected an array of records or an object); it starts with: {"orders":"none today"}"#
    );

    serve(
        &server,
        "/shops/s2/orders",
        json!({"orders": [{"day": "2026-06-01", "total": {"amount": 3}}]}),
    )
    .await;
    let text = manifest(&ORDERS.replace("value = 1", "value = \"{{ record.total }}\""));
    let connector = load("shop.connector.toml", &text).unwrap();
    let http = tally_testkit::host_for(&server.uri(), &connector.describe(), Credential::None);
    let e = pull(
        &connector,
        &http,
        &Source::new(server.uri(), json!({"shop_id": "s2"})),
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("(`record.total` is an object, not a number)"),
        "{e}"
    );
}

#[tokio::test]
async fn an_infinite_cursor_is_stopped_by_the_repeat_guard() {
    let server = MockServer::start().await;
    serve(
        &server,
        "/shops/s1/orders",
        json!({"orders": [{"day": "2026-06-01"}], "next": "same"}),
    )
    .await;
    let e = pulled(&server, &manifest(ORDERS)).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "pagination of /shops/s1/orders stopped: the platform returned the same next-page cursor twice after 2 pages; stopping to avoid a loop"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

/// A stream that counts orders per day and channel.
const COUNTED: &str = r#"[[streams]]
name = "orders"
request = { path = "/shops/{{ settings.shop_id }}/orders" }
records = { path = "orders" }
entity = { kind = "account", id = "{{ settings.shop_id }}" }
[[streams.points]]
metric = "conversions.count"
aggregate = "count"
group_by = ["time", "channel"]
time = { value = "{{ record.day }}", format = "date", period = "1d" }
dimensions = { channel = "{{ record.channel }}" }
"#;

#[test]
fn the_counting_manifest_compiles() {
    load("shop.connector.toml", &manifest(COUNTED)).unwrap();
}

#[test]
fn aggregation_mistakes_are_refused_at_their_place() {
    let cases: Vec<(String, &str)> =
        vec![
        (
            COUNTED.replace(r#"["time", "channel"]"#, r#"["time", "campaign"]"#),
            "shop.connector.toml:20:21: `group_by` names `campaign`, which is not a part of this point: group by `entity`, `time` or one of its dimensions (channel)",
        ),
        (
            COUNTED.replace(r#"aggregate = "count""#, r#"aggregate = "average""#),
            "shop.connector.toml:19:13: unknown aggregate `average`: count or sum",
        ),
        (
            COUNTED.replace(
                r#"aggregate = "count""#,
                "aggregate = \"count\"\nvalue = \"{{ record.total }}\"",
            ),
            r#"shop.connector.toml:20:9: `aggregate = "count"` counts records: leave out `value` (`where` picks the records that count)"#,
        ),
        (
            COUNTED.replace(r#"aggregate = "count""#, r#"aggregate = "sum""#),
            r#"shop.connector.toml:19:13: `aggregate = "sum"` adds up a `value`: give one, such as `value = "{{ record.amount }}"`"#,
        ),
        (
            COUNTED.replace(
                r#"aggregate = "count""#,
                "aggregate = \"sum\"\nvalue = \"{{ record.customer | upper }}\"",
            ),
            r#"shop.connector.toml:20:9: wrong type: `aggregate = "sum"` adds numbers, but this `value` is always text, a boolean or a list; sum a number field (`{{ record.amount }}`) or count with `aggregate = "count"`"#,
        ),
        (
            COUNTED.replace(
                r#"aggregate = "count""#,
                "aggregate = \"sum\"\nvalue = \"{{ settings.shop_id }}\"",
            ),
            r#"shop.connector.toml:20:9: wrong type: `aggregate = "sum"` adds numbers, but this `value` is always text, a boolean or a list; sum a number field (`{{ record.amount }}`) or count with `aggregate = "count"`"#,
        ),
        (COUNTED.replace(r#"["time", "channel"]"#, r#"["time"]"#), "shop.connector.toml:22:26: dimension `channel` reads the record, so it differs between the records of one group: add it to `group_by`, or make it the same for every record"),
        (COUNTED.replace(r#"["time", "channel"]"#, r#"["channel"]"#), "shop.connector.toml:21:8: the time reads the record, so it differs between the records of one group: add it to `group_by`, or make it the same for every record"),
        (
            COUNTED.replace("aggregate = \"count\"\n", "value = 1\n"),
            r#"shop.connector.toml:20:12: `group_by` goes with `aggregate = "count"` or `"sum"`"#,
        ),
        (
            COUNTED.replace(
                "records = { path = \"orders\" }",
                "records = { path = \"orders\" }\nincremental = { field = \"{{ record.id }}\" }",
            ),
            r#"shop.connector.toml:20:13: `aggregate` with `incremental.field` would total only the records after the cursor: read whole days with `[streams.window]` (`align = "day"`) and `incremental = { cursor = "window_end" }`"#,
        ),
    ];
    let (streams, expected): (Vec<String>, Vec<&str>) = cases.into_iter().unzip();
    let got: Vec<String> = streams.iter().map(|s| refused(s)).collect();
    assert_eq!(got, expected);
}

#[test]
fn day_totals_need_whole_day_windows_in_one_zone() {
    let windowed = COUNTED.replace(
        "records = { path = \"orders\" }",
        "records = { path = \"orders\" }\nwindow = { step = \"1d\", format = \"naive\" }",
    );
    let cases: Vec<(String, &str)> = vec![
        (windowed.clone(), r#"shop.connector.toml:20:13: a total per day of the record's time needs whole-day windows: set `align = "day"` in `[streams.window]` and in `time`, with the same `zone`"#),
        (
            windowed
                .replace(
                    "format = \"naive\" }",
                    "format = \"naive\", align = \"day\" }",
                )
                .replace(
                    "period = \"1d\" }",
                    "period = \"1d\", align = \"day\", zone = \"America/Chicago\" }",
                ),
            r#"shop.connector.toml:20:13: a total per day of the record's time needs whole-day windows: set `align = "day"` in `[streams.window]` and in `time`, with the same `zone`"#,
        ),
        (
            windowed.replace(
                "step = \"1d\", format = \"naive\" }",
                "step = \"6h\", align = \"day\" }",
            ),
            r#"shop.connector.toml:16:19: `align = "day"` needs a `step` of whole days (`1d`, `7d`), not `6h`"#,
        ),
        (
            windowed.replace("format = \"naive\" }", "align = \"week\" }"),
            r#"shop.connector.toml:16:33: `align = "week"`: the only alignment is `day`"#,
        ),
        (
            windowed.replace("format = \"naive\" }", "zone = \"Chicago\" }"),
            "shop.connector.toml:16:32: zone `Chicago` is not `UTC`, an offset such as `-05:00`, an IANA name such as `America/Chicago` or `{{ settings.NAME }}` of a string setting",
        ),
        (
            windowed.replace("format = \"naive\" }", "zone = \"{{ settings.timezone }}\" }"),
            "shop.connector.toml:16:32: zone `{{ settings.timezone }}` is not `UTC`, an offset such as `-05:00`, an IANA name such as `America/Chicago` or `{{ settings.NAME }}` of a string setting",
        ),
        (
            COUNTED.replace("period = \"1d\" }", "period = \"7d\", align = \"day\" }"),
            r#"shop.connector.toml:21:8: `align = "day"` puts the time at the start of its day: set `period = "1d"`"#,
        ),
        (
            windowed
                .replace("conversions.count", "events.attendees")
                .replace(
                    r#"group_by = ["time", "channel"]"#,
                    r#"group_by = ["channel"]"#,
                )
                .replace(
                    "time = { value = \"{{ record.day }}\", format = \"date\", period = \"1d\" }\n",
                    "",
                ),
            r#"shop.connector.toml:20:13: in a stream with windows, a total at `now` would be written once per window, each overwriting the last: use `time = "window"` or a day of the record's time"#,
        ),
    ];
    let (streams, expected): (Vec<String>, Vec<&str>) = cases.into_iter().unzip();
    let got: Vec<String> = streams.iter().map(|s| refused(s)).collect();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn a_time_zone_setting_that_is_no_zone_is_refused_before_any_request() {
    let server = MockServer::start().await;
    let text = manifest(&COUNTED.replace(
        "period = \"1d\" }",
        "period = \"1d\", align = \"day\", zone = \"{{ settings.timezone }}\" }",
    ))
    .replace(
        "[settings.shop_id]",
        "[settings.timezone]\ntype = \"string\"\ndefault = \"UTC\"\ndescription = \"The shop's zone.\"\n\n[settings.shop_id]",
    );
    let connector: ManifestConnector = load("shop.connector.toml", &text).unwrap();
    let http = tally_testkit::host_for(&server.uri(), &connector.describe(), Credential::None);
    let e = pull(
        &connector,
        &http,
        &Source::new(
            server.uri(),
            json!({"shop_id": "s1", "timezone": "Chicago"}),
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"invalid settings: `timezone` is "Chicago", not a time zone: write an IANA name such as "America/Chicago", "UTC" or an offset such as "-05:00""#
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}
