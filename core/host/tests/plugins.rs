//! Dynamic plugins through the real loader: every file that must be refused is
//! refused with a message naming it while the rest of Tally carries on, and the
//! plugins that load pull through the host's own HTTP client exactly like
//! built-in connectors.
//!
//! The plugin libraries are workspace members (`plugins/examples/*`,
//! `plugins/fixtures/*`) built here with `cargo build` on first use, so any one
//! test also runs alone; C plugins are compiled from `plugins/sdk/tests/c/` with
//! the system C compiler against `plugins/sdk/include/tally_plugin.h`.
//!
//! A plugin call is driven the same way on any runtime (see
//! `plugin/connector.rs`), so tests use the multi-threaded runtime `tally` runs
//! on where it matters and the default current-thread one elsewhere.

#![allow(clippy::unwrap_used)]

use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tally_config::SourceConfig;
use tally_host::catalog::{Catalog, Origin};
use tally_host::http::{Credential, HostHttp, MemoryLedger};
use tally_host::plugin::{self, file_sha256, load_plugin, open_plugin, PluginError};
use tally_host::pull::{Engine, SourceStatus};
use tally_model::{
    Connector, ConnectorError, HttpError, PointBuffer, PointTime, RateLimitSpec, SchemaError,
};
use tally_sandbox::{Sandbox, SandboxOptions};
use tally_store::Store;
use tally_testkit::Source;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BLUESKY: &str = "tally-bluesky";
const YOUTUBE: &str = "tally-youtube-plugin";
const NO_SYMBOL: &str = "tally-fixture-no-symbol";
const WRONG_ABI: &str = "tally-fixture-wrong-abi";
const PANICKING: &str = "tally-fixture-panicking";

fn workspace() -> PathBuf {
    tally_plugin_sdk::testing::workspace_root(Path::new(env!("CARGO_MANIFEST_DIR")))
}

/// The shared library of a plugin crate of this workspace, built once per test run.
fn lib(package: &str) -> PathBuf {
    static LIBS: OnceLock<BTreeMap<String, PathBuf>> = OnceLock::new();
    let libs = LIBS.get_or_init(|| {
        tally_plugin_sdk::testing::build_cdylibs(
            &workspace(),
            &[BLUESKY, YOUTUBE, NO_SYMBOL, WRONG_ABI, PANICKING],
            &[],
        )
        .unwrap_or_else(|e| panic!("{e}"))
    });
    libs[package].clone()
}

/// A fresh directory for one test's plugin files.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("plugins")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A file name the loader accepts as a shared library on this platform.
fn lib_name(stem: &str) -> String {
    format!("lib{stem}.{}", std::env::consts::DLL_EXTENSION)
}

/// Compiles `plugins/sdk/tests/c/minimal.c` with `defines` into a shared library in `dir`.
fn c_plugin(dir: &Path, stem: &str, defines: &[&str]) -> PathBuf {
    let sdk = workspace().join("plugins/sdk");
    let out = dir.join(lib_name(stem));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args([
            "-std=c99", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-I",
        ])
        .arg(sdk.join("include"))
        .arg(sdk.join("tests/c/minimal.c"))
        .args(defines)
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("could not run the C compiler `{cc}`: {e}"));
    assert!(
        status.success(),
        "minimal.c does not compile against tally_plugin.h"
    );
    out
}

/// The one connector a plugin file holds.
fn connector(path: &Path) -> Arc<dyn Connector> {
    let mut connectors = load_plugin(path, None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(connectors.len(), 1);
    connectors.remove(0)
}

fn no_auth_http(base_url: &str, connector: &dyn Connector) -> tally_host::http::SourceHttp {
    tally_testkit::host_for(base_url, &connector.describe(), Credential::None)
}

/// A C plugin answering `/followers` from a mock server.
async fn followers_server(count: u32) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/followers"))
        .respond_with(ResponseTemplate::new(200).set_body_string(count.to_string()))
        .mount(&server)
        .await;
    server
}

