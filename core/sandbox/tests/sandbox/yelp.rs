//! Yelp: business details, three review excerpts paged by offset, the daily
//! quota's `RateLimit-*` headers and the two 429 codes.

use chrono::{DateTime, Timelike, Utc};
use tally_sandbox::data;
use tally_sandbox::{Limit, PlatformLimits, SandboxOptions, SAMPLE_TOKEN};

use crate::{client, roomy, send, start, Answer, SameDay};

async fn yelp(url: &str) -> Answer {
    send(client().get(url).bearer_auth(SAMPLE_TOKEN)).await
}

#[tokio::test]
async fn business_details_carry_rating_count_and_the_daily_headers() {
    let sb = start(roomy()).await;
    let base = sb.base_url("yelp");
    let day = SameDay::start();
    let first = yelp(&format!("{base}/businesses/corner-bakery")).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let b = first.json();
    assert_eq!(b["alias"], "corner-bakery");
    assert_eq!(b["name"], "Corner Bakery");
    assert_eq!(b["id"], data::yelp_business_id("corner-bakery"));
    if let Some(now) = day.now() {
        let expected = data::yelp_business(42, "corner-bakery", now).expect("exists");
        assert_eq!(b["rating"].as_f64(), Some(expected.rating));
        assert_eq!(b["review_count"].as_u64(), Some(expected.review_count));
    }
    assert_eq!(first.header("ratelimit-dailylimit"), Some("300"));
    assert_eq!(first.header("ratelimit-remaining"), Some("299"));
    let reset = first.header("ratelimit-resettime").expect("reset time");
    let reset = DateTime::parse_from_rfc3339(reset).expect("ISO 8601 reset");
    let reset = reset.with_timezone(&Utc);
    assert_eq!((reset.hour(), reset.minute()), (0, 0), "midnight UTC");
    assert!(reset > Utc::now() && reset - Utc::now() <= chrono::Duration::days(1));

    // The id handed out works as well as the alias.
    let by_id = yelp(&format!(
        "{base}/businesses/{}",
        b["id"].as_str().unwrap_or_default()
    ))
    .await;
    assert_eq!(by_id.json()["alias"], "corner-bakery");
    assert_eq!(by_id.header("ratelimit-remaining"), Some("298"));
}

#[tokio::test]
async fn reviews_page_by_offset_and_stop_after_three_excerpts() {
    let sb = start(roomy()).await;
    let base = sb.base_url("yelp");
    let mut ratings = Vec::new();
    let mut total = None;
    for offset in 0.. {
        let page = yelp(&format!(
            "{base}/businesses/corner-bakery/reviews?limit=1&offset={offset}&sort_by=yelp_sort"
        ))
        .await
        .json();
        total = page["total"].as_u64();
        let reviews = page["reviews"].as_array().expect("reviews").clone();
        if reviews.is_empty() {
            break;
        }
        for r in reviews {
            assert!(
                r["time_created"].as_str().is_some_and(|t| t.len() == 19),
                "{r}"
            );
            ratings.push(r["rating"].as_u64().expect("whole stars"));
        }
    }
    assert_eq!(ratings.len(), data::YELP_EXCERPTS);
    assert!(total.is_some_and(|t| t >= 3), "{total:?}");
    assert!(ratings.iter().all(|r| (1..=5).contains(r)));
}

#[tokio::test]
async fn errors_have_yelp_codes() {
    let sb = start(SandboxOptions {
        limits: PlatformLimits {
            yelp: Limit::new(2, 60),
            yelp_per_day: 3,
            ..PlatformLimits::default()
        },
        ..SandboxOptions::default()
    })
    .await;
    let base = sb.base_url("yelp");
    let code = |a: &Answer| {
        a.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let anonymous = send(client().get(format!("{base}/businesses/x-y"))).await;
    assert_eq!(
        (anonymous.status.as_u16(), code(&anonymous).as_str()),
        (401, "TOKEN_MISSING")
    );
    let bad = send(
        client()
            .get(format!("{base}/businesses/x-y"))
            .bearer_auth("bad"),
    )
    .await;
    assert_eq!(
        (bad.status.as_u16(), code(&bad).as_str()),
        (401, "TOKEN_INVALID")
    );

    let missing = yelp(&format!("{base}/businesses/missing")).await;
    assert_eq!(
        (missing.status.as_u16(), code(&missing).as_str()),
        (404, "BUSINESS_NOT_FOUND")
    );
    let ok = yelp(&format!("{base}/businesses/x-y")).await;
    assert_eq!(ok.status, 200);
    let fast = yelp(&format!("{base}/businesses/x-y")).await;
    assert_eq!(
        (fast.status.as_u16(), code(&fast).as_str()),
        (429, "TOO_MANY_REQUESTS_PER_SECOND")
    );
    // The throttled call still counted towards the day: the quota is spent.
    let spent = send(
        client()
            .get(format!("{base}/businesses/x-y"))
            .bearer_auth(SAMPLE_TOKEN),
    )
    .await;
    assert_eq!(
        (spent.status.as_u16(), code(&spent).as_str()),
        (429, "ACCESS_LIMIT_REACHED")
    );
    assert_eq!(spent.header("ratelimit-remaining"), Some("0"));
    assert!(spent.header("ratelimit-resettime").is_some());
    // Another key has its own day.
    let other = send(
        client()
            .get(format!("{base}/businesses/x-y"))
            .bearer_auth("other"),
    )
    .await;
    assert_eq!(other.status, 200);
}
