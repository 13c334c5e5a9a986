//! `tally new-connector NAME`: a connector crate that builds, passes its own
//! tests and the conformance kit before its author changes a line.
//!
//! Why a generator and not a page of instructions: the first hour with a new
//! connector goes into wiring (crate types, the plugin export, the testkit, a
//! mock server, fixtures, the sample config test), and a crate that starts green
//! lets the author change one thing at a time and see which change broke what.
//! The templates live in `core/cli/templates/connector/` and are embedded in the
//! binary, so `tally` needs no data files at run time; the crate depends on this
//! Tally checkout by path (`--tally-path` points elsewhere), and has its own
//! `[workspace]` so it builds wherever it is created.

use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Arguments of `tally new-connector`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Connector name: lower-case letters, digits, `-` or `_`, starting with a letter (`acme-social`).
    name: String,
    /// Directory to create the crate in (default: `./NAME`); it must not exist or be empty.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The Tally checkout the crate depends on by path (default: the one this `tally` was built from).
    #[arg(long, value_name = "PATH")]
    tally_path: Option<PathBuf>,
    /// A connector manifest (`NAME.connector.toml`, no Rust) and the tests that check it, instead of a crate.
    #[arg(long)]
    manifest: bool,
}

/// A template: its path in the new crate and its text, embedded from
/// `core/cli/templates/connector/<path>.tmpl`.
macro_rules! template {
    ($path:literal) => {
        (
            $path,
            include_str!(concat!("../../templates/connector/", $path, ".tmpl")),
        )
    };
}

/// Every file of the new crate.
const TEMPLATES: &[(&str, &str)] = &[
    template!("Cargo.toml"),
    template!(".gitignore"),
    template!("README.md"),
    template!("sample.toml"),
    template!("src/lib.rs"),
    template!("src/parse.rs"),
    template!("tests/pull.rs"),
    template!("tests/support/mod.rs"),
    template!("testdata/account.json"),
    template!("testdata/account_empty.json"),
    template!("testdata/posts_1.json"),
    template!("testdata/posts_2.json"),
    template!("testdata/posts_3.json"),
    template!("testdata/posts_empty.json"),
];

/// A manifest template: embedded from `core/cli/templates/manifest/<path>.tmpl`.
macro_rules! manifest_template {
    ($path:literal) => {
        (
            $path,
            include_str!(concat!("../../templates/manifest/", $path, ".tmpl")),
        )
    };
}

/// Every file of a new manifest and its tests; `{{name}}` in a path is the connector name.
const MANIFEST_TEMPLATES: &[(&str, &str)] = &[
    (
        "{{name}}.connector.toml",
        include_str!("../../templates/manifest/connector.toml.tmpl"),
    ),
    manifest_template!("Cargo.toml"),
    manifest_template!("README.md"),
    manifest_template!("tests/manifest.rs"),
    manifest_template!("testdata/account.json"),
    manifest_template!("testdata/posts_1.json"),
    manifest_template!("testdata/posts_2.json"),
];

/// Type names the templates import; a connector type with one of these names would clash.
const TAKEN_TYPES: &[&str] = &[
    "Self",
    "Account",
    "Arc",
    "AuthKind",
    "Connector",
    "ConnectorError",
    "Credential",
    "DateTime",
    "Description",
    "Deserialize",
    "Emitter",
    "Entity",
    "EntityKind",
    "Fixtures",
    "HashSet",
    "HttpClient",
    "Mock",
    "MockServer",
    "Point",
    "Post",
    "PostPage",
    "ResponseTemplate",
    "Settings",
    "Source",
    "SourceContext",
    "Step",
    "Utc",
    "Value",
];

