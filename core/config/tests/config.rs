//! `tally.toml` loading: a full valid config, the shipped example, and one test
//! per mistake a user can make, asserting the location, key path and fix.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::time::Duration;
use tally_config::{
    self, AuthMethod, Config, ConfigErrors, CostPeriod, GoalKind, GoalPeriod, ParseContext,
    Schedule,
};
use tally_model::{AuthKind, Description, QuotaSpec, QuotaWindow, RateLimitSpec, SettingSpec};

fn youtube() -> Description {
    Description {
        name: "youtube".into(),
        platform: "youtube".into(),
        summary: "YouTube channel statistics".into(),
        default_base_url: "https://www.googleapis.com/youtube/v3".into(),
        metrics: vec!["audience.followers".into(), "reach.views".into()],
        settings: vec![
            SettingSpec::required("channel_id", "the channel id, starting with UC"),
            SettingSpec::optional("max_videos", "most recent videos to pull"),
        ],
        auth: vec![AuthKind::ApiKey {
            query_param: Some("key".into()),
            header: None,
        }],
        rate_limit: RateLimitSpec {
            requests: 100,
            per_seconds: 100,
            burst: 10,
        },
        usage_headers: None,
        api_version: None,
        throttle_errors: None,
        quota: Some(QuotaSpec {
            units: 10_000,
            window: QuotaWindow::Day,
            timezone: "America/Los_Angeles".into(),
        }),
    }
}

fn mastodon() -> Description {
    Description {
        name: "mastodon".into(),
        platform: "mastodon".into(),
        summary: "Mastodon account statistics".into(),
        default_base_url: "https://mastodon.social".into(),
        metrics: vec!["audience.followers".into()],
        settings: vec![
            SettingSpec::required("acct", "the account as user@instance"),
            SettingSpec::optional("max_statuses", "most recent statuses to pull"),
            SettingSpec::optional("exclude_replies", "leave replies out"),
        ],
        auth: vec![AuthKind::None, AuthKind::Bearer],
        rate_limit: RateLimitSpec {
            requests: 300,
            per_seconds: 300,
            burst: 10,
        },
        usage_headers: None,
        api_version: None,
        throttle_errors: None,
        quota: None,
    }
}

fn connectors() -> Vec<Description> {
    vec![youtube(), mastodon()]
}

fn env(name: &str) -> Option<String> {
    match name {
        "YOUTUBE_API_KEY" => Some("AIza-super-secret-key".into()),
        "BASE" => Some("http://127.0.0.1:8080".into()),
        "PG_PASSWORD" => Some("pg-s3cr3t-pw".into()),
        _ => None,
    }
}

fn parse_in(text: &str, dir: &Path) -> Result<Config, ConfigErrors> {
    tally_config::parse_with(
        text,
        "tally.toml",
        &connectors(),
        &ParseContext {
            base_dir: dir,
            env: &env,
        },
    )
}

fn parse(text: &str) -> Result<Config, ConfigErrors> {
    parse_in(text, Path::new("/etc/tally"))
}

/// The error text of a config that must fail; also checks no secret leaked.
fn fail(text: &str) -> String {
    let errors = parse(text).expect_err("config should be refused");
    let msg = errors.to_string();
    assert!(
        !msg.contains("AIza-super-secret-key"),
        "secret leaked: {msg}"
    );
    msg
}

const MINIMAL_SOURCE: &str = r#"
[[sources]]
id = "yt"
connector = "youtube"
[sources.settings]
channel_id = "UC1"
[sources.auth]
kind = "api_key"
api_key = "k"
"#;

#[test]
fn a_full_config_round_trips_into_typed_values() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("secrets")).unwrap();
    std::fs::write(
        dir.path().join("secrets/client_secret"),
        "from-file-secret\n",
    )
    .unwrap();
    let text = r#"
[storage]
path = "data/tally.db"

[plugins]
dirs = ["plugins", "/opt/tally/plugins"]

[server]
listen = "0.0.0.0:9000"

[http]
connect_timeout = "5s"
timeout = "20s"
max_attempts = 3
max_concurrency = 2
backoff_base = "100ms"
backoff_max = "1s"

[[clients]]
id = "bakery"
name = "Corner Bakery"
timezone = "America/Chicago"

[[clients]]
id = "gym"
name = "Gym"

[[sources]]
id = "bakery-youtube"
connector = "youtube"
client = "bakery"
every = "6h"
base_url = "${BASE}/youtube/v3"
max_pages = 5
timeout = "60s"
enabled = false
[sources.rate_limit]
requests = 50
per = "1m"
[sources.quota]
units = 5000
[sources.settings]
channel_id = "UC1"
max_videos = 20
[sources.auth]
kind = "api_key"
api_key = "${YOUTUBE_API_KEY}"

