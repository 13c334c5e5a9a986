//! Request counters, so benchmarks can report "zero 429s" from the server's
//! side and tests can check that a client retried as often as it should.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::limit::lock;

use crate::platform::Platform;

/// A snapshot of what the sandbox has served since it started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SandboxStats {
    /// Every request received, including ones to unknown paths.
    pub requests: u64,
    /// Every 429 served (exhausted bucket or injected burst).
    pub throttled: u64,
    /// The same per platform, keyed by connector name (`youtube`, `mastodon`, `bluesky`).
    pub per_platform: BTreeMap<String, PlatformStats>,
}

/// One platform's share of [`SandboxStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlatformStats {
    /// Requests received under the platform's root.
    pub requests: u64,
    /// 429s the platform served.
    pub throttled: u64,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    throttled: AtomicU64,
}

/// Lock-free counters shared by all connections, plus arrival instants when
/// a benchmark asked for them.
#[derive(Debug)]
pub(crate) struct Stats {
    total: Counters,
    platforms: [Counters; Platform::COUNT],
    started: Instant,
    /// Per platform; `None` when arrivals are not recorded.
    arrivals: Option<[Mutex<Vec<Duration>>; Platform::COUNT]>,
}

impl Stats {
    pub fn new(record_arrivals: bool) -> Stats {
        Stats {
            total: Counters::default(),
            platforms: Default::default(),
            started: Instant::now(),
            arrivals: record_arrivals.then(Default::default),
        }
    }

    /// Notes that a request reached `platform`'s limiter at `at`.
    pub fn arrived(&self, platform: Platform, at: Instant) {
        if let Some(arrivals) = &self.arrivals {
            lock(&arrivals[platform.index()]).push(at.saturating_duration_since(self.started));
        }
    }

    /// `platform`'s recorded arrivals, earliest first.
    pub fn arrivals(&self, platform: Platform) -> Vec<Duration> {
        let mut arrivals = self
            .arrivals
            .as_ref()
            .map(|a| lock(&a[platform.index()]).clone())
            .unwrap_or_default();
        arrivals.sort_unstable();
        arrivals
    }

    /// Counts a request to any path.
    pub fn request(&self) {
        self.total.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request to `platform` and returns its 1-based number there,
    /// which fault decisions are derived from.
    pub fn platform_request(&self, platform: Platform) -> u64 {
        self.platforms[platform.index()]
            .requests
            .fetch_add(1, Ordering::Relaxed)
            + 1
    }

    /// Counts a 429 served by `platform`.
    pub fn throttled(&self, platform: Platform) {
        self.total.throttled.fetch_add(1, Ordering::Relaxed);
        self.platforms[platform.index()]
            .throttled
            .fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> SandboxStats {
        SandboxStats {
            requests: self.total.requests.load(Ordering::Relaxed),
            throttled: self.total.throttled.load(Ordering::Relaxed),
            per_platform: Platform::ALL
                .into_iter()
                .map(|p| {
                    let c = &self.platforms[p.index()];
                    (
                        p.name().to_string(),
                        PlatformStats {
                            requests: c.requests.load(Ordering::Relaxed),
                            throttled: c.throttled.load(Ordering::Relaxed),
                        },
                    )
                })
                .collect(),
        }
    }
}
