//! Connector manifests found in `[plugins] dirs` at run time: a good one pulls
//! like any connector, a broken one is refused with its `file:line:column`
//! and the rest keep working.

use super::{tally, text, write_config};
use serde_json::Value;
use std::net::SocketAddr;
use tally_sandbox::{Sandbox, SandboxOptions};

#[tokio::test]
async fn manifests_in_plugin_dirs_load_at_run_time_and_broken_ones_are_refused_with_their_line() {
    let sandbox = Sandbox::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SandboxOptions::default(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    // The built-in Bluesky manifest under another name, as a self-hoster would copy it.
    let (_, builtin) = tally_manifest::builtin_sources()
        .iter()
        .find(|(file, _)| *file == "bluesky.connector.toml")
        .unwrap();
    let copy = builtin.replace("name = \"bluesky_manifest\"", "name = \"my_sky\"");
    std::fs::write(plugins.join("my_sky.connector.toml"), copy).unwrap();
    std::fs::write(
        plugins.join("broken.connector.toml"),
        "name = \"broken\"\nsummary = \"x\"\nbase_url = \"https://x.example\"\nrate_limit = { requests = 1, per_seconds = 1, burst = 1 }\nauth = [{ kind = \"none\" }]\n[[streams]]\nname = \"s\"\nrequest = { path = \"/{{ settings.nope }}\" }\n",
    )
    .unwrap();
    write_config(
        dir.path(),
        &format!(
            "[plugins]\ndirs = [\"plugins\"]\n\n[[sources]]\nid = \"sky\"\nconnector = \"my_sky\"\nbase_url = \"{}\"\n[sources.settings]\nactor = \"{}\"\nmax_posts = 5\n",
            sandbox.base_url("bluesky"),
            tally_sandbox::SAMPLE_BLUESKY_ACTOR
        ),
    );
    let run = |args: &'static [&'static str]| {
        let dir = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || tally(&dir, args))
    };
    let pulled = run(&["pull", "--format", "json"]).await.unwrap();
    let stderr = text(&pulled.stderr);
    assert!(pulled.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: manifest refused: ")
            && stderr.contains("broken.connector.toml:8:25: undefined name `settings.nope`"),
        "{stderr}"
    );
    let rows: Value = serde_json::from_slice(&pulled.stdout).unwrap();
    assert_eq!(rows[0]["status"], "ok", "{rows}");
    assert!(rows[0]["points"].as_f64().unwrap() > 3.0, "{rows}");

    let listed = run(&["connectors", "--format", "json"]).await.unwrap();
    let list: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let mine = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["connector"] == "my_sky")
        .unwrap();
    assert!(
        mine["from"]
            .as_str()
            .unwrap()
            .ends_with("my_sky.connector.toml"),
        "{mine}"
    );
    sandbox.shutdown().await;
}
