//! `tally demo`: the whole pipeline on a fresh machine, offline: a sandbox on
//! loopback, a config pointing at it, a fresh SQLite store, a pull of every source
//! and the latest values per source.

use crate::output::number;
use anyhow::Context;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tally_model::EntityKind;
use tally_sandbox::{
    Sandbox, SandboxOptions, SAMPLE_GA4_PROPERTY, SAMPLE_GBP_ACCOUNT, SAMPLE_TOKEN,
};

/// Arguments of `tally demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory for the demo's config and store: replaced on each run, and
    /// refused when it holds a config, store or report the demo did not write.
    #[arg(long, default_value = "tally-demo")]
    dir: PathBuf,
    /// Seed of the simulated data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// Runs the demo and prints what was collected.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    refuse_foreign_files(&args.dir)?;
    let options = SandboxOptions {
        seed: args.seed,
        ..SandboxOptions::default()
    };
    let sandbox = Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), options)
        .await
        .context("starting the sandbox on a free loopback port")?;
    println!(
        "Sandbox of simulated platform APIs on http://{}",
        sandbox.addr()
    );
    let config_path = write_demo_files(&args.dir, &sandbox, args.seed)?;
    println!(
        "Wrote {} (store: {})\n",
        config_path.display(),
        args.dir.join("tally.db").display()
    );

    let runtime = crate::setup::runtime(&config_path)?;
    let sources = runtime.config.sources.clone();
    let outcomes = super::pull::pull_with_progress(
        &runtime.engine,
        sources,
        runtime.config.http.max_concurrency,
    )
    .await;
    print!(
        "{}",
        super::pull::summary(&outcomes).render(crate::output::Format::Table)
    );
    super::pull::print_reasons(&outcomes);

    println!("\nLatest values per source:");
    for source in &runtime.config.sources {
        let latest = runtime
            .store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .latest_per_metric(&source.id)?;
        // Accounts, analytics properties and business locations are what a
        // source is about; posts and videos are its items.
        let accounts: Vec<_> = latest
            .iter()
            // A business (Yelp) or a survey is shown like an account;
            // breakdowns (followers by country, spend by age) are slices of
            // these totals.
            .filter(|p| {
                matches!(
                    p.point.entity.kind,
                    EntityKind::Account
                        | EntityKind::Property
                        | EntityKind::Location
                        | EntityKind::Campaign
                ) && p.point.dimensions.is_empty()
            })
            .collect();
        let items = latest.len() - accounts.len();
        let name = accounts
            .first()
            .and_then(|p| p.point.entity.name.clone())
            .unwrap_or_default();
        println!("  {} ({}) {name}", source.id, source.connector);
        for p in &accounts {
            println!(
                "    {:<22} {:>12}   ({})",
                p.point.metric,
                number(p.point.value),
                p.point.raw_name
            );
        }
        println!(
            "    + {items} per-item and breakdown values (posts, videos, reviews, events, responses)"
        );
    }
    {
        let mut store = runtime.store.lock().unwrap_or_else(|e| e.into_inner());
        super::demo_offline::finish(&args.dir, &runtime.config, &mut store)?;
    }
    println!(
        "\nTry: tally --config {} query --metric audience.followers",
        config_path.display()
    );
    println!(
        "     tally --config {} goals --client bakery",
        config_path.display()
    );
    sandbox.shutdown().await;
    let failed = outcomes
        .iter()
        .any(|o| matches!(o.status, tally_host::pull::SourceStatus::Failed(_)));
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The first line of the config the demo writes: how a later run knows the
/// folder's files are its own to replace.
const DEMO_MARK: &str = "# Written by `tally demo`";

/// The files the demo writes into its folder, the config first.
const DEMO_FILES: [&str; 7] = [
    "tally.toml",
    "tally.db",
    "tally.db-wal",
    "tally.db-shm",
    "offline.csv",
    "report.html",
    "ga4-key.json",
];

