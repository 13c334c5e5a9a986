//! Pacing per (platform, API host, credential): a GCRA limiter for the declared
//! rate plus a hold set from usage headers and 429 hints.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tally_model::RateLimitSpec;
use tokio::time::Instant;

/// The shared pacing state of one credential on one platform host.
#[derive(Debug)]
pub struct Pacer {
    limiter: DefaultDirectRateLimiter,
    clock: DefaultClock,
    hold_until: Mutex<Option<Instant>>,
    /// Requests waiting in [`Pacer::ready`] now, for progress displays.
    waiting: AtomicUsize,
}

/// Counts a request as waiting while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(counter: &'a AtomicUsize) -> Waiting<'a> {
        counter.fetch_add(1, Ordering::Relaxed);
        Waiting(counter)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Pacer {
    /// A pacer for `spec`; the limiter starts with a full burst.
    pub fn new(spec: RateLimitSpec) -> Pacer {
        let requests = spec.requests.max(1);
        let period =
            Duration::from_secs_f64(f64::from(spec.per_seconds.max(1)) / f64::from(requests));
        let burst = NonZeroU32::new(spec.burst.clamp(1, requests)).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        Pacer {
            limiter: RateLimiter::direct(quota),
            clock: DefaultClock::default(),
            hold_until: Mutex::new(None),
            waiting: AtomicUsize::new(0),
        }
    }

    /// Waits until a request may be sent: past any hold, then through the limiter.
    pub async fn ready(&self) {
        let mut waiting = None;
        loop {
            let hold = *self.hold_until.lock().unwrap_or_else(|e| e.into_inner());
            match hold {
                Some(until) if until > Instant::now() => {
                    waiting.get_or_insert_with(|| Waiting::new(&self.waiting));
                    tokio::time::sleep_until(until).await
                }
                _ => break,
            }
        }
        loop {
            match self.limiter.check() {
                Ok(()) => return,
                Err(not_until) => {
                    waiting.get_or_insert_with(|| Waiting::new(&self.waiting));
                    tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await
                }
            }
        }
    }

    /// How many requests are waiting for this pacer now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Holds every request on this credential for `wait` (extends, never shortens, a hold).
    pub fn hold(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut hold = self.hold_until.lock().unwrap_or_else(|e| e.into_inner());
        if hold.is_none_or(|h| h < until) {
            *hold = Some(until);
        }
    }
}
