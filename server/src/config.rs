//! Server configuration: a TOML file with environment overrides.
//!
//! | key | environment | default |
//! | --- | --- | --- |
//! | `listen` | `QAMQOR_LISTEN` | `127.0.0.1:8080` |
//! | `data_dir` | `QAMQOR_DATA_DIR` | `qamqor-data` |
//! | `database_url` | `QAMQOR_DATABASE_URL` | none: the embedded SQLite database in `data_dir`; `postgres://user:password@host:port/db` for PostgreSQL (several processes may share it) |
//! | `database_pool` | `QAMQOR_DATABASE_POOL` | `16` (PostgreSQL connections per process) |
//! | `database_ca` | `QAMQOR_DATABASE_CA` | none; a PEM file of the authority that signed PostgreSQL's certificate: TLS to the database, verified (with `sslmode=require` in the URL, required) |
//! | `blob_dir` | `QAMQOR_BLOB_DIR` | none: attachments' files in the database; a folder keeps them out of it (one server process) |
//! | `blob_grace_days` | `QAMQOR_BLOB_GRACE_DAYS` | `7` (a file no record references is removed after this) |
//! | `region` | `QAMQOR_REGION` | `75` (Almaty) |
//! | `tls_cert` | `QAMQOR_TLS_CERT` | none |
//! | `tls_key` | `QAMQOR_TLS_KEY` | none |
//! | `allow_plain_http` | `QAMQOR_ALLOW_PLAIN_HTTP` | `false` |
//! | `token_ttl_days` | `QAMQOR_TOKEN_TTL_DAYS` | `90` |
//! | `max_body_bytes` | `QAMQOR_MAX_BODY_BYTES` | `16777216` |
//! | `max_docs` | `QAMQOR_MAX_DOCS` | `250` |
//! | `max_message_bytes` | `QAMQOR_MAX_MESSAGE_BYTES` | `8388608` |
//! | `max_doc_bytes` | `QAMQOR_MAX_DOC_BYTES` | `4194304` |
//! | `max_connections` | `QAMQOR_MAX_CONNECTIONS` | `4096` |
//! | `max_connections_per_address` | `QAMQOR_MAX_CONNECTIONS_PER_ADDRESS` | `256` |
//! | `header_timeout_secs` | `QAMQOR_HEADER_TIMEOUT_SECS` | `15` |
//! | `key_file` | `QAMQOR_KEY_FILE` | `<data_dir>/qamqor-server.key` (the key itself may come from `QAMQOR_DATABASE_KEY`, never from this file) |
//! | `encrypt_new` | `QAMQOR_ENCRYPT_NEW` | `true` |
//! | `enrollments_per_minute` | `QAMQOR_ENROLLMENTS_PER_MINUTE` | `10` (per address) |
//! | `failed_sign_ins_per_minute` | `QAMQOR_FAILED_SIGN_INS_PER_MINUTE` | `20` (per address) |
//! | `doc_cache_mb` | `QAMQOR_DOC_CACHE_MB` | `64` (estimated memory of the documents kept loaded) |
//! | `mode` | `QAMQOR_MODE` | `regional` (`national`: the country's figures from the regions) |
//! | `national_url` | `QAMQOR_NATIONAL_URL` | none (a regional server sends no report) |
//! | `national_every_minutes` | `QAMQOR_NATIONAL_EVERY_MINUTES` | `60` |
//! | `national_ca` | `QAMQOR_NATIONAL_CA` | none (the system's roots) |
//! | `national_credential_file` | `QAMQOR_NATIONAL_CREDENTIAL_FILE` | `<data_dir>/national-credential` (the credential itself may come from `QAMQOR_NATIONAL_CREDENTIAL`) |

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use qamqor_core::model::{CodeList, Region};
use qamqor_core::sync::wire::Limits;
use serde::Deserialize;

use crate::error::{Result, ServerError};

