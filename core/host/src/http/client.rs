//! The reqwest-backed client: pacing, quota, credentials, retries, tracing.

use super::pacing::Pacer;
use super::quota::{quota_window, LedgerError, QuotaLedger};
use super::redact::{redact_headers, redact_url};
use super::retry::{
    backoff, google_quota_reset, is_cut_short, is_retryable_status, parse_retry_after,
};
use super::token::TokenSource;
use super::usage::read_usage;
use crate::error_chain::error_chain;
use async_trait::async_trait;
use chrono::Utc;
use chrono_tz::Tz;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tally_config::secret::Secret;
use tally_model::error::{snippet, url_path};
use tally_model::{
    HttpClient, HttpError, HttpRequest, HttpResponse, Method, QuotaSpec, RateLimitSpec,
    StatedQuota, ThrottleErrors, UsageHeaders,
};

/// Timeouts, attempts and backoff for every request of a run (`[http]` in the config).
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time for a whole request, body included.
    pub timeout: Duration,
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// First backoff step; doubles each attempt.
    pub backoff_base: Duration,
    /// Longest backoff step.
    pub backoff_max: Duration,
    /// Longest pause a 429's hint may impose before the request fails instead.
    pub max_throttle_wait: Duration,
    /// Largest body accepted, so a runaway response cannot exhaust memory.
    pub max_body_bytes: usize,
}

/// The most a response body's buffer is sized for ahead of its bytes.
const PRESIZED_BODY_BYTES: usize = 8 * 1024 * 1024;

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_attempts: 5,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            max_throttle_wait: Duration::from_secs(120),
            max_body_bytes: 64 * 1024 * 1024,
        }
    }
}

/// A source's credential as the host applies it; connectors never see it.
#[derive(Debug, Clone)]
pub enum Credential {
    /// Public endpoints.
    None,
    /// A static key in a query parameter and/or a header.
    ApiKey {
        /// The key.
        key: Secret,
        /// Query parameter to put it in.
        query_param: Option<String>,
        /// Header to put it in.
        header: Option<String>,
    },
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// `Authorization: Bearer <token>` with an OAuth2 token asked for at each
    /// attempt and refreshed once when the platform answers 401.
    OAuth2(Arc<dyn TokenSource>),
}

impl Credential {
    /// A stable, non-reversible name for the credential, so limiter and quota keys
    /// can be shared and persisted without storing the secret.
    pub fn fingerprint(&self) -> String {
        let secret = match self {
            Credential::None => return "anonymous".to_string(),
            Credential::ApiKey { key, .. } => key,
            Credential::Bearer(token) => token,
            Credential::OAuth2(tokens) => return tokens.fingerprint(),
        };
        let digest = Sha256::digest(secret.expose().as_bytes());
        digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
    }
}

/// Everything the host needs to know to send one source's requests.
#[derive(Debug, Clone)]
pub struct SourceHttpSpec {
    /// Source id, for traces.
    pub source_id: String,
    /// Platform name; with the API host and credential it keys the shared pacing state.
    pub platform: String,
    /// API root the source talks to.
    pub base_url: String,
    /// How to authenticate.
    pub credential: Credential,
    /// Rate to pace at (connector default or the source's override).
    pub rate_limit: RateLimitSpec,
    /// Whether `rate_limit` is the source's own `[sources.rate_limit]`: then
    /// it is a ceiling a server's statement can pace below but never above
    /// (a shared key, a stricter plan), while a connector's documented default
    /// only paces until the server states its limit.
    pub rate_limit_is_ceiling: bool,
    /// Usage headers the connector declared; read before the dialects the
    /// host recognises on its own.
    pub usage_headers: Option<UsageHeaders>,
    /// Error bodies the connector declared as throttling (Meta's codes on a
    /// 400/403): retried and waited for as a 429 is.
    pub throttle_errors: Option<ThrottleErrors>,
    /// Cost-unit budget, if the platform counts units.
    pub quota: Option<QuotaSpec>,
    /// A per-source total timeout overriding the run's.
    pub timeout: Option<Duration>,
}

/// What one source's requests did, for the run record and the summary table.
#[derive(Debug, Default)]
pub struct RequestCounts {
    /// Requests sent, retries included.
    pub requests: AtomicU64,
    /// Requests that were retries.
    pub retries: AtomicU64,
    /// 429 responses received.
    pub throttled: AtomicU64,
}

