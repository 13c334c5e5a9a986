//! Simulated Bluesky profiles, posts and reposts.

use chrono::{DateTime, Utc};

use super::{
    at, display_name, encode, saturating, topic, Account, Day, Schedule, BASE32, BASE32_SORTABLE,
    DAY_MS,
};
use crate::hash::{frange, pick, range, Hash};

/// Handle whose profile exists with no posts, for empty-account tests.
pub const BLUESKY_EMPTY: &str = "empty.test";
/// Handle that does not exist (400 `InvalidRequest` "Profile not found").
pub const BLUESKY_MISSING: &str = "missing.test";

const S_POSTS: u64 = 300;
const S_REPOSTS: u64 = 301;
const S_FOLLOWS: u64 = 302;
const S_POST: u64 = 303;
const S_REPOST: u64 = 304;

const FRIENDS: [&str; 8] = [
    "pal", "neighbor", "fan", "critic", "reporter", "maker", "local", "friend",
];

/// A profile as `app.bsky.actor.getProfile` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileData {
    /// `did:plc:…` derived from the handle (see [`bluesky_did`]).
    pub did: String,
    /// Normalized (lowercase) handle.
    pub handle: String,
    /// `displayName`.
    pub display_name: String,
    /// `createdAt`.
    pub created_at: DateTime<Utc>,
    /// `followersCount`.
    pub followers: u64,
    /// `followsCount`.
    pub follows: u64,
    /// Own posts, newest first; `postsCount` is their number.
    pub posts: Vec<PostData>,
    /// Reposts of other people's posts, newest first (not in `postsCount`).
    pub reposts: Vec<RepostData>,
}

/// A post view (`app.bsky.feed.defs#postView`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostData {
    /// `at://did/app.bsky.feed.post/rkey`.
    pub uri: String,
    /// Content id of the record.
    pub cid: String,
    /// Record key: a TID made from `created_at`.
    pub rkey: String,
    /// Author DID.
    pub author_did: String,
    /// Author handle.
    pub author_handle: String,
    /// `record.text`.
    pub text: String,
    /// `record.createdAt` (also `indexedAt`).
    pub created_at: DateTime<Utc>,
    /// `likeCount`.
    pub likes: u64,
    /// `repostCount`.
    pub reposts: u64,
    /// `replyCount`.
    pub replies: u64,
    /// `quoteCount`.
    pub quotes: u64,
}

/// A repost by the profile of someone else's post: the feed entries that
/// carry `reason: reasonRepost`, which connectors must not count as own posts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepostData {
    /// `reason.uri`: `at://did/app.bsky.feed.repost/rkey`.
    pub uri: String,
    /// `reason.cid`.
    pub cid: String,
    /// `reason.indexedAt`: when the repost happened (its place in the feed).
    pub reposted_at: DateTime<Utc>,
    /// The reposted post (by another author).
    pub post: PostData,
}

/// One entry of `getAuthorFeed`, in feed order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedItem<'a> {
    /// The profile's own post.
    Post(&'a PostData),
    /// A repost of someone else's post.
    Repost(&'a RepostData),
}

impl FeedItem<'_> {
    /// The instant the feed is ordered by (post time or repost time).
    pub fn sort_at(&self) -> DateTime<Utc> {
        match self {
            FeedItem::Post(p) => p.created_at,
            FeedItem::Repost(r) => r.reposted_at,
        }
    }

    /// The cid that breaks ties between entries with the same [`Self::sort_at`].
    pub fn cid(&self) -> &str {
        match self {
            FeedItem::Post(p) => &p.cid,
            FeedItem::Repost(r) => &r.cid,
        }
    }
}

impl ProfileData {
    /// Posts and reposts merged newest first, the order `getAuthorFeed` pages through.
    pub fn feed(&self) -> Vec<FeedItem<'_>> {
        let mut feed: Vec<FeedItem<'_>> = self
            .posts
            .iter()
            .map(FeedItem::Post)
            .chain(self.reposts.iter().map(FeedItem::Repost))
            .collect();
        feed.sort_by(|a, b| (b.sort_at(), b.cid()).cmp(&(a.sort_at(), a.cid())));
        feed
    }
}

