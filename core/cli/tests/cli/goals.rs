//! `tally import`, `tally goals`, `tally report` and `tally utm` as a user
//! runs them, and the HTML report rendered by headless Chromium.

use super::{tally, text, write_config};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const CONFIG: &str = r#"
[storage]
path = "tally.db"

[[clients]]
id = "bakery"
name = "Corner Bakery"
timezone = "America/Chicago"
currency = "USD"
value_per_lead = 40

[[goals]]
id = "followers"
client = "bakery"
metric = "audience.followers"
kind = "growth"
target = 100
period = "month"

[[goals]]
id = "leads"
client = "bakery"
metric = "conversions.leads"
kind = "total"
target = 30
period = "month"

[[goals]]
id = "cost-per-lead"
client = "bakery"
kind = "ratio"
numerator = "cost.spend"
denominator = "conversions.leads"
at_most = 60
period = "month"

[[goals]]
id = "followers-by-august"
client = "bakery"
metric = "audience.followers"
kind = "level"
target = 1200
by = 2026-08-31

[[costs]]
client = "bakery"
name = "agency retainer"
amount = 600
currency = "USD"
period = "month"
"#;

/// Two months of a bakery's figures: followers read on June 1 and 20 (the
/// issue's example), leads, spend, impressions by country, two posts.
const DATA: &str = "\
source,platform,entity,entity_name,metric,value,unit,kind,at,period_start,period_end,country
sheet,offline,account:bakery,,audience.followers,950,,,2026-05-01,,,
sheet,offline,account:bakery,,audience.followers,1000,,,2026-06-01,,,
sheet,offline,account:bakery,,audience.followers,1060,,,2026-06-20,,,
sheet,offline,account:bakery,,conversions.leads,6,,,,2026-05-01,2026-06-01,
sheet,offline,account:bakery,,conversions.leads,9,,,,2026-06-01,2026-06-15,
sheet,offline,account:bakery,,conversions.leads,5,,,,2026-06-15,2026-06-21,
sheet,ads,campaign:local,Local ads,cost.spend,150,USD,,,2026-06-01,2026-06-21,
sheet,ads,campaign:local,Local ads,cost.spend,100,USD,,,2026-05-01,2026-06-01,
sheet,ads,campaign:local,Local ads,reach.impressions,12000,,,,2026-06-01,2026-06-21,
sheet,ads,campaign:local,Local ads,reach.impressions,8000,,,,2026-05-01,2026-06-01,
sheet,ads,campaign:local,Local ads,reach.impressions,9000,,,,2026-06-01,2026-06-21,US
sheet,ads,campaign:local,Local ads,reach.impressions,3000,,,,2026-06-01,2026-06-21,CA
sheet,offline,post:p1,Croissant reel,engagement.likes,300,,gauge,2026-06-10,,,
sheet,offline,post:p2,Sourdough <b>class</b>,engagement.likes,120,,gauge,2026-06-12,,,
";

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), CONFIG);
    std::fs::write(dir.path().join("data.csv"), DATA).unwrap();
    let out = tally(dir.path(), &["import", "data.csv", "--client", "bakery"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    dir
}

#[test]
fn import_then_goals_show_pace_forecast_and_status() {
    let dir = setup();
    let again = tally(dir.path(), &["import", "data.csv"]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stderr).contains("0 new, 0 restated, 14 unchanged"),
        "{}",
        text(&again.stderr)
    );

    let out = tally(
        dir.path(),
        &["goals", "--at", "2026-06-20", "--format", "json"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let goals: Value = serde_json::from_slice(&out.stdout).unwrap();
    let followers = &goals[0];
    assert_eq!(followers["id"], "followers");
    assert_eq!(followers["actual"], 60.0);
    assert!(
        (followers["expected"].as_f64().unwrap() - 65.517).abs() < 0.01,
        "{followers}"
    );
    assert!(
        (followers["forecast"].as_f64().unwrap() - 91.579).abs() < 0.01,
        "{followers}"
    );
    assert_eq!(followers["status"], "at_risk");
    assert_eq!(goals[1]["actual"], 14.0);
    // The retainer's 20 of 30 days (400 of 600) + 150 spend, over 14 leads.
    assert!(
        (goals[2]["actual"].as_f64().unwrap() - 550.0 / 14.0).abs() < 0.01,
        "{}",
        goals[2]
    );

    let table = tally(
        dir.path(),
        &["goals", "--client", "bakery", "--at", "2026-06-20"],
    );
    let stdout = text(&table.stdout);
    assert!(
        stdout.contains("followers") && stdout.contains("at risk"),
        "{stdout}"
    );
    assert!(
        stdout
            .contains("sheet audience.followers: from 1,000 on 2026-06-01 to 1,060 on 2026-06-20"),
        "{stdout}"
    );
}

/// Ten days of June: 30 USD of ads a day and leads on three days, besides
/// the config's retainer of 600 a month.
fn ten_days_of_spend_and_leads() -> String {
    let mut csv = String::from("source,platform,entity,metric,value,unit,kind,at\n");
    for day in 1..=10 {
        csv += &format!("sheet,ads,campaign:local,cost.spend,30,USD,sum,2026-06-{day:02}\n");
    }
    for (day, leads) in [(3, 2), (7, 3), (10, 1)] {
        csv += &format!(
            "sheet,offline,account:bakery,conversions.leads,{leads},count,sum,2026-06-{day:02}\n"
        );
    }
    csv
}

#[test]
fn a_ratio_goal_has_one_actual_in_the_table_the_chart_and_the_report() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), CONFIG);
    std::fs::write(dir.path().join("june.csv"), ten_days_of_spend_and_leads()).unwrap();
    let out = tally(dir.path(), &["import", "june.csv", "--client", "bakery"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = tally(
        dir.path(),
        &["goals", "--at", "2026-06-10", "--format", "json"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let goals: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cpl = goals
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == "cost-per-lead")
        .unwrap();
    // By the end of June 10: 10 of the retainer's 30 days (200) + 10 × 30 of
    // ads = 500, over 2 + 3 + 1 = 6 leads.
    let actual = cpl["actual"].as_f64().unwrap();
    assert!((actual - 500.0 / 6.0).abs() < 1e-9, "{cpl}");
    // The chart's point for the same day is the same number.
    let last = cpl["chart"]["actual"].as_array().unwrap().last().unwrap();
    assert_eq!(last[0], "2026-06-10");
    assert!((last[1].as_f64().unwrap() - actual).abs() < 1e-9, "{cpl}");
    // Forecast: costs go on at 20 + 30 a day (1,500 for the month); leads are
    // sparse, 6 in 9 elapsed days, so the 20 days still without data add
    // 6 ÷ 9 × 20. Over the bound of 60 now and at the month's end: behind.
    let forecast = 1500.0 / (6.0 + 6.0 / 9.0 * 20.0);
    assert!(
        (cpl["forecast"].as_f64().unwrap() - forecast).abs() < 1e-9,
        "{cpl}"
    );
    assert!((cpl["pace"].as_f64().unwrap() - 60.0 / forecast).abs() < 1e-9);
    assert_eq!(cpl["status"], "behind");

    let table = tally(dir.path(), &["goals", "--at", "2026-06-10"]);
    let row = text(&table.stdout)
        .lines()
        .find(|l| l.starts_with("cost-per-lead"))
        .unwrap()
        .to_string();
    assert!(
        row.contains("≤ 60")
            && row.contains("83.33")
            && row.contains("77.3 %")
            && row.contains("behind"),
        "{row}"
    );
    let md = tally(dir.path(), &["report", "--month", "2026-06"]);
    let md = text(&md.stdout);
    let report_row = md
        .lines()
        .find(|l| l.starts_with("| cost-per-lead"))
        .unwrap()
        .to_string();
    // June is over: the whole retainer (600) and 300 of ads over 6 leads.
    assert!(
        report_row.contains("| ≤ 60 | 150 |") && report_row.contains("| missed |"),
        "{report_row}"
    );
}

/// Points with what JSON used to mangle: a Mastodon status id longer than a
/// float's 53 bits, counts, a breakdown, a period, money.
const POINTS: &str = "\
source,platform,entity,entity_name,metric,value,unit,kind,at,period_start,period_end,country
sheet,mastodon,post:117222711073972136,Croissant reel,engagement.likes,42,,gauge,2026-06-10T15:00:00Z,,,
sheet,offline,account:bakery,,audience.followers,1060,,,2026-06-20,,,
sheet,ads,campaign:local,Local ads,reach.impressions,9000,,,,2026-06-01,2026-06-21,US
sheet,ads,campaign:local,Local ads,cost.spend,150.5,USD,,,2026-06-01,2026-06-21,
";

#[test]
fn json_output_is_typed_from_the_data() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), CONFIG);
    std::fs::write(dir.path().join("points.csv"), POINTS).unwrap();
    let out = tally(dir.path(), &["import", "points.csv", "--client", "bakery"]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = tally(dir.path(), &["query", "--format", "json"]);
    let points: Value = serde_json::from_slice(&out.stdout).unwrap();
    let like = points
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["metric"] == "engagement.likes")
        .unwrap();
    assert_eq!(
        like["entity"],
        serde_json::json!({"kind": "post", "id": "117222711073972136", "name": "Croissant reel"})
    );
    assert_eq!(like["value"], serde_json::json!(42));
    assert!(like["value"].is_u64(), "{like}");
    assert_eq!(
        like["time"],
        serde_json::json!({"at": "2026-06-10T15:00:00Z"})
    );
    assert_eq!(like["dimensions"], serde_json::json!({}));
    let impressions = points
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["metric"] == "reach.impressions")
        .unwrap();
    assert_eq!(
        impressions["dimensions"],
        serde_json::json!({"country": "US"})
    );
    assert_eq!(
        impressions["time"],
        serde_json::json!({"period": {"start": "2026-06-01T05:00:00Z", "end": "2026-06-21T05:00:00Z"}})
    );

    // JSON Lines: the same objects, one per line.
    let lines = tally(dir.path(), &["query", "--format", "jsonl"]);
    let parsed: Vec<Value> = text(&lines.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(Value::Array(parsed), points);

    // `tally runs`: an integer id, RFC 3339 times, counts as integers, keys
    // that are names rather than column titles, no reason as null.
    let out = tally(dir.path(), &["runs", "--format", "json"]);
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = &runs[0];
    assert!(run["id"].is_i64() && run["points"].is_u64(), "{run}");
    assert_eq!(run["points"], 4);
    assert!(
        chrono::DateTime::parse_from_rfc3339(run["started_at"].as_str().unwrap()).is_ok(),
        "{run}"
    );
    assert_eq!(run["reason"], Value::Null);
    assert!(run.get("started (UTC)").is_none(), "{run}");
    // CSV stays one flat row per run, headed by the same keys.
    let csv = tally(dir.path(), &["runs", "--format", "csv"]);
    assert!(
        text(&csv.stdout).starts_with("id,source,started_at,finished_at,seconds,status,points,"),
        "{}",
        text(&csv.stdout)
    );
}

