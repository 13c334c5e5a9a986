//! Everything the handlers share, built once from [`SandboxOptions`].

use std::net::SocketAddr;

use crate::faults::Faults;
use crate::google::service_account::ServiceAccounts;
use crate::google::PropertyTokens;
use crate::limit::{Limiter, Quota};
use crate::oauth::Tokens;
use crate::platform::Platform;
use crate::registry::Registry;
use crate::stats::Stats;
use crate::SandboxOptions;

#[derive(Debug)]
pub(crate) struct Shared {
    /// Seed of the simulated world.
    pub seed: u64,
    /// Bound address, for absolute URLs when a request has no `Host`.
    pub addr: SocketAddr,
    pub faults: Faults,
    limiters: [Limiter; Platform::COUNT],
    /// Daily quotas per platform (disabled where a platform has none).
    quotas: [Quota; Platform::COUNT],
    /// Whether responses carry usage headers.
    pub usage_headers: bool,
    pub stats: Stats,
    pub registry: Registry,
    pub tokens: Tokens,
    /// GA4 property token buckets.
    pub ga4_tokens: PropertyTokens,
    /// The service account Google's token endpoint knows, and its answers.
    pub service_accounts: ServiceAccounts,
}

impl Shared {
    pub fn new(opts: SandboxOptions, addr: SocketAddr) -> Shared {
        let l = opts.limits;
        Shared {
            seed: opts.seed,
            addr,
            faults: crate::faults::Faults::new(opts.seed, opts.faults.clone()),
            limiters: Platform::ALL.map(|p| Limiter::new(l.limit(p), l.jitter_tolerance)),
            quotas: Platform::ALL.map(|p| l.daily_quota(p)),
            usage_headers: l.usage_headers,
            stats: Stats::new(opts.record_arrivals),
            registry: Registry::default(),
            tokens: Tokens::new(opts.seed, opts.faults.token_ttl_secs),
            ga4_tokens: PropertyTokens::new(l.ga4_tokens_per_hour, l.ga4_tokens_per_day),
            service_accounts: ServiceAccounts::default(),
        }
    }

    pub fn limiter(&self, platform: Platform) -> &Limiter {
        &self.limiters[platform.index()]
    }

    pub fn quota(&self, platform: Platform) -> &Quota {
        &self.quotas[platform.index()]
    }
}
