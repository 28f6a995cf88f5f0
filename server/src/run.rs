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
use crate::storage::postgres::PostgresStorage;
use crate::storage::sqlite::{DbKey, SqliteStorage};

/// How long in-flight syncs may take to finish at shutdown.
pub const GRACE: Duration = Duration::from_secs(30);

/// The database file in the data folder.
pub const DB_FILE: &str = "qamqor-server.db";

/// Opens the configured database and builds the service. The database is
/// encrypted with the key from `QAMQOR_DATABASE_KEY` or the key file; a new
/// region gets a new random key file (readable by the server's user only).
/// An existing database without any key is opened unencrypted, with a
/// warning.
pub fn open_service(config: &Config) -> Result<Arc<Service>> {
    let storage = open_storage(config)?;
    let national = match config.mode {
        crate::config::Mode::Regional => config.national_link()?,
        crate::config::Mode::National => None,
    };
    let mut service =
        Service::new(storage, config.limits(), config.token_ttl_days * 86_400).with_mode(config.mode, national);
    if let Some(dir) = &config.blob_dir {
        service = service.with_blobs(Arc::new(crate::blobs::InFolder::open(dir)?));
    }
    Ok(Arc::new(service))
}

/// Opens the configured storage: PostgreSQL when `database_url` is set,
/// else the embedded SQLite database in the data folder.
pub fn open_storage(config: &Config) -> Result<Arc<dyn Storage>> {
    let cache = config.doc_cache_mb << 20;
    if let Some(url) = &config.database_url {
        let ca = match &config.database_ca {
            Some(path) => Some(
                std::fs::read(path)
                    .map_err(|e| ServerError::Config(format!("database_ca {} cannot be read: {e}", path.display())))?,
            ),
            None => None,
        };
        let storage =
            PostgresStorage::open_with_ca(&url.0, config.database_pool, ca.as_deref()).map_err(|e| match e {
                ServerError::Storage { failure, message } => {
                    ServerError::storage(failure, format!("the database {} cannot be used: {message}", url.redacted()))
                }
                e => e,
            })?;
        match storage.encrypted() {
            Ok(true) => tracing::info!("connected to PostgreSQL over TLS"),
            Ok(false) => tracing::info!("connected to PostgreSQL without TLS"),
            Err(e) => tracing::warn!(error = %e, "whether the PostgreSQL connection is encrypted is unknown"),
        }
        return Ok(Arc::new(storage.with_cache_budget(cache)));
    }
    std::fs::create_dir_all(&config.data_dir)?;
    let path = config.data_dir.join(DB_FILE);
    let key = database_key(config, &path)?;
    if key.is_none() {
        tracing::warn!("the database is not encrypted at rest; see docs/server.md (encryption)");
    }
    Ok(Arc::new(SqliteStorage::open_with_key(&path, key.as_ref())?.with_cache_budget(cache)))
}

fn parse_key(hex_key: &str, from: &str) -> Result<DbKey> {
    let bytes = hex::decode(hex_key.trim())
        .map_err(|_| ServerError::Config(format!("the database key in {from} is not hexadecimal")))?;
    bytes
        .try_into()
        .map_err(|_| ServerError::Config(format!("the database key in {from} must be 64 hex digits (256 bits)")))
}

/// The database key: the environment, else the key file, else (for a new
/// database only) a new key file.
fn database_key(config: &Config, db: &std::path::Path) -> Result<Option<DbKey>> {
    if let Ok(k) = std::env::var("QAMQOR_DATABASE_KEY") {
        return parse_key(&k, "QAMQOR_DATABASE_KEY").map(Some);
    }
    let file = config.key_file();
    match std::fs::read_to_string(&file) {
        Ok(text) => return parse_key(&text, &file.display().to_string()).map(Some),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(ServerError::Config(format!("cannot read the key file {}: {e}", file.display())));
        }
        Err(_) => {}
    }
    if db.exists() || !config.encrypt_new {
        return Ok(None);
    }
    let key: DbKey = rand::random();
    write_private(&file, &hex::encode(key))?;
    tracing::info!(key_file = %file.display(), "new region: the database is encrypted with a new key");
    Ok(Some(key))
}

/// Writes a file readable and writable by its owner only.
fn write_private(path: &std::path::Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .map_err(|e| ServerError::Config(format!("cannot create the key file {}: {e}", path.display())))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// A running server.
pub struct Running {
    /// The bound address.
    pub addr: SocketAddr,
    /// Whether it serves HTTPS.
    pub tls: bool,
    handle: Handle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    reports: Option<tokio::task::JoinHandle<()>>,
    collector: Option<tokio::task::JoinHandle<()>>,
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
        let result = self.task.await;
        for t in [self.reports, self.collector].into_iter().flatten() {
            t.abort();
        }
        result.map_err(|_| ServerError::Config("the server task failed".into()))??;
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
    let link = service.national.clone().map(|link| (service.clone(), link));
    let (service_mode, gc_service) = (service.mode, service.clone());
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
    // A regional server with a national link reports on its schedule.
    let reports = link.map(|(service, link)| crate::national::spawn_schedule(service, link));
    let grace = i64::from(config.blob_grace_days) * 86_400;
    let collector = (service_mode == crate::config::Mode::Regional).then(|| {
        let service = gc_service;
        tokio::spawn(async move {
            loop {
                let s = service.clone();
                let outcome = tokio::task::spawn_blocking(move || {
                    crate::blobs::collect_garbage(&s, grace, chrono::Utc::now().timestamp())
                })
                .await;
                if let Ok(Err(e)) = outcome {
                    tracing::warn!(error = %e, "attachment files could not be collected; retried in an hour");
                }
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            }
        })
    });
    Ok(Running { addr, tls, handle, task, reports, collector })
}
