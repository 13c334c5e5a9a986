//! The PostgreSQL backend: the same tables and invariants as the SQLite file,
//! on a server that several `tally run` workers and an agency's BI tools
//! share.
//!
//! The store API is synchronous and its callers hold it in a mutex on the
//! async threads, so the client cannot block on the caller's runtime. Each
//! handle runs the async `tokio-postgres` connection on a small thread of its
//! own with a one-thread runtime; callers wait on the client's futures with
//! `futures_executor::block_on`, which blocks the calling thread just as a
//! SQLite call does (ARCHITECTURE.md, "The PostgreSQL store", has the
//! measurements behind this). Statements are prepared once per handle and
//! batches are written with a few `UNNEST` statements, whatever their size.
//!
//! Times are `timestamptz` truncated to the millisecond, like the SQLite
//! file's unix milliseconds, so the natural key is the same on both.

mod copy;
mod imports;
mod migrate;
mod points;
mod quota;
mod reads;
mod runs;
mod state;
mod stated;
mod workers;

pub use copy::CopyStats;

use crate::StoreError;
use chrono::{DateTime, Utc};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::Duration;
use tokio_postgres::{Client, NoTls, Statement};

/// How long connecting may take before the store gives up with a message.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A handle on one PostgreSQL database: one connection, driven on its own
/// thread. Not `Sync`: share it behind a mutex.
pub struct PgStore {
    client: Client,
    /// The server and database without the password, for messages.
    label: String,
    /// Statements prepared on this connection, by SQL text.
    statements: RefCell<HashMap<String, Statement>>,
    /// Runs started through this handle and not finished yet.
    open_runs: HashSet<i64>,
    /// The `tally run` worker this handle pulls for, recorded with its runs.
    worker: Option<String>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &self.label)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the database `url` names (`postgres://user@host:port/db`
    /// or `host=… dbname=…`), with `password` when it is kept outside the
    /// url, and migrates it to the current schema.
    pub fn connect(url: &str, password: Option<&str>) -> Result<PgStore, StoreError> {
        let mut config: tokio_postgres::Config =
            url.parse()
                .map_err(|e: tokio_postgres::Error| StoreError::PgConnect {
                    url: "[storage] url".to_string(),
                    detail: format!("the url cannot be read ({e})"),
                })?;
        if let Some(password) = password {
            config.password(password);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("tally");
        }
        let label = describe(&config);
        let fail = |detail: String| StoreError::PgConnect {
            url: label.clone(),
            detail,
        };
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("tally-postgres".into())
            .spawn(move || drive(config, sender))
            .map_err(|e| fail(format!("cannot start the connection's thread ({e})")))?;
        let client = receiver
            .recv()
            .map_err(|_| fail("the connection's thread stopped".into()))?
            .map_err(fail)?;
        // The statements are prepared once per connection, and the server
        // may settle on a generic plan for them after a few runs. A plan
        // settled while the tables were nearly empty (a new database) scans
        // `series` and `samples` whole on every later batch, until the
        // autovacuum happens to analyse them; a plan made for each batch's
        // own arrays keeps to the indexes.
        wait(client.batch_execute("SET plan_cache_mode = force_custom_plan"))
            .map_err(|e| fail(format!("cannot set up the session ({e})")))?;
        let mut store = PgStore {
            client,
            label,
            statements: RefCell::new(HashMap::new()),
            open_runs: HashSet::new(),
            worker: None,
        };
        migrate::migrate(&mut store)?;
        Ok(store)
    }

    /// The server and database, without the password, for messages.
    pub fn path(&self) -> &str {
        &self.label
    }

    /// The schema version this build writes; a database with a higher one is refused.
    pub fn schema_version() -> i64 {
        migrate::latest_version()
    }

    /// The statement for `sql`, prepared on the first use.
    fn prepare(&self, sql: &str) -> Result<Statement, tokio_postgres::Error> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let s = wait(self.client.prepare(sql))?;
        self.statements
            .borrow_mut()
            .insert(sql.to_string(), s.clone());
        Ok(s)
    }

    /// Wraps a client error with the database and the operation.
    fn err(&self, operation: &'static str) -> impl Fn(tokio_postgres::Error) -> StoreError + '_ {
        pg_err(&self.label, operation)
    }
}

/// Connects on this thread's own runtime, hands the client over, then drives
/// the connection until the client is dropped.
fn drive(
    config: tokio_postgres::Config,
    sender: std::sync::mpsc::SyncSender<Result<Client, String>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = sender.send(Err(format!("cannot start the connection's runtime ({e})")));
            return;
        }
    };
    runtime.block_on(async move {
        match config.connect(NoTls).await {
            Ok((client, connection)) => {
                if sender.send(Ok(client)).is_ok() {
                    // Ends with an error only when the server goes away;
                    // the client's next call reports that.
                    let _ = connection.await;
                }
            }
            Err(e) => {
                let _ = sender.send(Err(e.to_string()));
            }
        }
    });
}

/// Waits for a client future on the calling thread; the connection is driven
/// on its own thread, so this works on an async thread too.
fn wait<F: Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

/// `postgres://user@host:port/db`: enough to tell databases apart in a
/// message, never the password.
fn describe(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("");
    let at = if user.is_empty() { "" } else { "@" };
    let db = config.get_dbname().unwrap_or(user);
    format!("postgres://{user}{at}{host}:{port}/{db}")
}

/// Wraps a client error with the database and the operation. A free function
/// so it can be used while a transaction borrows the client.
fn pg_err<'a>(
    label: &'a str,
    operation: &'static str,
) -> impl Fn(tokio_postgres::Error) -> StoreError + 'a {
    move |source| StoreError::Postgres {
        url: label.to_string(),
        operation,
        hint: hint_for(&source),
        detail: detail(&source),
        source,
    }
}

/// The server's own message (`tokio_postgres` displays only "db error").
fn detail(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(more) => format!("{} ({more})", db.message()),
            None => db.message().to_string(),
        },
        None => e.to_string(),
    }
}

/// What a user can do about the failures that have a clear remedy.
fn hint_for(e: &tokio_postgres::Error) -> &'static str {
    use tokio_postgres::error::SqlState;
    if e.is_closed() {
        return "; the connection to the server was lost, check that it is running and restart Tally";
    }
    match e.code() {
        Some(c) if *c == SqlState::DISK_FULL => "; the server's disk is full, free some space",
        Some(c) if *c == SqlState::INSUFFICIENT_PRIVILEGE => {
            "; the user lacks a privilege on Tally's tables, grant it or connect as their owner"
        }
        Some(c) if *c == SqlState::READ_ONLY_SQL_TRANSACTION => {
            "; the server is read-only (a standby), point [storage] url at the primary"
        }
        _ => "",
    }
}

/// A stored value that cannot be read back.
fn corrupt(label: &str, what: &'static str, detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        path: label.to_string(),
        what,
        detail: detail.into(),
    }
}

/// The stored form of a time: truncated to the millisecond, as the SQLite
/// file keeps it, so a key written by either backend is the same key.
fn ms(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// Counts are `u64` in the API and `bigint` (signed) in PostgreSQL.
fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Reads a stored count back; negative values (hand edits) read as zero.
fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
