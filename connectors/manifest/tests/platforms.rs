//! The built-in platform manifests (Yelp, Eventbrite, SurveyMonkey, X) pull
//! the sandbox's simulation of each platform to the last page, and produce
//! the numbers the simulation holds.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use tally_model::{Connector, Point, PointTime};
use tally_sandbox::{data, Sandbox, SandboxOptions, SAMPLE_TOKEN};
use tally_testkit::{bearer, pull, Source};

#[test]
fn yelp_eventbrite_surveymonkey_and_x_compile() {
    for (file, text) in tally_manifest::builtin_sources() {
        if let Err(e) = tally_manifest::load(file, text) {
            panic!("{e}");
        }
    }
}

/// The built-in manifest `name`.
pub(crate) fn connector(name: &str) -> Arc<dyn Connector> {
    Arc::new(tally_manifest::builtin(name).unwrap_or_else(|| panic!("built-in `{name}`")))
}

/// Pulls `name` from the sandbox's `platform` with the sample token; the
/// points, and the sandbox's day (`None` if the pull straddled midnight).
pub(crate) async fn pull_sandbox(
    sandbox: &Sandbox,
    name: &str,
    settings: Value,
) -> (Vec<Point>, Option<DateTime<Utc>>) {
    let before = Utc::now();
    let connector = connector(name);
    let base = sandbox.base_url(name);
    let http = tally_testkit::host_for(&base, &connector.describe(), bearer(SAMPLE_TOKEN));
    let mut source = Source::new(&base, settings);
    source.max_pages = 1000;
    // The sandbox simulates the platforms as of the real clock.
    source.now = before;
    let points = pull(connector.as_ref(), &http, &source)
        .await
        .unwrap_or_else(|e| panic!("{name} pull: {e}"))
        .points
        .into_vec();
    let same_day = (before.date_naive() == Utc::now().date_naive()).then_some(before);
    (points, same_day)
}

pub(crate) async fn sandbox() -> Sandbox {
    Sandbox::start("127.0.0.1:0".parse().unwrap(), SandboxOptions::default())
        .await
        .unwrap()
}

/// The value of the one point of `metric` about entity `id` with `dims`.
pub(crate) fn value(points: &[Point], metric: &str, id: &str, dims: &[(&str, &str)]) -> f64 {
    let found: Vec<&Point> = points
        .iter()
        .filter(|p| p.metric == metric && p.entity.id == id)
        .filter(|p| {
            dims.iter()
                .all(|(k, v)| p.dimensions.get(*k).map(|d| d.as_str()) == Some(*v))
        })
        .collect();
    assert_eq!(found.len(), 1, "{metric} of {id} {dims:?}: {found:?}");
    found[0].value
}

#[tokio::test]
async fn yelp_reads_rating_count_and_the_excerpts() {
    let sb = sandbox().await;
    let (points, day) = pull_sandbox(&sb, "yelp", json!({"business": "corner-bakery"})).await;
    let Some(now) = day else { return };
    let b = data::yelp_business(42, "corner-bakery", now).unwrap();
    assert_eq!(value(&points, "reviews.rating", &b.id, &[]), b.rating);
    assert_eq!(
        value(&points, "reviews.count", &b.id, &[]),
        b.review_count as f64
    );
    for r in &b.reviews {
        assert_eq!(
            value(&points, "reviews.rating", &r.id, &[]),
            f64::from(r.rating)
        );
        assert_eq!(value(&points, "reviews.new", &r.id, &[]), 1.0);
    }
    assert_eq!(points.len(), 2 + 2 * b.reviews.len());
}

