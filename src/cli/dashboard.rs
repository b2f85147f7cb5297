//! `flowlake dashboard render|list` and `flowlake serve dashboard`: the
//! dashboards crate's pages, as a file or live.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::Utc;
use clap::{Args, Subcommand};
use flowlake_dashboards::server::{ServerOptions, serve};
use flowlake_dashboards::{Dashboard, PageContext, Window, render_page, run_dashboard};
use flowlake_query::{disable_rollups, open_session};

use super::Outcome;
use super::lake_args::{LakeArgs, MemoryArgs};
use super::report::TimeArgs;
use super::sql::threads;

#[derive(Debug, Subcommand)]
pub(crate) enum DashboardCommand {
    /// Render dashboards into one self-contained HTML file (inline SVG
    /// charts, no network needed to view it).
    Render(RenderArgs),
    /// List the dashboards and their panels.
    List(DefinitionArgs),
}

/// Which dashboards, from where.
#[derive(Debug, Clone, Args)]
pub(crate) struct DefinitionArgs {
    /// Only these dashboards (repeatable; default: all).
    #[arg(long = "dashboard", value_name = "NAME")]
    names: Vec<String>,

    /// Dashboard definition files (TOML, like dashboards/defs/*.toml) to use
    /// instead of the built-in ones (repeatable).
    #[arg(long = "definition", value_name = "FILE")]
    files: Vec<PathBuf>,
}

impl DefinitionArgs {
    fn load(&self) -> anyhow::Result<Vec<Dashboard>> {
        let all = if self.files.is_empty() {
            flowlake_dashboards::built_in()?
        } else {
            self.files
                .iter()
                .map(|path| {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    Ok(flowlake_dashboards::definition::parse(
                        &path.display().to_string(),
                        &text,
                    )?)
                })
                .collect::<anyhow::Result<Vec<_>>>()?
        };
        if self.names.is_empty() {
            return Ok(all);
        }
        self.names
            .iter()
            .map(|name| {
                all.iter()
                    .find(|d| &d.name == name)
                    .cloned()
                    .with_context(|| {
                        let known: Vec<&str> = all.iter().map(|d| d.name.as_str()).collect();
                        format!(
                            "no dashboard named {name:?} (there are: {})",
                            known.join(", ")
                        )
                    })
            })
            .collect()
    }
}

#[derive(Debug, Args)]
pub(crate) struct RenderArgs {
    #[command(flatten)]
    lake: LakeArgs,

    /// The HTML file to write.
    #[arg(long, short)]
    out: PathBuf,

    #[command(flatten)]
    time: TimeArgs,

    #[command(flatten)]
    definitions: DefinitionArgs,

    #[command(flatten)]
    memory: MemoryArgs,

    /// Read flows even where the per-hour rollups cover the page.
    #[arg(long)]
    no_rollups: bool,
}

pub(crate) async fn run(command: DashboardCommand) -> anyhow::Result<Outcome> {
    match command {
        DashboardCommand::List(args) => {
            for dashboard in args.load()? {
                println!("{}  {}", dashboard.name, dashboard.title);
                for panel in &dashboard.panels {
                    println!("    {:<22} {:?}  {}", panel.id, panel.chart, panel.title);
                }
            }
            Ok(Outcome::Done)
        }
        DashboardCommand::Render(args) => render(args).await,
    }
}

async fn render(args: RenderArgs) -> anyhow::Result<Outcome> {
    let dashboards = args.definitions.load()?;
    let lake = args.lake.open_for_query().await?;
    let range = args.time.range()?;
    let started = Instant::now();
    let ctx = open_session(&lake, &range, threads(), &args.memory.settings()).await?;
    if args.no_rollups {
        disable_rollups(&ctx);
    }
    let now = Utc::now();
    let window = Window::resolve(&ctx, range.from, range.to).await?;
    let run_in = window.unwrap_or_else(|| Window::new(now, now));
    let mut results = Vec::with_capacity(dashboards.len());
    for dashboard in &dashboards {
        results.push(run_dashboard(&ctx, dashboard, &run_in).await);
    }
    let page = PageContext {
        title: "flowlake dashboards".to_owned(),
        lake: args.lake.lake.clone(),
        window,
        generated_at: now,
        live: None,
    };
    let html = render_page(&page, &results);
    std::fs::write(&args.out, html).with_context(|| format!("writing {}", args.out.display()))?;
    let failed: Vec<String> = results
        .iter()
        .flat_map(|r| {
            r.panels
                .iter()
                .filter(|p| p.outcome.is_err())
                .map(move |p| format!("{}/{}", r.dashboard.name, p.panel.id))
        })
        .collect();
    let panels: usize = results.iter().map(|r| r.panels.len()).sum();
    eprintln!(
        "wrote {} ({} dashboards, {panels} panels) in {:.2} s",
        args.out.display(),
        results.len(),
        started.elapsed().as_secs_f64()
    );
    if failed.is_empty() {
        Ok(Outcome::Done)
    } else {
        eprintln!(
            "panels that failed (their error is on the page): {}",
            failed.join(", ")
        );
        Ok(Outcome::Partial)
    }
}

#[derive(Debug, Args)]
pub(crate) struct ServeDashboardArgs {
    #[command(flatten)]
    lake: LakeArgs,

    /// Address to listen on (e.g. 127.0.0.1:8080; port 0 picks one). Plain
    /// HTTP and no login: keep it on a trusted network or behind a proxy.
    #[arg(long, env = "FLOWLAKE_DASHBOARD_LISTEN")]
    listen: SocketAddr,

    #[command(flatten)]
    definitions: DefinitionArgs,

    #[command(flatten)]
    memory: MemoryArgs,
}

pub(crate) async fn serve_dashboard(args: ServeDashboardArgs) -> anyhow::Result<Outcome> {
    let dashboards = args.definitions.load()?;
    if dashboards.is_empty() {
        bail!("no dashboards to serve");
    }
    let lake = args.lake.open_for_query().await?;
    let options = ServerOptions {
        listen: args.listen,
        lake,
        lake_name: args.lake.lake.clone(),
        memory: args.memory.settings(),
        threads: threads(),
        dashboards,
    };
    serve(options, |addr| println!("listening on http://{addr}/")).await?;
    Ok(Outcome::Done)
}
