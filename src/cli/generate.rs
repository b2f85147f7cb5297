//! `flowlake generate`: synthetic flow logs laid out as AWS writes them.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use flowlake_ingest::sample::{SampleSpec, generate};

use super::Outcome;

#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// Records to write in total.
    #[arg(long, default_value_t = 100_000)]
    records: u64,

    /// Folder to write `AWSLogs/...` and `manifest.json` into.
    #[arg(long)]
    out: PathBuf,

    /// Seed: the same seed and flags give the same bytes.
    #[arg(long, default_value_t = 42)]
    seed: u64,

    /// Objects to spread the records over (default: ~100,000 records each, at least 12).
    #[arg(long, default_value_t = 0)]
    objects: u64,

    /// Hours of traffic.
    #[arg(long, default_value_t = 6)]
    hours: u32,

    /// Write every object in the default format (no custom-format flow log).
    #[arg(long)]
    default_format_only: bool,

    /// High-cardinality traffic: this many records (spread over the sample)
    /// are HTTPS to as many different internet hosts, one each.
    #[arg(long, default_value_t = 0, value_name = "N")]
    distinct_destinations: u64,

    /// High-cardinality traffic: this many records (spread over the sample)
    /// are rejected probes from as many different internet addresses, one each.
    #[arg(long, default_value_t = 0, value_name = "N")]
    distinct_sources: u64,
}

pub(crate) fn run(args: GenerateArgs) -> anyhow::Result<Outcome> {
    for (flag, n) in [
        ("--distinct-destinations", args.distinct_destinations),
        ("--distinct-sources", args.distinct_sources),
    ] {
        if n > args.records {
            bail!(
                "{flag} {n} is more than --records {}: each address takes a record",
                args.records
            );
        }
    }
    let spec = SampleSpec {
        records: args.records,
        objects: args.objects,
        seed: args.seed,
        hours: args.hours,
        mixed_formats: !args.default_format_only,
        distinct_destinations: args.distinct_destinations,
        distinct_sources: args.distinct_sources,
        ..SampleSpec::default()
    };
    let manifest =
        generate(&spec, &args.out).with_context(|| format!("writing {}", args.out.display()))?;
    let bytes: u64 = manifest.objects.iter().map(|o| o.bytes).sum();
    println!(
        "wrote {} records in {} objects ({:.1} MB gzip) under {}",
        manifest.records,
        manifest.objects.len(),
        bytes as f64 / 1e6,
        args.out.display()
    );
    Ok(Outcome::Done)
}