#[test]
fn query_json_lines_import_into_a_new_store_as_the_same_points() {
    let first = tempfile::tempdir().unwrap();
    write_config(first.path(), CONFIG);
    std::fs::write(first.path().join("points.csv"), POINTS).unwrap();
    let out = tally(
        first.path(),
        &["import", "points.csv", "--client", "bakery"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let exported = tally(first.path(), &["query", "--format", "jsonl"]);
    assert!(exported.status.success());

    let second = tempfile::tempdir().unwrap();
    write_config(second.path(), CONFIG);
    std::fs::write(second.path().join("points.jsonl"), &exported.stdout).unwrap();
    let out = tally(
        second.path(),
        &["import", "points.jsonl", "--client", "bakery"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("4 new, 0 restated, 0 unchanged"),
        "{}",
        text(&out.stderr)
    );
    let query = |dir: &Path| -> Value {
        serde_json::from_slice(&tally(dir, &["query", "--format", "json"]).stdout).unwrap()
    };
    let (before, after) = (query(first.path()), query(second.path()));
    assert_eq!(before.as_array().unwrap().len(), 4);
    assert_eq!(before, after);
}

#[test]
fn a_bad_import_row_names_its_line_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), CONFIG);
    std::fs::write(
        dir.path().join("bad.csv"),
        "source,platform,entity,metric,value,at\ndoor,offline,event:e,events.attendees,120,2026-06-05T18:00:00Z\ndoor,offline,event:e,events.attendes,3,2026-06-06T18:00:00Z\n",
    )
    .unwrap();
    let out = tally(dir.path(), &["import", "bad.csv", "--client", "bakery"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("bad.csv:3: `events.attendes` is not a canonical metric; did you mean `events.attendees`?"), "{err}");
    assert!(err.contains("nothing of the file was stored"), "{err}");
    let q = tally(dir.path(), &["query", "--format", "json"]);
    assert_eq!(
        serde_json::from_slice::<Value>(&q.stdout).unwrap(),
        serde_json::json!([])
    );
}

#[test]
fn money_in_a_currency_without_a_rate_fails_the_goal_and_says_what_to_add() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), CONFIG);
    std::fs::write(
        dir.path().join("eur.csv"),
        "source,platform,entity,metric,value,unit,period_start,period_end\nsheet,ads,campaign:x,cost.spend,80,EUR,2026-06-01,2026-06-10\nsheet,ads,campaign:x,conversions.leads,4,count,2026-06-01,2026-06-10\n",
    )
    .unwrap();
    assert!(
        tally(dir.path(), &["import", "eur.csv", "--client", "bakery"])
            .status
            .success()
    );
    let out = tally(dir.path(), &["goals", "--at", "2026-06-20"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("goal `cost-per-lead`: cost.spend: amounts in EUR cannot be added to amounts in USD without a rate")
            && err.contains("rates = { EUR = ... }"),
        "{err}"
    );
    // The other goals are still shown.
    assert!(text(&out.stdout).contains("leads"), "{}", text(&out.stdout));
}

