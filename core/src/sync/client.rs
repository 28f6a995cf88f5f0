//! The phone's sync client: carries the session machine's requests over
//! HTTPS with reqwest. All decisions are in [`super::session`] and the
//! engine; this only moves bytes and maps HTTP failures to errors.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::session::{Session, SyncStore};
use super::wire::{self, Limits};
use crate::error::{Error, Result};

/// Where and as whom this phone syncs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The server's base URL (`https://qamqor.almaty.example`).
    pub url: String,
    /// The device token from enrollment.
    pub token: String,
    /// Extra root certificate (PEM) for a regional CA.
    pub ca_pem: Option<Vec<u8>>,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// The server's answer to an enrollment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    /// The device id.
    pub device_id: String,
    /// The bearer token; keep it in the Keystore or Keychain.
    pub token: String,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
    /// The user id.
    pub user_id: String,
    /// The role (`specialist`, `mentor`, `admin`).
    pub role: String,
    /// The region code.
    pub region: String,
}

pub use super::session::SyncReport;

/// Checks that `url` is HTTPS, or plain HTTP to this machine only.
pub fn check_url(url: &str) -> Result<reqwest::Url> {
    let parsed = reqwest::Url::parse(url).map_err(|_| Error::invalid("server_url", "is not a URL"))?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" => {
            let loopback = match parsed.host() {
                Some(url::Host::Domain(d)) => d == "localhost",
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            if loopback { Ok(parsed) } else { Err(Error::InsecureUrl) }
        }
        _ => Err(Error::invalid("server_url", "must start with https://")),
    }
}

/// A client; with `raw_gzip`, responses are decompressed by the caller
/// rather than by reqwest, so that a report counts the bytes on the wire.
fn http_client(ca_pem: Option<&[u8]>, timeout: Duration, raw_gzip: bool) -> Result<reqwest::Client> {
    let mut b = reqwest::Client::builder().timeout(timeout).connect_timeout(Duration::from_secs(15));
    if raw_gzip {
        let accept = [(reqwest::header::ACCEPT_ENCODING, reqwest::header::HeaderValue::from_static("gzip"))];
        b = b.no_gzip().default_headers(reqwest::header::HeaderMap::from_iter(accept));
    }
    if let Some(pem) = ca_pem {
        let cert =
            reqwest::Certificate::from_pem(pem).map_err(|_| Error::invalid("ca_pem", "is not a PEM certificate"))?;
        b = b.add_root_certificate(cert);
    }
    b.build().map_err(|e| Error::Network(e.to_string()))
}

fn net(e: reqwest::Error) -> Error {
    Error::Network(if e.is_timeout() { "the request timed out".into() } else { e.without_url().to_string() })
}

async fn refusal(resp: reqwest::Response) -> Error {
    let status = resp.status().as_u16();
    let gzipped = is_gzip(&resp);
    let bytes = resp.bytes().await.unwrap_or_default();
    let bytes = if gzipped { gunzip(&bytes, 64 * 1024).unwrap_or_default() } else { bytes.to_vec() };
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let code = body["error"].as_str().unwrap_or("unknown").to_owned();
    let message = body["message"].as_str().unwrap_or("").chars().take(300).collect::<String>();
    match (status, code.as_str()) {
        (401, "token_expired") => Error::TokenExpired,
        (401, _) => Error::Unauthorized(message),
        _ => Error::Server { status, code, message },
    }
}

/// Enrolls this store's installation with a one-time code.
pub async fn enroll(url: &str, ca_pem: Option<&[u8]>, code: &str, actor: &str, label: &str) -> Result<Enrollment> {
    let base = check_url(url)?;
    let client = http_client(ca_pem, Duration::from_secs(30), false)?;
    let resp = client
        .post(base.join("v1/enroll").map_err(|_| Error::invalid("server_url", "is not a base URL"))?)
        .json(&serde_json::json!({ "code": code, "actor": actor, "label": label }))
        .send()
        .await
        .map_err(net)?;
    if !resp.status().is_success() {
        return Err(refusal(resp).await);
    }
    resp.json().await.map_err(net)
}

/// Blocking store work runs off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|_| Error::Network("a worker thread failed".into()))?
}

