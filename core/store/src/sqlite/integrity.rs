//! Checking a database file for damaged pages before anything writes to it.
//!
//! A file with damaged pages (a disk fault, a copy taken mid-write, a hand
//! edit) still accepts most writes: SQLite only notices when a statement
//! touches a bad page, so pulls would go on adding to a file that queries
//! call malformed. `PRAGMA quick_check` reads every page and finds that, at a
//! cost that grows with the file. So a writer checks at open on a schedule:
//! every time while the last check was quick, at most once a day once it was
//! slow. The time and cost of the last clean check are kept in the file.

use super::{sql_err, StoreError};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use std::time::{Duration, Instant};

/// A check that took less than this is repeated at every open.
const CHEAP: Duration = Duration::from_millis(250);

/// How long a slow check's clean result is trusted.
const TRUST_SLOW_CHECK: chrono::Duration = chrono::Duration::hours(24);

/// Problems `quick_check` reports beyond this many are left out of the message.
const SHOWN: usize = 3;

/// Runs `PRAGMA quick_check` when it is due and refuses a damaged file.
/// Returns how long a clean check took, for [`record`] once the schema is
/// current; `None` when no check was due.
pub(crate) fn check_if_due(
    conn: &Connection,
    path: &str,
    now: DateTime<Utc>,
) -> Result<Option<Duration>, StoreError> {
    if !is_due(conn, now) {
        return Ok(None);
    }
    let started = Instant::now();
    let problems = quick_check(conn).map_err(|e| damaged(path, e.to_string()))?;
    if problems.is_empty() {
        return Ok(Some(started.elapsed()));
    }
    let mut detail = problems
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if problems.len() > SHOWN {
        detail += &format!("; and {} more", problems.len() - SHOWN);
    }
    Err(damaged(path, detail))
}

/// Keeps the time and cost of a clean check, which decide when the next is due.
pub(crate) fn record(
    conn: &Connection,
    path: &str,
    now: DateTime<Utc>,
    took: Duration,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO store_checks (id, checked_ms, took_ms) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET checked_ms = excluded.checked_ms, took_ms = excluded.took_ms",
        (
            now.timestamp_millis(),
            i64::try_from(took.as_millis()).unwrap_or(i64::MAX),
        ),
    )
    .map_err(sql_err(path, "recording the integrity check"))?;
    Ok(())
}

/// Whether the last clean check is missing (none yet, or a file from before
/// the table existed), was cheap, or is too old to trust.
fn is_due(conn: &Connection, now: DateTime<Utc>) -> bool {
    let last: Option<(i64, i64)> = conn
        .query_row(
            "SELECT checked_ms, took_ms FROM store_checks WHERE id = 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .ok()
        .flatten();
    let Some((checked_ms, took_ms)) = last else {
        return true;
    };
    let cheap = u128::try_from(took_ms).unwrap_or(0) < CHEAP.as_millis();
    let checked = DateTime::from_timestamp_millis(checked_ms).unwrap_or_default();
    cheap || now - checked >= TRUST_SLOW_CHECK
}

/// The problems `PRAGMA quick_check` finds; empty when the file is sound.
fn quick_check(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut statement = conn.prepare("PRAGMA quick_check")?;
    let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
    let mut problems = Vec::new();
    for row in rows {
        let row = row?;
        if row != "ok" {
            problems.push(row);
        }
    }
    Ok(problems)
}

fn damaged(path: &str, detail: String) -> StoreError {
    StoreError::Damaged {
        path: path.to_string(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(took_ms: i64, ago: chrono::Duration, now: DateTime<Utc>) -> Connection {
        let conn = Connection::open_in_memory().expect("memory");
        conn.execute_batch(
            "CREATE TABLE store_checks (id INTEGER PRIMARY KEY, checked_ms INTEGER, took_ms INTEGER)",
        )
        .expect("table");
        conn.execute(
            "INSERT INTO store_checks VALUES (1, ?1, ?2)",
            ((now - ago).timestamp_millis(), took_ms),
        )
        .expect("row");
        conn
    }

    #[test]
    fn a_cheap_check_runs_at_every_open_and_a_slow_one_daily() {
        let now = Utc::now();
        let hour = chrono::Duration::hours(1);
        assert!(is_due(&checked(20, hour, now), now));
        assert!(!is_due(&checked(4000, hour, now), now));
        assert!(is_due(&checked(4000, hour * 25, now), now));
        // No record (a new file, or one from before the table): check.
        assert!(is_due(&Connection::open_in_memory().expect("memory"), now));
    }
}
