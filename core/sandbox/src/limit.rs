//! Rate limits as the platforms enforce them: a token bucket per credential
//! (what the usage headers describe) and the daily quotas of YouTube (units),
//! Yelp and SurveyMonkey (calls).
//!
//! The bucket is continuous (no fixed windows), so a client that paces
//! itself at `requests / per_seconds` never sees a 429: that is what
//! benchmarks measure. Like GCRA's delay-variation tolerance, a request that
//! arrives up to a fixed tolerance before its token is due is still admitted:
//! scheduling and loopback jitter can bunch two perfectly paced requests
//! together, while a client that really sends too fast still runs out,
//! because the tolerance is a fixed amount, not a rate. Benchmarks set it to
//! zero to see what an exact bucket (a real platform) would refuse.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc, Weekday};

use crate::Limit;

/// What the usage headers of one response say.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Usage {
    /// Bucket capacity.
    pub limit: u32,
    /// Requests per policy window (the rate, with `window_secs`).
    pub quota: u32,
    /// Whole tokens left after this request.
    pub remaining: u32,
    /// Until the bucket is full again.
    pub reset_in: Duration,
    /// Until one token is available (zero if one is).
    pub retry_in: Duration,
    /// The policy window in seconds.
    pub window_secs: u32,
}

impl Usage {
    /// `Retry-After`: whole seconds until a token is available, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        (self.retry_in.as_secs_f64().ceil() as u64).max(1)
    }
}

/// The outcome of asking a bucket for one token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Decision {
    /// Served; `None` when the platform is configured unlimited (no headers).
    Admit(Option<Usage>),
    /// Answered with the platform's 429.
    Throttle(Usage),
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// One platform's buckets, one per credential, created full on first use.
#[derive(Debug)]
pub(crate) struct Limiter {
    limit: Limit,
    /// How early a request may arrive before its token is due and still pass.
    tolerance: Duration,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Limiter {
    pub fn new(limit: Limit, tolerance: Duration) -> Limiter {
        Limiter {
            limit,
            tolerance,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `credential` at `now`, or says how long to wait.
    pub fn acquire(&self, credential: &str, now: Instant) -> Decision {
        if self.limit.requests == 0 {
            return Decision::Admit(None);
        }
        let capacity = f64::from(self.limit.burst.max(1));
        let rate = f64::from(self.limit.requests) / f64::from(self.limit.per_seconds.max(1));
        let mut buckets = lock(&self.buckets);
        let bucket = match buckets.get_mut(credential) {
            Some(b) => b,
            None => buckets.entry(credential.to_string()).or_insert(Bucket {
                tokens: capacity,
                last: now,
            }),
        };
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.last = bucket.last.max(now);
        let admitted = bucket.tokens + rate * self.tolerance.as_secs_f64() >= 1.0;
        if admitted {
            // May dip just below zero by at most the tolerance.
            bucket.tokens -= 1.0;
        }
        let tokens = bucket.tokens;
        let usage = Usage {
            limit: self.limit.burst.max(1),
            quota: self.limit.requests,
            remaining: tokens.floor().max(0.0) as u32,
            reset_in: Duration::from_secs_f64(((capacity - tokens) / rate).max(0.0)),
            retry_in: Duration::from_secs_f64(((1.0 - tokens) / rate).max(0.0)),
            window_secs: self.limit.per_seconds.max(1),
        };
        if admitted {
            Decision::Admit(Some(usage))
        } else {
            Decision::Throttle(usage)
        }
    }
}

/// A daily request (or unit) quota per credential: YouTube's units reset at
/// midnight Pacific time, Yelp's and SurveyMonkey's calls at midnight UTC.
#[derive(Debug)]
pub(crate) struct Quota {
    per_day: u64,
    /// The calendar day an instant counts towards.
    day_of: fn(DateTime<Utc>) -> NaiveDate,
    used: Mutex<HashMap<String, (NaiveDate, u64)>>,
}

/// What one charge left of a daily quota, for the platforms that report it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct DayUsage {
    /// Calls (units) a day.
    pub limit: u64,
    /// Calls left today after this one.
    pub remaining: u64,
    /// When the day's calls come back.
    pub reset_at: DateTime<Utc>,
}

/// The outcome of charging a daily quota.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Charge {
    /// The platform has no daily quota.
    Unlimited,
    /// Charged; what is left.
    Charged(DayUsage),
    /// The day's calls are spent (nothing charged).
    Spent(DayUsage),
}

impl Quota {
    /// `per_day == 0` disables the quota; days are counted by `day_of`.
    pub fn new(per_day: u64, day_of: fn(DateTime<Utc>) -> NaiveDate) -> Quota {
        Quota {
            per_day,
            day_of,
            used: Mutex::new(HashMap::new()),
        }
    }

