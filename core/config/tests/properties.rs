//! Property tests of config parsing: arbitrary text, and the shipped example and
//! the connectors' sample configs with lines removed, repeated, swapped or replaced
//! and characters inserted.

use crate::fuzz_body;
use proptest::prelude::*;
use proptest::sample::Index;

const SAMPLES: &[&str] = &[
    include_str!("../../../config.example.toml"),
    include_str!("../../../connectors/youtube/sample.toml"),
    include_str!("../../../connectors/mastodon/sample.toml"),
];

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// One edit of a config file, as a slip of a user's hand or a bad merge makes it.
#[derive(Debug, Clone)]
enum Edit {
    DeleteLine(Index),
    RepeatLine(Index),
    SwapLines(Index, Index),
    ReplaceLine(Index, String),
    Insert(Index, String),
    Truncate(Index),
}

/// Bits of TOML: what a line or an insertion is made of.
fn toml_bit() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::sample::select(vec![
            "[",
            "]",
            "[[sources]]",
            "[sources.settings]",
            "[sources.auth]",
            "[[goals]]",
            "[http]",
            "[schedule]",
            "=",
            "\"",
            "'''",
            "#",
            ",",
            "{",
            "}",
            "\n",
            "id = \"x\"",
            "every = \"0s\"",
            "timeout = \"-1s\"",
            "kind = \"oauth2\"",
            "connector = \"nope\"",
            "target = 1e309",
            "path = \"\"",
            "${UNSET}",
            "${SET}",
            "\u{feff}",
            "\r\n",
            "max_concurrency = 0",
            "period = \"fortnight\"",
            "timezone = \"Mars/Base\"",
        ])
        .prop_map(str::to_string),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<Index>().prop_map(Edit::DeleteLine),
        any::<Index>().prop_map(Edit::RepeatLine),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        (any::<Index>(), toml_bit()).prop_map(|(a, s)| Edit::ReplaceLine(a, s)),
        (any::<Index>(), toml_bit()).prop_map(|(a, s)| Edit::Insert(a, s)),
        any::<Index>().prop_map(Edit::Truncate),
    ]
}

fn apply(text: &str, edit: &Edit) -> String {
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    match edit {
        Edit::DeleteLine(i) => {
            lines.remove(i.index(lines.len()));
        }
        Edit::RepeatLine(i) => {
            let i = i.index(lines.len());
            lines.insert(i, lines[i].clone());
        }
        Edit::SwapLines(a, b) => {
            let (a, b) = (a.index(lines.len()), b.index(lines.len()));
            lines.swap(a, b);
        }
        Edit::ReplaceLine(i, s) => {
            let i = i.index(lines.len());
            lines[i] = s.clone();
        }
        Edit::Insert(i, s) => {
            let at = boundary(text, i.index(text.len() + 1));
            return format!("{}{s}{}", &text[..at], &text[at..]);
        }
        Edit::Truncate(i) => return text[..boundary(text, i.index(text.len() + 1))].to_string(),
    }
    lines.join("\n")
}

/// The nearest char boundary at or before `at`.
fn boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn mutated_sample() -> impl Strategy<Value = String> {
    (
        prop::sample::select(SAMPLES),
        prop::collection::vec(edit(), 1..=4),
    )
        .prop_map(|(sample, edits)| edits.iter().fold(sample.to_string(), |t, e| apply(&t, e)))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_is_a_config_or_located_errors(text in any::<String>()) {
        fuzz_body::parse(&text, &fuzz_body::connectors());
    }

    #[test]
    fn toml_like_text_is_a_config_or_located_errors(bits in prop::collection::vec(toml_bit(), 0..24)) {
        fuzz_body::parse(&bits.concat(), &fuzz_body::connectors());
    }

    #[test]
    fn a_mutated_valid_config_is_a_config_or_located_errors(text in mutated_sample()) {
        fuzz_body::parse(&text, &fuzz_body::connectors());
    }

    #[test]
    fn any_bytes_reach_the_fuzz_target_without_a_panic(data in prop::collection::vec(any::<u8>(), 0..512)) {
        fuzz_body::any(&data);
    }
}
