//! The sync protocol's messages and their encoding (CBOR, RFC 8949).
//!
//! See `docs/protocol.md` for the specification another client can be
//! written from.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The protocol version this core speaks: 3 adds whole documents
/// ([`DocMessage::full`]) both ways.
pub const PROTOCOL_VERSION: u32 = 3;

/// The oldest protocol version a server still serves (2: sync messages
/// only).
pub const MIN_PROTOCOL_VERSION: u32 = 2;

/// Limits both sides enforce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Largest request or response body, after decompression, in bytes.
    pub max_body_bytes: usize,
    /// Most documents in one request or response.
    pub max_docs: usize,
    /// Largest single Automerge sync message, in bytes.
    pub max_message_bytes: usize,
    /// Most request/response rounds in one sync (a guard: a session also
    /// ends after [`MAX_IDLE_ROUNDS`] rounds in a row that move nothing).
    pub max_rounds: usize,
    /// The largest a document may grow, in bytes (see [`MAX_DOC_BYTES`]).
    #[serde(default = "default_max_doc_bytes")]
    pub max_doc_bytes: usize,
}

fn default_max_doc_bytes() -> usize {
    MAX_DOC_BYTES
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 << 20,
            max_docs: 250,
            max_message_bytes: 8 << 20,
            max_rounds: 10_000,
            max_doc_bytes: MAX_DOC_BYTES,
        }
    }
}

/// Rounds in a row that send nothing, get nothing answered, move no
/// cursor and remove nothing, after which a session gives up (the next
/// sync continues). A session that makes progress runs until it is complete,
/// whatever the caseload's size.
pub const MAX_IDLE_ROUNDS: usize = 12;

/// An Automerge sync message for one document, or (protocol 3) the whole
/// document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocMessage {
    /// The document id (`case:…`).
    pub id: String,
    /// The encoded `automerge::sync::Message`, or with `full` the
    /// document's saved form (Automerge's `save()`, possibly followed by
    /// change chunks).
    #[serde(with = "serde_bytes")]
    pub msg: Vec<u8>,
    /// `msg` is the whole document, sent to a peer that has never had it:
    /// one message instead of an exchange of several (protocol 3).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub full: bool,
}

impl DocMessage {
    /// A sync message for document `id`.
    pub fn sync(id: impl Into<String>, msg: Vec<u8>) -> Self {
        DocMessage { id: id.into(), msg, full: false }
    }

    /// The whole document `id` in its saved form.
    pub fn whole(id: impl Into<String>, saved: Vec<u8>) -> Self {
        DocMessage { id: id.into(), msg: saved, full: true }
    }
}

/// What the phone sends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// Protocol version.
    pub v: u32,
    /// The change-feed position the phone has received everything up to.
    pub cursor: u64,
    /// Sync messages, urgent documents first.
    pub docs: Vec<DocMessage>,
    /// Documents of earlier `removed` lists that the phone has deleted: the
    /// server stops repeating them.
    #[serde(default)]
    pub acks: Vec<String>,
    /// The phone has wiped its data after a `wipe`: the server records it
    /// and refuses the device from then on.
    #[serde(default)]
    pub wiped: bool,
    /// Files opened on the phone since its last sync, for the server's
    /// audit (the law asks who saw a child's file, not only who downloaded
    /// it). Each is sent until a response arrives; the server records each
    /// id once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reads: Vec<ReadRecord>,
    /// Asks for [`SyncResponse::remaining`] (for a progress bar). Counting
    /// costs the server a pass over the rest of the feed, so a phone asks
    /// until it has had one count in a session, not at every round.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub count: bool,
}

/// A file opened on the phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadRecord {
    /// A random id (32 hex digits), so that a record sent twice counts once.
    pub id: String,
    /// The document opened.
    pub doc: String,
    /// When, Unix milliseconds (the phone's clock).
    pub at: i64,
}

/// Most read records in one request.
pub const MAX_READS: usize = 500;

/// The fate of one document of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocStatus {
    /// Received; any changes in it are committed on the server.
    Ok,
    /// The device may not access this document.
    Denied,
    /// The device may read but not change this document.
    ReadOnly,
    /// The changes are not this device's own (an actor of another device).
    ForeignActor,
    /// The message could not be decoded or applied.
    Invalid,
    /// Access to the document was withdrawn; every change in the message
    /// is stored on the server. The phone deletes its copy.
    Withdrawn,
    /// The document is (or would become) larger than one sync message may
    /// carry; the rest of the request is served.
    TooLarge,
}

/// The largest a document may grow (its saved size plus appended
/// changes): past it, edits are refused on the phone and changes on the
/// server, so that every document stays sendable in one message
/// ([`Limits::max_message_bytes`]).
pub const MAX_DOC_BYTES: usize = 4 << 20;

/// A per-document result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocResult {
    /// The document id.
    pub id: String,
    /// The status.
    pub status: DocStatus,
    /// A human-readable reason (no personal data).
    pub reason: String,
}

