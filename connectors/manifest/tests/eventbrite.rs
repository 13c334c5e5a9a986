//! The Eventbrite manifest: the conformance kit on Eventbrite's documented
//! shapes (continuation paging), attendees and check-ins counted over every
//! page, and its named errors.

use async_trait::async_trait;
use serde_json::json;
use std::collections::BTreeSet;
use tally_model::{ConnectorError, EntityKind, HttpError, Point};
use tally_testkit::conformance::{run_conformance, Fixtures};
use tally_testkit::{bearer, pull_err, pull_ok, Credential};
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
        mount_attendees(server, id, ATTENDEES[n]).await;
    }
}

/// Each event's attendees holding a ticket, page by page: whether each
/// checked in.
const ATTENDEES: [&[&[bool]]; 2] = [&[&[true, false, true], &[true, false]], &[&[false, false]]];

fn attendee(event: &str, n: usize, checked_in: bool) -> serde_json::Value {
    json!({"id": format!("{event}{n:03}"), "event_id": event, "order_id": format!("9{n}"),
           "ticket_class_id": "1", "status": if checked_in { "Checked In" } else { "Attending" },
           "checked_in": checked_in, "cancelled": false, "refunded": false, "quantity": 1,
           "profile": {"name": format!("Guest {n}")}})
}

async fn mount_attendees(server: &MockServer, event: &str, pages: &[&[bool]]) {
    let total: usize = pages.iter().map(|p| p.len()).sum();
    let mut n = 0;
    for (i, page) in pages.iter().enumerate() {
        let attendees: Vec<serde_json::Value> = page
            .iter()
            .map(|&c| {
                n += 1;
                attendee(event, n, c)
            })
            .collect();
        let more = i + 1 < pages.len();
        let mut pagination = json!({"object_count": total, "page_number": i + 1, "page_size": 3,
                                    "page_count": pages.len(), "has_more_items": more});
        if more {
            pagination["continuation"] = json!(format!("QVRU{event}p{}", i + 2));
        }
        let listing = Mock::given(method("GET"))
            .and(path(format!("/v3/events/{event}/attendees/")))
            .and(query_param("status", "attending"));
        let listing = if i == 0 {
            listing.and(query_param_is_missing("continuation"))
        } else {
            listing.and(query_param(
                "continuation",
                format!("QVRU{event}p{}", i + 1),
            ))
        };
        listing
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"pagination": pagination, "attendees": attendees})),
            )
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

#[tokio::test]
async fn attendees_and_check_ins_are_counted_per_event_over_every_page() {
    let server = MockServer::start().await;
    mount_org(&server, &["1001", "1002"]).await;
    let points = pull_ok(
        connector("eventbrite").as_ref(),
        &EventbriteFixtures,
        &server,
        json!({}),
    )
    .await
    .points;
    let attendees: Vec<(String, String, f64, String)> = points
        .iter()
        .filter(|p| p.metric == "events.attendees")
        .map(|p| {
            (
                p.entity.id.to_string(),
                p.dimensions["status"].clone(),
                p.value,
                p.raw_name.to_string(),
            )
        })
        .collect();
    let row = |e: &str, s: &str, v: f64, r: &str| (e.to_string(), s.to_string(), v, r.to_string());
    assert_eq!(
        attendees,
        vec![
            row("1001", "attending", 5.0, "attendees"),
            row("1001", "checked_in", 3.0, "checked_in"),
            row("1002", "attending", 2.0, "attendees"),
            row("1002", "checked_in", 0.0, "checked_in"),
        ],
        "an event nobody checked in to counts 0, not nothing"
    );
    assert!(points
        .iter()
        .filter(|p| p.metric == "events.attendees")
        .all(|p| p.time == tally_model::PointTime::At(tally_testkit::now())));
    server.verify().await;
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