/// What the server is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A region's sync server and console (the default).
    #[default]
    Regional,
    /// The national server: receives the regions' figures (counts only)
    /// and shows the country; no phones sync with it.
    National,
}

/// A database URL, which may hold a password: shown without it.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct DatabaseUrl(pub String);

impl DatabaseUrl {
    /// The URL with any password replaced by `***`, for messages.
    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(Some("***"));
                u.to_string()
            }
            Ok(u) => u.to_string(),
            Err(_) => "(not a URL)".into(),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// The server's configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Folder of the database.
    pub data_dir: PathBuf,
    /// A PostgreSQL database (`postgres://…`) instead of the embedded
    /// SQLite one. It may hold a password: it is never logged.
    pub database_url: Option<DatabaseUrl>,
    /// PostgreSQL connections per process.
    pub database_pool: usize,
    /// The PEM certificate(s) of the authority that signed PostgreSQL's
    /// certificate: connections use TLS, verified against it.
    pub database_ca: Option<PathBuf>,
    /// A folder for attachments' files instead of the database.
    pub blob_dir: Option<PathBuf>,
    /// Days a file no record references is kept before it is removed.
    pub blob_grace_days: u32,
    /// The region this server serves (ISO 3166-2:KZ number).
    pub region: String,
    /// PEM certificate chain for HTTPS.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address (behind a TLS proxy).
    pub allow_plain_http: bool,
    /// Device token lifetime in days.
    pub token_ttl_days: i64,
    /// Largest request body after decompression.
    pub max_body_bytes: usize,
    /// Most documents per request.
    pub max_docs: usize,
    /// Largest single document message.
    pub max_message_bytes: usize,
    /// The largest a document may grow (changes past it are refused).
    pub max_doc_bytes: usize,
    /// Connections open at once.
    pub max_connections: usize,
    /// Connections open at once from one address (phones behind a
    /// carrier's NAT share one).
    pub max_connections_per_address: usize,
    /// Seconds a client may take to send a request's headers (or its TLS
    /// handshake), and that a kept-alive connection may stay idle.
    pub header_timeout_secs: u64,
    /// The file holding the database key (64 hex digits). Keep it off the
    /// database's backups. The key may instead come from the environment
    /// (`QAMQOR_DATABASE_KEY`); it is never written in this configuration.
    pub key_file: Option<PathBuf>,
    /// Encrypt a new region's database with a new key file.
    pub encrypt_new: bool,
    /// Enrollment attempts one address may make a minute.
    pub enrollments_per_minute: u32,
    /// Failed sign-ins one address may make a minute before it is refused
    /// with `429` without any lookup.
    pub failed_sign_ins_per_minute: u32,
    /// The memory the process may keep loaded documents in, in MiB (an
    /// estimate; 0: none kept).
    pub doc_cache_mb: usize,
    /// Regional or national.
    pub mode: Mode,
    /// The national server a regional server sends its figures to.
    pub national_url: Option<String>,
    /// Minutes between two reports to the national server.
    pub national_every_minutes: u64,
    /// A PEM certificate to trust for the national server.
    pub national_ca: Option<PathBuf>,
    /// The file holding the region's credential for the national server.
    pub national_credential_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        let limits = Limits::default();
        Config {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("qamqor-data"),
            database_url: None,
            database_pool: 16,
            database_ca: None,
            blob_dir: None,
            blob_grace_days: 7,
            region: "75".into(),
            tls_cert: None,
            tls_key: None,
            allow_plain_http: false,
            token_ttl_days: 90,
            max_body_bytes: limits.max_body_bytes,
            max_docs: limits.max_docs,
            max_message_bytes: limits.max_message_bytes,
            max_doc_bytes: limits.max_doc_bytes,
            max_connections: 4096,
            max_connections_per_address: 256,
            header_timeout_secs: 15,
            key_file: None,
            encrypt_new: true,
            enrollments_per_minute: 10,
            failed_sign_ins_per_minute: 20,
            doc_cache_mb: 64,
            mode: Mode::Regional,
            national_url: None,
            national_every_minutes: 60,
            national_ca: None,
            national_credential_file: None,
        }
    }
}