[[sources]]
id = "gym-mastodon"
connector = "mastodon"
client = "gym"
every = "0 6 * * 1-5"
[sources.settings]
acct = "gym@example.social"
exclude_replies = true

[[sources]]
id = "oauth"
connector = "oauthy"
[sources.auth]
kind = "oauth2"
client_id = "cid"
client_secret_file = "secrets/client_secret"
scopes = ["read", "write"]
auth_url = "https://example.com/auth"
token_url = "https://example.com/token"
redirect_port = 8765

[[goals]]
id = "subs"
client = "bakery"
metric = "audience.followers"
sources = ["bakery-youtube"]
platform = "youtube"
kind = "growth"
target = 100
period = "month"

[[goals]]
id = "views-spring"
client = "bakery"
metric = "reach.views"
kind = "total"
target = 10000.5
start = 2026-03-01
end = "2026-06-01"

[[goals]]
id = "level"
client = "gym"
metric = "reviews.count"
kind = "level"
target = 50
by = 2026-06-30

[[goals]]
id = "cpl"
client = "bakery"
kind = "ratio"
numerator = "cost.spend"
denominator = "conversions.leads"
at_most = 20
period = "quarter"

[[costs]]
client = "bakery"
name = "retainer"
amount = 1500
currency = "USD"
period = "month"

