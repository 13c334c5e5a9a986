//! Cursor bookkeeping shared by every paginated connector.

use crate::error::ConnectorError;
use std::collections::HashSet;

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

#[cfg(test)]
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
}
