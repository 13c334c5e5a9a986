//! The built-in YouTube connector as a dynamic plugin.
//!
//! `tally-youtube` is compiled into the `tally` binary; this crate links the very
//! same code into a `cdylib` with one line. It exists to prove invariant 2 of
//! DESIGN.md (any connector crate can be built as a plugin) and to let tests and
//! benchmarks pull the same sandbox data through both paths and compare.
//! The plugin's connector is also named `youtube`, so load it into a catalog
//! without the built-in one (or pull it directly), or the names clash.

tally_plugin_sdk::export_connector!(tally_youtube::Youtube);
