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

pub use super::session::{SyncProgress, SyncReport};

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
    sync_with_progress(store, server, limits, &|_| {}).await
}

/// [`sync`], telling `progress` how far it has gone after every round
/// (documents sent and received out of the totals known so far).
pub async fn sync_with_progress<S: SyncStore + Send + Sync + 'static>(
    store: Arc<S>,
    server: &ServerConfig,
    limits: Limits,
    progress: &(dyn Fn(SyncProgress) + Send + Sync),
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
        let now = blocking(move || {
            let mut s = lock(&s);
            s.count_bytes(sent, received);
            s.apply(&*st, &decoded)?;
            Ok(s.progress())
        })
        .await?;
        progress(now);
    }
    Ok(lock(&session).report().clone())
}

/// Bytes of an attachment sent per request.
pub const ATTACHMENT_CHUNK: u64 = 256 * 1024;

/// What one round of attachment uploads did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentReport {
    /// Files now whole on the server.
    pub files_sent: usize,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Files left for a later round (their record has not reached the
    /// server yet, or a chunk went wrong): retried with back-off.
    pub waiting: usize,
    /// Files the server refused for good (see `Store::upload_state`).
    pub failed: usize,
}

#[derive(Deserialize)]
struct BlobAnswer {
    received: u64,
    complete: bool,
}

fn blob_url(server: &ServerConfig, hash: &str, tail: &str) -> Result<reqwest::Url> {
    if !crate::docs::attachments::is_hash(hash) {
        return Err(Error::invalid("hash", "is not a SHA-256 (64 lowercase hex digits)"));
    }
    check_url(&server.url)?
        .join(&format!("v1/blobs/{hash}{tail}"))
        .map_err(|_| Error::invalid("server_url", "is not a base URL"))
}

