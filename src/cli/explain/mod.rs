//! `flowlake explain`: why each rejected record was rejected, judged
//! against the inventory as of the record's start. The records come from
//! one DataFusion query over `flows` (with companions found by joins);
//! each distinct input is evaluated once, in Rust. The explanations go to
//! standard output or a file (`sink`), or into the lake as the table
//! `reject_explanations` (`save`, `--save`).
//!
//! ```text
//! query (SQL) ──▶ records ──▶ Explainer ──▶ columns ──▶ sink (table, json, parquet)
//!                                                  └──▶ save (one object per day)
//! ```

use std::path::PathBuf;
use std::time::Instant;

use chrono::{SecondsFormat, Utc};
use clap::{Args, ValueEnum};
use flowlake_context::explain::{Explainer, ExplainerLimits};
use flowlake_context::store;
use flowlake_query::{for_each_batch, open_session};

use self::records::{records, silent_input};
use self::sink::Sink;
use super::Outcome;
use super::lake_args::{LakeArgs, MemoryArgs};
use super::output::Output;
use super::report::TimeArgs;
use super::sql::threads;

mod columns;
mod query;
mod records;
mod save;
mod sink;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExplainFormat {
    /// A header line and the explanation per record.
    Table,
    /// A JSON array of records with their explanation.
    Json,
    /// Parquet with the columns of `reject_explanations` (use --output).
    Parquet,
}

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    #[command(flatten)]
    lake: LakeArgs,

    /// Only records matching this SQL predicate on `flows`
    /// (e.g. "interface_id = 'eni-0web' AND dstport = 3389").
    #[arg(long = "where", value_name = "PREDICATE")]
    filter: Option<String>,

    #[command(flatten)]
    time: TimeArgs,

    #[command(flatten)]
    memory: MemoryArgs,

    /// Instead of REJECTs: accepted egress records that never got an answer
    /// (no ingress of the reversed 5-tuple on any interface within 600 s)
    /// from a subnet with no route to the destination, or a blackhole.
    #[arg(long)]
    silent_drops: bool,

    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: ExplainFormat,

    /// Write to this file instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,

    /// Save into the lake as the table `reject_explanations`, one object
    /// per UTC day, each replaced whole (re-running gives the same rows);
    /// --from/--to are widened to whole days. Read it with `flowlake sql`
    /// or `flowlake report top-rejecting-controls`.
    #[arg(long, conflicts_with_all = ["format", "output"])]
    save: bool,

    /// Distinct evaluations kept for reuse (bounds explain's own memory;
    /// records whose answer was dropped are evaluated again, identically).
    #[arg(
        long,
        env = "FLOWLAKE_EXPLAIN_CACHE",
        value_name = "ENTRIES",
        default_value_t = ExplainerLimits::default().answers
    )]
    cache_entries: usize,
}

pub(crate) async fn run(args: ExplainArgs) -> anyhow::Result<Outcome> {
    if args.save {
        save::check_args(args.filter.as_deref(), args.silent_drops)?;
    }
    let lake = args.lake.open_existing().await?;
    let began = Instant::now();
    let run_at = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let inventory = store::load(&lake).await?;
    if inventory.snapshots.is_empty() {
        tracing::warn!(
            "No inventory in this lake: every record is NO_INVENTORY (import one with `flowlake inventory import`)."
        );
    }
    let mut range = args.time.range()?;
    if args.save {
        range = save::whole_days(range);
    }
    let location = args.lake.open_for_query().await?;
    let ctx = open_session(&location, &range, threads(), &args.memory.settings()).await?;
    let sql = query::sql(args.silent_drops, args.filter.as_deref().unwrap_or("TRUE"));
    let mut explainer = Explainer::with_limits(
        &inventory,
        ExplainerLimits {
            answers: args.cache_entries,
            ..ExplainerLimits::default()
        },
    );
    if args.save {
        let saved = save::save(&lake, &ctx, &sql, &mut explainer, range, run_at).await?;
        println!("{}", saved.render());
    } else {
        let mut out = Output::open(args.output.as_ref())?;
        let mut sink = Sink::new(args.format, &mut out, run_at)?;
        for_each_batch(&ctx, &sql, |batch| -> anyhow::Result<()> {
            for r in records(&batch)? {
                let e = if args.silent_drops {
                    let Some(input) = silent_input(&r.input) else {
                        continue;
                    };
                    match explainer.silent_drop(&input) {
                        Some(e) => e,
                        None => continue,
                    }
                } else {
                    explainer.explain(&r.input)
                };
                sink.push(&r, &e)?;
            }
            sink.end_batch()
        })
        .await?;
        sink.finish()?;
        out.commit()?;
    }
    tracing::info!(
        records = explainer.records,
        evaluations = explainer.evaluations,
        total_ms = began.elapsed().as_millis() as u64,
        "Explained."
    );
    Ok(Outcome::Done)
}
