//! What must hold for any response to the Mastodon endpoints Tally reads, run by
//! the property tests (`properties.rs`) and by the fuzz target `mastodon` (`fuzz/`).

use tally_mastodon::parse;
use tally_model::paginate::next_link_within;
use tally_testkit::props::check_response;

/// `GET /api/v1/accounts/lookup`: never a panic, valid points or a decode error naming a field.
pub fn account(body: &[u8]) {
    check_response(body, |account: parse::Account| {
        Ok(parse::account_points(&account, tally_testkit::now()))
    });
}

/// `GET /api/v1/accounts/:id/statuses`: the same for a page of statuses.
pub fn statuses(body: &[u8]) {
    check_response(body, |statuses: Vec<parse::Status>| {
        Ok(statuses
            .iter()
            .flat_map(|s| parse::status_points(s, tally_testkit::now()))
            .collect())
    });
}

/// A non-2xx body and the `Link` header Mastodon paginates with (read by the
/// model's `next_link_within`): never a panic; a next page is never on another
/// origin than the instance (the credential would go with it).
pub fn error_and_link(text: &str) {
    let _ = parse::error_message(text.as_bytes());
    let _ = parse::error_for("/api/v1/accounts/1/statuses", 500, text.as_bytes());
    let base = "http://127.0.0.1:1/mastodon";
    if let Ok(Some(next)) = next_link_within(Some(text), base, "http://127.0.0.1:1/mastodon/api") {
        assert!(
            next.to_ascii_lowercase().starts_with("http://127.0.0.1:1/"),
            "next page {next:?} leaves the instance, from {text:?}"
        );
    }
}

/// The fuzz target's entry: the first byte picks the endpoint.
pub fn any(data: &[u8]) {
    let Some((which, body)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => account(body),
        1 => statuses(body),
        _ => error_and_link(&String::from_utf8_lossy(body)),
    }
}