[[costs]]
client = "gym"
name = "event"
amount = 99.5
currency = "EUR"
period = "once"
date = 2026-03-14
"#;
    let mut descs = connectors();
    let mut oauthy = mastodon();
    oauthy.name = "oauthy".into();
    oauthy.settings.clear();
    oauthy.auth = vec![AuthKind::OAuth2 {
        auth_url: "https://x/auth".into(),
        token_url: "https://x/token".into(),
        scopes: vec![],
        pkce: true,
        quirks: vec![],
    }];
    descs.push(oauthy);
    let c = tally_config::parse_with(
        text,
        "tally.toml",
        &descs,
        &ParseContext {
            base_dir: dir.path(),
            env: &env,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(c.storage.path, dir.path().join("data/tally.db"));
    assert_eq!(
        c.plugins.dirs,
        vec![
            dir.path().join("plugins"),
            PathBuf::from("/opt/tally/plugins")
        ]
    );
    assert_eq!(c.server.listen.to_string(), "0.0.0.0:9000");
    assert_eq!(
        (
            c.http.connect_timeout,
            c.http.timeout,
            c.http.max_attempts,
            c.http.max_concurrency
        ),
        (Duration::from_secs(5), Duration::from_secs(20), 3, 2)
    );
    assert_eq!(
        (c.http.backoff_base, c.http.backoff_max),
        (Duration::from_millis(100), Duration::from_secs(1))
    );
    assert!(c.deprecations.is_empty(), "{:?}", c.deprecations);

    assert_eq!(c.clients.len(), 2);
    assert_eq!(
        c.client("bakery").unwrap().timezone,
        chrono_tz::America::Chicago
    );
    assert_eq!(c.client("gym").unwrap().timezone, chrono_tz::UTC);

    let yt = c.source("bakery-youtube").unwrap();
    assert_eq!(yt.connector, "youtube");
    assert_eq!(yt.client.as_deref(), Some("bakery"));
    assert_eq!(
        yt.every,
        Some(Schedule::Every(Duration::from_secs(6 * 3600)))
    );
    assert_eq!(
        yt.base_url.as_deref(),
        Some("http://127.0.0.1:8080/youtube/v3")
    );
    assert_eq!(
        (yt.max_pages, yt.timeout, yt.enabled),
        (5, Some(Duration::from_secs(60)), false)
    );
    let rate = yt.rate_limit.unwrap().apply(youtube().rate_limit);
    assert_eq!((rate.requests, rate.per_seconds, rate.burst), (50, 60, 10));
    assert_eq!(yt.quota.unwrap().units, 5000);
    assert_eq!(
        yt.settings,
        serde_json::json!({"channel_id": "UC1", "max_videos": 20})
    );
    let auth = &yt.auth;
    assert_eq!(auth.kind, AuthMethod::ApiKey);
    assert_eq!(
        auth.api_key.as_ref().unwrap().expose(),
        "AIza-super-secret-key"
    );

    let m = c.source("gym-mastodon").unwrap();
    assert_eq!(m.every, Some(Schedule::Cron("0 6 * * 1-5".into())));
    assert_eq!(
        (m.max_pages, m.timeout, m.enabled, m.base_url.as_ref()),
        (1000, None, true, None)
    );
    assert!(m.rate_limit.is_none() && m.quota.is_none());
    // No [sources.auth]: the connector's default kind, without credentials.
    assert_eq!(m.auth.kind, AuthMethod::None);
    assert!(m.auth.token.is_none());

    let o = &c.source("oauth").unwrap().auth;
    assert_eq!(o.kind, AuthMethod::OAuth2);
    assert_eq!(
        o.client_secret.as_ref().unwrap().expose(),
        "from-file-secret"
    );
    assert_eq!(
        o.scopes.as_deref(),
        Some(&["read".to_string(), "write".to_string()][..])
    );
    assert_eq!(o.redirect_port, Some(8765));
    assert_eq!(o.token_url.as_deref(), Some("https://example.com/token"));

    assert_eq!(c.goals.len(), 4);
    assert_eq!(
        (c.goals[0].kind, c.goals[0].period, c.goals[0].target),
        (GoalKind::Growth, Some(GoalPeriod::Month), Some(100.0))
    );
    assert_eq!(c.goals[0].platform.as_deref(), Some("youtube"));
    assert_eq!(c.goals[1].start.unwrap().to_string(), "2026-03-01");
    assert_eq!(c.goals[1].end.unwrap().to_string(), "2026-06-01");
    assert_eq!(c.goals[2].by.unwrap().to_string(), "2026-06-30");
    assert_eq!(
        (c.goals[3].kind, c.goals[3].at_most),
        (GoalKind::Ratio, Some(20.0))
    );
    assert_eq!(c.goals[3].denominator.as_deref(), Some("conversions.leads"));

    assert_eq!(c.costs[0].currency.as_str(), "USD");
    assert_eq!(
        (c.costs[1].period, c.costs[1].amount),
        (CostPeriod::Once, 99.5)
    );
    assert_eq!(c.costs[1].date.unwrap().to_string(), "2026-03-14");

    // Debug never shows a secret.
    let debug = format!("{c:?}");
    assert!(
        !debug.contains("AIza-super-secret-key") && !debug.contains("from-file-secret"),
        "{debug}"
    );
    assert!(debug.contains("[redacted]"));
}

#[test]
fn an_empty_file_gives_the_defaults() {
    let c = tally_config::parse("", "tally.toml", &connectors()).unwrap();
    assert_eq!(c.storage.path, PathBuf::from("tally.db"));
    assert!(c.plugins.dirs.is_empty());
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:9464");
    assert_eq!(
        (
            c.http.max_attempts,
            c.http.max_concurrency,
            c.http.backoff_max
        ),
        (5, 8, Duration::from_secs(30))
    );
    assert!(c.sources.is_empty());
}

#[test]
fn the_shipped_example_is_valid_and_covers_every_option() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config.example.toml");
    let text = std::fs::read_to_string(&path).expect("config.example.toml at the workspace root");
    let c = parse_in(&text, path.parent().unwrap()).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.source("bakery-youtube").is_some() && c.source("bakery-mastodon").is_some());
    assert_eq!(c.goals.len(), 3);
    assert_eq!(c.costs.len(), 2);

    // Every key of every table appears in the example, commented out or not.
    let keys = [
        "path",
        "dirs",
        "files",
        "listen",
        "[schedule]",
        "catch_up",
        "max_jitter",
        "boundary_captures",
        "per_platform_concurrency",
        "shutdown_grace",
        "reports_dir",
        "lookback_days",
        "connect_timeout",
        "timeout",
        "max_attempts",
        "max_concurrency",
        "backoff_base",
        "backoff_max",
        "id",
        "name",
        "timezone",
        "connector",
        "client",
        "every",
        "base_url",
        "max_pages",
        "enabled",
        "[sources.rate_limit]",
        "requests",
        "per",
        "burst",
        "[sources.quota]",
        "units",
        "[sources.settings]",
        "channel_id",
        "max_videos",
        "acct",
        "max_statuses",
        "exclude_replies",
        "[sources.auth]",
        "kind",
        "api_key",
        "api_key_file",
        "token",
        "token_file",
        "client_id",
        "client_secret",
        "client_secret_file",
        "refresh_token",
        "refresh_token_file",
        "scopes",
        "auth_url",
        "token_url",
        "redirect_port",
        "credential",
        "key_file",
        "[auth]",
        "tokens_dir",
        "key_file",
        "metric",
        "sources",
        "platform",
        "target",
        "period",
        "start",
        "end",
        "by",
        "at_most",
        "at_least",
        "numerator",
        "denominator",
        "amount",
        "currency",
        "date",
        "value_per_lead",
        "value_per_conversion",
        "rates",
        "settle_days",
    ];
    for key in keys {
        let written = text.lines().any(|l| {
            let l = l.trim_start_matches([' ', '#']);
            l.starts_with(&format!("{key} =")) || l.starts_with(key) && key.starts_with('[')
        });
        assert!(written, "config.example.toml does not document `{key}`");
    }

    // And the example loads from disk through `load` once the key is set.
    let errors = tally_config::load(&path, &connectors());
    if std::env::var("YOUTUBE_API_KEY").is_err() {
        let msg = errors.unwrap_err().to_string();
        assert!(
            msg.contains("environment variable YOUTUBE_API_KEY is not set"),
            "{msg}"
        );
        assert!(msg.contains("config.example.toml:"), "{msg}");
    }
}

