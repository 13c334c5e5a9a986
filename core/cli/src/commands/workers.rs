//! `tally workers`: the `tally run` workers sharing a PostgreSQL store, the
//! credentials each holds and what each is pulling now, so an agency sees
//! where every client's sources are being pulled.

use crate::output::{Cell, Format, Rows};
use std::path::Path;
use std::process::ExitCode;
use tally_store::WorkerInfo;

/// Arguments of `tally workers`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seconds since its last heartbeat within which a worker counts as live
    /// (the `--lease-seconds` of `tally run`).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    lease_seconds: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Prints the live workers.
pub fn run(config: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let (cfg, _) = crate::setup::load_config(config)?;
    if cfg.storage.url.is_none() {
        anyhow::bail!(
            "{} stores into the SQLite file {}, which one `tally run` uses alone; workers share a PostgreSQL store: set [storage] url (README, \"Running on several machines\")",
            config.display(),
            cfg.storage.path.display()
        );
    }
    let store = crate::setup::read_store(&cfg)?;
    let store = store.lock().unwrap_or_else(|e| e.into_inner());
    let ttl = chrono::Duration::seconds(i64::try_from(args.lease_seconds).unwrap_or(i64::MAX));
    let workers = store.live_workers(chrono::Utc::now(), ttl)?;
    print!("{}", table(&workers).render(args.format));
    Ok(ExitCode::SUCCESS)
}

fn table(workers: &[WorkerInfo]) -> Rows {
    let mut rows = Rows::new([
        ("worker", "worker"),
        ("host", "host"),
        ("pid", "pid"),
        ("started (UTC)", "started_at"),
        ("last seen (UTC)", "seen_at"),
        ("credentials held", "leases"),
        ("pulling now", "pulling"),
    ]);
    for w in workers {
        rows.push(vec![
            Cell::text(w.id.clone()),
            Cell::text(w.host.clone()),
            Cell::new(w.pid.to_string(), w.pid.into()),
            Cell::time(w.started_at),
            Cell::time(w.seen_at),
            Cell::text(w.leases.join(" ")),
            Cell::text(w.pulling.join(" ")),
        ]);
    }
    rows
}
