//! Cursor bookkeeping shared by every paginated connector.

use crate::connector::Emitter;
use crate::error::{url_path, ConnectorError};
use std::collections::HashSet;
use std::future::Future;

/// Follows next-page cursors (page tokens, `Link` URLs, `max_id`s) and stops a
/// platform bug from turning into an endless loop: a cursor seen twice is an error,
/// and so is going past the page cap.
#[derive(Debug)]
pub struct Paginator {
    path: String,
    seen: HashSet<String>,
    pages: u32,
    max_pages: u32,
}

impl Paginator {
    /// A paginator for the endpoint at `path` (used in error messages) that allows `max_pages` pages.
    pub fn new(path: impl Into<String>, max_pages: u32) -> Paginator {
        Paginator {
            path: path.into(),
            seen: HashSet::new(),
            pages: 1,
            max_pages,
        }
    }

    /// Records that a page was read and what it said about the next one.
    ///
    /// Returns the cursor to fetch next, `None` when the listing is finished, or an
    /// error when the cursor repeats or the page cap is reached.
    pub fn advance(&mut self, next: Option<String>) -> Result<Option<String>, ConnectorError> {
        let Some(cursor) = next.filter(|c| !c.is_empty()) else {
            return Ok(None);
        };
        if !self.seen.insert(cursor.clone()) {
            return Err(ConnectorError::Pagination {
                path: self.path.clone(),
                message: format!(
                    "the platform returned the same next-page cursor twice after {} pages; stopping to avoid a loop",
                    self.pages
                ),
            });
        }
        if self.pages >= self.max_pages {
            return Err(ConnectorError::Pagination {
                path: self.path.clone(),
                message: format!(
                    "more than {} pages; raise `max_pages` for this source if that is expected",
                    self.max_pages
                ),
            });
        }
        self.pages += 1;
        Ok(Some(cursor))
    }

    /// Pages read so far.
    pub fn pages(&self) -> u32 {
        self.pages
    }
}

/// What a connector decided after reading one page, returned by the `each`
/// function given to [`walk`].
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Go on to the next page, if there is one. With a state, everything emitted
    /// so far is checkpointed with it once the next page is known to exist (see
    /// [`Emitter::checkpoint`]), so a pull killed later resumes there.
    Continue(Option<serde_json::Value>),
    /// The connector has what it needs (a cap reached, seen items): stop here.
    Stop,
}

/// Owns a paginated listing's loop: `fetch(cursor)` gets one page (`None`: the
/// first) and the cursor of the next (page token, next URL, `max_id`; `None` or
/// empty at the end); `each(page, out)` emits what the page holds and says
/// whether to go on.
///
/// `pages` refuses a cursor it has already seen and stops at its page cap, both
/// as [`ConnectorError::Pagination`] naming the listing's path, so a platform
/// bug never turns into an endless (or quota-eating) loop. Fetching and
/// handling are two functions so the fetch future borrows nothing mutable and
/// stays `Send` inside a connector's `pull`.
pub async fn walk<T, Fetch, Fut, Each>(
    mut pages: Paginator,
    first: Option<String>,
    out: &mut dyn Emitter,
    mut fetch: Fetch,
    mut each: Each,
) -> Result<(), ConnectorError>
where
    Fetch: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(T, Option<String>), ConnectorError>>,
    Each: FnMut(T, &mut dyn Emitter) -> Result<Step, ConnectorError>,
{
    let mut cursor = first;
    loop {
        let (page, next) = fetch(cursor.take()).await?;
        let checkpoint = match each(page, out)? {
            Step::Stop => return Ok(()),
            Step::Continue(checkpoint) => checkpoint,
        };
        match pages.advance(next)? {
            Some(next) => cursor = Some(next),
            None => return Ok(()),
        }
        if let Some(state) = checkpoint {
            out.checkpoint(state)?;
        }
    }
}

