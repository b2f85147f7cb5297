//! `flowlake sql`: any SQL over the lake, or an interactive prompt.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use flowlake_query::{
    OutputFormat, SessionContext, TimeRange, open_session, run_sql, write_batches,
};

use super::Outcome;
use super::lake_args::{LakeArgs, MemoryArgs};
use super::output::Output;
use super::report::TimeArgs;

#[derive(Debug, Args)]
pub(crate) struct SqlArgs {
    #[command(flatten)]
    lake: LakeArgs,

    /// The query. Without it, an interactive prompt opens.
    query: Option<String>,

    /// Output format: table, csv, json, jsonl or parquet.
    #[arg(long, default_value = "table")]
    format: OutputFormat,

    /// Write to this file instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,

    #[command(flatten)]
    time: TimeArgs,

    #[command(flatten)]
    memory: MemoryArgs,
}

pub(crate) async fn run(args: SqlArgs) -> anyhow::Result<Outcome> {
    let lake = args.lake.open_for_query().await?;
    let range: TimeRange = args.time.range()?;
    let ctx = open_session(&lake, &range, threads(), &args.memory.settings()).await?;
    match &args.query {
        Some(query) => {
            let mut out = Output::open(args.output.as_ref())?;
            run_query(&ctx, query, args.format, &mut out).await?;
            out.commit()?;
        }
        None => repl(&ctx, args.format).await?,
    }
    Ok(Outcome::Done)
}

pub(crate) fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

async fn run_query(
    ctx: &SessionContext,
    query: &str,
    format: OutputFormat,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let (schema, batches) = run_sql(ctx, query).await?;
    write_batches(out, format, &schema, &batches)?;
    Ok(())
}

async fn repl(ctx: &SessionContext, format: OutputFormat) -> anyhow::Result<()> {
    let mut editor = rustyline::DefaultEditor::new()?;
    eprintln!(
        "flowlake SQL over table `flows` (and `quarantine`). End statements with ';'. \\d lists columns, \\q quits."
    );
    let mut statement = String::new();
    loop {
        let prompt = if statement.is_empty() {
            "flowlake> "
        } else {
            "      ..> "
        };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(rustyline::error::ReadlineError::Interrupted) => {
                statement.clear();
                continue;
            }
            Err(rustyline::error::ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        let trimmed = line.trim();
        if statement.is_empty() && (trimmed == "\\q" || trimmed == "quit" || trimmed == "exit") {
            break;
        }
        if statement.is_empty() && trimmed == "\\d" {
            statement = "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'flows';".to_owned();
        } else {
            statement.push_str(&line);
            statement.push('\n');
        }
        if !statement.trim_end().ends_with(';') {
            continue;
        }
        let _ = editor.add_history_entry(statement.trim());
        let query = statement.trim().trim_end_matches(';').to_owned();
        statement.clear();
        let started = std::time::Instant::now();
        let mut stdout = std::io::stdout();
        match run_query(ctx, &query, format, &mut stdout).await {
            Ok(()) => eprintln!("({:.3} s)", started.elapsed().as_secs_f64()),
            Err(e) => eprintln!("error: {e:#}"),
        }
    }
    Ok(())
}