    /// Charges one unit to `key` for the day of `now` and says what is left.
    pub fn charge(&self, key: &str, now: DateTime<Utc>) -> Charge {
        if self.per_day == 0 {
            return Charge::Unlimited;
        }
        let today = (self.day_of)(now);
        let mut used = lock(&self.used);
        let entry = match used.get_mut(key) {
            Some(e) => e,
            None => used.entry(key.to_string()).or_insert((today, 0)),
        };
        if entry.0 != today {
            *entry = (today, 0);
        }
        let spent = entry.1 >= self.per_day;
        if !spent {
            entry.1 += 1;
        }
        let usage = DayUsage {
            limit: self.per_day,
            remaining: self.per_day - entry.1,
            reset_at: self.next_day(now),
        };
        if spent {
            Charge::Spent(usage)
        } else {
            Charge::Charged(usage)
        }
    }

    /// The first instant after `now` that counts towards another day.
    fn next_day(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let today = (self.day_of)(now);
        // Days change on the hour: step hours forward until the day does.
        let hour = now
            .date_naive()
            .and_hms_opt(now.hour(), 0, 0)
            .map(|t| Utc.from_utc_datetime(&t))
            .unwrap_or(now);
        (1..=26)
            .map(|h| hour + chrono::Duration::hours(h))
            .find(|t| (self.day_of)(*t) != today)
            .unwrap_or(now)
    }
}

/// The calendar date in UTC, the day of Yelp's and SurveyMonkey's quotas.
pub(crate) fn utc_date(now: DateTime<Utc>) -> NaiveDate {
    now.date_naive()
}

/// The calendar date in America/Los_Angeles (US DST rules since 2007),
/// computed here to avoid a time-zone database for one zone.
pub(crate) fn pacific_date(now: DateTime<Utc>) -> NaiveDate {
    let year = now.year();
    let switch = |month, nth, utc_hour| {
        NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Sun, nth)
            .and_then(|d| d.and_hms_opt(utc_hour, 0, 0))
            .map(|t| Utc.from_utc_datetime(&t))
    };
    // 02:00 local: 10:00 UTC in March (PST), 09:00 UTC in November (PDT).
    let dst = match (switch(3, 2, 10), switch(11, 1, 9)) {
        (Some(start), Some(end)) => now >= start && now < end,
        _ => false,
    };
    let offset = if dst { 7 } else { 8 };
    (now - chrono::Duration::hours(offset)).date_naive()
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it
/// (the maps stay consistent: every update is a single assignment).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOLERANCE: Duration = Duration::from_millis(10);

