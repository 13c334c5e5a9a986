//! `tally plan`: what the next hours of scheduled pulls will cost, before they
//! run: pulls per source, requests and quota units, which budgets run out and
//! which pulls would be deferred past a budget's reset.
//!
//! Request counts are estimates: the source's last successful pull, else the
//! average of other sources of its connector, else one request. Quota units
//! assume one unit per request, which is what the built-in connectors charge.

use super::budget::Budget;
use super::source::SourceSchedule;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tally_config::{Config, Schedule};
use tally_host::auth::TokenProviders;
use tally_host::http::pacer_key;
use tally_host::pull::{base_url_of, credential_for, rate_limit_of};
use tally_model::{Description, RateLimitSpec};
use tally_store::LastSuccess;

/// Most pulls of one source counted in a plan (a `1s` schedule over a day).
const MAX_PULLS_PER_SOURCE: usize = 100_000;

/// Where a per-pull request estimate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Estimate {
    /// The source's last successful pull.
    LastRun,
    /// The average of other sources of the same connector.
    ConnectorAverage,
    /// Nothing known: one request.
    Minimum,
}

impl Estimate {
    /// `last run`, `connector average` or `minimum`.
    pub fn label(self) -> &'static str {
        match self {
            Estimate::LastRun => "last run",
            Estimate::ConnectorAverage => "connector average",
            Estimate::Minimum => "minimum",
        }
    }
}

/// One source's share of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct SourcePlan {
    /// Source id.
    pub source: String,
    /// Its client, if any.
    pub client: Option<String>,
    /// Connector name.
    pub connector: String,
    /// `every` as written, or `manual` when only `tally pull` pulls it.
    pub schedule: String,
    /// The first pull in the window.
    pub next: Option<DateTime<Utc>>,
    /// Pulls in the window (catch-up, regular and boundary captures).
    pub pulls: usize,
    /// Of these, pulls the daemon is expected to skip: the rate limit the
    /// source shares cannot send every planned request in the window, so
    /// pulls still waiting on it when their next run is due skip that run.
    pub skipped: usize,
    /// Requests one pull is expected to send.
    pub per_pull: u64,
    /// Where `per_pull` comes from.
    pub basis: Estimate,
    /// `(pulls − skipped) × per_pull`.
    pub requests: u64,
    /// Quota units the pulls that fit their budget spend.
    pub units: u64,
    /// Pulls that would find the budget spent and be skipped until its reset.
    pub deferred: usize,
    /// The reset the first deferred pull waits for.
    pub deferred_until: Option<DateTime<Utc>>,
    /// A reason the source cannot be planned (unknown connector, no credential).
    pub problem: Option<String>,
}

/// One quota budget's share of the plan, for its current window.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetPlan {
    /// Ledger key (platform and credential fingerprint).
    pub key: String,
    /// Sources spending it.
    pub sources: Vec<String>,
    /// Units per window.
    pub limit: u64,
    /// Units spent so far in the current window.
    pub used: u64,
    /// Units the planned pulls need before the current window resets.
    pub needed: u64,
    /// When the current window resets.
    pub resets_at: DateTime<Utc>,
    /// Pulls over the whole plan that do not fit and are deferred.
    pub deferred: usize,
}

impl BudgetPlan {
    /// Units left in the current window now.
    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }

    /// Whether the planned pulls exhaust it before it resets.
    pub fn runs_out(&self) -> bool {
        self.needed > self.remaining()
    }
}

/// One request rate limit shared by sources (same platform, API host and
/// credential), over the whole window.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitPlan {
    /// `platform@host:port` (the credential's fingerprint left out).
    pub limit: String,
    /// Sources sharing it.
    pub sources: Vec<String>,
    /// Its rate (the first source's, as the host client uses).
    pub rate: RateLimitSpec,
    /// Requests the planned pulls need in the window.
    pub needed: u64,
    /// Requests the rate allows in the window, its burst included.
    pub capacity: u64,
    /// Planned pulls of its sources expected to be skipped.
    pub skipped: usize,
}

