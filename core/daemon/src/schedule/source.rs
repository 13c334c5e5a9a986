//! One source's planned pulls: its cadence (`every` or cron), its offset, its
//! boundary captures, and what it missed while the daemon was down.
//!
//! Everything here is a pure function of the config and a time, so `tally
//! plan` and the daemon agree, restarts do not shift schedules, and tests need
//! no clock.

use super::boundary::next_boundary;
use super::cron::CronSchedule;
use super::jitter;
use super::ScheduleError;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::time::Duration;
use tally_config::{BoundaryCaptures, CatchUp, Schedule, ScheduleConfig, SourceConfig};

/// Most pulls `catch_up = "all"` makes for one source.
pub const MAX_CATCH_UP: usize = 24;

/// Longest offset of a boundary capture after its boundary, so the sample is
/// close to the boundary while thousands of sources do not start at once.
const BOUNDARY_SPREAD: Duration = Duration::from_secs(5 * 60);

/// Why a pull is planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FireKind {
    /// The source's `every` or cron schedule.
    Regular,
    /// Just after a period boundary; gauges are stamped with the boundary itself.
    Boundary {
        /// The boundary instant.
        stamp: DateTime<Utc>,
    },
    /// Making up for a run missed while the daemon was down.
    CatchUp,
}

impl FireKind {
    /// `regular`, `boundary` or `catch-up`, for logs and `tally plan`.
    pub fn label(self) -> &'static str {
        match self {
            FireKind::Regular => "regular",
            FireKind::Boundary { .. } => "boundary",
            FireKind::CatchUp => "catch-up",
        }
    }

    /// The time gauges of this pull are stamped with, when not the hour slot.
    pub fn stamp(self) -> Option<DateTime<Utc>> {
        match self {
            FireKind::Boundary { stamp } => Some(stamp),
            _ => None,
        }
    }
}

/// A planned pull.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fire {
    /// When it should start.
    pub at: DateTime<Utc>,
    /// Why.
    pub kind: FireKind,
}

#[derive(Debug, Clone)]
enum Cadence {
    Every {
        interval_ms: i64,
        offset_ms: i64,
    },
    Cron {
        cron: Box<CronSchedule>,
        offset: Duration,
    },
}

/// The schedule of one source.
#[derive(Debug, Clone)]
pub struct SourceSchedule {
    source: String,
    cadence: Cadence,
    boundary: BoundaryCaptures,
    tz: Tz,
    boundary_offset: Duration,
}

impl SourceSchedule {
    /// The schedule of `source` (`None` when it has no `every`), with its
    /// client's time zone `tz` and the `[schedule]` settings.
    pub fn new(
        source: &SourceConfig,
        tz: Tz,
        settings: &ScheduleConfig,
    ) -> Result<Option<SourceSchedule>, ScheduleError> {
        let Some(every) = &source.every else {
            return Ok(None);
        };
        let id = source.id.as_str();
        let cadence = match every {
            Schedule::Every(interval) => {
                let window = settings.max_jitter.min(*interval);
                Cadence::Every {
                    interval_ms: millis(*interval).max(1),
                    offset_ms: millis(jitter::offset(id, "every", window)),
                }
            }
            Schedule::Cron(expression) => {
                let cron = CronSchedule::parse(id, expression, tz)?;
                // Keep the offset below the gap between two runs, so jitter
                // never reorders or merges them.
                let gap = cron
                    .next_after(DateTime::UNIX_EPOCH)
                    .and_then(|a| Some((a, cron.next_after(a)?)))
                    .and_then(|(a, b)| (b - a).to_std().ok())
                    .unwrap_or(settings.max_jitter);
                let offset = jitter::offset(id, "cron", settings.max_jitter.min(gap));
                Cadence::Cron {
                    cron: Box::new(cron),
                    offset,
                }
            }
        };
        Ok(Some(SourceSchedule {
            source: source.id.clone(),
            cadence,
            boundary: settings.boundary_captures,
            tz,
            boundary_offset: jitter::offset(
                id,
                "boundary",
                settings.max_jitter.min(BOUNDARY_SPREAD),
            ),
        }))
    }

    /// The source id.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The first regular run strictly after `after`.
    pub fn next_regular(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.cadence {
            Cadence::Every {
                interval_ms,
                offset_ms,
            } => {
                let t = after.timestamp_millis() - offset_ms;
                let k = t.div_euclid(*interval_ms) + 1;
                DateTime::from_timestamp_millis(k * interval_ms + offset_ms)
            }
            Cadence::Cron { cron, offset } => {
                let offset = chrono::Duration::from_std(*offset).ok()?;
                cron.next_after(after - offset).map(|t| t + offset)
            }
        }
    }

