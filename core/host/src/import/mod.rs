//! `tally import`: points that no API gives (attendance counted at the door,
//! survey answers, offline sales, a cost sheet) from CSV or JSON Lines.
//!
//! Imported rows are held to the same standard as a connector's output: each
//! becomes a [`Point`] that must pass the same validation, and a file with any
//! bad row is refused whole, with every bad row's line number, before
//! anything is stored. Writing is an upsert by natural key in one
//! transaction, so importing a file twice stores nothing new and a corrected
//! figure is kept as a revision, exactly like a re-pull.
//!
//! A row's `source` is either a configured `[[sources]]` id (backfilling a
//! connector's history) or a source of its own (`door-count`) whose client is
//! given once with `--client` and remembered by the store. Dates without a
//! time are midnight in that client's time zone; a sum dated with `at` covers
//! that local day.

mod csv;
mod jsonl;
mod row;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;
use tally_config::Config;
use tally_model::{Point, PointTime};
use tally_store::{
    ImportedSource, RunCounts, RunOutcome, RunStatus, Store, StoreError, WriteStats,
};

/// The file formats `tally import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    JsonLines,
}

impl Format {
    /// The format a file name implies: `.csv`, or `.jsonl` / `.ndjson` / `.json`.
    pub fn of_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" | "json" => Some(Format::JsonLines),
            _ => None,
        }
    }
}

/// One valid row: its line, source and point.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Line number in the file (1 is the first line, the CSV header).
    pub line: u64,
    /// The source id.
    pub source: String,
    /// The point.
    pub point: Point,
}

/// The rows of one file as its parser reads them, and every row it refused:
/// a file imports whole or not at all, and its report lists all its problems.
struct Collected<'f> {
    file: &'f str,
    rows: Vec<Row>,
    errors: Vec<ImportError>,
}

impl<'f> Collected<'f> {
    fn new(file: &'f str) -> Collected<'f> {
        Collected {
            file,
            rows: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Keeps the point read from `line`, or the reason it is not one.
    fn push(&mut self, line: u64, read: Result<(String, Point), String>) {
        match read {
            Ok((source, point)) => self.rows.push(Row {
                line,
                source,
                point,
            }),
            Err(message) => self.refuse(line, message),
        }
    }

    /// Records that `line` is not a point, and why.
    fn refuse(&mut self, line: u64, message: String) {
        self.errors.push(ImportError::Row {
            file: self.file.to_string(),
            line,
            message,
        });
    }

    /// The rows if every line was a point, else every problem.
    fn finish(self) -> Result<Vec<Row>, Vec<ImportError>> {
        if self.errors.is_empty() {
            Ok(self.rows)
        } else {
            Err(self.errors)
        }
    }
}

/// One problem with an import file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// A row that is not a valid point.
    #[error("{file}:{line}: {message}")]
    Row {
        /// The file as named.
        file: String,
        /// Its line number.
        line: u64,
        /// What is wrong and what to write instead.
        message: String,
    },
    /// A problem with the file as a whole.
    #[error("{file}: {message}")]
    File {
        /// The file as named.
        file: String,
        /// What is wrong.
        message: String,
    },
}

/// Every problem found in one file; nothing of it was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportErrors(pub Vec<ImportError>);

impl fmt::Display for ImportErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.0 {
            writeln!(f, "{e}")?;
        }
        write!(
            f,
            "{} problem(s); nothing of the file was stored, fix them and import it again",
            self.0.len()
        )
    }
}

impl std::error::Error for ImportErrors {}

/// Why an import did not complete.
#[derive(Debug, thiserror::Error)]
pub enum ImportFailure {
    /// The file has bad rows; nothing was stored.
    #[error("{0}")]
    Invalid(ImportErrors),
    /// The store failed; its transaction was rolled back.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Parses a file's text into valid rows, or every problem in it.
pub fn parse(
    file: &str,
    text: &str,
    format: Format,
    tz_of: &dyn Fn(&str) -> Tz,
) -> Result<Vec<Row>, ImportErrors> {
    let rows = match format {
        Format::Csv => csv::parse(file, text, tz_of),
        Format::JsonLines => jsonl::parse(file, text),
    }
    .map_err(ImportErrors)?;
    if rows.is_empty() {
        return Err(ImportErrors(vec![ImportError::File {
            file: file.to_string(),
            message: "holds no points".into(),
        }]));
    }
    Ok(rows)
}

/// What an import will write: the points, and the new sources with their clients.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Each point with its source.
    pub points: Vec<(String, Point)>,
    /// Sources not configured nor imported before, with the client they join.
    pub new_sources: Vec<(String, String)>,
    /// Points per source.
    pub per_source: BTreeMap<String, u64>,
}

/// The client a source belongs to: configured, or recorded by an earlier import.
fn known_client(
    source: &str,
    config: &Config,
    imported: &[ImportedSource],
) -> Option<Option<String>> {
    if let Some(s) = config.source(source) {
        return Some(s.client.clone());
    }
    imported
        .iter()
        .find(|i| i.source == source)
        .map(|i| Some(i.client.clone()))
}

