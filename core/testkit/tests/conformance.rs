//! The conformance kit judged on a small connector: the correct version passes
//! every check, with and without saved state, and each deliberate bug fails the
//! one check that exists to catch it, with a message that says why.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use tally_model::error::url_path;
use tally_model::http::decode_json;
use tally_model::{
    AuthKind, Connector, ConnectorError, Description, Emitter, Entity, EntityKind, HttpRequest,
    Point, PointTime, RateLimitSpec, SettingSpec, SourceContext,
};
use tally_testkit::conformance::{check_conformance, run_conformance, Check, Fixtures, Report};
use tally_testkit::{bearer, Credential};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Bugs the toy connector can be built with.
#[derive(Debug, Clone, Copy, Default)]
struct Bugs {
    first_page_only: bool,
    undeclared_metric: bool,
    duplicate_point: bool,
    swallows_auth: bool,
    sets_auth_header: bool,
    decodes_without_path: bool,
    empty_is_error: bool,
    saves_state: bool,
    ignores_state: bool,
    state_claims_unseen: bool,
}

/// A connector for a made-up platform: one account, items listed page by page.
struct Toy(Bugs);

#[derive(Deserialize)]
struct Account {
    id: String,
    followers: u64,
}

#[derive(Deserialize)]
struct Page {
    items: Vec<Item>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct Item {
    id: String,
    likes: u64,
}

impl Toy {
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        ctx: &SourceContext<'_>,
        url: String,
    ) -> Result<T, ConnectorError> {
        let path = url_path(&url);
        let mut request = HttpRequest::get(url);
        if self.0.sets_auth_header {
            request = request.with_header("Authorization", "Bearer made-up");
        }
        let response = match ctx.http.send(request).await {
            Err(e) if self.0.swallows_auth => return Err(ConnectorError::Other(e.to_string())),
            other => other?,
        };
        if !response.is_success() {
            return Err(ConnectorError::Status {
                path,
                status: response.status,
                body: String::new(),
            });
        }
        if self.0.decodes_without_path {
            return serde_json::from_slice(&response.body)
                .map_err(|e| ConnectorError::Other(e.to_string()));
        }
        decode_json(&path, &response.body)
    }
}

#[async_trait]
impl Connector for Toy {
    fn describe(&self) -> Description {
        Description {
            name: "toy".into(),
            platform: "toy".into(),
            summary: "a made-up platform".into(),
            default_base_url: "https://api.toy.example".into(),
            metrics: vec!["audience.followers".into(), "engagement.likes".into()],
            settings: vec![SettingSpec::required("account", "the account name")],
            auth: vec![AuthKind::Bearer],
            rate_limit: RateLimitSpec {
                requests: 100,
                per_seconds: 1,
                burst: 10,
            },
            usage_headers: None,
            api_version: None,
            throttle_errors: None,
            quota: None,
        }
    }

    async fn check(&self, ctx: &SourceContext<'_>) -> Result<String, ConnectorError> {
        let account: Account = self.get(ctx, ctx.url("/account?name=demo")).await?;
        Ok(format!(
            "account {} ({} followers)",
            account.id, account.followers
        ))
    }

    async fn pull(
        &self,
        ctx: &SourceContext<'_>,
        out: &mut dyn Emitter,
    ) -> Result<(), ConnectorError> {
        let at = PointTime::At(ctx.now);
        let account: Account = self.get(ctx, ctx.url("/account?name=demo")).await?;
        let entity = Entity::new(EntityKind::Account, &account.id, None);
        out.emit(Point::new(
            "toy",
            "audience.followers",
            "followers",
            entity.clone(),
            account.followers as f64,
            at,
        ))?;
        if self.0.undeclared_metric {
            out.emit(Point::new(
                "toy",
                "audience.following",
                "following",
                entity.clone(),
                1.0,
                at,
            ))?;
        }
        if self.0.duplicate_point {
            out.emit(Point::new(
                "toy",
                "audience.followers",
                "followers",
                entity,
                1.0,
                at,
            ))?;
        }
        let seen: BTreeSet<String> = match (ctx.state, self.0.ignores_state) {
            (Some(state), false) => {
                serde_json::from_value(state["seen"].clone()).unwrap_or_default()
            }
            _ => BTreeSet::new(),
        };
        let mut emitted = seen.clone();
        let mut pages = ctx.paginator("/items");
        let mut url = ctx.url("/items?account=demo");
        loop {
            let page: Page = self.get(ctx, url.clone()).await?;
            if page.items.is_empty() && self.0.empty_is_error {
                return Err(ConnectorError::NotFound("no items".into()));
            }
            for item in page.items.iter().filter(|i| !seen.contains(&i.id)) {
                let post = Entity::new(EntityKind::Post, &item.id, None);
                out.emit(Point::new(
                    "toy",
                    "engagement.likes",
                    "likes",
                    post,
                    item.likes as f64,
                    at,
                ))?;
                emitted.insert(item.id.clone());
            }
            let next = if self.0.first_page_only {
                None
            } else {
                page.next
            };
            match pages.advance(next)? {
                Some(cursor) => url = ctx.url(&format!("/items?account=demo&page={cursor}")),
                None => break,
            }
        }
        if self.0.saves_state {
            if self.0.state_claims_unseen {
                emitted.insert("i99".into());
            }
            out.save_state(json!({ "seen": emitted }));
        }
        Ok(())
    }
}

