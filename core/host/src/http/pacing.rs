//! Pacing per (platform, API host, credential): the declared rate until the
//! server has spoken, then what the server says it allows.
//!
//! Three things decide when the next request of a credential may leave, in
//! this order:
//!
//! 1. **A pause.** A 429 with `Retry-After` pauses the whole credential, once:
//!    the refusals of requests that were already on their way when the pause
//!    began belong to the same overrun and do not pause it again.
//! 2. **What the server said.** Usage headers ([`Usage`]) state how many
//!    requests are left and when the budget is back. No more than that goes
//!    before the reset, counting the requests still in flight, so however the
//!    requests bunch on the way, each finds the budget the server stated. Within
//!    it, what is left is spread evenly until the reset: that is exact for a
//!    fixed window (Mastodon, GitHub) and, for a token bucket whose reset is
//!    "full again", settles at its refill rate with the bucket half full. While
//!    more than half the limit is left, the declared rate may go sooner (a
//!    window of an hour need not be spread over the hour). A statement from an
//!    older request than the one the pacer already believes is ignored. When the
//!    stated reset passes with no newer statement, one request goes alone, and
//!    its answer states the new budget.
//! 3. **The declared rate**, a GCRA limiter (`requests / per_seconds`, `burst`
//!    back to back), until the server has spoken. While nothing has been heard
//!    the first request goes alone, so the burst that follows is no larger than
//!    what the server says remains; a platform that answers without usage
//!    headers is paced by the declared rate alone from then on. A rate the
//!    user set for the source is a ceiling: it binds after the server has
//!    spoken too.
//!
//! The declared limiter anchors every schedule it starts from rest at the
//! *answer* to its first request, not at its sending. A server anchors its
//! bucket at the first request to arrive, and that one is the slowest (a new
//! connection, cold caches): later requests that travel faster arrive before
//! their token, and an exact bucket refuses them (measured in BENCHMARKS.md,
//! "Rate limits"). The server handled the first request before it answered, so
//! a schedule counted from the answer can only run behind the server's. The
//! margin this costs is that one round trip, once per schedule; requests past
//! the first burst wait for it.

use super::usage::Usage;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tally_model::RateLimitSpec;
use tokio::sync::Notify;
use tokio::time::Instant;

/// The shared pacing state of one credential on one platform host.
#[derive(Debug)]
pub struct Pacer {
    declared: Gcra,
    state: Mutex<State>,
    /// Wakes waiting requests when an answer, a statement or a pause arrives.
    changed: Notify,
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

/// A request the pacer let through; tell the pacer what came back with
/// [`Sent::answered`] (dropping it counts as an answer that said nothing).
#[derive(Debug)]
pub struct Sent<'a> {
    pacer: &'a Pacer,
    at: Instant,
    answered: bool,
}

impl Sent<'_> {
    /// Reports the answer: what it said about the limit, and a pause the
    /// whole credential must take (a 429's `Retry-After`).
    pub fn answered(mut self, usage: Option<&Usage>, pause: Option<Duration>) {
        self.answered = true;
        self.pacer.finish(self.at, usage, pause);
    }
}

impl Drop for Sent<'_> {
    fn drop(&mut self) {
        if !self.answered {
            self.pacer.finish(self.at, None, None);
        }
    }
}

impl Pacer {
    /// A pacer for the declared `spec`; nothing has been heard from the server
    /// yet. A `ceiling` is never exceeded, whatever the server states.
    pub fn new(spec: RateLimitSpec, ceiling: bool) -> Pacer {
        let requests = spec.requests.max(1);
        let interval =
            Duration::from_secs_f64(f64::from(spec.per_seconds.max(1)) / f64::from(requests));
        let burst = spec.burst.clamp(1, requests);
        Pacer {
            declared: Gcra {
                interval,
                tolerance: interval * (burst - 1),
                ceiling,
            },
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            waiting: AtomicUsize::new(0),
        }
    }

