//! Pure mapping of Mastodon API JSON to canonical points: no I/O.
//!
//! `lib.rs` fetches; this file decodes accounts and statuses, turns status HTML
//! into a short display name, and decides where the next page is. Keeping those
//! rules here lets them be unit-tested against fixtures without a server.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tally_model::error::snippet;
use tally_model::point::short_name;
use tally_model::{ConnectorError, Entity, EntityKind, Point};

/// Platform name written on every point.
pub const PLATFORM: &str = "mastodon";

/// Characters of status text kept as a post's display name.
pub const NAME_CHARS: usize = 60;

/// The part of Mastodon's `Account` entity Tally reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Account {
    /// Instance-local account id (a string; do not compute with it).
    pub id: String,
    /// `user` for local accounts, `user@domain` for remote ones.
    pub acct: String,
    /// Profile display name; may be empty.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Followers, as this instance knows them.
    pub followers_count: i64,
    /// Accounts followed, as this instance knows them.
    pub following_count: i64,
    /// Statuses attached to the account.
    pub statuses_count: i64,
    /// Present and true when the account is suspended.
    #[serde(default)]
    pub suspended: Option<bool>,
}

/// The part of Mastodon's `Status` entity Tally reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Status {
    /// Status id (an opaque string).
    pub id: String,
    /// When it was posted; absent in some instances' older API versions.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// HTML-encoded content.
    #[serde(default)]
    pub content: String,
    /// Content warning shown instead of the content until expanded.
    #[serde(default)]
    pub spoiler_text: String,
    /// Favourites received.
    pub favourites_count: i64,
    /// Boosts received.
    pub reblogs_count: i64,
    /// Replies received.
    pub replies_count: i64,
    /// The boosted status, when this one is a boost (its counts are someone else's).
    #[serde(default)]
    pub reblog: Option<serde_json::Value>,
}

/// Mastodon's error body: `{"error":"Record not found"}`, with `error_description` for OAuth errors.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    /// The message.
    pub error: String,
    /// OAuth detail.
    #[serde(default)]
    pub error_description: Option<String>,
}

/// The platform's own message from an error body, if it is Mastodon's JSON shape.
pub fn error_message(body: &[u8]) -> Option<String> {
    let body: ErrorBody = serde_json::from_slice(body).ok()?;
    Some(match body.error_description {
        Some(detail) if !detail.is_empty() => format!("{}: {detail}", body.error),
        _ => body.error,
    })
}

/// The error for a non-2xx answer at `path`, keeping Mastodon's own `error` message.
pub fn error_for(path: &str, status: u16, body: &[u8]) -> ConnectorError {
    ConnectorError::Status {
        path: path.to_string(),
        status,
        body: error_message(body).unwrap_or_else(|| snippet(body)),
    }
}

/// The account entity: display name, or the acct when the display name is empty.
pub fn account_entity(account: &Account) -> Entity {
    let name = account
        .display_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(&account.acct);
    Entity::new(
        EntityKind::Account,
        account.id.clone(),
        Some(name.to_string()),
    )
}

/// Followers, following and statuses at `now`. A negative count (seen from
/// instances with broken counters) is not a measurement and is skipped.
pub fn account_points(account: &Account, now: DateTime<Utc>) -> Vec<Point> {
    Point::gauges(
        PLATFORM,
        &account_entity(account),
        now,
        [
            (
                "audience.followers",
                "followers_count",
                account.followers_count,
            ),
            (
                "audience.following",
                "following_count",
                account.following_count,
            ),
            ("content.posts", "statuses_count", account.statuses_count),
        ],
    )
}

/// Favourites, boosts and replies of one status at `now`; nothing for a boost.
pub fn status_points(status: &Status, now: DateTime<Utc>) -> Vec<Point> {
    if status.reblog.as_ref().is_some_and(|r| !r.is_null()) {
        return Vec::new();
    }
    let entity = Entity::new(EntityKind::Post, status.id.clone(), post_name(status));
    Point::gauges(
        PLATFORM,
        &entity,
        now,
        [
            (
                "engagement.likes",
                "favourites_count",
                status.favourites_count,
            ),
            ("engagement.shares", "reblogs_count", status.reblogs_count),
            ("engagement.comments", "replies_count", status.replies_count),
        ],
    )
}

/// A status's display name: the first [`NAME_CHARS`] characters of its text (tags
/// stripped, entities decoded, whitespace collapsed), `…` when cut; the content
/// warning when there is no text (a media-only post); `None` when both are empty.
pub fn post_name(status: &Status) -> Option<String> {
    let mut text = plain_text(&status.content);
    if text.is_empty() {
        // The content warning is plain text, not HTML.
        text = status.spoiler_text.clone();
    }
    short_name(&text, NAME_CHARS)
}