/// Three pages of five items on a mock of the made-up platform.
struct ToyFixtures;

fn account() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"id": "acc1", "followers": 10}))
}

async fn mount_page(server: &MockServer, page: Option<&str>, ids: &[&str], next: Option<&str>) {
    let items: Vec<Value> = ids.iter().map(|id| json!({"id": id, "likes": 3})).collect();
    let mock = Mock::given(method("GET")).and(path("/items"));
    let mock = match page {
        Some(page) => mock.and(query_param("page", page)),
        None => mock.and(query_param_is_missing("page")),
    };
    mock.respond_with(
        ResponseTemplate::new(200).set_body_json(json!({"items": items, "next": next})),
    )
    .expect(1)
    .mount(server)
    .await;
}

#[async_trait]
impl Fixtures for ToyFixtures {
    async fn mount_happy(&self, server: &MockServer) {
        Mock::given(path("/account"))
            .respond_with(account())
            .mount(server)
            .await;
        mount_page(server, None, &["i1", "i2"], Some("2")).await;
        mount_page(server, Some("2"), &["i3", "i4"], Some("3")).await;
        mount_page(server, Some("3"), &["i5"], None).await;
    }

    async fn mount_empty(&self, server: &MockServer) {
        Mock::given(path("/account"))
            .respond_with(account())
            .mount(server)
            .await;
        mount_page(server, None, &[], None).await;
    }

    fn happy_records(&self) -> usize {
        5
    }

    fn settings(&self) -> Value {
        json!({"account": "demo"})
    }

    fn credential(&self) -> Credential {
        bearer("t0ken")
    }

    fn records_done(&self, state: &Value) -> BTreeSet<String> {
        let seen: BTreeSet<String> =
            serde_json::from_value(state["seen"].clone()).unwrap_or_default();
        seen.into_iter().map(|id| format!("post:{id}")).collect()
    }
}

async fn report(bugs: Bugs) -> Report {
    check_conformance(Arc::new(Toy(bugs)), &ToyFixtures).await
}

/// Asserts that exactly `check` failed, with `why` in its message.
fn only_failure(report: &Report, check: Check, why: &str) {
    failures(report, &[(check, why)]);
}

/// Asserts that exactly these checks failed, each with its `why` in its message.
fn failures(report: &Report, expected: &[(Check, &str)]) {
    let checks: Vec<Check> = expected.iter().map(|(c, _)| *c).collect();
    assert_eq!(report.failed(), checks, "{report}");
    for (check, why) in expected {
        let text = report.outcome(*check).unwrap().text();
        assert!(text.contains(why), "{check}: {text}");
        assert!(
            report.to_string().contains(&format!("FAIL {check}: ")),
            "{report}"
        );
    }
}

#[tokio::test]
async fn a_correct_connector_passes_every_check() {
    let report = run_conformance(Arc::new(Toy(Bugs::default())), &ToyFixtures).await;
    assert_eq!(report.outcomes().len(), Check::ALL.len());
    assert_eq!(
        report
            .outcomes()
            .iter()
            .map(|(c, _)| *c)
            .collect::<Vec<_>>(),
        Check::ALL
    );
    let text = |check| report.outcome(check).unwrap().text().to_string();
    assert_eq!(
        text(Check::AccountCheck),
        "check said: account acc1 (10 followers)"
    );
    assert!(
        text(Check::Pagination).starts_with("5 records over 4 requests"),
        "{report}"
    );
    assert!(
        text(Check::Retry429).contains("2 × 429 retried")
            && text(Check::Retry429).contains("Retry-After waited out"),
        "{report}"
    );
    assert_eq!(
        text(Check::Retry5xx),
        "a 500 retried by the host (5 requests, 1 retry); all 5 records pulled"
    );
    assert!(
        text(Check::Html200)
            .starts_with("/account returned a body that is not the documented JSON")
            && text(Check::Html200).contains("it starts with: <html>"),
        "{report}"
    );
    assert!(
        text(Check::QuotaStop).starts_with("a budget of 3 units stopped the pull after 3 of 4 requests: quota budget of 3 units for toy#"),
        "{report}"
    );
    assert!(
        text(Check::Unauthorized401).contains("refused the credential (401)"),
        "{report}"
    );
    assert!(
        text(Check::MalformedJson).starts_with("failed conformance-malformed: /account returned a body that is not the documented JSON"),
        "{report}"
    );
    assert_eq!(
        text(Check::EmptyAccount),
        "1 account-level points, no records, no error"
    );
    assert_eq!(
        text(Check::Resume),
        "no state saved; a second pull emitted the same 6 keys"
    );
}