    /// Waits until a request may be sent, and counts it as in flight.
    #[cfg(test)]
    pub async fn ready(&self) -> Sent<'_> {
        match self.ready_within(Duration::MAX).await {
            Ok(sent) => sent,
            Err(_) => unreachable!("no wait exceeds Duration::MAX"),
        }
    }

    /// Like waiting until a request may be sent, except when the server has
    /// stated that its budget is spent until a reset more than `max_wait`
    /// away (Yelp's daily calls, say): then the time to that reset is
    /// returned at once, so a pull ends as throttled and says when to come
    /// back instead of sleeping for hours.
    pub async fn ready_within(&self, max_wait: Duration) -> Result<Sent<'_>, Duration> {
        let mut waiting = None;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let wait = match self.lock().admit(Instant::now(), &self.declared) {
                Admit::Go(at) => {
                    return Ok(Sent {
                        pacer: self,
                        at,
                        answered: false,
                    })
                }
                Admit::Until(until) => until,
                Admit::Spent(until) => {
                    let left = until.saturating_duration_since(Instant::now());
                    if left > max_wait {
                        return Err(left);
                    }
                    Some(until)
                }
                Admit::WhenAnswered => None,
            };
            waiting.get_or_insert_with(|| Waiting::new(&self.waiting));
            match wait {
                Some(until) => tokio::select! {
                    () = tokio::time::sleep_until(until) => {}
                    () = &mut changed => {}
                },
                None => changed.await,
            }
        }
    }

    /// How many requests are waiting for this pacer now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    fn finish(&self, sent: Instant, usage: Option<&Usage>, pause: Option<Duration>) {
        self.lock()
            .answered(sent, Instant::now(), usage, pause, self.declared.interval);
        self.changed.notify_waiters();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The declared rate as a GCRA: `interval` between requests, up to
/// `tolerance / interval` more back to back.
#[derive(Debug)]
struct Gcra {
    interval: Duration,
    tolerance: Duration,
    /// Whether it binds after the server has spoken too.
    ceiling: bool,
}

impl Gcra {
    /// Lets a request through at `now`, advancing `tat` (the theoretical
    /// arrival time), or says when it may go. A request at rest opens a new
    /// schedule (`anchor`); until its answer, none goes past the first burst.
    fn check(
        &self,
        tat: &mut Option<Instant>,
        anchor: &mut Option<Instant>,
        now: Instant,
    ) -> Result<(), Admit> {
        let due = tat.unwrap_or(now);
        if due <= now && anchor.is_none() {
            *anchor = Some(now);
        }
        if anchor.is_some_and(|a| due > a + self.tolerance) {
            return Err(Admit::WhenAnswered);
        }
        if now + self.tolerance < due {
            return Err(Admit::Until(Some(due - self.tolerance)));
        }
        *tat = Some(due.max(now) + self.interval);
        Ok(())
    }
}

#[derive(Debug, Default)]
struct State {
    /// The declared limiter's theoretical arrival time.
    tat: Option<Instant>,
    /// When the request that opened the declared schedule was sent, until it
    /// is answered.
    anchor: Option<Instant>,
    heard: Heard,
    in_flight: u32,
    last_sent: Option<Instant>,
    pause: Option<Pause>,
}

#[derive(Debug, Default)]
enum Heard {
    /// No answer yet: one request at a time, at the declared rate.
    #[default]
    Nothing,
    /// Answers carry no usage headers: the declared rate.
    Silent,
    /// The server's latest statement.
    Stated(Learned),
}

