//! X: users and their posts with fields on request, `pagination_token`
//! paging to the end, 200-with-errors, problem bodies, `x-rate-limit-*`
//! headers and refresh tokens that work once.

use tally_sandbox::data;
use tally_sandbox::{Limit, PlatformLimits, SandboxOptions, SAMPLE_TOKEN};

use crate::{client, roomy, send, start, Answer, SameDay};

async fn x(url: &str) -> Answer {
    send(client().get(url).bearer_auth(SAMPLE_TOKEN)).await
}

#[tokio::test]
async fn user_metrics_and_posts_page_to_the_end() {
    let sb = start(roomy()).await;
    let base = sb.base_url("x");
    let day = SameDay::start();
    let bare = x(&format!("{base}/2/users/by/username/Corner_Bakery"))
        .await
        .json();
    assert!(
        bare["data"].get("public_metrics").is_none(),
        "fields only on request"
    );
    let a = x(&format!(
        "{base}/2/users/by/username/Corner_Bakery?user.fields=public_metrics,created_at"
    ))
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let reset: i64 = a
        .header("x-rate-limit-reset")
        .and_then(|r| r.parse().ok())
        .expect("epoch");
    assert!(reset >= chrono::Utc::now().timestamp());
    assert_eq!(a.header("x-rate-limit-limit"), Some("900"));
    let user = a.json()["data"].clone();
    let id = user["id"].as_str().expect("id").to_string();
    assert_eq!(id, data::x_user_id("corner_bakery"));
    let metrics = &user["public_metrics"];
    assert!(metrics["post_count"].is_u64() && metrics["followers_count"].is_u64());

    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut url = format!(
            "{base}/2/users/{id}/tweets?max_results=5&tweet.fields=public_metrics,created_at"
        );
        if let Some(t) = &token {
            url.push_str(&format!("&pagination_token={t}"));
        }
        let page = x(&url).await.json();
        for post in page["data"].as_array().into_iter().flatten() {
            assert!(
                post["public_metrics"]["impression_count"].is_u64(),
                "{post}"
            );
            ids.push(post["id"].as_str().expect("id").to_string());
        }
        assert_eq!(
            page["meta"]["result_count"].as_u64(),
            Some(page["data"].as_array().map_or(0, Vec::len) as u64)
        );
        match page["meta"]["next_token"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    if let Some(now) = day.now() {
        let expected = data::x_user(42, "Corner_Bakery", now).expect("exists");
        let expected: Vec<String> = expected.posts.into_iter().map(|p| p.id).collect();
        assert_eq!(ids, expected);
        assert_eq!(
            metrics["followers_count"].as_u64(),
            data::x_user(42, "Corner_Bakery", now).map(|u| u.followers)
        );
    }
}

#[tokio::test]
async fn errors_are_problems_or_200_with_errors() {
    let sb = start(SandboxOptions {
        limits: PlatformLimits {
            x: Limit::new(3, 900),
            ..PlatformLimits::default()
        },
        ..SandboxOptions::default()
    })
    .await;
    let base = sb.base_url("x");
    let none = send(client().get(format!("{base}/2/users/by/username/someone"))).await;
    assert_eq!(none.status, 401);
    assert_eq!(
        none.header("content-type"),
        Some("application/problem+json")
    );
    let missing = x(&format!("{base}/2/users/by/username/missing")).await;
    assert_eq!(missing.status, 200);
    let body = missing.json();
    assert!(body.get("data").is_none());
    assert_eq!(
        body["errors"][0]["type"],
        "https://api.x.com/2/problems/resource-not-found"
    );
    let bad = x(&format!("{base}/2/users/by/username/no%20spaces")).await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.json()["type"],
        "https://api.x.com/2/problems/invalid-request"
    );
    let unknown_id = x(&format!("{base}/2/users/12345/tweets?max_results=500")).await;
    assert_eq!(unknown_id.status, 400, "{}", unknown_id.text);
    let limited = x(&format!("{base}/2/users/by/username/someone")).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.json()["title"], "Too Many Requests");
    assert_eq!(limited.header("x-rate-limit-remaining"), Some("0"));
}

#[tokio::test]
async fn refresh_tokens_work_once() {
    let sb = start(roomy()).await;
    let token_url = format!("{}/2/oauth2/token", sb.base_url("x"));
    let exchange = send(client().post(&token_url).form(&[
        ("grant_type", "authorization_code"),
        ("code", "abc"),
        ("client_id", "tally"),
        ("code_verifier", "verifier"),
        ("redirect_uri", "http://127.0.0.1/callback"),
    ]))
    .await;
    assert_eq!(exchange.status, 200, "{}", exchange.text);
    let refresh = exchange.json()["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_string();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
        ("client_id", "tally"),
    ];
    let first = send(client().post(&token_url).form(&form)).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_ne!(
        first.json()["refresh_token"].as_str(),
        Some(refresh.as_str())
    );
    let again = send(client().post(&token_url).form(&form)).await;
    assert_eq!(again.status, 400);
    assert_eq!(again.json()["error"], "invalid_grant");
}
