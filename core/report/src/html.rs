//! The report as one self-contained HTML page: inline CSS, inline SVG
//! charts, no scripts, fonts or images from anywhere else, so it can be
//! mailed as an attachment and opened offline.

use crate::charts;
use crate::escape::html as esc;
use crate::goals_table::{goal_row, GOAL_COLUMNS};
use crate::numbers::{money, num, pct, signed};
use crate::RenderError;
use std::fmt::Write as _;
use tally_goals::report::Report;
use tally_goals::{Evaluation, Status};

const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; color: #222; margin: 0; background: #f6f7f9; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { margin: 0 0 4px; font-size: 28px; }
h2 { margin: 32px 0 12px; font-size: 20px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.sub { color: #555; margin: 0 0 16px; }
section { background: #fff; border-radius: 8px; padding: 8px 20px 20px; margin-bottom: 16px; box-shadow: 0 1px 2px rgba(0,0,0,.06); }
table { border-collapse: collapse; width: 100%; font-size: 14px; margin: 8px 0; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
th { color: #555; font-weight: 600; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; color: #fff; background: #777; white-space: nowrap; }
.achieved, .on_track { background: #2d7d46; } .at_risk { background: #b7791f; }
.behind, .missed { background: #9b2c2c; } .no_data { background: #718096; }
.prov { color: #8a5a00; font-size: 12px; }
ul.notes { font-size: 13px; color: #444; margin: 4px 0 12px; }
svg { max-width: 100%; height: auto; display: block; margin: 8px 0; }
.charts { display: grid; grid-template-columns: 1fr; gap: 8px; }
";

fn badge(status: Status) -> String {
    let class = match status {
        Status::Achieved => "achieved",
        Status::OnTrack => "on_track",
        Status::AtRisk => "at_risk",
        Status::Behind => "behind",
        Status::Missed => "missed",
        Status::NoData => "no_data",
    };
    format!("<span class=\"badge {class}\">{}</span>", status.label())
}

fn row(out: &mut String, cells: &[(String, bool)]) {
    out.push_str("<tr>");
    for (c, numeric) in cells {
        let _ = write!(
            out,
            "<td{}>{c}</td>",
            if *numeric { " class=\"n\"" } else { "" }
        );
    }
    out.push_str("</tr>\n");
}

fn head(out: &mut String, headers: &[&str]) {
    out.push_str("<table><tr>");
    for h in headers {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr>\n");
}

fn t(s: impl AsRef<str>) -> (String, bool) {
    (esc(s.as_ref()), false)
}

fn n(s: impl AsRef<str>) -> (String, bool) {
    (esc(s.as_ref()), true)
}

fn goals(out: &mut String, r: &Report) -> Result<(), RenderError> {
    out.push_str("<section><h2>Goals</h2>\n");
    if r.goals.is_empty() && r.goal_errors.is_empty() {
        out.push_str(
            "<p>No goals are configured for this client: add [[goals]] to the config.</p>",
        );
    } else {
        out.push_str(&charts::progress(&r.goals)?);
        // The client column is left out: a report is one client's.
        let shown: Vec<usize> = (0..GOAL_COLUMNS.len())
            .filter(|i| GOAL_COLUMNS[*i].key != "client")
            .collect();
        let headers: Vec<&str> = shown.iter().map(|i| GOAL_COLUMNS[*i].title).collect();
        head(out, &headers);
        for e in &r.goals {
            let cells = goal_row(e);
            let row_cells: Vec<(String, bool)> = shown
                .iter()
                .map(|i| match GOAL_COLUMNS[*i].key {
                    "status" => (badge(e.status), false),
                    "data" if e.provisional => {
                        ("<span class=\"prov\">provisional</span>".to_string(), false)
                    }
                    _ if GOAL_COLUMNS[*i].numeric => n(&cells[*i].text),
                    _ => t(&cells[*i].text),
                })
                .collect();
            row(out, &row_cells);
        }
        out.push_str("</table>\n");
        for err in &r.goal_errors {
            let _ = writeln!(out, "<p class=\"prov\">{}</p>", esc(err));
        }
        out.push_str("<div class=\"charts\">\n");
        for e in &r.goals {
            goal_detail(out, e)?;
        }
        out.push_str("</div>\n");
    }
    out.push_str("</section>\n");
    Ok(())
}

fn goal_detail(out: &mut String, e: &Evaluation) -> Result<(), RenderError> {
    out.push_str("<div>");
    if e.chart.actual.is_empty() && e.chart.pace.is_empty() {
        let _ = write!(out, "<h3>{}</h3><p>No data to chart yet.</p>", esc(&e.id));
    } else {
        out.push_str(&charts::goal_line(e)?);
    }
    out.push_str("<ul class=\"notes\">");
    let _ = write!(out, "<li>counts {}</li>", esc(&e.scope));
    if !e.forecast_method.is_empty() {
        let _ = write!(out, "<li>forecast: {}</li>", esc(&e.forecast_method));
    }
    for note in &e.notes {
        let _ = write!(out, "<li>{}</li>", esc(note));
    }
    out.push_str("</ul></div>\n");
    Ok(())
}

fn roi(out: &mut String, r: &Report) {
    let cur = r.currency.as_deref();
    let roi = &r.roi;
    out.push_str("<section><h2>Return on investment</h2>\n");
    head(out, &["figure", "value"]);
    for c in &roi.costs {
        row(
            out,
            &[
                t(format!("cost: {}", c.name)),
                n(money(Some(c.amount), cur)),
            ],
        );
    }
    let lines: [(&str, String); 12] = [
        ("total cost", money(roi.cost, cur)),
        ("revenue", money(roi.revenue, cur)),
        ("leads", num(roi.leads)),
        ("conversions", num(roi.conversions)),
        ("value of leads", money(roi.value_of_leads, cur)),
        ("value of conversions", money(roi.value_of_conversions, cur)),
        ("total value", money(roi.value, cur)),
        ("cost per lead", money(roi.cost_per_lead, cur)),
        ("cost per conversion", money(roi.cost_per_conversion, cur)),
        ("cost per 1,000 impressions", money(roi.cost_per_mille, cur)),
        ("engagement rate", pct(roi.engagement_rate)),
        ("ROI = (value − cost) ÷ cost", pct(roi.roi)),
    ];
    for (label, value) in lines {
        let label = if label == "engagement rate" {
            format!("engagement rate (per {})", roi.engagement_basis)
        } else {
            label.to_string()
        };
        row(out, &[t(label), n(value)]);
    }
    out.push_str("</table>\n<ul class=\"notes\">");
    for note in &roi.notes {
        let _ = write!(out, "<li>{}</li>", esc(note));
    }
    out.push_str("</ul></section>\n");
}

fn funnel(out: &mut String, r: &Report) -> Result<(), RenderError> {
    out.push_str("<section><h2>Funnel</h2>\n");
    out.push_str(&charts::funnel(&r.funnel)?);
    head(out, &["stage", "total", "rate from previous stage", "from"]);
    for s in &r.funnel.stages {
        let from: Vec<String> = s
            .metrics
            .iter()
            .map(|(m, v)| format!("{m} {}", num(Some(*v))))
            .collect();
        row(
            out,
            &[
                t(s.stage),
                n(num(s.total)),
                n(pct(s.rate)),
                t(from.join(", ")),
            ],
        );
    }
    out.push_str("</table></section>\n");
    Ok(())
}

fn month_over_month(out: &mut String, r: &Report) -> Result<(), RenderError> {
    out.push_str("<section><h2>Month over month</h2>\n");
    out.push_str(&charts::month_over_month(&r.month_over_month)?);
    head(
        out,
        &[
            "platform",
            "metric",
            "measure",
            "this month",
            "last month",
            "change",
            "change %",
        ],
    );
    for c in &r.month_over_month {
        row(
            out,
            &[
                t(&c.platform),
                t(&c.metric),
                t(c.measure),
                n(num(c.this_month)),
                n(num(c.last_month)),
                n(signed(c.change)),
                n(c.change_pct
                    .map_or_else(|| "–".into(), |p| format!("{:+.1} %", p * 100.0))),
            ],
        );
    }
    out.push_str("</table></section>\n");
    Ok(())
}

fn tail_sections(out: &mut String, r: &Report) {
    out.push_str("<section><h2>Top posts by engagement</h2>\n");
    head(out, &["post", "platform", "kind", "engagement", "views"]);
    for p in &r.top_posts {
        row(
            out,
            &[
                t(p.name.clone().unwrap_or_else(|| p.id.clone())),
                t(&p.platform),
                t(&p.kind),
                n(num(Some(p.engagement))),
                n(num(p.views)),
            ],
        );
    }
    out.push_str("</table></section>\n<section><h2>Top segments</h2>\n");
    if r.segments.is_empty() {
        out.push_str(
            "<p>No connector of this client collects breakdowns (country, age, gender).</p>",
        );
    } else {
        head(out, &["metric", "dimension", "value", "amount", "share"]);
        for s in &r.segments {
            row(
                out,
                &[
                    t(&s.metric),
                    t(&s.dimension),
                    t(&s.value),
                    n(num(Some(s.amount))),
                    n(pct(Some(s.share))),
                ],
            );
        }
        out.push_str("</table>");
    }
    out.push_str("</section>\n<section><h2>Where the numbers come from</h2>\n");
    head(
        out,
        &[
            "source",
            "fed by",
            "last pulled or imported",
            "points this month",
            "data",
        ],
    );
    for p in &r.provenance {
        row(
            out,
            &[
                t(&p.source),
                t(&p.origin),
                t(p.last_run.map_or_else(
                    || "never".into(),
                    |x| x.format("%Y-%m-%d %H:%M UTC").to_string(),
                )),
                n(num(Some(p.points as f64))),
                t(&p.status),
            ],
        );
    }
    out.push_str("</table></section>\n");
}

/// Renders the whole page.
pub fn render(r: &Report) -> Result<String, RenderError> {
    let mut out = String::with_capacity(64 * 1024);
    let title = format!("{} — {}", r.client.name, r.month);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>\n",
        esc(&title)
    );
    let _ = writeln!(
        out,
        "<h1>{}</h1><p class=\"sub\">{} to {} ({}) · figures as of {}{}</p>",
        esc(&title),
        r.start,
        r.end,
        esc(&r.client.timezone),
        r.as_of.format("%Y-%m-%d %H:%M UTC"),
        if r.complete {
            ""
        } else {
            " · month in progress"
        }
    );
    goals(&mut out, r)?;
    roi(&mut out, r);
    funnel(&mut out, r)?;
    month_over_month(&mut out, r)?;
    tail_sections(&mut out, r);
    out.push_str("</main></body></html>\n");
    Ok(out)
}
