//! What must hold for any response to the YouTube endpoints Tally reads, run by
//! the property tests (`properties.rs`) and by the fuzz target `youtube` (`fuzz/`).

use tally_testkit::props::check_response;
use tally_youtube::parse;

/// `channels.list`: never a panic; valid points, a decode error naming a field,
/// or a bad count naming its field (`statistics.viewCount of channel … is …`).
pub fn channels(body: &[u8]) {
    check_response(
        body,
        |list: parse::ChannelListResponse| match parse::channel(&list, tally_testkit::now()) {
            Ok(summary) => Ok(summary.map(|s| s.points).unwrap_or_default()),
            Err(bad) => {
                assert!(bad.starts_with("statistics"), "{bad}");
                Err(bad)
            }
        },
    );
}

/// `playlistItems.list`: never a panic; the video ids it yields are never empty.
pub fn playlist_items(body: &[u8]) {
    check_response(body, |page: parse::PlaylistItemListResponse| {
        assert!(page.video_ids().all(|id| !id.is_empty()));
        Ok(Vec::new())
    });
}

/// `videos.list`: never a panic; valid points or an error naming the field.
pub fn videos(body: &[u8]) {
    check_response(body, |list: parse::VideoListResponse| {
        parse::video_points(&list, tally_testkit::now()).map_err(|bad| {
            assert!(bad.starts_with("statistics"), "{bad}");
            bad
        })
    });
}

/// A non-2xx body of any shape: never a panic, and the error names the URL path.
pub fn error_body(status: u16, body: &[u8]) {
    let path = "/youtube/v3/channels";
    let message = parse::error_for(path, status, body).to_string();
    assert!(
        message.contains(path) || message.contains("YouTube"),
        "{message:?} names neither the path nor the platform"
    );
}

/// The fuzz target's entry: the first byte picks the endpoint.
pub fn any(data: &[u8]) {
    let Some((which, body)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => channels(body),
        1 => playlist_items(body),
        2 => videos(body),
        _ => error_body(400 + u16::from(*which), body),
    }
}
