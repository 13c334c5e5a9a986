//! Mastodon shapes, Link pagination, errors and OAuth tokens.

use std::collections::HashSet;

use serde_json::Value;
use tally_sandbox::data;
use tally_sandbox::{FaultOptions, SandboxOptions};

use crate::{client, get, roomy, send, start, SameDay};

/// The `<url>` of the link with `rel`, from a `Link` header.
fn link(header: Option<&str>, rel: &str) -> Option<String> {
    header?.split(", <").find_map(|part| {
        let (url, params) = part.trim_start_matches('<').split_once(">; ")?;
        (params == format!("rel=\"{rel}\"")).then(|| url.to_string())
    })
}

#[tokio::test]
async fn lookup_and_account_have_the_documented_shape() {
    let sb = start(roomy()).await;
    let base = sb.base_url("mastodon");
    let day = SameDay::start();
    let a = get(&format!(
        "{base}/api/v1/accounts/lookup?acct=tally@sandbox.example"
    ))
    .await;
    assert_eq!(a.status, 200);
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        assert!(a.header(h).is_some(), "{h} missing");
    }
    let reset = a.header("x-ratelimit-reset").unwrap_or_default();
    assert!(
        chrono::DateTime::parse_from_rfc3339(reset).is_ok(),
        "ISO reset: {reset}"
    );
    let acc = a.json();
    let id = acc["id"].as_str().expect("string id").to_string();
    assert_eq!(id, data::mastodon_account_id("tally@sandbox.example"));
    assert_eq!(acc["username"], "tally");
    assert_eq!(acc["acct"], "tally@sandbox.example");
    assert_eq!(acc["url"], "https://sandbox.example/@tally");
    for field in [
        "display_name",
        "created_at",
        "uri",
        "avatar",
        "header",
        "note",
    ] {
        assert!(acc[field].is_string(), "{field}");
    }
    for field in ["followers_count", "following_count", "statuses_count"] {
        assert!(acc[field].is_u64(), "{field}");
    }
    for field in ["locked", "bot", "group", "indexable"] {
        assert!(acc[field].is_boolean(), "{field}");
    }
    let last = acc["last_status_at"].as_str().expect("last_status_at");
    assert!(
        chrono::NaiveDate::parse_from_str(last, "%Y-%m-%d").is_ok(),
        "{last}"
    );
    if let Some(now) = day.now() {
        let expected = data::mastodon_account(42, "tally@sandbox.example", now).expect("exists");
        assert_eq!(acc["followers_count"], expected.followers);
        assert_eq!(acc["following_count"], expected.following);
        assert_eq!(acc["statuses_count"], expected.statuses.len());
    }
    let by_id = get(&format!("{base}/api/v1/accounts/{id}")).await;
    assert_eq!(by_id.status, 200);
    assert_eq!(by_id.json()["followers_count"], acc["followers_count"]);
}

#[tokio::test]
async fn statuses_paginate_by_link_header_to_the_end() {
    let sb = start(roomy()).await;
    let base = sb.base_url("mastodon");
    let day = SameDay::start();
    let acc = get(&format!("{base}/api/v1/accounts/lookup?acct=pager"))
        .await
        .json();
    let id = acc["id"].as_str().expect("id").to_string();
    let total = acc["statuses_count"].as_u64().expect("count") as usize;

    let mut url = Some(format!(
        "{base}/api/v1/accounts/{id}/statuses?limit=7&exclude_reblogs=true"
    ));
    let mut seen: Vec<Value> = Vec::new();
    let mut second_page_prev = None;
    let mut first_page = Vec::new();
    let mut pages = 0;
    while let Some(u) = url.take() {
        let a = get(&u).await;
        assert_eq!(a.status, 200);
        let page = a.json().as_array().cloned().expect("array");
        assert!(page.len() <= 7);
        let links = a.header("link").map(str::to_string);
        if let Some(next) = link(links.as_deref(), "next") {
            assert!(next.starts_with(&format!("{base}/api/v1/accounts/{id}/statuses?limit=7")));
            assert!(next.contains("max_id="));
            assert!(next.contains("exclude_reblogs=true"));
            url = Some(next);
        }
        let prev = link(links.as_deref(), "prev").expect("prev link on a non-empty page");
        assert!(prev.contains("min_id="));
        if pages == 0 {
            first_page = page.clone();
        } else if pages == 1 {
            second_page_prev = Some(prev);
        }
        seen.extend(page);
        pages += 1;
        assert!(pages < 20, "pagination does not end");
    }
    assert_eq!(seen.len(), total);
    let ids: Vec<u64> = seen
        .iter()
        .map(|s| {
            s["id"]
                .as_str()
                .expect("string id")
                .parse()
                .expect("numeric")
        })
        .collect();
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        ids.len(),
        "no duplicates"
    );
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    let st = &seen[0];
    for field in ["created_at", "content", "url", "uri", "visibility"] {
        assert!(st[field].is_string(), "{field}");
    }
    for field in ["favourites_count", "reblogs_count", "replies_count"] {
        assert!(st[field].is_u64(), "{field}");
    }
    assert_eq!(st["account"]["id"], id.as_str());
    if let Some(now) = day.now() {
        let expected = data::mastodon_account(42, "pager", now).expect("exists");
        for (got, want) in seen.iter().zip(&expected.statuses) {
            assert_eq!(got["id"], want.id.as_str());
            assert_eq!(got["favourites_count"], want.favourites);
            assert_eq!(got["reblogs_count"], want.reblogs);
        }
    }
    // rel="prev" of page 2 leads back to page 1.
    if let Some(prev) = second_page_prev {
        let back = get(&prev).await.json();
        assert_eq!(back.as_array().expect("array"), &first_page);
    }
}

