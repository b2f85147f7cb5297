//! `flowlake who`: whose address (or interface) it is, as of a time.

use chrono::Utc;
use clap::Args;
use flowlake_context::store;
use flowlake_context::who::{Subject, who};
use flowlake_query::time::parse_time;

use super::Outcome;
use super::inventory::rfc3339;
use super::lake_args::LakeArgs;

#[derive(Debug, Args)]
pub(crate) struct WhoArgs {
    /// An IPv4/IPv6 address or an interface id (eni-…).
    subject: String,

    #[command(flatten)]
    lake: LakeArgs,

    /// As of this time (default: now).
    #[arg(long, allow_hyphen_values = true)]
    at: Option<String>,

    /// Only interfaces of this VPC (private ranges overlap across VPCs).
    #[arg(long)]
    vpc: Option<String>,

    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: WhoArgs) -> anyhow::Result<Outcome> {
    let lake = args.lake.open_existing().await?;
    let inventory = store::load(&lake).await?;
    let now = Utc::now();
    let at = match &args.at {
        Some(t) => parse_time(t, now)?.timestamp(),
        None => now.timestamp(),
    };
    let subject = Subject::parse(&args.subject);
    let mut answers = who(&inventory, &subject, at);
    if let Some(vpc) = &args.vpc {
        answers.retain(|a| a.vpc_id.as_deref() == Some(vpc.as_str()));
    }
    if args.json {
        println!("{}", serde_json::to_string(&answers)?);
        return Ok(Outcome::Done);
    }
    if answers.is_empty() {
        let kind = match subject {
            Subject::Address(ip) if flowlake_context::owner::is_public(ip) => "external",
            Subject::Address(_) => "unknown_private",
            Subject::Interface(_) => "not in the inventory",
        };
        println!("{}: {kind} as of {}", args.subject, rfc3339(at));
        return Ok(Outcome::Done);
    }
    for a in &answers {
        println!(
            "{} {}: {} ({}) in {} / {} [{}] since {}{}",
            args.subject,
            a.address_kind.unwrap_or("interface"),
            a.owner.label(),
            a.eni_id,
            a.vpc_id.as_deref().unwrap_or("-"),
            a.account,
            a.certainty,
            rfc3339(a.valid_from),
            a.owner
                .arn
                .as_ref()
                .map(|arn| format!(", {arn}"))
                .unwrap_or_default()
        );
    }
    Ok(Outcome::Done)
}
