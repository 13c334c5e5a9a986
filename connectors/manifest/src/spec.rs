//! The manifest as written: serde types that mirror `REFERENCE.md` key for key.
//!
//! Every table denies unknown keys, so a misspelt or invented primitive is a
//! load error at its line and column rather than something silently ignored.
//! Values that hold templates keep their span (`Spanned`) so that compile
//! errors point into the file.

use serde::Deserialize;
use std::collections::BTreeMap;
use tally_model::{AuthKind, QuotaSpec, UsageHeaders};
use toml::Spanned;

/// A value that may hold a template, with its place in the file.
pub type Tpl = Spanned<toml::Value>;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawManifest {
    /// `connector = "..."`.
    pub name: Spanned<String>,
    /// Written on points; defaults to the name.
    pub platform: Option<String>,
    /// One line for `tally connectors`.
    pub summary: String,
    /// The documented API root.
    pub base_url: Spanned<String>,
    /// The documented rate.
    pub rate_limit: RawRate,
    /// Usage headers.
    pub usage_headers: Option<UsageHeaders>,
    /// A cost-unit budget.
    pub quota: Option<QuotaSpec>,
    /// Accepted auth kinds.
    pub auth: Spanned<Vec<AuthKind>>,
    /// Declared settings.
    #[serde(default)]
    pub settings: BTreeMap<String, Spanned<RawSetting>>,
    /// What `tally check` calls.
    pub check: Option<RawCheck>,
    /// The listings.
    pub streams: Spanned<Vec<RawStream>>,
    /// Rules for every stream.
    #[serde(default)]
    pub errors: Vec<RawErrorRule>,
}

/// `[rate_limit]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRate {
    /// Requests per window.
    pub requests: u32,
    /// Window in seconds.
    pub per_seconds: u32,
    /// Sent back to back before pacing.
    pub burst: u32,
}

/// `[settings.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSetting {
    /// string | integer | number | boolean | list.
    #[serde(rename = "type")]
    pub ty: Spanned<String>,
    /// Whether `tally check` fails without it.
    #[serde(default)]
    pub required: bool,
    /// What it is.
    pub description: String,
    /// The value when left out.
    pub default: Option<toml::Value>,
}

/// `[check]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    /// The stream whose first request is sent.
    pub stream: Spanned<String>,
    /// What `tally check` prints, with `record` the first record.
    pub message: Option<Tpl>,
}

/// `[[streams]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStream {
    /// Names it in messages, state and `fan_out.stream`.
    pub name: Spanned<String>,
    /// Primitive 1.
    pub request: RawRequest,
    /// Primitive 3.
    pub paginate: Option<RawPaginate>,
    /// Primitive 4.
    pub records: Option<RawRecords>,
    /// Primitive 5.
    pub fan_out: Option<RawFanOut>,
    /// Primitive 6.
    pub window: Option<RawWindow>,
    /// Primitive 10.
    pub incremental: Option<RawIncremental>,
    /// Primitive 8.
    pub switch: Option<RawSwitch>,
    /// The entity points use unless they name their own.
    pub entity: Option<RawEntity>,
    /// Primitive 7.
    #[serde(default)]
    pub points: Vec<RawPoint>,
    /// Primitive 9, for this stream.
    #[serde(default)]
    pub errors: Vec<RawErrorRule>,
}

/// `[streams.request]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequest {
    /// GET or POST.
    #[serde(default = "get")]
    pub method: Spanned<String>,
    /// Path template under the base URL.
    pub path: Tpl,
    /// Query parameters.
    #[serde(default)]
    pub query: BTreeMap<String, Tpl>,
    /// comma | repeat.
    pub arrays: Option<Spanned<String>>,
    /// Extra headers.
    #[serde(default)]
    pub headers: BTreeMap<String, Tpl>,
    /// JSON body (POST).
    pub body: Option<Tpl>,
    /// Quota units.
    pub cost: Option<u32>,
}

fn get() -> Spanned<String> {
    Spanned::new(0..0, "GET".to_string())
}

/// `[streams.paginate]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPaginate {
    /// none | cursor | next_url | offset | page.
    pub kind: Spanned<String>,
    /// body | header | link_header.
    pub from: Option<Spanned<String>>,
    /// Body path or header name of the token or URL.
    pub token: Option<Spanned<String>>,
    /// Query parameter that carries the cursor, offset or page.
    pub param: Option<String>,
    /// JSON body field that carries the cursor.
    pub body_field: Option<String>,
    /// Query parameter of the page size.
    pub size_param: Option<String>,
    /// Page size.
    pub size: Option<u64>,
    /// First page number.
    pub start: Option<u64>,
    /// Body path of the total record count.
    pub total: Option<Spanned<String>>,
}

