//! The backends every store test runs against: a SQLite file in a temporary
//! directory and a database of its own on the test PostgreSQL server.

use std::path::PathBuf;
use tally_store::{PgStore, SqliteStore, Store};

/// One empty database of either backend; [`Db::open`] gives a new handle on it.
pub enum Db {
    Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres(String),
}

impl Db {
    pub fn sqlite() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tally.db");
        Db::Sqlite { _dir: dir, path }
    }

    pub fn postgres() -> Db {
        Db::Postgres(tally_pgtest::cluster().database())
    }

    /// A new handle on this database, as another process would open it.
    pub fn open(&self) -> Store {
        match self {
            Db::Sqlite { path, .. } => Store::open(path).unwrap(),
            Db::Postgres(url) => Store::connect(url, None).unwrap(),
        }
    }

    /// What error messages call this database.
    pub fn label(&self) -> String {
        match self {
            Db::Sqlite { path, .. } => path.display().to_string(),
            Db::Postgres(url) => url.clone(),
        }
    }

    /// The schema version this build writes to this backend.
    pub fn schema_version(&self) -> i64 {
        match self {
            Db::Sqlite { .. } => SqliteStore::schema_version(),
            Db::Postgres(_) => PgStore::schema_version(),
        }
    }

    /// Marks the database as written by a build with schema `version`.
    pub fn set_schema_version(&self, version: i64) {
        match self {
            Db::Sqlite { path, .. } => rusqlite::Connection::open(path)
                .unwrap()
                .pragma_update(None, "user_version", version)
                .unwrap(),
            Db::Postgres(url) => {
                self.sql(url, &format!("UPDATE tally_schema SET version = {version}"));
            }
        }
    }

    /// Makes every write of a revision fail, as a full disk would.
    pub fn fail_revisions(&self) {
        match self {
            Db::Sqlite { path, .. } => rusqlite::Connection::open(path)
                .unwrap()
                .execute_batch(
                    "CREATE TRIGGER no_revisions BEFORE INSERT ON point_revisions
                     BEGIN SELECT RAISE(ABORT, 'simulated disk failure'); END;",
                )
                .unwrap(),
            Db::Postgres(url) => {
                self.sql(
                    url,
                    "CREATE FUNCTION no_revisions() RETURNS trigger LANGUAGE plpgsql AS
                     $$ BEGIN RAISE EXCEPTION 'simulated disk failure'; END $$;
                     CREATE TRIGGER no_revisions BEFORE INSERT ON sample_revisions
                     FOR EACH ROW EXECUTE FUNCTION no_revisions();",
                );
            }
        }
    }

    fn sql(&self, url: &str, sql: &str) {
        tally_pgtest::cluster().sql(tally_pgtest::db_name(url), sql);
    }
}

/// Runs each named test, a `fn(&Db)`, once per backend.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    super::$name(&super::Db::sqlite());
                }

                #[test]
                fn postgres() {
                    super::$name(&super::Db::postgres());
                }
            }
        )*
    };
}
pub(crate) use on_both_backends;
