//! Simulated Eventbrite organizations, events, ticket classes and attendees.

use chrono::{DateTime, Utc};

use super::{at, display_name, Day, Schedule, DAY_MS};
use crate::hash::{frange, pick, range, unit, Hash};

/// Events start this long after their slot in the schedule, so an
/// organization has past events (with check-ins) and upcoming ones (selling).
const LEAD_MS: i64 = 45 * DAY_MS;
/// An event lasts three hours.
const LENGTH_MS: i64 = 3 * 3_600_000;
/// Digits of the slot number at the end of an event id.
const SLOT_DIGITS: usize = 5;

const S_EVENTS: u64 = 500;
const S_EVENT: u64 = 501;
const S_CLASS: u64 = 502;
const S_ATTENDEE: u64 = 503;

const EVENT_NAMES: [&str; 6] = [
    "Tasting evening",
    "Bread workshop",
    "Open day",
    "Live music night",
    "Kids baking class",
    "Meet the maker",
];
const CLASS_NAMES: [&str; 3] = ["General Admission", "VIP", "Early bird"];

/// An organization as `GET /organizations/{id}/events/` sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrganizationData {
    /// Numeric organization id.
    pub id: String,
    /// `name`.
    pub name: String,
    /// Its events, soonest start first.
    pub events: Vec<EventData>,
}

/// One event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventData {
    /// The organization id followed by a five-digit slot number.
    pub id: String,
    /// `name.text`.
    pub name: String,
    /// `start.utc`.
    pub start: DateTime<Utc>,
    /// `end.utc`.
    pub end: DateTime<Utc>,
    /// `status`: `completed` once over, `started` during, else `live`.
    pub status: &'static str,
    /// Ticket classes; `capacity` is the sum of their `quantity_total`.
    pub ticket_classes: Vec<TicketClassData>,
    /// One attendee per ticket sold, plus the refunded ones, in the order
    /// the tickets were bought.
    pub attendees: Vec<AttendeeData>,
}

impl EventData {
    /// `capacity`: the sum of the ticket classes' `quantity_total`.
    pub fn capacity(&self) -> u64 {
        self.ticket_classes.iter().map(|c| c.quantity_total).sum()
    }

    /// Attendees whose status is `Attending` or `Checked In`.
    pub fn attending(&self) -> usize {
        self.attendees.iter().filter(|a| !a.cancelled).count()
    }

    /// Attendees checked in at the door.
    pub fn checked_in(&self) -> usize {
        self.attendees.iter().filter(|a| a.checked_in).count()
    }
}

/// One ticket class of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketClassData {
    /// Numeric id.
    pub id: String,
    /// `name`.
    pub name: String,
    /// `quantity_total` (and `capacity`).
    pub quantity_total: u64,
    /// `quantity_sold` (refunded tickets go back on sale).
    pub quantity_sold: u64,
    /// `cost.value`, in cents of USD.
    pub cost_cents: u64,
}

/// One attendee (one ticket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttendeeData {
    /// Numeric id.
    pub id: String,
    /// The ticket class bought.
    pub ticket_class_id: String,
    /// `Attending`, `Checked In` or `Not Attending` (refunded).
    pub status: &'static str,
    /// `checked_in`.
    pub checked_in: bool,
    /// `cancelled` and `refunded`.
    pub cancelled: bool,
    /// `created`: when the ticket was bought.
    pub created: DateTime<Utc>,
}

/// The organization `id` (digits only) as of `now`; `None` for anything
/// else, which Eventbrite answers 404 `NOT_FOUND`.
pub fn eventbrite_organization(
    seed: u64,
    id: &str,
    now: DateTime<Utc>,
) -> Option<OrganizationData> {
    let id = id.trim();
    if id.is_empty() || id.len() > 18 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h = Hash::new(seed).str("eventbrite").str(id).get();
    let day = Day::of(now);
    let mut events: Vec<EventData> = Schedule::new(h, S_EVENTS, 4, 12)
        .posts(day)
        .into_iter()
        .map(|(k, t)| event(h, id, k, t + LEAD_MS, now))
        .collect();
    events.reverse();
    Some(OrganizationData {
        id: id.to_string(),
        name: display_name(h, ""),
        events,
    })
}

/// The organization a private token belongs to (`/users/me/organizations/`).
pub fn eventbrite_organization_of_token(token: &str) -> String {
    let h = Hash::new(0).str("eventbrite-token").str(token).get();
    (1_000_000_000 + h % 9_000_000_000).to_string()
}

/// Splits an event id into its organization and slot number.
pub(crate) fn eventbrite_event_parts(event_id: &str) -> Option<(&str, &str)> {
    let cut = event_id.len().checked_sub(SLOT_DIGITS).filter(|&c| c > 0)?;
    event_id
        .is_char_boundary(cut)
        .then(|| event_id.split_at(cut))
}