#[test]
fn malformed_toml_points_at_the_line_and_column() {
    let msg = fail("[storage]\npath = \"tally.db\"\n[[sources]\nid = 1\n");
    assert!(msg.starts_with("tally.toml:3:"), "{msg}");
    assert!(msg.contains("not valid TOML"), "{msg}");
    let msg = fail("[storage]\npath = tally.db\n");
    assert!(msg.starts_with("tally.toml:2:8"), "{msg}");
}

#[test]
fn unknown_setting_key_suggests_from_the_connector() {
    let text = MINIMAL_SOURCE.replace(
        "channel_id = \"UC1\"",
        "channel_id = \"UC1\"\nchanel_id = \"UC1\"",
    );
    let msg = fail(&text);
    assert!(
        msg.contains("tally.toml:7:1: sources[0].settings.chanel_id: unknown key `chanel_id`"),
        "{msg}"
    );
    assert!(msg.contains("did you mean `channel_id`?"), "{msg}");
    assert!(msg.contains("`max_videos`"), "{msg}");
}

#[test]
fn unknown_keys_in_fixed_tables_suggest_the_field() {
    let msg =
        fail("[http]\ntimout = \"3s\"\n\n[storage]\npaht = \"x.db\"\n[[source]]\nid = \"x\"\n");
    let lines: Vec<&str> = msg.lines().collect();
    assert_eq!(lines.len(), 3, "{msg}");
    assert!(
        lines[0].starts_with(
            "tally.toml:2:1: http.timout: unknown key `timout` in [http]; did you mean `timeout`?"
        ),
        "{msg}"
    );
    assert!(
        lines[1].starts_with(
            "tally.toml:5:1: storage.paht: unknown key `paht` in [storage]; did you mean `path`?"
        ),
        "{msg}"
    );
    assert!(
        lines[2].contains("unknown key `source` in the top level; did you mean `sources`?"),
        "{msg}"
    );
}

#[test]
fn unknown_auth_key_is_rejected() {
    let msg =
        fail(&MINIMAL_SOURCE.replace("api_key = \"k\"", "api_key = \"k\"\napikey_file = \"x\""));
    assert!(msg.contains("tally.toml:10:1: sources[0].auth.apikey_file: unknown key `apikey_file` in [sources.auth]; did you mean `api_key_file`?"), "{msg}");
}

#[test]
fn unknown_connector_lists_the_known_ones() {
    let msg = fail(&MINIMAL_SOURCE.replace("connector = \"youtube\"", "connector = \"youtub\""));
    assert!(msg.contains("tally.toml:4:13: sources[0].connector: unknown connector `youtub`; did you mean `youtube`?"), "{msg}");
    assert!(
        msg.contains("known connectors: `youtube`, `mastodon`"),
        "{msg}"
    );
}

#[test]
fn missing_required_setting_names_it_and_its_description() {
    let msg = fail(&MINIMAL_SOURCE.replace("channel_id = \"UC1\"", "max_videos = 3"));
    assert!(msg.contains("tally.toml:5:1: sources[0].settings.channel_id: connector `youtube` needs setting `channel_id` (the channel id, starting with UC)"), "{msg}");
    // No settings table at all: pointed at the source.
    let msg = fail("[[sources]]\nid = \"m\"\nconnector = \"mastodon\"\n");
    assert!(
        msg.contains("sources[0].acct: connector `mastodon` needs setting `acct`"),
        "{msg}"
    );
    assert!(msg.starts_with("tally.toml:"), "{msg}");
}

#[test]
fn duplicate_source_ids_name_both_places() {
    let text = format!("{MINIMAL_SOURCE}{}", MINIMAL_SOURCE);
    let msg = fail(&text);
    assert!(msg.contains("tally.toml:12:6: sources[1].id: duplicate source id `yt`: sources[0] at tally.toml:3:6 already uses it"), "{msg}");
}

#[test]
fn a_source_client_must_be_defined() {
    let text = format!(
        "[[clients]]\nid = \"bakery\"\nname = \"B\"\n{}",
        MINIMAL_SOURCE.replace(
            "connector = \"youtube\"",
            "connector = \"youtube\"\nclient = \"bakerry\""
        )
    );
    let msg = fail(&text);
    assert!(msg.contains("tally.toml:8:10: sources[0].client: client `bakerry` is not defined by any [[clients]] entry; did you mean `bakery`?"), "{msg}");
}

#[test]
fn unset_environment_variable_names_it_and_where() {
    let msg = fail(&MINIMAL_SOURCE.replace("api_key = \"k\"", "api_key = \"${YOUTUBE_KEY}\""));
    assert_eq!(
        msg,
        "tally.toml:9:11: sources[0].auth.api_key: environment variable YOUTUBE_KEY is not set; export it before running tally (write `$${` for a literal `${`)"
    );
}

