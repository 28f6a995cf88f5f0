//! The HTTP layer: routes, authentication header, compression, limits and
//! error bodies. It only moves bytes to and from [`Service`].

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use qamqor_core::sync::wire;
use serde_json::json;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate, SizeAbove};
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::timeout::TimeoutLayer;

use crate::config::Mode;
use crate::error::ServerError;
use crate::ratelimit::RateLimiter;
use crate::service::{EnrollRequest, Service};

/// The media type of sync bodies.
pub const CBOR: &str = "application/cbor";

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut body = json!({ "error": self.code(), "message": self.public_message() });
        if let ServerError::TooLarge(limit) = self {
            // The client sizes its next request by it.
            body["limit"] = json!(limit);
        }
        let unread = matches!(
            self,
            ServerError::TooLarge(_)
                | ServerError::Unauthorized(_)
                | ServerError::TokenExpired
                | ServerError::TooManyRequests
        );
        let mut response = (status, Json(body)).into_response();
        if unread {
            // Refused before its body was read: the connection is closed,
            // so that the client does not send its next request on it.
            response
                .headers_mut()
                .insert(axum::http::header::CONNECTION, axum::http::HeaderValue::from_static("close"));
        }
        response
    }
}

/// Per-address rate limits (see the configuration).
#[derive(Debug, Clone, Copy)]
pub struct EdgeLimits {
    /// Enrollment attempts one address may make a minute.
    pub enrollments_per_minute: u32,
    /// Failed sign-ins one address may make a minute; past them failures
    /// are answered `429` and no longer logged or audited.
    pub failed_sign_ins_per_minute: u32,
}
/// The longest a request may take, body included (a slow sender is cut off).
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// The state behind the routes.
struct Edge {
    service: Arc<Service>,
    failed_sign_ins: RateLimiter,
    enrollments: RateLimiter,
    /// When a write last failed for want of disk space (Unix seconds, 0: never).
    disk_full_at: std::sync::atomic::AtomicI64,
}

