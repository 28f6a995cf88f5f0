//! Starting and stopping the server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum_server::Handle;

use crate::config::Config;
use crate::conn::{LimitAcceptor, Tracker};
use crate::error::{Result, ServerError};
use crate::http;
use crate::service::Service;
use crate::storage::Storage;
use crate::storage::sqlite::SqliteStorage;

/// How long in-flight syncs may take to finish at shutdown.
pub const GRACE: Duration = Duration::from_secs(30);

/// Opens the configured database and builds the service.
pub fn open_service(config: &Config) -> Result<Arc<Service>> {
    std::fs::create_dir_all(&config.data_dir)?;
    let storage: Arc<dyn Storage> = Arc::new(SqliteStorage::open(&config.data_dir.join("qamqor-server.db"))?);
    Ok(Arc::new(Service::new(storage, config.limits(), config.token_ttl_days * 86_400)))
}

/// A running server.
pub struct Running {
    /// The bound address.
    pub addr: SocketAddr,
    /// Whether it serves HTTPS.
    pub tls: bool,
    handle: Handle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// The base URL (`http://127.0.0.1:port`).
    pub fn url(&self) -> String {
        format!("{}://{}", if self.tls { "https" } else { "http" }, self.addr)
    }

    /// Stops accepting connections and lets in-flight requests finish.
    pub async fn shutdown(self) -> Result<()> {
        self.handle.graceful_shutdown(Some(GRACE));
        self.stopped().await
    }

    /// Waits until the server stops (after [`Running::shutdown`] from a signal).
    pub async fn stopped(self) -> Result<()> {
        self.task.await.map_err(|_| ServerError::Config("the server task failed".into()))??;
        Ok(())
    }

    /// A handle to shut the server down from elsewhere.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }
}

/// Binds and starts serving `service` as `config` says.
pub async fn start(config: &Config, service: Arc<Service>) -> Result<Running> {
    config.validate()?;
    let addr = config.addr()?;
    let app = http::router(service, config.edge_limits()).into_make_service_with_connect_info::<SocketAddr>();
    let handle = Handle::new();
    let tracker = Tracker::new(config.conn_limits());
    let header_timeout = config.header_timeout();
    let mut server = axum_server::bind(addr).handle(handle.clone());
    // Headers must arrive within this time, and an idle kept-alive
    // connection is closed after it.
    server.http_builder().http1().timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(header_timeout);
    let (task, tls) = match config.tls() {
        Some((cert, key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .map_err(|e| ServerError::Config(format!("cannot load the TLS certificate or key: {e}")))?;
            let acceptor = LimitAcceptor::new(
                axum_server::tls_rustls::RustlsAcceptor::new(tls).handshake_timeout(header_timeout),
                tracker,
            );
            (tokio::spawn(server.acceptor(acceptor).serve(app)), true)
        }
        None => {
            let acceptor = LimitAcceptor::new(axum_server::accept::DefaultAcceptor::new(), tracker);
            (tokio::spawn(server.acceptor(acceptor).serve(app)), false)
        }
    };
    let addr = handle.listening().await.ok_or_else(|| ServerError::Config(format!("cannot listen on {addr}")))?;
    Ok(Running { addr, tls, handle, task })
}