#[test]
fn interpolation_works_in_any_string_and_escapes() {
    let text = MINIMAL_SOURCE.replace(
        "channel_id = \"UC1\"",
        "channel_id = \"$${literal}-${BASE}\"",
    );
    let c = parse(&text).unwrap();
    assert_eq!(
        c.sources[0].settings["channel_id"],
        "${literal}-http://127.0.0.1:8080"
    );
}

#[test]
fn secrets_never_appear_in_errors() {
    // A secret from the environment in a key with the wrong kind is not echoed.
    let text = MINIMAL_SOURCE.replace(
        "api_key = \"k\"",
        "api_key = \"k\"\nredirect_port = \"${YOUTUBE_API_KEY}\"",
    );
    let msg = fail(&text);
    assert!(msg.contains("sources[0].auth.redirect_port"), "{msg}");
}

#[test]
fn an_unreadable_secret_file_names_the_path_not_the_content() {
    let dir = tempfile::tempdir().unwrap();
    let text = MINIMAL_SOURCE.replace("api_key = \"k\"", "api_key_file = \"missing.key\"");
    let msg = parse_in(&text, dir.path()).unwrap_err().to_string();
    assert!(
        msg.contains("tally.toml:9:16: sources[0].auth.api_key_file: cannot read secret file"),
        "{msg}"
    );
    assert!(msg.contains("missing.key"), "{msg}");

    std::fs::write(dir.path().join("present.key"), "file-secret-value\r\n").unwrap();
    let text = MINIMAL_SOURCE.replace("api_key = \"k\"", "api_key_file = \"present.key\"");
    let c = parse_in(&text, dir.path()).unwrap();
    assert_eq!(
        c.sources[0].auth.api_key.as_ref().unwrap().expose(),
        "file-secret-value"
    );

    // Both forms at once is refused, and the file's content is never printed.
    let text = MINIMAL_SOURCE.replace(
        "api_key = \"k\"",
        "api_key = \"k\"\napi_key_file = \"present.key\"\nscopes = [\"x\"]",
    );
    let msg = parse_in(&text, dir.path()).unwrap_err().to_string();
    assert!(
        msg.contains("both `api_key` and `api_key_file` are set"),
        "{msg}"
    );
    assert!(
        msg.contains("`scopes` is not used with kind = \"api_key\""),
        "{msg}"
    );
    assert!(!msg.contains("file-secret-value"), "{msg}");
}

#[test]
fn auth_kind_must_be_accepted_by_the_connector() {
    let msg = fail(&MINIMAL_SOURCE.replace(
        "kind = \"api_key\"\napi_key = \"k\"",
        "kind = \"bearer\"\ntoken = \"t\"",
    ));
    assert!(msg.contains("tally.toml:8:8: sources[0].auth.kind: connector `youtube` does not accept auth kind `bearer`; accepted kinds: `api_key`"), "{msg}");
    let msg = fail(&MINIMAL_SOURCE.replace("kind = \"api_key\"", "kind = \"api-key\""));
    assert!(msg.contains("sources[0].auth.kind: `api-key` is not one of `none`, `api_key`, `bearer`, `oauth2`, `client_credentials`, `service_account`; did you mean `api_key`?"), "{msg}");
    // A connector without `none` needs an auth table.
    let msg = fail("[[sources]]\nid = \"yt\"\nconnector = \"youtube\"\n[sources.settings]\nchannel_id = \"UC1\"\n");
    assert!(msg.contains("sources[0]: connector `youtube` needs credentials: add a [sources.auth] table with kind = \"api_key\""), "{msg}");
    // A kind's required key.
    let msg = fail(&MINIMAL_SOURCE.replace("api_key = \"k\"", ""));
    assert!(
        msg.contains(
            "sources[0].auth.api_key: kind = \"api_key\" needs `api_key` (or `api_key_file`)"
        ),
        "{msg}"
    );
}

#[test]
fn bad_every_is_explained() {
    let msg = fail(&MINIMAL_SOURCE.replace(
        "connector = \"youtube\"",
        "connector = \"youtube\"\nevery = \"6x\"",
    ));
    assert!(msg.contains("tally.toml:5:9: sources[0].every: the schedule is neither a duration nor a cron expression"), "{msg}");
    assert!(msg.contains("\"30m\", \"6h\" or \"1d\""), "{msg}");
    let msg = fail(&MINIMAL_SOURCE.replace(
        "connector = \"youtube\"",
        "connector = \"youtube\"\nevery = \"0 6 * *\"",
    ));
    assert!(
        msg.contains("sources[0].every: a cron expression has 5 fields"),
        "{msg}"
    );
}