#[test]
fn reports_in_markdown_and_json() {
    let dir = setup();
    let md = tally(dir.path(), &["report", "--month", "2026-06"]);
    assert!(md.status.success(), "{}", text(&md.stderr));
    let md = text(&md.stdout);
    for part in [
        "# Corner Bakery — 2026-06",
        "## Goals",
        "## Return on investment",
        "## Funnel",
        "## Month over month",
        "## Top posts by engagement",
        "## Top segments",
        "## Where the numbers come from",
        "import (data.csv)",
    ] {
        assert!(md.contains(part), "{part} missing:\n{md}");
    }
    let out = tally(
        dir.path(),
        &[
            "report",
            "--month",
            "2026-06",
            "--format",
            "json",
            "-o",
            "out/r.json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/r.json")).unwrap()).unwrap();
    assert_eq!(r["month"], "2026-06");
    // Cost: retainer 600 + spend 150; value: 14 leads × 40.
    assert_eq!(r["roi"]["cost"], 750.0);
    assert_eq!(r["roi"]["value"], 560.0);
    assert_eq!(r["top_posts"][0]["name"], "Croissant reel");
    let bad = tally(dir.path(), &["report", "--month", "June"]);
    assert!(
        text(&bad.stderr).contains("`June` is not a month; write it as YYYY-MM"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn utm_links_are_tagged_per_platform() {
    let dir = tempfile::tempdir().unwrap();
    let out = tally(
        dir.path(),
        &[
            "utm",
            "--url",
            "https://bakery.example/menu?lang=en",
            "--campaign",
            "June Launch",
            "--content",
            "croissant-reel",
            "--platform",
            "mastodon",
            "--platform",
            "youtube",
            "--format",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let links: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        links[0]["link"],
        "https://bakery.example/menu?lang=en&utm_source=mastodon&utm_medium=social&utm_campaign=june-launch&utm_content=croissant-reel"
    );
    assert_eq!(links[1]["platform"], "youtube");
    let bad = tally(
        dir.path(),
        &[
            "utm",
            "--url",
            "bakery.example",
            "--campaign",
            "x",
            "--platform",
            "mastodon",
        ],
    );
    assert!(
        text(&bad.stderr).contains("is not an absolute http(s) URL"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn the_demo_prints_goal_status_and_writes_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = tally(dir.path(), &["demo", "--dir", "demo"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("bakery-leads") && stdout.contains("bakery-cost-per-lead"),
        "{stdout}"
    );
    // One pull is one reading: the growth goal says so rather than reporting zero.
    assert!(
        stdout.contains("one reading") && stdout.contains("no data"),
        "{stdout}"
    );
    let html = std::fs::read_to_string(dir.path().join("demo/report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("Corner Bakery"));
    // The bakery's Google side: the reviews goal, sessions and conversions by
    // the demo campaign's source, the review count, rating and new reviews.
    assert!(stdout.contains("bakery-reviews"), "{stdout}");
    for figure in [
        "traffic.sessions",
        "conversions.count",
        "june-launch",
        "reviews.count",
        "reviews.rating",
        "reviews.new",
    ] {
        assert!(html.contains(figure), "{figure} in the report");
    }
}

/// Counts the pixels within a small distance of `rgb`.
fn pixels_near(rgba: &[u8], channels: usize, rgb: (u8, u8, u8)) -> usize {
    rgba.chunks(channels)
        .filter(|p| {
            (i32::from(p[0]) - i32::from(rgb.0)).abs() <= 8
                && (i32::from(p[1]) - i32::from(rgb.1)).abs() <= 8
                && (i32::from(p[2]) - i32::from(rgb.2)).abs() <= 8
        })
        .count()
}

fn chromium() -> &'static str {
    for name in ["chromium", "chromium-browser"] {
        if Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return name;
        }
    }
    panic!(
        "the HTML report test needs headless Chromium: install Debian's `chromium` package \
         (`apt-get install chromium`; .ci/run does this) and run the tests again"
    );
}

fn screenshot(html: &Path, png: &Path, profile: &Path) {
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", profile.display()),
            &format!("--screenshot={}", png.display()),
            "--window-size=1200,2000",
            &format!("file://{}", html.display()),
        ])
        .output()
        .expect("chromium runs");
    assert!(
        png.exists(),
        "chromium wrote no screenshot: {}",
        text(&out.stderr)
    );
}

#[test]
fn the_html_report_shows_its_charts_in_a_browser() {
    let dir = setup();
    let out = tally(
        dir.path(),
        &[
            "report",
            "--month",
            "2026-06",
            "--format",
            "html",
            "-o",
            "report.html",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let html_path = dir.path().join("report.html");
    let html = std::fs::read_to_string(&html_path).unwrap();
    // Self-contained: no scripts, and no address but the SVG namespace.
    let outside = html.replace("http://www.w3.org/2000/svg", "");
    assert!(
        !html.contains("<script") && !outside.contains("http://") && !outside.contains("https://")
    );
    assert!(
        html.contains("Sourdough &lt;b&gt;class&lt;/b&gt;"),
        "post names are escaped"
    );

    // Goals and funnel at the top of the page, month over month further down:
    // one tall screenshot would need a huge window, so take two.
    let profile = tempfile::tempdir().unwrap();
    let top = dir.path().join("top.png");
    screenshot(&html_path, &top, profile.path());
    let lower_html = dir.path().join("lower.html");
    let start = html.find("<section><h2>Return").unwrap();
    let head_end = html.find("<section>").unwrap();
    std::fs::write(
        &lower_html,
        format!("{}{}", &html[..head_end], &html[start..]),
    )
    .unwrap();
    let lower = dir.path().join("lower.png");
    screenshot(&lower_html, &lower, profile.path());

    let decode = |path: &Path| {
        let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        let channels = info.color_type.samples();
        buf.truncate(info.buffer_size());
        (buf, channels)
    };
    let (top, ch_top) = decode(&top);
    let (lower, ch_lower) = decode(&lower);
    let progress = pixels_near(&top, ch_top, tally_report::PROGRESS_RGB);
    let pace = pixels_near(&top, ch_top, tally_report::PACE_RGB);
    let funnel = pixels_near(&lower, ch_lower, tally_report::FUNNEL_RGB);
    let mom = pixels_near(&lower, ch_lower, tally_report::MOM_UP_RGB);
    assert!(
        progress > 5_000,
        "goal progress bars and lines: {progress} pixels"
    );
    assert!(pace > 500, "target pace lines: {pace} pixels");
    assert!(funnel > 5_000, "funnel bars: {funnel} pixels");
    assert!(mom > 1_000, "month-over-month bars: {mom} pixels");
    let white = pixels_near(&top, ch_top, (255, 255, 255));
    assert!(white < top.len() / ch_top * 9 / 10, "the page is not blank");
}
