//! `flowlake inventory`: import the network's configuration (the JSON of
//! `aws ec2 describe-*`, or AWS Config configuration items) as snapshots
//! over time, and show what is known.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, Subcommand};
use flowlake_context::store::{self, Capture};
use flowlake_query::time::parse_time;
use serde::Deserialize;

use super::Outcome;
use super::lake_args::LakeArgs;

#[derive(Debug, Subcommand)]
pub(crate) enum InventoryCommand {
    /// Import describe-* JSON (network interfaces, security groups, ACLs,
    /// subnets, route tables, prefix lists, Block Public Access) as one
    /// snapshot per capture; files are recognised by their top-level key.
    Import(ImportArgs),
    /// Import AWS Config configuration items: S3 history and snapshot
    /// files (`.json` or `.json.gz`, folders searched recursively) and the
    /// output of `aws configservice get-resource-config-history` or
    /// `batch-get-resource-config`. Each item carries its own time, account
    /// and region; one snapshot per capture instant.
    ImportConfig(ImportConfigArgs),
    /// Show the snapshots: when, which account and region, what they hold.
    Ls(LsArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    #[command(flatten)]
    lake: LakeArgs,

    /// When the files were captured (RFC 3339). Not taken from file times;
    /// a `_meta.json` in a folder (captured_at, account, region) overrides it.
    #[arg(long)]
    captured_at: Option<String>,

    /// The account the files describe.
    #[arg(long)]
    account: Option<String>,

    /// The region the files describe.
    #[arg(long = "region", id = "snapshot_region")]
    snapshot_region: Option<String>,

    /// JSON files, or folders of them (each folder with its own `_meta.json`
    /// is a snapshot of its own).
    #[arg(required = true)]
    paths: Vec<PathBuf>,

    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ImportConfigArgs {
    #[command(flatten)]
    lake: LakeArgs,

    /// Config files, or folders of them (an `aws s3 sync` of the Config bucket).
    #[arg(required = true)]
    paths: Vec<PathBuf>,

    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct LsArgs {
    #[command(flatten)]
    lake: LakeArgs,

    /// Show what was in force at this time, and how old the snapshot behind it is.
    #[arg(long, allow_hyphen_values = true)]
    at: Option<String>,

    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `_meta.json` beside CLI output (§1.4).
#[derive(Debug, Deserialize)]
struct Meta {
    captured_at: String,
    account: String,
    region: String,
}

pub(crate) async fn run(command: InventoryCommand) -> anyhow::Result<Outcome> {
    match command {
        InventoryCommand::Import(args) => import(args).await,
        InventoryCommand::ImportConfig(args) => import_config(args).await,
        InventoryCommand::Ls(args) => ls(args).await,
    }
}

fn capture_from(meta: Option<Meta>, args: &ImportArgs, place: &Path) -> anyhow::Result<Capture> {
    let now = Utc::now();
    let (at, account, region) = match meta {
        Some(m) => (m.captured_at, m.account, m.region),
        None => match (&args.captured_at, &args.account, &args.snapshot_region) {
            (Some(t), Some(a), Some(r)) => (t.clone(), a.clone(), r.clone()),
            _ => bail!(
                "{}: CLI output carries no capture time, account or region: pass --captured-at, --account and --region, or put a _meta.json beside the files",
                place.display()
            ),
        },
    };
    Ok(Capture {
        captured_at: parse_time(&at, now)?.timestamp(),
        account,
        region,
    })
}

/// The files of one snapshot: its capture, then each file's name and bytes.
type SnapshotFiles = (Capture, Vec<(String, Vec<u8>)>);

async fn import(args: ImportArgs) -> anyhow::Result<Outcome> {
    let mut snapshots: BTreeMap<String, SnapshotFiles> = BTreeMap::new();
    let mut add = |capture: Capture, name: String, bytes: Vec<u8>| {
        let key = serde_json::to_string(&capture).unwrap_or_default();
        snapshots
            .entry(key)
            .or_insert_with(|| (capture, Vec::new()))
            .1
            .push((name, bytes));
    };
    for path in &args.paths {
        if path.is_dir() {
            let meta_path = path.join("_meta.json");
            let meta = if meta_path.exists() {
                let text = std::fs::read(&meta_path)
                    .with_context(|| format!("reading {}", meta_path.display()))?;
                Some(
                    serde_json::from_slice::<Meta>(&text)
                        .with_context(|| format!("{}", meta_path.display()))?,
                )
            } else {
                None
            };
            let capture = capture_from(meta, &args, path)?;
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("reading {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && p.extension().is_some_and(|x| x == "json")
                        && p.file_name().is_some_and(|n| n != "_meta.json")
                })
                .collect();
            files.sort();
            for file in files {
                let bytes =
                    std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
                add(capture.clone(), file_name(&file), bytes);
            }
        } else {
            let capture = capture_from(None, &args, path)?;
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            add(capture, file_name(path), bytes);
        }
    }
    let lake = args.lake.open_for_ingest().await?;
    let captures: Vec<Capture> = snapshots.values().map(|(c, _)| c.clone()).collect();
    let inputs = snapshots
        .into_values()
        .map(|(capture, files)| store::SnapshotInput::cli(capture, files))
        .collect::<Result<Vec<_>, _>>()?;
    let summaries: Vec<(Capture, store::ImportSummary)> = captures
        .into_iter()
        .zip(store::import_all(&lake, inputs).await?)
        .collect();
    let mut partial = false;
    for (_, summary) in &summaries {
        partial |= !summary.warnings.is_empty();
        for w in &summary.warnings {
            tracing::warn!(warning = %w, "Inventory file incomplete or skipped.");
        }
    }
    if args.json {
        let out: Vec<serde_json::Value> = summaries
            .iter()
            .map(|(c, s)| {
                let mut v = serde_json::to_value(s).unwrap_or_default();
                v["captured_at"] = serde_json::Value::from(rfc3339(c.captured_at));
                v["account"] = serde_json::Value::from(c.account.clone());
                v["region"] = serde_json::Value::from(c.region.clone());
                v
            })
            .collect();
        println!("{}", serde_json::Value::from(out));
    } else {
        for (c, s) in &summaries {
            let objects: Vec<String> = s.objects.iter().map(|(k, n)| format!("{n} {k}")).collect();
            println!(
                "snapshot {} {} {}/{}: {}{}",
                s.snapshot_id,
                rfc3339(c.captured_at),
                c.account,
                c.region,
                objects.join(", "),
                if s.new { "" } else { " (already imported)" }
            );
            for w in &s.warnings {
                println!("  warning: {w}");
            }
        }
    }
    Ok(if partial {
        Outcome::Partial
    } else {
        Outcome::Done
    })
}

async fn import_config(args: ImportConfigArgs) -> anyhow::Result<Outcome> {
    let mut files = Vec::new();
    for path in &args.paths {
        collect_config_files(path, true, &mut files)?;
    }
    let mut read = Vec::with_capacity(files.len());
    for file in &files {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        read.push((file.display().to_string(), bytes));
    }
    let found = flowlake_context::config_import::read(&read)?;
    drop(read);
    let lake = args.lake.open_for_ingest().await?;
    let times: Vec<i64> = found
        .snapshots
        .iter()
        .map(|s| s.capture.captured_at)
        .collect();
    let scopes: std::collections::BTreeSet<(String, String)> = found
        .snapshots
        .iter()
        .map(|s| (s.capture.account.clone(), s.capture.region.clone()))
        .collect();
    let summaries = store::import_all(&lake, found.snapshots).await?;
    let mut warnings = found.warnings;
    warnings.extend(summaries.iter().flat_map(|s| s.warnings.iter().cloned()));
    for w in &warnings {
        tracing::warn!(warning = %w, "Configuration item skipped.");
    }
    let mut objects: BTreeMap<String, usize> = BTreeMap::new();
    for s in &summaries {
        for (k, n) in &s.objects {
            *objects.entry(k.clone()).or_default() += n;
        }
    }
    let new = summaries.iter().filter(|s| s.new).count();
    let summary = serde_json::json!({
        "files": files.len(),
        "files_without_items": found.without_items,
        "items": found.items,
        "duplicate_items": found.duplicates,
        "skipped_resource_types": found.skipped_types,
        "snapshots": summaries.len(),
        "new_snapshots": new,
        "first_capture": times.iter().min().map(|t| rfc3339(*t)),
        "last_capture": times.iter().max().map(|t| rfc3339(*t)),
        "scopes": scopes.iter().map(|(a, r)| format!("{a}/{r}")).collect::<Vec<_>>(),
        "objects": objects,
        "warnings": warnings,
        "tables": summaries.first().map(|s| s.tables.clone()).unwrap_or_default(),
    });
    if args.json {
        println!("{summary}");
    } else {
        let objects: Vec<String> = objects.iter().map(|(k, n)| format!("{n} {k}")).collect();
        println!(
            "{} item(s) from {} file(s): {} snapshot(s), {} new, {} to {} in {}: {}",
            found.items,
            files.len(),
            summaries.len(),
            new,
            summary["first_capture"].as_str().unwrap_or("-"),
            summary["last_capture"].as_str().unwrap_or("-"),
            summary["scopes"]
                .as_array()
                .map(|a| a
                    .iter()
                    .filter_map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default(),
            objects.join(", ")
        );
        if found.duplicates > 0 {
            println!("  {} item(s) seen twice, kept once", found.duplicates);
        }
        for (t, n) in &found.skipped_types {
            println!("  skipped {n} item(s) of {t} (not read)");
        }
        for w in &warnings {
            println!("  warning: {w}");
        }
    }
    Ok(if warnings.is_empty() {
        Outcome::Done
    } else {
        Outcome::Partial
    })
}

/// The Config files under `path`: `.json` and `.json.gz`, folders searched
/// recursively (a file named on the command line is taken whatever its name).
fn collect_config_files(path: &Path, named: bool, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("reading {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for entry in entries {
            collect_config_files(&entry, false, out)?;
        }
    } else {
        let name = file_name(path);
        if named || name.ends_with(".json") || name.ends_with(".json.gz") {
            out.push(path.to_owned());
        }
    }
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub(crate) fn rfc3339(at: i64) -> String {
    DateTime::from_timestamp(at, 0)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_else(|| at.to_string())
}

async fn ls(args: LsArgs) -> anyhow::Result<Outcome> {
    let lake = args.lake.open_existing().await?;
    let inventory = store::load(&lake).await?;
    let now = Utc::now().timestamp();
    let at = args
        .at
        .as_deref()
        .map(|t| parse_time(t, Utc::now()).map(|t| t.timestamp()))
        .transpose()?;
    let mut rows = Vec::new();
    for s in &inventory.snapshots {
        rows.push(serde_json::json!({
            "snapshot_id": s.id,
            "captured_at": rfc3339(s.captured_at),
            "account": s.account,
            "region": s.region,
            "source": s.source,
            "files": s.files.iter().map(|f| f.name.clone()).collect::<Vec<_>>(),
            "age_s": now - s.captured_at,
        }));
    }
    let in_force = at.map(|t| {
        let world = flowlake_context::world::World::build(
            &inventory,
            t,
            flowlake_context::world::Pick::Earlier,
        );
        let mut scopes = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for s in &inventory.snapshots {
            let scope = (s.account.clone(), s.region.clone());
            if seen.insert(scope.clone())
                && let Some(snap) = world.snapshot_at(&scope)
            {
                scopes.push(serde_json::json!({
                    "account": scope.0, "region": scope.1,
                    "snapshot_at": rfc3339(snap), "age_s": t - snap,
                    "before_first_snapshot": snap > t,
                }));
            }
        }
        serde_json::json!({
            "at": rfc3339(t),
            "network_interfaces": world.enis.len(),
            "security_groups": world.groups.len(),
            "network_acls": world.acl_of_subnet.values().map(|a| &a.id).collect::<std::collections::BTreeSet<_>>().len(),
            "subnets": world.subnets.len(),
            "route_tables": world.route_tables.len(),
            "prefix_lists": world.prefix_lists.len(),
            "scopes": scopes,
        })
    });
    if args.json {
        println!(
            "{}",
            serde_json::json!({"snapshots": rows, "in_force": in_force})
        );
        return Ok(Outcome::Done);
    }
    if rows.is_empty() {
        println!("no inventory in this lake (import one with `flowlake inventory import`)");
    }
    for r in &rows {
        println!(
            "{}  {}  {}/{}  {}  {} file(s), {} h old",
            r["captured_at"].as_str().unwrap_or(""),
            r["snapshot_id"].as_str().unwrap_or(""),
            r["account"].as_str().unwrap_or(""),
            r["region"].as_str().unwrap_or(""),
            r["source"].as_str().unwrap_or(""),
            r["files"].as_array().map_or(0, Vec::len),
            r["age_s"].as_i64().unwrap_or(0) / 3600
        );
    }
    if let Some(f) = in_force {
        println!("in force at {}:", f["at"].as_str().unwrap_or(""));
        for key in [
            "network_interfaces",
            "security_groups",
            "network_acls",
            "subnets",
            "route_tables",
            "prefix_lists",
        ] {
            println!("  {key}: {}", f[key]);
        }
        for s in f["scopes"].as_array().into_iter().flatten() {
            println!(
                "  {}/{}: snapshot {} ({} s before)",
                s["account"].as_str().unwrap_or(""),
                s["region"].as_str().unwrap_or(""),
                s["snapshot_at"].as_str().unwrap_or(""),
                s["age_s"]
            );
        }
    }
    Ok(Outcome::Done)
}
