//! The deterministic simulated world behind every sandbox endpoint.
//!
//! Tests and benchmarks elsewhere call these functions to know, without asking
//! the server, what the sandbox will answer. Everything is a pure function of
//! `(seed, entity id, UTC day of now)`:
//!
//! - any channel id (starting with `UC`, like real ones) / acct / handle
//!   exists, so 10,000 distinct sources cost nothing to set up; the reserved
//!   `*empty*` ids exist with no posts and the `*missing*` ids do not exist;
//! - the account was created at least [`WINDOW_DAYS`] days before `now`;
//! - its follower count is `base + daily growth × age + small wobble`, fixed
//!   for a whole UTC day so that re-pulls on the same day agree;
//! - it has 5–60 posts (videos, statuses) published during the
//!   [`WINDOW_DAYS`] days before the start of today; post ids never change, a
//!   post simply leaves the window after 90 days and new ones arrive;
//! - each post's engagement saturates with its age, so it only grows.
//!
//! The snapshot is taken at the start of the UTC day of `now`, so nothing
//! is ever published "in the future" of a request made later that day.
//! Producing one entity costs O(posts), so the server computes it per
//! request instead of caching.

mod bluesky;
mod eventbrite;
mod mastodon;
mod surveymonkey;
mod x;
mod yelp;
mod youtube;

pub use bluesky::{
    bluesky_did, bluesky_profile, FeedItem, PostData, ProfileData, RepostData, BLUESKY_BULK_PREFIX,
    BLUESKY_EMPTY, BLUESKY_MISSING,
};
pub(crate) use eventbrite::eventbrite_event_parts;
pub use eventbrite::{
    eventbrite_organization, eventbrite_organization_of_token, AttendeeData, EventData,
    OrganizationData, TicketClassData,
};
pub use mastodon::{
    mastodon_account, mastodon_account_id, AccountData, StatusData, MASTODON_EMPTY,
    MASTODON_MISSING,
};
pub use surveymonkey::{
    surveymonkey_survey, surveymonkey_surveys_of_token, Answer, QuestionData, ResponseData,
    SurveyData, SURVEYMONKEY_SOURCES, SURVEYMONKEY_SOURCE_QUESTION,
};
pub use x::{x_user, x_user_id, x_username_valid, UserData, XPostData, X_EMPTY, X_MISSING};
pub use yelp::{
    yelp_business, yelp_business_id, BusinessData, ReviewData, YELP_EXCERPTS, YELP_MISSING,
};
pub(crate) use youtube::{uploads_playlist_for, youtube_channel_prefix, youtube_video_prefix};
pub use youtube::{
    youtube_channel, youtube_channel_for_handle, youtube_channel_id_for_handle, ChannelData,
    VideoData, YOUTUBE_EMPTY, YOUTUBE_MISSING,
};

use chrono::{DateTime, Utc};

use crate::hash::{frange, pick, range, unit};

/// How many days of posts an account has; also the minimum account age.
pub const WINDOW_DAYS: i64 = 90;

const DAY_MS: i64 = 86_400_000;
const WINDOW_MS: i64 = WINDOW_DAYS * DAY_MS;
/// 2018-01-01T00:00:00Z in days since the epoch: the earliest account creation.
const FIRST_CREATION_DAY: i64 = 17_532;

// Salts, so that each derived quantity is independent of the others.
const S_CREATED: u64 = 1;
const S_BASE: u64 = 2;
const S_RATE: u64 = 3;
const S_WOBBLE: u64 = 4;
const S_COUNT: u64 = 5;
const S_PHASE: u64 = 6;
const S_NAME: u64 = 7;

/// The UTC day a snapshot describes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Day {
    /// Days since the Unix epoch.
    index: i64,
    /// Start of that day in epoch milliseconds: the snapshot instant.
    start_ms: i64,
}

impl Day {
    pub(crate) fn of(now: DateTime<Utc>) -> Day {
        let index = now.timestamp_millis().div_euclid(DAY_MS);
        Day {
            index,
            start_ms: index * DAY_MS,
        }
    }