/// Refuses a folder holding any file the demo would replace unless its config
/// says the demo wrote them: `tally demo --dir .` in a project must not
/// replace the project's config and store.
fn refuse_foreign_files(dir: &Path) -> anyhow::Result<()> {
    let config = dir.join(DEMO_FILES[0]);
    let ours = match std::fs::read_to_string(&config) {
        Ok(text) => text.starts_with(DEMO_MARK),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(e).with_context(|| format!("reading {}", config.display())),
    };
    if ours {
        return Ok(());
    }
    if let Some(found) = DEMO_FILES.iter().map(|f| dir.join(f)).find(|p| p.exists()) {
        anyhow::bail!(
            "{} was not written by `tally demo`, which would replace it; nothing was changed. \
             Run the demo in a folder of its own, e.g. `tally demo --dir tally-demo`",
            found.display()
        );
    }
    Ok(())
}

/// The bakery's sources whose connectors are built-in manifests: its Yelp
/// business, Eventbrite organization, SurveyMonkey survey (with its "How did
/// you hear about us?" question) and X account.
fn manifest_sources(sandbox: &Sandbox, seed: u64) -> String {
    let survey = tally_sandbox::SAMPLE_SURVEYMONKEY_SURVEY;
    // The sandbox's question ids are a function of the seed and the survey.
    let question = tally_sandbox::data::surveymonkey_survey(seed, survey, chrono::Utc::now())
        .and_then(|s| s.questions.into_iter().next())
        .map(|q| q.id)
        .unwrap_or_default();
    let token = tally_sandbox::SAMPLE_TOKEN;
    [
        ("yelp", "business = \"corner-bakery\"".to_string()),
        (
            "eventbrite",
            format!(
                "organization_id = \"{}\"",
                tally_sandbox::SAMPLE_EVENTBRITE_ORGANIZATION
            ),
        ),
        (
            "surveymonkey",
            format!("survey_id = \"{survey}\"\nquestion_id = \"{question}\""),
        ),
        ("x", "username = \"corner_bakery\"".to_string()),
    ]
    .into_iter()
    .map(|(connector, settings)| {
        format!(
            "\n[[sources]]\nid = \"bakery-{connector}\"\nconnector = \"{connector}\"\nclient = \"bakery\"\n\
             base_url = \"{}\"\n[sources.settings]\n{settings}\n[sources.auth]\nkind = \"bearer\"\ntoken = \"{token}\"\n",
            sandbox.base_url(connector)
        )
    })
    // Bluesky through its manifest: public reads, no credential.
    .chain(std::iter::once(format!(
        "\n[[sources]]\nid = \"bakery-bluesky\"\nconnector = \"bluesky_manifest\"\nclient = \"bakery\"\n\
         base_url = \"{}\"\n[sources.settings]\nactor = \"cornerbakery.bsky.social\"\n[sources.auth]\nkind = \"none\"\n",
        sandbox.base_url("bluesky")
    )))
    .collect()
}

