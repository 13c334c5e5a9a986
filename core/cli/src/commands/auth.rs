//! `tally auth login SOURCE` and `tally auth status`.
//!
//! Login is the one interactive step of OAuth2: print the authorization URL
//! (and open a browser when there is one), take the redirect on a loopback
//! listener or as a pasted address, and store the tokens. Status reads the token
//! files only, to say what each source holds and for how long, never a token.

use crate::output::{Cell, Format, Rows};
use anyhow::{bail, Context};
use std::path::Path;
use std::process::{ExitCode, Stdio};
use std::time::Duration;
use tally_config::secret::Secret;
use tally_config::{AuthMethod, SourceConfig};
use tally_host::auth::{credential_status, CredentialStatus, PendingLogin, TOKEN_KEY_ENV};
use tokio::sync::mpsc;

/// How long a login waits for the browser to come back.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(600);

/// Arguments of `tally auth`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: AuthCommand,
}

#[derive(Debug, clap::Subcommand)]
enum AuthCommand {
    /// Authorize an OAuth2 source in a browser and store its tokens.
    Login(LoginArgs),
    /// Each source's credential: kind, scopes, expiry, refresh; never a token.
    Status(StatusArgs),
}

#[derive(Debug, clap::Args)]
struct LoginArgs {
    /// The source to log in.
    source: String,
    /// Open no browser: open the printed URL anywhere, then paste the address
    /// the browser ends on (for headless servers).
    #[arg(long)]
    no_browser: bool,
    /// Loopback port of the redirect (default: [sources.auth] redirect_port,
    /// else a free port).
    #[arg(long)]
    port: Option<u16>,
}

#[derive(Debug, clap::Args)]
struct StatusArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Runs `tally auth ...`.
pub async fn run(config: &Path, args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        AuthCommand::Login(args) => login(config, args).await,
        AuthCommand::Status(args) => status(config, args),
    }
}

