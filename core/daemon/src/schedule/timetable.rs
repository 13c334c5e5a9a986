//! The daemon's queue of planned pulls: the next fire of every source in one
//! min-heap, so ten thousand sources cost one timer and `log n` per pull.

use super::source::{Fire, FireKind, SourceSchedule};
use chrono::{DateTime, Utc};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// One queued pull; ordered by time, then by insertion, so equal times keep
/// their order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    at: DateTime<Utc>,
    seq: u64,
    source: usize,
    kind: Kind,
}

/// [`FireKind`] with an order, for the heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Regular,
    Boundary(DateTime<Utc>),
    CatchUp,
}

impl From<FireKind> for Kind {
    fn from(k: FireKind) -> Kind {
        match k {
            FireKind::Regular => Kind::Regular,
            FireKind::Boundary { stamp } => Kind::Boundary(stamp),
            FireKind::CatchUp => Kind::CatchUp,
        }
    }
}

impl From<Kind> for FireKind {
    fn from(k: Kind) -> FireKind {
        match k {
            Kind::Regular => FireKind::Regular,
            Kind::Boundary(stamp) => FireKind::Boundary { stamp },
            Kind::CatchUp => FireKind::CatchUp,
        }
    }
}

/// Planned pulls of all scheduled sources, earliest first.
#[derive(Debug, Default)]
pub struct Timetable {
    schedules: Vec<SourceSchedule>,
    index: HashMap<String, usize>,
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
    /// Regular runs passed over by a loop that fell behind, per source index,
    /// until [`Timetable::take_missed`] collects them.
    missed: HashMap<usize, u64>,
}

/// Most passed-over runs counted for one late pull (a `1s` schedule after a
/// week's suspend); the count saturates there rather than looping.
const MAX_MISSED: u64 = 1_000_000;

impl Timetable {
    /// A timetable holding each schedule's next regular run and next boundary
    /// capture after `now`, plus the given catch-up fires.
    pub fn new(
        schedules: Vec<SourceSchedule>,
        now: DateTime<Utc>,
        catch_up: impl IntoIterator<Item = (String, Fire)>,
    ) -> Timetable {
        let index = schedules
            .iter()
            .enumerate()
            .map(|(i, s)| (s.source().to_string(), i))
            .collect();
        let mut table = Timetable {
            schedules,
            index,
            heap: BinaryHeap::new(),
            seq: 0,
            missed: HashMap::new(),
        };
        for i in 0..table.schedules.len() {
            if let Some(at) = table.schedules[i].next_regular(now) {
                table.push(i, at, Kind::Regular);
            }
            if let Some(fire) = table.schedules[i].next_boundary(now) {
                table.push(i, fire.at, fire.kind.into());
            }
        }
        for (source, fire) in catch_up {
            if let Some(&i) = table.index.get(&source) {
                table.push(i, fire.at, fire.kind.into());
            }
        }
        table
    }

    /// Number of scheduled sources.
    pub fn sources(&self) -> usize {
        self.schedules.len()
    }

