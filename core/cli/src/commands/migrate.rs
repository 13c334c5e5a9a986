//! `tally migrate --from tally.db --to postgres://…`: moving a store from the
//! SQLite file to PostgreSQL when an agency outgrows one machine.
//!
//! The copy is one transaction and leaves alone what the database already
//! holds, so an interrupted or repeated run is safe to start again.

use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;
use tally_store::PgStore;

/// Arguments of `tally migrate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The SQLite store to copy.
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
    /// The PostgreSQL database to copy into (`postgres://user@host:port/db`).
    #[arg(long, value_name = "URL")]
    to: String,
    /// A file holding the database password on its first line, so it stays
    /// out of the command line and the shell's history.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
}

/// Copies the store and prints what was added.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !args.from.is_file() {
        anyhow::bail!(
            "{} is not a file; --from names the SQLite store to copy ([storage] path of the config)",
            args.from.display()
        );
    }
    let password = match &args.password_file {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading the password file {}", file.display()))?;
            Some(text.lines().next().unwrap_or("").to_string())
        }
        None => None,
    };
    let mut db = PgStore::connect(&args.to, password.as_deref())?;
    let stats = db.copy_from_sqlite(&args.from)?;
    println!(
        "copied {} into {}: {} points, {} revisions, {} source states, {} runs, {} quota windows, {} stated quotas, {} imported sources (rows the database already held were left as they were)",
        args.from.display(),
        db.path(),
        stats.points,
        stats.revisions,
        stats.states,
        stats.runs,
        stats.quota_windows,
        stats.stated_quotas,
        stats.imported_sources
    );
    Ok(ExitCode::SUCCESS)
}