/// What the server answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// Protocol version.
    pub v: u32,
    /// The new change-feed position once this response is applied.
    pub cursor: u64,
    /// Sync messages for the phone.
    pub docs: Vec<DocMessage>,
    /// Results for documents of the request that were not simply `ok`,
    /// and `ok` for every whole document stored (protocol 3).
    pub results: Vec<DocResult>,
    /// Documents the phone must delete (access withdrawn, case reassigned),
    /// repeated in every response until the phone lists them in `acks`.
    pub removed: Vec<String>,
    /// The server has more changed documents than fit in this response.
    pub more: bool,
    /// With `more`, when the request asked (`count`): how many documents of
    /// the change feed the phone may still receive after this response, at
    /// most (some may turn out to hold nothing new for it). For progress
    /// bars; absent when not asked or unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
    /// The device was revoked: the phone must wipe its local data and say
    /// so with `wiped` in its next request. Repeated until it has.
    pub wipe: bool,
    /// The server's limits, sent when the request exceeded one of them
    /// (more documents than `max_docs`: the rest were left unanswered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Announced>,
    /// A renewed device token, sent when the current one nears its expiry.
    /// Keep it (Keystore, Keychain) and use it from the next request: the
    /// current token stays valid until the new one is first used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal: Option<Renewal>,
}

/// A renewed device token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Renewal {
    /// The new bearer token.
    pub token: String,
    /// Its expiry, Unix seconds.
    pub expires_at: i64,
}

/// The limits a server announces to a phone that exceeded them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announced {
    /// Most documents per request and per response.
    pub max_docs: usize,
    /// Largest request or response body, after decompression.
    pub max_body_bytes: usize,
    /// Largest single document message.
    pub max_message_bytes: usize,
}

/// A request may carry at most this many times `max_docs` messages; past
/// the limit itself the server serves the first `max_docs` and leaves the
/// rest unanswered (the phone sends them again), past this it refuses the
/// request.
pub const MAX_DOCS_TOLERANCE: usize = 4;

/// Encodes a message as CBOR.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail for these types.
    let _ = ciborium::into_writer(value, &mut out);
    out
}

/// Decodes a CBOR message, enforcing the limits.
pub fn decode_request(bytes: &[u8], limits: &Limits) -> Result<SyncRequest> {
    let req: SyncRequest = decode(bytes, limits)?;
    if req.reads.len() > MAX_READS * MAX_DOCS_TOLERANCE {
        return Err(Error::invalid("reads", format!("holds more than {} records", MAX_READS * MAX_DOCS_TOLERANCE)));
    }
    if !(MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&req.v) {
        return Err(Error::invalid(
            "v",
            format!("unsupported protocol version (this side speaks {MIN_PROTOCOL_VERSION} to {PROTOCOL_VERSION})"),
        ));
    }
    if req.v < 3 && req.docs.iter().any(|d| d.full) {
        return Err(Error::invalid("docs", "whole documents (full) need protocol version 3"));
    }
    check_docs(&req.docs, limits)?;
    Ok(req)
}

/// Decodes a response, enforcing the limits.
pub fn decode_response(bytes: &[u8], limits: &Limits) -> Result<SyncResponse> {
    let resp: SyncResponse = decode(bytes, limits)?;
    if !(MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&resp.v) {
        return Err(Error::invalid("v", format!("unsupported protocol version (this side speaks {PROTOCOL_VERSION})")));
    }
    check_docs(&resp.docs, limits)?;
    Ok(resp)
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], limits: &Limits) -> Result<T> {
    if bytes.len() > limits.max_body_bytes {
        return Err(Error::invalid("body", format!("is larger than the limit of {} bytes", limits.max_body_bytes)));
    }
    ciborium::from_reader(bytes).map_err(|_| Error::invalid("body", "is not a valid CBOR sync message"))
}

fn check_docs(docs: &[DocMessage], limits: &Limits) -> Result<()> {
    let most = limits.max_docs.saturating_mul(MAX_DOCS_TOLERANCE);
    if docs.len() > most {
        return Err(Error::invalid("docs", format!("holds more than {most} documents")));
    }
    // A message above `max_message_bytes` is that document's failure only:
    // the receiver answers it `too_large` and serves the rest (the body
    // limit already bounds the memory).
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_limits() {
        let req = SyncRequest {
            v: PROTOCOL_VERSION,
            cursor: 7,
            docs: vec![DocMessage::sync("case:x", vec![1, 2, 3])],
            ..SyncRequest::default()
        };
        let bytes = encode(&req);
        assert_eq!(decode_request(&bytes, &Limits::default()).unwrap(), req);
        assert!(decode_request(b"\xff\x00garbage", &Limits::default()).is_err());
        assert!(decode_request(&bytes[..bytes.len() - 1], &Limits::default()).is_err());
        let small = Limits { max_body_bytes: 4, ..Limits::default() };
        assert!(decode_request(&bytes, &small).is_err());
        let mut many = req.clone();
        many.docs = vec![req.docs[0].clone(); 1001];
        assert!(decode_request(&encode(&many), &Limits::default()).is_err());
        let mut old = req.clone();
        old.v = 99;
        assert!(decode_request(&encode(&old), &Limits::default()).is_err());
        // Protocol 2 is still served, without whole documents.
        let mut v2 = req;
        v2.v = 2;
        assert!(decode_request(&encode(&v2), &Limits::default()).is_ok());
        v2.docs[0].full = true;
        assert!(decode_request(&encode(&v2), &Limits::default()).is_err());
    }
}