#[test]
fn random_bytes_named_so_are_refused_and_the_rest_of_the_directory_loads() {
    let dir = scratch("garbage");
    let garbage = dir.join(lib_name("garbage"));
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&garbage, bytes).unwrap();
    std::fs::write(dir.join("README.txt"), "not a library, ignored").unwrap();
    std::fs::copy(lib(BLUESKY), dir.join(lib_name("tally_bluesky"))).unwrap();

    let (loaded, errors) = plugin::load_dirs(&[&dir]);

    assert_eq!(errors.len(), 1, "{errors:?}");
    let message = errors[0].to_string();
    assert!(
        matches!(errors[0], PluginError::NotALibrary { .. }),
        "{message}"
    );
    assert!(
        message.contains(&garbage.display().to_string()),
        "{message}"
    );
    assert!(
        message.contains("is not a loadable shared library") && message.contains("rebuild it"),
        "{message}"
    );
    assert_eq!(loaded.len(), 1, "the good plugin next to it still loads");
    assert_eq!(loaded[0].connectors[0].describe().name, "bluesky");
    assert_eq!(loaded[0].sdk_version, tally_plugin_sdk::SDK_VERSION);
}

#[test]
fn a_missing_plugin_directory_is_an_error_not_a_crash() {
    let missing = scratch("missing-dir").join("nope");
    let (loaded, errors) = plugin::load_dirs(&[&missing]);
    assert!(loaded.is_empty());
    let message = errors[0].to_string();
    assert!(
        message.contains("nope") && message.contains("[plugins] dirs"),
        "{message}"
    );
}

#[test]
fn a_library_without_the_entry_symbol_is_refused() {
    let path = lib(NO_SYMBOL);
    let error = load_plugin(&path, None).err().unwrap();
    let message = error.to_string();
    assert!(
        matches!(error, PluginError::MissingSymbol { .. }),
        "{message}"
    );
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains("does not export `tally_plugin_entry`")
            && message.contains("export_connector!"),
        "{message}"
    );
    // The host carries on: another plugin loads right after.
    assert_eq!(connector(&lib(BLUESKY)).describe().name, "bluesky");
}

#[test]
fn a_plugin_built_for_another_abi_version_is_refused_with_both_versions() {
    let path = lib(WRONG_ABI);
    let error = load_plugin(&path, None).err().unwrap();
    let message = error.to_string();
    let (current, next) = (
        tally_plugin_sdk::ABI_VERSION,
        tally_plugin_sdk::ABI_VERSION + 1,
    );
    assert!(
        matches!(error, PluginError::AbiMismatch { found, expected, .. } if found == next && expected == current),
        "{message}"
    );
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains(&format!("built for plugin ABI version {next}")),
        "{message}"
    );
    assert!(
        message.contains(&format!("speaks plugin ABI version {current}")),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "rebuild the plugin against tally-plugin-sdk {}",
            tally_plugin_sdk::SDK_VERSION
        )),
        "{message}"
    );
}

#[test]
fn a_sha256_pin_mismatch_is_refused_and_a_matching_pin_loads() {
    let path = lib(BLUESKY);
    let wrong = "0".repeat(64);
    let message = load_plugin(&path, Some(&wrong)).err().unwrap().to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains(&format!("pins {wrong}")) && message.contains("update the pin"),
        "{message}"
    );
    let digest = file_sha256(&path).unwrap();
    assert_eq!(digest.len(), 64);
    let pinned = load_plugin(&path, Some(&format!("sha256:{}", digest.to_uppercase()))).unwrap();
    assert_eq!(pinned[0].describe().name, "bluesky");

    // Pins by file name from a directory.
    let dir = scratch("pins");
    std::fs::copy(&path, dir.join(lib_name("tally_bluesky"))).unwrap();
    let pins = BTreeMap::from([(lib_name("tally_bluesky"), wrong)]);
    let (loaded, errors) = plugin::load_dirs_pinned(&[&dir], &pins);
    assert!(loaded.is_empty());
    assert!(
        matches!(errors[0], PluginError::HashMismatch { .. }),
        "{}",
        errors[0]
    );
}

#[test]
fn a_connector_name_that_clashes_is_refused_by_the_catalog() {
    let dir = scratch("clash");
    let first = c_plugin(&dir, "a_first", &[]);
    c_plugin(&dir, "b_second", &[]);
    let mut catalog = Catalog::default();
    let (registered, errors) = plugin::load_into(&mut catalog, &[&dir], &BTreeMap::new());
    assert_eq!(registered.len(), 1);
    assert_eq!(
        catalog.get("c-minimal").unwrap().origin,
        Origin::Plugin(first)
    );
    assert_eq!(errors.len(), 1);
    let message = errors[0].to_string();
    assert!(
        matches!(errors[0], PluginError::Catalog { .. }),
        "{message}"
    );
    assert!(
        message.contains("connector `c-minimal`")
            && message.contains("libb_second")
            && message.contains("clashes with the one from")
            && message.contains("liba_first")
            && message.contains("rename one"),
        "{message}"
    );
}

