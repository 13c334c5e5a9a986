//! The host HTTP client against a local mock server: retries, pacing, quota,
//! credentials and the errors a connector sees.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};
use tally_config::secret::Secret;
use tally_host::http::{
    Credential, HostHttp, HttpSettings, MemoryLedger, QuotaLedger, SourceHttp, SourceHttpSpec,
};
use tally_model::{
    HttpClient, HttpError, HttpRequest, QuotaSpec, QuotaWindow, RateLimitSpec, ResetEncoding,
    UsageHeaders,
};
use tally_sandbox::{Limit, Sandbox, SandboxOptions};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn settings() -> HttpSettings {
    HttpSettings {
        timeout: Duration::from_millis(500),
        max_attempts: 3,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        ..HttpSettings::default()
    }
}

fn spec(server: &MockServer, credential: Credential) -> SourceHttpSpec {
    SourceHttpSpec {
        source_id: "s1".into(),
        platform: "test".into(),
        base_url: server.uri(),
        credential,
        rate_limit: RateLimitSpec {
            requests: 1000,
            per_seconds: 1,
            burst: 100,
        },
        rate_limit_is_ceiling: false,
        usage_headers: None,
        throttle_errors: None,
        quota: None,
        timeout: None,
    }
}

fn client(server: &MockServer) -> SourceHttp {
    let host = HostHttp::new(settings(), Arc::new(MemoryLedger::default())).unwrap();
    host.for_source(spec(server, Credential::None))
}

