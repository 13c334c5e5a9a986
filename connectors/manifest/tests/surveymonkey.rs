//! The SurveyMonkey manifest: the conformance kit on SurveyMonkey's
//! documented shapes (`links.next` paging), responses counted per day and
//! answer, the incremental pull by whole UTC days, and its named errors.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use tally_model::{ConnectorError, Point, PointTime};
use tally_testkit::conformance::{run_conformance, Fixtures};
use tally_testkit::{bearer, fixture_http, fixture_source, pull, pull_err, pull_ok, Credential};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::platforms::connector;

const SURVEY: &str = "405238012";
const QUESTION: &str = "92387123";
const BULK: &str = "/v3/surveys/405238012/responses/bulk";

fn response(id: &str, created: &str, answer: Value) -> Value {
    json!({"id": id, "survey_id": SURVEY, "response_status": "completed",
           "date_created": created, "date_modified": created,
           "pages": [{"id": "1", "questions": [{"id": QUESTION, "answers": [answer]}]}]})
}

fn choice(id: &str, text: &str) -> Value {
    json!({"choice_id": id, "simple_text": text})
}

fn other(text: &str) -> Value {
    json!({"other_id": "19", "text": text, "simple_text": text})
}

fn bulk_page(data: Value, page: u64, next: Option<String>) -> Value {
    let mut links = json!({"self": "x"});
    if let Some(n) = next {
        links["next"] = json!(n);
    }
    json!({"data": data, "per_page": 100, "page": page, "total": 5, "links": links})
}

async fn mount_survey(server: &MockServer, responses: u64) {
    Mock::given(method("GET"))
        .and(path(format!("/v3/surveys/{SURVEY}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": SURVEY, "title": "Customer feedback", "response_count": responses})))
        .mount(server)
        .await;
}

/// The happy survey at the kit's time (2026-06-01 12:00 UTC): a first pull
/// reads the 90 days before in whole UTC days, 30 at a time. Two pages in
/// the window of May, one response today, nothing in the other windows.
async fn mount_happy(server: &MockServer) {
    mount_survey(server, 5).await;
    let next = format!("{}{BULK}?page=2&per_page=100", server.uri());
    Mock::given(method("GET"))
        .and(path(BULK))
        .and(query_param("question_ids", QUESTION))
        .and(query_param("simple", "true"))
        .and(query_param("start_created_at", "2026-05-02T00:00:00"))
        .and(query_param("end_created_at", "2026-06-01T00:00:00"))
        .and(query_param_is_missing("page"))
        .respond_with(ResponseTemplate::new(200).set_body_json(bulk_page(
            json!([
                response("r1", "2026-05-14T09:30:00+00:00", choice("11", "Instagram")),
                response(
                    "r2",
                    "2026-05-14T11:00:00+00:00",
                    choice("12", "A friend or family member")
                )
            ]),
            1,
            Some(next),
        )))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(BULK))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(bulk_page(
            json!([
                response("r3", "2026-05-14T23:59:59+00:00", choice("11", "Instagram")),
                response("r4", "2026-05-20T08:00:00+00:00", other("Radio"))
            ]),
            2,
            None,
        )))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(BULK))
        .and(query_param("start_created_at", "2026-06-01T00:00:00"))
        .and(query_param("end_created_at", "2026-06-01T12:00:00"))
        .respond_with(ResponseTemplate::new(200).set_body_json(bulk_page(
            json!([response(
                "r5",
                "2026-06-01T09:00:00+00:00",
                choice("11", "Instagram")
            )]),
            1,
            None,
        )))
        .expect(1)
        .mount(server)
        .await;
    // A pull resumed from the saved cursor reads from May 31 (one day of
    // lookback before today's midnight): today's response again.
    Mock::given(method("GET"))
        .and(path(BULK))
        .and(query_param("start_created_at", "2026-05-31T00:00:00"))
        .respond_with(ResponseTemplate::new(200).set_body_json(bulk_page(
            json!([response(
                "r5",
                "2026-06-01T09:00:00+00:00",
                choice("11", "Instagram")
            )]),
            1,
            None,
        )))
        .mount(server)
        .await;
    mount_no_responses(server).await;
}

/// Every other window holds no response.
async fn mount_no_responses(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(BULK))
        .respond_with(ResponseTemplate::new(200).set_body_json(bulk_page(json!([]), 1, None)))
        .with_priority(10)
        .mount(server)
        .await;
}

