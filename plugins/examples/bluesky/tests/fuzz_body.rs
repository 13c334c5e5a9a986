//! What must hold for any response to the Bluesky endpoints Tally reads, run by
//! the property tests (`properties.rs`) and by the fuzz target `bluesky` (`fuzz/`).

use tally_bluesky::parse;
use tally_testkit::props::check_response;

/// `app.bsky.actor.getProfile`: never a panic, valid points or a decode error naming a field.
pub fn profile(body: &[u8]) {
    check_response(body, |profile: parse::Profile| {
        Ok(parse::profile_points(&profile, tally_testkit::now()))
    });
}

/// `app.bsky.feed.getAuthorFeed`: the same for a page of the feed.
pub fn author_feed(body: &[u8]) {
    check_response(body, |feed: parse::AuthorFeed| {
        Ok(feed
            .feed
            .iter()
            .flat_map(|entry| parse::post_points(&entry.post, tally_testkit::now()))
            .collect())
    });
}

/// A non-2xx body of any shape: never a panic, and the error names the URL path.
pub fn error_body(status: u16, body: &[u8]) {
    let path = "/xrpc/app.bsky.actor.getProfile";
    let message = parse::error_for(path, status, body, "tally.bsky.social").to_string();
    assert!(
        message.contains(path) || message.contains("tally.bsky.social"),
        "{message:?} names neither the path nor the actor"
    );
}

/// The fuzz target's entry: the first byte picks the endpoint.
pub fn any(data: &[u8]) {
    let Some((which, body)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => profile(body),
        1 => author_feed(body),
        _ => error_body(400 + u16::from(*which), body),
    }
}
