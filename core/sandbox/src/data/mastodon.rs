//! Simulated Mastodon accounts and statuses.

use chrono::{DateTime, Utc};

use super::{at, display_name, saturating, topic, Account, Day, Schedule, DAY_MS};
use crate::hash::{frange, pick, range, Hash};

/// Username whose account exists with no statuses, for empty-account tests.
pub const MASTODON_EMPTY: &str = "empty";
/// Username that does not exist (404 `{"error":"Record not found"}`).
pub const MASTODON_MISSING: &str = "missing";

const S_STATUSES: u64 = 200;
const S_FOLLOWING: u64 = 201;
const S_STATUS: u64 = 202;

/// An account as `GET /api/v1/accounts/:id` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountData {
    /// Numeric string id (see [`mastodon_account_id`]).
    pub id: String,
    /// Local part of the acct.
    pub username: String,
    /// The acct as looked up (`user` or `user@domain`), without a leading `@`.
    pub acct: String,
    /// `display_name`.
    pub display_name: String,
    /// `created_at` (midnight UTC: Mastodon reveals only the day).
    pub created_at: DateTime<Utc>,
    /// `followers_count`.
    pub followers: u64,
    /// `following_count`.
    pub following: u64,
    /// Statuses, newest first; `statuses_count` is their number.
    pub statuses: Vec<StatusData>,
}

impl AccountData {
    /// `last_status_at`: when the newest status was posted.
    pub fn last_status_at(&self) -> Option<DateTime<Utc>> {
        self.statuses.first().map(|s| s.created_at)
    }
}

/// A status as `GET /api/v1/accounts/:id/statuses` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusData {
    /// Snowflake-style numeric string: `(created ms << 16) | random`, so ids
    /// sort like their creation times, as on a real instance.
    pub id: String,
    /// `created_at`.
    pub created_at: DateTime<Utc>,
    /// `content` (HTML).
    pub content: String,
    /// `favourites_count`.
    pub favourites: u64,
    /// `reblogs_count`.
    pub reblogs: u64,
    /// `replies_count`.
    pub replies: u64,
    /// `quotes_count`.
    pub quotes: u64,
}

fn normalize(acct: &str) -> String {
    acct.trim().trim_start_matches('@').to_lowercase()
}

/// The (seed-independent) account id `accounts/lookup?acct=` returns, so
/// tests can predict it: an 18-digit number like a real instance's.
pub fn mastodon_account_id(acct: &str) -> String {
    let h = Hash::new(0).str("mastodon-id").str(&normalize(acct)).get();
    (100_000_000_000_000_000 + h % 900_000_000_000_000_000).to_string()
}

/// The account `acct` as of the UTC day of `now`; `None` for the reserved
/// [`MASTODON_MISSING`] username (on any domain) or an empty acct.
pub fn mastodon_account(seed: u64, acct: &str, now: DateTime<Utc>) -> Option<AccountData> {
    let acct = normalize(acct);
    let username = acct.split('@').next().unwrap_or_default().to_string();
    if username.is_empty() || username == MASTODON_MISSING {
        return None;
    }
    let h = Hash::new(seed).str("mastodon").str(&acct).get();
    let day = Day::of(now);
    let account = Account::new(h, day);
    let statuses = if username == MASTODON_EMPTY {
        Vec::new()
    } else {
        Schedule::new(h, S_STATUSES, 6, 59)
            .posts(day)
            .into_iter()
            .map(|(k, t)| status(h, &account, day, k, t))
            .collect()
    };
    Some(AccountData {
        id: mastodon_account_id(&acct),
        display_name: display_name(h, &username),
        // Mastodon shows account creation to the day only.
        created_at: at(account.created_ms - account.created_ms.rem_euclid(DAY_MS)),
        followers: account.audience(h, day),
        following: range(pick(h, S_FOLLOWING), 10, 900) + account.age_days as u64 / 30,
        username,
        acct,
        statuses,
    })
}

fn status(h: u64, account: &Account, day: Day, k: u64, t_ms: i64) -> StatusData {
    let sh = Hash::new(h).num(S_STATUS).num(k).get();
    let max =
        account.base as f64 * frange(pick(sh, 1), 0.005, 0.2) + frange(pick(sh, 2), 0.0, 20.0);
    let favourites = saturating(max, day.age_days(t_ms), frange(pick(sh, 3), 0.3, 3.0));
    let f = favourites as f64;
    StatusData {
        id: (((t_ms.max(0) as u64) << 16) | (sh & 0xFFFF)).to_string(),
        created_at: at(t_ms),
        content: format!("<p>{}</p>", topic(h, k)),
        favourites,
        reblogs: (f * frange(pick(sh, 4), 0.1, 0.4)) as u64,
        replies: (f * frange(pick(sh, 5), 0.02, 0.2)) as u64,
        quotes: (f * frange(pick(sh, 6), 0.0, 0.05)) as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0)
            .single()
            .expect("valid")
    }

    #[test]
    fn reserved_and_normalized() {
        assert!(mastodon_account(42, "missing", now()).is_none());
        assert!(mastodon_account(42, "missing@example.org", now()).is_none());
        let e = mastodon_account(42, "@empty", now()).expect("exists");
        assert!(e.statuses.is_empty() && e.last_status_at().is_none());
        let a = mastodon_account(42, "Tally@Sandbox.example", now()).expect("exists");
        let b = mastodon_account(42, "tally@sandbox.example", now()).expect("exists");
        assert_eq!(a, b);
        assert_eq!(a.username, "tally");
        assert_eq!(a.id.len(), 18);
    }

    #[test]
    fn status_ids_sort_like_time() {
        let a = mastodon_account(42, "alice", now()).expect("exists");
        let ids: Vec<u64> = a
            .statuses
            .iter()
            .map(|s| s.id.parse().expect("numeric"))
            .collect();
        assert!(ids.windows(2).all(|w| w[0] > w[1]));
    }
}
