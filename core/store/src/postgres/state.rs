//! Each source's incremental state, saved by [`PgStore::write_batch`] in the
//! same transaction as the points it describes.

use super::{wait, PgStore};
use crate::StoreError;

/// Saves a source's state (run inside the batch's transaction).
pub(super) const SAVE: &str =
    "INSERT INTO source_state (source, state, updated_at) VALUES ($1, $2, $3)
     ON CONFLICT (source) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at";

impl PgStore {
    /// See [`crate::Store::load_state`].
    pub fn load_state(&self, source: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let err = self.err("loading a source's state");
        let stmt = self
            .prepare("SELECT state FROM source_state WHERE source = $1")
            .map_err(&err)?;
        let row = wait(self.client.query_opt(&stmt, &[&source])).map_err(&err)?;
        row.map(|r| r.try_get(0)).transpose().map_err(&err)
    }
}
