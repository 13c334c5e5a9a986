//! Points written by `tally import`: every source of one file in one
//! transaction, each new source's client recorded beside them.

use super::points::{count, Upsert};
use super::{ms, pg_err, wait, PgStore};
use crate::{ImportedSource, StoreError, WriteStats};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use tally_model::Point;

const REGISTER: &str = "INSERT INTO imported_sources (source, client, file, imported_at)
     VALUES ($1, $2, $3, $4)
     ON CONFLICT (source) DO UPDATE SET file = excluded.file, imported_at = excluded.imported_at";

impl PgStore {
    /// See [`crate::Store::write_import`].
    pub fn write_import(
        &mut self,
        file: &str,
        points: &[(String, Point)],
        clients: &[(String, String)],
        observed_at: DateTime<Utc>,
    ) -> Result<BTreeMap<String, WriteStats>, StoreError> {
        crate::error::check_points(&self.label, points.iter().map(|(s, p)| (s.as_str(), p)))?;
        let err = pg_err(&self.label, "writing an imported file");
        let upsert = Upsert::prepare(self).map_err(&err)?;
        let register = self.prepare(REGISTER).map_err(&err)?;
        let rows: Vec<(&str, &Point)> = points.iter().map(|(s, p)| (s.as_str(), p)).collect();
        let tx = wait(self.client.transaction()).map_err(&err)?;
        let mut stats: BTreeMap<String, WriteStats> = BTreeMap::new();
        for (i, outcome) in upsert.run(&tx, &rows, observed_at).map_err(&err)? {
            count(stats.entry(rows[i].0.to_string()).or_default(), outcome);
        }
        for (source, client) in clients {
            wait(tx.execute(&register, &[source, client, &file, &ms(observed_at)]))
                .map_err(&err)?;
        }
        wait(tx.commit()).map_err(&err)?;
        Ok(stats)
    }

    /// See [`crate::Store::imported_sources`].
    pub fn imported_sources(&self) -> Result<Vec<ImportedSource>, StoreError> {
        let err = self.err("reading imported sources");
        let stmt = self
            .prepare(
                "SELECT source, client, file, imported_at FROM imported_sources
                 ORDER BY source COLLATE \"C\"",
            )
            .map_err(&err)?;
        let rows = wait(self.client.query(&stmt, &[])).map_err(&err)?;
        rows.iter()
            .map(|row| {
                Ok(ImportedSource {
                    source: row.try_get(0).map_err(&err)?,
                    client: row.try_get(1).map_err(&err)?,
                    file: row.try_get(2).map_err(&err)?,
                    imported_at: row.try_get(3).map_err(&err)?,
                })
            })
            .collect()
    }
}