fn time_key(t: &PointTime) -> (i64, i64) {
    match t {
        PointTime::At(a) => (a.timestamp_millis(), a.timestamp_millis()),
        PointTime::Period { start, end } => (start.timestamp_millis(), end.timestamp_millis()),
    }
}

/// Resolves each row's client and refuses duplicates and conflicts.
pub fn plan(
    file: &str,
    rows: Vec<Row>,
    config: &Config,
    imported: &[ImportedSource],
    client: Option<&str>,
) -> Result<Plan, ImportErrors> {
    let mut errors = Vec::new();
    let row_err = |line: u64, message: String| ImportError::Row {
        file: file.to_string(),
        line,
        message,
    };
    if let Some(c) = client {
        if config.client(c).is_none() {
            let known: Vec<&str> = config.clients.iter().map(|k| k.id.as_str()).collect();
            return Err(ImportErrors(vec![ImportError::File {
                file: file.to_string(),
                message: format!(
                    "--client `{c}` is not a configured client (configured: {})",
                    known.join(", ")
                ),
            }]));
        }
    }
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut plan = Plan {
        points: Vec::with_capacity(rows.len()),
        new_sources: Vec::new(),
        per_source: BTreeMap::new(),
    };
    for row in rows {
        match (known_client(&row.source, config, imported), client) {
            (Some(Some(owner)), Some(c)) if owner != c => errors.push(row_err(
                row.line,
                format!("source `{}` belongs to client `{owner}`, not `{c}`; drop --client or fix the source", row.source),
            )),
            (Some(_), _) => {}
            (None, Some(c)) => {
                if !plan.new_sources.iter().any(|(s, _)| *s == row.source) {
                    plan.new_sources.push((row.source.clone(), c.to_string()));
                }
            }
            (None, None) => errors.push(row_err(
                row.line,
                format!("source `{}` is not a configured source nor imported before; pass --client ID to say whose data it is", row.source),
            )),
        }
        let p = &row.point;
        let key = format!(
            "{}\u{1}{}\u{1}{}\u{1}{}\u{1}{:?}\u{1}{:?}",
            row.source,
            p.entity.kind.as_str(),
            p.entity.id,
            p.metric,
            p.dimensions,
            time_key(&p.time)
        );
        if let Some(first) = seen.insert(key, row.line) {
            errors.push(row_err(
                row.line,
                format!("repeats the point of line {first} (same source, entity, metric, dimensions and time); keep one"),
            ));
        }
        *plan.per_source.entry(row.source.clone()).or_insert(0) += 1;
        plan.points.push((row.source, row.point));
    }
    if errors.is_empty() {
        Ok(plan)
    } else {
        errors.sort_by_key(|e| match e {
            ImportError::Row { line, .. } => *line,
            ImportError::File { .. } => 0,
        });
        Err(ImportErrors(errors))
    }
}

/// What an import stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// New, restated and unchanged points.
    pub stats: WriteStats,
    /// Points per source.
    pub per_source: BTreeMap<String, u64>,
    /// Sources recorded for a client for the first time.
    pub new_sources: Vec<(String, String)>,
}

/// Parses, checks and stores `text` (the content of `file`), recording one run
/// per source so `tally runs` and report provenance show the import.
pub fn import(
    store: &mut Store,
    config: &Config,
    file: &str,
    text: &str,
    format: Format,
    client: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Outcome, ImportFailure> {
    let imported = store.imported_sources()?;
    let tz_of = |source: &str| -> Tz {
        let owner = known_client(source, config, &imported)
            .flatten()
            .or_else(|| client.map(str::to_string));
        owner
            .and_then(|c| config.client(&c).map(|k| k.timezone))
            .unwrap_or(Tz::UTC)
    };
    let rows = parse(file, text, format, &tz_of).map_err(ImportFailure::Invalid)?;
    let plan = plan(file, rows, config, &imported, client).map_err(ImportFailure::Invalid)?;
    let written = store.write_import(file, &plan.points, &plan.new_sources, now)?;
    let mut stats = WriteStats::default();
    for (source, count) in &plan.per_source {
        let s = written.get(source).copied().unwrap_or_default();
        stats.inserted += s.inserted;
        stats.revised += s.revised;
        stats.unchanged += s.unchanged;
        let id = store.start_run(source, now)?;
        store.finish_run(
            id,
            &RunOutcome {
                finished_at: Utc::now(),
                status: RunStatus::Ok,
                error: None,
                counts: RunCounts {
                    points: *count,
                    inserted: s.inserted,
                    revised: s.revised,
                    ..RunCounts::default()
                },
            },
        )?;
    }
    Ok(Outcome {
        stats,
        per_source: plan.per_source,
        new_sources: plan.new_sources,
    })
}