async fn login(config_path: &Path, args: LoginArgs) -> anyhow::Result<ExitCode> {
    let (config, catalog) = crate::setup::load_config(config_path)?;
    let source = find_source(&config.sources, &args.source, config_path)?;
    let description = catalog
        .get(&source.connector)
        .map(|e| e.description.clone())
        .with_context(|| format!("connector `{}` is not available", source.connector))?;
    let tokens = crate::setup::token_providers(&config)?;
    match source.auth.kind {
        AuthMethod::OAuth2 => {}
        AuthMethod::ClientCredentials | AuthMethod::ServiceAccount => {
            // Nothing to authorize; fetching a token now proves the app
            // credentials or the service account's key.
            let provider = tokens.provider_for(source, &description)?;
            provider.renew(None).await?;
            let what = if source.auth.kind == AuthMethod::ServiceAccount {
                "service-account key"
            } else {
                "client credentials"
            };
            println!(
                "source `{}`: {what} accepted; token stored in {}",
                source.id,
                tokens.store().dir().display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        other => bail!(
            "source `{}` uses auth kind `{}`, which has no login; only kind = \"oauth2\" sources log in (\"client_credentials\" and \"service_account\" ones fetch a token to test it)",
            source.id,
            other.as_str()
        ),
    }
    let flow = tokens.flow_for(source, &description)?;
    let port = args.port.or(source.auth.redirect_port).unwrap_or(0);
    let pending = PendingLogin::start(&flow, port).await?;
    println!(
        "Open this address in a browser to authorize source `{}`:\n\n  {}\n",
        source.id,
        pending.url()
    );
    if args.no_browser || !open_browser(pending.url().as_str()) {
        println!(
            "After you approve, the browser goes to {}?code=... If that browser runs on another machine it shows an error page: copy the whole address from its address bar, paste it here and press Enter.",
            pending.redirect_uri()
        );
    } else {
        println!("Waiting for the browser at {} ...", pending.redirect_uri());
    }
    let mut pasted = pasted_lines();
    let code: Secret = tokio::select! {
        received = pending.receive() => received?,
        Some(line) = pasted.recv() => pending.code_from_redirect(&line)?,
        () = tokio::time::sleep(LOGIN_TIMEOUT) => bail!(
            "no redirect arrived within {} minutes; run `tally auth login {}` again",
            LOGIN_TIMEOUT.as_secs() / 60,
            source.id
        ),
    };
    let token = pending.exchange(&flow, &code).await?;
    let store = tokens.store();
    store.save(&token)?;
    let encrypted = if store.is_encrypted() {
        "encrypted"
    } else {
        "not encrypted: set TALLY_TOKEN_KEY or [auth] key_file to encrypt token files"
    };
    println!(
        "source `{}`: logged in. Token stored in {} ({encrypted}).",
        source.id,
        store.path_for(&token.credential)?.display()
    );
    let status = credential_status(source, &description, store, chrono::Utc::now());
    print!(
        "{}",
        status_rows(std::slice::from_ref(&status)).render(Format::Table)
    );
    Ok(ExitCode::SUCCESS)
}

fn status(config_path: &Path, args: StatusArgs) -> anyhow::Result<ExitCode> {
    let (config, catalog) = crate::setup::load_config(config_path)?;
    let store = tally_host::auth::token_store(&config, std::env::var(TOKEN_KEY_ENV).ok())?;
    let now = chrono::Utc::now();
    let statuses: Vec<CredentialStatus> = config
        .sources
        .iter()
        .filter_map(|source| {
            let entry = catalog.get(&source.connector)?;
            Some(credential_status(source, &entry.description, &store, now))
        })
        .collect();
    match args.format {
        format if format.is_json() => {
            print!("{}", crate::output::json_items(&statuses, format)?)
        }
        format => print!("{}", status_rows(&statuses).render(format)),
    }
    let needs_action = statuses.iter().any(|s| {
        s.state == "error"
            || s.hint
                .as_deref()
                .is_some_and(|h| h.contains("tally auth login"))
    });
    Ok(if needs_action {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn status_rows(statuses: &[CredentialStatus]) -> Rows {
    let mut rows = Rows::new([
        ("source", "source"),
        ("kind", "kind"),
        ("state", "state"),
        ("scopes", "scopes"),
        ("expires", "expires_at"),
        ("refresh", "can_refresh"),
        ("long-lived days left", "long_lived_days_left"),
        ("hint", "hint"),
    ]);
    for s in statuses {
        rows.push(vec![
            Cell::text(s.source.clone()),
            Cell::text(s.kind.clone()),
            Cell::text(s.state.clone()),
            if s.scopes.is_empty() {
                Cell::new("-", serde_json::Value::Array(Vec::new()))
            } else {
                Cell::list(&s.scopes)
            },
            s.expires_at.map_or_else(
                || Cell::new("-", serde_json::Value::Null),
                |t| {
                    Cell::new(
                        t.format("%Y-%m-%d %H:%M UTC").to_string(),
                        crate::output::rfc3339(t).into(),
                    )
                },
            ),
            Cell::new(
                if s.can_refresh { "yes" } else { "no" },
                s.can_refresh.into(),
            ),
            Cell::opt_number(s.long_lived_days_left.map(|d| d as f64)),
            Cell::opt_text(s.hint.clone()),
        ]);
    }
    rows
}

fn find_source<'a>(
    sources: &'a [SourceConfig],
    id: &str,
    config_path: &Path,
) -> anyhow::Result<&'a SourceConfig> {
    sources.iter().find(|s| s.id == id).with_context(|| {
        let known: Vec<&str> = sources.iter().map(|s| s.id.as_str()).collect();
        format!(
            "no source `{id}` in {}; the sources are: {}",
            config_path.display(),
            known.join(", ")
        )
    })
}

/// Lines typed or piped on stdin. A plain thread reads them, so a login that
/// ends by the listener does not wait for stdin to close.
fn pasted_lines() -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if !line.trim().is_empty() && tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Tries the desktop's URL opener; false when there is none (a headless
/// server), which is never an error.
fn open_browser(url: &str) -> bool {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        let desktop = ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|v| std::env::var_os(v).is_some());
        if !desktop {
            return false;
        }
        "xdg-open"
    };
    std::process::Command::new(opener)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .is_ok()
}
