//! One module per subcommand.

pub mod check;
pub mod connectors;
pub mod demo;
pub mod pull;
pub mod query;
pub mod sandbox;
