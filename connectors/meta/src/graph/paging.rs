//! Graph cursor paging: `{"data":[…],"paging":{"cursors":{"after":"…"},"next":"…"}}`.
//!
//! The listing goes on while `paging.next` is present (a page may be empty and
//! still have one). The connectors follow the `after` cursor on their own URL
//! rather than the `next` URL, which names graph.facebook.com and carries the
//! token: the host keeps the request on the source's `base_url`.

use serde::Deserialize;

/// One page of a Graph listing.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    /// The page's items.
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    /// Where the listing goes on.
    #[serde(default)]
    pub paging: Option<Paging>,
}

/// `paging` of a Graph listing.
#[derive(Debug, Default, Deserialize)]
pub struct Paging {
    /// Opaque cursors around this page.
    #[serde(default)]
    pub cursors: Option<Cursors>,
    /// Full URL of the next page; absent on the last one.
    #[serde(default)]
    pub next: Option<String>,
}

/// `paging.cursors`.
#[derive(Debug, Default, Deserialize)]
pub struct Cursors {
    /// Cursor of the page after this one.
    #[serde(default)]
    pub after: Option<String>,
}

impl<T> Page<T> {
    /// The `after` cursor of the next page, or `None` on the last page (no `next`).
    pub fn after(&self) -> Option<String> {
        let paging = self.paging.as_ref()?;
        paging.next.as_ref()?;
        paging.cursors.as_ref()?.after.clone()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_listing_ends_when_next_is_absent() {
        let more: Page<u8> = serde_json::from_str(
            r#"{"data":[],"paging":{"cursors":{"before":"A","after":"B"},"next":"https://graph.facebook.com/x?after=B"}}"#,
        )
        .unwrap();
        assert_eq!(more.after().as_deref(), Some("B"));
        let last: Page<u8> =
            serde_json::from_str(r#"{"data":[1],"paging":{"cursors":{"before":"A","after":"B"}}}"#)
                .unwrap();
        assert_eq!(last.after(), None);
        let bare: Page<u8> = serde_json::from_str(r#"{"data":[1]}"#).unwrap();
        assert_eq!(bare.after(), None);
    }
}
