//! What the three Meta connectors share, written once: the Graph API version
//! and its sunsets, the error body, cursor paging, the insights envelope, and
//! the throttle codes and usage headers the host reads.
//!
//! Facebook Pages, Instagram and the Marketing API all answer in the Graph
//! API's shapes, so a change in one of them (a new version, a new throttle
//! code) is a change here, not in three connectors.

pub mod error;
pub mod insights;
pub mod paging;
pub mod version;
pub mod window;

pub use error::{ErrorMapper, GraphError};
pub use insights::{Insight, InsightsEnvelope};
pub use paging::Page;

use tally_model::{AuthKind, AuthQuirk, Description, ThrottleErrors};

/// The documented API root of Facebook Login tokens and the Marketing API.
pub const GRAPH_ROOT: &str = "https://graph.facebook.com";

/// Graph error codes that mean throttling, not failure (4 app, 17 user, 32
/// page, 613 calls within a minute, 80000–80008 business use case limits:
/// 80000 ads insights, 80001 pages, 80002 Instagram, 80004 ads management).
pub const THROTTLE_CODES: [(i64, i64); 5] =
    [(4, 4), (17, 17), (32, 32), (613, 613), (80000, 80008)];

/// The error bodies the host retries as throttling: a 400 or 403 whose
/// `error.code` is one of [`THROTTLE_CODES`].
pub fn throttle_errors() -> ThrottleErrors {
    ThrottleErrors {
        statuses: vec![400, 403],
        code_pointer: "/error/code".into(),
        codes: THROTTLE_CODES.to_vec(),
    }
}

/// `{"since":"…","until":"…"}`-style dates and Graph `since`/`until`
/// parameters are plain dates or Unix seconds; this formats a date for a query.
pub fn ymd(day: chrono::NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

use serde::de::DeserializeOwned;
use tally_model::paginate::{param, Step};
use tally_model::{ConnectorError, Emitter, SourceContext};

/// GETs `/{version}{path}` under the source's `base_url` and decodes it,
/// mapping a Graph error body with `mapper`.
pub async fn get<T: DeserializeOwned>(
    ctx: &SourceContext<'_>,
    version: &str,
    path: &str,
    mapper: ErrorMapper<'_>,
) -> Result<T, ConnectorError> {
    let path = format!("/{version}{path}");
    let (value, _) = ctx
        .get_json(&path, |p: &str, status, body: &[u8]| {
            mapper.map(p, status, body)
        })
        .await?;
    Ok(value)
}

/// Walks the Graph listing at `/{version}{path}` (whose query is already
/// set) page by page, following the `after` cursor while `paging.next` is
/// present; `each` handles a page and says whether to go on.
pub async fn walk<T, Each>(
    ctx: &SourceContext<'_>,
    version: &str,
    path: &str,
    mapper: ErrorMapper<'_>,
    out: &mut dyn Emitter,
    each: Each,
) -> Result<(), ConnectorError>
where
    T: DeserializeOwned + Send,
    Each: FnMut(Page<T>, &mut dyn Emitter) -> Result<Step, ConnectorError>,
{
    let listing = path.split('?').next().unwrap_or(path).to_string();
    let fetch = |after: Option<String>| {
        let page_path = format!("{path}{}", param("after", after.as_deref()));
        async move {
            let page: Page<T> = get(ctx, version, &page_path, mapper).await?;
            let next = page.after();
            Ok((page, next))
        }
    };
    ctx.paginate(&format!("/{version}{listing}"), None, out, fetch, each)
        .await
}

/// The Facebook Login a Page source signs in with: the long-lived exchange,
/// then the Page token of `page_id` (both host quirks).
pub fn facebook_login(scopes: &[&str], page_token: bool) -> AuthKind {
    let login = AuthKind::OAuth2 {
        auth_url: format!("https://www.facebook.com/{}/dialog/oauth", version::CURRENT),
        token_url: format!("{}/{}/oauth/access_token", GRAPH_ROOT, version::CURRENT),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        pkce: false,
        quirks: Vec::new(),
    }
    .quirk(AuthQuirk::ClientSecretInBody)
    .quirk(AuthQuirk::MetaLongLivedExchange);
    if page_token {
        login.quirk(AuthQuirk::MetaPageToken {
            page_setting: "page_id".into(),
        })
    } else {
        login
    }
}

/// What the Pages and Instagram connectors declare alike (`page_token`: the
/// login ends with the Page token of `page_id`): Graph usage
/// headers are read by the host's JSON dialect, throttle codes are declared.
pub fn description(description: Description, scopes: &[&str], page_token: bool) -> Description {
    description
        .auth([facebook_login(scopes, page_token), AuthKind::Bearer])
        // Meta states no per-second rate: its limits are percentages of
        // hourly and daily budgets (200 calls per user per hour, 4,800 per
        // engaged user per day for Pages and Instagram) reported in
        // X-App-Usage and X-Business-Use-Case-Usage, which the host follows
        // (slowing from 75 %). Until then, a polite 10 a second.
        .rate_limit(10, 1, 20)
        .api_version_spec(version::graph())
        .throttle_errors(throttle_errors())
}
