//! The goals-and-report half of `tally demo`: the bakery's goals and costs,
//! a small CSV of what no API gives (door attendance, leads, ad spend)
//! imported through the same code as `tally import`, then the goal status
//! and a monthly HTML report.
//!
//! The sandbox is pulled once, so follower counts have a single reading:
//! the growth goal says so instead of claiming zero growth. The CSV covers
//! last month and this month up to today, dated in the client's time zone,
//! so the totals, cost per lead and month-over-month have something to show.

use crate::output::Format;
use anyhow::Context as _;
use chrono::{Datelike, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use tally_config::time::local_date;
use tally_config::Config;
use tally_goals::{evaluate_all, Context};
use tally_store::Store;

/// The demo client whose goals and report are shown.
pub const CLIENT: &str = "bakery";

/// Goals and costs appended to the demo config.
pub const GOALS: &str = r#"
# Goals and costs of the bakery: `tally goals` evaluates them, `tally report` shows them.
[[goals]]
id = "bakery-followers-growth"
client = "bakery"
metric = "audience.followers"
kind = "growth"
target = 100
period = "month"

[[goals]]
id = "bakery-followers-level"
client = "bakery"
metric = "audience.followers"
kind = "level"
target = 20000
by = 2026-12-31

[[goals]]
id = "bakery-leads"
client = "bakery"
metric = "conversions.leads"
kind = "total"
target = 40
period = "month"

[[goals]]
id = "bakery-cost-per-lead"
client = "bakery"
kind = "ratio"
numerator = "cost.spend"
denominator = "conversions.leads"
at_most = 60
period = "month"

[[costs]]
client = "bakery"
name = "agency retainer"
amount = 1200
currency = "USD"
period = "month"
"#;

/// Leads per day, repeating weekly, so the demo's numbers are the same every run.
const LEADS: [u32; 7] = [2, 0, 3, 1, 2, 1, 0];

/// The CSV text: last month and this month up to `today`.
pub fn offline_csv(today: NaiveDate) -> String {
    let mut out = String::from(
        "source,platform,entity,entity_name,metric,value,unit,kind,at,period_start,period_end\n",
    );
    let this_month = today.with_day(1).unwrap_or(today);
    let last_month = this_month
        .checked_sub_days(Days::new(1))
        .and_then(|d| d.with_day(1))
        .unwrap_or(this_month);
    let mut day = last_month;
    while day <= today {
        let leads = LEADS[(day.ordinal() % 7) as usize];
        let _ = writeln!(
            out,
            "bakery-offline,offline,account:bakery,,conversions.leads,{leads},count,sum,{day},,"
        );
        let _ = writeln!(
            out,
            "bakery-offline,ads,campaign:local-ads,Local ads,cost.spend,25,USD,sum,{day},,"
        );
        if day.day() == 5 {
            let attendees = 80 + day.month() * 3;
            let _ = writeln!(
                out,
                "bakery-offline,offline,event:tasting-{},Tasting evening,events.attendees,{attendees},count,gauge,{}T23:00:00Z,,",
                day.format("%Y-%m"),
                day
            );
        }
        day = day + Days::new(1);
    }
    out
}

/// Writes the CSV into `dir`, imports it, prints goal status and writes the report.
pub fn finish(dir: &Path, config: &Config, store: &mut Store) -> anyhow::Result<PathBuf> {
    let tz: Tz = config.client(CLIENT).map_or(Tz::UTC, |c| c.timezone);
    let now = Utc::now();
    let csv = dir.join("offline.csv");
    std::fs::write(&csv, offline_csv(local_date(now, tz)))
        .with_context(|| format!("writing {}", csv.display()))?;
    println!(
        "\nImporting {} (door counts, leads and ad spend no API gives):",
        csv.display()
    );
    let summary = super::import::import_file(store, config, &csv, None, Some(CLIENT))?;
    print!("{}", summary.render(Format::Table));

    let ctx = Context::new(config, store)?;
    let evaluations: Vec<_> = evaluate_all(&ctx, Some(CLIENT), now)
        .into_iter()
        .collect::<Result<_, _>>()?;
    println!("\nGoals of {CLIENT} today:");
    print!("{}", super::goals::rows(&evaluations).render(Format::Table));
    super::goals::print_notes(&evaluations);

    let report = tally_goals::report::build(&ctx, CLIENT, None, now)?;
    let html = tally_report::render(&report, tally_report::Format::Html)?;
    let path = dir.join("report.html");
    std::fs::write(&path, html).with_context(|| format!("writing {}", path.display()))?;
    println!(
        "\nMonthly report: {} (open it in a browser)",
        path.display()
    );
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csv_covers_last_month_and_this_month_to_today() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default();
        let csv = offline_csv(today);
        assert!(
            csv.contains(",2026-02-01,")
                && csv.contains(",2026-03-02,")
                && !csv.contains("2026-03-03")
        );
        assert!(csv.contains("event:tasting-2026-02"));
        // 28 + 2 days, two rows each, one event, one header.
        assert_eq!(csv.lines().count(), 30 * 2 + 1 + 1);
    }
}