/// The series of the happy survey: (day, answer, count).
const HAPPY: [(&str, &str, f64); 4] = [
    ("2026-05-14", "Instagram", 2.0),
    ("2026-05-14", "A friend or family member", 1.0),
    ("2026-05-20", "Other", 1.0),
    ("2026-06-01", "Instagram", 1.0),
];

/// A series as the kit counts records: `day:answer`.
fn series(points: &[Point]) -> BTreeMap<String, f64> {
    points
        .iter()
        .filter_map(|p| {
            let source = p.dimensions.get("source")?;
            let PointTime::Period { start, end } = p.time else {
                panic!("a count per day is a sum over the day: {p:?}");
            };
            assert_eq!(end - start, Duration::days(1));
            assert_eq!(p.entity.id, SURVEY);
            Some((format!("{}:{source}", start.format("%F")), p.value))
        })
        .collect()
}

struct SurveyFixtures;

#[async_trait]
impl Fixtures for SurveyFixtures {
    async fn mount_happy(&self, server: &MockServer) {
        mount_happy(server).await;
    }

    async fn mount_empty(&self, server: &MockServer) {
        mount_survey(server, 0).await;
    }

    fn happy_records(&self) -> usize {
        HAPPY.len()
    }

    fn settings(&self) -> Value {
        json!({"survey_id": SURVEY, "question_id": QUESTION})
    }

    fn base_url(&self, server: &MockServer) -> String {
        format!("{}/v3", server.uri())
    }

    fn credential(&self) -> Credential {
        bearer("surveymonkey-token")
    }

    /// The records are the (day, answer) series.
    fn records(&self, points: &[Point]) -> BTreeSet<String> {
        series(points).into_keys().collect()
    }

    /// The days before the saved cursor less the day of lookback are done.
    fn records_done(&self, state: &Value) -> BTreeSet<String> {
        let Some(cursor) = state["cursors"]["responses"].as_str() else {
            return BTreeSet::new();
        };
        let cutoff = DateTime::parse_from_rfc3339(cursor).unwrap() - Duration::days(1);
        let cutoff = cutoff.format("%F").to_string();
        HAPPY
            .iter()
            .filter(|(day, _, _)| *day < cutoff.as_str())
            .map(|(day, source, _)| format!("{day}:{source}"))
            .collect()
    }
}

#[tokio::test]
async fn the_surveymonkey_manifest_passes_the_conformance_kit() {
    run_conformance(connector("surveymonkey"), &SurveyFixtures).await;
}

#[tokio::test]
async fn responses_are_counted_per_day_and_answer_across_pages() {
    let server = MockServer::start().await;
    mount_happy(&server).await;
    let pulled = pull_ok(
        connector("surveymonkey").as_ref(),
        &SurveyFixtures,
        &server,
        json!({}),
    )
    .await;
    let expected: BTreeMap<String, f64> = HAPPY
        .iter()
        .map(|(day, source, n)| (format!("{day}:{source}"), *n))
        .collect();
    assert_eq!(series(&pulled.points), expected);
    assert_eq!(
        pulled.state,
        Some(json!({"cursors": {"responses": "2026-06-01T00:00:00+00:00"}})),
        "the next pull starts again at the start of today"
    );
}

/// SurveyMonkey's bulk listing over a list of responses that grows between
/// pulls: `start_created_at` ≤ `date_created` < `end_created_at`, both
/// `YYYY-MM-DDTHH:MM:SS` in UTC, two a page.
#[derive(Clone)]
struct Platform {
    responses: Arc<Mutex<Vec<Value>>>,
    origin: String,
}

impl Respond for Platform {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let query: BTreeMap<String, String> = request.url.query_pairs().into_owned().collect();
        let bound = |key: &str| {
            chrono::NaiveDateTime::parse_from_str(&query[key], "%Y-%m-%dT%H:%M:%S")
                .unwrap()
                .and_utc()
        };
        let (from, to) = (bound("start_created_at"), bound("end_created_at"));
        let listed: Vec<Value> = self
            .responses
            .lock()
            .unwrap()
            .iter()
            .filter(|r| {
                let t = DateTime::parse_from_rfc3339(r["date_created"].as_str().unwrap()).unwrap();
                from <= t && t < to
            })
            .cloned()
            .collect();
        let page: usize = query.get("page").map_or(1, |p| p.parse().unwrap());
        let chunk: Vec<Value> = listed
            .iter()
            .skip((page - 1) * 2)
            .take(2)
            .cloned()
            .collect();
        let next = (page * 2 < listed.len()).then(|| {
            let mut url = request.url.clone();
            url.query_pairs_mut()
                .clear()
                .extend_pairs(query.iter().filter(|(k, _)| k.as_str() != "page"))
                .append_pair("page", &(page + 1).to_string());
            format!(
                "{}{}?{}",
                self.origin,
                url.path(),
                url.query().unwrap_or_default()
            )
        });
        ResponseTemplate::new(200).set_body_json(bulk_page(json!(chunk), page as u64, next))
    }
}