/// The target of the `rel="next"` link in an RFC 8288 `Link` header, if there is one.
///
/// Mastodon, GitHub and others paginate with
/// `Link: <https://host/api?max_id=7>; rel="next", <https://host/api?min_id=9>; rel="prev"`.
/// The parser follows RFC 8288 §3: several comma-separated links, parameters
/// separated by `;`, values as tokens or quoted strings (which may hold commas,
/// semicolons and `\`-escapes), optional whitespace anywhere between parts, and a
/// `rel` that lists several space-separated relation types (`rel="next last"`),
/// compared case-insensitively. The target is returned as written (absolute or
/// relative); resolving a relative one is the caller's job. A malformed link is
/// skipped rather than guessed at.
pub fn next_link(link_header: &str) -> Option<String> {
    parse_links(link_header)
        .into_iter()
        .find(|link| link.rels().any(|rel| rel.eq_ignore_ascii_case("next")))
        .map(|link| link.target)
}

/// Where a listing continues, from the `Link` header of the response to `url`:
/// the `rel="next"` target ([`next_link`]), for the pagination of Mastodon,
/// GitHub and other RFC 8288 APIs.
///
/// A `/`-rooted target is resolved against `base_url`'s origin. A target on
/// another origin than `base_url` is refused with a [`ConnectorError::Pagination`]
/// naming `url`'s path: the host would send the source's credential along with it.
pub fn next_link_within(
    link_header: Option<&str>,
    base_url: &str,
    url: &str,
) -> Result<Option<String>, ConnectorError> {
    let Some(next) = link_header.and_then(next_link) else {
        return Ok(None);
    };
    within_origin(next, base_url, url).map(Some)
}

/// A next-page URL a platform gave (in a `Link` header or a body field), kept
/// only when it stays on `base_url`'s origin: a `/`-rooted target is resolved
/// against that origin, a target on another origin is refused with a
/// [`ConnectorError::Pagination`] naming `url`'s path, since the host would
/// send the source's credential along with it.
pub fn within_origin(next: String, base_url: &str, url: &str) -> Result<String, ConnectorError> {
    let origin = origin(base_url).unwrap_or(base_url);
    if next.starts_with('/') && !next.starts_with("//") {
        return Ok(format!("{origin}{next}"));
    }
    match origin_of_link(&next) {
        Some(link_origin) if link_origin.eq_ignore_ascii_case(origin) => Ok(next),
        _ => Err(ConnectorError::Pagination {
            path: url_path(url),
            message: format!(
                "the next-page link points outside {origin} ({}); not following it, so the source's credential stays with its instance",
                url_path(&next)
            ),
        }),
    }
}

/// `scheme://authority` of an absolute URL.
fn origin(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&url[..url.len() - rest.len() + authority_len])
}

/// [`origin`], only for URLs with an http(s) scheme.
fn origin_of_link(url: &str) -> Option<&str> {
    let lower = url.get(..8)?.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        origin(url)
    } else {
        None
    }
}

/// `&name=value` with the value percent-encoded ([`encode_query_value`]), or
/// nothing without a value: how a page's cursor joins its listing's query
/// (`format!("{path}?limit=50{}", param("cursor", cursor.as_deref()))`).
pub fn param(name: &str, value: Option<&str>) -> String {
    value.map_or_else(String::new, |v| {
        format!("&{name}={}", encode_query_value(v))
    })
}

/// Percent-encodes a value for a URL query (`acct=user%40example.social`): every byte
/// except RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`) becomes `%XX`, so
/// page tokens and account names cannot break or extend the query they are put in.
pub fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// One `<target>; name=value; ...` element of a `Link` header.
struct Link {
    target: String,
    params: Vec<(String, String)>,
}

impl Link {
    /// The relation types listed in the link's first `rel` parameter.
    fn rels(&self) -> impl Iterator<Item = &str> {
        self.params
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("rel"))
            .map(|(_, value)| value.split_ascii_whitespace())
            .into_iter()
            .flatten()
    }
}