/// `[streams.records]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRecords {
    /// Body path of the records.
    #[serde(default)]
    pub path: Option<Spanned<String>>,
    /// Array field whose elements become the records.
    pub explode: Option<Spanned<String>>,
    /// Header/row answers.
    pub columnar: Option<RawColumnar>,
    /// Guards.
    #[serde(default, rename = "where")]
    pub guards: Vec<RawGuard>,
    /// Key that makes a record distinct.
    pub distinct: Option<Tpl>,
    /// Records wanted at most.
    pub limit: Option<Tpl>,
}

/// `records.columnar`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawColumnar {
    /// Body path of the headers.
    pub columns: Spanned<String>,
    /// Body path of the rows.
    pub rows: Spanned<String>,
}

/// One guard of a `where` list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGuard {
    /// What is tested.
    pub value: Tpl,
    /// Equal to.
    pub equals: Option<Tpl>,
    /// Not equal to.
    pub not_equals: Option<Tpl>,
    /// One of.
    #[serde(rename = "in")]
    pub one_of: Option<Spanned<Vec<toml::Value>>>,
    /// Present (non-null) or not.
    pub present: Option<bool>,
    /// Holds this text, case-insensitively.
    pub contains: Option<Tpl>,
}

/// `[streams.fan_out]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFanOut {
    /// An earlier stream.
    pub stream: Option<Spanned<String>>,
    /// A list setting.
    pub setting: Option<Spanned<String>>,
    /// What each item is.
    pub value: Option<Tpl>,
    /// Items per batch.
    pub batch: Option<usize>,
    /// Guards over `item`.
    #[serde(default, rename = "where")]
    pub guards: Vec<RawGuard>,
}

/// `[streams.window]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWindow {
    /// Length of one request's window.
    pub step: Spanned<String>,
    /// Longest span in one pull.
    pub max_span: Option<Spanned<String>>,
    /// Re-read before the saved cursor.
    pub lookback: Option<Spanned<String>>,
    /// First pull's reach.
    pub backfill: Option<Spanned<String>>,
    /// date | datetime | naive | rfc3339 | unix | unix_ms.
    pub format: Option<Spanned<String>>,
    /// The zone of day windows, and of the formats without an offset.
    pub zone: Option<Spanned<String>>,
    /// The zone of the formats without an offset, when not `zone`.
    pub format_zone: Option<Spanned<String>>,
    /// `day`: windows of whole days.
    pub align: Option<Spanned<String>>,
}

/// `[streams.incremental]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIncremental {
    /// `window_end`.
    pub cursor: Option<Spanned<String>>,
    /// A record field.
    pub field: Option<Tpl>,
}

/// `[streams.switch]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSwitch {
    /// The key.
    pub on: Tpl,
    /// Entries by key.
    pub cases: Spanned<BTreeMap<String, toml::Table>>,
    /// Entry when no key matches.
    pub default: Option<toml::Table>,
}

/// An entity table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEntity {
    /// account, post, ….
    pub kind: Spanned<String>,
    /// The platform's id.
    pub id: Tpl,
    /// Display name.
    pub name: Option<Tpl>,
}

/// `[[streams.points]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPoint {
    /// Canonical metric.
    pub metric: Option<Spanned<String>>,
    /// Object whose mapped keys are points.
    pub fields: Option<Tpl>,
    /// The platform's metric name.
    pub metric_from: Option<Tpl>,
    /// Platform name → canonical metric.
    pub map: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    /// The value.
    pub value: Option<Tpl>,
    /// The platform's name for it.
    pub raw_name: Option<String>,
    /// Values that mean no measurement.
    #[serde(default)]
    pub nulls: Vec<String>,
    /// gauge | sum.
    pub kind: Option<Spanned<String>>,
    /// Unit, when not the metric's.
    pub unit: Option<Spanned<String>>,
    /// `now`, `window` or a table.
    pub time: Option<Spanned<toml::Value>>,
    /// The thing measured.
    pub entity: Option<RawEntity>,
    /// Breakdown.
    #[serde(default)]
    pub dimensions: BTreeMap<String, Tpl>,
    /// Guards.
    #[serde(default, rename = "where")]
    pub guards: Vec<RawGuard>,
    /// count | sum: one point per group instead of one per record.
    pub aggregate: Option<Spanned<String>>,
    /// What tells the groups apart: `entity`, `time` and dimension names.
    pub group_by: Option<Spanned<Vec<Spanned<String>>>>,
}

/// `[[errors]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawErrorRule {
    /// Statuses it applies to.
    pub status: Option<Vec<u16>>,
    /// Guards over the response.
    #[serde(default, rename = "where")]
    pub guards: Vec<RawGuard>,
    /// What it means.
    pub action: Spanned<String>,
    /// What the user is told.
    pub message: Option<Tpl>,
    /// For `throttled`.
    pub wait_seconds: Option<Tpl>,
}
