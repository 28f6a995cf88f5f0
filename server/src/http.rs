//! The HTTP layer: routes, authentication header, compression, limits and
//! error bodies. It only moves bytes to and from [`Service`].

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use qamqor_core::sync::wire;
use serde_json::json;
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;

use crate::error::ServerError;
use crate::service::{EnrollRequest, Service};

/// The media type of sync bodies.
pub const CBOR: &str = "application/cbor";

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        (status, Json(json!({ "error": self.code(), "message": self.public_message() }))).into_response()
    }
}

/// The router of the sync API.
pub fn router(service: Arc<Service>) -> Router {
    let limit = service.limits.max_body_bytes;
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/enroll", post(enroll))
        .route("/v1/sync", post(sync))
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestDecompressionLayer::new())
        .layer(CompressionLayer::new())
        .with_state(service)
}

async fn health() -> impl IntoResponse {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION"), "protocol": wire::PROTOCOL_VERSION }))
}

fn body_bytes(body: Result<Bytes, BytesRejection>, limit: usize) -> Result<Bytes, ServerError> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
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

async fn enroll(
    State(service): State<Arc<Service>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ServerError> {
    let bytes = body_bytes(body, service.limits.max_body_bytes)?;
    let req: EnrollRequest = serde_json::from_slice(&bytes)
        .map_err(|_| ServerError::BadRequest("expected JSON {code, actor, label}".into()))?;
    let resp = blocking(move || service.enroll(&req)).await?;
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

async fn sync(
    State(service): State<Arc<Service>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ServerError> {
    let token = bearer(&headers)?;
    let bytes = body_bytes(body, service.limits.max_body_bytes)?;
    let resp = blocking(move || {
        let caller = service.authenticate(&token)?;
        let req = wire::decode_request(&bytes, &service.limits)?;
        service.sync(&caller, &req)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, CBOR)], wire::encode(&resp)).into_response())
}
