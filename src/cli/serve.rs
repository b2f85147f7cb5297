//! `flowlake serve`: long-lived servers. `firehose` is the endpoint Amazon
//! Data Firehose delivers to; `dashboard` and `flight-sql` answer queries
//! (see `dashboard.rs`, `flight_sql.rs`).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use flowlake_ingest::compact::CompactOptions;
use flowlake_ingest::sources::firehose::protocol::Endpoint;
use flowlake_ingest::sources::firehose::serve::{SinkOptions, serve};
use flowlake_ingest::sources::firehose::tls;

use super::Outcome;
use super::ingest::{CommonArgs, parse_size};
use super::ingest_cloudwatch::{millis, parse_duration_ms};

// Parsed once at startup: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub(crate) enum ServeCommand {
    /// Receive flow logs from Amazon Data Firehose's HTTP endpoint delivery
    /// (direct records and CloudWatch Logs subscription envelopes), spooled
    /// durably before each 200 and flushed into the lake exactly once.
    Firehose(FirehoseArgs),
    /// Serve the dashboards live over HTTP, with a time-range picker and a
    /// read-only SQL box.
    Dashboard(super::dashboard::ServeDashboardArgs),
    /// Serve the lake over Arrow Flight SQL (Grafana, DBeaver/JDBC, ADBC),
    /// read-only, with an optional bearer token.
    FlightSql(super::flight_sql::FlightSqlArgs),
}

#[derive(Debug, Args)]
pub(crate) struct FirehoseArgs {
    /// Address to listen on (e.g. 0.0.0.0:8443). Plain HTTP unless
    /// --tls-cert and --tls-key are given (Firehose delivers to https://
    /// only: use them, or put TLS in front).
    #[arg(long)]
    listen: SocketAddr,

    /// Serve HTTPS with this PEM certificate chain (leaf first).
    #[arg(long, env = "FLOWLAKE_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "FLOWLAKE_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// The sink's name: its identity in the lake (one spool per name).
    #[arg(long, default_value = "default")]
    name: String,

    /// The spool folder, on local disk (default: `_flowlake/spool/<name>`
    /// inside a local lake; required for a lake on S3).
    #[arg(long)]
    spool_dir: Option<PathBuf>,

    /// Environment variable holding the access key Firehose sends
    /// (`X-Amz-Firehose-Access-Key`); without it any request is accepted.
    #[arg(long)]
    access_key_env: Option<String>,

    /// Largest request body accepted (413 past it) [default: 72M; Firehose sends up to 64 MiB].
    #[arg(long, value_parser = parse_size)]
    max_body_bytes: Option<u64>,

    /// Flush the spool into the lake once this much is spooled [default: 64M].
    #[arg(long, value_parser = parse_size)]
    flush_bytes: Option<u64>,

    /// ... or once the oldest spooled request is this old.
    #[arg(long, default_value = "60s", value_parser = parse_duration_ms)]
    flush_interval: i64,

    /// How long a request id is remembered after it was flushed, so a
    /// redelivery within it is not written twice.
    #[arg(long, default_value = "3h", value_parser = parse_duration_ms)]
    dedupe_window: i64,

    /// Compact the lake's small files this often (`0s` never); see
    /// `flowlake compact`.
    #[arg(long, default_value = "15m", value_parser = parse_duration_ms)]
    compact_every: i64,

    /// Compact only files committed at least this long ago.
    #[arg(long, default_value = "1h", value_parser = parse_duration_ms)]
    compact_older_than: i64,

    /// Merge files into files of up to about this size.
    #[arg(long, default_value = "128M", value_parser = parse_size)]
    compact_target_size: u64,

    #[command(flatten)]
    common: CommonArgs,
}

pub(crate) async fn run(command: ServeCommand) -> anyhow::Result<Outcome> {
    let args = match command {
        ServeCommand::Firehose(args) => args,
        ServeCommand::Dashboard(args) => return super::dashboard::serve_dashboard(args).await,
        ServeCommand::FlightSql(args) => return super::flight_sql::run(args).await,
    };
    // Before the lake: a bad certificate fails at once, holding no lock.
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(tls::server_config(cert, key).context("TLS")?),
        _ => None,
    };
    let lake = args.common.lake.open_for_ingest().await?;
    let spool_dir = match (&args.spool_dir, lake.local_root()) {
        (Some(dir), _) => dir.clone(),
        (None, Some(root)) => root.join("_flowlake/spool").join(&args.name),
        (None, None) => bail!("--spool-dir is needed for a lake on S3 (the spool is local disk)"),
    };
    let access_key = match &args.access_key_env {
        Some(var) => {
            Some(std::env::var(var).with_context(|| format!("--access-key-env {var}: not set"))?)
        }
        None => None,
    };
    let max_body = args.max_body_bytes.unwrap_or(72 << 20);
    let options = SinkOptions {
        listen: args.listen,
        name: args.name.clone(),
        spool_dir,
        endpoint: Endpoint {
            access_key,
            max_body_bytes: max_body,
            // A 64 MiB body of records may inflate from gzip several times over.
            max_inflated_bytes: max_body.saturating_mul(4),
        },
        flush_bytes: args.flush_bytes.unwrap_or(64 << 20),
        flush_age: millis(args.flush_interval),
        dedupe_window: millis(args.dedupe_window),
        ingest: args.common.options()?,
        compact_every: (args.compact_every > 0).then(|| millis(args.compact_every)),
        compact: CompactOptions {
            older_than: millis(args.compact_older_than),
            target_bytes: args.compact_target_size.max(1),
        },
        tls,
    };
    serve(&lake, options, |addr| println!("listening on {addr}")).await?;
    Ok(Outcome::Done)
}