/// Status HTML as one line of text: tags removed (block and line breaks become
/// spaces), the common entities decoded, runs of whitespace collapsed.
pub fn plain_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' if rest[1..]
                .starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!') =>
            {
                let end = rest.find('>').map_or(rest.len(), |i| i + 1);
                let tag = rest[..end]
                    .trim_start_matches(['<', '/'])
                    .to_ascii_lowercase();
                if ["p", "br", "li", "div", "blockquote"].iter().any(|t| {
                    tag.starts_with(t)
                        && !tag[t.len()..].starts_with(|c: char| c.is_ascii_alphanumeric())
                }) {
                    text.push(' ');
                }
                rest = &rest[end..];
            }
            '&' => {
                let (decoded, used) = entity(rest);
                text.push_str(&decoded);
                rest = &rest[used..];
            }
            c => {
                text.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Decodes the entity at the start of `s` (which starts with `&`): what it stands
/// for and how many bytes it used. Unknown entities are kept as written.
fn entity(s: &str) -> (String, usize) {
    let Some(end) = s.find(';').filter(|&i| i <= 10) else {
        return ("&".into(), 1);
    };
    let name = &s[1..end];
    let decoded = match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        _ => name
            .strip_prefix("#x")
            .or_else(|| name.strip_prefix("#X"))
            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            .or_else(|| name.strip_prefix('#').and_then(|dec| dec.parse().ok()))
            .and_then(char::from_u32),
    };
    match decoded {
        Some(c) => (c.to_string(), end + 1),
        None => ("&".into(), 1),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
    }

    use tally_model::PointTime;
    use tally_testkit::{row, rows};

    fn statuses() -> Vec<Status> {
        serde_json::from_str(include_str!("../testdata/statuses.json")).unwrap()
    }

    #[test]
    fn documented_account_maps_to_three_gauges() {
        let account: Account =
            serde_json::from_str(include_str!("../testdata/account.json")).unwrap();
        let points = account_points(&account, now());
        assert_eq!(
            rows(&points),
            vec![
                row("audience.followers", "1", 318_699.0, "followers_count"),
                row("audience.following", "1", 453.0, "following_count"),
                row("content.posts", "1", 61_013.0, "statuses_count"),
            ]
        );
        for p in &points {
            p.validate().unwrap();
            assert_eq!(p.entity.kind, EntityKind::Account);
            assert_eq!(p.entity.name.as_deref(), Some("Eugen"));
            assert_eq!(p.time, PointTime::At(now()));
        }
    }

    #[test]
    fn empty_display_name_falls_back_to_acct_and_negative_counts_are_skipped() {
        let mut account: Account =
            serde_json::from_str(include_str!("../testdata/account.json")).unwrap();
        account.display_name = Some("  ".into());
        account.following_count = -1;
        let points = account_points(&account, now());
        assert_eq!(points[0].entity.name.as_deref(), Some("Gargron"));
        assert!(points.iter().all(|p| p.metric != "audience.following"));
        assert_eq!(points.len(), 2);
    }

    #[test]
    fn statuses_map_to_likes_shares_comments() {
        let statuses = statuses();
        let points: Vec<Point> = statuses
            .iter()
            .flat_map(|s| status_points(s, now()))
            .collect();
        assert_eq!(
            rows(&points)[..3],
            [
                row(
                    "engagement.likes",
                    "108880211901672326",
                    27.0,
                    "favourites_count"
                ),
                row(
                    "engagement.shares",
                    "108880211901672326",
                    6.0,
                    "reblogs_count"
                ),
                row(
                    "engagement.comments",
                    "108880211901672326",
                    4.0,
                    "replies_count"
                ),
            ]
        );
        assert_eq!(points.len(), 9);
        assert!(points
            .iter()
            .all(|p| p.entity.kind == EntityKind::Post && p.validate().is_ok()));
    }

    #[test]
    fn a_boost_yields_nothing() {
        let mut status = statuses().remove(0);
        status.reblog = Some(serde_json::json!({"id": "1"}));
        assert!(status_points(&status, now()).is_empty());
        status.reblog = Some(serde_json::Value::Null);
        assert_eq!(status_points(&status, now()).len(), 3);
    }

    #[test]
    fn post_names_are_short_plain_text() {
        let statuses = statuses();
        assert_eq!(
            post_name(&statuses[0]).as_deref(),
            Some("Tally 1.0 is out: goals & reports for every platform you pos…")
        );
        assert_eq!(
            post_name(&statuses[1]).as_deref(),
            Some("Short one with a link https://example.com/tally")
        );
        // Media only: the content warning names it.
        assert_eq!(
            post_name(&statuses[2]).as_deref(),
            Some("photo of the new bakery <3")
        );
        let mut empty = statuses[2].clone();
        empty.spoiler_text.clear();
        assert_eq!(post_name(&empty), None);
    }

    #[test]
    fn plain_text_strips_tags_and_decodes_entities() {
        assert_eq!(
            plain_text("<p>a&amp;b</p><p>c&#39;d&#x27;e</p>"),
            "a&b c'd'e"
        );
        assert_eq!(
            plain_text("line<br>break<br/>and<br />more"),
            "line break and more"
        );
        assert_eq!(plain_text("<b>bold</b>text <pre>x</pre>"), "boldtext x");
        assert_eq!(
            plain_text("fish &chips; &bogus; 1 < 2"),
            "fish &chips; &bogus; 1 < 2"
        );
        assert_eq!(plain_text("unterminated <a href="), "unterminated");
        assert_eq!(plain_text("é &lt;3 ünïcode"), "é <3 ünïcode");
    }

    #[test]
    fn mastodon_error_bodies_are_read() {
        assert_eq!(
            error_message(br#"{"error":"Record not found"}"#).as_deref(),
            Some("Record not found")
        );
        assert_eq!(
            error_message(br#"{"error":"invalid_grant","error_description":"The provided authorization grant is invalid"}"#)
                .as_deref(),
            Some("invalid_grant: The provided authorization grant is invalid")
        );
        assert_eq!(error_message(b"<html>"), None);
    }
}
