//! The report's charts, drawn as SVG with `plotters`: progress bars per goal,
//! each goal's metric over its period against the target pace, the funnel,
//! and month-over-month change.
//!
//! Colours are public so the screenshot test can look for them in the
//! rendered page.

use crate::numbers::{num, pct};
use crate::RenderError;
use chrono::{Days, NaiveDate};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use tally_goals::report::{Change, Funnel};
use tally_goals::Evaluation;

/// Bars of goal progress and the actual line of goal charts (red, green, blue).
pub const PROGRESS_RGB: (u8, u8, u8) = (46, 134, 222);
/// The target pace line and the expected-by-now marker.
pub const PACE_RGB: (u8, u8, u8) = (230, 81, 0);
/// Funnel stages.
pub const FUNNEL_RGB: (u8, u8, u8) = (16, 172, 132);
/// Month-over-month increases.
pub const MOM_UP_RGB: (u8, u8, u8) = (142, 68, 173);
/// Month-over-month decreases.
pub const MOM_DOWN_RGB: (u8, u8, u8) = (192, 57, 43);

const fn color(rgb: (u8, u8, u8)) -> RGBColor {
    RGBColor(rgb.0, rgb.1, rgb.2)
}

const PROGRESS_COLOR: RGBColor = color(PROGRESS_RGB);
const PACE_COLOR: RGBColor = color(PACE_RGB);
const FUNNEL_COLOR: RGBColor = color(FUNNEL_RGB);
const MOM_UP_COLOR: RGBColor = color(MOM_UP_RGB);
const MOM_DOWN_COLOR: RGBColor = color(MOM_DOWN_RGB);

const WIDTH: u32 = 760;
const GRID: RGBColor = RGBColor(225, 225, 225);
const INK: RGBColor = RGBColor(40, 40, 40);

fn chart_err(chart: &'static str) -> impl Fn(String) -> RenderError {
    move |detail| RenderError::Chart { chart, detail }
}

/// Draws into a fresh SVG of `height` pixels.
fn svg(
    chart: &'static str,
    height: u32,
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), String>,
) -> Result<String, RenderError> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| e.to_string())
            .map_err(chart_err(chart))?;
        draw(&root).map_err(chart_err(chart))?;
        root.present()
            .map_err(|e| e.to_string())
            .map_err(chart_err(chart))?;
    }
    Ok(out)
}

fn text(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    s: &str,
    at: (i32, i32),
    size: u32,
    h: HPos,
) -> Result<(), String> {
    let style = ("sans-serif", size)
        .into_font()
        .color(&INK)
        .pos(Pos::new(h, VPos::Center));
    area.draw(&Text::new(s.to_string(), at, style))
        .map_err(|e| e.to_string())
}

/// How far a goal is towards its target, 0 to 1.2 (ratios: how well inside the bound).
pub fn progress_of(e: &Evaluation) -> Option<f64> {
    let actual = e.actual?;
    let p = match e.bound {
        Some("at_most") if actual > 0.0 => (e.target / actual).min(1.0),
        Some("at_most") => 1.0,
        Some(_) if e.target > 0.0 => actual / e.target,
        _ if e.target > 0.0 => actual / e.target,
        _ => 1.0,
    };
    Some(p.clamp(0.0, 1.2))
}

