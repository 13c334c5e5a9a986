//! Links tagged with `utm_source`, `utm_medium`, `utm_campaign` and
//! `utm_content`, so an analytics connector can attribute sessions and
//! conversions back to the social post that brought them.
//!
//! Analytics tools treat `Summer Sale` and `summer-sale` as two campaigns, so
//! values are normalised: trimmed, lower-cased, and runs of spaces become one
//! `-`. Parameters already on the URL are kept, except `utm_*` ones, which
//! are replaced.

use url::Url;

/// The tags of one link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UtmTags {
    /// `utm_source`: where the visitor came from (`mastodon`, `youtube`).
    pub source: String,
    /// `utm_medium`: the kind of channel (`social`).
    pub medium: String,
    /// `utm_campaign`: the campaign (`june-launch`).
    pub campaign: String,
    /// `utm_content`: the post or variant (`croissant-reel`).
    pub content: Option<String>,
    /// `utm_term`: a keyword, for paid search.
    pub term: Option<String>,
}

/// Why a link could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UtmError {
    /// The page URL is not an absolute http(s) URL.
    #[error("`{url}` is not an absolute http(s) URL; write the page people land on, such as https://cornerbakery.example/menu")]
    BadUrl {
        /// The URL given.
        url: String,
    },
    /// A required tag is empty.
    #[error("utm_{tag} is empty; give it a value (letters, digits, `-`)")]
    Empty {
        /// The tag.
        tag: &'static str,
    },
}

/// A tag value as analytics should see it: trimmed, lower case, spaces as `-`.
pub fn normalize(value: &str) -> String {
    value
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("-")
        .to_lowercase()
}

/// `url` with the tags set.
pub fn tag(url: &str, tags: &UtmTags) -> Result<String, UtmError> {
    let mut parsed = Url::parse(url).map_err(|_| UtmError::BadUrl { url: url.into() })?;
    if !matches!(parsed.scheme(), "http" | "https") || !parsed.has_host() {
        return Err(UtmError::BadUrl { url: url.into() });
    }
    let mut pairs: Vec<(&'static str, String)> = Vec::new();
    for (tag, value) in [
        ("source", Some(&tags.source)),
        ("medium", Some(&tags.medium)),
        ("campaign", Some(&tags.campaign)),
        ("content", tags.content.as_ref()),
        ("term", tags.term.as_ref()),
    ] {
        let Some(value) = value else { continue };
        let v = normalize(value);
        if v.is_empty() {
            return Err(UtmError::Empty { tag });
        }
        pairs.push((tag, v));
    }
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| !k.starts_with("utm_"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    {
        let mut q = parsed.query_pairs_mut();
        q.clear();
        for (k, v) in &kept {
            q.append_pair(k, v);
        }
        for (tag, v) in &pairs {
            q.append_pair(&format!("utm_{tag}"), v);
        }
    }
    Ok(parsed.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn tags() -> UtmTags {
        UtmTags {
            source: "Mastodon".into(),
            medium: "social".into(),
            campaign: "June  Launch".into(),
            content: Some("croissant reel".into()),
            term: None,
        }
    }

    #[test]
    fn tags_are_normalised_and_other_parameters_kept() {
        let link = tag(
            "https://bakery.example/menu?lang=en&utm_source=old#top",
            &tags(),
        )
        .unwrap();
        assert_eq!(
            link,
            "https://bakery.example/menu?lang=en&utm_source=mastodon&utm_medium=social&utm_campaign=june-launch&utm_content=croissant-reel#top"
        );
    }

    #[test]
    fn bad_urls_and_empty_tags_are_refused() {
        assert!(matches!(
            tag("bakery.example", &tags()),
            Err(UtmError::BadUrl { .. })
        ));
        let mut t = tags();
        t.campaign = "  ".into();
        assert_eq!(
            tag("https://bakery.example", &t),
            Err(UtmError::Empty { tag: "campaign" })
        );
    }
}