impl RequestCounts {
    /// (requests, retries, throttled) as plain numbers.
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.retries.load(Ordering::Relaxed),
            self.throttled.load(Ordering::Relaxed),
        )
    }
}

/// The key of the pacer a source's requests share with every source of the
/// same platform, API host and credential: `platform@host:port#fingerprint`.
/// `tally plan` groups sources by it to see which rate limits they share.
pub fn pacer_key(platform: &str, base_url: &str, credential: &Credential) -> String {
    format!(
        "{}#{}",
        api_host(platform, base_url),
        credential.fingerprint()
    )
}

/// `platform@host:port` of a source's API root: what its pacer and its stated
/// budgets are keyed by, besides the credential or the budget's name.
fn api_host(platform: &str, base_url: &str) -> String {
    let host = url::Url::parse(base_url)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| format!("{h}:{}", u.port_or_known_default().unwrap_or(0)))
        })
        .unwrap_or_default();
    format!("{platform}@{host}")
}

/// What the whole run's requests are doing now, for a progress display.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpProgress {
    /// Requests sent so far, retries included.
    pub requests: u64,
    /// The rate limits requests are waiting on now: `platform@host:port`
    /// and how many requests wait, most waiters first.
    pub waiting: Vec<(String, usize)>,
}

/// The run-wide client: one connection pool, one pacer per credential.
pub struct HostHttp {
    client: reqwest::Client,
    settings: HttpSettings,
    pacers: Mutex<HashMap<String, Arc<Pacer>>>,
    requests: AtomicU64,
    ledger: Arc<dyn QuotaLedger>,
    quota_lock: Arc<Mutex<()>>,
}

impl std::fmt::Debug for HostHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostHttp")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl HostHttp {
    /// Builds the client; `ledger` records quota units (the store, or memory in tests).
    pub fn new(
        settings: HttpSettings,
        ledger: Arc<dyn QuotaLedger>,
    ) -> Result<Arc<HostHttp>, HttpError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!(
                "Tally/",
                env!("CARGO_PKG_VERSION"),
                " (+metrics connector)"
            ))
            .connect_timeout(settings.connect_timeout)
            .gzip(true)
            .build()
            .map_err(|e| HttpError::Other(format!("could not build the HTTP client: {e}")))?;
        Ok(Arc::new(HostHttp {
            client,
            settings,
            pacers: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            ledger,
            quota_lock: Arc::new(Mutex::new(())),
        }))
    }

    /// Requests sent so far and the rate limits requests wait on now.
    pub fn progress(&self) -> HttpProgress {
        let pacers = self.pacers.lock().unwrap_or_else(|e| e.into_inner());
        let mut waiting: Vec<(String, usize)> = pacers
            .iter()
            .filter(|(_, p)| p.waiting() > 0)
            .map(|(key, p)| {
                // The key ends in the credential's fingerprint: not for display.
                let limit = key.split_once('#').map_or(key.as_str(), |(l, _)| l);
                (limit.to_string(), p.waiting())
            })
            .collect();
        waiting.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        HttpProgress {
            requests: self.requests.load(Ordering::Relaxed),
            waiting,
        }
    }

    /// The client one source uses. Sources with the same platform, API host and
    /// credential share one pacer (the first source's rate wins).
    pub fn for_source(self: &Arc<Self>, spec: SourceHttpSpec) -> SourceHttp {
        let pacer_key = pacer_key(&spec.platform, &spec.base_url, &spec.credential);
        let fingerprint = spec.credential.fingerprint();
        let pacer = {
            let mut pacers = self.pacers.lock().unwrap_or_else(|e| e.into_inner());
            pacers
                .entry(pacer_key)
                .or_insert_with(|| {
                    Arc::new(Pacer::new(spec.rate_limit, spec.rate_limit_is_ceiling))
                })
                .clone()
        };
        let quota_key = format!("{}#{}", spec.platform, fingerprint);
        SourceHttp {
            host: Arc::clone(self),
            pacer,
            quota_key,
            api_host: api_host(&spec.platform, &spec.base_url),
            counts: Arc::new(RequestCounts::default()),
            spec,
        }
    }
}

