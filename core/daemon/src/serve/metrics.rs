//! The Prometheus text exposition format (version 0.0.4) of the daemon's
//! counters, written by hand: the format is small, and a pure function from a
//! snapshot to text is easy to test and to validate with `promtool`.

use crate::{Snapshot, SourceCounters};
use chrono::{DateTime, Utc};
use std::fmt::Write as _;

/// Reads one per-source counter.
type Counter = fn(&SourceCounters) -> u64;

/// A quota budget's state at scrape time.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaState {
    /// Ledger key: platform and credential fingerprint.
    pub key: String,
    /// Units per window.
    pub limit: u64,
    /// Units left in the current window.
    pub remaining: u64,
    /// When the window resets.
    pub resets_at: DateTime<Utc>,
}

/// How long an OAuth2 credential keeps working without a new login.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenExpiry {
    /// The source using it.
    pub source: String,
    /// The credential's token file name (never the token).
    pub credential: String,
    /// Days left; negative once expired.
    pub days: f64,
}

/// Renders everything as exposition text at `now`.
pub fn render(
    snapshot: &Snapshot,
    quotas: &[QuotaState],
    tokens: &[TokenExpiry],
    now: DateTime<Utc>,
) -> String {
    let mut out = Text::default();
    out.family("tally_up", "gauge", "1 while the daemon runs.");
    out.sample("tally_up", &[], 1.0);
    out.family(
        "tally_build_info",
        "gauge",
        "The running Tally version, as a label.",
    );
    out.sample(
        "tally_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1.0,
    );

    let sources = &snapshot.sources;
    out.family(
        "tally_pulls_total",
        "counter",
        "Pulls since the daemon started, by source and outcome.",
    );
    for (id, c) in sources {
        for (status, n) in [("ok", c.ok), ("failed", c.failed), ("skipped", c.skipped)] {
            let labels = source_labels(id, c.client.as_deref(), &c.connector);
            let mut labels: Vec<(&str, &str)> = labels.to_vec();
            labels.push(("status", status));
            out.sample("tally_pulls_total", &labels, n as f64);
        }
    }
    let per_source: [(&str, &str, Counter); 5] = [
        (
            "tally_pull_failures_total",
            "Failed pulls since the daemon started.",
            |c| c.failed,
        ),
        (
            "tally_requests_total",
            "HTTP requests sent, retries included.",
            |c| c.counts.requests,
        ),
        (
            "tally_throttled_total",
            "429 (too many requests) responses received.",
            |c| c.counts.throttled,
        ),
        ("tally_retries_total", "Requests that were retries.", |c| {
            c.counts.retries
        }),
        ("tally_points_total", "Points emitted by connectors.", |c| {
            c.counts.points
        }),
    ];
    for (name, help, value) in per_source {
        out.family(name, "counter", help);
        for (id, c) in sources {
            let labels = source_labels(id, c.client.as_deref(), &c.connector);
            out.sample(name, &labels, value(c) as f64);
        }
    }

    out.family(
        "tally_last_success_timestamp_seconds",
        "gauge",
        "When each source's last successful pull finished (Unix time).",
    );
    for (id, c) in sources {
        if let Some(t) = c.last_success {
            let labels = source_labels(id, c.client.as_deref(), &c.connector);
            out.sample(
                "tally_last_success_timestamp_seconds",
                &labels,
                t.timestamp_millis() as f64 / 1000.0,
            );
        }
    }
    out.family(
        "tally_seconds_since_last_success",
        "gauge",
        "Seconds since each source's last successful pull; absent until one succeeded.",
    );
    for (id, c) in sources {
        if let Some(t) = c.last_success {
            let labels = source_labels(id, c.client.as_deref(), &c.connector);
            let age = (now - t).num_milliseconds().max(0) as f64 / 1000.0;
            out.sample("tally_seconds_since_last_success", &labels, age);
        }
    }

    out.family(
        "tally_quota_remaining_units",
        "gauge",
        "Quota units left in the current window, per budget (platform and credential fingerprint).",
    );
    for q in quotas {
        out.sample(
            "tally_quota_remaining_units",
            &[("budget", &q.key)],
            q.remaining as f64,
        );
    }
    out.family(
        "tally_quota_limit_units",
        "gauge",
        "Quota units per window, per budget.",
    );
    for q in quotas {
        out.sample(
            "tally_quota_limit_units",
            &[("budget", &q.key)],
            q.limit as f64,
        );
    }
    out.family(
        "tally_quota_reset_timestamp_seconds",
        "gauge",
        "When each budget's window resets (Unix time).",
    );
    for q in quotas {
        out.sample(
            "tally_quota_reset_timestamp_seconds",
            &[("budget", &q.key)],
            q.resets_at.timestamp() as f64,
        );
    }

    out.family(
        "tally_token_expiry_days",
        "gauge",
        "Days until each OAuth2 credential needs a new `tally auth login` (negative: expired).",
    );
    for t in tokens {
        out.sample(
            "tally_token_expiry_days",
            &[("source", &t.source), ("credential", &t.credential)],
            t.days,
        );
    }

    out.family(
        "tally_metric_latest",
        "gauge",
        "Newest stored value of each account-level canonical metric per source.",
    );
    for (id, c) in sources {
        for v in &c.latest {
            out.sample(
                "tally_metric_latest",
                &[
                    ("source", id),
                    ("metric", &v.metric),
                    ("entity_kind", &v.entity_kind),
                    ("entity", &v.entity_id),
                    ("unit", &v.unit),
                ],
                v.value,
            );
        }
    }

    out.family(
        "tally_schedule_drift_seconds",
        "summary",
        "How long after its planned time each pull started (quantiles over the last 100,000 pulls).",
    );
    for q in ["0.5", "0.9", "0.99"] {
        let value = q
            .parse::<f64>()
            .ok()
            .and_then(|q| snapshot.drift.quantile(q))
            .unwrap_or(f64::NAN);
        out.sample("tally_schedule_drift_seconds", &[("quantile", q)], value);
    }
    out.sample("tally_schedule_drift_seconds_sum", &[], snapshot.drift.sum);
    out.sample(
        "tally_schedule_drift_seconds_count",
        &[],
        snapshot.drift.count as f64,
    );

    out.family("tally_pulls_in_flight", "gauge", "Pulls running now.");
    out.sample("tally_pulls_in_flight", &[], snapshot.in_flight as f64);
    out.family(
        "tally_schedule_skipped_busy_total",
        "counter",
        "Planned pulls dropped because the source's previous pull was still running.",
    );
    out.sample(
        "tally_schedule_skipped_busy_total",
        &[],
        snapshot.skipped_busy as f64,
    );
    out.family(
        "tally_schedule_skipped_late_total",
        "counter",
        "Planned pulls passed over because the scheduler fell behind (one late pull ran instead).",
    );
    out.sample(
        "tally_schedule_skipped_late_total",
        &[],
        snapshot.skipped_late as f64,
    );
    out.family(
        "tally_config_reloads_total",
        "counter",
        "SIGHUP reloads, by result.",
    );
    out.sample(
        "tally_config_reloads_total",
        &[("result", "applied")],
        snapshot.reloads.0 as f64,
    );
    out.sample(
        "tally_config_reloads_total",
        &[("result", "rejected")],
        snapshot.reloads.1 as f64,
    );
    out.0
}