/// Splits a `Link` header into its links; malformed elements are dropped.
fn parse_links(header: &str) -> Vec<Link> {
    let mut links = Vec::new();
    let mut chars = header.chars().peekable();
    loop {
        skip_while(&mut chars, |c| c.is_whitespace() || c == ',');
        match chars.next() {
            None => return links,
            Some('<') => {}
            Some(_) => {
                skip_element(&mut chars);
                continue;
            }
        }
        let target: String = chars.by_ref().take_while(|&c| c != '>').collect();
        let mut params = Vec::new();
        let mut ok = true;
        loop {
            skip_while(&mut chars, char::is_whitespace);
            match chars.next() {
                None | Some(',') => break,
                Some(';') => {}
                Some(_) => {
                    ok = false;
                    skip_element(&mut chars);
                    break;
                }
            }
            skip_while(&mut chars, char::is_whitespace);
            let mut name = String::new();
            while let Some(&c) = chars.peek() {
                if c == '=' || c == ';' || c == ',' || c.is_whitespace() {
                    break;
                }
                name.push(c);
                chars.next();
            }
            skip_while(&mut chars, char::is_whitespace);
            let mut value = String::new();
            if chars.peek() == Some(&'=') {
                chars.next();
                skip_while(&mut chars, char::is_whitespace);
                if chars.peek() == Some(&'"') {
                    chars.next();
                    while let Some(c) = chars.next() {
                        match c {
                            '"' => break,
                            '\\' => value.extend(chars.next()),
                            c => value.push(c),
                        }
                    }
                } else {
                    while let Some(&c) = chars.peek() {
                        if c == ';' || c == ',' || c.is_whitespace() {
                            break;
                        }
                        value.push(c);
                        chars.next();
                    }
                }
            }
            if !name.is_empty() {
                params.push((name, value));
            }
        }
        if ok {
            links.push(Link {
                target: target.trim().to_string(),
                params,
            });
        }
    }
}

/// Advances past characters matching `skip`.
fn skip_while(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, skip: impl Fn(char) -> bool) {
    while chars.peek().is_some_and(|&c| skip(c)) {
        chars.next();
    }
}