/// One source's view of the host client; implements the connector-facing trait.
pub struct SourceHttp {
    host: Arc<HostHttp>,
    spec: SourceHttpSpec,
    pacer: Arc<Pacer>,
    quota_key: String,
    /// `platform@host:port`, the prefix of this source's stated budgets' keys.
    api_host: String,
    counts: Arc<RequestCounts>,
}

impl SourceHttp {
    /// Counters of this source's requests.
    pub fn counts(&self) -> Arc<RequestCounts> {
        Arc::clone(&self.counts)
    }

    /// Charges `cost` units to the credential's budget, or refuses when it is spent.
    fn charge_quota(&self, cost: u32) -> Result<(), HttpError> {
        let Some(quota) = &self.spec.quota else {
            return Ok(());
        };
        let tz: Tz = quota.timezone.parse().unwrap_or(chrono_tz::UTC);
        let (start, reset) = quota_window(quota.window, tz, Utc::now());
        let _guard = self
            .host
            .quota_lock
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let ledger_error = |e: LedgerError| HttpError::Other(e.to_string());
        let used = self
            .host
            .ledger
            .used(&self.quota_key, start)
            .map_err(ledger_error)?;
        if used + u64::from(cost) > quota.units {
            return Err(HttpError::QuotaExhausted {
                key: self.quota_key.clone(),
                used,
                limit: quota.units,
                resets_at: reset.to_rfc3339(),
            });
        }
        self.host
            .ledger
            .add(&self.quota_key, start, u64::from(cost))
            .map_err(ledger_error)?;
        Ok(())
    }

    /// The ledger key of a stated budget: the connector's name for it under
    /// the platform and API host, so sources of any credential naming the same
    /// budget (two GA4 sources on one property) share it, and a sandbox or
    /// another API host never does.
    fn stated_key(&self, budget: &str) -> String {
        format!("{}/{budget}", self.api_host)
    }

    /// Refuses, unsent, a request charged to a stated budget that a bucket of
    /// it cannot pay for before its reset.
    fn check_stated(&self, request: &HttpRequest) -> Result<(), HttpError> {
        let Some(budget) = &request.budget else {
            return Ok(());
        };
        let now = Utc::now();
        let stated = self
            .host
            .ledger
            .stated(&self.stated_key(budget))
            .map_err(|e| HttpError::Other(e.to_string()))?;
        match stated.into_iter().find(|s| s.refuses_at(now)) {
            Some(spent) => {
                tracing::info!(
                    source = %self.spec.source_id,
                    budget = %spent.budget,
                    bucket = %spent.bucket,
                    remaining = spent.remaining,
                    resets_at = %spent.resets_at,
                    "request refused before sending: the stated quota cannot pay for it"
                );
                Err(HttpError::QuotaStated {
                    budget: spent.budget,
                    bucket: spent.bucket,
                    remaining: spent.remaining,
                    cost: spent.cost,
                    resets_at: spent.resets_at.to_rfc3339(),
                })
            }
            None => Ok(()),
        }
    }

    /// The OAuth2 token for the next attempt (renewed first if it is about to
    /// expire), or `None` for the other credentials.
    async fn oauth_token(&self) -> Result<Option<Secret>, HttpError> {
        match &self.spec.credential {
            Credential::OAuth2(tokens) => tokens.access_token().await.map(Some),
            _ => Ok(None),
        }
    }

    /// After a 401: whether the request deserves one more attempt with a renewed
    /// token. Only OAuth2 tokens can be renewed, and only once per request.
    async fn renewed_after_401(
        &self,
        token: Option<&Secret>,
        renewed: &mut bool,
    ) -> Result<bool, HttpError> {
        let (Credential::OAuth2(tokens), Some(rejected)) = (&self.spec.credential, token) else {
            return Ok(false);
        };
        if *renewed {
            return Ok(false);
        }
        *renewed = true;
        tokens.refresh_rejected(rejected).await?;
        Ok(true)
    }

    /// Puts the credential into one attempt's URL or headers.
    fn apply_credential(
        &self,
        url: &mut reqwest::Url,
        headers: &mut Vec<(String, String)>,
        oauth_token: Option<&Secret>,
    ) {
        let bearer = match &self.spec.credential {
            Credential::None => None,
            Credential::ApiKey {
                key,
                query_param,
                header,
            } => {
                if let Some(param) = query_param {
                    url.query_pairs_mut().append_pair(param, key.expose());
                }
                if let Some(name) = header {
                    headers.push((name.clone(), key.expose().to_string()));
                }
                None
            }
            Credential::Bearer(token) => Some(token),
            Credential::OAuth2(_) => oauth_token,
        };
        if let Some(token) = bearer {
            headers.push(("authorization".into(), format!("Bearer {}", token.expose())));
        }
    }

