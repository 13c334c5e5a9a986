//! Store errors that say which database file failed and what to do about it.
//!
//! An agency running many sources reads these in logs and `tally runs`; a bare
//! "database is locked" does not tell them which file or what to try next.

use tally_model::SchemaError;

/// Why a store operation failed. Every message names the database file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file could not be opened or set up (missing directory, permissions, not a database).
    #[error("cannot open database {path}: {source}; check [storage] path in the config and that its directory exists and is writable")]
    Open {
        /// The database file.
        path: String,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The file was migrated by a newer build; downgrading would corrupt it.
    #[error("database {path} was written by a newer Tally (schema {found}, this build knows {known}); upgrade Tally or point [storage] path at another file")]
    TooNew {
        /// The database file.
        path: String,
        /// Schema version found in the file.
        found: i64,
        /// Newest schema version this build knows.
        known: i64,
    },
    /// A schema migration failed; the transaction was rolled back so the file is unchanged.
    #[error("database {path}: migrating to schema {version} failed: {source}; the file was left at the previous schema, check free disk space and permissions")]
    Migration {
        /// The database file.
        path: String,
        /// The version being applied.
        version: i64,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// A statement failed (disk full, locked for longer than the busy timeout, I/O error).
    #[error("database {path}: {operation} failed: {source}{hint}")]
    Sqlite {
        /// The database file.
        path: String,
        /// What the store was doing, in words.
        operation: &'static str,
        /// What to do about it, when the cause is recognisable (prefixed for display).
        hint: &'static str,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// A point of a batch does not fit the canonical schema; nothing of the batch was written.
    #[error("database {path}: point {index} of the batch from source `{source_id}` was refused ({error}); nothing of this batch was written, fix the connector's mapping")]
    InvalidPoint {
        /// The database file.
        path: String,
        /// The source that produced the batch.
        source_id: String,
        /// Position of the point in the batch.
        index: usize,
        /// What is wrong with it (boxed: it is large and rare).
        error: Box<SchemaError>,
    },
    /// `PRAGMA quick_check` found damaged pages; writing more would bury the damage deeper.
    #[error("database {path} is damaged ({detail}); nothing was written to it. Restore it from a backup, or save what is readable with `sqlite3 {path} .recover | sqlite3 recovered.db` and point [storage] path at recovered.db; `tally query`, `goals`, `report` and `runs` still read what they can of it")]
    Damaged {
        /// The database file.
        path: String,
        /// What the check found.
        detail: String,
    },
    /// A read-only open found a file an older build wrote, whose schema it cannot read.
    #[error("database {path} has schema {found}, older than this build's {known}, and was opened read-only; run a command that writes to it (`tally pull`) once to upgrade it")]
    Outdated {
        /// The database file.
        path: String,
        /// Schema version found in the file.
        found: i64,
        /// Newest schema version this build knows.
        known: i64,
    },
    /// A stored row cannot be read back (edited by hand, or written by a buggy build).
    #[error("database {path}: stored {what} cannot be read ({detail}); the file may have been edited by hand, restore it from a backup")]
    Corrupt {
        /// The database file.
        path: String,
        /// Which value.
        what: &'static str,
        /// Why it cannot be read.
        detail: String,
    },
    /// A value cannot be encoded for storage (a state that is not JSON-serializable, a count too large).
    #[error("database {path}: cannot store {what}: {detail}")]
    Encode {
        /// The database file.
        path: String,
        /// Which value.
        what: &'static str,
        /// Why.
        detail: String,
    },
    /// `finish_run` was given an id `start_run` never returned.
    #[error("database {path}: there is no pull run with id {id}; finish_run needs an id returned by start_run")]
    UnknownRun {
        /// The database file.
        path: String,
        /// The id.
        id: i64,
    },
    /// The PostgreSQL server named by `[storage] url` could not be reached or refused the login.
    #[error("cannot connect to PostgreSQL {url}: {detail}; check [storage] url (host, port, database, user), that the server is running, and the password (`${{VAR}}` in the url or `password_file`)")]
    PgConnect {
        /// The server and database, without the password.
        url: String,
        /// What the client or server said.
        detail: String,
    },
    /// A statement on PostgreSQL failed (connection lost, disk full, permission denied).
    #[error("database {url}: {operation} failed: {detail}{hint}")]
    Postgres {
        /// The server and database, without the password.
        url: String,
        /// What the store was doing, in words.
        operation: &'static str,
        /// What to do about it, when the cause is recognisable (prefixed for display).
        hint: &'static str,
        /// The server's message when it sent one, else the client's.
        detail: String,
        /// What the client or server said.
        #[source]
        source: tokio_postgres::Error,
    },
    /// A PostgreSQL schema migration failed; its transaction was rolled back.
    #[error("database {url}: migrating to schema {version} failed: {detail}; the database was left at the previous schema, check that the user may create tables")]
    PgMigration {
        /// The server and database, without the password.
        url: String,
        /// The version being applied.
        version: i64,
        /// The server's message when it sent one, else the client's.
        detail: String,
        /// What the server said.
        #[source]
        source: tokio_postgres::Error,
    },
}

/// Refuses a batch at its first point that does not fit the canonical
/// schema, naming the store, the point's source and its place in the batch,
/// so that nothing of the batch is written.
pub(crate) fn check_points<'a>(
    path: &str,
    points: impl IntoIterator<Item = (&'a str, &'a tally_model::Point)>,
) -> Result<(), StoreError> {
    for (index, (source, p)) in points.into_iter().enumerate() {
        p.validate().map_err(|error| StoreError::InvalidPoint {
            path: path.to_string(),
            source_id: source.to_string(),
            index,
            error: Box::new(error),
        })?;
    }
    Ok(())
}