    /// When the earliest queued pull is due.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.heap.peek().map(|Reverse(e)| e.at)
    }

    /// Removes and returns every pull due at or before `now` (source id and
    /// fire), queueing each source's following regular run or boundary capture
    /// after `now`: a loop that fell behind (a suspended machine) starts one
    /// late pull per source, not the whole backlog. The regular runs passed
    /// over are counted for [`Timetable::take_missed`].
    pub fn pop_due(&mut self, now: DateTime<Utc>) -> Vec<(String, Fire)> {
        let mut due = Vec::new();
        while self.heap.peek().is_some_and(|Reverse(e)| e.at <= now) {
            let Some(Reverse(entry)) = self.heap.pop() else {
                break;
            };
            let schedule = &self.schedules[entry.source];
            let after = entry.at.max(now);
            if entry.kind == Kind::Regular {
                let mut passed = 0;
                let mut t = entry.at;
                while let Some(n) = schedule.next_regular(t).filter(|n| *n <= now) {
                    passed += 1;
                    t = n;
                    if passed >= MAX_MISSED {
                        break;
                    }
                }
                if passed > 0 {
                    *self.missed.entry(entry.source).or_default() += passed;
                }
            }
            let next = match entry.kind {
                Kind::Regular => schedule.next_regular(after).map(|at| (at, Kind::Regular)),
                Kind::Boundary(_) => schedule.next_boundary(after).map(|f| (f.at, f.kind.into())),
                Kind::CatchUp => None,
            };
            due.push((
                schedule.source().to_string(),
                Fire {
                    at: entry.at,
                    kind: entry.kind.into(),
                },
            ));
            if let Some((at, kind)) = next {
                self.push(entry.source, at, kind);
            }
        }
        due
    }

    /// The regular runs each source's late pulls passed over since the last
    /// call, by source id: ticks that could not run, which the daemon counts
    /// as skipped.
    pub fn take_missed(&mut self) -> Vec<(String, u64)> {
        let schedules = &self.schedules;
        self.missed
            .drain()
            .map(|(i, n)| (schedules[i].source().to_string(), n))
            .collect()
    }

    fn push(&mut self, source: usize, at: DateTime<Utc>, kind: Kind) {
        self.seq += 1;
        self.heap.push(Reverse(Entry {
            at,
            seq: self.seq,
            source,
            kind,
        }));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::Tz;
    use std::time::Duration;
    use tally_config::{BoundaryCaptures, ScheduleConfig, SourceConfig};

    fn schedule(id: &str, every: &str) -> SourceSchedule {
        let text = format!("id = \"{id}\"\nconnector = \"none\"\nevery = \"{every}\"\n");
        let source: SourceConfig = toml::from_str(&text).unwrap();
        let settings = ScheduleConfig {
            max_jitter: Duration::ZERO,
            boundary_captures: BoundaryCaptures::Day,
            ..ScheduleConfig::default()
        };
        SourceSchedule::new(&source, Tz::UTC, &settings)
            .unwrap()
            .unwrap()
    }

    #[test]
    fn pops_due_pulls_in_order_and_requeues_them() {
        let now = Utc.with_ymd_and_hms(2026, 3, 4, 23, 0, 0).unwrap();
        let mut table = Timetable::new(
            vec![schedule("hourly", "1h"), schedule("half", "30m")],
            now,
            [(
                "hourly".to_string(),
                Fire {
                    at: now,
                    kind: FireKind::CatchUp,
                },
            )],
        );
        assert_eq!(table.sources(), 2);
        assert_eq!(table.next_due(), Some(now));
        let due = table.pop_due(now);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].1.kind, FireKind::CatchUp);

        let half_past = Utc.with_ymd_and_hms(2026, 3, 4, 23, 30, 0).unwrap();
        let due = table.pop_due(half_past);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].0, "half");
        // At 00:00 both regular runs and both midnight boundary captures are due.
        let midnight = Utc.with_ymd_and_hms(2026, 3, 5, 0, 0, 0).unwrap();
        let due = table.pop_due(midnight);
        let labels: Vec<(String, &str)> = due
            .iter()
            .map(|(s, f)| (s.clone(), f.kind.label()))
            .collect();
        assert_eq!(due.len(), 4, "{labels:?}");
        assert!(due.windows(2).all(|w| w[0].1.at <= w[1].1.at));
        // Each source is requeued: the next is 00:30.
        assert_eq!(
            table.next_due(),
            Some(Utc.with_ymd_and_hms(2026, 3, 5, 0, 30, 0).unwrap())
        );
    }

    #[test]
    fn a_loop_that_fell_behind_starts_one_late_pull_per_source() {
        let now = Utc.with_ymd_and_hms(2026, 3, 4, 12, 0, 0).unwrap();
        let mut table = Timetable::new(vec![schedule("fast", "1m")], now, []);
        // Six hours later: 360 runs were planned, one starts.
        let later = now + chrono::Duration::hours(6);
        let due = table.pop_due(later);
        let regular = due
            .iter()
            .filter(|(_, f)| f.kind == FireKind::Regular)
            .count();
        assert_eq!(regular, 1);
        assert!(table.next_due().unwrap() > later);
        // The other 359 planned runs are counted as missed, once.
        assert_eq!(table.take_missed(), vec![("fast".to_string(), 359)]);
        assert!(table.take_missed().is_empty());
    }
}
