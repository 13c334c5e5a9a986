//! What a newcomer does first, and inputs meant to break the binary: plugin
//! paths, the sandbox's and the demo's files, report formats, closed pipes,
//! oversized imports and damaged stores. Each test asserts the message a user
//! reads and that nothing was lost.

use super::{bluesky_plugin, tally, text};
use serde_json::Value;

#[test]
fn a_plugin_named_without_a_directory_is_found_in_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(bluesky_plugin(), dir.path().join("libsky-here.so")).unwrap();

    let inspected = tally(dir.path(), &["plugins", "inspect", "libsky-here.so"]);
    assert!(inspected.status.success(), "{}", text(&inspected.stderr));
    assert!(
        text(&inspected.stdout).contains("connector    bluesky (platform bluesky)"),
        "{}",
        text(&inspected.stdout)
    );

    let listed = tally(
        dir.path(),
        &[
            "--plugin",
            "libsky-here.so",
            "connectors",
            "--format",
            "json",
        ],
    );
    let stderr = text(&listed.stderr);
    assert!(
        listed.status.success() && !stderr.contains("refused"),
        "{stderr}"
    );
    let list: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|c| c["connector"] == "bluesky"),
        "{list}"
    );
}
