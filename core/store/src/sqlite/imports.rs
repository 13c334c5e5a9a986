//! Points that no API gives (door counts, survey answers, offline sales, cost
//! sheets), written by `tally import`.
//!
//! An import is treated like a pull: every point is upserted by its natural
//! key, so importing the same file twice writes nothing new and a corrected
//! value is kept as a revision. Unlike a pull, one file may hold several
//! sources, and all of them commit in one transaction, so a file is stored
//! whole or not at all. Imported sources have no `[[sources]]` entry, so the
//! client each belongs to is recorded here for goals and reports.

use super::points::{Breakdowns, Key, Upsert};
use super::{from_ms, sql_err, to_ms, SqliteStore, StoreError, WriteStats};
use chrono::{DateTime, Utc};
use rusqlite::{params, TransactionBehavior};
use std::collections::BTreeMap;
use tally_model::Point;

/// A source filled by `tally import`, with the client it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedSource {
    /// The source id written in the file.
    pub source: String,
    /// The `[[clients]]` id it belongs to.
    pub client: String,
    /// The file last imported into it, as named on the command line.
    pub file: String,
    /// When that import ran.
    pub imported_at: DateTime<Utc>,
}

const REGISTER: &str = "INSERT INTO imported_sources (source, client, file, imported_ms)
     VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (source) DO UPDATE SET file = excluded.file, imported_ms = excluded.imported_ms";

impl SqliteStore {
    /// Stores the points of one import file in one transaction and records
    /// each new source's client. `points` pairs each point with its source;
    /// `clients` names the client of every source that is not configured
    /// (source, client). Nothing is written if any point is invalid. Returns
    /// what was written per source.
    pub fn write_import(
        &mut self,
        file: &str,
        points: &[(String, Point)],
        clients: &[(String, String)],
        observed_at: DateTime<Utc>,
    ) -> Result<BTreeMap<String, WriteStats>, StoreError> {
        crate::error::check_points(&self.path, points.iter().map(|(s, p)| (s.as_str(), p)))?;
        let observed_ms = to_ms(observed_at);
        let err = sql_err(&self.path, "writing an imported file");
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        let mut stats: BTreeMap<String, WriteStats> = BTreeMap::new();
        {
            let mut upsert = Upsert::prepare(&tx, &self.path, &err, false)?;
            let breakdowns = Breakdowns::of(points.iter().map(|(_, p)| p));
            for (i, (source, p)) in points.iter().enumerate() {
                let entry = stats.entry(source.clone()).or_default();
                let key = Key::of(p, breakdowns.text(i));
                upsert.point(source, &key, p, observed_ms, entry)?;
            }
            upsert.flush(observed_ms)?;
            let mut register = tx.prepare_cached(REGISTER).map_err(&err)?;
            for (source, client) in clients {
                register
                    .execute(params![source, client, file, observed_ms])
                    .map_err(&err)?;
            }
        }
        tx.commit().map_err(&err)?;
        Ok(stats)
    }

    /// Every source `tally import` has filled, by source id.
    pub fn imported_sources(&self) -> Result<Vec<ImportedSource>, StoreError> {
        let err = sql_err(&self.path, "reading imported sources");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT source, client, file, imported_ms FROM imported_sources ORDER BY source",
            )
            .map_err(&err)?;
        let mut rows = stmt.query([]).map_err(&err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(&err)? {
            let ms: i64 = row.get(3).map_err(&err)?;
            out.push(ImportedSource {
                source: row.get(0).map_err(&err)?,
                client: row.get(1).map_err(&err)?,
                file: row.get(2).map_err(&err)?,
                imported_at: from_ms(ms).ok_or_else(|| {
                    super::corrupt(
                        &self.path,
                        "import time",
                        format!("{ms} ms is out of range"),
                    )
                })?,
            });
        }
        Ok(out)
    }
}
