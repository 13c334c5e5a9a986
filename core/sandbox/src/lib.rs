//! A local server that simulates the platform APIs Tally's connectors call
//! (YouTube Data v3, Mastodon, Bluesky, Google Analytics 4, Business
//! Profile, YouTube Analytics, Yelp Places, Eventbrite v3, SurveyMonkey v3
//! and X v2), for `tally demo`, integration tests,
//! benchmarks, and integrators trying a connector without credentials.
//!
//! Why a simulation and not recorded fixtures: connectors are only right if
//! they handle what real platforms do, so the sandbox serves the documented
//! paths, JSON shapes (down to YouTube's strings-for-numbers), pagination
//! (`pageToken`, `Link` headers, cursors), usage headers in each platform's
//! encoding, and each platform's throttling and error bodies. Its data is a
//! pure function of `(seed, entity id, day)` (see [`data`]), so any id exists,
//! thousands of sources cost nothing to set up, re-pulls on the same day agree,
//! and tests can compute the expected values without the server.
//!
//! Rate limits are enforced as exact token buckets per credential
//! ([`PlatformLimits`]): a client that paces itself at the documented rate
//! never sees a 429, which is what benchmarks measure. [`FaultOptions`] add
//! deterministic 500s, truncated JSON, latency, forced 429s and expiring OAuth
//! tokens, to exercise the host's retries and token refresh. Google's token
//! endpoint for service accounts verifies the RS256 signature of the JWT it is
//! sent against a test key ([`Sandbox::service_account_key_file`]), so the
//! host's signing is tested for real.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use tally_sandbox::{Sandbox, SandboxOptions};
//! let sandbox = Sandbox::start("127.0.0.1:0".parse().expect("addr"), SandboxOptions::default()).await?;
//! println!("{}", sandbox.sources_toml());
//! // ... point connectors at sandbox.base_url("youtube") ...
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```

pub mod data;

mod bluesky;
mod eventbrite;
mod faults;
mod gate;
mod google;
mod hash;
mod limit;
mod mastodon;
mod meta;
mod oauth;
mod platform;
mod registry;
mod state;
mod stats;
mod surveymonkey;
mod web;
mod x;
mod yelp;
mod youtube;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::middleware::from_fn_with_state;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use google::service_account::TokenGrants;
pub use stats::{PlatformStats, SandboxStats};

use platform::Platform;
use state::Shared;

/// The YouTube channel [`Sandbox::sources_toml`] configures (and `mine=true` returns).
pub const SAMPLE_YOUTUBE_CHANNEL: &str = "UCsandbox0001";
/// The API key [`Sandbox::sources_toml`] configures (any non-empty key but `bad` works).
pub const SAMPLE_YOUTUBE_API_KEY: &str = "sandbox-key";
/// The Mastodon account [`Sandbox::sources_toml`] configures.
pub const SAMPLE_MASTODON_ACCT: &str = "tally@sandbox.example";
/// The Bluesky actor [`Sandbox::sources_toml`] configures.
pub const SAMPLE_BLUESKY_ACTOR: &str = "tally.bsky.social";
/// The Yelp business (alias) [`Sandbox::sources_toml`] configures.
pub const SAMPLE_YELP_BUSINESS: &str = "tally-sandbox-cafe";
/// The Eventbrite organization [`Sandbox::sources_toml`] configures.
pub const SAMPLE_EVENTBRITE_ORGANIZATION: &str = "1000000001";
/// The SurveyMonkey survey [`Sandbox::sources_toml`] configures.
pub const SAMPLE_SURVEYMONKEY_SURVEY: &str = "400000001";
/// The X username [`Sandbox::sources_toml`] configures.
pub const SAMPLE_X_USERNAME: &str = "tally_sandbox";
/// The bearer token [`Sandbox::sources_toml`] configures for Google's newer
/// APIs, Yelp, Eventbrite, SurveyMonkey and X (any non-empty token but `bad`
/// works).
pub const SAMPLE_TOKEN: &str = "sandbox-token";

/// The GA4 property [`Sandbox::sources_toml`] configures (any digits work).
pub const SAMPLE_GA4_PROPERTY: &str = "123456789";
/// The service account the sandbox's Google token endpoint knows, whose key
/// [`Sandbox::service_account_key_file`] writes.
pub const SAMPLE_SERVICE_ACCOUNT: &str = "tally-reports@tally-sandbox.iam.gserviceaccount.com";

/// The Business Profile account [`Sandbox::sources_toml`] configures (any digits work).
pub const SAMPLE_GBP_ACCOUNT: &str = "1234567890";

/// The platforms the sandbox simulates, by connector name, in the order
/// [`Sandbox::sources_toml`] prints them.
pub const SIMULATED: [&str; 10] = [
    "youtube",
    "mastodon",
    "bluesky",
    "ga4",
    "google_business_profile",
    "youtube_analytics",
    "yelp",
    "eventbrite",
    "surveymonkey",
    "x",
];

/// How to run a sandbox: which simulated world, which limits, which failures.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxOptions {
    /// Seed of the simulated data and of fault decisions: same seed, same day,
    /// same numbers.
    pub seed: u64,
    /// Failures to inject; none by default.
    pub faults: FaultOptions,
    /// Rate limits enforced per platform and credential.
    pub limits: PlatformLimits,
    /// Keep the instant each request reached a platform's limiter, so a
    /// benchmark can see how evenly a client's requests really arrive
    /// ([`Sandbox::arrivals`]); off by default, as the list grows per request.
    pub record_arrivals: bool,
}

impl Default for SandboxOptions {
    /// Seed 42, no faults, the platforms' documented default limits.
    fn default() -> Self {
        SandboxOptions {
            seed: 42,
            faults: FaultOptions::default(),
            limits: PlatformLimits::default(),
            record_arrivals: false,
        }
    }
}

/// Failures to inject, so the host's retries, backoff, JSON error handling and
/// token refresh can be tested. Decisions are derived from the seed and each
/// platform's request counter (not a thread RNG), so a test sending requests
/// one at a time sees the same failures on every run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultOptions {
    /// Fraction (0.0..=1.0) of requests answered 500 with an HTML body.
    pub error_rate: f64,
    /// Milliseconds added before every response.
    pub latency_ms: u64,
    /// 0 = off; otherwise every Nth request to a platform gets that platform's
    /// 429 (headers and body) whatever its budget.
    pub burst_429_every: u32,
    /// Fraction (0.0..=1.0) of 200 responses whose body is cut in half.
    pub malformed_rate: f64,
    /// Lifetime of bearer tokens issued by `POST /mastodon/oauth/token`; once
    /// elapsed they get 401. Tokens the sandbox did not issue never expire.
    pub token_ttl_secs: Option<u64>,
}

/// Per-platform rate limits, so benchmarks can check that the host paces
/// itself under each platform's real budget (or a small one, in tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlatformLimits {
    /// Per API key. YouTube documents no per-second limit; this bucket stands
    /// in for Google's undocumented one (429 `rateLimitExceeded`).
    pub youtube: Limit,
    /// Per bearer token (or per anonymous client): 300 per 5 minutes.
    pub mastodon: Limit,
    /// Per client: the PDS default of 3000 per 5 minutes.
    pub bluesky: Limit,
    /// Per OAuth token, for each of GA4, Business Profile and YouTube
    /// Analytics (Google states no per-second limit; 429 `RESOURCE_EXHAUSTED`).
    pub google: Limit,
    /// GA4 tokens per property per hour (each `runReport` costs 10); 0 disables.
    pub ga4_tokens_per_hour: u64,
    /// GA4 tokens per property per Pacific day; 0 disables.
    pub ga4_tokens_per_day: u64,
    /// YouTube units per key per Pacific day (each call costs 1); 0 disables.
    pub youtube_quota_per_day: u64,
    /// Per API key: Yelp's per-second limit (the docs give no figure; 10 a
    /// second stands in), answered with `TOO_MANY_REQUESTS_PER_SECOND`.
    pub yelp: Limit,
    /// Yelp calls per API key per UTC day (the Starter trial's 300); 0
    /// disables. Spent, it answers `ACCESS_LIMIT_REACHED`.
    pub yelp_per_day: u64,
    /// Per private token: Eventbrite's documented 2,000 calls an hour.
    pub eventbrite: Limit,
    /// Per token: a draft or private SurveyMonkey app's 120 a minute.
    pub surveymonkey: Limit,
    /// SurveyMonkey calls per token per UTC day (draft and private apps:
    /// 500); 0 disables.
    pub surveymonkey_per_day: u64,
    /// Per token: X's 900 per user per 15 minutes (user timelines).
    pub x: Limit,
    /// How early a request may arrive before its token is due and still pass
    /// (like GCRA's delay-variation tolerance), so loopback jitter does not
    /// fail tests; [`Duration::ZERO`] is an exact bucket, as benchmarks need
    /// to see what a real platform would refuse.
    pub jitter_tolerance: Duration,
    /// Whether responses carry the platforms' usage headers; off, a client
    /// can only pace by what it was told, which benchmarks of a declared
    /// limit need.
    pub usage_headers: bool,
}

impl Default for PlatformLimits {
    /// Mastodon 300/300 s, Bluesky 3000/300 s, YouTube 100/1 s plus 10,000
    /// units a day, each Google API 100/1 s, GA4 40,000 tokens an hour and
    /// 200,000 a day per property, Yelp 10/1 s plus 300 a day, Eventbrite
    /// 2000/3600 s, SurveyMonkey 120/60 s plus 500 a day, X 900/900 s; 10 ms of
    /// jitter tolerance; usage headers sent.
    fn default() -> Self {
        PlatformLimits {
            youtube: Limit::new(100, 1),
            mastodon: Limit::new(300, 300),
            bluesky: Limit::new(3000, 300),
            google: Limit::new(100, 1),
            ga4_tokens_per_hour: 40_000,
            ga4_tokens_per_day: 200_000,
            youtube_quota_per_day: 10_000,
            yelp: Limit::new(10, 1),
            yelp_per_day: 300,
            eventbrite: Limit::new(2000, 3600),
            surveymonkey: Limit::new(120, 60),
            surveymonkey_per_day: 500,
            x: Limit::new(900, 900),
            jitter_tolerance: Duration::from_millis(10),
            usage_headers: true,
        }
    }
}

impl PlatformLimits {
    /// The bucket of one platform.
    pub(crate) fn limit(&self, platform: Platform) -> Limit {
        match platform {
            Platform::YouTube => self.youtube,
            Platform::Mastodon => self.mastodon,
            Platform::Bluesky => self.bluesky,
            Platform::Ga4 | Platform::BusinessProfile | Platform::YoutubeAnalytics => self.google,
            Platform::Yelp => self.yelp,
            Platform::Eventbrite => self.eventbrite,
            Platform::SurveyMonkey => self.surveymonkey,
            Platform::X => self.x,
        }
    }

    /// The daily quota of one platform, counted on its documented day.
    pub(crate) fn daily_quota(&self, platform: Platform) -> limit::Quota {
        match platform {
            Platform::YouTube => limit::Quota::new(self.youtube_quota_per_day, limit::pacific_date),
            Platform::Yelp => limit::Quota::new(self.yelp_per_day, limit::utc_date),
            Platform::SurveyMonkey => limit::Quota::new(self.surveymonkey_per_day, limit::utc_date),
            _ => limit::Quota::new(0, limit::utc_date),
        }
    }
}

/// A token bucket: holds `burst` tokens, starts full and refills
/// continuously at `requests / per_seconds` per second; a request that finds
/// less than one token is throttled (one arriving at most
/// [`PlatformLimits::jitter_tolerance`] before its token is due passes). The
/// usage headers describe this bucket: its capacity, the whole tokens left and
/// when it is full again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Requests per window (the rate's numerator and Bluesky's policy quota);
    /// 0 disables limiting and usage headers.
    pub requests: u32,
    /// Seconds of the policy window; 0 is treated as 1.
    pub per_seconds: u32,
    /// Bucket capacity (the `Limit` header): how many may arrive back to back.
    /// Platforms rarely grant a whole window at once, so benchmarks set it
    /// below `requests`; 0 is treated as 1.
    pub burst: u32,
}

impl Limit {
    /// No limit at all, for raw-throughput benchmarks.
    pub const UNLIMITED: Limit = Limit::new(0, 1);

    /// `requests` per `per_seconds`, with a bucket holding a whole window.
    pub const fn new(requests: u32, per_seconds: u32) -> Limit {
        Limit {
            requests,
            per_seconds,
            burst: requests,
        }
    }
}

/// A running sandbox. Dropping it stops the server too; [`Sandbox::shutdown`]
/// also waits for in-flight requests to finish.
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Sandbox {
    /// Binds `addr` (port 0 picks a free port) and serves on the current
    /// tokio runtime until shut down or dropped.
    pub async fn start(addr: SocketAddr, opts: SandboxOptions) -> std::io::Result<Sandbox> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(opts, addr));
        let app = router(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    // A send or a dropped sender both mean stop.
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "sandbox server stopped with an error");
            }
        });
        tracing::info!(%addr, "sandbox listening");
        Ok(Sandbox {
            addr,
            shared,
            stop,
            task,
        })
    }

    /// The bound address (with the real port when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API root a connector's `base_url` should point at: `youtube` →
    /// `http://HOST:PORT/youtube/v3`, `mastodon` → `…/mastodon` (an instance
    /// root), `bluesky` → `…/bluesky/xrpc`, `ga4` → `…/ga4/v1beta`,
    /// `google_business_profile` → `…/gbp`, `youtube_analytics` →
    /// `…/youtube-analytics/v2`, `yelp` / `eventbrite` / `surveymonkey` →
    /// `…/{name}/v3`, `x` → `…/x` (X's paths start with `/2/`); any other
    /// name → `…/{name}`.
    pub fn base_url(&self, platform: &str) -> String {
        let root = Platform::from_name(platform)
            .map(|p| p.api_root().to_string())
            .unwrap_or_else(|| format!("/{platform}"));
        format!("http://{}{root}", self.reachable_addr())
    }

    /// Ready-to-paste `[[sources]]` blocks for every simulated platform,
    /// pointing at this sandbox, so `tally demo` and integrators need no
    /// hand-written config. Bluesky's connector is a plugin: a config using
    /// its block also needs the `[plugins]` line that loads it.
    pub fn sources_toml(&self) -> String {
        SIMULATED
            .iter()
            .filter_map(|name| self.source_toml(name))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The ready-to-paste `[[sources]]` block of one simulated platform
    /// (one of [`SIMULATED`]), with a comment line naming it;
    /// `None` for a platform the sandbox does not simulate.
    pub fn source_toml(&self, platform: &str) -> Option<String> {
        let (label, settings, auth) = match platform {
            "youtube" => (
                "YouTube Data API v3",
                format!("channel_id = \"{SAMPLE_YOUTUBE_CHANNEL}\""),
                format!("kind = \"api_key\"\napi_key = \"{SAMPLE_YOUTUBE_API_KEY}\""),
            ),
            "mastodon" => (
                "Mastodon",
                format!("acct = \"{SAMPLE_MASTODON_ACCT}\""),
                "kind = \"none\"".to_string(),
            ),
            "bluesky" => (
                "Bluesky",
                format!("actor = \"{SAMPLE_BLUESKY_ACTOR}\""),
                "kind = \"none\"".to_string(),
            ),
            "ga4" => (
                "Google Analytics 4 Data API",
                format!("property_id = \"{SAMPLE_GA4_PROPERTY}\""),
                bearer(),
            ),
            "google_business_profile" => (
                "Google Business Profile",
                format!("account_id = \"{SAMPLE_GBP_ACCOUNT}\""),
                bearer(),
            ),
            "youtube_analytics" => (
                "YouTube Analytics API v2",
                format!("channel_id = \"{SAMPLE_YOUTUBE_CHANNEL}\""),
                bearer(),
            ),
            "yelp" => (
                "Yelp Places API",
                format!("business = \"{SAMPLE_YELP_BUSINESS}\""),
                bearer(),
            ),
            "eventbrite" => (
                "Eventbrite API v3",
                format!("organization_id = \"{SAMPLE_EVENTBRITE_ORGANIZATION}\""),
                bearer(),
            ),
            "surveymonkey" => (
                "SurveyMonkey API v3",
                format!(
                    "survey_id = \"{SAMPLE_SURVEYMONKEY_SURVEY}\"\nquestion_id = \"{}\"",
                    self.source_question()
                ),
                bearer(),
            ),
            "x" => (
                "X API v2",
                format!("username = \"{SAMPLE_X_USERNAME}\""),
                bearer(),
            ),
            _ => return None,
        };
        Some(format!(
            "# Tally sandbox: simulated {label} (local, not the real platform)\n\
             [[sources]]\n\
             id = \"sandbox-{platform}\"\n\
             connector = \"{platform}\"\n\
             base_url = \"{}\"\n\
             [sources.settings]\n\
             {settings}\n\
             [sources.auth]\n\
             {auth}\n",
            self.base_url(platform)
        ))
    }

    /// The id of [`data::SURVEYMONKEY_SOURCE_QUESTION`] in the sample survey,
    /// which is a function of the seed.
    fn source_question(&self) -> String {
        data::surveymonkey_survey(
            self.shared.seed,
            SAMPLE_SURVEYMONKEY_SURVEY,
            chrono::Utc::now(),
        )
        .and_then(|s| s.questions.into_iter().next())
        .map(|q| q.id)
        .unwrap_or_default()
    }

    /// Google's token endpoint for service accounts on this sandbox: the
    /// `token_uri` of [`Sandbox::service_account_key_file`].
    pub fn google_token_url(&self) -> String {
        format!(
            "http://{}{}",
            self.reachable_addr(),
            google::service_account::TOKEN_PATH
        )
    }

    /// A Google Cloud service-account key file (JSON) for
    /// [`SAMPLE_SERVICE_ACCOUNT`] whose `token_uri` is this sandbox: a test
    /// key that signs nothing real. Write it next to a config as `key_file`.
    pub fn service_account_key_file(&self) -> String {
        google::service_account::key_file(&self.google_token_url(), false)
    }

    /// The same account's key file with a key the sandbox does not know, as
    /// if it had been deleted in Google Cloud: the token endpoint answers
    /// `invalid_grant` ("Invalid JWT Signature.").
    pub fn deleted_service_account_key_file(&self) -> String {
        google::service_account::key_file(&self.google_token_url(), true)
    }

    /// What the service-account token endpoint issued and refused so far.
    pub fn token_grants(&self) -> TokenGrants {
        self.shared.service_accounts.grants()
    }

    /// Requests and 429s served so far, in total and per platform.
    pub fn stats(&self) -> SandboxStats {
        self.shared.stats.snapshot()
    }

    /// When each request to `platform` (a connector name) reached its rate
    /// limiter, as offsets from the sandbox's start in arrival order; empty
    /// unless [`SandboxOptions::record_arrivals`] is on or for an unknown name.
    pub fn arrivals(&self, platform: &str) -> Vec<Duration> {
        Platform::from_name(platform)
            .map(|p| self.shared.stats.arrivals(p))
            .unwrap_or_default()
    }

    /// Stops accepting connections, lets in-flight requests finish (up to
    /// five seconds) and waits for the server task.
    pub async fn shutdown(self) {
        let Sandbox { stop, mut task, .. } = self;
        let _ = stop.send(());
        if tokio::time::timeout(Duration::from_secs(5), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }

    /// The bound address, with a wildcard IP replaced by loopback so URLs work.
    fn reachable_addr(&self) -> SocketAddr {
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            });
        }
        addr
    }
}