    /// Age in (fractional) days at the snapshot of something that happened at `ms`.
    fn age_days(self, ms: i64) -> f64 {
        ((self.start_ms - ms).max(0)) as f64 / DAY_MS as f64
    }
}

/// Converts epoch milliseconds to a timestamp (the epoch itself if out of range).
pub(crate) fn at(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

/// Formats a timestamp the way all three platforms do: RFC 3339, milliseconds, `Z`.
pub(crate) fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The account-level numbers every platform shares.
#[derive(Debug, Clone, Copy)]
struct Account {
    created_ms: i64,
    /// Audience on the creation day, which also scales engagement.
    base: u64,
    /// Audience gained per day, before wobble.
    per_day: f64,
    /// Age in whole days at the snapshot.
    age_days: i64,
}

impl Account {
    fn new(h: u64, day: Day) -> Account {
        let c = pick(h, S_CREATED);
        let seconds = (c >> 32) % 86_400;
        let mut created_day = FIRST_CREATION_DAY + range(c, 0, 7 * 365) as i64;
        if created_day > day.index - WINDOW_DAYS - 1 {
            // A clock before ~2025: keep "created at least 90 days ago" true.
            created_day = day.index - WINDOW_DAYS - 1 - range(c, 0, 365) as i64;
        }
        let created_ms = created_day * DAY_MS + seconds as i64 * 1000 + (c >> 48) as i64 % 1000;
        // Mostly small accounts, a few large ones.
        let base = 20 + (unit(pick(h, S_BASE)).powi(3) * 60_000.0) as u64;
        let per_day = frange(pick(h, S_RATE), 0.5, 12.0) + base as f64 / 4_000.0;
        Account {
            created_ms,
            base,
            per_day,
            age_days: (day.index - created_day).max(0),
        }
    }

    /// Audience on the snapshot day: base + growth + a wobble fixed for the day.
    fn audience(&self, h: u64, day: Day) -> u64 {
        let grown = self.base as f64 + self.per_day * self.age_days as f64;
        let w = (self.per_day * 0.6).ceil() as i64 + 1;
        let wobble =
            (pick(h, S_WOBBLE ^ ((day.index as u64) << 8)) % (2 * w as u64 + 1)) as i64 - w;
        (grown as i64 + wobble).max(0) as u64
    }
}

/// When an account's posts happened: one post per slot of `WINDOW / n`
/// (n in 6..=59, so 5..=60 fall in any window), at a fixed jitter inside the
/// slot. Slot numbers `k` are absolute, so a post keeps its id over days.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    base: u64,
    interval_ms: i64,
    phase_ms: i64,
}

impl Schedule {
    fn new(h: u64, salt: u64, min: u64, max_inclusive: u64) -> Schedule {
        let base = pick(h, salt);
        let n = range(pick(base, S_COUNT), min, max_inclusive + 1) as i64;
        let interval_ms = WINDOW_MS / n.max(1);
        let phase_ms = (pick(base, S_PHASE) % interval_ms as u64) as i64;
        Schedule {
            base,
            interval_ms,
            phase_ms,
        }
    }

    /// The publish instant of slot `k`.
    fn time_of(&self, k: u64) -> i64 {
        let jitter = (pick(self.base, k) % (self.interval_ms as u64 * 4 / 5).max(1)) as i64;
        self.phase_ms + k as i64 * self.interval_ms + jitter
    }

    /// `(k, publish ms)` of the posts in the window, newest first.
    fn posts(&self, day: Day) -> Vec<(u64, i64)> {
        let start = day.start_ms - WINDOW_MS;
        let first = ((start - self.phase_ms).div_euclid(self.interval_ms) - 1).max(0);
        let last = (day.start_ms - self.phase_ms).div_euclid(self.interval_ms);
        let mut out: Vec<(u64, i64)> = (first..=last.max(first))
            .map(|k| (k as u64, self.time_of(k as u64)))
            .filter(|&(_, t)| t >= start && t < day.start_ms)
            .collect();
        out.reverse();
        out
    }
}