/// The budget the server stated, as the pacer spends it.
#[derive(Debug)]
struct Learned {
    /// Requests still allowed before `until`, minus those sent since.
    budget: f64,
    /// When the stated budget is back.
    until: Instant,
    /// The stated limit (or, without one, what was left).
    refill: f64,
    /// Spacing that spreads the budget until `until`.
    interval: Duration,
    /// When the request whose answer this is was sent.
    from: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Pause {
    from: Instant,
    until: Instant,
}

enum Admit {
    Go(Instant),
    Until(Option<Instant>),
    /// The server's stated budget is spent until this reset.
    Spent(Instant),
    WhenAnswered,
}

impl State {
    fn admit(&mut self, now: Instant, declared: &Gcra) -> Admit {
        if let Some(pause) = self.pause.filter(|p| p.until > now) {
            return Admit::Until(Some(pause.until));
        }
        match &mut self.heard {
            Heard::Nothing if self.in_flight > 0 => return Admit::WhenAnswered,
            Heard::Nothing | Heard::Silent => {
                if let Err(wait) = declared.check(&mut self.tat, &mut self.anchor, now) {
                    return wait;
                }
            }
            Heard::Stated(learned) => {
                if now >= learned.until {
                    // The budget is back, by how much only the next answer
                    // can say: one request at a time until it does.
                    if self.in_flight > 0 {
                        return Admit::WhenAnswered;
                    }
                    if declared.ceiling {
                        if let Err(wait) = declared.check(&mut self.tat, &mut None, now) {
                            return wait;
                        }
                    }
                } else {
                    if learned.budget < 1.0 {
                        return Admit::Spent(learned.until);
                    }
                    // Spread what is left over the reset; while more than half
                    // is left, the declared rate may go sooner.
                    let next = self.last_sent.map_or(now, |t| t + learned.interval);
                    if declared.ceiling {
                        if now < next && learned.budget < learned.refill / 2.0 {
                            return Admit::Until(Some(next));
                        }
                        match declared.check(&mut self.tat, &mut None, now) {
                            Ok(()) => {}
                            Err(Admit::Until(Some(at))) => return Admit::Until(Some(at)),
                            Err(_) => return Admit::Until(Some(next)),
                        }
                    } else if now < next {
                        if learned.budget < learned.refill / 2.0 {
                            return Admit::Until(Some(next));
                        }
                        match declared.check(&mut self.tat, &mut None, now) {
                            Ok(()) => {}
                            Err(Admit::Until(Some(at))) => return Admit::Until(Some(at.min(next))),
                            Err(_) => return Admit::Until(Some(next)),
                        }
                    }
                    learned.budget -= 1.0;
                }
            }
        }
        self.in_flight += 1;
        self.last_sent = Some(now);
        Admit::Go(now)
    }

    fn answered(
        &mut self,
        sent: Instant,
        now: Instant,
        usage: Option<&Usage>,
        pause: Option<Duration>,
        declared_interval: Duration,
    ) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if self.anchor == Some(sent) {
            // Count the declared schedule from when the server had surely
            // seen its first request.
            self.tat = self.tat.map(|t| t + (now - sent));
            self.anchor = None;
        }
        if let Some(wait) = pause {
            self.pause_for(sent, now, wait);
        }
        match (usage, &self.heard) {
            (None, Heard::Nothing) => self.heard = Heard::Silent,
            (None, _) => {}
            (Some(_), Heard::Stated(known)) if sent < known.from => {}
            (Some(usage), heard) => {
                let previous = match heard {
                    Heard::Stated(known) => known.interval,
                    _ => declared_interval,
                };
                self.heard = Heard::Stated(self.learn(usage, sent, now, previous));
            }
        }
    }

    /// What `usage`, the answer to a request sent at `sent`, allows from `now`.
    fn learn(&self, usage: &Usage, sent: Instant, now: Instant, previous: Duration) -> Learned {
        let budget = usage.remaining.floor() - f64::from(self.in_flight);
        let policy = match (usage.window, usage.limit) {
            (Some(window), Some(limit)) if limit >= 1.0 => Some(window.div_f64(limit)),
            _ => None,
        };
        let interval = match usage.reset_in {
            Some(reset) if budget >= 1.0 => reset.div_f64(budget),
            _ => policy.unwrap_or(previous),
        };
        Learned {
            budget,
            until: now + usage.reset_in.unwrap_or(interval),
            refill: usage.limit.unwrap_or(usage.remaining).floor().max(1.0),
            interval,
            from: sent,
        }
    }