#[tokio::test]
async fn eventbrite_reads_every_event_page_and_their_sales_attendees_and_check_ins() {
    let sb = sandbox().await;
    let org = tally_sandbox::SAMPLE_EVENTBRITE_ORGANIZATION;
    let (points, day) = pull_sandbox(&sb, "eventbrite", json!({"organization_id": org})).await;
    let Some(now) = day else { return };
    let o = data::eventbrite_organization(42, org, now).unwrap();
    for e in &o.events {
        assert_eq!(
            value(&points, "events.capacity", &e.id, &[]),
            e.capacity() as f64
        );
        assert_eq!(
            value(
                &points,
                "events.attendees",
                &e.id,
                &[("status", "attending")]
            ),
            e.attending() as f64
        );
        assert_eq!(
            value(
                &points,
                "events.attendees",
                &e.id,
                &[("status", "checked_in")]
            ),
            e.checked_in() as f64
        );
        for c in &e.ticket_classes {
            assert_eq!(
                value(
                    &points,
                    "events.tickets_sold",
                    &e.id,
                    &[("ticket_class", &c.name)]
                ),
                c.quantity_sold as f64
            );
        }
    }
}

#[tokio::test]
async fn surveymonkey_counts_responses_per_day_by_where_they_heard_of_us() {
    let sb = sandbox().await;
    let survey = tally_sandbox::SAMPLE_SURVEYMONKEY_SURVEY;
    let before = Utc::now();
    let s = data::surveymonkey_survey(42, survey, before).unwrap();
    let question = &s.questions[0];
    let (points, day) = pull_sandbox(
        &sb,
        "surveymonkey",
        json!({"survey_id": survey, "question_id": question.id}),
    )
    .await;
    if day.is_none() {
        return;
    }
    let total = points
        .iter()
        .find(|p| p.metric == "surveys.responses" && p.dimensions.is_empty())
        .map(|p| p.value);
    assert_eq!(total, Some(s.responses.len() as f64), "the running total");
    let mut expected: BTreeMap<(String, String), f64> = BTreeMap::new();
    for r in &s.responses {
        let source = match &r.answers[0] {
            data::Answer::Choice(i) => question.choices[*i].1.clone(),
            data::Answer::Other(_) => "Other".to_string(),
        };
        *expected
            .entry((r.created.format("%F").to_string(), source))
            .or_default() += 1.0;
    }
    let got: BTreeMap<(String, String), f64> = points
        .iter()
        .filter_map(|p| {
            let source = p.dimensions.get("source")?.to_string();
            let PointTime::Period { start, .. } = p.time else {
                return None;
            };
            Some(((start.format("%F").to_string(), source), p.value))
        })
        .collect();
    assert_eq!(got, expected, "one series per (day, answer), all 90 days");
}

#[tokio::test]
async fn x_reads_the_account_and_every_page_of_posts() {
    let sb = sandbox().await;
    let (points, day) = pull_sandbox(
        &sb,
        "x",
        json!({"username": "@Corner_Bakery", "max_posts": 1000}),
    )
    .await;
    let Some(now) = day else { return };
    let u = data::x_user(42, "Corner_Bakery", now).unwrap();
    assert_eq!(
        value(&points, "audience.followers", &u.id, &[]),
        u.followers as f64
    );
    assert_eq!(
        value(&points, "content.posts", &u.id, &[]),
        u.post_count as f64
    );
    for p in &u.posts {
        assert_eq!(
            value(&points, "engagement.likes", &p.id, &[]),
            p.likes as f64
        );
        assert_eq!(
            value(&points, "engagement.shares", &p.id, &[("type", "quote")]),
            p.quotes as f64
        );
        assert_eq!(
            value(&points, "reach.views", &p.id, &[]),
            p.impressions as f64
        );
    }
    let posts = points
        .iter()
        .filter(|p| p.metric == "engagement.likes")
        .count();
    assert_eq!(posts, u.posts.len());
}

#[test]
fn each_platform_manifest_has_its_sample_and_readme_in_step() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("builtin");
    for name in ["yelp", "eventbrite", "surveymonkey", "x"] {
        let settings = tally_testkit::assert_described_settings_documented(
            connector(name).as_ref(),
            &dir.join(format!("{name}.sample.toml")),
            &dir.join(format!("{name}.README.md")),
        );
        assert!(
            settings.as_object().is_some_and(|s| !s.is_empty()),
            "{name}"
        );
    }
}