fn source_labels<'a>(
    id: &'a str,
    client: Option<&'a str>,
    connector: &'a str,
) -> [(&'static str, &'a str); 3] {
    [
        ("source", id),
        ("client", client.unwrap_or("")),
        ("connector", connector),
    ]
}

/// Exposition text under construction.
#[derive(Default)]
struct Text(String);

impl Text {
    /// `# HELP` and `# TYPE` lines of a metric family.
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    /// One sample line.
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", escape_label(v));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {}", number(value));
    }
}

/// Label values escape backslash, double quote and newline.
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Help text escapes backslash and newline.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Go's float formatting as Prometheus reads it, with `NaN` and `±Inf`.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn renders_families_samples_and_escapes() {
        let mut snapshot = Snapshot::default();
        snapshot.sources.insert(
            "a\"b".into(),
            SourceCounters {
                connector: "mastodon".into(),
                ok: 2,
                last_success: Some(Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()),
                ..SourceCounters::default()
            },
        );
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 0, 1, 0).unwrap();
        let text = render(&snapshot, &[], &[], now);
        assert!(
            text.contains("# TYPE tally_pulls_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "tally_pulls_total{source=\"a\\\"b\",client=\"\",connector=\"mastodon\",status=\"ok\"} 2\n"
            ),
            "{text}"
        );
        assert!(text.contains("tally_seconds_since_last_success{source=\"a\\\"b\",client=\"\",connector=\"mastodon\"} 60\n"), "{text}");
        assert!(text.contains("tally_schedule_drift_seconds{quantile=\"0.5\"} NaN\n"));
        assert!(text.ends_with('\n'));
    }
}