    /// Pauses the credential for `wait` unless the request sent at `sent` was
    /// already on its way when the current pause began (same overrun).
    fn pause_for(&mut self, sent: Instant, now: Instant, wait: Duration) {
        if self.pause.is_some_and(|p| sent < p.from) {
            return;
        }
        let until = now + wait;
        self.pause = Some(Pause {
            from: now,
            until: self.pause.map_or(until, |p| p.until.max(until)),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(requests: u32, per_seconds: u32, burst: u32) -> Pacer {
        Pacer::new(
            RateLimitSpec {
                requests,
                per_seconds,
                burst,
            },
            false,
        )
    }

    fn stated(limit: f64, remaining: f64, reset_ms: u64) -> Usage {
        Usage {
            limit: Some(limit),
            remaining,
            reset_in: Some(Duration::from_millis(reset_ms)),
            window: None,
        }
    }

    /// Sends `n` requests one after another, answering each at once with
    /// nothing, and returns when each left, in ms from `t0`.
    async fn send_silently(pacer: &Pacer, n: usize, t0: Instant) -> Vec<u64> {
        let mut at = Vec::new();
        for _ in 0..n {
            let sent = pacer.ready().await;
            at.push((Instant::now() - t0).as_millis() as u64);
            sent.answered(None, None);
        }
        at
    }

    #[tokio::test(start_paused = true)]
    async fn silent_server_gets_the_declared_burst_then_the_rate() {
        let pacer = declared(10, 1, 3);
        let t0 = Instant::now();
        let at = send_silently(&pacer, 6, t0).await;
        assert_eq!(at, [0, 0, 0, 100, 200, 300]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_declared_schedule_counts_from_the_first_answer() {
        let pacer = declared(10, 1, 3);
        let t0 = Instant::now();
        let first = pacer.ready().await;
        tokio::time::advance(Duration::from_millis(30)).await;
        first.answered(None, None);
        let at = send_silently(&pacer, 4, t0).await;
        // The rest of the burst at once, then one per 100 ms from the answer.
        assert_eq!(at, [30, 30, 130, 230]);
    }

    #[tokio::test(start_paused = true)]
    async fn past_the_first_burst_requests_wait_for_the_first_answer() {
        let pacer = declared(10, 1, 2);
        pacer.ready().await.answered(None, None);
        tokio::time::advance(Duration::from_secs(1)).await;
        // At rest again: a new schedule opens with the next request.
        let t0 = Instant::now();
        let opening = pacer.ready().await;
        let second = pacer.ready().await;
        let third = tokio::time::timeout(Duration::from_secs(5), pacer.ready()).await;
        assert!(third.is_err(), "went past the burst before any answer");
        let t1 = Instant::now();
        opening.answered(None, None);
        let third = pacer.ready().await;
        // Due 100 ms after the schedule opened, counted from the answer.
        assert_eq!(Instant::now() - t1, Duration::from_millis(100));
        assert!(t1 - t0 >= Duration::from_secs(5));
        drop((second, third));
    }

    #[tokio::test(start_paused = true)]
    async fn before_the_server_has_spoken_the_first_request_goes_alone() {
        let pacer = declared(300, 300, 30);
        let first = pacer.ready().await;
        let second = tokio::time::timeout(Duration::from_secs(5), pacer.ready()).await;
        assert!(second.is_err(), "a second request went before any answer");
        let t0 = Instant::now();
        // The server says: 8 left of 10, full again in 160 ms.
        first.answered(Some(&stated(10.0, 8.0, 160)), None);
        let at = send_silently(&pacer, 9, t0).await;
        // The declared burst of 30 shrinks to what is left above half the
        // limit; the rest is spread until the reset (160 / 8 = 20 ms apart);
        // then one goes alone.
        assert_eq!(at, [0, 0, 0, 0, 20, 40, 60, 80, 160]);
    }

    #[tokio::test(start_paused = true)]
    async fn plenty_left_until_a_distant_reset_keeps_the_declared_rate() {
        let pacer = declared(10, 1, 3);
        pacer
            .ready()
            .await
            .answered(Some(&stated(300.0, 299.0, 3_600_000)), None);
        let t0 = Instant::now();
        let at = send_silently(&pacer, 4, t0).await;
        // Spreading 299 over an hour would be one per 12 s.
        assert_eq!(at, [0, 0, 100, 200]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_the_user_set_is_a_ceiling_the_server_cannot_lift() {
        let spec = RateLimitSpec {
            requests: 10,
            per_seconds: 1,
            burst: 1,
        };
        let pacer = Pacer::new(spec, true);
        let t0 = Instant::now();
        pacer
            .ready()
            .await
            .answered(Some(&stated(10.0, 10.0, 100)), None);
        // The server would allow 10 in 100 ms; the user said 10 a second.
        let at = send_silently(&pacer, 3, t0).await;
        assert_eq!(at, [100, 200, 300]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_learned_rate_follows_each_new_statement() {
        let pacer = declared(1, 1, 1);
        pacer
            .ready()
            .await
            .answered(Some(&stated(10.0, 5.0, 100)), None);
        let t0 = Instant::now();
        // 5 left over 100 ms: every 20 ms.
        let second = pacer.ready().await;
        assert_eq!((Instant::now() - t0).as_millis(), 20);
        // 2 left over 100 ms: every 50 ms from the last send.
        second.answered(Some(&stated(10.0, 2.0, 100)), None);
        let third = pacer.ready().await;
        assert_eq!((Instant::now() - t0).as_millis(), 70);
        drop(third);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_in_flight_count_against_the_stated_budget() {
        let pacer = declared(1, 1, 1);
        pacer
            .ready()
            .await
            .answered(Some(&stated(10.0, 10.0, 1000)), None);
        let a = pacer.ready().await;
        let b = pacer.ready().await;
        let c = pacer.ready().await;
        let t0 = Instant::now();
        // Answered while b and c are out: 2 left means none for now.
        a.answered(Some(&stated(10.0, 2.0, 300)), None);
        let waiting = tokio::time::timeout(Duration::from_millis(400), pacer.ready()).await;
        assert!(waiting.is_err(), "sent past a spent budget");
        // Past the reset, one goes alone once nothing is in flight.
        drop((b, c));
        let next = pacer.ready().await;
        assert_eq!((Instant::now() - t0).as_millis(), 400);
        let alone = tokio::time::timeout(Duration::from_secs(5), pacer.ready()).await;
        assert!(
            alone.is_err(),
            "a second went before the new budget was stated"
        );
        drop(next);
    }

    #[tokio::test(start_paused = true)]
    async fn an_older_statement_does_not_overwrite_a_newer_one() {
        let pacer = declared(1, 1, 1);
        pacer
            .ready()
            .await
            .answered(Some(&stated(10.0, 9.0, 1000)), None);
        let older = pacer.ready().await;
        let newer = pacer.ready().await;
        let t0 = Instant::now();
        newer.answered(Some(&stated(10.0, 0.0, 400)), None);
        older.answered(Some(&stated(10.0, 8.0, 10)), None);
        let sent = pacer.ready().await;
        assert_eq!((Instant::now() - t0).as_millis(), 400);
        drop(sent);
    }

    #[tokio::test(start_paused = true)]
    async fn a_budget_spent_until_a_distant_reset_is_reported_not_slept_through() {
        let pacer = declared(10, 1, 3);
        pacer
            .ready()
            .await
            .answered(Some(&stated(300.0, 0.0, 3_600_000)), None);
        let wait = match pacer.ready_within(Duration::from_secs(120)).await {
            Err(wait) => wait,
            Ok(_) => panic!("a spent budget let a request through"),
        };
        assert!(wait > Duration::from_secs(3_590), "{wait:?}");
        // A reset within the longest wait allowed is waited for.
        let pacer = declared(10, 1, 3);
        pacer
            .ready()
            .await
            .answered(Some(&stated(300.0, 0.0, 5_000)), None);
        let t0 = Instant::now();
        assert!(pacer.ready_within(Duration::from_secs(120)).await.is_ok());
        assert!(t0.elapsed() >= Duration::from_millis(4_900));
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_the_credential_once_for_its_retry_after() {
        let pacer = declared(100, 1, 100);
        pacer.ready().await.answered(None, None);
        let out: Vec<_> = [(); 3].iter().map(|_| pacer.now_or_never()).collect();
        tokio::time::advance(Duration::from_millis(1)).await;
        let t0 = Instant::now();
        let mut out = out.into_iter();
        out.next()
            .unwrap()
            .answered(None, Some(Duration::from_secs(1)));
        tokio::time::advance(Duration::from_millis(300)).await;
        // The others were already on their way: their refusals, later and
        // with their own Retry-After, are the same overrun.
        for sent in out {
            sent.answered(None, Some(Duration::from_secs(1)));
        }
        let after = pacer.ready().await;
        assert_eq!((Instant::now() - t0).as_millis(), 1000);
        // A request sent after the pause that is refused pauses again.
        after.answered(None, Some(Duration::from_secs(2)));
        let again = pacer.ready().await;
        assert_eq!((Instant::now() - t0).as_millis(), 3000);
        drop(again);
    }

    impl Pacer {
        /// Takes a request slot that must be free now.
        fn now_or_never(&self) -> Sent<'_> {
            match self.lock().admit(Instant::now(), &self.declared) {
                Admit::Go(at) => Sent {
                    pacer: self,
                    at,
                    answered: false,
                },
                _ => panic!("the pacer held a request it should let through"),
            }
        }
    }
}
