//! `flowlake serve flight-sql`: the lake over Arrow Flight SQL, read-only.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Args;
use flowlake_flight::{FlightOptions, serve};

use super::Outcome;
use super::lake_args::{LakeArgs, MemoryArgs};
use super::sql::threads;

#[derive(Debug, Args)]
pub(crate) struct FlightSqlArgs {
    #[command(flatten)]
    lake: LakeArgs,

    /// Address to listen on (e.g. 127.0.0.1:50051; port 0 picks one).
    /// Plain gRPC (grpc://): put TLS in front for other networks.
    #[arg(long, env = "FLOWLAKE_FLIGHT_LISTEN")]
    listen: SocketAddr,

    /// Environment variable holding the bearer token clients must send
    /// (`authorization: Bearer <token>`, or a handshake with the token as
    /// password). Without it any client is accepted.
    #[arg(long, value_name = "VAR")]
    token_env: Option<String>,

    #[command(flatten)]
    memory: MemoryArgs,
}

pub(crate) async fn run(args: FlightSqlArgs) -> anyhow::Result<Outcome> {
    let token = match &args.token_env {
        Some(var) => {
            let token =
                std::env::var(var).with_context(|| format!("--token-env {var}: not set"))?;
            anyhow::ensure!(!token.trim().is_empty(), "--token-env {var}: empty");
            Some(token)
        }
        None => {
            tracing::warn!("Flight SQL endpoint without a token: any client may query the lake.");
            None
        }
    };
    let lake = args.lake.open_for_query().await?;
    let options = FlightOptions {
        listen: args.listen,
        lake,
        memory: args.memory.settings(),
        threads: threads(),
        token,
    };
    serve(options, |addr| println!("listening on grpc://{addr}")).await?;
    Ok(Outcome::Done)
}