impl LimitPlan {
    /// Whether the planned pulls need more requests than the limit allows.
    pub fn overloaded(&self) -> bool {
        self.needed > self.capacity
    }
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// One entry per enabled source, in config order.
    pub sources: Vec<SourcePlan>,
    /// One entry per quota budget, by key.
    pub budgets: Vec<BudgetPlan>,
    /// One entry per shared rate limit, by key.
    pub limits: Vec<LimitPlan>,
}

/// What a plan is computed from.
pub struct PlanInput<'a> {
    /// The config (sources, clients, `[schedule]`).
    pub config: &'a Config,
    /// Descriptions of the available connectors.
    pub descriptions: &'a [Description],
    /// Start of the window.
    pub now: DateTime<Utc>,
    /// Length of the window.
    pub horizon: Duration,
    /// Each source's last successful pull, from the store.
    pub history: &'a HashMap<String, LastSuccess>,
    /// Units spent on a budget key in the window starting at the given time.
    pub quota_used: &'a dyn Fn(&str, DateTime<Utc>) -> u64,
    /// OAuth2 token providers, to name the budgets of OAuth2 sources.
    pub tokens: Option<&'a TokenProviders>,
}

/// The pulls planned in the window and what they cost.
pub fn plan(input: &PlanInput<'_>) -> Plan {
    let config = input.config;
    let end = input.now + chrono::Duration::from_std(input.horizon).unwrap_or_default();
    let averages = connector_averages(config, input.history);
    let mut sources = Vec::new();
    // Each source's planned times and the budget it spends, for after the
    // rate limits have said which pulls will be skipped.
    let mut pending: Vec<(Vec<DateTime<Utc>>, Option<Budget>)> = Vec::new();
    let mut budget_sources: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut limits: BTreeMap<String, (LimitPlan, Vec<usize>)> = BTreeMap::new();
    for source in config.sources.iter().filter(|s| s.enabled) {
        let mut plan = SourcePlan {
            source: source.id.clone(),
            client: source.client.clone(),
            connector: source.connector.clone(),
            schedule: source.every.as_ref().map_or("manual".into(), describe),
            next: None,
            pulls: 0,
            skipped: 0,
            per_pull: 1,
            basis: Estimate::Minimum,
            requests: 0,
            units: 0,
            deferred: 0,
            deferred_until: None,
            problem: None,
        };
        let tz = source
            .client
            .as_deref()
            .and_then(|c| config.client(c))
            .map_or(chrono_tz::UTC, |c| c.timezone);
        let times: Vec<DateTime<Utc>> = match SourceSchedule::new(source, tz, &config.schedule) {
            Ok(Some(schedule)) => {
                let last = input.history.get(&source.id).map(|h| h.started_at);
                let mut fires = schedule.catch_up(config.schedule.catch_up, last, input.now);
                fires.extend(schedule.fires_between(input.now, end, MAX_PULLS_PER_SOURCE));
                fires.iter().map(|f| f.at).collect()
            }
            // Without `every` only `tally pull` pulls it: the daemon never does.
            Ok(None) => Vec::new(),
            Err(e) => {
                plan.problem = Some(e.to_string());
                Vec::new()
            }
        };
        plan.pulls = times.len();
        plan.next = times.iter().min().copied();
        (plan.per_pull, plan.basis) = match input.history.get(&source.id) {
            Some(h) => (h.requests.max(1), Estimate::LastRun),
            None => match averages.get(source.connector.as_str()) {
                Some(&avg) => (avg, Estimate::ConnectorAverage),
                None => (1, Estimate::Minimum),
            },
        };
        let index = sources.len();
        let mut budget = None;
        match input
            .descriptions
            .iter()
            .find(|d| d.name == source.connector)
        {
            None => {
                plan.problem = Some(format!(
                    "connector `{}` is not available in this build or any loaded plugin",
                    source.connector
                ))
            }
            Some(description) => {
                match Budget::of(source, description, input.tokens) {
                    Ok(Some(b)) => {
                        budget_sources
                            .entry(b.key.clone())
                            .or_default()
                            .push(source.id.clone());
                        budget = Some(b);
                    }
                    Ok(None) => {}
                    Err(e) => plan.problem = Some(e),
                }
                if let Ok(credential) = credential_for(source, description, input.tokens) {
                    let base_url = base_url_of(source, description);
                    let key = pacer_key(&description.platform, &base_url, &credential);
                    let (limit, members) = limits.entry(key.clone()).or_insert_with(|| {
                        let shown = key.split_once('#').map_or(key.as_str(), |(l, _)| l);
                        let limit = LimitPlan {
                            limit: shown.to_string(),
                            sources: Vec::new(),
                            rate: rate_limit_of(source, description),
                            needed: 0,
                            capacity: 0,
                            skipped: 0,
                        };
                        (limit, Vec::new())
                    });
                    limit.sources.push(source.id.clone());
                    limit.needed += plan.per_pull * plan.pulls as u64;
                    members.push(index);
                }
            }
        }
        pending.push((times, budget));
        sources.push(plan);
    }
    let limits = skip_what_limits_cannot_send(input.horizon, &mut sources, limits);
    // (time, source index, budget) of every pull that runs and spends quota units.
    let mut spends: Vec<(DateTime<Utc>, usize, Budget)> = Vec::new();
    for (index, (times, budget)) in pending.into_iter().enumerate() {
        let plan = &mut sources[index];
        let kept = runs_kept(&times, plan.skipped);
        plan.requests = plan.per_pull * kept.len() as u64;
        if let Some(budget) = budget {
            spends.extend(kept.into_iter().map(|t| (t, index, budget.clone())));
        }
    }
    let budgets = spend(input, &mut sources, spends, budget_sources);
    Plan {
        sources,
        budgets,
        limits,
    }
}

