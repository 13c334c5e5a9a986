//! Quota a platform states in its responses, handed from a connector to the host.
//!
//! Some platforms do not publish a fixed budget the host could count down on
//! its own (YouTube's 10,000 units a day, a [`crate::QuotaSpec`]): they say in
//! each answer what the request cost and what is left (GA4's `propertyQuota`).
//! Only the connector can read that from the body, and only the host can act
//! on it for every source sharing the budget and across pulls. So the
//! connector reports each bucket with [`crate::SourceContext::report_quota`],
//! marks the requests that spend it with [`crate::HttpRequest::charged_to`],
//! and the host refuses, before sending, a request its budget can no longer
//! pay for, until the stated reset.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One bucket of a budget as the platform stated it in a response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatedQuota {
    /// The budget the bucket belongs to, as the connector names it in
    /// [`crate::HttpRequest::charged_to`] (GA4: `properties/123`). Sources
    /// naming the same budget share it; the host adds the platform and API host.
    pub budget: String,
    /// The bucket's name on the platform (`tokensPerHour`).
    pub bucket: String,
    /// What is left in the bucket after the request.
    pub remaining: u64,
    /// What one request costs, as far as the platform's answer tells (GA4: what
    /// the last request consumed).
    pub cost: u64,
    /// When the bucket fills again.
    pub resets_at: DateTime<Utc>,
}

impl StatedQuota {
    /// Whether the bucket cannot pay for another request before its reset at `now`.
    pub fn refuses_at(&self, now: DateTime<Utc>) -> bool {
        self.remaining < self.cost && now < self.resets_at
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_bucket_refuses_only_what_it_cannot_pay_and_only_until_its_reset() {
        let reset = Utc.with_ymd_and_hms(2026, 6, 1, 13, 0, 0).unwrap();
        let before = reset - chrono::Duration::minutes(5);
        let stated = |remaining, cost| StatedQuota {
            budget: "properties/1".into(),
            bucket: "tokensPerHour".into(),
            remaining,
            cost,
            resets_at: reset,
        };
        assert!(stated(9, 10).refuses_at(before));
        assert!(!stated(10, 10).refuses_at(before));
        assert!(
            !stated(0, 0).refuses_at(before),
            "a bucket this request did not spend"
        );
        assert!(!stated(9, 10).refuses_at(reset), "refilled at the reset");
    }
}
