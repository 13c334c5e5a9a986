//! Monthly client reports written by `tally run` into `[schedule] reports_dir`.
//!
//! Once a month is over in a client's time zone (and the boundary captures
//! just after midnight have had time to land), the daemon writes that month's
//! HTML report to `<reports_dir>/<client>/<YYYY-MM>.html`. It checks at start
//! and then every few minutes, writing only files that are missing, so a daemon
//! that was down over a month boundary catches up and a restart never rewrites
//! a report a client may already have received. The config is re-read at each
//! check so a reload (or a new client) is picked up.

use chrono::{DateTime, Datelike, Duration, Utc};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tally_config::Config;
use tally_goals::report::ReportError;
use tally_goals::Context;
use tally_report::RenderError;
use tally_store::{Store, StoreError};
use tokio::sync::watch;

use crate::workers::Coordination;

/// Why a month's report could not be written; the daemon logs it and tries
/// again at the next check.
#[derive(Debug, thiserror::Error)]
pub enum MonthlyReportError {
    /// The store could not be read.
    #[error("reading the store for monthly reports: {0}")]
    Store(#[from] StoreError),
    /// The report model could not be built.
    #[error("building the monthly report: {0}")]
    Report(#[from] ReportError),
    /// The report could not be rendered.
    #[error("rendering the monthly report: {0}")]
    Render(#[from] RenderError),
    /// The file could not be written; check the directory's permissions and free space.
    #[error("{action} {path}: {source}; check `[schedule] reports_dir` is writable")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// How long after a local month boundary the previous month's report waits, so
/// the boundary captures (spread over five minutes) are in the store.
const SETTLE: Duration = Duration::minutes(15);

/// How often missing reports are looked for.
const CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// Writes missing monthly reports until `stop` turns true. `reload` reads the
/// config afresh before each check (`None` keeps the last good one), so the
/// caller decides how a config is loaded and validated.
///
/// With `coordination` (several workers on a PostgreSQL store), a report is
/// written by the one worker that claims its (client, month): once, however
/// many workers run.
pub async fn run(
    reload: impl Fn() -> Option<Config>,
    fallback: Config,
    store: Arc<Mutex<Store>>,
    coordination: Option<Coordination>,
    mut stop: watch::Receiver<bool>,
) {
    let mut config = fallback;
    loop {
        if let Some(fresh) = reload() {
            config = fresh;
        }
        if let Some(dir) = config.schedule.reports_dir.clone() {
            let (config_now, store_now) = (config.clone(), Arc::clone(&store));
            let coordination = coordination.clone();
            let written = tokio::task::spawn_blocking(move || {
                write_missing(
                    &config_now,
                    &store_now,
                    coordination.as_ref(),
                    &dir,
                    Utc::now(),
                )
            })
            .await;
            match written {
                Ok(Ok(files)) => {
                    for file in files {
                        tracing::info!(report = %file.display(), "wrote a monthly report");
                    }
                }
                Ok(Err(e)) => tracing::error!("monthly reports: {e}"),
                Err(e) => tracing::error!("monthly reports task failed: {e}"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(CHECK_EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}

/// The month before the one `now` falls in, in the client's time zone, once
/// [`SETTLE`] has passed since the boundary.
pub fn finished_month(now: DateTime<Utc>, tz: chrono_tz::Tz) -> (i32, u32) {
    let local = (now - SETTLE).with_timezone(&tz);
    if local.month() == 1 {
        (local.year() - 1, 12)
    } else {
        (local.year(), local.month() - 1)
    }
}

/// Writes every client's last finished month that has no file yet; returns the files written.
fn write_missing(
    config: &Config,
    store: &Mutex<Store>,
    coordination: Option<&Coordination>,
    dir: &Path,
    now: DateTime<Utc>,
) -> Result<Vec<PathBuf>, MonthlyReportError> {
    let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
    let mut mine = Vec::new();
    for client in &config.clients {
        let (year, month) = finished_month(now, client.timezone);
        let file = dir
            .join(&client.id)
            .join(format!("{year:04}-{month:02}.html"));
        if file.exists() {
            continue;
        }
        let claimed = match coordination {
            None => true,
            Some(c) => c.claim_report(&mut store, &client.id, (year, month), now)?,
        };
        if claimed {
            mine.push((client, year, month, file));
        }
    }
    let ctx = Context::new(config, &store)?;
    let mut written = Vec::new();
    let mut done = Vec::new();
    for (client, year, month, file) in mine {
        let report = tally_goals::report::build(&ctx, &client.id, Some((year, month)), now)?;
        let html = tally_report::render(&report, tally_report::Format::Html)?;
        write_atomically(&file, &html)?;
        written.push(file);
        done.push((client.id.as_str(), (year, month)));
    }
    drop(ctx);
    if let Some(c) = coordination {
        for (client, month) in done {
            c.finish_report(&mut store, client, month, now)?;
        }
    }
    Ok(written)
}

/// Writes through a temporary file and a rename, so a reader never sees half a report.
fn write_atomically(path: &Path, text: &str) -> Result<(), MonthlyReportError> {
    let io = |action, path: &Path| {
        let path = path.to_path_buf();
        move |source| MonthlyReportError::Io {
            action,
            path,
            source,
        }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io("creating", dir))?;
    let tmp = path.with_extension("html.tmp");
    std::fs::write(&tmp, text).map_err(io("writing", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("renaming into place", path))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_finished_month_follows_the_client_time_zone_and_settles() {
        let chicago = chrono_tz::America::Chicago;
        // 2026-07-01 05:10 UTC is 00:10 in Chicago: June is over but not settled.
        let early = Utc.with_ymd_and_hms(2026, 7, 1, 5, 10, 0).unwrap();
        assert_eq!(finished_month(early, chicago), (2026, 5));
        let settled = Utc.with_ymd_and_hms(2026, 7, 1, 5, 20, 0).unwrap();
        assert_eq!(finished_month(settled, chicago), (2026, 6));
        // Already July in UTC, still June in Chicago.
        let utc_july = Utc.with_ymd_and_hms(2026, 7, 1, 2, 0, 0).unwrap();
        assert_eq!(finished_month(utc_july, chicago), (2026, 5));
        let january = Utc.with_ymd_and_hms(2027, 1, 10, 0, 0, 0).unwrap();
        assert_eq!(finished_month(january, chrono_tz::UTC), (2026, 12));
    }
}
