//! Arrow Flight SQL over the flowlake lake, read-only, so the tools people
//! already use (Grafana's Flight SQL data source, DBeaver and JDBC, Python
//! ADBC) can query it.
//!
//! ```text
//! client ──gRPC──▶ auth::Bearer (interceptor) ──▶ service::LakeFlightSql
//!                                                   │ open_session per statement
//!                                                   │ readonly::plan_read_only (the query crate's guard)
//!                                                   └──▶ Arrow IPC record batches, streamed
//! ```
//!
//! Statements and prepared statements run; anything that would write or
//! read outside the lake is refused with `PERMISSION_DENIED` and the
//! guard's message. Catalog metadata (catalogs, schemas, tables, table
//! types, SQL info) answers from the session's catalog.

// tonic's `Status` is the error of every gRPC method and of the helpers
// that build their answers; boxing it would only be unboxed again.
#![allow(clippy::result_large_err)]

mod auth;
mod metadata;
mod service;

use std::net::SocketAddr;

use arrow_flight::flight_service_server::FlightServiceServer;
use flowlake_query::{LakeLocation, MemorySettings};

pub use auth::Bearer;
pub use service::LakeFlightSql;

/// What the endpoint serves.
#[derive(Debug, Clone)]
pub struct FlightOptions {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The lake.
    pub lake: LakeLocation,
    /// Each statement's memory pool.
    pub memory: MemorySettings,
    /// Threads per statement.
    pub threads: usize,
    /// The bearer token clients must send; `None` accepts anyone.
    pub token: Option<String>,
}

/// Why the endpoint stopped.
#[derive(Debug, thiserror::Error)]
pub enum FlightError {
    /// Binding the address failed.
    #[error("listening on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The gRPC server failed.
    #[error("Flight SQL server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Largest message a client may send (a SQL text, a prepared statement's
/// handle): far above any query, far below memory trouble.
const MAX_REQUEST_BYTES: usize = 16 << 20;

/// Serves until Ctrl-C; `ready` is told the bound address (port 0 picks one).
pub async fn serve(
    options: FlightOptions,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), FlightError> {
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| FlightError::Listen {
            addr: options.listen,
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| FlightError::Listen {
            addr: options.listen,
            source,
        })?;
    let auth = Bearer::new(options.token.clone());
    let service = LakeFlightSql::new(options);
    let server = FlightServiceServer::new(service).max_decoding_message_size(MAX_REQUEST_BYTES);
    let server = tonic::service::interceptor::InterceptedService::new(server, move |request| {
        auth.check(request)
    });
    ready(addr);
    tonic::transport::Server::builder()
        .add_service(server)
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener),
            async {
                let _ = tokio::signal::ctrl_c().await;
            },
        )
        .await?;
    Ok(())
}
