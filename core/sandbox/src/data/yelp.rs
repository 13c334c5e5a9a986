//! Simulated Yelp businesses and their review excerpts.

use chrono::{DateTime, Utc};

use super::{at, display_name, encode, Account, Day, Schedule, BASE64URL};
use crate::hash::{pick, range, Hash};

/// Alias of a business that does not exist (404 `BUSINESS_NOT_FOUND`).
pub const YELP_MISSING: &str = "missing";
/// How many review excerpts the base plan returns, whatever `total` says.
pub const YELP_EXCERPTS: usize = 3;

const S_RATING: u64 = 400;
const S_REVIEWS: u64 = 401;
const S_REVIEW: u64 = 402;

const REVIEWERS: [&str; 8] = [
    "Sam K.", "Priya R.", "Jo M.", "Luis G.", "Ana P.", "Chris T.", "Mei L.", "Omar B.",
];
const PRAISE: [&str; 5] = [
    "Terrible visit, the order was wrong and nobody cared.",
    "Not great: long wait and the coffee was cold.",
    "Fine, nothing special, friendly enough staff.",
    "Really good pastries and a cosy corner to sit in.",
    "Best croissant in town, and the team remembers your name.",
];

/// A business as `GET /businesses/{id}` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessData {
    /// 22-character id derived from the alias (see [`yelp_business_id`]).
    pub id: String,
    /// The alias looked up, lower case.
    pub alias: String,
    /// `name`.
    pub name: String,
    /// `rating`: 1 to 5 in half-star steps.
    pub rating: f64,
    /// `review_count` (also the reviews endpoint's `total`).
    pub review_count: u64,
    /// The newest review excerpts, newest first (at most [`YELP_EXCERPTS`]).
    pub reviews: Vec<ReviewData>,
}

/// One review excerpt of `GET /businesses/{id}/reviews`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewData {
    /// Review id.
    pub id: String,
    /// Whole stars, 1 to 5.
    pub rating: u8,
    /// `time_created` (Yelp writes it as `YYYY-MM-DD HH:MM:SS`, business-local;
    /// the sandbox's businesses are on UTC).
    pub time_created: DateTime<Utc>,
    /// The excerpt.
    pub text: String,
    /// `user.name`.
    pub user: String,
}

/// The id Yelp gives the business `alias`, so tests can predict it.
pub fn yelp_business_id(alias: &str) -> String {
    let h = Hash::new(0).str("yelp-id").str(&alias.to_lowercase()).get();
    let mut id = String::with_capacity(22);
    encode(h, 11, BASE64URL, &mut id);
    encode(pick(h, 1), 11, BASE64URL, &mut id);
    id
}

/// The business `alias` as of the UTC day of `now`; `None` for
/// [`YELP_MISSING`] or an empty alias.
pub fn yelp_business(seed: u64, alias: &str, now: DateTime<Utc>) -> Option<BusinessData> {
    let alias = alias.trim().to_lowercase();
    if alias.is_empty() || alias == YELP_MISSING {
        return None;
    }
    let h = Hash::new(seed).str("yelp").str(&alias).get();
    let day = Day::of(now);
    let account = Account::new(h, day);
    // Reviews accrue at a twentieth of an audience's pace.
    let review_count = account.audience(h, day) / 20 + 3;
    let excerpts = Schedule::new(h, S_REVIEWS, 6, 30).posts(day);
    let reviews: Vec<ReviewData> = excerpts
        .into_iter()
        .take(YELP_EXCERPTS)
        .map(|(k, t)| review(h, k, t))
        .collect();
    // 3.0 to 5.0 in half stars, fixed per business.
    let rating = 3.0 + range(pick(h, S_RATING), 0, 5) as f64 * 0.5;
    Some(BusinessData {
        id: yelp_business_id(&alias),
        name: display_name(h, &alias),
        alias,
        rating,
        review_count,
        reviews,
    })
}

fn review(h: u64, k: u64, t_ms: i64) -> ReviewData {
    let rh = Hash::new(h).num(S_REVIEW).num(k).get();
    // Mostly happy customers, like most listings.
    let rating = match range(rh, 0, 10) {
        0 => 1,
        1 => 2,
        2 | 3 => 3,
        4..=6 => 4,
        _ => 5,
    };
    let mut id = String::with_capacity(22);
    encode(rh, 11, BASE64URL, &mut id);
    encode(pick(rh, 1), 11, BASE64URL, &mut id);
    ReviewData {
        id,
        rating,
        // Yelp shows whole seconds.
        time_created: at(t_ms - t_ms.rem_euclid(1000)),
        text: PRAISE[usize::from(rating) - 1].to_string(),
        user: REVIEWERS[(pick(rh, 2) % REVIEWERS.len() as u64) as usize].to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn businesses_have_half_star_ratings_and_three_excerpts() {
        let now = Utc
            .with_ymd_and_hms(2026, 6, 1, 12, 0, 0)
            .single()
            .expect("valid");
        assert!(yelp_business(1, "missing", now).is_none());
        let b = yelp_business(1, "Corner-Bakery", now).expect("exists");
        assert_eq!(b.name, "Corner Bakery");
        assert_eq!(b.id, yelp_business_id("corner-bakery"));
        assert_eq!(b.id.len(), 22);
        assert!((3.0..=5.0).contains(&b.rating) && (b.rating * 2.0).fract() == 0.0);
        assert_eq!(b.reviews.len(), YELP_EXCERPTS);
        assert!(b.review_count >= 3);
        assert!(b
            .reviews
            .windows(2)
            .all(|w| w[0].time_created > w[1].time_created));
    }
}