/// Advances past the rest of a malformed element, up to the next top-level comma.
fn skip_element(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' if quoted => {
                chars.next();
            }
            ',' if !quoted => return,
            _ => {}
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn follows_until_no_cursor() {
        let mut p = Paginator::new("/x", 10);
        assert_eq!(p.advance(Some("a".into())).unwrap(), Some("a".into()));
        assert_eq!(p.advance(Some("b".into())).unwrap(), Some("b".into()));
        assert_eq!(p.advance(None).unwrap(), None);
        assert_eq!(p.pages(), 3);
    }

    #[test]
    fn repeated_cursor_is_an_error() {
        let mut p = Paginator::new("/statuses", 10);
        p.advance(Some("a".into())).unwrap();
        let e = p.advance(Some("a".into())).unwrap_err().to_string();
        assert!(
            e.contains("/statuses") && e.contains("same next-page cursor"),
            "{e}"
        );
    }

    #[test]
    fn page_cap_is_an_error() {
        let mut p = Paginator::new("/x", 2);
        p.advance(Some("a".into())).unwrap();
        assert!(p.advance(Some("b".into())).is_err());
    }

    #[test]
    fn next_link_among_several_rels() {
        let h = r#"<https://mastodon.example/api/v1/accounts/1/statuses?max_id=7163058>; rel="next", <https://mastodon.example/api/v1/accounts/1/statuses?min_id=7275607>; rel="prev""#;
        assert_eq!(
            next_link(h).as_deref(),
            Some("https://mastodon.example/api/v1/accounts/1/statuses?max_id=7163058")
        );
        let prev_first =
            r#"<https://h/x?min_id=9>; rel="prev", <https://h/x?max_id=3>; rel="next""#;
        assert_eq!(
            next_link(prev_first).as_deref(),
            Some("https://h/x?max_id=3")
        );
    }

    #[test]
    fn next_link_github_style_with_last_and_first() {
        let h = "<https://api.github.com/repositories/1/issues?page=2>; rel=\"next\", \
                 <https://api.github.com/repositories/1/issues?page=5>; rel=\"last\", \
                 <https://api.github.com/repositories/1/issues?page=1>; rel=\"first\"";
        assert_eq!(
            next_link(h).as_deref(),
            Some("https://api.github.com/repositories/1/issues?page=2")
        );
    }

    #[test]
    fn next_link_handles_quoted_commas_tokens_spaces_and_case() {
        // A quoted title holding a comma and a semicolon must not end the link early.
        let h = r#"<https://h/a?page=1>; title="one, two; three"; rel="prev" ,  <https://h/a?page=3> ;REL = NEXT"#;
        assert_eq!(next_link(h).as_deref(), Some("https://h/a?page=3"));
        // Several relation types in one rel, and an escaped quote in another parameter.
        let h = r#"<https://h/b?c=2>; title="say \"hi\""; rel="last next""#;
        assert_eq!(next_link(h).as_deref(), Some("https://h/b?c=2"));
        // An unquoted token value.
        assert_eq!(next_link("</c?p=2>; rel=next").as_deref(), Some("/c?p=2"));
    }

    #[test]
    fn next_link_absent_or_malformed_is_none() {
        assert_eq!(next_link(""), None);
        assert_eq!(next_link(r#"<https://h/x?min_id=9>; rel="prev""#), None);
        // `rel="nextpage"` is not `next`, and a target without <> is skipped.
        assert_eq!(next_link(r#"<https://h/x>; rel="nextpage""#), None);
        assert_eq!(
            next_link(r#"https://h/bad; rel="next", <https://h/good>; rel="next""#).as_deref(),
            Some("https://h/good")
        );
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            encode_query_value("Gargron@mastodon.social"),
            "Gargron%40mastodon.social"
        );
        assert_eq!(encode_query_value("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(encode_query_value("CAUQAA-_.~"), "CAUQAA-_.~");
        assert_eq!(param("pageToken", Some("a b")), "&pageToken=a%20b");
        assert_eq!(param("pageToken", None), "");
    }

    #[test]
    fn next_link_within_follows_same_origin_links_only() {
        let base = "https://mastodon.example";
        let url = "https://mastodon.example/api/v1/accounts/1/statuses?limit=40";
        let link = r#"<https://mastodon.example/api/v1/accounts/1/statuses?max_id=7163058>; rel="next", <https://mastodon.example/api/v1/accounts/1/statuses?min_id=7275607>; rel="prev""#;
        assert_eq!(
            next_link_within(Some(link), base, url).unwrap().as_deref(),
            Some("https://mastodon.example/api/v1/accounts/1/statuses?max_id=7163058")
        );
        assert_eq!(
            next_link_within(
                Some(r#"</api/v1/accounts/1/statuses?max_id=5>; rel="next""#),
                "http://127.0.0.1:9/",
                url
            )
            .unwrap(),
            Some("http://127.0.0.1:9/api/v1/accounts/1/statuses?max_id=5".into())
        );
        assert_eq!(next_link_within(None, base, url).unwrap(), None);
        assert_eq!(
            next_link_within(
                Some(r#"<https://mastodon.example/x?min_id=1>; rel="prev""#),
                base,
                url
            )
            .unwrap(),
            None
        );
        let e = next_link_within(
            Some(r#"<https://evil.example/api/v1/x?max_id=1>; rel="next""#),
            base,
            url,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("pagination of /api/v1/accounts/1/statuses stopped")
                && e.contains("outside https://mastodon.example")
                && e.contains("/api/v1/x"),
            "{e}"
        );
        assert!(next_link_within(Some(r#"<//evil.example/x>; rel="next""#), base, url).is_err());
        assert!(next_link_within(
            Some(r#"<https://mastodon.example.evil/x>; rel="next""#),
            base,
            url
        )
        .is_err());
    }
}