    /// The first boundary capture strictly after `after`.
    pub fn next_boundary(&self, after: DateTime<Utc>) -> Option<Fire> {
        let offset = chrono::Duration::from_std(self.boundary_offset).ok()?;
        // The capture of boundary B runs at B + offset: search from `after - offset`.
        let stamp = next_boundary(self.boundary, self.tz, after - offset)?;
        Some(Fire {
            at: stamp + offset,
            kind: FireKind::Boundary { stamp },
        })
    }

    /// The next planned pull of either kind strictly after `after`.
    pub fn next_fire(&self, after: DateTime<Utc>) -> Option<Fire> {
        let regular = self.next_regular(after).map(|at| Fire {
            at,
            kind: FireKind::Regular,
        });
        match (regular, self.next_boundary(after)) {
            (Some(r), Some(b)) if b.at < r.at => Some(b),
            (Some(r), _) => Some(r),
            (None, b) => b,
        }
    }

    /// The pulls planned in `(from, to]`, at most `limit`.
    pub fn fires_between(&self, from: DateTime<Utc>, to: DateTime<Utc>, limit: usize) -> Vec<Fire> {
        let mut out = Vec::new();
        let mut t = from;
        while out.len() < limit {
            match self.next_fire(t) {
                Some(fire) if fire.at <= to => {
                    t = fire.at;
                    out.push(fire);
                }
                _ => break,
            }
        }
        out
    }