/// Writes a demo config for two clients with a YouTube channel and a Mastodon
/// account each, and for the bakery a Facebook Page, an Instagram account,
/// a Meta ad account, a GA4 property, a Business Profile location, its
/// channel's analytics and the platforms built as manifests, next to a fresh
/// store and the key file of the service account GA4 is read with. Returns
/// the config's path.
fn write_demo_files(dir: &Path, sandbox: &Sandbox, seed: u64) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for name in &DEMO_FILES[1..] {
        let path = dir.join(name);
        if path.exists() {
            std::fs::remove_file(&path)
                .with_context(|| format!("removing the old {}", path.display()))?;
        }
    }
    let youtube = sandbox.base_url("youtube");
    let mastodon = sandbox.base_url("mastodon");
    let meta = sandbox.base_url("meta");
    let ga4 = sandbox.base_url("ga4");
    let gbp = sandbox.base_url("google_business_profile");
    let youtube_analytics = sandbox.base_url("youtube_analytics");
    let config = format!(
        r#"{DEMO_MARK}: every source points at the local sandbox.
[storage]
path = "tally.db"

[[clients]]
id = "bakery"
name = "Corner Bakery"
timezone = "America/Chicago"
currency = "USD"
value_per_lead = 45

[[clients]]
id = "gym"
name = "Riverside Gym"
timezone = "Europe/Berlin"

[[sources]]
id = "bakery-youtube"
connector = "youtube"
client = "bakery"
base_url = "{youtube}"
[sources.settings]
channel_id = "UCcorner_bakery"
[sources.auth]
kind = "api_key"
api_key = "sandbox-key"

[[sources]]
id = "bakery-mastodon"
connector = "mastodon"
client = "bakery"
base_url = "{mastodon}"
[sources.settings]
acct = "corner_bakery@sandbox.example"

[[sources]]
id = "bakery-facebook"
connector = "facebook_pages"
client = "bakery"
base_url = "{meta}"
[sources.settings]
page_id = "1029384756"
[sources.auth]
kind = "bearer"
token = "sandbox-token"

[[sources]]
id = "bakery-instagram"
connector = "instagram"
client = "bakery"
base_url = "{meta}"
[sources.settings]
page_id = "1029384756"
[sources.auth]
kind = "bearer"
token = "sandbox-token"

[[sources]]
id = "bakery-meta-ads"
connector = "meta_ads"
client = "bakery"
base_url = "{meta}"
settle_days = 28
[sources.settings]
ad_account_id = "act_2039485761"
[sources.auth]
kind = "bearer"
token = "sandbox-ads-token"

[[sources]]
id = "gym-youtube"
connector = "youtube"
client = "gym"
base_url = "{youtube}"
[sources.settings]
channel_id = "UCriverside_gym"
[sources.auth]
kind = "api_key"
api_key = "sandbox-key"

[[sources]]
id = "gym-mastodon"
connector = "mastodon"
client = "gym"
base_url = "{mastodon}"
[sources.settings]
acct = "riverside_gym@sandbox.example"

# The bakery's Google side: visits and conversions by campaign (GA4), reviews
# and calls (Business Profile) and its channel's daily analytics.
[[sources]]
id = "bakery-ga4"
connector = "ga4"
client = "bakery"
base_url = "{ga4}"
settle_days = 3
[sources.settings]
property_id = "{SAMPLE_GA4_PROPERTY}"
lead_events = ["generate_lead"]
# A service account's key, as agencies sign in to GA4 (the sandbox's test key,
# which signs nothing real; its token_uri is the sandbox).
[sources.auth]
kind = "service_account"
key_file = "ga4-key.json"

[[sources]]
id = "bakery-gbp"
connector = "google_business_profile"
client = "bakery"
base_url = "{gbp}"
[sources.settings]
account_id = "{SAMPLE_GBP_ACCOUNT}"
timezone = "America/Chicago"
[sources.auth]
kind = "bearer"
token = "{SAMPLE_TOKEN}"

[[sources]]
id = "bakery-youtube-analytics"
connector = "youtube_analytics"
client = "bakery"
base_url = "{youtube_analytics}"
settle_days = 3
[sources.settings]
channel_id = "UCcorner_bakery"
[sources.auth]
kind = "bearer"
token = "{SAMPLE_TOKEN}"

[[goals]]
id = "bakery-reviews"
client = "bakery"
metric = "reviews.count"
sources = ["bakery-gbp"]
kind = "level"
target = 50
by = 2026-12-31
{manifests}{goals}"#,
        manifests = manifest_sources(sandbox, seed),
        goals = super::demo_offline::GOALS
    );
    let key_file = dir.join("ga4-key.json");
    std::fs::write(&key_file, sandbox.service_account_key_file())
        .with_context(|| format!("writing {}", key_file.display()))?;
    let path = dir.join("tally.toml");
    std::fs::write(&path, config).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}