    #[test]
    fn bucket_counts_down_then_throttles_then_refills() {
        let l = Limiter::new(Limit::new(3, 3), TOLERANCE);
        let t0 = Instant::now();
        let mut remaining = Vec::new();
        for _ in 0..3 {
            match l.acquire("k", t0) {
                Decision::Admit(Some(u)) => remaining.push(u.remaining),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(remaining, [2, 1, 0]);
        match l.acquire("k", t0) {
            Decision::Throttle(u) => {
                assert_eq!(u.retry_after_secs(), 1);
                assert_eq!(u.reset_in, Duration::from_secs(3));
            }
            other => panic!("unexpected {other:?}"),
        }
        // Another credential has its own bucket.
        assert!(matches!(l.acquire("other", t0), Decision::Admit(Some(_))));
        // One second later one token is back.
        let t1 = t0 + Duration::from_secs(1);
        assert!(matches!(l.acquire("k", t1), Decision::Admit(Some(u)) if u.remaining == 0));
        assert!(matches!(l.acquire("k", t1), Decision::Throttle(_)));
    }

    #[test]
    fn paced_client_is_never_throttled() {
        let l = Limiter::new(Limit::new(10, 1), TOLERANCE);
        let t0 = Instant::now();
        for i in 0..1000u32 {
            let t = t0 + Duration::from_millis(100) * i;
            assert!(
                matches!(l.acquire("k", t), Decision::Admit(_)),
                "request {i}"
            );
        }
    }

    #[test]
    fn jitter_within_tolerance_is_admitted_but_overshoot_is_not() {
        let l = Limiter::new(Limit::new(10, 1), TOLERANCE);
        let t0 = Instant::now();
        for _ in 0..10 {
            assert!(matches!(l.acquire("k", t0), Decision::Admit(_)));
        }
        // Due at +100 ms, arrives 5 ms early: admitted.
        assert!(matches!(
            l.acquire("k", t0 + Duration::from_millis(95)),
            Decision::Admit(Some(u)) if u.remaining == 0
        ));
        // Sending at 10% over the rate runs out within a few requests.
        let throttled = (1..=20u32)
            .map(|i| t0 + Duration::from_millis(95) + Duration::from_millis(90) * i)
            .filter(|&t| matches!(l.acquire("k", t), Decision::Throttle(_)))
            .count();
        assert!(throttled > 0);
    }

    #[test]
    fn a_bucket_smaller_than_its_window_refills_at_the_window_rate() {
        // 50 per second, but only 10 back to back; exact, no tolerance.
        let l = Limiter::new(
            Limit {
                burst: 10,
                ..Limit::new(50, 1)
            },
            Duration::ZERO,
        );
        let t0 = Instant::now();
        for left in (0..10).rev() {
            match l.acquire("k", t0) {
                Decision::Admit(Some(u)) => {
                    assert_eq!((u.limit, u.quota, u.remaining), (10, 50, left));
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        // The next token is due at +20 ms: 1 ms early is refused, on time is not.
        assert!(matches!(
            l.acquire("k", t0 + Duration::from_millis(19)),
            Decision::Throttle(_)
        ));
        assert!(matches!(
            l.acquire("k", t0 + Duration::from_millis(20)),
            Decision::Admit(Some(u)) if u.reset_in == Duration::from_millis(200)
        ));
    }

    #[test]
    fn zero_means_unlimited() {
        let l = Limiter::new(Limit::new(0, 1), TOLERANCE);
        for _ in 0..10 {
            assert_eq!(l.acquire("k", Instant::now()), Decision::Admit(None));
        }
    }

    fn try_charge(q: &Quota, key: &str, now: DateTime<Utc>) -> bool {
        !matches!(q.charge(key, now), Charge::Spent(_))
    }

    #[test]
    fn quota_resets_on_the_pacific_day() {
        let q = Quota::new(2, pacific_date);
        // 2026-06-01 06:00 UTC is still May 31 in Los Angeles (PDT).
        let night = Utc
            .with_ymd_and_hms(2026, 6, 1, 6, 0, 0)
            .single()
            .expect("valid");
        assert!(try_charge(&q, "k", night));
        assert!(try_charge(&q, "k", night));
        assert!(!try_charge(&q, "k", night));
        let morning = Utc
            .with_ymd_and_hms(2026, 6, 1, 7, 0, 0)
            .single()
            .expect("valid");
        assert!(try_charge(&q, "k", morning));
        match q.charge("k", morning) {
            Charge::Charged(day) => {
                assert_eq!(day.remaining, 0);
                // Midnight in Los Angeles (PDT) is 07:00 UTC.
                assert_eq!(
                    day.reset_at,
                    Utc.with_ymd_and_hms(2026, 6, 2, 7, 0, 0)
                        .single()
                        .expect("valid")
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(q.charge("k", morning), Charge::Spent(_)));
        let utc = Quota::new(1, utc_date);
        assert!(matches!(utc.charge("k", night), Charge::Charged(d) if d.reset_at.hour() == 0));
        assert_eq!(
            pacific_date(
                Utc.with_ymd_and_hms(2026, 1, 15, 7, 59, 0)
                    .single()
                    .expect("valid")
            ),
            NaiveDate::from_ymd_opt(2026, 1, 14).expect("valid")
        );
    }
}