/// How long after a write failed for want of disk space the health check
/// reports it.
const DISK_FULL_REPORTED_SECS: i64 = 300;
/// Responses smaller than this (bytes) are sent uncompressed.
const COMPRESS_ABOVE: u16 = 1024;

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The router of the sync API. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()`: limits and the
/// audit use the client's address.
pub fn router(service: Arc<Service>, limits: EdgeLimits) -> Router {
    let edge = Arc::new(Edge {
        service,
        failed_sign_ins: RateLimiter::new(limits.failed_sign_ins_per_minute),
        enrollments: RateLimiter::new(limits.enrollments_per_minute),
        disk_full_at: std::sync::atomic::AtomicI64::new(0),
    });
    let console = crate::console::router(edge.service.clone());
    let routes = Router::new().route("/v1/health", get(health));
    let routes = match edge.service.mode {
        Mode::Regional => routes
            .route("/v1/enroll", post(enroll))
            .route("/v1/sync", post(sync))
            .route("/v1/blobs/{hash}", get(blob_download).put(blob_upload))
            .route("/v1/blobs/{hash}/status", get(blob_status)),
        Mode::National => routes.route("/v1/national/report", post(national_report)),
    };
    routes
        .route("/console/", get(|| async { axum::response::Redirect::permanent("/console") }))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(RequestDecompressionLayer::new())
        // A small body gains nothing from gzip, and setting up a deflate
        // stream costs more than answering a sync with nothing new.
        .layer(CompressionLayer::new().compress_when(DefaultPredicate::new().and(SizeAbove::new(COMPRESS_ABOVE))))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
        .with_state(edge)
        .nest("/console", console)
}

async fn not_found() -> ServerError {
    ServerError::NotFound("no such route; the API is under /v1/ (see docs/protocol.md)".into())
}

async fn method_not_allowed() -> ServerError {
    ServerError::MethodNotAllowed
}

async fn health(State(edge): State<Arc<Edge>>) -> Response {
    let limits = edge.service.limits;
    let full_at = edge.disk_full_at.load(std::sync::atomic::Ordering::Relaxed);
    if full_at > 0 && now_secs() - full_at < DISK_FULL_REPORTED_SECS {
        let body = json!({
            "status": "failing",
            "error": "disk_full",
            "message": "writes are failing: the server's disk is full",
        });
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    // The database answers (a load balancer takes a process whose database
    // is unreachable out of rotation).
    let storage = edge.service.storage().clone();
    if let Err(e) = blocking(move || storage.feed_end()).await {
        tracing::error!(error = %e, "health check: the database does not answer");
        let body = json!({
            "status": "failing",
            "error": "database",
            "message": "the server cannot reach its database",
        });
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    Json(json!({
        "status": "ok",
        "mode": match edge.service.mode { Mode::Regional => "regional", Mode::National => "national" },
        "version": env!("CARGO_PKG_VERSION"),
        "protocol": wire::PROTOCOL_VERSION,
        "limits": {
            "max_body_bytes": limits.max_body_bytes,
            "max_docs": limits.max_docs,
            "max_message_bytes": limits.max_message_bytes,
        },
    }))
    .into_response()
}

/// Reads a body of at most `limit` bytes (after decompression).
async fn read_body(body: Body, limit: usize) -> Result<Bytes, ServerError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large = std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            || e.to_string().contains("length limit");
        if too_large {
            ServerError::TooLarge(limit)
        } else {
            ServerError::BadRequest("the request body could not be read (bad compression?)".into())
        }
    })
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ServerError> + Send + 'static,
) -> Result<T, ServerError> {
    tokio::task::spawn_blocking(f).await.map_err(|_| ServerError::Config("a worker failed".into()))?
}

/// Enrollment JSON is small; anything larger is refused unread.
const ENROLL_BODY_LIMIT: usize = 4096;

async fn enroll(
    State(edge): State<Arc<Edge>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Body,
) -> Result<Response, ServerError> {
    if !edge.enrollments.take(peer.ip()) {
        tracing::warn!(address = %peer.ip(), "enrollment attempts over the limit");
        return Err(ServerError::TooManyRequests);
    }
    let bytes = read_body(body, ENROLL_BODY_LIMIT).await?;
    let req: EnrollRequest = serde_json::from_slice(&bytes)
        .map_err(|_| ServerError::BadRequest("expected JSON {code, actor, label}".into()))?;
    let service = edge.service.clone();
    let address = peer.ip().to_string();
    let resp = blocking(move || service.enroll(&req, &address)).await?;
    Ok(Json(resp).into_response())
}

fn bearer(headers: &HeaderMap) -> Result<String, ServerError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ServerError::Unauthorized("missing Authorization: Bearer <token>".into()))?;
    value
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_owned())
        .ok_or_else(|| ServerError::Unauthorized("the Authorization header must be Bearer <token>".into()))
}

/// Authenticates a request's bearer token with `check` (from the headers,
/// before any body is read). A failure is audited with the client's
/// address (and `reason`, else the error's code), until the address has
/// spent its failed sign-ins a minute: past them it is answered `429`
/// without being logged or audited (a valid token from the same address
/// still works: phones behind a carrier's NAT share it).
async fn authenticated<T: Send + 'static>(
    edge: &Edge,
    ip: std::net::IpAddr,
    headers: &HeaderMap,
    reason: Option<&'static str>,
    check: fn(&Service, &str) -> Result<T, ServerError>,
) -> Result<T, ServerError> {
    let outcome = match bearer(headers) {
        Ok(token) => {
            let s = edge.service.clone();
            blocking(move || check(&s, &token)).await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Err(e @ (ServerError::Unauthorized(_) | ServerError::TokenExpired)) => {
            if !edge.failed_sign_ins.take(ip) {
                return Err(ServerError::TooManyRequests);
            }
            let (s, a, why) = (edge.service.clone(), ip.to_string(), reason.unwrap_or(e.code()));
            blocking(move || s.sign_in_failed(&a, why)).await?;
            Err(e)
        }
        other => other,
    }
}

/// A sync request: the caller is authenticated from the headers **before**
/// the body is read, so an unauthenticated request costs its headers only.
async fn sync(
    State(edge): State<Arc<Edge>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ServerError> {
    let ip = peer.ip();
    let service = edge.service.clone();
    let address = ip.to_string();
    let mut caller = authenticated(&edge, ip, &headers, None, |s, token| s.authenticate(token)).await?;
    caller.address = Some(address);
    let bytes = read_body(body, service.limits.max_body_bytes).await?;
    let resp = blocking(move || {
        let req = wire::decode_request(&bytes, &service.limits)?;
        service.sync(&caller, &req)
    })
    .await
    .inspect_err(|e| {
        if e.is_disk_full() {
            edge.disk_full_at.store(now_secs(), std::sync::atomic::Ordering::Relaxed);
        }
    })?;
    Ok(([(header::CONTENT_TYPE, CBOR)], wire::encode(&resp)).into_response())
}

/// The device calling, authenticated from the headers, with its address.
async fn device(edge: &Edge, ip: std::net::IpAddr, headers: &HeaderMap) -> Result<crate::service::Caller, ServerError> {
    let mut caller = authenticated(edge, ip, headers, None, |s, token| s.authenticate(token)).await?;
    caller.address = Some(ip.to_string());
    Ok(caller)
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `Content-Range: bytes <first>-<last>/<total>`.
fn content_range(headers: &HeaderMap) -> Result<(u64, u64, u64), ServerError> {
    let bad = || ServerError::BadRequest("a chunk carries Content-Range: bytes <first>-<last>/<total>".into());
    let v = header_str(headers, "content-range").ok_or_else(bad)?;
    let (range, total) = v.strip_prefix("bytes ").and_then(|r| r.split_once('/')).ok_or_else(bad)?;
    let (first, last) = range.split_once('-').ok_or_else(bad)?;
    let n = |s: &str| s.trim().parse::<u64>().map_err(|_| bad());
    let (first, last, total) = (n(first)?, n(last)?, n(total)?);
    if last < first {
        return Err(bad());
    }
    Ok((first, last, total))
}

/// One chunk of an attachment's file (`PUT /v1/blobs/<sha256>`).
async fn blob_upload(
    State(edge): State<Arc<Edge>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(hash): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ServerError> {
    let caller = device(&edge, peer.ip(), &headers).await?;
    let (first, last, total) = content_range(&headers)?;
    let media_type = header_str(&headers, "content-type").unwrap_or("").to_owned();
    let chunk_sha = header_str(&headers, "x-chunk-sha256").unwrap_or("").to_owned();
    let data = read_body(body, crate::blobs::MAX_CHUNK).await?;
    if data.len() as u64 != last - first + 1 {
        return Err(ServerError::BadRequest("the body's length differs from its Content-Range".into()));
    }
    let service = edge.service.clone();
    let received = blocking(move || {
        let chunk = crate::blobs::Chunk {
            hash: &hash,
            media_type: &media_type,
            offset: first,
            total,
            chunk_sha256: &chunk_sha,
            data: &data,
        };
        crate::blobs::upload(&service, &caller, &chunk)
    })
    .await?;
    Ok(Json(received).into_response())
}

/// How much of a file the server has (`GET /v1/blobs/<sha256>/status`).
async fn blob_status(
    State(edge): State<Arc<Edge>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(hash): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    let caller = device(&edge, peer.ip(), &headers).await?;
    let service = edge.service.clone();
    let status = blocking(move || crate::blobs::status(&service, &caller, &hash)).await?;
    Ok(Json(status).into_response())
}

/// A whole file (`GET /v1/blobs/<sha256>`).
async fn blob_download(
    State(edge): State<Arc<Edge>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(hash): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    let caller = device(&edge, peer.ip(), &headers).await?;
    let service = edge.service.clone();
    let (media_type, bytes) = blocking(move || crate::blobs::download(&service, &caller, &hash)).await?;
    Ok(([(header::CONTENT_TYPE, media_type), (header::CACHE_CONTROL, "no-store".to_owned())], bytes).into_response())
}

/// A region's report to the national server: the credential is checked
/// before the body is read, and failures are limited per address like
/// phones' sign-ins.
async fn national_report(
    State(edge): State<Arc<Edge>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ServerError> {
    let ip = peer.ip();
    let address = ip.to_string();
    let service = edge.service.clone();
    let region = authenticated(&edge, ip, &headers, Some("region credential"), crate::national::authenticate).await?;
    let bytes = read_body(body, crate::national::MAX_REPORT_BYTES).await?;
    let stored = blocking(move || crate::national::accept(&service, &region, &bytes, &address)).await?;
    Ok(Json(stored).into_response())
}