/// Marks the share of each overloaded limit's pulls the daemon will skip: a
/// limit that can send only 60 % of the requests planned in the window
/// leaves each of its sources' pulls waiting long enough that about 40 % of
/// their runs find the previous pull still going.
fn skip_what_limits_cannot_send(
    horizon: Duration,
    sources: &mut [SourcePlan],
    limits: BTreeMap<String, (LimitPlan, Vec<usize>)>,
) -> Vec<LimitPlan> {
    let mut out = Vec::new();
    for (mut limit, members) in limits.into_values() {
        let per_second =
            f64::from(limit.rate.requests.max(1)) / f64::from(limit.rate.per_seconds.max(1));
        limit.capacity =
            (per_second * horizon.as_secs_f64()).floor() as u64 + u64::from(limit.rate.burst);
        if limit.overloaded() {
            let fits = limit.capacity as f64 / limit.needed as f64;
            for index in members {
                let plan = &mut sources[index];
                plan.skipped = ((plan.pulls as f64) * (1.0 - fits)).round() as usize;
                limit.skipped += plan.skipped;
            }
        }
        out.push(limit);
    }
    out
}

/// The planned times that run when `skipped` of them are skipped, spread
/// evenly (every other one when half are skipped).
fn runs_kept(times: &[DateTime<Utc>], skipped: usize) -> Vec<DateTime<Utc>> {
    let n = times.len();
    let kept = n.saturating_sub(skipped);
    times
        .iter()
        .enumerate()
        .filter(|(i, _)| (i + 1) * kept / n.max(1) > i * kept / n.max(1))
        .map(|(_, t)| *t)
        .collect()
}

/// Walks the budgeted pulls in time order, charging each to its budget's
/// window, and marks those that do not fit as deferred.
fn spend(
    input: &PlanInput<'_>,
    sources: &mut [SourcePlan],
    mut spends: Vec<(DateTime<Utc>, usize, Budget)>,
    budget_sources: BTreeMap<String, Vec<String>>,
) -> Vec<BudgetPlan> {
    spends.sort_by_key(|(at, index, _)| (*at, *index));
    // Per key: the window being filled and the units left in it.
    let mut windows: HashMap<String, (DateTime<Utc>, Option<u64>)> = HashMap::new();
    let mut budgets: BTreeMap<String, BudgetPlan> = BTreeMap::new();
    for (at, index, budget) in spends {
        let (start, reset) = budget.window_at(at);
        let entry = budgets.entry(budget.key.clone()).or_insert_with(|| {
            let (now_start, now_reset) = budget.window_at(input.now);
            BudgetPlan {
                key: budget.key.clone(),
                sources: budget_sources.get(&budget.key).cloned().unwrap_or_default(),
                limit: budget.limit,
                used: (input.quota_used)(&budget.key, now_start),
                needed: 0,
                resets_at: now_reset,
                deferred: 0,
            }
        });
        let left = windows.entry(budget.key.clone()).or_insert((start, None));
        if left.0 != start || left.1.is_none() {
            let fresh = budget
                .limit
                .saturating_sub((input.quota_used)(&budget.key, start));
            *left = (start, Some(fresh));
        }
        let left = left.1.get_or_insert(0);
        let units = sources[index].per_pull;
        if reset == entry.resets_at {
            entry.needed += units;
        }
        let plan = &mut sources[index];
        if units > *left {
            entry.deferred += 1;
            plan.deferred += 1;
            plan.deferred_until.get_or_insert(reset);
        } else {
            *left -= units;
            plan.units += units;
        }
    }
    budgets.into_values().collect()
}

