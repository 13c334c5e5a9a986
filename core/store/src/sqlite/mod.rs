//! The embedded SQLite backend: one file, WAL, every invariant of the store
//! enforced by transactions.
//!
//! Times are stored as unix milliseconds (UTC), so the natural key and every
//! returned time are millisecond-precise.

mod imports;
mod integrity;
mod latest;
mod migrate;
mod points;
mod quota;
mod runs;
mod series_key;
mod state;
mod stated;
mod summary;
mod totals;

pub use imports::ImportedSource;
pub use latest::LatestValue;
pub(crate) use points::canonical_dimensions;
pub use points::{PointQuery, StoredPoint, WriteStats};
pub use runs::{
    LastSuccess, RunOutcome, RunRecord, RunState, RunStatus, HEARTBEAT, HEARTBEAT_STALE,
};
pub use summary::SourceSummary;
pub use totals::TotalRow;

use crate::StoreError;
use chrono::{DateTime, Utc};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

/// How long a writer waits for another process (the daemon, a CLI pull) to
/// release the database before giving up with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// SQLite's page cache per connection: 512 KiB (`cache_size` counts KiB when negative).
const PAGE_CACHE_KIB: i64 = -512;

/// WAL pages after which a commit copies the log back into the database.
const WAL_AUTOCHECKPOINT: i64 = 4000;

/// A handle on one SQLite database file. Not `Sync`: share it behind a mutex.
pub struct SqliteStore {
    conn: Connection,
    /// The file as the user named it, for error messages.
    path: String,
    /// Runs started through this handle and not finished yet: these are
    /// running, any other unfinished run was interrupted.
    open_runs: HashSet<i64>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` for writing: checks
    /// it for damaged pages when a check is due (refusing a damaged file with
    /// [`StoreError::Damaged`]) and migrates it to the current schema, so every
    /// other method can assume the tables exist.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let label = path.display().to_string();
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: label.clone(),
            source,
        })?;
        SqliteStore::setup(conn, label)
    }

    /// Opens an existing database at `path` for reading only: no write of any
    /// kind (no journal mode change, no migration, no integrity bookkeeping),
    /// so `tally query`, goals and reports work on a file the user may not
    /// write, such as a backup or the daemon's store. Writes through this
    /// handle fail.
    pub fn open_read_only(path: &Path) -> Result<SqliteStore, StoreError> {
        let label = path.display().to_string();
        let open_err = |source| StoreError::Open {
            path: label.clone(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let version = |conn: &Connection| -> rusqlite::Result<i64> {
            conn.busy_timeout(BUSY_TIMEOUT)?;
            conn.pragma_query_value(None, "user_version", |row| row.get(0))
        };
        let mut conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        let found = match version(&conn) {
            Ok(found) => found,
            // Reading a WAL file takes a `-shm` index beside it; with no
            // writer about there is none, and a folder the user may not
            // write cannot get one. Unchanging, the file reads without it.
            Err(e) if cannot_index(&e) => {
                conn = Connection::open_with_flags(
                    immutable_uri(path),
                    flags | OpenFlags::SQLITE_OPEN_URI,
                )
                .map_err(open_err)?;
                version(&conn).map_err(open_err)?
            }
            Err(e) => return Err(open_err(e)),
        };
        let known = migrate::latest_version();
        if found > known {
            return Err(StoreError::TooNew {
                path: label,
                found,
                known,
            });
        }
        if found < known {
            return Err(StoreError::Outdated {
                path: label,
                found,
                known,
            });
        }
        Ok(SqliteStore {
            conn,
            path: label,
            open_runs: HashSet::new(),
        })
    }

    /// A private database that vanishes when dropped, for tests and dry runs.
    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        let label = ":memory:".to_string();
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
            path: label.clone(),
            source,
        })?;
        SqliteStore::setup(conn, label)
    }

    /// The file this store writes, as given to [`SqliteStore::open`], for messages.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The schema version this build writes; a file with a higher one is refused.
    pub fn schema_version() -> i64 {
        migrate::latest_version()
    }

    fn setup(mut conn: Connection, path: String) -> Result<SqliteStore, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        // WAL lets `tally runs` and reports read while the daemon writes;
        // NORMAL is durable across application crashes in WAL mode. Set
        // first, NORMAL also spares the switch of a new file to WAL (written
        // through a rollback journal) one of its four `fsync`s.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        let _mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(open_err)?;
        // A checkpoint copies the WAL into the database and syncs both; every
        // 4,000 pages (16 MiB) rather than SQLite's 1,000 makes a pull of
        // thousands of points pay for a few instead of dozens.
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT)
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        // A pull writes at the right edge of a few B-trees and reads and
        // queries visit most pages once, so SQLite's default 2 MiB of page
        // cache mostly held pages nobody read again: 512 KiB keeps a pull's
        // peak RSS 1.6 MiB lower for the same CPU (BENCHMARKS.md).
        conn.pragma_update(None, "cache_size", PAGE_CACHE_KIB)
            .map_err(open_err)?;
        // The planner stability guarantee keeps one plan per prepared
        // statement: SQLite may otherwise re-plan a lookup for new bindings
        // (it did for every point when a partial index compared `dimensions`),
        // and re-parsing costs more than the writes themselves.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
            .map_err(open_err)?;
        conn.set_prepared_statement_cache_capacity(64);
        let now = Utc::now();
        let checked = integrity::check_if_due(&conn, &path, now)?;
        migrate::migrate(&mut conn, &path)?;
        if let Some(took) = checked {
            integrity::record(&conn, &path, now, took)?;
        }
        Ok(SqliteStore {
            conn,
            path,
            open_runs: HashSet::new(),
        })
    }
}

/// Whether a read-only open failed for want of a writable `-shm` index.
fn cannot_index(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode;
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen)
    )
}

/// `file:///…?immutable=1`: SQLite reads the file without locks or `-shm`,
/// trusting that nothing changes it meanwhile.
fn immutable_uri(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match url::Url::from_file_path(&absolute) {
        Ok(url) => format!("{url}?immutable=1"),
        Err(()) => format!("file:{}?immutable=1", absolute.display()),
    }
}

/// Wraps a SQLite error with the file and the operation. A free function so
/// it can be used while a transaction borrows the connection.
fn sql_err<'a>(
    path: &'a str,
    operation: &'static str,
) -> impl Fn(rusqlite::Error) -> StoreError + 'a {
    move |source| StoreError::Sqlite {
        path: path.to_string(),
        operation,
        hint: hint_for(&source),
        source,
    }
}

/// What a user can do about the SQLite failures that have a clear remedy.
fn hint_for(e: &rusqlite::Error) -> &'static str {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            "; another Tally process held the database longer than the busy timeout, try again"
        }
        Some(ErrorCode::DiskFull) => "; the disk is full, free some space",
        Some(ErrorCode::ReadOnly | ErrorCode::PermissionDenied | ErrorCode::CannotOpen) => {
            "; check that the file and its directory are writable"
        }
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            "; the file is damaged or not a Tally database, restore it from a backup"
        }
        _ => "",
    }
}

/// A stored value that cannot be read back.
fn corrupt(path: &str, what: &'static str, detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        path: path.to_string(),
        what,
        detail: detail.into(),
    }
}

/// The stored form of a time: unix milliseconds, UTC.
fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Reads a stored time back.
fn from_ms(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// Counts are `u64` in the API and `INTEGER` (signed) in SQLite.
fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Reads a stored count back; negative values (hand edits) read as zero.
fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
