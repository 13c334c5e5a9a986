//! The Eventbrite manifest: the conformance kit on Eventbrite's documented
//! shapes (continuation paging), and its named errors.

use async_trait::async_trait;
use serde_json::json;
use std::collections::BTreeSet;
use tally_model::{ConnectorError, EntityKind, HttpError, Point};
use tally_testkit::conformance::{run_conformance, Fixtures};
use tally_testkit::{bearer, pull_err, Credential};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::platforms::connector;

const ORG: &str = "123456789";

fn event(id: &str) -> serde_json::Value {
    json!({"id": id, "name": {"text": format!("Tasting {id}")}, "status": "completed", "capacity": 120,
           "start": {"timezone": "UTC", "utc": "2026-05-01T18:00:00Z", "local": "2026-05-01T18:00:00"}})
}

fn page(key: &str, items: serde_json::Value, continuation: Option<&str>) -> serde_json::Value {
    let mut pagination = json!({"object_count": 2, "page_number": 1, "page_size": 1, "page_count": 2,
                                "has_more_items": continuation.is_some()});
    if let Some(c) = continuation {
        pagination["continuation"] = json!(c);
    }
    json!({"pagination": pagination, key: items})
}

async fn mount_org(server: &MockServer, events: &[&str]) {
    let listing = format!("/v3/organizations/{ORG}/events/");
    match events {
        [first, second] => {
            Mock::given(method("GET"))
                .and(path(&listing))
                .and(query_param_is_missing("continuation"))
                .respond_with(ResponseTemplate::new(200).set_body_json(page(
                    "events",
                    json!([event(first)]),
                    Some("AEtFRyE2"),
                )))
                .expect(1)
                .mount(server)
                .await;
            Mock::given(method("GET"))
                .and(path(&listing))
                .and(query_param("continuation", "AEtFRyE2"))
                .respond_with(ResponseTemplate::new(200).set_body_json(page(
                    "events",
                    json!([event(second)]),
                    None,
                )))
                .expect(1)
                .mount(server)
                .await;
        }
        _ => {
            Mock::given(method("GET"))
                .and(path(&listing))
                .respond_with(ResponseTemplate::new(200).set_body_json(page(
                    "events",
                    json!([]),
                    None,
                )))
                .mount(server)
                .await;
        }
    }
    for (n, id) in events.iter().enumerate() {
        Mock::given(method("GET"))
            .and(path(format!("/v3/events/{id}/ticket_classes/")))
            .respond_with(ResponseTemplate::new(200).set_body_json(page(
                "ticket_classes",
                json!([{"id": "1", "name": "General Admission", "quantity_total": 100, "quantity_sold": 40 + n},
                       {"id": "2", "name": "VIP", "quantity_total": 20, "quantity_sold": 5}]),
                None,
            )))
            .expect(1)
            .mount(server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/v3/events/{id}/attendees/")))
            .and(query_param("status", "attending"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "pagination": {"object_count": 45 + n, "page_number": 1, "page_size": 50, "page_count": 1, "has_more_items": false},
                "attendees": []})))
            .expect(1)
            .mount(server)
            .await;
    }
}

struct EventbriteFixtures;

#[async_trait]
impl Fixtures for EventbriteFixtures {
    async fn mount_happy(&self, server: &MockServer) {
        mount_org(server, &["1001", "1002"]).await;
    }

    async fn mount_empty(&self, server: &MockServer) {
        mount_org(server, &[]).await;
    }

    fn happy_records(&self) -> usize {
        2
    }

    fn settings(&self) -> serde_json::Value {
        json!({"organization_id": ORG})
    }

    fn base_url(&self, server: &MockServer) -> String {
        format!("{}/v3", server.uri())
    }

    fn credential(&self) -> Credential {
        bearer("eventbrite-private-token")
    }

    /// An organization's records are its events.
    fn records(&self, points: &[Point]) -> BTreeSet<String> {
        points
            .iter()
            .filter(|p| p.entity.kind == EntityKind::Event)
            .map(|p| format!("event:{}", p.entity.id))
            .collect()
    }
}

#[tokio::test]
async fn the_eventbrite_manifest_passes_the_conformance_kit() {
    run_conformance(connector("eventbrite"), &EventbriteFixtures).await;
}

async fn error_answer(status: u16, error: &str, description: &str) -> ConnectorError {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(status).set_body_json(
            json!({"error": error, "error_description": description, "status_code": status}),
        ))
        .mount(&server)
        .await;
    pull_err(
        connector("eventbrite").as_ref(),
        &EventbriteFixtures,
        &server,
        json!({}),
    )
    .await
}

#[tokio::test]
async fn named_errors_say_what_to_do() {
    let missing = error_answer(404, "NOT_FOUND", "The organization does not exist.").await;
    assert!(
        missing.to_string().contains("Eventbrite has no organization `123456789` visible to this token (The organization does not exist.); check `organization_id`"),
        "{missing}"
    );
    let auth = error_answer(
        400,
        "INVALID_AUTH",
        "The OAuth token you provided was invalid.",
    )
    .await;
    assert!(
        matches!(auth, ConnectorError::Http(HttpError::Unauthorized { .. })),
        "{auth:?}"
    );
    assert!(
        auth.to_string()
            .contains("create a new one at eventbrite.com/platform/api-keys"),
        "{auth}"
    );
    let token = error_answer(
        400,
        "BAD_CONTINUATION_TOKEN",
        "The continuation token you provided is invalid.",
    )
    .await;
    assert!(
        token
            .to_string()
            .contains("Eventbrite refused the request: BAD_CONTINUATION_TOKEN"),
        "{token}"
    );
}