async fn platform(responses: Vec<Value>) -> (MockServer, Platform) {
    let server = MockServer::start().await;
    mount_survey(&server, 1).await;
    let platform = Platform {
        responses: Arc::new(Mutex::new(responses)),
        origin: server.uri(),
    };
    Mock::given(method("GET"))
        .and(path(BULK))
        .respond_with(platform.clone())
        .mount(&server)
        .await;
    (server, platform)
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

async fn pull_at(server: &MockServer, now: &str, state: Option<Value>) -> tally_model::PointBuffer {
    let c = connector("surveymonkey");
    let http = fixture_http(c.as_ref(), &SurveyFixtures, server);
    let mut source = fixture_source(&SurveyFixtures, server, json!({}));
    source.now = at(now);
    source.state = state;
    pull(c.as_ref(), &http, &source).await.unwrap()
}

/// The bulk requests received since `since`, as `(start, end)` of each.
async fn windows_asked(server: &MockServer, since: usize) -> Vec<(String, String)> {
    let requests = server.received_requests().await.unwrap();
    requests[since..]
        .iter()
        .filter(|r| r.url.path() == BULK)
        .map(|r| {
            let q: BTreeMap<String, String> = r.url.query_pairs().into_owned().collect();
            (q["start_created_at"].clone(), q["end_created_at"].clone())
        })
        .collect()
}

/// What the store holds after both pulls: each point upserted by its
/// natural key, so a later value of a series replaces the earlier one.
fn stored(pulls: &[&[Point]]) -> BTreeMap<String, f64> {
    let mut store = BTreeMap::new();
    for points in pulls {
        store.extend(series(points));
    }
    store
}

#[tokio::test]
async fn a_second_pull_reads_only_from_the_start_of_yesterday_and_keeps_today_whole() {
    let (server, platform) = platform(vec![
        response(
            "a1",
            "2026-04-10T10:00:00+00:00",
            choice("12", "A friend or family member"),
        ),
        response("a2", "2026-05-31T23:30:00+00:00", choice("11", "Instagram")),
        response("a3", "2026-06-01T00:00:00+00:00", choice("11", "Instagram")),
        response("a4", "2026-06-01T08:15:00+00:00", other("Radio")),
        response("a5", "2026-06-01T09:45:00+00:00", choice("11", "Instagram")),
    ])
    .await;
    let first = pull_at(&server, "2026-06-01T12:00:00Z", None).await;
    assert_eq!(
        windows_asked(&server, 0).await,
        [
            ("2026-03-03T00:00:00", "2026-04-02T00:00:00"),
            ("2026-04-02T00:00:00", "2026-05-02T00:00:00"),
            ("2026-05-02T00:00:00", "2026-06-01T00:00:00"),
            ("2026-06-01T00:00:00", "2026-06-01T12:00:00"),
            ("2026-06-01T00:00:00", "2026-06-01T12:00:00"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string())),
        "90 days in whole UTC days, 30 at a time; today's three responses fill two pages"
    );
    let state = first.state.clone().unwrap();
    assert_eq!(
        state,
        json!({"cursors": {"responses": "2026-06-01T00:00:00+00:00"}})
    );

    // Two more responses today, and one started yesterday and completed
    // since (listed by when it was started).
    platform.responses.lock().unwrap().extend([
        response("a6", "2026-06-01T13:20:00+00:00", choice("11", "Instagram")),
        response("a7", "2026-06-01T17:05:00+00:00", other("Farmers market")),
        response("a8", "2026-05-31T22:00:00+00:00", choice("11", "Instagram")),
    ]);
    let before = server.received_requests().await.unwrap().len();
    let second = pull_at(&server, "2026-06-01T18:00:00Z", Some(state)).await;
    let received = server.received_requests().await.unwrap().len() - before;
    assert_eq!(
        windows_asked(&server, before).await,
        [("2026-05-31T00:00:00", "2026-06-01T18:00:00"); 4]
            .map(|(a, b)| (a.to_string(), b.to_string())),
        "one window, from yesterday's midnight: its seven responses on four pages"
    );
    assert_eq!(received, 5, "the survey, then the window's four pages");
    assert_eq!(
        second.state,
        Some(json!({"cursors": {"responses": "2026-06-01T00:00:00+00:00"}}))
    );

    let today = |points: &[Point]| {
        let s = series(points);
        (
            s.get("2026-06-01:Instagram").copied(),
            s.get("2026-06-01:Other").copied(),
        )
    };
    assert_eq!(today(&first.points), (Some(2.0), Some(1.0)));
    assert_eq!(
        today(&second.points),
        (Some(3.0), Some(2.0)),
        "today counted from all of today's responses, not from the new ones only"
    );
    let expected: BTreeMap<String, f64> = [
        ("2026-04-10:A friend or family member", 1.0),
        ("2026-05-31:Instagram", 2.0),
        ("2026-06-01:Instagram", 3.0),
        ("2026-06-01:Other", 2.0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(
        stored(&[&first.points, &second.points]),
        expected,
        "nothing earlier lost, nothing doubled"
    );
}

async fn error_answer(status: u16, id: &str, message: &str) -> ConnectorError {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(status).set_body_json(json!({"error": {
            "docs": "https://developer.surveymonkey.com/api/v3/#error-codes", "message": message,
            "id": id, "name": "Error", "http_status_code": status}})),
        )
        .mount(&server)
        .await;
    pull_err(
        connector("surveymonkey").as_ref(),
        &SurveyFixtures,
        &server,
        json!({}),
    )
    .await
}

#[tokio::test]
async fn named_errors_say_what_to_do() {
    let missing = error_answer(
        404,
        "1020",
        "There was an error retrieving the requested resource.",
    )
    .await;
    assert!(
        missing
            .to_string()
            .contains("SurveyMonkey has no survey `405238012` for this token"),
        "{missing}"
    );
    let region = error_answer(
        403,
        "1018",
        "The user does not have permission to access the host in this region.",
    )
    .await;
    assert!(
        region
            .to_string()
            .contains("set the source's base_url to the `access_url` of the token exchange"),
        "{region}"
    );
}

#[tokio::test]
async fn days_are_the_clients_local_days_and_windows_are_written_in_utc() {
    let (server, _) = platform(vec![
        response("b0", "2026-03-08T12:00:00+00:00", choice("13", "Facebook")),
        response(
            "b1",
            "2026-05-31T04:59:59+00:00",
            choice("12", "A friend or family member"),
        ),
        response("b2", "2026-06-01T03:00:00+00:00", choice("11", "Instagram")),
        response("b3", "2026-06-01T06:00:00+00:00", choice("11", "Instagram")),
    ])
    .await;
    let c = connector("surveymonkey");
    let http = fixture_http(c.as_ref(), &SurveyFixtures, &server);
    let source = fixture_source(
        &SurveyFixtures,
        &server,
        json!({"timezone": "America/Chicago"}),
    );
    let pulled = pull(c.as_ref(), &http, &source).await.unwrap();
    assert_eq!(
        windows_asked(&server, 0).await,
        [
            ("2026-03-03T06:00:00", "2026-04-02T05:00:00"),
            ("2026-04-02T05:00:00", "2026-05-02T05:00:00"),
            ("2026-05-02T05:00:00", "2026-06-01T05:00:00"),
            ("2026-06-01T05:00:00", "2026-06-01T12:00:00"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string())),
        "Chicago's midnights (06:00 UTC before daylight time, 05:00 after), written in UTC"
    );
    let days: Vec<(DateTime<Utc>, DateTime<Utc>, String, f64)> = pulled
        .points
        .iter()
        .filter_map(|p| match p.time {
            PointTime::Period { start, end } => {
                Some((start, end, p.dimensions["source"].clone(), p.value))
            }
            PointTime::At(_) => None,
        })
        .collect();
    let day = |start: &str, end: &str, source: &str| (at(start), at(end), source.to_string(), 1.0);
    assert_eq!(
        days,
        vec![
            day("2026-03-08T06:00:00Z", "2026-03-09T05:00:00Z", "Facebook"),
            day(
                "2026-05-30T05:00:00Z",
                "2026-05-31T05:00:00Z",
                "A friend or family member"
            ),
            day("2026-05-31T05:00:00Z", "2026-06-01T05:00:00Z", "Instagram"),
            day("2026-06-01T05:00:00Z", "2026-06-02T05:00:00Z", "Instagram"),
        ],
        "a response at 22:00 in Chicago counts on that day, not the UTC one after; the day the clocks go forward is 23 hours"
    );
    assert_eq!(
        pulled.state,
        Some(json!({"cursors": {"responses": "2026-06-01T05:00:00+00:00"}}))
    );
}
