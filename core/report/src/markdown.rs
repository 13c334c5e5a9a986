//! The report as Markdown: the same sections as the HTML page, as tables.

use crate::escape::cell;
use crate::goals_table::{goal_row, GOAL_COLUMNS};
use crate::numbers::{money, num, pct, signed};
use std::fmt::Write as _;
use tally_goals::report::Report;

fn table(out: &mut String, headers: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", headers.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(headers.len()));
    for r in rows {
        let cells: Vec<String> = r.iter().map(|c| cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

/// Renders the whole report.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let cur = r.currency.as_deref();
    let _ = writeln!(out, "# {} — {}\n", r.client.name, r.month);
    let _ = writeln!(
        out,
        "{} to {} ({}), figures as of {}{}.\n",
        r.start,
        r.end,
        r.client.timezone,
        r.as_of.format("%Y-%m-%d %H:%M UTC"),
        if r.complete {
            ""
        } else {
            ", month in progress"
        }
    );

    out.push_str("## Goals\n\n");
    // The client column is left out: a report is one client's.
    let shown: Vec<usize> = (0..GOAL_COLUMNS.len())
        .filter(|i| GOAL_COLUMNS[*i].key != "client")
        .collect();
    let rows: Vec<Vec<String>> = r
        .goals
        .iter()
        .map(|e| {
            let row = goal_row(e);
            shown.iter().map(|i| row[*i].text.clone()).collect()
        })
        .collect();
    let headers: Vec<&str> = shown.iter().map(|i| GOAL_COLUMNS[*i].title).collect();
    table(&mut out, &headers, &rows);
    for e in &r.goals {
        if !e.notes.is_empty() || !e.forecast_method.is_empty() {
            let _ = writeln!(out, "- **{}** ({}):", e.id, e.scope);
            if !e.forecast_method.is_empty() {
                let _ = writeln!(out, "  - forecast: {}", e.forecast_method);
            }
            for n in &e.notes {
                let _ = writeln!(out, "  - {n}");
            }
        }
    }
    for err in &r.goal_errors {
        let _ = writeln!(out, "- error: {err}");
    }
    out.push('\n');

    out.push_str("## Return on investment\n\n");
    let roi = &r.roi;
    let mut rows: Vec<Vec<String>> = roi
        .costs
        .iter()
        .map(|c| vec![format!("cost: {}", c.name), money(Some(c.amount), cur)])
        .collect();
    rows.extend([
        vec!["total cost".into(), money(roi.cost, cur)],
        vec!["revenue".into(), money(roi.revenue, cur)],
        vec!["leads".into(), num(roi.leads)],
        vec!["conversions".into(), num(roi.conversions)],
        vec!["value of leads".into(), money(roi.value_of_leads, cur)],
        vec![
            "value of conversions".into(),
            money(roi.value_of_conversions, cur),
        ],
        vec!["total value".into(), money(roi.value, cur)],
        vec!["cost per lead".into(), money(roi.cost_per_lead, cur)],
        vec![
            "cost per conversion".into(),
            money(roi.cost_per_conversion, cur),
        ],
        vec![
            "cost per 1,000 impressions".into(),
            money(roi.cost_per_mille, cur),
        ],
        vec![
            format!("engagement rate (per {})", roi.engagement_basis),
            pct(roi.engagement_rate),
        ],
        vec!["ROI = (value − cost) ÷ cost".into(), pct(roi.roi)],
    ]);
    table(&mut out, &["figure", "value"], &rows);
    for n in &roi.notes {
        let _ = writeln!(out, "- {n}");
    }
    out.push('\n');

    out.push_str("## Funnel\n\n");
    let rows: Vec<Vec<String>> = r
        .funnel
        .stages
        .iter()
        .map(|s| {
            let metrics: Vec<String> = s
                .metrics
                .iter()
                .map(|(m, v)| format!("{m} {}", num(Some(*v))))
                .collect();
            vec![
                s.stage.to_string(),
                num(s.total),
                pct(s.rate),
                metrics.join(", "),
            ]
        })
        .collect();
    table(
        &mut out,
        &["stage", "total", "rate from previous stage", "from"],
        &rows,
    );

    out.push_str("## Month over month\n\n");
    let rows: Vec<Vec<String>> = r
        .month_over_month
        .iter()
        .map(|c| {
            vec![
                c.platform.clone(),
                c.metric.clone(),
                c.measure.to_string(),
                num(c.this_month),
                num(c.last_month),
                signed(c.change),
                c.change_pct
                    .map_or_else(|| "–".into(), |p| format!("{:+.1} %", p * 100.0)),
            ]
        })
        .collect();
    table(
        &mut out,
        &[
            "platform",
            "metric",
            "measure",
            "this month",
            "last month",
            "change",
            "change %",
        ],
        &rows,
    );

    out.push_str("## Top posts by engagement\n\n");
    let rows: Vec<Vec<String>> = r
        .top_posts
        .iter()
        .map(|p| {
            vec![
                p.name.clone().unwrap_or_else(|| p.id.clone()),
                p.platform.clone(),
                p.kind.clone(),
                num(Some(p.engagement)),
                num(p.views),
            ]
        })
        .collect();
    table(
        &mut out,
        &["post", "platform", "kind", "engagement", "views"],
        &rows,
    );

    out.push_str("## Top segments\n\n");
    if r.segments.is_empty() {
        out.push_str("No connector of this client collects breakdowns (country, age, gender).\n\n");
    } else {
        let rows: Vec<Vec<String>> = r
            .segments
            .iter()
            .map(|s| {
                vec![
                    s.metric.clone(),
                    s.dimension.clone(),
                    s.value.clone(),
                    num(Some(s.amount)),
                    pct(Some(s.share)),
                ]
            })
            .collect();
        table(
            &mut out,
            &["metric", "dimension", "value", "amount", "share"],
            &rows,
        );
    }

    out.push_str("## Where the numbers come from\n\n");
    let rows: Vec<Vec<String>> = r
        .provenance
        .iter()
        .map(|p| {
            vec![
                p.source.clone(),
                p.origin.clone(),
                p.last_run.map_or_else(
                    || "never".into(),
                    |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
                ),
                num(Some(p.points as f64)),
                p.status.clone(),
            ]
        })
        .collect();
    table(
        &mut out,
        &[
            "source",
            "fed by",
            "last pulled or imported",
            "points this month",
            "data",
        ],
        &rows,
    );
    out
}