/// Handles `bulk-<N>.test` have about N posts (at most 100,000) and no reposts,
/// for throughput benchmarks that page through a large feed.
pub const BLUESKY_BULK_PREFIX: &str = "bulk-";

/// The post count a bulk handle asks for.
fn bulk_size(handle: &str) -> Option<u64> {
    let n: u64 = handle
        .strip_prefix(BLUESKY_BULK_PREFIX)?
        .strip_suffix(".test")?
        .parse()
        .ok()?;
    Some(n.clamp(1, 100_000))
}

fn normalize(handle: &str) -> String {
    handle.trim().trim_start_matches('@').to_lowercase()
}

/// The (seed-independent) DID of a handle, so tests can predict it.
pub fn bluesky_did(handle: &str) -> String {
    let x = Hash::new(0)
        .str("bluesky-did")
        .str(&normalize(handle))
        .get();
    let mut did = String::with_capacity(32);
    did.push_str("did:plc:");
    encode(x, 12, BASE32, &mut did);
    encode(pick(x, 1), 12, BASE32, &mut did);
    did
}

/// The profile `handle` as of the UTC day of `now`; `None` for
/// [`BLUESKY_MISSING`] or an empty handle.
pub fn bluesky_profile(seed: u64, handle: &str, now: DateTime<Utc>) -> Option<ProfileData> {
    let handle = normalize(handle);
    if handle.is_empty() || handle == BLUESKY_MISSING {
        return None;
    }
    let h = Hash::new(seed).str("bluesky").str(&handle).get();
    let day = Day::of(now);
    let account = Account::new(h, day);
    let did = bluesky_did(&handle);
    let (posts, reposts) = if handle == BLUESKY_EMPTY {
        (Vec::new(), Vec::new())
    } else if let Some(n) = bulk_size(&handle) {
        let posts = Schedule::new(h, S_POSTS, n + 1, n + 1)
            .posts(day)
            .into_iter()
            .map(|(k, t)| own_post(h, &account, day, &did, &handle, k, t))
            .collect();
        (posts, Vec::new())
    } else {
        let posts = Schedule::new(h, S_POSTS, 6, 59)
            .posts(day)
            .into_iter()
            .map(|(k, t)| own_post(h, &account, day, &did, &handle, k, t))
            .collect();
        let reposts = Schedule::new(h, S_REPOSTS, 2, 12)
            .posts(day)
            .into_iter()
            .map(|(k, t)| repost(h, day, &did, k, t))
            .collect();
        (posts, reposts)
    };
    Some(ProfileData {
        display_name: display_name(h, handle.split('.').next().unwrap_or_default()),
        created_at: at(account.created_ms),
        followers: account.audience(h, day),
        follows: range(pick(h, S_FOLLOWS), 20, 1500) + account.age_days as u64 / 20,
        did,
        handle,
        posts,
        reposts,
    })
}

fn own_post(
    h: u64,
    account: &Account,
    day: Day,
    did: &str,
    handle: &str,
    k: u64,
    t_ms: i64,
) -> PostData {
    let ph = Hash::new(h).num(S_POST).num(k).get();
    let max = account.base as f64 * frange(pick(ph, 1), 0.01, 0.3) + frange(pick(ph, 2), 0.0, 10.0);
    let likes = saturating(max, day.age_days(t_ms), frange(pick(ph, 3), 0.2, 2.0));
    post(ph, did, handle, topic(h, k), t_ms, likes)
}

