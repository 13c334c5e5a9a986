//! One module per subcommand.

pub mod auth;
pub mod check;
pub mod connectors;
pub mod demo;
pub mod demo_offline;
pub mod goals;
pub mod import;
pub mod migrate;
pub mod new_connector;
pub mod plan;
pub mod plugins;
pub mod pull;
pub mod query;
pub mod report;
pub mod run;
pub mod runs;
pub mod sandbox;
pub mod utm;
pub mod workers;
