//! `tally-bench hot-text`: writes `core/cli/link/hot-text.order` and
//! `plugins/examples/bluesky/link/hot-text.order`, the functions the linker
//! places first in `tally`'s code and in the Bluesky plugin's.
//!
//! A page of code becomes resident when any byte of it runs, and the kernel
//! maps the cached pages around it along with it (fault-around, 64 KiB). In
//! link order the few thousand functions a pull runs are scattered over most
//! of the binary's 16 MiB of code, so a pull of 10,000 posts kept 11.6 MiB of
//! code resident; placed together they take under 4 MiB (BENCHMARKS.md).
//!
//! The functions are the ones callgrind sees run in the throughput
//! scenario's two pulls (the Bluesky plugin and the Bluesky manifest): those
//! both run first, then each pull's own, hottest first within each group.
//! The list holds exact symbols: a Rust symbol ends in a hash of its crate's
//! build (its features and dependencies), and a pattern over
//! the hash would also catch every other instantiation of a generic function,
//! which spread the hot code over 6.8 MiB. A symbol that no longer exists is
//! skipped by the linker, so a stale list only costs memory, never a build:
//! regenerate it after upgrading dependencies or the compiler, from a `tally`
//! built the way users build it (`cargo build --release -p tally-cli` alone;
//! a build together with other packages may select other features).

use crate::throughput::{bulk_actor, bulk_sandbox, pull, Feed};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Arguments of the hot-text scenario.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Posts in the feed pulled under callgrind.
    #[arg(long, default_value_t = 10_000)]
    posts: u32,
    /// The Bluesky connector plugin (a cdylib built from plugins/examples/bluesky).
    #[arg(long, default_value = "target/release/libtally_bluesky.so")]
    plugin: PathBuf,
    /// Where to write the symbol ordering file of `tally`.
    #[arg(long, default_value = "core/cli/link/hot-text.order")]
    out: PathBuf,
    /// Where to write the symbol ordering file of the plugin.
    #[arg(long, default_value = "plugins/examples/bluesky/link/hot-text.order")]
    plugin_out: PathBuf,
}

/// Profiles both pulls under callgrind and writes the symbol ordering file.
pub async fn run(tally: &Path, args: Args) -> anyhow::Result<()> {
    let tally = std::fs::canonicalize(tally)?;
    let plugin_object = std::fs::canonicalize(&args.plugin)?;
    let dir = std::env::temp_dir().join(format!("tally-bench-hot-text-{}", std::process::id()));
    let sandbox = bulk_sandbox().await?;
    let actor = bulk_actor(args.posts);
    let base = sandbox.base_url("bluesky");
    let feed = Feed {
        base: &base,
        actor: &actor,
        posts: args.posts,
        postgres: false,
    };
    let plugin = args.plugin.display().to_string();
    let mut pulls = Vec::new();
    let mut plugin_cost: HashMap<String, u64> = HashMap::new();
    for (connector, extra) in [
        ("bluesky", vec!["--plugin", plugin.as_str()]),
        ("bluesky_manifest", vec![]),
    ] {
        let out = dir.join(connector);
        std::fs::create_dir_all(&out)?;
        let wrapper = out.join("callgrind.sh");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nexec valgrind --tool=callgrind --demangle=no --callgrind-out-file='{}/callgrind.%p' '{}' \"$@\"\n",
                out.display(),
                tally.display()
            ),
        )?;
        std::fs::set_permissions(
            &wrapper,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )?;
        let pulled = pull(&wrapper, connector, &extra, &feed).await?;
        anyhow::ensure!(
            pulled.measured.success,
            "the {connector} pull under callgrind failed; is valgrind installed?"
        );
        let mut cost: HashMap<String, u64> = HashMap::new();
        for entry in std::fs::read_dir(&out)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e != "sh") {
                let text = std::fs::read_to_string(&path)?;
                for (function, ir) in self_costs(&text, &tally.display().to_string()) {
                    *cost.entry(function).or_default() += ir;
                }
                for (function, ir) in self_costs(&text, &plugin_object.display().to_string()) {
                    *plugin_cost.entry(function).or_default() += ir;
                }
            }
        }
        pulls.push(cost);
    }
    sandbox.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
    write_ordering(&args.plugin_out, "the plugin", &placement(&[plugin_cost]))?;
    let functions = placement(&pulls);
    write_ordering(&args.out, "tally", &functions)
}

/// Writes the ordering file of `what` at `path` and says what it holds.
fn write_ordering(path: &Path, what: &str, functions: &[String]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, ordering_file(functions.iter().map(String::as_str)))?;
    println!(
        "{}: {} functions of {what} that ran in the pulls, those of every pull first",
        path.display(),
        functions.len()
    );
    Ok(())
}

/// The functions of several profiles in the order to place them: those every
/// profile ran first, then those only some ran, grouped by the first profile
/// that ran them; hottest first within a group. A pull then finds the code it
/// runs in one stretch, not interleaved with code only the other pull runs.
fn placement(profiles: &[HashMap<String, u64>]) -> Vec<String> {
    let mut seen: HashMap<&str, (u32, u64)> = HashMap::new();
    for (index, costs) in profiles.iter().enumerate() {
        for (function, &ir) in costs {
            let entry = seen.entry(function.as_str()).or_default();
            entry.0 |= 1 << index;
            entry.1 += ir;
        }
    }
    let everyone = (1u32 << profiles.len()) - 1;
    let mut functions: Vec<(&str, (u32, u64))> = seen.into_iter().collect();
    functions.sort_by_key(|&(function, (ran_in, ir))| {
        (
            ran_in != everyone,
            ran_in.trailing_zeros(),
            std::cmp::Reverse(ir),
            function,
        )
    });
    functions.into_iter().map(|(f, _)| f.to_string()).collect()
}

