//! The host's HTTP client: the one funnel every connector request goes through.
//!
//! A [`HostHttp`] is shared by all sources of a run. It owns the reqwest client and
//! one pacing state per (platform, API host, credential), so sources that share an
//! app key or token share its budget. Each source gets a [`SourceHttp`] view that
//! implements the connector-facing [`tally_model::HttpClient`]: it injects the
//! source's credential, paces before sending (by the declared rate until the
//! platform states its own limit in usage headers, then by that: see `pacing`),
//! charges quota units, retries what is worth retrying, and counts what happened
//! for the run record.

mod client;
mod json_end;
mod pacing;
mod quota;
mod redact;
mod retry;
mod token;
mod usage;

pub use client::{
    pacer_key, Credential, HostHttp, HttpProgress, HttpSettings, MemoryLedger, RequestCounts,
    SourceHttp, SourceHttpSpec,
};
pub use quota::{quota_window, LedgerError, QuotaLedger};
pub use redact::{redact_headers, redact_url};
pub use token::TokenSource;
