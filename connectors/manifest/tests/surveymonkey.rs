//! The SurveyMonkey manifest: the conformance kit on SurveyMonkey's
//! documented shapes (`links.next` paging), and its named errors.

use async_trait::async_trait;
use serde_json::json;
use tally_model::ConnectorError;
use tally_testkit::conformance::{run_conformance, Fixtures};
use tally_testkit::{bearer, pull_err, pull_ok, Credential};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::platforms::connector;

const SURVEY: &str = "405238012";
const QUESTION: &str = "92387123";

fn response(id: &str, answer: serde_json::Value) -> serde_json::Value {
    json!({"id": id, "survey_id": SURVEY, "response_status": "completed",
           "date_created": "2026-05-14T09:30:00+00:00",
           "pages": [{"id": "1", "questions": [{"id": QUESTION, "answers": [answer]}]}]})
}

async fn mount_survey(server: &MockServer, responses: u64) {
    Mock::given(method("GET"))
        .and(path(format!("/v3/surveys/{SURVEY}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": SURVEY, "title": "Customer feedback", "response_count": responses})))
        .mount(server)
        .await;
    if responses == 0 {
        return;
    }
    let bulk = format!("/v3/surveys/{SURVEY}/responses/bulk");
    let next = format!("{}{bulk}?page=2&per_page=100", server.uri());
    Mock::given(method("GET"))
        .and(path(&bulk))
        .and(query_param("question_ids", QUESTION))
        .and(query_param("simple", "true"))
        .and(query_param_is_missing("page"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [response("r1", json!({"choice_id": "11", "simple_text": "Instagram"})),
                     response("r2", json!({"choice_id": "12", "simple_text": "A friend or family member"}))],
            "per_page": 100, "page": 1, "total": 3, "links": {"self": "x", "next": next}})))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(&bulk))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [response("r3", json!({"other_id": "19", "text": "Radio", "simple_text": "Radio"}))],
            "per_page": 100, "page": 2, "total": 3, "links": {"self": "x"}})))
        .expect(1)
        .mount(server)
        .await;
}

struct SurveyFixtures;

#[async_trait]
impl Fixtures for SurveyFixtures {
    async fn mount_happy(&self, server: &MockServer) {
        mount_survey(server, 3).await;
    }

    async fn mount_empty(&self, server: &MockServer) {
        mount_survey(server, 0).await;
    }

    fn happy_records(&self) -> usize {
        3
    }

    fn settings(&self) -> serde_json::Value {
        json!({"survey_id": SURVEY, "question_id": QUESTION})
    }

    fn base_url(&self, server: &MockServer) -> String {
        format!("{}/v3", server.uri())
    }

    fn credential(&self) -> Credential {
        bearer("surveymonkey-token")
    }
}

#[tokio::test]
async fn the_surveymonkey_manifest_passes_the_conformance_kit() {
    run_conformance(connector("surveymonkey"), &SurveyFixtures).await;
}

#[tokio::test]
async fn answers_become_the_source_dimension_and_other_keeps_its_text() {
    let server = MockServer::start().await;
    mount_survey(&server, 3).await;
    let points = pull_ok(
        connector("surveymonkey").as_ref(),
        &SurveyFixtures,
        &server,
        json!({}),
    )
    .await
    .points;
    let sources: Vec<(String, Option<String>)> = points
        .iter()
        .filter(|p| p.dimensions.contains_key("source"))
        .map(|p| {
            (
                p.dimensions
                    .get("source")
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
                p.dimensions.get("other").map(|s| s.to_string()),
            )
        })
        .collect();
    assert_eq!(
        sources,
        [
            ("Instagram".to_string(), None),
            ("A friend or family member".to_string(), None),
            ("Other".to_string(), Some("Radio".to_string())),
        ]
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