#[tokio::test]
async fn limit_defaults_to_20_and_caps_at_40() {
    let sb = start(roomy()).await;
    let base = sb.base_url("mastodon");
    // Find an account with more than 40 statuses.
    let mut chosen = None;
    for i in 0..200 {
        let acc = get(&format!("{base}/api/v1/accounts/lookup?acct=big{i}"))
            .await
            .json();
        if acc["statuses_count"].as_u64().unwrap_or_default() > 40 {
            chosen = acc["id"].as_str().map(str::to_string);
            break;
        }
    }
    let id = chosen.expect("some account has more than 40 statuses");
    let page = get(&format!("{base}/api/v1/accounts/{id}/statuses"))
        .await
        .json();
    assert_eq!(page.as_array().map(Vec::len), Some(20));
    let page = get(&format!("{base}/api/v1/accounts/{id}/statuses?limit=100"))
        .await
        .json();
    assert_eq!(page.as_array().map(Vec::len), Some(40));
}

#[tokio::test]
async fn missing_unknown_and_empty_accounts() {
    let sb = start(roomy()).await;
    let base = sb.base_url("mastodon");
    for url in [
        format!("{base}/api/v1/accounts/lookup?acct=missing"),
        format!("{base}/api/v1/accounts/lookup"),
        format!("{base}/api/v1/accounts/123456"),
        format!("{base}/api/v1/accounts/123456/statuses"),
    ] {
        let a = get(&url).await;
        assert_eq!(a.status, 404, "{url}");
        assert_eq!(a.json(), serde_json::json!({"error": "Record not found"}));
    }
    let acc = get(&format!("{base}/api/v1/accounts/lookup?acct=empty"))
        .await
        .json();
    assert_eq!(acc["statuses_count"], 0);
    assert_eq!(acc["last_status_at"], Value::Null);
    let id = acc["id"].as_str().expect("id");
    let a = get(&format!("{base}/api/v1/accounts/{id}/statuses")).await;
    assert_eq!(a.json(), Value::Array(vec![]));
    assert!(a.header("link").is_none());
}

#[tokio::test]
async fn issued_tokens_expire_and_refresh() {
    let sb = start(SandboxOptions {
        faults: FaultOptions {
            token_ttl_secs: Some(0),
            ..FaultOptions::default()
        },
        ..roomy()
    })
    .await;
    let base = sb.base_url("mastodon");
    let c = client();
    let tok = send(c.post(format!("{base}/oauth/token")).form(&[
        ("grant_type", "client_credentials"),
        ("client_id", "id"),
        ("client_secret", "secret"),
    ]))
    .await;
    assert_eq!(tok.status, 200, "{}", tok.text);
    let tok = tok.json();
    assert_eq!(tok["token_type"], "Bearer");
    assert_eq!(tok["expires_in"], 0);
    for field in ["access_token", "refresh_token", "scope"] {
        assert!(tok[field].is_string(), "{field}");
    }
    assert!(tok["created_at"].is_i64());
    let access = tok["access_token"].as_str().expect("token");
    let url = format!("{base}/api/v1/accounts/lookup?acct=alice");

    let a = send(c.get(&url).bearer_auth(access)).await;
    assert_eq!(a.status, 401);
    assert_eq!(
        a.json(),
        serde_json::json!({"error": "The access token is invalid"})
    );
    // A token the sandbox did not issue is accepted.
    assert_eq!(send(c.get(&url).bearer_auth("hand-made")).await.status, 200);

    let refreshed = send(c.post(format!("{base}/oauth/token")).form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", tok["refresh_token"].as_str().expect("rt")),
        ("client_id", "id"),
        ("client_secret", "secret"),
    ]))
    .await;
    assert_eq!(refreshed.status, 200);
    assert_ne!(refreshed.json()["access_token"], tok["access_token"]);

    let bad = send(c.post(format!("{base}/oauth/token")).form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", "forged"),
        ("client_id", "id"),
        ("client_secret", "secret"),
    ]))
    .await;
    assert_eq!(
        (bad.status.as_u16(), bad.json()["error"].clone()),
        (400, "invalid_grant".into())
    );
    let no_client = send(
        c.post(format!("{base}/oauth/token"))
            .form(&[("grant_type", "client_credentials")]),
    )
    .await;
    assert_eq!(no_client.status, 401);
    assert_eq!(no_client.json()["error"], "invalid_client");
}

#[tokio::test]
async fn tokens_within_their_ttl_work() {
    let sb = start(SandboxOptions {
        faults: FaultOptions {
            token_ttl_secs: Some(3600),
            ..FaultOptions::default()
        },
        ..roomy()
    })
    .await;
    let base = sb.base_url("mastodon");
    let c = client();
    let tok = send(c.post(format!("{base}/oauth/token")).form(&[
        ("grant_type", "client_credentials"),
        ("client_id", "id"),
        ("client_secret", "secret"),
    ]))
    .await
    .json();
    assert_eq!(tok["expires_in"], 3600);
    let access = tok["access_token"].as_str().expect("token");
    let a = send(
        c.get(format!("{base}/api/v1/accounts/lookup?acct=alice"))
            .bearer_auth(access),
    )
    .await;
    assert_eq!(a.status, 200);
}