/// Engagement that rises quickly after publication and saturates at `max`.
fn saturating(max: f64, age_days: f64, tau_days: f64) -> u64 {
    (max * (1.0 - (-age_days / tau_days).exp()))
        .floor()
        .max(0.0) as u64
}

const ADJECTIVES: [&str; 12] = [
    "Corner", "Sunny", "Urban", "Golden", "Little", "Bright", "Quiet", "Wild", "Happy", "Daily",
    "Northern", "Copper",
];
const NOUNS: [&str; 12] = [
    "Bakery", "Garage", "Studio", "Kitchen", "Garden", "Cafe", "Workshop", "Gallery", "Market",
    "Lab", "Bookshop", "Bike Co",
];
const TOPICS: [&str; 12] = [
    "Behind the scenes",
    "Weekly update",
    "How we make it",
    "Customer stories",
    "Quick tips",
    "Live Q&A",
    "New arrivals",
    "Top 5 picks",
    "Tutorial",
    "Announcement",
    "Meet the team",
    "Giveaway",
];

/// The display name of the account whose id reads `readable` (a channel id
/// without `UC`, a username, a handle's first label). An id made of words
/// names the account after them (`corner_bakery` → "Corner Bakery"), so a
/// config that names its accounts after the business sees that business in
/// the data; any other id gets a deterministic name such as "Sunny Garage".
fn display_name(h: u64, readable: &str) -> String {
    let words: Vec<&str> = readable.split(['_', '-']).collect();
    let is_word = |w: &&str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphabetic());
    if words.iter().all(is_word) {
        return words
            .iter()
            .map(|w| {
                let lower = w.to_ascii_lowercase();
                lower[..1].to_ascii_uppercase() + &lower[1..]
            })
            .collect::<Vec<_>>()
            .join(" ");
    }
    let n = pick(h, S_NAME);
    format!(
        "{} {}",
        ADJECTIVES[(n % ADJECTIVES.len() as u64) as usize],
        NOUNS[((n >> 20) % NOUNS.len() as u64) as usize]
    )
}

/// A deterministic post title such as "Quick tips #17".
fn topic(h: u64, k: u64) -> String {
    let t = pick(h, k ^ 0xA11CE);
    format!(
        "{} #{}",
        TOPICS[(t % TOPICS.len() as u64) as usize],
        k % 1000
    )
}

/// Encodes the low `chars * bits` bits of `v` with `alphabet` (a power-of-two
/// alphabet, most significant first; at most 16 characters).
pub(crate) fn encode(mut v: u64, chars: usize, alphabet: &[u8], out: &mut String) {
    let bits = alphabet.len().trailing_zeros();
    let mask = (1u64 << bits) - 1;
    let mut buf = [0u8; 16];
    let buf = &mut buf[..chars.min(16)];
    for slot in buf.iter_mut().rev() {
        *slot = alphabet[(v & mask) as usize];
        v >>= bits;
    }
    out.extend(buf.iter().map(|&b| char::from(b)));
}

/// Decodes what [`encode`] wrote; `None` on a foreign character.
pub(crate) fn decode(s: &str, alphabet: &[u8]) -> Option<u64> {
    let bits = alphabet.len().trailing_zeros();
    s.bytes().try_fold(0u64, |acc, b| {
        let d = alphabet.iter().position(|&a| a == b)? as u64;
        Some((acc << bits) | d)
    })
}

/// An opaque page token for the item at `offset`: `prefix` then `chars`
/// digits of `alphabet` (bijectively scrambled, so tokens look random and
/// a made-up one is almost never valid).
pub(crate) fn offset_token(prefix: &str, offset: usize, chars: usize, alphabet: &[u8]) -> String {
    let mut s = String::with_capacity(prefix.len() + chars);
    s.push_str(prefix);
    encode(crate::hash::permute(offset as u64), chars, alphabet, &mut s);
    s
}