/// Average requests of a successful pull, per connector.
fn connector_averages<'a>(
    config: &'a Config,
    history: &HashMap<String, LastSuccess>,
) -> HashMap<&'a str, u64> {
    let mut sums: HashMap<&str, (u64, u64)> = HashMap::new();
    for source in &config.sources {
        if let Some(h) = history.get(&source.id) {
            let e = sums.entry(source.connector.as_str()).or_default();
            e.0 += h.requests.max(1);
            e.1 += 1;
        }
    }
    sums.into_iter()
        .map(|(k, (sum, n))| (k, sum.div_ceil(n)))
        .collect()
}

/// `every` as a user would write it.
pub fn describe(schedule: &Schedule) -> String {
    match schedule {
        Schedule::Cron(expression) => expression.clone(),
        Schedule::Every(interval) => {
            let mut secs = interval.as_secs();
            let mut out = String::new();
            for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
                if secs >= size {
                    out.push_str(&format!("{}{unit}", secs / size));
                    secs %= size;
                }
            }
            if out.is_empty() {
                out.push_str("0s");
            }
            out
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use tally_config::{parse_with, ParseContext};
    use tally_model::{AuthKind, QuotaSpec, RateLimitSpec};

    fn youtube_like() -> Description {
        Description {
            name: "tube".into(),
            platform: "tube".into(),
            summary: "test".into(),
            default_base_url: "http://127.0.0.1:1".into(),
            metrics: vec!["audience.followers".into()],
            settings: vec![],
            auth: vec![AuthKind::ApiKey {
                query_param: Some("key".into()),
                header: None,
            }],
            rate_limit: RateLimitSpec {
                requests: 100,
                per_seconds: 1,
                burst: 10,
            },
            usage_headers: None,
            api_version: None,
            throttle_errors: None,
            quota: Some(QuotaSpec {
                units: 100,
                window: tally_model::QuotaWindow::Day,
                timezone: "UTC".into(),
            }),
        }
    }

    fn config(text: &str) -> Config {
        parse_with(
            text,
            "tally.toml",
            &[youtube_like()],
            &ParseContext {
                base_dir: std::path::Path::new(""),
                env: &|_| None,
            },
        )
        .unwrap()
    }

    #[test]
    fn a_budget_that_runs_out_defers_pulls_past_its_reset() {
        let config = config(
            "[schedule]\nmax_jitter = \"0s\"\nboundary_captures = \"off\"\ncatch_up = \"skip\"\n\
             [[sources]]\nid = \"a\"\nconnector = \"tube\"\nevery = \"1h\"\n[sources.auth]\nkind = \"api_key\"\napi_key = \"shared\"\n\
             [[sources]]\nid = \"b\"\nconnector = \"tube\"\nevery = \"1h\"\n[sources.auth]\nkind = \"api_key\"\napi_key = \"shared\"\n\
             [[sources]]\nid = \"manual\"\nconnector = \"tube\"\n[sources.auth]\nkind = \"api_key\"\napi_key = \"other\"\n",
        );
        let now = Utc.with_ymd_and_hms(2026, 3, 4, 12, 30, 0).unwrap();
        let mut history = HashMap::new();
        history.insert(
            "a".to_string(),
            LastSuccess {
                started_at: now,
                finished_at: now,
                requests: 5,
            },
        );
        let used = |_: &str, start: DateTime<Utc>| {
            if start == Utc.with_ymd_and_hms(2026, 3, 4, 0, 0, 0).unwrap() {
                60
            } else {
                0
            }
        };
        let plan = plan(&PlanInput {
            config: &config,
            descriptions: &[youtube_like()],
            now,
            horizon: Duration::from_secs(14 * 3600),
            history: &history,
            quota_used: &used,
            tokens: None,
        });
        let a = &plan.sources[0];
        assert_eq!((a.pulls, a.per_pull, a.basis), (14, 5, Estimate::LastRun));
        let b = &plan.sources[1];
        assert_eq!((b.per_pull, b.basis), (5, Estimate::ConnectorAverage));
        let manual = &plan.sources[2];
        // Without `every` the daemon never pulls it, so neither does the plan.
        assert_eq!((manual.schedule.as_str(), manual.pulls), ("manual", 0));
        assert_eq!((manual.requests, manual.next), (0, None));
        // 40 units are left today: 13:00..16:00 fit (8 pulls × 5), 17:00..23:00
        // (14 pulls) are deferred to midnight; after it the new day has room
        // for 00:00..02:00 (6 pulls).
        let shared = plan.budgets.iter().find(|b| b.sources.len() == 2).unwrap();
        assert_eq!(shared.remaining(), 40);
        assert_eq!(shared.needed, 22 * 5);
        assert!(shared.runs_out());
        assert_eq!(shared.deferred, 14);
        let midnight = Utc.with_ymd_and_hms(2026, 3, 5, 0, 0, 0).unwrap();
        assert_eq!(a.deferred_until, Some(midnight));
        assert_eq!(a.deferred + b.deferred, 14);
        assert_eq!(a.units + b.units, 40 + 30);
    }

    #[test]
    fn pulls_a_shared_rate_limit_cannot_send_are_skipped_as_the_daemon_skips_them() {
        // Two sources on one key, one request a minute between them, each
        // pulling every minute with two requests: 240 requests are planned in
        // the hour and 61 (60 + the burst of 1) can be sent, so about three
        // quarters of the runs find the previous pull still waiting.
        let limited = "every = \"1m\"\n[sources.rate_limit]\nrequests = 1\nper = \"60s\"\nburst = 1\n[sources.auth]\nkind = \"api_key\"\napi_key = \"shared\"\n";
        let config = config(&format!(
            "[schedule]\nmax_jitter = \"0s\"\nboundary_captures = \"off\"\ncatch_up = \"skip\"\n\
             [[sources]]\nid = \"a\"\nconnector = \"tube\"\n{limited}\
             [[sources]]\nid = \"b\"\nconnector = \"tube\"\n{limited}"
        ));
        let now = Utc.with_ymd_and_hms(2026, 3, 4, 12, 30, 0).unwrap();
        let mut history = HashMap::new();
        history.insert(
            "a".to_string(),
            LastSuccess {
                started_at: now,
                finished_at: now,
                requests: 2,
            },
        );
        let plan = plan(&PlanInput {
            config: &config,
            descriptions: &[youtube_like()],
            now,
            horizon: Duration::from_secs(3600),
            history: &history,
            quota_used: &|_, _| 0,
            tokens: None,
        });
        let limit = &plan.limits[0];
        assert_eq!(limit.limit, "tube@127.0.0.1:1");
        assert_eq!((limit.needed, limit.capacity), (240, 61));
        assert!(limit.overloaded());
        for source in &plan.sources {
            // 60 runs, 60 × (1 − 61 ÷ 240) = 44.75 of them skipped.
            assert_eq!((source.pulls, source.skipped), (60, 45), "{source:?}");
            assert_eq!(source.requests, 15 * 2);
            assert_eq!(source.units, 15 * 2, "skipped pulls spend no quota");
        }
        assert_eq!(limit.skipped, 90);
    }

    #[test]
    fn schedules_are_described_as_written() {
        assert_eq!(
            describe(&Schedule::Every(Duration::from_secs(5400))),
            "1h30m"
        );
        assert_eq!(describe(&Schedule::Cron("0 6 * * *".into())), "0 6 * * *");
    }
}
