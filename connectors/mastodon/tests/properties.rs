//! Property tests of the Mastodon response parser: arbitrary JSON, the documented
//! fixtures with fields replaced, removed or retyped, and with their bytes cut.

use crate::fuzz_body;
use proptest::prelude::*;
use tally_testkit::props::{fixture, json, mutated_bytes, mutated_json};

const ACCOUNT: &[u8] = include_bytes!("../testdata/account.json");
const STATUSES: &[u8] = include_bytes!("../testdata/statuses.json");

proptest! {
    #![proptest_config(tally_testkit::props::config())]

    #[test]
    fn any_json_is_points_or_an_error_naming_a_field(value in json()) {
        let body = serde_json::to_vec(&value).unwrap();
        fuzz_body::account(&body);
        fuzz_body::statuses(&body);
    }

    #[test]
    fn a_mutated_account_is_points_or_an_error_naming_a_field(value in mutated_json(&fixture(ACCOUNT))) {
        fuzz_body::account(&serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn a_mutated_statuses_page_is_points_or_an_error_naming_a_field(value in mutated_json(&fixture(STATUSES))) {
        fuzz_body::statuses(&serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn a_cut_or_corrupted_body_is_an_error_with_its_place(
        account in mutated_bytes(ACCOUNT),
        statuses in mutated_bytes(STATUSES),
    ) {
        fuzz_body::account(&account);
        fuzz_body::statuses(&statuses);
    }

    #[test]
    fn any_link_header_or_error_body_is_handled(text in any::<String>(), path in "/[a-z/?=&0-9]{0,20}") {
        fuzz_body::error_and_link(&text);
        fuzz_body::error_and_link(&format!("<http://127.0.0.1:1{path}>; rel=\"next\""));
        fuzz_body::error_and_link(&format!("<http://127.0.0.1:2{path}>; rel=\"next\", {text}"));
    }

    #[test]
    fn any_bytes_reach_the_fuzz_target_without_a_panic(data in prop::collection::vec(any::<u8>(), 0..256)) {
        fuzz_body::any(&data);
    }
}