/// Syncs `store` with its server until both sides have nothing more to
/// say, driving the [`Session`] machine over HTTPS. Urgent documents go
/// first. A dropped connection leaves everything acknowledged so far
/// stored; the next sync resumes.
pub async fn sync<S: SyncStore + Send + Sync + 'static>(
    store: Arc<S>,
    server: &ServerConfig,
    limits: Limits,
) -> Result<SyncReport> {
    let base = check_url(&server.url)?;
    let endpoint = base.join("v1/sync").map_err(|_| Error::invalid("server_url", "is not a base URL"))?;
    let client = http_client(server.ca_pem.as_deref(), server.timeout, true)?;
    let session = Arc::new(std::sync::Mutex::new(Session::new(limits)));
    let mut shrinks = 0;
    loop {
        let (st, s) = (store.clone(), session.clone());
        let Some(req) = blocking(move || lock(&s).next_request(&*st)).await? else {
            break;
        };
        let body = gzip(&wire::encode(&req))?;
        let sent = body.len();
        let send = client
            .post(endpoint.clone())
            .bearer_auth(&server.token)
            .header(reqwest::header::CONTENT_TYPE, "application/cbor")
            .header(reqwest::header::CONTENT_ENCODING, "gzip")
            .body(body)
            .send();
        // The next request's documents are read while the server works.
        let (st, s) = (store.clone(), session.clone());
        let prefetch = blocking(move || lock(&s).prefetch(&*st));
        let (resp, prefetched) = tokio::join!(send, prefetch);
        if let Err(e) = prefetched {
            // Only a head start: the next request reads them itself.
            tracing::debug!(error = %e, "reading ahead failed");
        }
        let resp = resp.map_err(net)?;
        if resp.status() == reqwest::StatusCode::PAYLOAD_TOO_LARGE && shrinks < 8 {
            // The server takes less than this phone assumed: send less.
            shrinks += 1;
            let limit = body_limit(resp).await;
            lock(&session).request_too_large(limit);
            continue;
        }
        if !resp.status().is_success() {
            return Err(refusal(resp).await);
        }
        let gzipped = is_gzip(&resp);
        let bytes = resp.bytes().await.map_err(net)?;
        let received = bytes.len();
        let body = if gzipped { gunzip(&bytes, limits.max_body_bytes)? } else { bytes.to_vec() };
        let decoded = wire::decode_response(&body, &limits)?;
        let (st, s) = (store.clone(), session.clone());
        blocking(move || {
            let mut s = lock(&s);
            s.count_bytes(sent, received);
            s.apply(&*st, &decoded)
        })
        .await?;
    }
    Ok(lock(&session).report().clone())
}

/// The body limit a `413` answer names, if any.
async fn body_limit(resp: reqwest::Response) -> Option<usize> {
    let gzipped = is_gzip(&resp);
    let bytes = resp.bytes().await.ok()?;
    let bytes = if gzipped { gunzip(&bytes, 64 * 1024).ok()? } else { bytes.to_vec() };
    let body: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    body["limit"].as_u64().and_then(|l| usize::try_from(l).ok())
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn is_gzip(resp: &reqwest::Response) -> bool {
    resp.headers().get(reqwest::header::CONTENT_ENCODING).is_some_and(|v| v.as_bytes() == b"gzip")
}

/// Decompresses a response, refusing more than `limit` bytes.
fn gunzip(bytes: &[u8], limit: usize) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| Error::Network("the server sent a damaged compressed response".into()))?;
    if out.len() > limit {
        return Err(Error::invalid("body", format!("the response is larger than {limit} bytes")));
    }
    Ok(out)
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes)?;
    Ok(enc.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(check_url("https://qamqor.example.kz").is_ok());
        assert!(check_url("http://127.0.0.1:8080").is_ok());
        assert!(check_url("http://localhost:8080").is_ok());
        assert!(check_url("http://[::1]:8080").is_ok());
        assert!(matches!(check_url("http://10.0.0.5:8080"), Err(Error::InsecureUrl)));
        assert!(matches!(check_url("http://qamqor.example.kz"), Err(Error::InsecureUrl)));
        assert!(check_url("ftp://x").is_err());
        assert!(check_url("not a url").is_err());
    }
}
