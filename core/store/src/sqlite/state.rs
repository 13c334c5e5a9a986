//! Each source's incremental state (cursors, last-seen ids), saved by
//! [`SqliteStore::write_batch`] in the same transaction as the points it describes so
//! the next pull resumes exactly where the last committed one ended.

use super::{corrupt, sql_err, SqliteStore, StoreError};
use rusqlite::{params, OptionalExtension};

impl SqliteStore {
    /// The state the source saved with its last committed batch, if any.
    pub fn load_state(&self, source: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let text: Option<String> = self
            .conn
            .prepare_cached("SELECT state FROM source_state WHERE source = ?1")
            .and_then(|mut s| s.query_row(params![source], |row| row.get(0)).optional())
            .map_err(sql_err(&self.path, "loading a source's state"))?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| corrupt(&self.path, "source state", e.to_string()))
        })
        .transpose()
    }
}