#[test]
fn bad_timezone_suggests_the_nearest() {
    let msg = fail("[[clients]]\nid = \"b\"\nname = \"B\"\ntimezone = \"America/Chicgo\"\n");
    assert!(msg.contains("tally.toml:4:12: clients[0].timezone: not an IANA time zone name; did you mean `America/Chicago`?"), "{msg}");
}

#[test]
fn bad_currency_is_explained() {
    let text = "[[clients]]\nid = \"b\"\nname = \"B\"\n[[costs]]\nclient = \"b\"\nname = \"x\"\namount = 5\ncurrency = \"usd\"\nperiod = \"month\"\n";
    let msg = fail(text);
    assert!(msg.contains("tally.toml:8:12: costs[0].currency: a currency is an ISO 4217 code in upper case; did you mean `USD`?"), "{msg}");
    let msg = fail(&text.replace("\"usd\"", "\"dollars\""));
    assert!(
        msg.contains("costs[0].currency: a currency is a 3-letter ISO 4217 code"),
        "{msg}"
    );
    let msg = fail(
        &text
            .replace("\"usd\"", "\"USD\"")
            .replace("\"month\"", "\"once\""),
    );
    assert!(
        msg.contains("tally.toml:4:1: costs[0].date: a cost with period = \"once\" needs `date`"),
        "{msg}"
    );
}

#[test]
fn goal_references_and_metrics_are_checked() {
    let text = format!(
        "[[clients]]\nid = \"b\"\nname = \"B\"\n{MINIMAL_SOURCE}\n[[goals]]\nid = \"g\"\nclient = \"b\"\nmetric = \"audience.follower\"\nsources = [\"yt\", \"yt2\"]\nkind = \"growth\"\ntarget = 100\nperiod = \"month\"\n"
    );
    let msg = fail(&text);
    assert!(msg.contains("tally.toml:17:10: goals[0].metric: `audience.follower` is not a canonical metric; did you mean `audience.followers`?"), "{msg}");
    // A source no [[sources]] entry defines may be one `tally import` fills:
    // the config alone cannot tell, so it lists it for the store to decide.
    assert!(!msg.contains("yt2"), "{msg}");
    let c = parse(&text.replace("audience.follower\"", "audience.followers\""))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.unconfigured_goal_sources(),
        vec![tally_config::UnconfiguredSource {
            goal: "g".into(),
            source: "yt2".into(),
            hint: "; did you mean `yt`?".into(),
        }]
    );

    let msg = fail(
        &text
            .replace("audience.follower\"", "reach.impressions\"")
            .replace(", \"yt2\"", ""),
    );
    assert!(msg.contains("goals[0].metric: `reach.impressions` is a sum metric and a `growth` goal needs a gauge one"), "{msg}");

    // A goal's source must belong to the goal's client.
    let other = text
        .replace(
            "[[goals]]",
            "[[clients]]\nid = \"c\"\nname = \"C\"\n[[goals]]",
        )
        .replace(
            "connector = \"youtube\"",
            "connector = \"youtube\"\nclient = \"c\"",
        )
        .replace("audience.follower\"", "audience.followers\"")
        .replace(", \"yt2\"", "");
    let msg = fail(&other);
    assert!(
        msg.contains("goals[0].sources[0]: source `yt` belongs to client `c`, not `b`"),
        "{msg}"
    );
}

#[test]
fn goal_kind_rules_are_explained() {
    let base = "[[clients]]\nid = \"b\"\nname = \"B\"\n[[goals]]\nid = \"g\"\nclient = \"b\"\n";
    let msg = fail(&format!("{base}kind = \"ratio\"\nnumerator = \"cost.spend\"\nat_most = 20\nperiod = \"month\"\ntarget = 3\n"));
    assert!(
        msg.contains("goals[0].denominator: a `ratio` goal needs `denominator`"),
        "{msg}"
    );
    assert!(
        msg.contains("goals[0].target: `target` is not used by a `ratio` goal"),
        "{msg}"
    );
    let msg = fail(&format!(
        "{base}kind = \"total\"\nmetric = \"audience.followers\"\ntarget = 3\nstart = 2026-03-01\n"
    ));
    assert!(msg.contains("goals[0].metric: `audience.followers` is a gauge metric and a `total` goal needs a sum one"), "{msg}");
    assert!(
        msg.contains("goals[0].end: a one-off period needs both `start` and `end`"),
        "{msg}"
    );
    let msg = fail(&format!(
        "{base}kind = \"level\"\nmetric = \"reviews.count\"\ntarget = 3\nperiod = \"month\"\n"
    ));
    assert!(
        msg.contains("goals[0].by: a `level` goal needs `by`"),
        "{msg}"
    );
    assert!(
        msg.contains("goals[0].period: `period` is not used by a `level` goal"),
        "{msg}"
    );
    let msg = fail(&format!("{base}kind = \"growht\"\n"));
    assert!(msg.contains("goals[0].kind: `growht` is not one of `growth`, `total`, `level`, `ratio`; did you mean `growth`?"), "{msg}");
}

