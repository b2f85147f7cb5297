//! TLS for the sink: Firehose delivers to `https://` endpoints only, so the
//! sink can terminate TLS itself instead of needing a proxy in front.
//!
//! ```text
//! PEM files ─▶ server_config (rustls, aws-lc-rs) ─▶ TlsListener ─▶ axum::serve
//!                                  TCP accept ─▶ handshake task ─┘ (one per connection)
//! ```
//!
//! The certificate and key are read once at start; a file that cannot be
//! read or parsed is named in the error. Handshakes run in their own tasks,
//! so a slow or silent client holds up no one else, and a client that does
//! not finish one within [`HANDSHAKE_TIMEOUT`] is dropped. The listener
//! plugs into `axum::serve`, so graceful shutdown is the same as over plain
//! HTTP: stop accepting, finish the requests in flight.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client gets to finish its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the certificate or key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file cannot be read, or holds no usable PEM item.
    #[error("{path}: {message}")]
    File {
        /// The certificate or key file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// rustls refused the pair (a key it cannot parse, or one that does
    /// not match the certificate).
    #[error("{cert} with {key}: {source}")]
    Pair {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls's reason.
        source: rustls::Error,
    },
}

/// The server configuration for a PEM certificate chain (leaf first) and
/// its private key (PKCS#8, PKCS#1 or SEC1), with rustls's safe defaults
/// and the aws-lc-rs provider the AWS SDK already brings.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let file_error = |path: &Path, message: String| TlsError::File {
        path: path.to_owned(),
        message,
    };
    let read = |path: &Path| {
        std::fs::read(path).map_err(|e| file_error(path, format!("cannot read: {e}")))
    };
    let cert_pem = read(cert)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(cert, format!("not a PEM certificate chain: {e}")))?;
    if chain.is_empty() {
        return Err(file_error(
            cert,
            "no PEM certificate (-----BEGIN CERTIFICATE-----) in it".to_owned(),
        ));
    }
    let key_pem = read(key)?;
    let private = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| file_error(key, format!("no usable PEM private key in it: {e}")))?;
    let pair_error = |source| TlsError::Pair {
        cert: cert.to_owned(),
        key: key.to_owned(),
        source,
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(pair_error)?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(pair_error)?;
    // The server speaks HTTP/1.1 only.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A TCP listener whose connections come out TLS-terminated, for
/// `axum::serve`.
#[derive(Debug)]
pub struct TlsListener {
    local: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    acceptor: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    /// Starts accepting on `listener`, handshaking each connection in a
    /// task of its own. Call it inside a Tokio runtime.
    pub fn new(listener: TcpListener, config: Arc<ServerConfig>) -> std::io::Result<TlsListener> {
        let local = listener.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let tls = TlsAcceptor::from(config);
        let acceptor = tokio::spawn(async move {
            loop {
                let (tcp, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of descriptors and the like: wait, do not spin.
                        tracing::warn!(error = %e, "Could not accept a connection.");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let (tls, tx) = (tls.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            // Closed only when the server stopped accepting.
                            let _ = tx.send((stream, peer)).await;
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed.");
                        }
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out."),
                    }
                });
            }
        });
        Ok(TlsListener {
            local,
            ready,
            acceptor,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        // Dropped when the server stops accepting: close the port too.
        self.acceptor.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept task holds a sender until it is aborted in drop.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_or_unparsable_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate\n").unwrap();

        let e = server_config(&missing, &garbage).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{}: cannot read", missing.display())),
            "{e}"
        );
        let e = server_config(&garbage, &garbage).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{}: no PEM certificate", garbage.display())),
            "{e}"
        );
        let truncated = dir.path().join("truncated.pem");
        std::fs::write(&truncated, "-----BEGIN CERTIFICATE-----\nAAAA\n").unwrap();
        let e = server_config(&truncated, &garbage).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "{}: not a PEM certificate chain",
                truncated.display()
            )),
            "{e}"
        );
    }
}