fn event(h: u64, org: &str, k: u64, start_ms: i64, now: DateTime<Utc>) -> EventData {
    let eh = Hash::new(h).num(S_EVENT).num(k).get();
    let now_ms = now.timestamp_millis();
    let end_ms = start_ms + LENGTH_MS;
    let status = if end_ms <= now_ms {
        "completed"
    } else if start_ms <= now_ms {
        "started"
    } else {
        "live"
    };
    // Sales open 30 days before the start and fill a share of the room.
    let open_ms = start_ms - 30 * DAY_MS;
    let selling = ((now_ms - open_ms) as f64 / (start_ms - open_ms) as f64).clamp(0.0, 1.0);
    let classes = range(pick(eh, 1), 1, 4) as usize;
    let ticket_classes: Vec<TicketClassData> = (0..classes)
        .map(|c| {
            let ch = Hash::new(eh).num(S_CLASS).num(c as u64).get();
            let total = range(ch, 20, 120);
            let fill = frange(pick(ch, 1), 0.4, 1.0) * selling.sqrt();
            TicketClassData {
                id: (100_000_000 + pick(ch, 2) % 900_000_000).to_string(),
                name: CLASS_NAMES[c].to_string(),
                quantity_total: total,
                quantity_sold: ((total as f64 * fill).floor() as u64).min(total),
                cost_cents: range(pick(ch, 3), 8, 40) * 125,
            }
        })
        .collect();
    let over = status == "completed";
    let mut attendees: Vec<AttendeeData> = ticket_classes
        .iter()
        .flat_map(|c| {
            // Refunds are extra attendees: their tickets went back on sale.
            let refunded = c.quantity_sold / 25;
            (0..c.quantity_sold + refunded).map(move |n| (c, n, n >= c.quantity_sold))
        })
        .map(|(c, n, cancelled)| {
            let ah = Hash::new(eh).str(&c.id).num(S_ATTENDEE).num(n).get();
            let checked_in = over && !cancelled && unit(ah) < 0.85;
            let bought = open_ms
                + (unit(pick(ah, 1)) * (now_ms.min(start_ms) - open_ms).max(1) as f64) as i64;
            AttendeeData {
                id: (1_000_000_000 + pick(ah, 2) % 9_000_000_000).to_string(),
                ticket_class_id: c.id.clone(),
                status: match (cancelled, checked_in) {
                    (true, _) => "Not Attending",
                    (false, true) => "Checked In",
                    (false, false) => "Attending",
                },
                checked_in,
                cancelled,
                created: at(bought - bought.rem_euclid(1000)),
            }
        })
        .collect();
    // Listed in the order the tickets were bought, as Eventbrite lists them.
    attendees.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    EventData {
        id: format!("{org}{:0width$}", k % 100_000, width = SLOT_DIGITS),
        name: format!(
            "{} #{}",
            EVENT_NAMES[(pick(eh, 4) % EVENT_NAMES.len() as u64) as usize],
            k % 1000
        ),
        start: at(start_ms - start_ms.rem_euclid(60_000)),
        end: at(end_ms - end_ms.rem_euclid(60_000)),
        status,
        ticket_classes,
        attendees,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn past_events_have_check_ins_and_upcoming_ones_sell() {
        let now = Utc
            .with_ymd_and_hms(2026, 6, 1, 12, 0, 0)
            .single()
            .expect("valid");
        assert!(eventbrite_organization(1, "acme", now).is_none());
        let org = eventbrite_organization(1, "1000000001", now).expect("exists");
        assert!((4..=12).contains(&org.events.len()), "{}", org.events.len());
        assert!(org.events.windows(2).all(|w| w[0].start < w[1].start));
        let past: Vec<&EventData> = org
            .events
            .iter()
            .filter(|e| e.status == "completed")
            .collect();
        assert!(!past.is_empty());
        for e in &org.events {
            let sold: u64 = e.ticket_classes.iter().map(|c| c.quantity_sold).sum();
            assert_eq!(e.attending() as u64, sold);
            assert!(e.capacity() >= sold);
            assert_eq!(
                eventbrite_event_parts(&e.id),
                Some(("1000000001", &e.id[10..]))
            );
        }
        assert!(past.iter().any(|e| e.checked_in() > 0));
        // Every day of a year, the sample organization has a past event whose
        // attendees fill several pages of 50, not all of whom came.
        for d in 0..365 {
            let now = now + chrono::Duration::days(d);
            let org = eventbrite_organization(42, "1000000001", now).expect("exists");
            let largest = org
                .events
                .iter()
                .filter(|e| e.status == "completed")
                .max_by_key(|e| e.attendees.len())
                .expect("a past event");
            assert!(largest.attendees.len() > 50, "day {d}");
            assert!(
                (1..largest.attending()).contains(&largest.checked_in()),
                "day {d}"
            );
            assert!(
                largest
                    .attendees
                    .chunks(50)
                    .all(|page| page.iter().any(|a| a.checked_in)),
                "check-ins on every page, day {d}"
            );
        }
        assert!(org
            .events
            .iter()
            .filter(|e| e.status == "live")
            .all(|e| e.checked_in() == 0));
    }
}