#[test]
fn all_errors_are_reported_at_once_in_file_order() {
    let text = r#"
[[clients]]
id = "b"
name = "B"
timezone = "Mars/Base"

[[sources]]
id = "yt"
connector = "youtube"
client = "nobody"
every = "often"
base_url = "ftp://example.com"
max_pages = "many"
[sources.settings]
chanel_id = "UC1"
[sources.auth]
kind = "api_key"
api_key = "${NOT_SET}"

[[costs]]
client = "b"
name = "x"
amount = 1
currency = "EURO"
period = "month"
"#;
    let errors = parse(text).unwrap_err();
    let msg = errors.to_string();
    let lines: Vec<&str> = msg.lines().collect();
    let expect = [
        "tally.toml:5:12: clients[0].timezone:",
        "tally.toml:10:10: sources[0].client:",
        "tally.toml:11:9: sources[0].every:",
        "tally.toml:12:12: sources[0].base_url:",
        "tally.toml:13:13: sources[0].max_pages:",
        "tally.toml:14:1: sources[0].settings.channel_id: connector `youtube` needs setting `channel_id`",
        "tally.toml:15:1: sources[0].settings.chanel_id: unknown key",
        "tally.toml:18:11: sources[0].auth.api_key: environment variable NOT_SET is not set",
        "tally.toml:24:12: costs[0].currency:",
    ];
    assert_eq!(lines.len(), expect.len(), "{msg}");
    for (line, want) in lines.iter().zip(expect) {
        assert!(line.contains(want), "expected `{want}` in `{line}`\n{msg}");
    }
    assert_eq!(errors.len(), expect.len());
}

#[test]
fn http_values_are_checked() {
    let msg = fail("[http]\nmax_attempts = 0\nbackoff_base = \"5s\"\nbackoff_max = \"100ms\"\n[server]\nlisten = \"nowhere\"\n");
    assert!(
        msg.contains("tally.toml:2:16: http.max_attempts: `max_attempts` must be at least 1"),
        "{msg}"
    );
    assert!(
        msg.contains("http.backoff_base: `backoff_base` (5s) is longer than `backoff_max` (100ms)"),
        "{msg}"
    );
    assert!(msg.contains("tally.toml:6:10: server.listen:"), "{msg}");
}

#[test]
fn missing_required_keys_are_named() {
    let msg = fail("[[sources]]\nid = \"x\"\n");
    assert!(
        msg.contains("sources[0].connector: missing required key `connector`"),
        "{msg}"
    );
    assert!(msg.starts_with("tally.toml:1:"), "{msg}");
}

#[test]
fn quota_override_needs_a_connector_quota() {
    let text = "[[sources]]\nid = \"m\"\nconnector = \"mastodon\"\n[sources.settings]\nacct = \"a@b\"\n[sources.quota]\nunits = 5\n";
    let msg = fail(text);
    assert!(
        msg.contains("sources[0].quota: connector `mastodon` has no cost-unit quota to override"),
        "{msg}"
    );
}

#[test]
fn load_reports_a_missing_file_and_resolves_paths_next_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let msg = tally_config::load(&missing, &connectors())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("cannot read config file") && msg.contains("nope.toml"),
        "{msg}"
    );

    let path = dir.path().join("tally.toml");
    std::fs::write(&path, "[storage]\npath = \"db/t.db\"\n").unwrap();
    let c = tally_config::load(&path, &connectors()).unwrap();
    assert_eq!(c.storage.path, dir.path().join("db/t.db"));
}

#[test]
fn the_token_store_sits_next_to_the_database_unless_auth_says_otherwise() {
    let c = parse("[storage]\npath = \"data/tally.db\"\n").unwrap();
    assert_eq!(
        tally_host::auth::tokens_dir(&c),
        Path::new("/etc/tally/data/tokens")
    );
    let c = parse("[auth]\ntokens_dir = \"secrets/tokens\"\nkey_file = \"secrets/token.key\"\n")
        .unwrap();
    assert_eq!(
        tally_host::auth::tokens_dir(&c),
        Path::new("/etc/tally/secrets/tokens")
    );
    assert_eq!(
        c.auth.key_file.as_deref(),
        Some(Path::new("/etc/tally/secrets/token.key"))
    );
    let msg = fail("[auth]\ntoken_dir = \"t\"\n");
    assert!(msg.contains("did you mean `tokens_dir`"), "{msg}");
}

#[test]
fn a_shared_credential_name_is_only_for_token_kinds() {
    let msg = fail(&MINIMAL_SOURCE.replace(
        "api_key = \"k\"",
        "api_key = \"k\"\ncredential = \"shared\"",
    ));
    assert!(
        msg.contains("`credential` is not used with kind = \"api_key\""),
        "{msg}"
    );
}

