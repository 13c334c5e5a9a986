//! Property tests of the YouTube response parser: arbitrary JSON, the documented
//! fixtures with fields replaced, removed or retyped, and with their bytes cut.

use crate::fuzz_body;
use proptest::prelude::*;
use tally_testkit::props::{fixture, json, mutated_bytes, mutated_json};

const CHANNELS: &[u8] = include_bytes!("../testdata/channels.json");
const PLAYLIST_ITEMS: &[u8] = include_bytes!("../testdata/playlist_items.json");
const VIDEOS: &[u8] = include_bytes!("../testdata/videos.json");
const ERROR_QUOTA: &[u8] = include_bytes!("../testdata/error_quota.json");

proptest! {
    #![proptest_config(tally_testkit::props::config())]

    #[test]
    fn any_json_is_points_or_an_error_naming_a_field(value in json()) {
        let body = serde_json::to_vec(&value).unwrap();
        fuzz_body::channels(&body);
        fuzz_body::playlist_items(&body);
        fuzz_body::videos(&body);
        fuzz_body::error_body(403, &body);
    }

    #[test]
    fn a_mutated_channel_is_points_or_an_error_naming_a_field(value in mutated_json(&fixture(CHANNELS))) {
        fuzz_body::channels(&serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn a_mutated_playlist_page_is_ids_or_an_error_naming_a_field(value in mutated_json(&fixture(PLAYLIST_ITEMS))) {
        fuzz_body::playlist_items(&serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn mutated_videos_are_points_or_an_error_naming_a_field(value in mutated_json(&fixture(VIDEOS))) {
        fuzz_body::videos(&serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn a_mutated_google_error_still_names_the_path(value in mutated_json(&fixture(ERROR_QUOTA)), status in 400u16..600) {
        fuzz_body::error_body(status, &serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn a_cut_or_corrupted_body_is_an_error_with_its_place(
        channels in mutated_bytes(CHANNELS),
        videos in mutated_bytes(VIDEOS),
    ) {
        fuzz_body::channels(&channels);
        fuzz_body::videos(&videos);
    }

    #[test]
    fn any_bytes_reach_the_fuzz_target_without_a_panic(data in prop::collection::vec(any::<u8>(), 0..256)) {
        fuzz_body::any(&data);
    }
}