fn get(server: &MockServer, p: &str) -> HttpRequest {
    HttpRequest::get(format!("{}{p}", server.uri()))
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_and_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/x"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/x"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let http = client(&server);
    let started = Instant::now();
    let response = http.send(get(&server, "/x")).await.unwrap();
    assert_eq!(response.status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(http.counts().snapshot(), (2, 1, 1));
}

#[tokio::test]
async fn a_429_without_retry_after_backs_off_and_retries() {
    let server = MockServer::start().await;
    Mock::given(path("/x"))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(path("/x"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let http = client(&server);
    assert_eq!(http.send(get(&server, "/x")).await.unwrap().status, 200);
    assert_eq!(http.counts().snapshot(), (3, 2, 2));
}

#[tokio::test]
async fn persistent_500s_stop_after_max_attempts_with_a_clear_error() {
    let server = MockServer::start().await;
    Mock::given(path("/broken"))
        .respond_with(ResponseTemplate::new(500))
        .expect(3)
        .mount(&server)
        .await;
    let http = client(&server);
    let error = http
        .send(get(&server, "/broken?key=SECRET"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        HttpError::RetriesExhausted {
            path: "/broken".into(),
            status: 500,
            attempts: 3
        }
    );
    assert!(!error.to_string().contains("SECRET"));
}

#[tokio::test]
async fn a_client_error_is_returned_at_once_without_retry() {
    let server = MockServer::start().await;
    Mock::given(path("/bad"))
        .respond_with(ResponseTemplate::new(400))
        .expect(1)
        .mount(&server)
        .await;
    let http = client(&server);
    assert_eq!(http.send(get(&server, "/bad")).await.unwrap().status, 400);
}

#[tokio::test]
async fn a_401_is_an_auth_error_naming_the_path() {
    let server = MockServer::start().await;
    Mock::given(path("/me"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_string(r#"{"error":"The access token is invalid"}"#),
        )
        .expect(1)
        .mount(&server)
        .await;
    let http = client(&server);
    let error = http
        .send(get(&server, "/me"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("/me")
            && error.contains("access token is invalid")
            && error.contains("[sources.auth]"),
        "{error}"
    );
}

#[tokio::test]
async fn a_response_slower_than_the_timeout_fails_after_the_attempts() {
    let server = MockServer::start().await;
    Mock::given(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let http = client(&server);
    let error = http.send(get(&server, "/slow")).await.unwrap_err();
    assert!(
        matches!(error, HttpError::Timeout { attempts: 3, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let server = MockServer::start().await;
    let http = client(&server);
    let error = http
        .send(HttpRequest::get(format!("http://127.0.0.1:{port}/x")))
        .await
        .unwrap_err();
    assert!(matches!(error, HttpError::Connect { .. }), "{error:?}");
}

#[tokio::test]
async fn requests_are_paced_at_the_declared_rate() {
    let server = MockServer::start().await;
    Mock::given(path("/p"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let host = HostHttp::new(settings(), Arc::new(MemoryLedger::default())).unwrap();
    let mut s = spec(&server, Credential::None);
    s.rate_limit = RateLimitSpec {
        requests: 20,
        per_seconds: 1,
        burst: 1,
    };
    let http = host.for_source(s);
    let started = Instant::now();
    for _ in 0..11 {
        http.send(get(&server, "/p")).await.unwrap();
    }
    // 11 requests at 20/s with a burst of 1: ten intervals of 50 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(480),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn sources_sharing_a_credential_share_one_pace() {
    let server = MockServer::start().await;
    Mock::given(path("/p"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let host = HostHttp::new(settings(), Arc::new(MemoryLedger::default())).unwrap();
    let key = || Credential::ApiKey {
        key: Secret::new("k1"),
        query_param: Some("key".into()),
        header: None,
    };
    let mut a = spec(&server, key());
    a.rate_limit = RateLimitSpec {
        requests: 20,
        per_seconds: 1,
        burst: 1,
    };
    let mut b = a.clone();
    b.source_id = "s2".into();
    let (a, b) = (host.for_source(a), host.for_source(b));
    let started = Instant::now();
    let run = |h: SourceHttp| {
        let req = get(&server, "/p");
        async move {
            for _ in 0..5 {
                h.send(req.clone()).await.unwrap();
            }
        }
    };
    tokio::join!(run(a), run(b));
    // Ten requests on one credential at 20/s: at least nine intervals of 50 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(430),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_exhausted_usage_header_holds_the_next_request_until_reset() {
    let server = MockServer::start().await;
    let reset = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
    Mock::given(path("/u"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-ratelimit-limit", "300")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.as_str()),
        )
        .mount(&server)
        .await;
    let host = HostHttp::new(settings(), Arc::new(MemoryLedger::default())).unwrap();
    let mut s = spec(&server, Credential::None);
    s.usage_headers = Some(UsageHeaders {
        limit: "x-ratelimit-limit".into(),
        remaining: "x-ratelimit-remaining".into(),
        reset: "x-ratelimit-reset".into(),
        reset_encoding: ResetEncoding::Iso8601,
    });
    let http = host.for_source(s);
    http.send(get(&server, "/u")).await.unwrap();
    let started = Instant::now();
    http.send(get(&server, "/u")).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(http.counts().snapshot().2, 0, "no 429 was needed");
}

#[tokio::test]
async fn credentials_are_injected_by_the_host() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/k"))
        .and(query_param("key", "sekrit"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/b"))
        .and(wiremock::matchers::header("authorization", "Bearer tok"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let host = HostHttp::new(settings(), Arc::new(MemoryLedger::default())).unwrap();
    let key = host.for_source(spec(
        &server,
        Credential::ApiKey {
            key: Secret::new("sekrit"),
            query_param: Some("key".into()),
            header: None,
        },
    ));
    assert_eq!(key.send(get(&server, "/k")).await.unwrap().status, 200);
    let bearer = host.for_source(spec(&server, Credential::Bearer(Secret::new("tok"))));
    assert_eq!(bearer.send(get(&server, "/b")).await.unwrap().status, 200);
}

#[tokio::test]
async fn a_spent_quota_refuses_without_sending_and_survives_in_the_ledger() {
    let server = MockServer::start().await;
    Mock::given(path("/q"))
        .respond_with(ResponseTemplate::new(200))
        .expect(3)
        .mount(&server)
        .await;
    let ledger = Arc::new(MemoryLedger::default());
    let mut s = spec(
        &server,
        Credential::ApiKey {
            key: Secret::new("k"),
            query_param: Some("key".into()),
            header: None,
        },
    );
    s.quota = Some(QuotaSpec {
        units: 3,
        window: QuotaWindow::Day,
        timezone: "America/Los_Angeles".into(),
    });
    let http = HostHttp::new(settings(), ledger.clone())
        .unwrap()
        .for_source(s.clone());
    for _ in 0..3 {
        http.send(get(&server, "/q")).await.unwrap();
    }
    let error = http.send(get(&server, "/q")).await.unwrap_err();
    assert!(
        matches!(
            error,
            HttpError::QuotaExhausted {
                used: 3,
                limit: 3,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("resets at"), "{error}");
    // A new host (a restart) with the same ledger still refuses.
    let again = HostHttp::new(settings(), ledger.clone())
        .unwrap()
        .for_source(s);
    assert!(matches!(
        again.send(get(&server, "/q")).await,
        Err(HttpError::QuotaExhausted { .. })
    ));
    let (start, _) = tally_host::http::quota_window(
        QuotaWindow::Day,
        chrono_tz::America::Los_Angeles,
        chrono::Utc::now(),
    );
    assert_eq!(
        ledger
            .used(
                &format!(
                    "test#{}",
                    Credential::ApiKey {
                        key: Secret::new("k"),
                        query_param: None,
                        header: None
                    }
                    .fingerprint()
                ),
                start
            )
            .unwrap(),
        3
    );
}

#[tokio::test]
async fn a_stated_budget_refuses_only_requests_charged_to_it_and_only_until_its_reset() {
    let server = MockServer::start().await;
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let host = HostHttp::new(settings(), Arc::new(MemoryLedger::default())).unwrap();
    let http = host.for_source(spec(&server, Credential::None));
    let stated = |budget: &str, remaining, resets_in: chrono::Duration| tally_model::StatedQuota {
        budget: budget.into(),
        bucket: "tokensPerHour".into(),
        remaining,
        cost: 10,
        resets_at: chrono::Utc::now() + resets_in,
    };
    let hour = chrono::Duration::hours(1);
    http.report_quota(&stated("properties/1", 9, hour)).unwrap();

    let spent = http
        .send(get(&server, "/r").charged_to("properties/1"))
        .await
        .unwrap_err();
    assert!(
        matches!(&spent, HttpError::QuotaStated { budget, bucket, remaining: 9, cost: 10, .. }
            if budget == "properties/1" && bucket == "tokensPerHour"),
        "{spent:?}"
    );
    // Another budget, a request charged to none, and the same budget on
    // another API host are not this budget.
    assert_eq!(
        http.send(get(&server, "/r").charged_to("properties/2"))
            .await
            .unwrap()
            .status,
        200
    );
    assert_eq!(http.send(get(&server, "/r")).await.unwrap().status, 200);
    let elsewhere = MockServer::start().await;
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&elsewhere)
        .await;
    let other_host = host.for_source(spec(&elsewhere, Credential::None));
    assert_eq!(
        other_host
            .send(get(&elsewhere, "/r").charged_to("properties/1"))
            .await
            .unwrap()
            .status,
        200
    );
    // A bucket that can pay, or one whose reset has passed, refuses nothing.
    http.report_quota(&stated("properties/1", 10, hour))
        .unwrap();
    assert!(http
        .send(get(&server, "/r").charged_to("properties/1"))
        .await
        .is_ok());
    http.report_quota(&stated("properties/1", 0, -chrono::Duration::seconds(1)))
        .unwrap();
    assert!(http
        .send(get(&server, "/r").charged_to("properties/1"))
        .await
        .is_ok());
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        4,
        "the refused request was never sent"
    );
}

#[tokio::test]
async fn a_huge_retry_after_fails_fast_instead_of_stalling_the_run() {
    let server = MockServer::start().await;
    Mock::given(path("/t"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
        .expect(1)
        .mount(&server)
        .await;
    let http = client(&server);
    let error = http.send(get(&server, "/t")).await.unwrap_err();
    assert_eq!(
        error,
        HttpError::Throttled {
            path: "/t".into(),
            wait_secs: 3600
        }
    );
}

#[tokio::test]
async fn a_json_body_cut_short_is_retried_like_a_5xx() {
    let server = MockServer::start().await;
    let whole = r#"{"followers_count": 1200, "statuses_count": 31}"#;
    Mock::given(path("/x"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(&whole.as_bytes()[..whole.len() / 2], "application/json"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/x"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(whole, "application/json"))
        .mount(&server)
        .await;
    let http = client(&server);
    let response = http.send(get(&server, "/x")).await.unwrap();
    assert_eq!(response.body, whole.as_bytes());
    // Two requests, one retry, nothing throttled.
    assert_eq!(http.counts().snapshot(), (2, 1, 0));
}

#[tokio::test]
async fn a_body_cut_short_on_every_attempt_reaches_the_connector_to_report() {
    let server = MockServer::start().await;
    Mock::given(path("/x"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(r#"{"data": [1, 2"#, "application/json"),
        )
        .mount(&server)
        .await;
    let http = client(&server);
    let response = http.send(get(&server, "/x")).await.unwrap();
    assert_eq!(response.body, br#"{"data": [1, 2"#);
    assert_eq!(http.counts().snapshot(), (3, 2, 0));
    // A body that is not JSON by its content type is the connector's to judge.
    Mock::given(path("/text"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{half", "text/plain"))
        .mount(&server)
        .await;
    let http = client(&server);
    http.send(get(&server, "/text")).await.unwrap();
    assert_eq!(http.counts().snapshot(), (1, 0, 0));
}

/// A sandbox whose Mastodon bucket is `limit`, exact (no jitter tolerance),
/// recording when each request reaches it.
async fn sandbox(limit: Limit, usage_headers: bool) -> Sandbox {
    let mut options = SandboxOptions {
        record_arrivals: true,
        ..SandboxOptions::default()
    };
    options.limits.mastodon = limit;
    options.limits.jitter_tolerance = Duration::ZERO;
    options.limits.usage_headers = usage_headers;
    Sandbox::start("127.0.0.1:0".parse().unwrap(), options)
        .await
        .unwrap()
}

/// One source on the sandbox's Mastodon with a shared bearer token.
fn mastodon_source(host: &Arc<HostHttp>, sb: &Sandbox, declared: RateLimitSpec) -> SourceHttp {
    host.for_source(SourceHttpSpec {
        source_id: "m".into(),
        platform: "mastodon".into(),
        base_url: sb.base_url("mastodon"),
        credential: Credential::Bearer(Secret::new("shared-token")),
        rate_limit: declared,
        rate_limit_is_ceiling: false,
        usage_headers: None,
        throttle_errors: None,
        quota: None,
        timeout: None,
    })
}

fn lookup(sb: &Sandbox, i: usize) -> HttpRequest {
    HttpRequest::get(format!(
        "{}/api/v1/accounts/lookup?acct=user{i}@sandbox.example",
        sb.base_url("mastodon")
    ))
}

#[tokio::test]
async fn a_429_with_retry_after_pauses_the_whole_credential_once() {
    // 4 per second, burst 4, no usage headers: a declared 1000/s sends the
    // first request alone, then five at once, and two of them are refused
    // with `Retry-After: 1`. A second later the bucket holds 4 again.
    let sb = sandbox(Limit::new(4, 1), false).await;
    let host = HostHttp::new(settings(), Arc::new(MemoryLedger::default())).unwrap();
    let declared = RateLimitSpec {
        requests: 1000,
        per_seconds: 1,
        burst: 1000,
    };
    let http = Arc::new(mastodon_source(&host, &sb, declared));
    let burst = send_all(&http, (0..6).map(|i| lookup(&sb, i)));
    // A request that starts after the refusals, on the same credential, is
    // held by the same pause although it was never refused itself.
    let late = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        http.send(lookup(&sb, 6)).await
    };
    let (burst, late) = tokio::join!(burst, late);
    assert!(burst.iter().all(Result::is_ok), "{burst:?}");
    assert_eq!(late.unwrap().status, 200);

    let throttled = sb.stats().throttled;
    assert!(throttled >= 1, "the burst was never refused");
    let arrivals = sb.arrivals("mastodon");
    assert_eq!(arrivals.len() as u64, 7 + throttled);
    let first_pause = arrivals
        .windows(2)
        .position(|w| w[1] - w[0] >= Duration::from_millis(900))
        .expect("the credential paused");
    // Everything before the pause came in the first burst; nothing arrived
    // during it (not even the late request); one pause sufficed.
    assert!(arrivals[first_pause] < Duration::from_millis(100) + arrivals[0]);
    let pauses = arrivals
        .windows(2)
        .filter(|w| w[1] - w[0] >= Duration::from_millis(900))
        .count();
    assert_eq!(pauses, 1, "{arrivals:?}");
    assert_eq!(http.counts().snapshot().2, throttled);
    sb.shutdown().await;
}

#[tokio::test]
async fn a_limit_stated_in_headers_is_learned_without_a_429() {
    // The connector's default says 300 per 300 s with a burst of 30; the
    // server allows 50/s with a burst of 10 and says so in X-RateLimit-*.
    let sb = sandbox(
        Limit {
            burst: 10,
            ..Limit::new(50, 1)
        },
        true,
    )
    .await;
    let host = HostHttp::new(settings(), Arc::new(MemoryLedger::default())).unwrap();
    let declared = RateLimitSpec {
        requests: 300,
        per_seconds: 300,
        burst: 30,
    };
    let http = Arc::new(mastodon_source(&host, &sb, declared));
    let started = Instant::now();
    let all = send_all(&http, (0..60).map(|i| lookup(&sb, i))).await;
    assert!(all.iter().all(Result::is_ok));
    assert_eq!(
        sb.stats().throttled,
        0,
        "the first burst overran the bucket"
    );
    // The declared rate alone would need 30 s for the 30 after its burst.
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    sb.shutdown().await;
}

/// Sends every request at once, each in its own task, and collects the results.
async fn send_all(
    http: &Arc<SourceHttp>,
    requests: impl Iterator<Item = HttpRequest>,
) -> Vec<Result<tally_model::HttpResponse, HttpError>> {
    let mut tasks = tokio::task::JoinSet::new();
    for request in requests {
        let http = Arc::clone(http);
        tasks.spawn(async move { http.send(request).await });
    }
    tasks.join_all().await
}

/// A source whose connector declares Meta's throttle codes.
fn graph_client(server: &MockServer, max_throttle_wait: Duration) -> SourceHttp {
    let settings = HttpSettings {
        max_throttle_wait,
        ..settings()
    };
    let host = HostHttp::new(settings, Arc::new(MemoryLedger::default())).unwrap();
    host.for_source(SourceHttpSpec {
        throttle_errors: Some(tally_model::ThrottleErrors {
            statuses: vec![400, 403],
            code_pointer: "/error/code".into(),
            codes: vec![(4, 4), (17, 17), (32, 32), (613, 613), (80000, 80008)],
        }),
        ..spec(server, Credential::None)
    })
}

const GRAPH_THROTTLE: &str = r#"{"error":{"message":"(#80001) There have been too many calls to this Page account.","type":"OAuthException","code":80001,"fbtrace_id":"A"}}"#;

#[tokio::test]
async fn a_declared_throttle_body_is_retried_like_a_429() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v27.0/1"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(GRAPH_THROTTLE, "application/json"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v27.0/1"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{}", "application/json"))
        .mount(&server)
        .await;
    let http = graph_client(&server, Duration::from_secs(120));
    let response = http.send(get(&server, "/v27.0/1")).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(http.counts().snapshot(), (2, 1, 1));

    // Another code on a 400 is the connector's to report, not retried.
    let other = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            r#"{"error":{"message":"(#100) bad","code":100}}"#,
            "application/json",
        ))
        .expect(1)
        .mount(&other)
        .await;
    let http = graph_client(&other, Duration::from_secs(120));
    assert_eq!(
        http.send(get(&other, "/v27.0/1")).await.unwrap().status,
        400
    );
}

#[tokio::test]
async fn a_throttle_body_waits_the_stated_time_to_regain_access() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_raw(GRAPH_THROTTLE, "application/json")
                .insert_header(
                    "x-business-use-case-usage",
                    r#"{"1":[{"type":"pages","call_count":100,"total_cputime":10,"total_time":10,"estimated_time_to_regain_access":3}]}"#,
                ),
        )
        .expect(1)
        .mount(&server)
        .await;
    // Three minutes is more than this run waits: the pull stops, naming the wait.
    let http = graph_client(&server, Duration::from_secs(120));
    let error = http.send(get(&server, "/v27.0/1")).await.unwrap_err();
    assert_eq!(
        error,
        HttpError::Throttled {
            path: "/v27.0/1".into(),
            wait_secs: 180
        }
    );
    assert_eq!(
        error.to_string(),
        "/v27.0/1 is throttled for 180s more; the source will be pulled again on its next run"
    );
}
