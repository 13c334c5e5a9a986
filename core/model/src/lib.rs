//! The light half of Tally: the metric schema, the [`Connector`] trait and the
//! [`HttpClient`] trait connectors call.
//!
//! Everything a connector (built in or loaded as a plugin) needs lives here and
//! nothing else does: no sockets, no async runtime, no database. The host (the
//! `tally-host` crate) implements [`HttpClient`] with its rate limiter, quota
//! budget, auth injection and retries, so a connector only builds URLs and maps
//! platform JSON to canonical [`Point`]s. Keeping this crate free of I/O
//! dependencies is what lets the same connector crate build into the `tally`
//! binary or into a shared library that crosses the plugin ABI.

pub mod connector;
pub mod error;
pub mod http;
pub mod paginate;
pub mod point;
pub mod quota;
pub mod schema;
pub mod valid_points;
pub mod version;

pub use connector::{
    AuthKind, AuthQuirk, Connector, Description, Emitter, PointBuffer, QuotaSpec, QuotaWindow,
    RateLimitSpec, ResetEncoding, SettingSpec, Settings, SourceContext, UsageHeaders,
};
pub use error::ConnectorError;
pub use http::{HttpClient, HttpClientExt, HttpError, HttpRequest, HttpResponse, Method};
pub use paginate::{Paginator, Step};
pub use point::{Entity, EntityKind, Point, PointTime};
pub use quota::StatedQuota;
pub use schema::{
    FunnelStage, MetricKind, MetricSpec, SchemaError, Unit, UnitClass, CANONICAL_METRICS,
};
/// Re-exported so connectors can build points without depending on `smol_str` themselves.
pub use smol_str::SmolStr;
/// `#[derive(Settings)]`: a settings struct's fields and docs become its [`SettingSpec`]s.
pub use tally_model_derive::Settings;
pub use valid_points::ValidPoints;
pub use version::{ApiVersion, ThrottleErrors};
