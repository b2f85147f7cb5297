//! `flowlake demo`: the whole main job on built-in sample data. Generates
//! realistic flow logs (or reuses them), ingests them into a local lake,
//! and prints the accept/reject summary and the top talkers. Run it twice:
//! the second ingest finds every object already in the lake.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use flowlake_ingest::sample::{SampleSpec, generate};
use flowlake_ingest::{DirSource, IngestOptions, LakeStore, ingest};
use flowlake_query::{
    LakeLocation, OutputFormat, ReportOptions, TimeRange, open_session, reports, run_report,
    write_batches,
};

use super::Outcome;
use super::ingest::render_summary;
use super::sql::threads;
use crate::progress::progress_for_terminal;

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Folder for the sample logs (`sample/`) and the lake (`lake/`).
    #[arg(long, default_value = "flowlake-demo")]
    dir: PathBuf,

    /// Records in the sample.
    #[arg(long, default_value_t = 200_000)]
    records: u64,
}

pub(crate) async fn run(args: DemoArgs) -> anyhow::Result<Outcome> {
    let sample = args.dir.join("sample");
    let lake_dir = args.dir.join("lake");
    let spec = SampleSpec {
        records: args.records,
        ..SampleSpec::default()
    };
    let marker = sample.join("manifest.json");
    let fresh = std::fs::read_to_string(&marker)
        .ok()
        .and_then(|m| serde_json::from_str::<serde_json::Value>(&m).ok())
        .is_some_and(|m| m["records"] == args.records && m["seed"] == spec.seed);
    if fresh {
        println!(
            "== sample: reusing {} ({} records)",
            sample.display(),
            args.records
        );
    } else {
        let manifest = tokio::task::spawn_blocking({
            let sample = sample.clone();
            move || generate(&spec, &sample)
        })
        .await?
        .with_context(|| format!("writing the sample to {}", sample.display()))?;
        println!(
            "== sample: wrote {} records in {} gzip objects under {}",
            manifest.records,
            manifest.objects.len(),
            sample.display()
        );
    }

    let lake = LakeStore::open(&lake_dir.to_string_lossy(), &Default::default()).await?;
    let source = DirSource::new(&sample, None);
    let summary = ingest(
        &source,
        &lake,
        &IngestOptions::default(),
        progress_for_terminal(false),
    )
    .await?;
    println!("\n== ingest\n{}", render_summary(&summary));

    let location = LakeLocation::Local(lake_dir.clone());
    let ctx = open_session(
        &location,
        &TimeRange::default(),
        threads(),
        &Default::default(),
    )
    .await?;
    let mut stdout = std::io::stdout();
    for (name, title, limit) in [
        ("summary", "accept/reject summary", None),
        ("top-sources", "top talkers: sources by bytes", Some(10)),
        (
            "top-destinations",
            "top talkers: destinations by bytes",
            Some(10),
        ),
        (
            "rejected-ports",
            "most rejected destination ports",
            Some(10),
        ),
    ] {
        let report = reports::find(name)?;
        let options = ReportOptions {
            limit,
            order_by: None,
        };
        let (schema, batches) = run_report(&ctx, report, &options).await?;
        println!("\n== {title} (flowlake report {name})");
        write_batches(&mut stdout, OutputFormat::Table, &schema, &batches)?;
    }
    let lake_path = lake_dir.display();
    println!(
        "\nNext: flowlake report --list\n      flowlake report ssh-rdp-external --lake {lake_path}\n      flowlake sql --lake {lake_path} \"SELECT protocol_name, count(*) FROM flows GROUP BY 1\"\n      flowlake sql --lake {lake_path}   (interactive)"
    );
    Ok(if summary.is_partial() {
        Outcome::Partial
    } else {
        Outcome::Done
    })
}