/// The offset an [`offset_token`] with the same shape encodes.
pub(crate) fn token_offset(
    token: &str,
    prefix: &str,
    chars: usize,
    alphabet: &[u8],
) -> Option<usize> {
    let rest = token.strip_prefix(prefix).filter(|r| r.len() == chars)?;
    decode(rest, alphabet)
        .map(crate::hash::unpermute)
        .and_then(|o| usize::try_from(o).ok())
}

pub(crate) const BASE64URL: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
pub(crate) const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
const BASE32_SORTABLE: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";

/// Hex etag-like string for a response or item.
pub(crate) fn etag(h: u64) -> String {
    let mut s = String::with_capacity(27);
    encode(h, 11, BASE64URL, &mut s);
    encode(pick(h, 1), 11, BASE64URL, &mut s);
    encode(pick(h, 2), 5, BASE64URL, &mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn day(y: i32, m: u32, d: u32) -> Day {
        Day::of(
            Utc.with_ymd_and_hms(y, m, d, 15, 30, 0)
                .single()
                .expect("valid date"),
        )
    }

    #[test]
    fn an_id_made_of_words_names_its_account() {
        let now = Utc
            .with_ymd_and_hms(2026, 3, 2, 12, 0, 0)
            .single()
            .expect("date");
        let channel = youtube_channel(1, "UCcorner_bakery", now).expect("exists");
        assert_eq!(channel.title, "Corner Bakery");
        let account = mastodon_account(1, "riverside-gym@sandbox.example", now).expect("exists");
        assert_eq!(account.display_name, "Riverside Gym");
        let profile = bluesky_profile(1, "corner-bakery.bsky.social", now).expect("exists");
        assert_eq!(profile.display_name, "Corner Bakery");
        // Other ids get a made-up business name, the same on every run.
        let other = youtube_channel(1, "UCsandbox0001", now).expect("exists");
        assert!(
            NOUNS.iter().any(|n| other.title.ends_with(n)),
            "{}",
            other.title
        );
    }

    #[test]
    fn schedule_yields_5_to_60_posts_in_window() {
        for h in 0..500u64 {
            let s = Schedule::new(crate::hash::mix(h), 9, 6, 59);
            let d = day(2026, 6, 1);
            let posts = s.posts(d);
            assert!((5..=60).contains(&posts.len()), "{} posts", posts.len());
            assert!(posts.windows(2).all(|w| w[0].1 > w[1].1), "newest first");
        }
    }

    #[test]
    fn posts_keep_their_slot_over_days() {
        let s = Schedule::new(77, 9, 6, 59);
        let a = s.posts(day(2026, 6, 1));
        let b = s.posts(day(2026, 6, 2));
        for (k, t) in &b {
            if let Some((_, t0)) = a.iter().find(|(k0, _)| k0 == k) {
                assert_eq!(t, t0);
            }
        }
    }

    #[test]
    fn account_is_old_enough_even_with_an_old_clock() {
        for h in 0..200u64 {
            for d in [day(2018, 3, 1), day(2026, 6, 1)] {
                let a = Account::new(crate::hash::mix(h), d);
                assert!(d.start_ms - a.created_ms > WINDOW_MS);
            }
        }
    }

    #[test]
    fn audience_grows_over_a_month() {
        for h in 0..200u64 {
            let h = crate::hash::mix(h);
            let d1 = day(2026, 5, 1);
            let d2 = day(2026, 6, 1);
            let a1 = Account::new(h, d1).audience(h, d1);
            let a2 = Account::new(h, d2).audience(h, d2);
            assert!(a2 > a1, "{a1} -> {a2}");
        }
    }

    #[test]
    fn encode_roundtrip() {
        let mut s = String::new();
        encode(0x3_FFFF, 3, BASE64URL, &mut s);
        assert_eq!(decode(&s, BASE64URL), Some(0x3_FFFF));
        assert_eq!(decode("!", BASE64URL), None);
    }
}