    /// The catch-up pulls owed at `now` under `policy`, given when the source's
    /// last successful pull started (`None`: never).
    pub fn catch_up(
        &self,
        policy: CatchUp,
        last_success: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Vec<Fire> {
        let owed = match (policy, last_success) {
            (CatchUp::Skip, _) => 0,
            (_, None) => 1,
            (CatchUp::Once, Some(last)) => self.fires_between(last, now, 1).len(),
            (CatchUp::All, Some(last)) => self.fires_between(last, now, MAX_CATCH_UP).len(),
        };
        vec![
            Fire {
                at: now,
                kind: FireKind::CatchUp,
            };
            owed
        ]
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn source(id: &str, every: &str) -> SourceConfig {
        let text =
            format!("[[sources]]\nid = \"{id}\"\nconnector = \"none\"\nevery = \"{every}\"\n");
        let table: toml::Table = toml::from_str(&text).unwrap();
        let item = table["sources"].as_array().unwrap()[0].clone();
        item.try_into().unwrap()
    }

    fn settings(jitter_secs: u64, boundary: BoundaryCaptures) -> ScheduleConfig {
        ScheduleConfig {
            max_jitter: Duration::from_secs(jitter_secs),
            boundary_captures: boundary,
            ..ScheduleConfig::default()
        }
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, s).unwrap()
    }

    #[test]
    fn every_is_an_epoch_grid_plus_a_stable_offset() {
        let s = SourceSchedule::new(
            &source("a", "6h"),
            Tz::UTC,
            &settings(0, BoundaryCaptures::Off),
        )
        .unwrap()
        .unwrap();
        let t = utc(2026, 3, 4, 7, 0, 0);
        assert_eq!(s.next_regular(t), Some(utc(2026, 3, 4, 12, 0, 0)));
        assert_eq!(
            s.next_regular(utc(2026, 3, 4, 12, 0, 0)),
            Some(utc(2026, 3, 4, 18, 0, 0))
        );

        let jittered = SourceSchedule::new(
            &source("a", "6h"),
            Tz::UTC,
            &settings(900, BoundaryCaptures::Off),
        )
        .unwrap()
        .unwrap();
        let first = jittered.next_regular(t).unwrap();
        let second = jittered.next_regular(first).unwrap();
        assert_eq!(second - first, chrono::Duration::hours(6));
        let offset = first - utc(2026, 3, 4, 12, 0, 0);
        assert!(offset >= chrono::Duration::zero() && offset < chrono::Duration::minutes(15));
        // Another source gets another offset.
        let other = SourceSchedule::new(
            &source("b", "6h"),
            Tz::UTC,
            &settings(900, BoundaryCaptures::Off),
        )
        .unwrap()
        .unwrap();
        assert_ne!(other.next_regular(t), Some(first));
    }

    #[test]
    fn jitter_never_exceeds_a_short_interval() {
        let s = SourceSchedule::new(
            &source("fast", "1s"),
            Tz::UTC,
            &settings(900, BoundaryCaptures::Off),
        )
        .unwrap()
        .unwrap();
        let t = utc(2026, 3, 4, 7, 0, 0);
        let next = s.next_regular(t).unwrap();
        assert!(
            next > t && next <= t + chrono::Duration::seconds(1),
            "{next}"
        );
    }

    #[test]
    fn cron_runs_in_the_client_zone_with_offset() {
        let s = SourceSchedule::new(
            &source("c", "0 6 * * *"),
            Tz::America__Chicago,
            &settings(0, BoundaryCaptures::Off),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            s.next_regular(utc(2026, 1, 10, 0, 0, 0)),
            Some(utc(2026, 1, 10, 12, 0, 0))
        );
    }

    #[test]
    fn boundary_captures_follow_the_client_month_and_carry_the_boundary_stamp() {
        let settings = settings(0, BoundaryCaptures::Month);
        let chicago = SourceSchedule::new(&source("m", "1d"), Tz::America__Chicago, &settings)
            .unwrap()
            .unwrap();
        let utc_client = SourceSchedule::new(&source("m", "1d"), Tz::UTC, &settings)
            .unwrap()
            .unwrap();
        // Late on 2026-02-28 UTC: UTC's March starts at 00:00, Chicago's at 06:00 UTC.
        let t = utc(2026, 2, 28, 23, 0, 0);
        let b = utc_client.next_boundary(t).unwrap();
        assert_eq!(b.kind.stamp(), Some(utc(2026, 3, 1, 0, 0, 0)));
        let b = chicago.next_boundary(t).unwrap();
        assert_eq!(b.kind.stamp(), Some(utc(2026, 3, 1, 6, 0, 0)));
        assert_eq!(b.at, utc(2026, 3, 1, 6, 0, 0));
        // The daily regular runs and the boundary capture interleave in order.
        let fires = chicago.fires_between(t, utc(2026, 3, 2, 1, 0, 0), 10);
        let kinds: Vec<&str> = fires.iter().map(|f| f.kind.label()).collect();
        assert_eq!(kinds, ["regular", "boundary", "regular"]);
        assert!(fires.windows(2).all(|w| w[0].at <= w[1].at));
    }

    #[test]
    fn boundary_captures_start_shortly_after_the_boundary() {
        let s = SourceSchedule::new(
            &source("spread", "6h"),
            Tz::UTC,
            &settings(3600, BoundaryCaptures::Month),
        )
        .unwrap()
        .unwrap();
        let b = s.next_boundary(utc(2026, 3, 31, 12, 0, 0)).unwrap();
        let stamp = b.kind.stamp().unwrap();
        assert_eq!(stamp, utc(2026, 4, 1, 0, 0, 0));
        assert!(b.at >= stamp && b.at - stamp < chrono::Duration::minutes(5));
        // Asked again just after the capture started: the next month.
        let again = s.next_boundary(b.at).unwrap();
        assert_eq!(again.kind.stamp(), Some(utc(2026, 5, 1, 0, 0, 0)));
    }

    #[test]
    fn catch_up_policies_count_missed_runs() {
        let s = SourceSchedule::new(
            &source("d", "1h"),
            Tz::UTC,
            &settings(0, BoundaryCaptures::Off),
        )
        .unwrap()
        .unwrap();
        let now = utc(2026, 3, 4, 10, 30, 0);
        let last = Some(utc(2026, 3, 4, 6, 0, 5)); // missed 07:00, 08:00, 09:00, 10:00
        assert_eq!(s.catch_up(CatchUp::Skip, last, now).len(), 0);
        assert_eq!(s.catch_up(CatchUp::Once, last, now).len(), 1);
        assert_eq!(s.catch_up(CatchUp::All, last, now).len(), 4);
        assert!(s
            .catch_up(CatchUp::All, last, now)
            .iter()
            .all(|f| f.at == now && f.kind == FireKind::CatchUp));
        // Nothing missed: nothing owed.
        let recent = Some(utc(2026, 3, 4, 10, 0, 1));
        assert_eq!(s.catch_up(CatchUp::Once, recent, now).len(), 0);
        // Never pulled: one pull now, unless skipping.
        assert_eq!(s.catch_up(CatchUp::All, None, now).len(), 1);
        assert_eq!(s.catch_up(CatchUp::Skip, None, now).len(), 0);
        // A long outage is capped.
        let old = Some(utc(2026, 1, 1, 0, 0, 0));
        assert_eq!(s.catch_up(CatchUp::All, old, now).len(), MAX_CATCH_UP);
    }

    #[test]
    fn no_every_means_no_schedule() {
        let mut s = source("manual", "1h");
        s.every = None;
        assert!(SourceSchedule::new(&s, Tz::UTC, &ScheduleConfig::default())
            .unwrap()
            .is_none());
    }
}
