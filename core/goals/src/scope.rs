//! Which sources a goal or a report counts, and loading their points.
//!
//! A client's sources are its configured `[[sources]]` plus the sources that
//! `tally import` recorded for it (door counts, cost sheets); a goal narrows
//! them with `sources` and `platform`.

use super::series::{self, Series, Settlement};
use crate::roi::money::{Money, UnitError};
use chrono::{DateTime, Utc};
use tally_config::{Config, GoalConfig};
use tally_store::{ImportedSource, Store, StoreError};

/// The sources a goal or report counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// Source ids.
    pub sources: Vec<String>,
    /// Only points of this platform.
    pub platform: Option<String>,
    /// Whether this is every source of the client (then the client's
    /// `[[costs]]` count towards `cost.spend`).
    pub whole_client: bool,
    /// A description for output: "all 3 sources of bakery".
    pub label: String,
}

/// Every source of `client`: configured ones, then imported ones.
pub fn client_sources(client: &str, config: &Config, imported: &[ImportedSource]) -> Vec<String> {
    let mut out: Vec<String> = config
        .sources
        .iter()
        .filter(|s| s.client.as_deref() == Some(client))
        .map(|s| s.id.clone())
        .collect();
    for i in imported.iter().filter(|i| i.client == client) {
        if !out.contains(&i.source) {
            out.push(i.source.clone());
        }
    }
    out
}

impl Scope {
    /// Every source of a client.
    pub fn client(client: &str, config: &Config, imported: &[ImportedSource]) -> Scope {
        let sources = client_sources(client, config, imported);
        Scope {
            label: format!("all {} sources of {client}", sources.len()),
            sources,
            platform: None,
            whole_client: true,
        }
    }

    /// The sources a goal counts.
    pub fn of_goal(goal: &GoalConfig, config: &Config, imported: &[ImportedSource]) -> Scope {
        let mut scope = if goal.sources.is_empty() {
            Scope::client(&goal.client, config, imported)
        } else {
            Scope {
                label: format!("sources {}", goal.sources.join(", ")),
                sources: goal.sources.clone(),
                platform: None,
                whole_client: false,
            }
        };
        if let Some(p) = &goal.platform {
            scope.label.push_str(&format!(", platform {p}"));
            scope.platform = Some(p.clone());
            scope.whole_client = false;
        }
        scope
    }

    /// The points of `metric` in scope with a time in `[from, to)`, as series;
    /// with `as_of`, as they were known then (see [`Store::totals`]).
    #[allow(clippy::too_many_arguments)]
    pub fn series(
        &self,
        store: &Store,
        metric: &str,
        from: Option<DateTime<Utc>>,
        to: DateTime<Utc>,
        as_of: Option<DateTime<Utc>>,
        money: &mut Money,
        settlement: &Settlement,
        at: DateTime<Utc>,
        context: &str,
    ) -> Result<Vec<Series>, LoadError> {
        if self.sources.is_empty() {
            return Ok(Vec::new());
        }
        let mut rows = store.totals(metric, &self.sources, from, to, as_of)?;
        if let Some(p) = &self.platform {
            rows.retain(|r| &r.platform == p);
        }
        Ok(series::build(rows, money, settlement, at, context)?)
    }
}

/// A source a goal names that is neither configured nor imported for the
/// goal's client: a typo, or an import that has not happened yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("goal `{goal}`: source `{source_id}` is neither a [[sources]] entry nor imported{detail}")]
pub struct UnknownSource {
    /// The goal's id.
    pub goal: String,
    /// The source id it names.
    pub source_id: String,
    /// What to do, prefixed for display.
    pub detail: String,
}

impl UnknownSource {
    /// The sources `goal` names that neither the config nor the store know
    /// for its client (a configured source of another client is refused when
    /// the config loads).
    pub fn of_goal(
        goal: &GoalConfig,
        config: &Config,
        imported: &[ImportedSource],
    ) -> Vec<UnknownSource> {
        let unknown = |source: &str, detail: String| UnknownSource {
            goal: goal.id.clone(),
            source_id: source.to_string(),
            detail,
        };
        goal.sources
            .iter()
            .filter(|s| config.source(s).is_none())
            .filter_map(|s| match imported.iter().find(|i| &i.source == s) {
                Some(i) if i.client == goal.client => None,
                Some(i) => Some(unknown(
                    s,
                    format!(
                        " for client `{}` (it was imported for `{}`); a goal counts its own client's sources",
                        goal.client, i.client
                    ),
                )),
                None => {
                    let known = client_sources(&goal.client, config, imported);
                    let hint = tally_config::did_you_mean(s, known.iter().map(String::as_str));
                    Some(unknown(
                        s,
                        if hint.is_empty() {
                            format!(
                                "; import its points first (`tally import FILE --client {}`) or correct the name",
                                goal.client
                            )
                        } else {
                            hint
                        },
                    ))
                }
            })
            .collect()
    }
}

/// Why points could not be loaded as series.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Units or currencies do not add up.
    #[error(transparent)]
    Unit(#[from] UnitError),
}
