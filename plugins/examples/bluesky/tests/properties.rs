//! Property tests of the Bluesky response parser: arbitrary JSON, the documented
//! fixtures with fields replaced, removed or retyped, and with their bytes cut.

use crate::fuzz_body;
use proptest::prelude::*;
use tally_testkit::props::{fixture, json, mutated_bytes, mutated_json};

const PROFILE: &[u8] = include_bytes!("../testdata/profile.json");
const AUTHOR_FEED: &[u8] = include_bytes!("../testdata/author_feed.json");

proptest! {
    #![proptest_config(tally_testkit::props::config())]

    #[test]
    fn any_json_is_points_or_an_error_naming_a_field(value in json(), status in 400u16..600) {
        let body = serde_json::to_vec(&value).unwrap();
        fuzz_body::profile(&body);
        fuzz_body::author_feed(&body);
        fuzz_body::error_body(status, &body);
    }

    #[test]
    fn a_mutated_profile_is_points_or_an_error_naming_a_field(value in mutated_json(&fixture(PROFILE))) {
        fuzz_body::profile(&serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn a_mutated_feed_page_is_points_or_an_error_naming_a_field(value in mutated_json(&fixture(AUTHOR_FEED))) {
        fuzz_body::author_feed(&serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn a_cut_or_corrupted_body_is_an_error_with_its_place(
        profile in mutated_bytes(PROFILE),
        feed in mutated_bytes(AUTHOR_FEED),
    ) {
        fuzz_body::profile(&profile);
        fuzz_body::author_feed(&feed);
    }

    #[test]
    fn any_bytes_reach_the_fuzz_target_without_a_panic(data in prop::collection::vec(any::<u8>(), 0..256)) {
        fuzz_body::any(&data);
    }
}
