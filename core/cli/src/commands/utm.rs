//! `tally utm`: links tagged for analytics, one per platform a post goes to,
//! so sessions and conversions can be attributed back to social posts.

use crate::output::{Cell, Format, Rows};
use std::process::ExitCode;
use tally_goals::utm::{tag, UtmTags};

/// Arguments of `tally utm`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The page the link opens.
    #[arg(long)]
    url: String,
    /// The campaign (`utm_campaign`), e.g. june-launch.
    #[arg(long)]
    campaign: String,
    /// A platform the link is posted on (`utm_source`); repeat for several.
    #[arg(long = "platform", value_name = "PLATFORM", required = true)]
    platforms: Vec<String>,
    /// The channel kind (`utm_medium`).
    #[arg(long, default_value = "social")]
    medium: String,
    /// Which post or variant (`utm_content`), e.g. croissant-reel.
    #[arg(long)]
    content: Option<String>,
    /// A keyword (`utm_term`).
    #[arg(long)]
    term: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Prints one tagged link per platform.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut rows = Rows::new(vec!["platform", "link"]);
    for platform in &args.platforms {
        let tags = UtmTags {
            source: platform.clone(),
            medium: args.medium.clone(),
            campaign: args.campaign.clone(),
            content: args.content.clone(),
            term: args.term.clone(),
        };
        rows.push(vec![
            Cell::text(platform.clone()),
            Cell::text(tag(&args.url, &tags)?),
        ]);
    }
    print!("{}", rows.render(args.format));
    Ok(ExitCode::SUCCESS)
}