#[test]
fn a_description_that_does_not_validate_is_refused() {
    let dir = scratch("bad-description");
    let path = c_plugin(
        &dir,
        "bad_description",
        &["-DTALLY_C_DECLARED=\"audience.fans\""],
    );
    let error = load_plugin(&path, None).err().unwrap();
    let message = error.to_string();
    assert!(
        matches!(error, PluginError::InvalidDescription { .. }),
        "{message}"
    );
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains("`audience.fans`, which is not canonical"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_written_in_c_against_the_header_pulls_through_the_host() {
    let dir = scratch("c-minimal");
    let plugin = connector(&c_plugin(&dir, "c_minimal", &[]));
    let server = followers_server(42).await;
    let http = no_auth_http(&server.uri(), plugin.as_ref());
    let mut source = Source::new(server.uri(), json!({}));

    let buffer = tally_testkit::pull(plugin.as_ref(), &http, &source)
        .await
        .unwrap();
    assert_eq!(buffer.points.len(), 1);
    let point = &buffer.points[0];
    assert_eq!(
        (point.metric.as_str(), point.value, point.entity.id.as_str()),
        ("audience.followers", 42.0, "c-account")
    );
    assert_eq!(
        point.time,
        PointTime::At("2026-06-01T12:00:00Z".parse().unwrap())
    );
    assert_eq!(buffer.state, Some(json!({"pulls": 1})));
    // Its request went through the host client.
    assert_eq!(http.counts().snapshot().0, 1);

    // State saved by one pull is read by the next.
    source.state = buffer.state.clone();
    let buffer = tally_testkit::pull(plugin.as_ref(), &http, &source)
        .await
        .unwrap();
    assert_eq!(buffer.state, Some(json!({"pulls": 2})));

    let checked = tally_testkit::check(plugin.as_ref(), &http, &source)
        .await
        .unwrap();
    assert_eq!(checked, "a plugin written in C");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quota_a_plugin_reports_across_the_abi_stops_its_next_request_unsent() {
    let dir = scratch("c-stated-quota");
    let plugin = connector(&c_plugin(&dir, "c_stated", &["-DTALLY_C_STATED_QUOTA"]));
    let server = followers_server(42).await;
    let http = no_auth_http(&server.uri(), plugin.as_ref());
    let source = Source::new(server.uri(), json!({}));

    // The first pull is answered, and the plugin reports its bucket spent.
    let buffer = tally_testkit::pull(plugin.as_ref(), &http, &source)
        .await
        .unwrap();
    assert_eq!(buffer.points.len(), 1);

    // The next request names the same budget: the host refuses it unsent.
    let e = tally_testkit::pull(plugin.as_ref(), &http, &source)
        .await
        .unwrap_err();
    assert_eq!(
        e,
        ConnectorError::Http(HttpError::QuotaStated {
            budget: "c-budget".into(),
            bucket: "requestsPerHour".into(),
            remaining: 0,
            cost: 1,
            resets_at: "2099-01-01T00:00:00+00:00".into(),
        })
    );
    assert_eq!(http.counts().snapshot().0, 1, "one request sent in all");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pull_that_times_out_is_cancelled_at_once_and_the_plugin_pulls_again() {
    let dir = scratch("c-cancel");
    let plugin = connector(&c_plugin(&dir, "c_cancel", &[]));
    let slow = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/followers"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string("5")
                .set_delay(Duration::from_secs(30)),
        )
        .mount(&slow)
        .await;
    let http = no_auth_http(&slow.uri(), plugin.as_ref());
    let source = Source::new(slow.uri(), json!({}));
    let mut buffer = PointBuffer::new("c-minimal");
    let started = Instant::now();
    let outcome = tokio::time::timeout(
        Duration::from_millis(200),
        plugin.pull(&source.context(&http), &mut buffer),
    )
    .await;
    // The plugin waits for its response without holding a thread, so the
    // timeout drops the pull (and the plugin's `cancel` releases the call) at
    // once instead of after the server's 30 seconds.
    assert!(outcome.is_err(), "the pull should have timed out");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(buffer.points.is_empty() && buffer.state.is_none());

    // The plugin is unharmed: the next pull of a responsive source completes.
    let server = followers_server(9).await;
    let http = no_auth_http(&server.uri(), plugin.as_ref());
    let buffer = tally_testkit::pull(
        plugin.as_ref(),
        &http,
        &Source::new(server.uri(), json!({})),
    )
    .await
    .unwrap();
    assert_eq!(buffer.points[0].value, 9.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panic_in_a_plugin_fails_only_that_source_and_the_others_complete() {
    let sandbox = Sandbox::start("127.0.0.1:0".parse().unwrap(), SandboxOptions::default())
        .await
        .unwrap();
    let mut catalog = Catalog::default();
    let loaded = vec![
        open_plugin(&lib(PANICKING), None).unwrap(),
        open_plugin(&lib(BLUESKY), None).unwrap(),
    ];
    let (_, errors) = plugin::register(&mut catalog, loaded);
    assert!(errors.is_empty(), "{errors:?}");
    let host = HostHttp::new(
        tally_testkit::http_settings(),
        Arc::new(MemoryLedger::default()),
    )
    .unwrap();
    let store = Arc::new(Mutex::new(Store::open_in_memory().unwrap()));
    let engine = Engine::new(host, store, Arc::new(catalog));
    let sources: Vec<SourceConfig> = serde_json::from_value(json!([
        {"id": "boom", "connector": "panicking"},
        {"id": "sky", "connector": "bluesky", "base_url": sandbox.base_url("bluesky"),
         "settings": {"actor": tally_sandbox::SAMPLE_BLUESKY_ACTOR, "max_posts": 10}},
    ]))
    .unwrap();

    let outcomes = engine.pull_all(sources.clone(), 2, |_| {}).await;

    let SourceStatus::Failed(reason) = &outcomes[0].status else {
        panic!("the panicking source did not fail: {:?}", outcomes[0]);
    };
    let path = lib(PANICKING).display().to_string();
    assert!(reason.contains(&path), "{reason}");
    assert!(
        reason.contains("panicked in `pull`: the fixture panics in pull on purpose"),
        "{reason}"
    );
    assert_eq!(
        outcomes[0].counts.inserted, 0,
        "nothing of a failed pull is stored"
    );
    assert_eq!(outcomes[1].status, SourceStatus::Ok, "{:?}", outcomes[1]);
    assert!(outcomes[1].counts.inserted > 3);

    // The process and the plugin are still usable: the same pulls run again.
    let again = engine.pull_all(sources, 2, |_| {}).await;
    assert!(matches!(again[0].status, SourceStatus::Failed(_)));
    assert_eq!(again[1].status, SourceStatus::Ok);

    // A panic in `check` is caught the same way.
    let panicking = connector(&lib(PANICKING));
    let http = no_auth_http("http://127.0.0.1:9", panicking.as_ref());
    let e = tally_testkit::check(
        panicking.as_ref(),
        &http,
        &Source::new("http://127.0.0.1:9", json!({})),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        e.contains(&path) && e.contains("panicked in `check`"),
        "{e}"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_metric_from_a_plugin_is_refused_by_the_host() {
    let dir = scratch("unknown-metric");
    let plugin = connector(&c_plugin(
        &dir,
        "unknown_metric",
        &[
            "-DTALLY_C_METRIC=\"audience.follower\"",
            "-DTALLY_C_DECLARED=\"audience.followers\"",
        ],
    ));
    let server = followers_server(7).await;
    let http = no_auth_http(&server.uri(), plugin.as_ref());
    let mut buffer = PointBuffer::new("c-minimal");
    let source = Source::new(server.uri(), json!({}));
    let error = plugin
        .pull(&source.context(&http), &mut buffer)
        .await
        .unwrap_err();
    // The host's own typed schema error comes back, not a stringly copy.
    assert!(
        matches!(&error, ConnectorError::Schema { error: SchemaError::UnknownMetric { metric, .. }, .. } if metric == "audience.follower"),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("did you mean `audience.followers`"),
        "{error}"
    );
    assert!(buffer.points.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_undecodable_point_batch_fails_the_pull_and_nothing_is_kept() {
    let dir = scratch("bad-batch");
    let path = c_plugin(&dir, "bad_batch", &["-DTALLY_C_BAD_BATCH"]);
    let plugin = connector(&path);
    let server = followers_server(7).await;
    let http = no_auth_http(&server.uri(), plugin.as_ref());
    let mut buffer = PointBuffer::new("c-minimal");
    let source = Source::new(server.uri(), json!({}));
    let error = plugin
        .pull(&source.context(&http), &mut buffer)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!(
            "plugin {} emitted a point batch that does not decode",
            path.display()
        )),
        "{error}"
    );
    assert!(
        error.contains("point 0 at byte") && error.contains("the batch ends inside the raw name"),
        "{error}"
    );
    // Nothing half-decoded reached the emitter, and no state was saved.
    assert!(buffer.points.is_empty());
    assert_eq!(buffer.state, None);
}

#[tokio::test]
async fn a_plugin_waiting_with_no_request_in_flight_fails_instead_of_hanging() {
    let dir = scratch("c-stall");
    let path = c_plugin(&dir, "c_stall", &["-DTALLY_C_STALL"]);
    let plugin = connector(&path);
    let server = followers_server(3).await;
    let http = no_auth_http(&server.uri(), plugin.as_ref());
    let mut buffer = PointBuffer::new("c-minimal");
    let source = Source::new(server.uri(), json!({}));
    let error = tokio::time::timeout(
        Duration::from_secs(10),
        plugin.pull(&source.context(&http), &mut buffer),
    )
    .await
    .expect("the host must not wait for a resume that cannot come")
    .unwrap_err()
    .to_string();
    assert!(error.contains(&path.display().to_string()), "{error}");
    assert!(
        error.contains("`pull` returned PENDING with no HTTP request in flight"),
        "{error}"
    );
    assert!(buffer.points.is_empty());
}

#[tokio::test]
async fn an_undecodable_buffer_is_an_error_naming_the_plugin_and_function() {
    let dir = scratch("garbage-output");
    let path = c_plugin(&dir, "garbage_output", &["-DTALLY_C_GARBAGE"]);
    let plugin = connector(&path);
    let http = no_auth_http("http://127.0.0.1:9", plugin.as_ref());
    let source = Source::new("http://127.0.0.1:9", json!({}));
    let error = tally_testkit::pull(plugin.as_ref(), &http, &source)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains(&path.display().to_string()), "{error}");
    assert!(
        error.contains("`pull` returned a buffer that is not the documented JSON"),
        "{error}"
    );
    assert!(
        error.contains("this is not JSON") && error.contains("bug in the plugin"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_500_goes_through_the_host_retries_and_becomes_the_sources_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500).set_body_string("upstream down"))
        .mount(&server)
        .await;
    let plugin = connector(&lib(BLUESKY));
    let http = no_auth_http(&server.uri(), plugin.as_ref());
    let source = Source::new(server.uri(), json!({"actor": "alice.test"}));
    let error = tally_testkit::pull(plugin.as_ref(), &http, &source)
        .await
        .unwrap_err();
    let attempts = tally_testkit::http_settings().max_attempts;
    assert!(
        matches!(&error, ConnectorError::Http(HttpError::RetriesExhausted { status: 500, attempts: a, .. }) if *a == attempts),
        "{error}"
    );
    assert!(
        error.to_string().contains("/app.bsky.actor.getProfile"),
        "{error}"
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        attempts as usize
    );
    let (requests, retries, _) = http.counts().snapshot();
    assert_eq!(
        (requests, retries),
        (u64::from(attempts), u64::from(attempts - 1))
    );
}

#[tokio::test]
async fn the_bluesky_plugin_pulls_the_sandbox_end_to_end_through_the_host_limiter() {
    let mut options = SandboxOptions::default();
    // Without usage headers the declared rate is all the host can pace by
    // (stated ones would let it go as fast as the 3000 left allow).
    options.limits.usage_headers = false;
    let seed = options.seed;
    let sandbox = Sandbox::start("127.0.0.1:0".parse().unwrap(), options)
        .await
        .unwrap();
    let plugin = connector(&lib(BLUESKY));
    let description = plugin.describe();
    assert_eq!(description.name, "bluesky");
    // Paced by the host at 20 requests per second, one at a time.
    let spec = tally_host::http::SourceHttpSpec {
        rate_limit: RateLimitSpec {
            requests: 20,
            per_seconds: 1,
            burst: 1,
        },
        ..tally_testkit::spec_for(&sandbox.base_url("bluesky"), &description, Credential::None)
    };
    let http = tally_testkit::source_http(spec);

    // The sample account: profile counts and own posts, reposts skipped.
    let actor = tally_sandbox::SAMPLE_BLUESKY_ACTOR;
    let source = Source::new(
        sandbox.base_url("bluesky"),
        json!({ "actor": actor, "max_posts": 1000 }),
    );
    let buffer = tally_testkit::pull(plugin.as_ref(), &http, &source)
        .await
        .unwrap();
    let expected = tally_sandbox::data::bluesky_profile(seed, actor, chrono::Utc::now()).unwrap();
    let account: Vec<(&str, f64)> = buffer.points[..3]
        .iter()
        .map(|p| (p.metric.as_str(), p.value))
        .collect();
    assert_eq!(
        account,
        vec![
            ("audience.followers", expected.followers as f64),
            ("audience.following", expected.follows as f64),
            ("content.posts", expected.posts.len() as f64),
        ]
    );
    assert_eq!(buffer.points[0].entity.id, expected.did);
    assert!(
        !expected.reposts.is_empty(),
        "the sample account reposts others"
    );
    let likes = |points: &[tally_model::Point]| -> Vec<(String, f64)> {
        points
            .iter()
            .filter(|p| p.metric == "engagement.likes")
            .map(|p| (p.entity.id.to_string(), p.value))
            .collect()
    };
    let want: Vec<(String, f64)> = expected
        .posts
        .iter()
        .map(|p| (p.uri.clone(), p.likes as f64))
        .collect();
    assert_eq!(
        likes(&buffer.points),
        want,
        "own posts in feed order, reposts skipped"
    );

    // A large account: cursor pagination, every request paced by the host.
    let bulk = format!("{}250.test", tally_sandbox::data::BLUESKY_BULK_PREFIX);
    let source = Source::new(
        sandbox.base_url("bluesky"),
        json!({ "actor": bulk, "max_posts": 1000 }),
    );
    let before = http.counts().snapshot().0;
    let started = Instant::now();
    let buffer = tally_testkit::pull(plugin.as_ref(), &http, &source)
        .await
        .unwrap();
    let elapsed = started.elapsed();
    let expected = tally_sandbox::data::bluesky_profile(seed, &bulk, chrono::Utc::now()).unwrap();
    let want: Vec<(String, f64)> = expected
        .posts
        .iter()
        .map(|p| (p.uri.clone(), p.likes as f64))
        .collect();
    assert!(want.len() > 200);
    assert_eq!(likes(&buffer.points), want);
    let requests = http.counts().snapshot().0 - before;
    assert_eq!(
        requests,
        1 + want.len().div_ceil(100) as u64,
        "profile and one request per 100 posts"
    );
    let min = Duration::from_millis(50) * (requests as u32 - 1);
    assert!(
        elapsed >= min.mul_f64(0.9),
        "{requests} requests in {elapsed:?}: not paced"
    );

    // Every request went through the host client and none was throttled.
    let (requests, _, throttled) = http.counts().snapshot();
    let served = sandbox.stats().per_platform["bluesky"];
    assert_eq!((requests, throttled), (served.requests, 0));
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn youtube_built_in_and_as_a_plugin_produce_identical_points() {
    let sandbox = Sandbox::start("127.0.0.1:0".parse().unwrap(), SandboxOptions::default())
        .await
        .unwrap();
    let built_in = tally_youtube::Youtube;
    let plugin = connector(&lib(YOUTUBE));
    assert_eq!(plugin.describe(), built_in.describe());

    let base = sandbox.base_url("youtube");
    let source = Source::new(
        base.clone(),
        json!({ "channel_id": tally_sandbox::SAMPLE_YOUTUBE_CHANNEL }),
    );
    let credential =
        || tally_testkit::api_key(&built_in.describe(), tally_sandbox::SAMPLE_YOUTUBE_API_KEY);

    let http = tally_testkit::host_for(&base, &built_in.describe(), credential());
    let direct = tally_testkit::pull(&built_in, &http, &source)
        .await
        .unwrap();
    let http = tally_testkit::host_for(&base, &built_in.describe(), credential());
    let via_plugin = tally_testkit::pull(plugin.as_ref(), &http, &source)
        .await
        .unwrap();

    assert!(direct.points.len() > 3, "the channel and some videos");
    assert_eq!(via_plugin.points, direct.points);
    assert_eq!(via_plugin.state, direct.state);
    sandbox.shutdown().await;
}