#[tokio::test]
async fn a_connector_that_resumes_from_state_passes() {
    let report = report(Bugs {
        saves_state: true,
        ..Bugs::default()
    })
    .await;
    assert!(report.passed(), "{report}");
    assert_eq!(
        report.outcome(Check::Resume).unwrap().text(),
        "state saved; first pull 5 records (5 marked done), resumed pull 0, 5 together"
    );
}

#[tokio::test]
#[should_panic(expected = "connector `toy` failed 3 of 13 conformance checks")]
async fn run_conformance_panics_naming_the_failed_check() {
    run_conformance(
        Arc::new(Toy(Bugs {
            first_page_only: true,
            ..Bugs::default()
        })),
        &ToyFixtures,
    )
    .await;
}

#[tokio::test]
async fn stopping_after_the_first_page_fails_pagination() {
    let report = report(Bugs {
        first_page_only: true,
        ..Bugs::default()
    })
    .await;
    // The record count and the unread pages' `expect(1)` say so; the pulls behind
    // two 429s and behind a 500 miss the same records.
    assert_eq!(
        report.failed(),
        vec![Check::Pagination, Check::Retry429, Check::Retry5xx],
        "{report}"
    );
    let text = report.outcome(Check::Pagination).unwrap().text();
    assert!(
        text.contains("holds 5 records but the pull emitted 2 (post:i1, post:i2)"),
        "{text}"
    );
}

#[tokio::test]
async fn an_undeclared_metric_fails_the_schema_check() {
    let report = report(Bugs {
        undeclared_metric: true,
        ..Bugs::default()
    })
    .await;
    assert!(report.failed().contains(&Check::Schema), "{report}");
    let text = report.outcome(Check::Schema).unwrap().text();
    assert!(
        text.contains("metric `audience.following` is not declared"),
        "{text}"
    );
}

#[tokio::test]
async fn a_point_emitted_twice_fails_natural_keys() {
    let report = report(Bugs {
        duplicate_point: true,
        ..Bugs::default()
    })
    .await;
    only_failure(
        &report,
        Check::NaturalKeys,
        "1 natural keys are emitted more than once in one pull",
    );
}

#[tokio::test]
async fn an_auth_error_turned_into_text_fails_the_401_check() {
    let report = report(Bugs {
        swallows_auth: true,
        ..Bugs::default()
    })
    .await;
    // A spent quota is a host error too, so the quota stop sees the same bug.
    failures(
        &report,
        &[
            (
                Check::Unauthorized401,
                "must reach the caller as ConnectorError::Http(HttpError::Unauthorized)",
            ),
            (
                Check::QuotaStop,
                "the pull must fail with HttpError::QuotaExhausted { used: 3, limit: 3, key: `toy#…` }, got: Other(",
            ),
        ],
    );
}

#[tokio::test]
async fn a_connector_setting_its_own_auth_header_fails_the_401_check() {
    let report = report(Bugs {
        sets_auth_header: true,
        ..Bugs::default()
    })
    .await;
    only_failure(
        &report,
        Check::Unauthorized401,
        "the connector set an Authorization header itself on /account; the host injects credentials",
    );
}

#[tokio::test]
async fn a_decode_error_without_the_path_fails_the_malformed_check() {
    let report = report(Bugs {
        decodes_without_path: true,
        ..Bugs::default()
    })
    .await;
    failures(
        &report,
        &[
            (
                Check::MalformedJson,
                "a truncated body must give ConnectorError::Decode naming the path",
            ),
            (
                Check::Html200,
                "an HTML page served with 200 must give ConnectorError::Decode naming `/account`",
            ),
        ],
    );
}

#[tokio::test]
async fn an_error_on_an_empty_account_fails_the_empty_check() {
    let report = report(Bugs {
        empty_is_error: true,
        ..Bugs::default()
    })
    .await;
    only_failure(
        &report,
        Check::EmptyAccount,
        "the pull of the empty account failed (not found: no items)",
    );
}

#[tokio::test]
async fn ignoring_saved_state_fails_resume_as_a_repeat() {
    let report = report(Bugs {
        saves_state: true,
        ignores_state: true,
        ..Bugs::default()
    })
    .await;
    only_failure(
        &report,
        Check::Resume,
        "the resumed pull emitted again records the state marks done: post:i1",
    );
}

#[tokio::test]
async fn a_state_claiming_unseen_records_fails_resume_as_a_skip() {
    let report = report(Bugs {
        saves_state: true,
        state_claims_unseen: true,
        ..Bugs::default()
    })
    .await;
    only_failure(
        &report,
        Check::Resume,
        "marks records done that the pull never emitted (they would be skipped): post:i99",
    );
}
