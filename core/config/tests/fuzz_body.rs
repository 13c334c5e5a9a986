//! What must hold for any text given as `tally.toml`, run by the property tests
//! (`properties.rs`) and by the fuzz target `config` (`fuzz/`).

use std::path::Path;
use tally_config::{parse_with, ParseContext};
use tally_model::{Connector, Description};

/// The connectors a user's config is checked against: the built-in ones.
pub fn connectors() -> Vec<Description> {
    vec![
        tally_youtube::Youtube.describe(),
        tally_mastodon::Mastodon.describe(),
    ]
}

/// Parses `text` as `fuzz.toml`: never a panic; either a config, or errors that
/// each say what is wrong at a `fuzz.toml:line:column` inside the text.
pub fn parse(text: &str, connectors: &[Description]) {
    let ctx = ParseContext {
        base_dir: Path::new("/nonexistent/tally-fuzz"),
        env: &|name: &str| (name == "SET").then(|| "value".to_string()),
    };
    let Err(errors) = parse_with(text, "fuzz.toml", connectors, &ctx) else {
        return;
    };
    assert!(!errors.is_empty(), "an empty error list for {text:?}");
    // A line past the last one can be named: the end of a file without a final newline.
    let lines = text.split('\n').count();
    for e in errors.errors() {
        assert!(
            !e.message.trim().is_empty(),
            "an empty message for {text:?}"
        );
        let Some(at) = &e.location else {
            panic!("an error without a location: {e}\nfor {text:?}");
        };
        assert_eq!(at.file, "fuzz.toml");
        assert!(
            (1..=lines).contains(&at.line) && at.column >= 1,
            "{e} is outside the {lines} lines of {text:?}"
        );
        assert!(e.to_string().starts_with(&format!("{at}: ")), "{e}");
    }
}

/// The fuzz target's entry: the bytes as text (invalid UTF-8 replaced, as a
/// user's editor would show it).
pub fn any(data: &[u8]) {
    parse(&String::from_utf8_lossy(data), &connectors());
}