    /// The header the API key travels in, so traces can hide it too.
    fn key_header(&self) -> Option<&str> {
        match &self.spec.credential {
            Credential::ApiKey { header, .. } => header.as_deref(),
            _ => None,
        }
    }

    async fn send_once(
        &self,
        request: &HttpRequest,
        mut url: reqwest::Url,
        oauth_token: Option<&Secret>,
    ) -> Result<HttpResponse, reqwest::Error> {
        let mut builder_headers: Vec<(String, String)> = request.headers.clone();
        self.apply_credential(&mut url, &mut builder_headers, oauth_token);
        tracing::trace!(
            source = %self.spec.source_id,
            url = %redact_url(url.as_str()),
            headers = ?redact_headers(&builder_headers, self.key_header()),
            "request as sent"
        );
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        };
        let mut builder = self
            .host
            .client
            .request(method, url)
            .timeout(self.spec.timeout.unwrap_or(self.host.settings.timeout));
        for (name, value) in &builder_headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let mut response = builder.send().await?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect::<Vec<_>>();
        tracing::trace!(
            source = %self.spec.source_id,
            status,
            headers = ?redact_headers(&headers, None),
            "response headers"
        );
        // Sized from `Content-Length` where the server states it: grown chunk
        // by chunk, a 57 KB page was reallocated and copied five times.
        // Capped, so a length the body never reaches reserves little.
        let stated = response.content_length().unwrap_or(0);
        let mut body = Vec::with_capacity(
            usize::try_from(stated)
                .unwrap_or(usize::MAX)
                .min(PRESIZED_BODY_BYTES)
                .min(self.host.settings.max_body_bytes),
        );
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > self.host.settings.max_body_bytes {
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

#[async_trait]
impl HttpClient for SourceHttp {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let url = reqwest::Url::parse(&request.url).map_err(|e| HttpError::BadUrl {
            url: redact_url(&request.url),
            message: e.to_string(),
        })?;
        let settings = &self.host.settings;
        let path = url_path(&request.url);
        let traced_url = redact_url(&request.url);
        let mut attempt = 0;
        let mut renewed = false;
        loop {
            attempt += 1;
            let oauth_token = self.oauth_token().await?;
            self.check_stated(&request)?;
            self.charge_quota(request.cost)?;
            let sent = match self.pacer.ready_within(settings.max_throttle_wait).await {
                Ok(sent) => sent,
                Err(wait) => {
                    return Err(HttpError::Throttled {
                        path,
                        wait_secs: wait.as_secs(),
                    });
                }
            };
            self.counts.requests.fetch_add(1, Ordering::Relaxed);
            self.host.requests.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            let result = self
                .send_once(&request, url.clone(), oauth_token.as_ref())
                .await;
            let latency_ms = started.elapsed().as_millis() as u64;
            let last_attempt = attempt >= settings.max_attempts;
            let wait = match result {
                Ok(response) => {
                    tracing::debug!(
                        source = %self.spec.source_id,
                        method = ?request.method,
                        url = %traced_url,
                        status = response.status,
                        latency_ms,
                        attempt,
                        "request"
                    );
                    let now = Utc::now();
                    let usage = read_usage(self.spec.usage_headers.as_ref(), &response, now);
                    // A 429, or an error body the connector declared as throttling.
                    let throttled = response.status == 429
                        || self
                            .spec
                            .throttle_errors
                            .as_ref()
                            .is_some_and(|t| t.matches(response.status, &response.body));
                    let retry = throttled || is_retryable_status(response.status);
                    let hinted = response
                        .header("retry-after")
                        .and_then(|v| parse_retry_after(v, now))
                        .or_else(|| usage.and_then(|u| u.reset_in).filter(|_| throttled))
                        .or_else(|| google_quota_reset(&response, now))
                        .filter(|_| retry);
                    // Everyone on this credential pauses for a hint, not just this request.
                    let pause = hinted.filter(|wait| *wait <= settings.max_throttle_wait);
                    sent.answered(usage.as_ref(), pause);
                    if response.status == 401 {
                        if self
                            .renewed_after_401(oauth_token.as_ref(), &mut renewed)
                            .await?
                        {
                            self.counts.retries.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        return Err(unauthorized(path, &response));
                    }
                    let cut_short = is_cut_short(&response);
                    if cut_short {
                        tracing::debug!(
                            source = %self.spec.source_id,
                            url = %traced_url,
                            bytes = response.body.len(),
                            attempt,
                            "response body is not whole JSON"
                        );
                    }
                    // Out of attempts, the connector reports the body it cannot
                    // decode, with a snippet of it.
                    if (cut_short && last_attempt) || (!cut_short && !retry) {
                        return Ok(response);
                    }
                    if throttled {
                        self.counts.throttled.fetch_add(1, Ordering::Relaxed);
                    }
                    if last_attempt {
                        return Err(HttpError::RetriesExhausted {
                            path,
                            status: response.status,
                            attempts: attempt,
                        });
                    }
                    match hinted {
                        Some(wait) if pause.is_none() => {
                            return Err(HttpError::Throttled {
                                path,
                                wait_secs: wait.as_secs(),
                            })
                        }
                        Some(_) => Duration::ZERO,
                        None => backoff(attempt, settings.backoff_base, settings.backoff_max),
                    }
                }
                Err(error) => {
                    drop(sent);
                    let error = error.without_url();
                    tracing::debug!(
                        source = %self.spec.source_id,
                        method = ?request.method,
                        url = %traced_url,
                        error = %error,
                        latency_ms,
                        attempt,
                        "request failed"
                    );
                    if last_attempt {
                        return Err(if error.is_timeout() {
                            HttpError::Timeout {
                                path,
                                timeout_secs: self
                                    .spec
                                    .timeout
                                    .unwrap_or(settings.timeout)
                                    .as_secs(),
                                attempts: attempt,
                            }
                        } else {
                            HttpError::Connect {
                                path,
                                message: error_chain(&error),
                            }
                        });
                    }
                    backoff(attempt, settings.backoff_base, settings.backoff_max)
                }
            };
            self.counts.retries.fetch_add(1, Ordering::Relaxed);
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
    }

    fn report_quota(&self, stated: &StatedQuota) -> Result<(), HttpError> {
        self.host
            .ledger
            .state(&self.stated_key(&stated.budget), stated)
            .map_err(|e| HttpError::Other(e.to_string()))
    }
}

/// The error for a 401 the host could not fix by renewing a token.
fn unauthorized(path: String, response: &HttpResponse) -> HttpError {
    HttpError::Unauthorized {
        path,
        status: 401,
        message: format!(
            "{}; check the source's [sources.auth] credential",
            snippet(&response.body)
        ),
    }
}

/// A ledger in memory, for runs without a store and for tests.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    used: Mutex<HashMap<(String, i64), u64>>,
    stated: Mutex<HashMap<(String, String), StatedQuota>>,
}

impl QuotaLedger for MemoryLedger {
    fn used(&self, key: &str, window_start: chrono::DateTime<Utc>) -> Result<u64, LedgerError> {
        let used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        Ok(used
            .get(&(key.to_string(), window_start.timestamp()))
            .copied()
            .unwrap_or(0))
    }

    fn add(
        &self,
        key: &str,
        window_start: chrono::DateTime<Utc>,
        units: u64,
    ) -> Result<u64, LedgerError> {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        let total = used
            .entry((key.to_string(), window_start.timestamp()))
            .or_insert(0);
        *total += units;
        Ok(*total)
    }

    fn state(&self, key: &str, stated: &StatedQuota) -> Result<(), LedgerError> {
        let mut all = self.stated.lock().unwrap_or_else(|e| e.into_inner());
        all.insert((key.to_string(), stated.bucket.clone()), stated.clone());
        Ok(())
    }

    fn stated(&self, key: &str) -> Result<Vec<StatedQuota>, LedgerError> {
        let all = self.stated.lock().unwrap_or_else(|e| e.into_inner());
        let mut found: Vec<StatedQuota> = all
            .iter()
            .filter(|((k, _), _)| k == key)
            .map(|(_, s)| s.clone())
            .collect();
        found.sort_by(|a, b| a.bucket.cmp(&b.bucket));
        Ok(found)
    }
}
