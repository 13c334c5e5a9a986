//! Property tests of the Meta parsers: arbitrary JSON and the documented
//! fixtures mutated or cut never panic, and give valid points or an error
//! naming the field (or the line and column).

use chrono::FixedOffset;
use proptest::prelude::*;
use tally_meta::ads::parse::{AdAccount, Row};
use tally_meta::facebook_pages::parse::{Page, Post, PAGE_METRICS};
use tally_meta::graph::{ErrorMapper, InsightsEnvelope, Page as Listing};
use tally_meta::instagram::parse::User;
use tally_model::{Entity, EntityKind};
use tally_testkit::props::{check_response, fixture, json, mutated_bytes, mutated_json};

const PAGE: &[u8] = include_bytes!("../testdata/page.json");
const INSIGHTS: &[u8] = include_bytes!("../testdata/page_insights.json");
const ADS: &[u8] = include_bytes!("../testdata/ads_insights.json");
const IG_USER: &[u8] = include_bytes!("../testdata/ig_user.json");

fn page(body: &[u8]) {
    check_response(body, |p: Page| Ok(p.points(tally_testkit::now())));
}

fn insights(body: &[u8]) {
    let entity = Entity::new(EntityKind::Account, "1", None);
    check_response(body, |e: InsightsEnvelope| {
        Ok(e.daily("facebook", &entity, &PAGE_METRICS))
    });
}

fn posts(body: &[u8]) {
    check_response(body, |l: Listing<Post>| {
        Ok(l.data
            .iter()
            .flat_map(|p| p.points(tally_testkit::now()))
            .collect())
    });
}

fn ads(body: &[u8]) {
    let entity = Entity::new(EntityKind::Account, "act_1", None);
    let offset = FixedOffset::east_opt(3600).unwrap();
    check_response(body, |l: Listing<Row>| {
        Ok(l.data
            .iter()
            .flat_map(|r| r.points(&entity, offset, "EUR", &[]))
            .collect())
    });
    let _ = serde_json::from_slice::<AdAccount>(body).map(|a| a.offset());
}

fn user(body: &[u8]) {
    check_response(body, |u: User| Ok(u.points(tally_testkit::now())));
}

fn error(body: &[u8]) {
    let mapped = ErrorMapper::new("s", &["read_insights"]).map("/v27.0/1", 400, body);
    assert!(!mapped.to_string().is_empty());
}

proptest! {
    #![proptest_config(tally_testkit::props::config())]

    #[test]
    fn any_json_is_points_or_an_error_naming_a_field(value in json()) {
        let body = serde_json::to_vec(&value).unwrap();
        page(&body);
        insights(&body);
        posts(&body);
        ads(&body);
        user(&body);
        error(&body);
    }

    #[test]
    fn mutated_fixtures_are_points_or_an_error_naming_a_field(
        p in mutated_json(&fixture(PAGE)),
        i in mutated_json(&fixture(INSIGHTS)),
        a in mutated_json(&fixture(ADS)),
        u in mutated_json(&fixture(IG_USER)),
    ) {
        page(&serde_json::to_vec(&p).unwrap());
        insights(&serde_json::to_vec(&i).unwrap());
        ads(&serde_json::to_vec(&a).unwrap());
        user(&serde_json::to_vec(&u).unwrap());
    }

    #[test]
    fn cut_or_corrupted_bodies_are_errors_with_their_place(
        p in mutated_bytes(PAGE),
        a in mutated_bytes(ADS),
    ) {
        page(&p);
        ads(&a);
        error(&a);
    }
}