#[test]
fn old_numeric_duration_keys_still_load_and_are_reported_as_deprecated() {
    let text = "[http]\ntimeout_secs = 20\nbackoff_base_ms = 250\n\n[[sources]]\nid = \"m\"\nconnector = \"mastodon\"\ntimeout_secs = 60\n[sources.settings]\nacct = \"a@b.example\"\n[sources.rate_limit]\nrequests = 300\nper_seconds = 300\n";
    let c =
        tally_config::parse(text, "tally.toml", &connectors()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.http.timeout, Duration::from_secs(20));
    assert_eq!(c.http.backoff_base, Duration::from_millis(250));
    let m = c.source("m").unwrap();
    assert_eq!(m.timeout, Some(Duration::from_secs(60)));
    assert_eq!(m.rate_limit.unwrap().per, Duration::from_secs(300));
    let notes: Vec<String> = c.deprecations.iter().map(ToString::to_string).collect();
    assert_eq!(
        notes,
        [
            "tally.toml:2:1: `http.timeout_secs` is deprecated; write `timeout = \"20s\"` instead (it still works for now)",
            "tally.toml:3:1: `http.backoff_base_ms` is deprecated; write `backoff_base = \"250ms\"` instead (it still works for now)",
            "tally.toml:8:1: `sources[0].timeout_secs` is deprecated; write `timeout = \"60s\"` instead (it still works for now)",
            "tally.toml:13:1: `sources[0].rate_limit.per_seconds` is deprecated; write `per = \"300s\"` instead (it still works for now)",
        ]
    );
}

#[test]
fn an_old_key_beside_its_new_name_is_an_error() {
    let msg = fail("[http]\ntimeout = \"5s\"\ntimeout_secs = 20\n");
    assert!(
        msg.contains("tally.toml:3:1: http.timeout_secs: both `timeout_secs` and `timeout` are set; remove the deprecated `timeout_secs`"),
        "{msg}"
    );
}

#[test]
fn a_postgres_url_takes_its_password_from_the_environment_and_never_shows_it() {
    let c = parse("[storage]\nurl = \"postgres://tally:${PG_PASSWORD}@db.internal:5432/tally\"\n")
        .unwrap();
    let url = c.storage.url.as_ref().unwrap();
    assert_eq!(
        url.expose(),
        "postgres://tally:pg-s3cr3t-pw@db.internal:5432/tally"
    );
    let shown = format!("{:?}", c.storage);
    assert!(!shown.contains("pg-s3cr3t-pw"), "{shown}");
}

#[test]
fn a_postgres_password_file_is_read_relative_to_the_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pg.pass"), "file-s3cr3t-pw\n").unwrap();
    let c = parse_in(
        "[storage]\nurl = \"postgres://tally@db.internal/tally\"\npassword_file = \"pg.pass\"\n",
        dir.path(),
    )
    .unwrap();
    assert_eq!(
        c.storage.password.as_ref().map(|p| p.expose()),
        Some("file-s3cr3t-pw")
    );
    assert!(!format!("{:?}", c.storage).contains("file-s3cr3t-pw"));

    std::fs::write(dir.path().join("empty.pass"), "\n").unwrap();
    let msg = parse_in(
        "[storage]\nurl = \"postgres://tally@db.internal/tally\"\npassword_file = \"empty.pass\"\n",
        dir.path(),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        msg.lines().next().unwrap(),
        format!(
            "tally.toml:3:17: storage.password_file: password file {} is empty; put the password on its first line",
            dir.path().join("empty.pass").display()
        )
    );
}

#[test]
fn bad_storage_urls_and_password_files_are_refused_with_what_to_do() {
    let msg = fail("[storage]\nurl = \"mysql://tally@db/tally\"\n");
    assert_eq!(
        msg.lines().next().unwrap(),
        "tally.toml:2:7: storage.url: the url must start with `postgres://` (or `postgresql://`), e.g. \"postgres://tally@db.internal:5432/tally\"; for a SQLite file use `path`"
    );
    let msg = fail("[storage]\npassword_file = \"pg.pass\"\n");
    assert_eq!(
        msg.lines().next().unwrap(),
        "tally.toml:2:1: storage.password_file: `password_file` is the password of a PostgreSQL `url`, and no `url` is set; add `url = \"postgres://user@host/db\"` or remove `password_file`"
    );
    let msg =
        fail("[storage]\nurl = \"postgres://tally@db/tally\"\npassword_file = \"missing.pass\"\n");
    assert!(
        msg.starts_with("tally.toml:3:17: storage.password_file: cannot read password file /etc/tally/missing.pass: ")
            && msg.contains("create it or fix the path"),
        "{msg}"
    );
}
