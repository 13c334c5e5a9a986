//! Tally's plugin SDK: a versioned C ABI for connectors, and
//! [`export_connector!`], which turns any connector crate written against
//! `tally-model` into a dynamic plugin.
//!
//! Why a C ABI and not Rust trait objects: Rust has no stable ABI, so a
//! `Box<dyn Connector>` built by one compiler version (or with other features,
//! another allocator, another tokio) cannot be used by a host built with another.
//! The boundary here is what C can express and nothing more:
//!
//! - one exported symbol, [`abi::ENTRY_SYMBOL`], returning a static
//!   [`abi::TallyPlugin`] table whose *first* field is the ABI version, so the host
//!   checks it before trusting the rest of the layout;
//! - `extern "C"` function pointers in `#[repr(C)]` tables (DataFusion's `ffi`
//!   crate does the same), with the host's callbacks ([`abi::TallyHost`]) passed in
//!   on each call behind an opaque `host_data` pointer;
//! - data as `(pointer, length)` byte buffers, each freed by the side that
//!   allocated it, so no allocator is shared: small structured values as UTF-8
//!   JSON ([`wire`]), HTTP bodies as raw bytes and points as a flat binary batch
//!   ([`points`]), because JSON-escaping every body and re-parsing every point
//!   would cost more than the connector's own work;
//! - calls that never block: a check or pull is the connector's future, kept in
//!   the plugin and polled by the host's `start` and `resume` calls; HTTP is
//!   queued with one callback and collected with another once the host, on its
//!   own runtime, has the response ([`guest`]). No async runtime crosses the
//!   boundary and no host thread waits on a plugin;
//! - panics caught on both sides of every call, turned into errors.
//!
//! The HTTP client a plugin's connector sees is a bridge to the host's client
//! (invariant 1 of DESIGN.md: the host owns all I/O): rate limits, quota, auth
//! injection and retries apply to plugins exactly as to built-in connectors.
//!
//! This crate is light (the model, serde, no I/O) because both the host and every
//! plugin link it: the host uses [`abi`], [`wire`] and [`points`], plugins use the macro and
//! [`guest`]. `README.md` documents the ABI for plugin authors in other
//! languages; `include/tally_plugin.h` is its C header.

pub mod abi;
pub mod guest;
pub mod points;
pub mod testing;
pub mod wire;

pub use abi::{ABI_VERSION, ENTRY_SYMBOL, SDK_VERSION};
pub use guest::{log, Level};
pub use tally_model;

/// Exports a connector from this crate as a Tally plugin.
///
/// Put it once in a crate built with `crate-type = ["cdylib", "rlib"]`; the
/// argument is an expression that makes the connector (`MyConnector`,
/// `MyConnector::default()`), evaluated once, on first use, inside the plugin.
/// The crate still builds as an ordinary library for static use.
///
/// ```ignore
/// pub struct Bluesky;
/// #[async_trait::async_trait]
/// impl tally_model::Connector for Bluesky { /* describe, check, pull */ }
///
/// tally_plugin_sdk::export_connector!(Bluesky);
/// ```
///
/// It defines the `#[no_mangle]` symbol `tally_plugin_entry`, so at most one
/// crate linked into any one binary may use it; a crate that is also linked
/// statically next to other plugin crates should put the call behind a feature.
#[macro_export]
macro_rules! export_connector {
    ($connector:expr $(,)?) => {
        /// The Tally plugin entry point: returns this plugin's static function table.
        #[unsafe(no_mangle)]
        pub extern "C" fn tally_plugin_entry() -> *const $crate::abi::TallyPlugin {
            fn __tally_connector() -> &'static dyn $crate::tally_model::Connector {
                static CONNECTOR: ::std::sync::OnceLock<
                    ::std::boxed::Box<dyn $crate::tally_model::Connector>,
                > = ::std::sync::OnceLock::new();
                CONNECTOR
                    .get_or_init(|| ::std::boxed::Box::new($connector))
                    .as_ref()
            }
            unsafe extern "C" fn __tally_describe(out: *mut $crate::abi::TallyBuffer) -> i32 {
                // SAFETY: the host calls this per the ABI; the guarantees are forwarded.
                unsafe { $crate::guest::describe(__tally_connector, out) }
            }
            unsafe extern "C" fn __tally_start(
                host: *const $crate::abi::TallyHost,
                function: u32,
                context: *const u8,
                context_len: usize,
                call: *mut *mut $crate::abi::TallyCall,
                out: *mut $crate::abi::TallyBuffer,
            ) -> i32 {
                // SAFETY: the host calls this per the ABI; the guarantees are forwarded.
                unsafe {
                    $crate::guest::start(
                        __tally_connector,
                        host,
                        function,
                        context,
                        context_len,
                        call,
                        out,
                    )
                }
            }
            static TABLE: $crate::abi::TallyPlugin =
                $crate::abi::TallyPlugin::new(__tally_describe, __tally_start);
            &TABLE
        }
    };
}