/// Creates the crate and says what to do next.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let names = Names::new(&args.name)?;
    let tally = tally_checkout(args.tally_path)?;
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(&args.name));
    let templates = if args.manifest {
        MANIFEST_TEMPLATES
    } else {
        TEMPLATES
    };
    let files = render(&names, &tally, templates)?;
    prepare_dir(&dir)?;
    for (relative, text) in &files {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("could not create {}", parent.display()))?;
        }
        std::fs::write(&path, text)
            .with_context(|| format!("could not write {}", path.display()))?;
    }
    if !rustfmt(&dir, &files) {
        println!(
            "(rustfmt did not run: `cargo fmt` in the new crate wraps lines to your name's length)"
        );
    }
    println!(
        "Created connector `{}` (crate {}) in {}:",
        names.name,
        names.crate_name,
        dir.display()
    );
    for (relative, _) in &files {
        println!("  {relative}");
    }
    if args.manifest {
        println!(
            "\nNext:\n  cd {}\n  cargo test        # the manifest's tests and Tally's conformance kit pass as generated\n\
             Then replace the made-up API with your platform's (the manifest's comments say how; every key\n\
             is in {}), and put {}.connector.toml in one of `[plugins] dirs`.",
            dir.display(),
            tally.join("connectors/manifest/REFERENCE.md").display(),
            names.name
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "\nNext:\n  cd {}\n  cargo test        # its tests and Tally's conformance kit pass as generated\n\
         Then replace the made-up API with your platform's (README.md says where), and see\n\
         {} for building it as a plugin and loading it.",
        dir.display(),
        tally.join("plugins").join("README.md").display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The names a connector called `name` goes by in its crate.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Names {
    /// `acme-social`: the connector name in config and on points.
    name: String,
    /// `tally-acme-social`: the package.
    crate_name: String,
    /// `tally_acme_social`: the library, and the plugin file's stem.
    lib: String,
    /// `AcmeSocial`: the connector type.
    type_name: String,
    /// `Acme Social`: the platform in prose.
    title: String,
    /// `ACME_SOCIAL`: the prefix of its environment variables.
    env: String,
}

impl Names {
    /// Checks `name` and derives the others from it.
    fn new(name: &str) -> anyhow::Result<Names> {
        let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            && !name.ends_with(['-', '_'])
            && !name.contains("--")
            && !name.contains("__");
        if !valid {
            bail!(
                "connector name `{name}` must start with a lower-case letter and hold only lower-case letters, digits and single `-` or `_` (like `acme-social`)"
            );
        }
        let words = crate::names::title_words(name);
        let type_name = words.concat();
        if TAKEN_TYPES.contains(&type_name.as_str()) {
            bail!(
                "connector name `{name}` would make a type `{type_name}`, which the generated code already uses; pick another name (like `{name}-social`)"
            );
        }
        let crate_name = if name.starts_with("tally-") || name.starts_with("tally_") {
            name.to_string()
        } else {
            format!("tally-{name}")
        };
        Ok(Names {
            name: name.to_string(),
            lib: crate_name.replace('-', "_"),
            crate_name,
            type_name,
            title: words.join(" "),
            env: name.to_ascii_uppercase().replace('-', "_"),
        })
    }
}

/// The Tally checkout to depend on: `given`, or the one this binary was built from.
fn tally_checkout(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let (path, origin) = match given {
        Some(path) => (
            std::path::absolute(&path)
                .with_context(|| format!("could not resolve --tally-path {}", path.display()))?,
            "--tally-path",
        ),
        None => {
            let cli = Path::new(env!("CARGO_MANIFEST_DIR"));
            let root = cli.parent().and_then(Path::parent).unwrap_or(cli);
            (root.to_path_buf(), "the checkout this tally was built from")
        }
    };
    for member in ["core/model", "core/host", "core/testkit", "plugins/sdk"] {
        if !path.join(member).join("Cargo.toml").is_file() {
            bail!(
                "{} ({origin}) is not a Tally checkout: {member}/Cargo.toml is missing; pass --tally-path with the directory of Tally's workspace Cargo.toml",
                path.display()
            );
        }
    }
    Ok(path)
}

/// Every template with its placeholders filled in, in its text and its path.
/// A placeholder is `{{word}}`; `{{ record.id }}` (with a space) is a
/// manifest's own template and is kept.
fn render(
    names: &Names,
    tally: &Path,
    templates: &[(&str, &str)],
) -> anyhow::Result<Vec<(String, String)>> {
    let Some(tally) = tally.to_str() else {
        bail!(
            "the Tally path {} is not valid UTF-8, which Cargo.toml cannot hold; pass --tally-path",
            tally.display()
        );
    };
    if tally.contains('\'') || tally.contains('\n') {
        bail!("the Tally path `{tally}` contains a quote or a line break, which the generated Cargo.toml cannot hold; pass --tally-path");
    }
    let values = [
        ("{{name}}", names.name.as_str()),
        ("{{crate}}", names.crate_name.as_str()),
        ("{{lib}}", names.lib.as_str()),
        ("{{Type}}", names.type_name.as_str()),
        ("{{title}}", names.title.as_str()),
        ("{{ENV}}", names.env.as_str()),
        ("{{tally}}", tally),
    ];
    let fill = |template: &str| {
        values
            .iter()
            .fold(template.to_string(), |text, (key, value)| {
                text.replace(key, value)
            })
    };
    templates
        .iter()
        .map(|(relative, template)| {
            let text = fill(template);
            let unknown = text
                .match_indices("{{")
                .find(|(at, _)| text[at + 2..].starts_with(|c: char| c.is_ascii_alphabetic()));
            if let Some((at, _)) = unknown {
                let near: String = text[at..].chars().take(24).collect();
                bail!("template {relative} has an unknown placeholder at `{near}`");
            }
            Ok((fill(relative), text))
        })
        .collect()
}

/// Formats the new crate's Rust files with rustfmt, so the crate starts
/// `cargo fmt`-clean whatever the length of its names; returns whether it ran.
/// Without rustfmt the files are as valid, only wrapped as the templates are.
fn rustfmt(dir: &Path, files: &[(String, String)]) -> bool {
    let sources: Vec<PathBuf> = files
        .iter()
        .filter(|(relative, _)| relative.ends_with(".rs"))
        .map(|(relative, _)| dir.join(relative))
        .collect();
    Command::new("rustfmt")
        .args(["--edition", "2021"])
        .args(&sources)
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Creates `dir`, or accepts it if it exists and is empty.
fn prepare_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        if !dir.is_dir() {
            bail!(
                "{} exists and is not a directory; choose another --dir",
                dir.display()
            );
        }
        let mut entries =
            std::fs::read_dir(dir).with_context(|| format!("could not read {}", dir.display()))?;
        if entries.next().is_some() {
            bail!(
                "{} already exists and is not empty; choose another --dir (or remove it) so nothing is overwritten",
                dir.display()
            );
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_derive_from_the_connector_name() {
        let n = Names::new("acme-social2").unwrap();
        assert_eq!(
            (
                n.crate_name.as_str(),
                n.lib.as_str(),
                n.type_name.as_str(),
                n.title.as_str(),
                n.env.as_str()
            ),
            (
                "tally-acme-social2",
                "tally_acme_social2",
                "AcmeSocial2",
                "Acme Social2",
                "ACME_SOCIAL2"
            )
        );
        assert_eq!(Names::new("tally_foo").unwrap().crate_name, "tally_foo");
    }

    #[test]
    fn bad_names_are_refused_saying_what_is_allowed() {
        for bad in [
            "",
            "Acme",
            "2acme",
            "acme social",
            "acme-",
            "a--b",
            "acme.io",
            "café",
        ] {
            let e = Names::new(bad).unwrap_err().to_string();
            assert!(
                e.contains("must start with a lower-case letter"),
                "{bad}: {e}"
            );
        }
        let e = Names::new("connector").unwrap_err().to_string();
        assert!(e.contains("type `Connector`"), "{e}");
    }

    #[test]
    fn every_placeholder_is_filled_and_the_manifest_points_at_the_checkout() {
        let tally = tally_checkout(None).unwrap();
        let files = render(&Names::new("acme").unwrap(), &tally, TEMPLATES).unwrap();
        assert_eq!(files.len(), TEMPLATES.len());
        let manifest = &files.iter().find(|(p, _)| *p == "Cargo.toml").unwrap().1;
        let model = format!("path = '{}/core/model'", tally.display());
        assert!(manifest.contains(&model), "{manifest}");
        assert!(manifest.contains("name = \"tally-acme\""), "{manifest}");
        let lib = &files.iter().find(|(p, _)| *p == "src/lib.rs").unwrap().1;
        assert!(lib.contains("pub struct Acme;") && lib.contains("export_connector!(Acme);"));
        let sample = &files.iter().find(|(p, _)| *p == "sample.toml").unwrap().1;
        assert!(sample.contains("token = \"${ACME_TOKEN}\""), "{sample}");
    }

    #[test]
    fn a_manifest_scaffold_keeps_the_manifests_own_templates_and_compiles() {
        let tally = tally_checkout(None).unwrap();
        let files = render(
            &Names::new("acme-social").unwrap(),
            &tally,
            MANIFEST_TEMPLATES,
        )
        .unwrap();
        let (path, text) = &files[0];
        assert_eq!(path, "acme-social.connector.toml");
        assert!(text.contains("id = \"{{ record.id }}\""), "{text}");
        let connector = tally_manifest::load(path, text).unwrap_or_else(|e| panic!("{e}"));
        use tally_model::Connector;
        assert_eq!(connector.describe().name, "acme-social");
        let test = &files
            .iter()
            .find(|(p, _)| p == "tests/manifest.rs")
            .unwrap()
            .1;
        assert!(
            test.contains("include_str!(\"../acme-social.connector.toml\")"),
            "{test}"
        );
    }

    #[test]
    fn a_directory_that_is_not_a_tally_checkout_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = tally_checkout(Some(dir.path().to_path_buf()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("is not a Tally checkout") && e.contains("--tally-path"),
            "{e}"
        );
    }
}
