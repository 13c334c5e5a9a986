//! How a release `tally` (and a plugin built like the example ones) is linked
//! on x86-64 Linux with glibc, where a pull's memory is measured
//! (BENCHMARKS.md, "Code placed by use"). Called from build scripts.
//!
//! - The functions a pull runs are placed first (`--symbol-ordering-file`,
//!   lists written by `tally-bench hot-text`): a code page becomes resident
//!   when any byte of it runs, and the kernel maps its cached neighbours with
//!   it, so scattered over the whole text a pull's few thousand functions kept
//!   most of the binary resident.
//! - Relative relocations are packed (`-z pack-relative-relocs`, read by glibc
//!   2.36 and later): starting reads kilobytes of them instead of 1.5 MiB.
//!
//! Only when the toolchain links with its own LLD (Rust 1.90 and later on
//! this target, no linker configured): the options are LLD's. Debug builds,
//! other targets and other linkers are linked as usual.

use std::path::Path;
use std::process::Command;

/// What the build script's package links.
#[derive(Debug, Clone, Copy)]
pub enum Artifact<'a> {
    /// The binary of this name.
    Bin(&'a str),
    /// The package's `cdylib` (a plugin).
    Cdylib,
}

/// Prints the cargo instructions that link `artifact` with the symbols of
/// `order` first and its relocations packed, when the build is a release
/// build linked by the toolchain's LLD. A missing `order` file only leaves
/// the code in link order.
pub fn release_layout(artifact: Artifact<'_>, order: &Path) {
    println!("cargo:rerun-if-changed={}", order.display());
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    if var("PROFILE") != "release" || !links_with_own_lld() {
        return;
    }
    let arg = |value: &str| match artifact {
        Artifact::Bin(name) => println!("cargo:rustc-link-arg-bin={name}={value}"),
        Artifact::Cdylib => println!("cargo:rustc-link-arg-cdylib={value}"),
    };
    if order.exists() {
        arg(&format!("-Wl,--symbol-ordering-file={}", order.display()));
        // Symbols the list names and this build lacks are expected: the list
        // outlives small changes and a stale one only costs memory.
        arg("-Wl,--no-warn-symbol-ordering");
    }
    if var("HOST") == var("TARGET") && host_glibc_packs_relocations() {
        arg("-Wl,-z,pack-relative-relocs");
    }
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

/// Whether rustc links this target with its own LLD: x86-64 Linux with glibc,
/// Rust 1.90 or later, and neither a linker nor linker options configured.
fn links_with_own_lld() -> bool {
    let flags = var("CARGO_ENCODED_RUSTFLAGS");
    var("CARGO_CFG_TARGET_ARCH") == "x86_64"
        && var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu"
        && std::env::var_os("RUSTC_LINKER").is_none()
        && !flags.contains("linker")
        && !flags.contains("fuse-ld")
        && rustc_minor().is_some_and(|minor| minor >= 90)
}

/// The minor version of the rustc cargo runs (`1.N.x`).
fn rustc_minor() -> Option<u32> {
    let output = Command::new(var("RUSTC")).arg("--version").output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let version = text.split_whitespace().nth(1)?;
    version.split('.').nth(1)?.parse().ok()
}

/// Whether this machine's glibc (which runs the binary built here) reads
/// packed relative relocations: 2.36 or later.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn host_glibc_packs_relocations() -> bool {
    // SAFETY: gnu_get_libc_version returns a static, NUL-terminated string.
    let version = unsafe { std::ffi::CStr::from_ptr(libc::gnu_get_libc_version()) };
    let mut parts = version.to_str().unwrap_or("").split('.');
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (major, minor) >= (2, 36)
}

/// Not glibc: nothing to pack for.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn host_glibc_packs_relocations() -> bool {
    false
}
