//! Links a release build of the plugin with the functions a pull runs placed
//! first (`link/hot-text.order`, written by `tally-bench hot-text`), as
//! `tally` itself is: a pull then keeps a few hundred KiB of the plugin's
//! code resident instead of nearly all of it.

fn main() {
    let order = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("link/hot-text.order");
    tally_link_layout::release_layout(tally_link_layout::Artifact::Cdylib, &order);
}
