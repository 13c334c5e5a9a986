//! The C header and the Rust ABI types must describe the same memory: compile a C
//! program that prints `sizeof`/`offsetof` of every struct in
//! `include/tally_plugin.h` with the system C compiler and compare with
//! `std::mem::offset_of!` on the `#[repr(C)]` types in `abi.rs`.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::mem::{offset_of, size_of};
use std::path::Path;
use std::process::Command;
use tally_plugin_sdk::abi::{self, TallyBuffer, TallyHost, TallyPlugin};

/// Compiles and runs `tests/c/layout.c`, returning its `name value` lines.
fn c_layout() -> BTreeMap<String, String> {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exe = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tally_plugin_layout");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .arg("-std=c99")
        .arg("-Wall")
        .arg("-Werror")
        .arg("-I")
        .arg(sdk.join("include"))
        .arg(sdk.join("tests/c/layout.c"))
        .arg("-o")
        .arg(&exe)
        .status()
        .unwrap_or_else(|e| panic!("could not run the C compiler `{cc}`: {e}"));
    assert!(status.success(), "the header does not compile: {status}");
    let output = Command::new(&exe).output().unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn header_and_rust_types_have_the_same_layout_and_constants() {
    let c = c_layout();
    let mut rust: Vec<(&str, String)> = vec![
        ("sizeof(TallyBuffer)", size_of::<TallyBuffer>().to_string()),
        ("TallyBuffer.ptr", offset_of!(TallyBuffer, ptr).to_string()),
        ("TallyBuffer.len", offset_of!(TallyBuffer, len).to_string()),
        ("sizeof(TallyHost)", size_of::<TallyHost>().to_string()),
        ("sizeof(TallyPlugin)", size_of::<TallyPlugin>().to_string()),
    ];
    macro_rules! fields {
        ($t:ident: $($f:ident),*) => {
            $(rust.push((concat!(stringify!($t), ".", stringify!($f)), offset_of!($t, $f).to_string()));)*
        };
    }
    fields!(TallyHost: abi_version, struct_size, host_data, http_send, http_take, log, emit, read_state, save_state, free_buffer, report_quota);
    fields!(TallyPlugin: abi_version, struct_size, sdk_version, describe, start, resume, cancel, free_buffer);
    rust.extend([
        ("TALLY_PLUGIN_ABI_VERSION", abi::ABI_VERSION.to_string()),
        ("TALLY_STATUS_OK", abi::STATUS_OK.to_string()),
        ("TALLY_STATUS_ERROR", abi::STATUS_ERROR.to_string()),
        ("TALLY_STATUS_PENDING", abi::STATUS_PENDING.to_string()),
        ("TALLY_CALL_CHECK", abi::CALL_CHECK.to_string()),
        ("TALLY_CALL_PULL", abi::CALL_PULL.to_string()),
        ("TALLY_LOG_ERROR", abi::LOG_ERROR.to_string()),
        ("TALLY_LOG_TRACE", abi::LOG_TRACE.to_string()),
        ("TALLY_PLUGIN_ENTRY_SYMBOL", abi::ENTRY_SYMBOL.to_string()),
    ]);
    for (name, value) in &rust {
        assert_eq!(
            c.get(*name),
            Some(value),
            "`{name}` differs between include/tally_plugin.h and src/abi.rs"
        );
    }
    assert_eq!(
        c.len(),
        rust.len(),
        "layout.c prints fields abi.rs does not check"
    );
    // The version must be readable from any table: it is the first field.
    assert_eq!(c["TallyPlugin.abi_version"], "0");
}