/// The `[sources.auth]` lines of a platform taking a bearer token.
fn bearer() -> String {
    format!("kind = \"bearer\"\ntoken = \"{SAMPLE_TOKEN}\"")
}

/// All platforms, each behind its gate, plus the request counter.
fn router(shared: Arc<Shared>) -> Router {
    let gated = |platform: Platform, routes: Router<Arc<Shared>>| {
        routes.layer(from_fn_with_state((shared.clone(), platform), gate::gate))
    };
    Router::new()
        .nest(
            Platform::YouTube.api_root(),
            gated(Platform::YouTube, youtube::router()),
        )
        .nest(
            Platform::Mastodon.api_root(),
            gated(Platform::Mastodon, mastodon::router()),
        )
        .nest(
            Platform::Bluesky.api_root(),
            gated(Platform::Bluesky, bluesky::router()),
        )
        .nest(meta::ROOT, meta::router(shared.seed))
        .nest(
            Platform::Ga4.api_root(),
            gated(Platform::Ga4, google::ga4::router()),
        )
        .nest(
            Platform::BusinessProfile.api_root(),
            gated(Platform::BusinessProfile, google::gbp::router()),
        )
        .nest(
            Platform::YoutubeAnalytics.api_root(),
            gated(
                Platform::YoutubeAnalytics,
                google::youtube_analytics::router(),
            ),
        )
        .nest(
            Platform::Yelp.api_root(),
            gated(Platform::Yelp, yelp::router()),
        )
        .nest(
            Platform::Eventbrite.api_root(),
            gated(Platform::Eventbrite, eventbrite::router()),
        )
        .nest(
            Platform::SurveyMonkey.api_root(),
            gated(Platform::SurveyMonkey, surveymonkey::router()),
        )
        .nest(Platform::X.api_root(), gated(Platform::X, x::router()))
        .route(
            google::service_account::TOKEN_PATH,
            axum::routing::post(google::service_account::token_endpoint),
        )
        .layer(from_fn_with_state(shared.clone(), gate::count))
        .with_state(shared)
}