impl Config {
    /// Reads `path` (or `qamqor.toml` in the working folder if present),
    /// then applies `QAMQOR_*` environment overrides, then validates.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        let default_file = Path::new("qamqor.toml");
        let file = path.or(default_file.exists().then_some(default_file));
        let mut c: Config = match file {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| ServerError::Config(format!("cannot read {}: {e}", p.display())))?;
                toml::from_str(&text).map_err(|e| ServerError::Config(format!("{}: {e}", p.display())))?
            }
            None => Config::default(),
        };
        c.apply_env(|k| std::env::var(k).ok())?;
        c.validate()?;
        Ok(c)
    }

    /// Applies overrides from an environment.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<()> {
        let num =
            |k: &str, v: String| v.parse::<i64>().map_err(|_| ServerError::Config(format!("{k} must be a number")));
        if let Some(v) = get("QAMQOR_LISTEN") {
            self.listen = v;
        }
        if let Some(v) = get("QAMQOR_DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some(v) = get("QAMQOR_DATABASE_URL") {
            self.database_url = Some(DatabaseUrl(v));
        }
        if let Some(v) = get("QAMQOR_DATABASE_CA") {
            self.database_ca = Some(v.into());
        }
        if let Some(v) = get("QAMQOR_BLOB_DIR") {
            self.blob_dir = Some(v.into());
        }
        if let Some(v) = get("QAMQOR_BLOB_GRACE_DAYS") {
            self.blob_grace_days = num("QAMQOR_BLOB_GRACE_DAYS", v)?.clamp(0, 3650) as u32;
        }
        if let Some(v) = get("QAMQOR_DATABASE_POOL") {
            self.database_pool = num("QAMQOR_DATABASE_POOL", v)?.clamp(2, 1000) as usize;
        }
        if let Some(v) = get("QAMQOR_REGION") {
            self.region = v;
        }
        if let Some(v) = get("QAMQOR_TLS_CERT") {
            self.tls_cert = Some(v.into());
        }
        if let Some(v) = get("QAMQOR_TLS_KEY") {
            self.tls_key = Some(v.into());
        }
        if let Some(v) = get("QAMQOR_ALLOW_PLAIN_HTTP") {
            self.allow_plain_http = matches!(v.as_str(), "1" | "true" | "yes");
        }
        if let Some(v) = get("QAMQOR_TOKEN_TTL_DAYS") {
            self.token_ttl_days = num("QAMQOR_TOKEN_TTL_DAYS", v)?;
        }
        if let Some(v) = get("QAMQOR_MAX_BODY_BYTES") {
            self.max_body_bytes = num("QAMQOR_MAX_BODY_BYTES", v)?.max(1024) as usize;
        }
        if let Some(v) = get("QAMQOR_MAX_DOCS") {
            self.max_docs = num("QAMQOR_MAX_DOCS", v)?.max(1) as usize;
        }
        if let Some(v) = get("QAMQOR_MAX_MESSAGE_BYTES") {
            self.max_message_bytes = num("QAMQOR_MAX_MESSAGE_BYTES", v)?.max(1024) as usize;
        }
        if let Some(v) = get("QAMQOR_MAX_DOC_BYTES") {
            self.max_doc_bytes = num("QAMQOR_MAX_DOC_BYTES", v)?.max(1024) as usize;
        }
        if let Some(v) = get("QAMQOR_MAX_CONNECTIONS") {
            self.max_connections = num("QAMQOR_MAX_CONNECTIONS", v)?.max(1) as usize;
        }
        if let Some(v) = get("QAMQOR_MAX_CONNECTIONS_PER_ADDRESS") {
            self.max_connections_per_address = num("QAMQOR_MAX_CONNECTIONS_PER_ADDRESS", v)?.max(1) as usize;
        }
        if let Some(v) = get("QAMQOR_KEY_FILE") {
            self.key_file = Some(v.into());
        }
        if let Some(v) = get("QAMQOR_ENCRYPT_NEW") {
            self.encrypt_new = matches!(v.as_str(), "1" | "true" | "yes");
        }
        if let Some(v) = get("QAMQOR_ENROLLMENTS_PER_MINUTE") {
            self.enrollments_per_minute = num("QAMQOR_ENROLLMENTS_PER_MINUTE", v)?.clamp(1, 1_000_000) as u32;
        }
        if let Some(v) = get("QAMQOR_FAILED_SIGN_INS_PER_MINUTE") {
            self.failed_sign_ins_per_minute = num("QAMQOR_FAILED_SIGN_INS_PER_MINUTE", v)?.clamp(1, 1_000_000) as u32;
        }
        if let Some(v) = get("QAMQOR_DOC_CACHE_MB") {
            self.doc_cache_mb = num("QAMQOR_DOC_CACHE_MB", v)?.clamp(0, 1 << 20) as usize;
        }
        if let Some(v) = get("QAMQOR_MODE") {
            self.mode = match v.as_str() {
                "regional" => Mode::Regional,
                "national" => Mode::National,
                _ => return Err(ServerError::Config("QAMQOR_MODE is regional or national".into())),
            };
        }
        if let Some(v) = get("QAMQOR_NATIONAL_URL") {
            self.national_url = Some(v);
        }
        if let Some(v) = get("QAMQOR_NATIONAL_EVERY_MINUTES") {
            self.national_every_minutes = num("QAMQOR_NATIONAL_EVERY_MINUTES", v)?.clamp(1, 7 * 24 * 60) as u64;
        }
        if let Some(v) = get("QAMQOR_NATIONAL_CA") {
            self.national_ca = Some(v.into());
        }
        if let Some(v) = get("QAMQOR_NATIONAL_CREDENTIAL_FILE") {
            self.national_credential_file = Some(v.into());
        }
        if let Some(v) = get("QAMQOR_HEADER_TIMEOUT_SECS") {
            self.header_timeout_secs = num("QAMQOR_HEADER_TIMEOUT_SECS", v)?.max(1) as u64;
        }
        Ok(())
    }

    /// The listening address.
    pub fn addr(&self) -> Result<SocketAddr> {
        self.listen.parse().map_err(|_| ServerError::Config(format!("listen {:?} is not an address:port", self.listen)))
    }

    /// Whether HTTPS is configured.
    pub fn tls(&self) -> Option<(&Path, &Path)> {
        Some((self.tls_cert.as_deref()?, self.tls_key.as_deref()?))
    }

    /// The protocol limits.
    pub fn limits(&self) -> Limits {
        Limits {
            max_body_bytes: self.max_body_bytes,
            max_docs: self.max_docs,
            max_message_bytes: self.max_message_bytes.min(self.max_body_bytes),
            max_doc_bytes: self.max_doc_bytes,
            ..Limits::default()
        }
    }

    /// The connection limits.
    pub fn conn_limits(&self) -> crate::conn::ConnLimits {
        crate::conn::ConnLimits {
            max_connections: self.max_connections,
            max_per_address: self.max_connections_per_address,
            first_byte_timeout: self.header_timeout(),
            idle_timeout: crate::http::REQUEST_TIMEOUT + self.header_timeout(),
            ..crate::conn::ConnLimits::default()
        }
    }

    /// The database key file.
    pub fn key_file(&self) -> PathBuf {
        self.key_file.clone().unwrap_or_else(|| self.data_dir.join("qamqor-server.key"))
    }

    /// The file of the region's credential for the national server.
    pub fn national_credential_file(&self) -> PathBuf {
        self.national_credential_file.clone().unwrap_or_else(|| self.data_dir.join("national-credential"))
    }

    /// The link to the national server, when one is configured: the
    /// credential from `QAMQOR_NATIONAL_CREDENTIAL`, else its file.
    pub fn national_link(&self) -> Result<Option<crate::national::Link>> {
        let Some(url) = self.national_url.clone() else { return Ok(None) };
        let credential = match std::env::var("QAMQOR_NATIONAL_CREDENTIAL") {
            Ok(c) => c,
            Err(_) => {
                let file = self.national_credential_file();
                std::fs::read_to_string(&file).map_err(|e| {
                    ServerError::Config(format!(
                        "national_url is set but the region's credential cannot be read from {} ({e}); \
                         issue one on the national server with 'qamqor-server region-credential {}'",
                        file.display(),
                        self.region
                    ))
                })?
            }
        };
        let credential = credential.trim().to_owned();
        if credential.len() != 64 || !credential.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ServerError::Config("the region's national credential must be 64 hex digits".into()));
        }
        let ca_pem = match &self.national_ca {
            Some(p) => {
                Some(std::fs::read(p).map_err(|e| ServerError::Config(format!("cannot read {}: {e}", p.display())))?)
            }
            None => None,
        };
        let every = std::time::Duration::from_secs(self.national_every_minutes.max(1) * 60);
        Ok(Some(crate::national::Link::new(self.region.clone(), url, credential, every, ca_pem)))
    }

    /// The per-address rate limits at the edge.
    pub fn edge_limits(&self) -> crate::http::EdgeLimits {
        crate::http::EdgeLimits {
            enrollments_per_minute: self.enrollments_per_minute,
            failed_sign_ins_per_minute: self.failed_sign_ins_per_minute,
        }
    }

    /// The header (and idle) timeout.
    pub fn header_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.header_timeout_secs.max(1))
    }

    /// Checks the configuration as a whole.
    pub fn validate(&self) -> Result<()> {
        let addr = self.addr()?;
        if Region::from_code(&self.region).is_none() {
            return Err(ServerError::Config(format!("region {:?} is not a region code", self.region)));
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(ServerError::Config("tls_cert and tls_key go together".into()));
        }
        if self.tls().is_none() && !addr.ip().is_loopback() && !self.allow_plain_http {
            return Err(ServerError::Config(
                "plain HTTP is served only on loopback; set tls_cert and tls_key, or allow_plain_http behind a TLS proxy".into(),
            ));
        }
        if let Some(url) = &self.national_url {
            if self.mode == Mode::National {
                return Err(ServerError::Config("national_url is for regional servers".into()));
            }
            let parsed =
                url::Url::parse(url).map_err(|_| ServerError::Config(format!("national_url {url:?} is not a URL")))?;
            let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
            if parsed.scheme() != "https" && !(parsed.scheme() == "http" && loopback) {
                return Err(ServerError::Config(
                    "national_url must be https (plain http only to a loopback address)".into(),
                ));
            }
        }
        if let Some(url) = &self.database_url
            && !(url.0.starts_with("postgres://") || url.0.starts_with("postgresql://"))
        {
            return Err(ServerError::Config(
                "database_url must be a PostgreSQL URL (postgres://user@host:port/database); leave it out for the embedded SQLite database".into(),
            ));
        }
        if self.token_ttl_days < 1 {
            return Err(ServerError::Config("token_ttl_days must be at least 1".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_and_validation() {
        let mut c = Config::default();
        c.validate().unwrap();
        c.apply_env(|k| (k == "QAMQOR_LISTEN").then(|| "0.0.0.0:8443".to_string())).unwrap();
        assert!(c.validate().unwrap_err().to_string().contains("loopback"));
        c.allow_plain_http = true;
        c.validate().unwrap();
        c.region = "99".into();
        assert!(c.validate().is_err());
        assert!(c.apply_env(|k| (k == "QAMQOR_MAX_DOCS").then(|| "x".to_string())).is_err());
        let parsed: Config = toml::from_str("listen = \"127.0.0.1:9000\"\nregion = \"11\"").unwrap();
        assert_eq!(parsed.region, "11");
        assert!(toml::from_str::<Config>("nonsense = 1").is_err());
    }
}