/// Sends the attachments waiting to go up, urgent first (a risk report's
/// evidence before a routine visit's photos), each from the byte the
/// server has, in chunks of [`ATTACHMENT_CHUNK`]; the store records every
/// acknowledged chunk, so a dropped connection or a killed app resumes
/// where it stopped. Runs apart from document sync and never holds it up:
/// call it after `sync`, or on its own. `progress(hash, sent, total)` is
/// told after every chunk. A network failure ends the round with the error
/// (what was acknowledged stays); a file the server cannot take yet waits
/// with back-off; a file it refuses (type, size) is marked failed.
pub async fn upload_attachments(
    store: Arc<crate::store::Store>,
    server: &ServerConfig,
    progress: &(dyn Fn(&str, u64, u64) + Send + Sync),
) -> Result<AttachmentReport> {
    let client = http_client(server.ca_pem.as_deref(), server.timeout, false)?;
    let mut report = AttachmentReport::default();
    let st = store.clone();
    let queue = blocking(move || st.upload_queue()).await?;
    for item in queue {
        match upload_one(&client, &store, server, &item, progress, &mut report).await {
            Ok(()) => report.files_sent += 1,
            Err(Error::Server { status, code, message }) => {
                let permanent = matches!(status, 413 | 415);
                let attempts = {
                    let (st, h) = (store.clone(), item.hash.clone());
                    blocking(move || st.upload_attempts(&h)).await?
                };
                let retry_after = (30i64 << attempts.min(7)).min(3600);
                let reason = format!("{code}: {message}");
                let (st, h) = (store.clone(), item.hash.clone());
                blocking(move || st.upload_failed(&h, &reason, permanent, retry_after)).await?;
                if permanent {
                    report.failed += 1;
                } else {
                    report.waiting += 1;
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

async fn upload_one(
    client: &reqwest::Client,
    store: &Arc<crate::store::Store>,
    server: &ServerConfig,
    item: &crate::store::QueuedUpload,
    progress: &(dyn Fn(&str, u64, u64) + Send + Sync),
    report: &mut AttachmentReport,
) -> Result<()> {
    use crate::model::CodeList;
    // Where the server stands (a killed app may have sent more than it recorded).
    let mut sent = held(client, server, item).await?;
    let mut retries = 0;
    while sent < item.size {
        let len = ATTACHMENT_CHUNK.min(item.size - sent);
        let (st, h) = (store.clone(), item.hash.clone());
        let chunk = blocking(move || st.attachment_chunk(&h, sent, len)).await?;
        let resp = client
            .put(blob_url(server, &item.hash, "")?)
            .bearer_auth(&server.token)
            .header(reqwest::header::CONTENT_TYPE, item.media_type.code())
            .header(reqwest::header::CONTENT_RANGE, format!("bytes {}-{}/{}", sent, sent + len - 1, item.size))
            .header("x-chunk-sha256", crate::docs::attachments::content_hash(&chunk))
            .body(chunk)
            .send()
            .await
            .map_err(net)?;
        let code = resp.status().as_u16();
        if matches!(code, 409 | 422) && retries < 3 {
            // Out of step, or damaged on the way: ask where to resume.
            retries += 1;
            sent = held(client, server, item).await?;
            continue;
        }
        if !resp.status().is_success() {
            return Err(refusal(resp).await);
        }
        let answer: BlobAnswer = resp.json().await.map_err(net)?;
        report.bytes_sent += len;
        sent = if answer.complete { item.size } else { answer.received };
        let (st, h, done) = (store.clone(), item.hash.clone(), answer.complete);
        blocking(move || st.upload_progress(&h, sent, done)).await?;
        progress(&item.hash, sent, item.size);
    }
    let (st, h, size) = (store.clone(), item.hash.clone(), item.size);
    blocking(move || st.upload_progress(&h, size, true)).await
}

/// The bytes of an attachment the server holds: where to resume.
async fn held(client: &reqwest::Client, server: &ServerConfig, item: &crate::store::QueuedUpload) -> Result<u64> {
    let resp =
        client.get(blob_url(server, &item.hash, "/status")?).bearer_auth(&server.token).send().await.map_err(net)?;
    if !resp.status().is_success() {
        return Err(refusal(resp).await);
    }
    let status: BlobAnswer = resp.json().await.map_err(net)?;
    Ok(if status.complete { item.size } else { status.received })
}

/// An attachment's bytes: from the phone if it has them, else fetched from
/// the server (which checks this user may read a record referencing it)
/// and kept, checked against the hash.
pub async fn fetch_attachment(store: Arc<crate::store::Store>, server: &ServerConfig, hash: &str) -> Result<Vec<u8>> {
    let (st, h) = (store.clone(), hash.to_owned());
    if let Some(bytes) = blocking(move || st.attachment_bytes(&h)).await? {
        return Ok(bytes);
    }
    let client = http_client(server.ca_pem.as_deref(), server.timeout, false)?;
    let resp = client.get(blob_url(server, hash, "")?).bearer_auth(&server.token).send().await.map_err(net)?;
    if !resp.status().is_success() {
        return Err(refusal(resp).await);
    }
    let bytes = resp.bytes().await.map_err(net)?.to_vec();
    let (st, h, b) = (store, hash.to_owned(), bytes.clone());
    blocking(move || st.keep_fetched(&h, &b)).await?;
    Ok(bytes)
}

/// Fetches ahead the files the phone's records reference and it lacks,
/// newest first, up to `budget` bytes of them (an app calls it on Wi-Fi).
/// A file the server does not have yet or refuses is skipped. Returns how
/// many were fetched.
pub async fn prefetch_attachments(
    store: Arc<crate::store::Store>,
    server: &ServerConfig,
    budget: u64,
) -> Result<usize> {
    let st = store.clone();
    let missing = blocking(move || st.missing_attachments()).await?;
    let (mut fetched, mut spent) = (0, 0u64);
    for r in missing {
        if spent + r.size > budget {
            continue;
        }
        match fetch_attachment(store.clone(), server, &r.hash).await {
            Ok(_) => {
                fetched += 1;
                spent += r.size;
            }
            Err(Error::Server { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(fetched)
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
