//! Eventbrite: events, ticket classes and attendees paged by continuation
//! to the last page, the token in a header or the query, and its errors.

use serde_json::Value;
use tally_sandbox::data;
use tally_sandbox::{Limit, PlatformLimits, SandboxOptions, SAMPLE_TOKEN};

use crate::{client, roomy, send, start, Answer, SameDay};

async fn eventbrite(url: &str) -> Answer {
    send(client().get(url).bearer_auth(SAMPLE_TOKEN)).await
}

/// Follows `continuation` while `has_more_items`, collecting `key`.
async fn all_pages(url: &str, key: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    let mut next = url.to_string();
    loop {
        let a = eventbrite(&next).await;
        assert_eq!(a.status, 200, "{}", a.text);
        let body = a.json();
        pages += 1;
        items.extend(body[key].as_array().expect("items").iter().cloned());
        let p = &body["pagination"];
        if p["has_more_items"] != true {
            assert!(p.get("continuation").is_none(), "no token on the last page");
            break;
        }
        let sep = if url.contains('?') { '&' } else { '?' };
        next = format!(
            "{url}{sep}continuation={}",
            p["continuation"].as_str().expect("token")
        );
    }
    (items, pages)
}

#[tokio::test]
async fn events_and_attendees_page_to_the_end_and_match_the_data() {
    let sb = start(roomy()).await;
    let base = sb.base_url("eventbrite");
    let day = SameDay::start();
    let (events, pages) = all_pages(
        &format!("{base}/organizations/1000000001/events/?page_size=2"),
        "events",
    )
    .await;
    assert_eq!(pages, events.len().div_ceil(2));
    let Some(now) = day.now() else { return };
    let org = data::eventbrite_organization(42, "1000000001", now).expect("exists");
    let ids: Vec<&str> = events.iter().filter_map(|e| e["id"].as_str()).collect();
    let expected: Vec<&str> = org.events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, expected);
    for (json, e) in events.iter().zip(&org.events) {
        assert_eq!(json["capacity"].as_u64(), Some(e.capacity()));
        assert_eq!(json["status"], e.status);
        assert!(json["start"]["utc"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')));
    }

    let past = org
        .events
        .iter()
        .filter(|e| e.status == "completed")
        .max_by_key(|e| e.attendees.len())
        .expect("a past event");
    let (attendees, pages) = all_pages(
        &format!("{base}/events/{}/attendees/", past.id),
        "attendees",
    )
    .await;
    assert_eq!(attendees.len(), past.attendees.len());
    assert_eq!(pages, past.attendees.len().div_ceil(50));
    assert!(pages >= 2, "a past event's attendees span pages");
    let attending = attendees.iter().filter(|a| a["cancelled"] == false).count();
    let checked_in = attendees.iter().filter(|a| a["checked_in"] == true).count();
    assert_eq!(
        (attending, checked_in),
        (past.attending(), past.checked_in())
    );
    assert!(
        0 < checked_in && checked_in < attending,
        "some came, some did not: {checked_in} of {attending}"
    );

    let (only, _) = all_pages(
        &format!("{base}/events/{}/attendees/?status=attending", past.id),
        "attendees",
    )
    .await;
    assert_eq!(only.len(), past.attending());

    let (classes, _) = all_pages(
        &format!("{base}/events/{}/ticket_classes/", past.id),
        "ticket_classes",
    )
    .await;
    let sold: u64 = classes
        .iter()
        .filter_map(|c| c["quantity_sold"].as_u64())
        .sum();
    assert_eq!(sold, past.attending() as u64);
    assert_eq!(classes[0]["cost"]["currency"], "USD");
}

#[tokio::test]
async fn token_in_the_query_and_the_organizations_of_a_token() {
    let sb = start(roomy()).await;
    let base = sb.base_url("eventbrite");
    let a = send(client().get(format!("{base}/users/me/organizations/?token=abc"))).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let orgs = a.json();
    assert_eq!(
        orgs["organizations"][0]["id"],
        data::eventbrite_organization_of_token("abc")
    );
    assert_eq!(orgs["pagination"]["has_more_items"], false);
    // No usage headers are documented, so none are sent.
    assert!(a.headers.keys().all(|k| !k.as_str().contains("ratelimit")));
}

#[tokio::test]
async fn errors_have_eventbrite_codes() {
    let sb = start(SandboxOptions {
        limits: PlatformLimits {
            eventbrite: Limit::new(3, 3600),
            ..PlatformLimits::default()
        },
        ..SandboxOptions::default()
    })
    .await;
    let base = sb.base_url("eventbrite");
    let error = |a: &Answer| {
        let body = a.json();
        assert_eq!(
            body["status_code"].as_u64(),
            Some(u64::from(a.status.as_u16()))
        );
        (
            a.status.as_u16(),
            body["error"].as_str().unwrap_or_default().to_string(),
        )
    };
    let none = send(client().get(format!("{base}/organizations/1/events/"))).await;
    assert_eq!(error(&none), (401, "NO_AUTH".into()));
    let bad = send(
        client()
            .get(format!("{base}/organizations/1/events/"))
            .bearer_auth("bad"),
    )
    .await;
    assert_eq!(error(&bad), (400, "INVALID_AUTH".into()));
    let missing = eventbrite(&format!("{base}/organizations/acme/events/")).await;
    assert_eq!(error(&missing), (404, "NOT_FOUND".into()));
    let token = eventbrite(&format!(
        "{base}/organizations/1/events/?continuation=nonsense"
    ))
    .await;
    assert_eq!(error(&token), (400, "BAD_CONTINUATION_TOKEN".into()));
    let filter = eventbrite(&format!("{base}/organizations/1/events/?time_filter=soon")).await;
    assert_eq!(error(&filter), (400, "ARGUMENTS_ERROR".into()));
    let limited = eventbrite(&format!("{base}/organizations/1/events/")).await;
    assert_eq!(error(&limited), (429, "HIT_RATE_LIMIT".into()));
}
