//! Renders a client's monthly report ([`tally_goals::report::Report`]) for
//! people: Markdown for email and chat, JSON for other tools, and one
//! self-contained HTML file with its charts drawn as inline SVG.
//!
//! The report model and every number in it come from `tally-goals`; this
//! crate only lays them out, so a figure reads the same in every format. It
//! is a crate of its own so the runtime does not carry a charting library.

mod charts;
mod escape;
pub mod goals_table;
mod html;
mod markdown;
mod numbers;

use tally_goals::report::Report;

pub use charts::{FUNNEL_RGB, MOM_DOWN_RGB, MOM_UP_RGB, PACE_RGB, PROGRESS_RGB};

/// The formats a report can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Markdown tables.
    Markdown,
    /// One HTML page with inline SVG charts and no outside resources.
    Html,
    /// The report model as pretty-printed JSON.
    Json,
}

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// Drawing a chart failed.
    #[error("drawing the {chart} chart failed: {detail}")]
    Chart {
        /// Which chart.
        chart: &'static str,
        /// What the charting library said.
        detail: String,
    },
    /// The report could not be serialized.
    #[error("serializing the report as JSON failed: {0}")]
    Json(#[from] serde_json::Error),
}

/// Renders `report` in `format`.
pub fn render(report: &Report, format: Format) -> Result<String, RenderError> {
    match format {
        Format::Markdown => Ok(markdown::render(report)),
        Format::Html => html::render(report),
        Format::Json => Ok(serde_json::to_string_pretty(report)? + "\n"),
    }
}