/// Horizontal bars: one per goal, filled to its progress, with a tick at the
/// expected-by-now position.
pub fn progress(goals: &[Evaluation]) -> Result<String, RenderError> {
    let row = 34;
    let height = (goals.len() as u32 * row + 40).max(80);
    svg("goal progress", height, |root| {
        let left = 230;
        let right = WIDTH as i32 - 90;
        let scale = |p: f64| left + ((right - left) as f64 * p / 1.2) as i32;
        for (i, e) in goals.iter().enumerate() {
            let y = 20 + i as i32 * row as i32;
            text(root, &e.id, (left - 10, y + 11), 14, HPos::Right)?;
            root.draw(&Rectangle::new([(left, y), (right, y + 22)], GRID.filled()))
                .map_err(|e| e.to_string())?;
            let p = progress_of(e);
            if let Some(p) = p {
                root.draw(&Rectangle::new(
                    [(left, y), (scale(p), y + 22)],
                    PROGRESS_COLOR.filled(),
                ))
                .map_err(|e| e.to_string())?;
            }
            let expected = match (e.expected, e.bound) {
                (Some(x), None) if e.target > 0.0 => Some((x / e.target).clamp(0.0, 1.2)),
                _ => None,
            };
            if let Some(x) = expected {
                let xe = scale(x);
                root.draw(&Rectangle::new(
                    [(xe - 2, y - 4), (xe + 2, y + 26)],
                    PACE_COLOR.filled(),
                ))
                .map_err(|e| e.to_string())?;
            }
            let label = p.map_or_else(|| "no data".to_string(), |p| pct(Some(p)));
            text(root, &label, (right + 8, y + 11), 13, HPos::Left)?;
        }
        let full = scale(1.0);
        root.draw(&PathElement::new(
            vec![(full, 10), (full, height as i32 - 14)],
            INK.stroke_width(1),
        ))
        .map_err(|e| e.to_string())?;
        text(root, "target", (full, height as i32 - 8), 12, HPos::Center)
    })
}

fn day_offset(start: NaiveDate, d: NaiveDate) -> f64 {
    (d - start).num_days() as f64
}

/// One goal's metric over its period: the actual, the straight pace to the
/// target and the forecast at the period's end.
pub fn goal_line(e: &Evaluation) -> Result<String, RenderError> {
    let start = e.start;
    let span = ((e.end - start).num_days() as f64).max(1.0);
    let values = e
        .chart
        .actual
        .iter()
        .map(|p| p.1)
        .chain(e.chart.pace.iter().map(|p| p.1))
        .chain(e.chart.forecast.map(|p| p.1));
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let (lo, hi) = if lo.is_finite() {
        (lo.min(0.0), hi)
    } else {
        (0.0, 1.0)
    };
    let pad = ((hi - lo) * 0.08).max(1.0);
    svg("goal", 260, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .caption(
                format!("{} — {} ({})", e.id, e.metric, e.unit),
                ("sans-serif", 15),
            )
            .x_label_area_size(28)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..span, lo..hi + pad)
            .map_err(|e| e.to_string())?;
        let date_label = |x: &f64| {
            start
                .checked_add_days(Days::new(x.max(0.0) as u64))
                .map_or_else(String::new, |d| d.format("%b %d").to_string())
        };
        chart
            .configure_mesh()
            .light_line_style(GRID)
            .x_labels(6)
            .y_labels(5)
            .x_label_formatter(&date_label)
            .y_label_formatter(&|v| num(Some(*v)))
            .draw()
            .map_err(|e| e.to_string())?;
        let pace: Vec<(f64, f64)> = e
            .chart
            .pace
            .iter()
            .map(|(d, v)| (day_offset(start, *d), *v))
            .collect();
        chart
            .draw_series(LineSeries::new(pace, PACE_COLOR.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(if e.bound.is_some() {
                "bound"
            } else {
                "target pace"
            })
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], PACE_COLOR.stroke_width(2))
            });
        let actual: Vec<(f64, f64)> = e
            .chart
            .actual
            .iter()
            .map(|(d, v)| (day_offset(start, *d), *v))
            .collect();
        if let (Some(last), Some((fd, fv))) = (actual.last().copied(), e.chart.forecast) {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![last, (day_offset(start, fd), fv)],
                    6,
                    4,
                    PROGRESS_COLOR.stroke_width(2),
                ))
                .map_err(|e| e.to_string())?
                .label("forecast")
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], PROGRESS_COLOR.stroke_width(1))
                });
        }
        chart
            .draw_series(LineSeries::new(
                actual.clone(),
                PROGRESS_COLOR.stroke_width(3),
            ))
            .map_err(|e| e.to_string())?
            .label("actual")
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], PROGRESS_COLOR.stroke_width(3))
            });
        chart
            .draw_series(
                actual
                    .iter()
                    .map(|p| Circle::new(*p, 3, PROGRESS_COLOR.filled())),
            )
            .map_err(|e| e.to_string())?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(GRID)
            .draw()
            .map_err(|e| e.to_string())
    })
}