/// Instructions each function of `object` ran itself (callees excluded), from
/// one callgrind output file written with `--demangle=no`.
fn self_costs(text: &str, object: &str) -> HashMap<String, u64> {
    let mut objects: HashMap<&str, &str> = HashMap::new();
    let mut functions: HashMap<&str, &str> = HashMap::new();
    let mut current_object = "";
    let mut current: Option<&str> = None;
    let mut after_call = false;
    let mut costs: HashMap<String, u64> = HashMap::new();
    for line in text.lines() {
        if let Some((key, value)) = line.split_once('=') {
            match key {
                "ob" | "cob" => {
                    let name = compressed(&mut objects, value);
                    if key == "ob" {
                        current_object = name;
                    }
                }
                "fn" | "cfn" => {
                    let name = compressed(&mut functions, value);
                    if key == "fn" {
                        current = (current_object == object).then_some(name);
                    }
                }
                "calls" => after_call = true,
                _ => {}
            }
            continue;
        }
        if !line.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '*')) {
            continue;
        }
        // The cost line after `calls=` is the callee's inclusive cost.
        if std::mem::take(&mut after_call) {
            continue;
        }
        let ir = line
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse::<u64>().ok());
        if let (Some(function), Some(ir)) = (current, ir) {
            *costs.entry(function.to_string()).or_default() += ir;
        }
    }
    costs
}

/// Resolves callgrind's name compression: `(id) name` defines an id, `(id)` reuses it.
fn compressed<'a>(names: &mut HashMap<&'a str, &'a str>, value: &'a str) -> &'a str {
    let Some(rest) = value.strip_prefix('(') else {
        return value;
    };
    let Some((id, name)) = rest.split_once(')') else {
        return value;
    };
    match name.strip_prefix(' ') {
        Some(name) => {
            names.insert(id, name);
            name
        }
        None => names.get(id).copied().unwrap_or(""),
    }
}

/// A function's symbol as the linker knows it, if it has one of its own.
fn symbol_name(function: &str) -> Option<&str> {
    // callgrind marks a recursive activation as `name'2`.
    let symbol = function.split('\'').next().unwrap_or(function);
    // Unnamed code (`0x…`) and callgrind's own entries (`(below main)`)
    // are not symbols.
    let named = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'$');
    (!symbol.is_empty() && !symbol.starts_with("0x") && symbol.bytes().all(named)).then_some(symbol)
}

/// The symbol ordering file: a header, then each symbol once, in the order given.
fn ordering_file<'a>(functions: impl Iterator<Item = &'a str>) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut out = String::from(
        "# The functions a pull runs, those of every profiled pull first, which the linker places\n# before the rest of the code so that a pull keeps few pages of code resident.\n# Written by `tally-bench hot-text` (core/bench/src/hot_text.rs); regenerate,\n# do not edit.\n",
    );
    for symbol in functions.filter_map(symbol_name) {
        if seen.insert(symbol) {
            out.push_str(symbol);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_costs_count_only_the_objects_own_instructions() {
        let text = "\
events: Ir
ob=(1) /bin/tally
fl=(1) a.rs
fn=(1) _ZN5tally4main17h0123456789abcdefE
10 100
cob=(2) /lib/libc.so.6
cfn=(2) memcpy
calls=3 0
11 5000
12 7
ob=(2)
fn=(2)
0x10 300
ob=(1)
fn=(3) sqlite3VdbeExec
+2 40
fn=(1)
* 3
totals: 5450
";
        let costs = self_costs(text, "/bin/tally");
        assert_eq!(costs.len(), 2);
        assert_eq!(costs["_ZN5tally4main17h0123456789abcdefE"], 110);
        assert_eq!(costs["sqlite3VdbeExec"], 40);
    }

    #[test]
    fn code_both_pulls_run_comes_first_then_each_pulls_own() {
        let profile = |entries: &[(&str, u64)]| -> HashMap<String, u64> {
            entries.iter().map(|&(f, ir)| (f.to_string(), ir)).collect()
        };
        let plugin = profile(&[("shared_cold", 1), ("plugin_only", 500), ("shared_hot", 90)]);
        let manifest = profile(&[
            ("shared_cold", 2),
            ("manifest_only", 900),
            ("shared_hot", 10),
        ]);
        assert_eq!(
            placement(&[plugin, manifest]),
            ["shared_hot", "shared_cold", "plugin_only", "manifest_only"]
        );
    }

    #[test]
    fn the_ordering_file_lists_each_symbol_once_in_order() {
        assert_eq!(symbol_name("vdbeUnbind.part.0"), Some("vdbeUnbind.part.0"));
        assert_eq!(symbol_name("sqlite3VdbeExec'2"), Some("sqlite3VdbeExec"));
        assert_eq!(symbol_name("0x0000000000001100"), None);
        assert_eq!(symbol_name("(below main)"), None);
        let file = ordering_file(
            [
                "_ZN5tally4main17h0123456789abcdefE",
                "sqlite3VdbeExec",
                "sqlite3VdbeExec'2",
            ]
            .into_iter(),
        );
        let symbols: Vec<&str> = file.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            symbols,
            ["_ZN5tally4main17h0123456789abcdefE", "sqlite3VdbeExec"]
        );
    }
}