fn repost(h: u64, day: Day, did: &str, k: u64, t_ms: i64) -> RepostData {
    let rh = Hash::new(h).num(S_REPOST).num(k).get();
    let friend = format!(
        "{}{}.bsky.social",
        FRIENDS[(rh % FRIENDS.len() as u64) as usize],
        (rh >> 40) % 100
    );
    let posted_ms = t_ms - (frange(pick(rh, 1), 0.05, 3.0) * DAY_MS as f64) as i64;
    let max = frange(pick(rh, 2), 20.0, 5000.0);
    let likes = saturating(max, day.age_days(posted_ms), frange(pick(rh, 3), 0.2, 2.0));
    let original = post(
        pick(rh, 4),
        &bluesky_did(&friend),
        &friend,
        topic(rh, k),
        posted_ms,
        likes,
    );
    let rkey = tid(t_ms, rh);
    RepostData {
        uri: format!("at://{did}/app.bsky.feed.repost/{rkey}"),
        cid: cid(pick(rh, 5)),
        reposted_at: at(t_ms),
        post: original,
    }
}

fn post(ph: u64, did: &str, handle: &str, text: String, t_ms: i64, likes: u64) -> PostData {
    let rkey = tid(t_ms, ph);
    let l = likes as f64;
    PostData {
        uri: format!("at://{did}/app.bsky.feed.post/{rkey}"),
        cid: cid(ph),
        rkey,
        author_did: did.to_string(),
        author_handle: handle.to_string(),
        text,
        created_at: at(t_ms),
        likes,
        reposts: (l * frange(pick(ph, 10), 0.05, 0.3)) as u64,
        replies: (l * frange(pick(ph, 11), 0.02, 0.2)) as u64,
        quotes: (l * frange(pick(ph, 12), 0.0, 0.05)) as u64,
    }
}

/// An atproto TID: 53 bits of microseconds + 10 bits of clock id, base32-sortable.
fn tid(t_ms: i64, h: u64) -> String {
    let micros = (t_ms.max(0) as u64).saturating_mul(1000) + pick(h, 20) % 1000;
    let v = ((micros & ((1 << 53) - 1)) << 10) | (pick(h, 21) & 0x3FF);
    let mut s = String::with_capacity(13);
    encode(v, 13, BASE32_SORTABLE, &mut s);
    s
}

/// A CIDv1 (dag-cbor, sha-256) look-alike: `bafyrei` + 52 base32 characters.
fn cid(h: u64) -> String {
    let mut s = String::with_capacity(59);
    s.push_str("bafyrei");
    for i in 0..4 {
        encode(pick(h, 30 + i), 12, BASE32, &mut s);
    }
    encode(pick(h, 34), 4, BASE32, &mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_bulk_handle_has_about_that_many_posts_and_no_reposts() {
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 6, 1, 0, 0, 0).unwrap();
        let p = bluesky_profile(7, "bulk-10000.test", now).unwrap();
        assert!(
            (9_999..=10_001).contains(&p.posts.len()),
            "{}",
            p.posts.len()
        );
        assert!(p.reposts.is_empty());
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0)
            .single()
            .expect("valid")
    }

    #[test]
    fn reserved_handles() {
        assert!(bluesky_profile(42, BLUESKY_MISSING, now()).is_none());
        let e = bluesky_profile(42, "Empty.Test", now()).expect("exists");
        assert!(e.posts.is_empty() && e.reposts.is_empty());
    }

    #[test]
    fn shapes_of_ids() {
        let p = bluesky_profile(42, "tally.bsky.social", now()).expect("exists");
        assert!(p.did.starts_with("did:plc:") && p.did.len() == 32);
        assert!(!p.reposts.is_empty());
        for post in &p.posts {
            assert_eq!(post.cid.len(), 59);
            assert_eq!(post.rkey.len(), 13);
            assert!(post
                .uri
                .starts_with(&format!("at://{}/app.bsky.feed.post/", p.did)));
        }
        for r in &p.reposts {
            assert_ne!(r.post.author_did, p.did);
            assert!(r.post.created_at < r.reposted_at);
        }
        let feed = p.feed();
        assert_eq!(feed.len(), p.posts.len() + p.reposts.len());
        assert!(feed.windows(2).all(|w| w[0].sort_at() >= w[1].sort_at()));
    }

    #[test]
    fn tids_sort_like_time() {
        assert!(tid(1_000, 1) < tid(2_000, 1));
    }
}
