//! Simulated X users and their posts.

use chrono::{DateTime, Utc};

use super::{at, display_name, saturating, topic, Account, Day, Schedule};
use crate::hash::{frange, pick, range, Hash};

/// Username whose account exists with no posts.
pub const X_EMPTY: &str = "empty";
/// Username that does not exist (200 with a `resource-not-found` error).
pub const X_MISSING: &str = "missing";

/// X's snowflake epoch (2010-11-04T01:42:54.657Z) in epoch milliseconds.
const TWEPOCH_MS: i64 = 1_288_834_974_657;

const S_POSTS: u64 = 700;
const S_FOLLOWING: u64 = 701;
const S_POST: u64 = 702;
const S_LISTED: u64 = 703;

/// A user as `GET /2/users/by/username/{username}` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserData {
    /// Numeric id (see [`x_user_id`]).
    pub id: String,
    /// `username` as looked up (case kept, as X does).
    pub username: String,
    /// `name`.
    pub name: String,
    /// `created_at`.
    pub created_at: DateTime<Utc>,
    /// `public_metrics.followers_count`.
    pub followers: u64,
    /// `public_metrics.following_count`.
    pub following: u64,
    /// `public_metrics.post_count` (`tweet_count` before spec 2.167): all
    /// posts ever, more than the recent ones listed.
    pub post_count: u64,
    /// `public_metrics.listed_count`.
    pub listed: u64,
    /// Recent posts, newest first.
    pub posts: Vec<XPostData>,
}

/// A post with its `public_metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XPostData {
    /// Snowflake id: sorts like `created_at`.
    pub id: String,
    /// `created_at`.
    pub created_at: DateTime<Utc>,
    /// `text`.
    pub text: String,
    /// `like_count`.
    pub likes: u64,
    /// `repost_count` (`retweet_count` before spec 2.167).
    pub reposts: u64,
    /// `reply_count`.
    pub replies: u64,
    /// `quote_count`.
    pub quotes: u64,
    /// `bookmark_count`.
    pub bookmarks: u64,
    /// `impression_count`.
    pub impressions: u64,
}

/// The (seed-independent) id of `username`, so tests can predict it.
pub fn x_user_id(username: &str) -> String {
    let h = Hash::new(0).str("x-id").str(&username.to_lowercase()).get();
    (1_000_000_000 + h % 1_000_000_000_000_000_000).to_string()
}

/// Whether `username` is one X accepts: 1 to 15 letters, digits or `_`.
pub fn x_username_valid(username: &str) -> bool {
    (1..=15).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The user `username` as of the UTC day of `now`; `None` for
/// [`X_MISSING`] or an invalid username.
pub fn x_user(seed: u64, username: &str, now: DateTime<Utc>) -> Option<UserData> {
    let lower = username.to_lowercase();
    if !x_username_valid(username) || lower == X_MISSING {
        return None;
    }
    let h = Hash::new(seed).str("x").str(&lower).get();
    let day = Day::of(now);
    let account = Account::new(h, day);
    let posts: Vec<XPostData> = if lower == X_EMPTY {
        Vec::new()
    } else {
        Schedule::new(h, S_POSTS, 6, 59)
            .posts(day)
            .into_iter()
            .map(|(k, t)| post(h, &account, day, k, t))
            .collect()
    };
    let older = account.age_days as u64 / 3;
    Some(UserData {
        id: x_user_id(&lower),
        username: username.to_string(),
        name: display_name(h, &lower),
        created_at: at(account.created_ms - account.created_ms.rem_euclid(1000)),
        followers: account.audience(h, day),
        following: range(pick(h, S_FOLLOWING), 20, 1500),
        post_count: posts.len() as u64 + older,
        listed: range(pick(h, S_LISTED), 0, 40),
        posts,
    })
}

fn post(h: u64, account: &Account, day: Day, k: u64, t_ms: i64) -> XPostData {
    let ph = Hash::new(h).num(S_POST).num(k).get();
    let max =
        account.base as f64 * frange(pick(ph, 1), 0.003, 0.1) + frange(pick(ph, 2), 0.0, 15.0);
    let likes = saturating(max, day.age_days(t_ms), frange(pick(ph, 3), 0.2, 2.0));
    let l = likes as f64;
    let t_ms = t_ms - t_ms.rem_euclid(1000);
    XPostData {
        id: ((((t_ms - TWEPOCH_MS).max(0) as u64) << 22) | (ph & 0x3F_FFFF)).to_string(),
        created_at: at(t_ms),
        text: topic(h, k),
        likes,
        reposts: (l * frange(pick(ph, 4), 0.05, 0.3)) as u64,
        replies: (l * frange(pick(ph, 5), 0.02, 0.2)) as u64,
        quotes: (l * frange(pick(ph, 6), 0.0, 0.05)) as u64,
        bookmarks: (l * frange(pick(ph, 7), 0.01, 0.1)) as u64,
        impressions: (l * frange(pick(ph, 8), 20.0, 60.0)) as u64 + range(pick(ph, 9), 10, 200),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn users_and_posts() {
        let now = Utc
            .with_ymd_and_hms(2026, 6, 1, 12, 0, 0)
            .single()
            .expect("valid");
        assert!(x_user(1, "missing", now).is_none());
        assert!(x_user(1, "no spaces", now).is_none());
        assert!(x_user(1, "empty", now).expect("exists").posts.is_empty());
        let u = x_user(1, "Corner_Bakery", now).expect("exists");
        assert_eq!(u.name, "Corner Bakery");
        assert_eq!(u.id, x_user_id("corner_bakery"));
        assert!(u.post_count >= u.posts.len() as u64);
        let ids: Vec<u64> = u
            .posts
            .iter()
            .map(|p| p.id.parse().expect("numeric"))
            .collect();
        assert!(ids.windows(2).all(|w| w[0] > w[1]));
    }
}