/// The funnel: one centred bar per stage, width on a log scale so a stage of
/// 20 leads stays visible under 50,000 impressions, with totals and rates.
pub fn funnel(f: &Funnel) -> Result<String, RenderError> {
    let row = 58;
    let height = f.stages.len() as u32 * row + 20;
    let max = f.stages.iter().filter_map(|s| s.total).fold(0.0, f64::max);
    svg("funnel", height, |root| {
        let centre = 330;
        let half_max = 220.0;
        for (i, s) in f.stages.iter().enumerate() {
            let y = 10 + i as i32 * row as i32;
            let total = s.total.unwrap_or(0.0);
            let share = if max > 0.0 && total > 0.0 {
                ((total + 1.0).ln() / (max + 1.0).ln()).clamp(0.05, 1.0)
            } else {
                0.02
            };
            let half = (half_max * share) as i32;
            root.draw(&Rectangle::new(
                [(centre - half, y), (centre + half, y + 40)],
                FUNNEL_COLOR.filled(),
            ))
            .map_err(|e| e.to_string())?;
            text(
                root,
                s.stage,
                (centre - half_max as i32 - 14, y + 20),
                14,
                HPos::Right,
            )?;
            let rate = s
                .rate
                .map(|r| format!(" ({} of the stage above)", pct(Some(r))))
                .unwrap_or_default();
            text(
                root,
                &format!(
                    "{}{rate}",
                    s.total
                        .map_or_else(|| "no data".to_string(), |t| num(Some(t)))
                ),
                (centre + half_max as i32 + 14, y + 20),
                13,
                HPos::Left,
            )?;
        }
        Ok(())
    })
}

/// Month over month: one bar per metric and platform, the change as a share
/// of the previous month, up in one colour and down in another.
pub fn month_over_month(changes: &[Change]) -> Result<String, RenderError> {
    let rows: Vec<&Change> = changes
        .iter()
        .filter(|c| c.change_pct.is_some())
        .take(16)
        .collect();
    let row = 26;
    let height = (rows.len() as u32 * row + 40).max(80);
    svg("month over month", height, |root| {
        if rows.is_empty() {
            return text(
                root,
                "no metric has figures for both months yet",
                (WIDTH as i32 / 2, 40),
                14,
                HPos::Center,
            );
        }
        let max = rows
            .iter()
            .filter_map(|c| c.change_pct)
            .fold(0.01, |m: f64, v| m.max(v.abs()))
            .min(5.0);
        let centre = 480;
        let half = 200.0;
        for (i, c) in rows.iter().enumerate() {
            let y = 14 + i as i32 * row as i32;
            let v = c.change_pct.unwrap_or(0.0).clamp(-max, max);
            let w = (half * v.abs() / max) as i32;
            let (x0, x1, color) = if v >= 0.0 {
                (centre, centre + w.max(2), MOM_UP_COLOR)
            } else {
                (centre - w.max(2), centre, MOM_DOWN_COLOR)
            };
            root.draw(&Rectangle::new([(x0, y), (x1, y + 18)], color.filled()))
                .map_err(|e| e.to_string())?;
            let label = format!("{} {} ({})", c.platform, c.metric, c.measure);
            text(
                root,
                &label,
                (centre - half as i32 - 10, y + 9),
                12,
                HPos::Right,
            )?;
            let value = c
                .change_pct
                .map(|p| format!("{:+.1} %", p * 100.0))
                .unwrap_or_default();
            let (x, h) = if v >= 0.0 {
                (x1 + 6, HPos::Left)
            } else {
                (x0 - 6, HPos::Right)
            };
            text(root, &value, (x, y + 9), 12, h)?;
        }
        root.draw(&PathElement::new(
            vec![(centre, 6), (centre, height as i32 - 6)],
            INK.stroke_width(1),
        ))
        .map_err(|e| e.to_string())
    })
}
