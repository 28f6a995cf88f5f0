//! The server's operations independent of HTTP: enrollment,
//! authentication and the sync of one request. The HTTP layer only moves
//! bytes to and from here, and the simulation calls it directly.

use std::collections::HashSet;
use std::sync::Arc;

use automerge::Automerge;
use qamqor_core::docs::{self, DocId};
use qamqor_core::sync::engine::{self, Refusal, WritePolicy};
use qamqor_core::sync::wire::{DocMessage, DocResult, DocStatus, Limits, PROTOCOL_VERSION, SyncRequest, SyncResponse};
use serde::{Deserialize, Serialize};

use crate::access::{self, Grants};
use crate::auth;
use crate::error::{Result, ServerError};
use crate::meta;
use crate::model::{AuditEntry, Device, Role, User};
use crate::storage::{DocExchange, Storage};

/// Wrong secrets after which an enrollment code is spent.
pub const MAX_CODE_FAILURES: u32 = 5;

/// What a phone sends to enroll.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrollRequest {
    /// The one-time code from the administrator.
    pub code: String,
    /// The store's Automerge actor id (hex), bound to this device.
    pub actor: String,
    /// A label for the administrator's device list.
    pub label: String,
}

/// What the server answers to an enrollment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrollResponse {
    /// The device id.
    pub device_id: String,
    /// The bearer token (shown once).
    pub token: String,
    /// Token expiry, Unix seconds.
    pub expires_at: i64,
    /// The user.
    pub user_id: String,
    /// The user's role.
    pub role: Role,
    /// The user's region.
    pub region: String,
}

/// A request's authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The device.
    pub device: Device,
    /// Its user.
    pub user: User,
}

/// The server's operations.
pub struct Service {
    storage: Arc<dyn Storage>,
    /// Protocol limits.
    pub limits: Limits,
    /// Token lifetime in seconds.
    pub token_ttl_secs: i64,
    clock: Box<dyn Fn() -> i64 + Send + Sync>,
    /// Devices' last sync time and cursor, written in batches by
    /// [`Service::flush`] so that a sync with nothing new writes nothing.
    touches: std::sync::Mutex<std::collections::HashMap<String, (i64, u64)>>,
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Service {
    /// A service over `storage`.
    pub fn new(storage: Arc<dyn Storage>, limits: Limits, token_ttl_secs: i64) -> Self {
        Service { storage, limits, token_ttl_secs, clock: Box::new(now_secs), touches: Default::default() }
    }

    /// Replaces the clock (Unix seconds), for tests of expiry.
    pub fn with_clock(mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// The storage.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    fn now(&self) -> i64 {
        (self.clock)()
    }

    /// Writes the devices' last sync times and cursors gathered since the
    /// last flush (the server does it every few seconds and at shutdown).
    pub fn flush(&self) -> Result<()> {
        let batch: Vec<(String, i64, u64)> = lock(&self.touches).drain().map(|(id, (at, c))| (id, at, c)).collect();
        self.storage.touch_devices(&batch)
    }

    /// Issues a one-time enrollment code for `user_id`, valid `hours`.
    pub fn issue_code(&self, user_id: &str, hours: i64) -> Result<String> {
        if self.storage.user(user_id)?.is_none() {
            return Err(ServerError::NotFound("no such user".into()));
        }
        let (code, id, secret) = auth::new_code();
        self.storage.add_enrollment_code(&id, &auth::hash_secret(&secret)?, user_id, self.now() + hours * 3600)?;
        Ok(code)
    }

    /// Enrolls a device with a one-time code.
    pub fn enroll(&self, req: &EnrollRequest) -> Result<EnrollResponse> {
        let (id, secret) = auth::split_code(&req.code)?;
        let actor_ok =
            req.actor.len() >= 2 && req.actor.len() <= 64 && req.actor.bytes().all(|b| b.is_ascii_hexdigit());
        if !actor_ok {
            return Err(ServerError::BadRequest("actor must be the store's actor id in hex".into()));
        }
        if req.label.chars().count() > 100 {
            return Err(ServerError::BadRequest("label is longer than 100 characters".into()));
        }
        let bad = || ServerError::Unauthorized("the enrollment code is unknown, used or expired".into());
        let (hash, user_id, expires) = self.storage.enrollment_code(&id)?.ok_or_else(bad)?;
        if expires < self.now() {
            return Err(bad());
        }
        if !auth::verify_secret(&secret, &hash) {
            self.storage.code_failed(&id, self.now(), MAX_CODE_FAILURES)?;
            tracing::warn!(code = %id, "wrong enrollment secret");
            return Err(bad());
        }
        let user = self.storage.user(&user_id)?.ok_or_else(bad)?;
        let token = auth::new_token();
        let device = Device {
            id: hex::encode(rand::random::<[u8; 12]>()),
            user_id: user.id.clone(),
            actor: req.actor.to_ascii_lowercase(),
            label: req.label.clone(),
            created_at: self.now(),
            expires_at: self.now() + self.token_ttl_secs,
            revoked_at: None,
            wiped_at: None,
            last_sync_at: None,
            cursor: 0,
        };
        self.storage.enroll(&id, &device, &auth::token_hash(&token))?;
        tracing::info!(device = %device.id, user = %user.id, "device enrolled");
        Ok(EnrollResponse {
            device_id: device.id,
            token,
            expires_at: device.expires_at,
            user_id: user.id,
            role: user.role,
            region: user.region,
        })
    }

    /// Finds the caller of a bearer token.
    pub fn authenticate(&self, token: &str) -> Result<Caller> {
        let unknown = || ServerError::Unauthorized("unknown device token".into());
        if token.len() != 64 {
            return Err(unknown());
        }
        let device = self.storage.device_by_token(&auth::token_hash(token))?.ok_or_else(unknown)?;
        if device.wiped_at.is_some() {
            return Err(ServerError::Unauthorized("this device was revoked".into()));
        }
        if device.revoked_at.is_none() && device.expires_at < self.now() {
            return Err(ServerError::TokenExpired);
        }
        let user = self.storage.user(&device.user_id)?.ok_or_else(unknown)?;
        Ok(Caller { device, user })
    }

    /// Serves one sync request. Every change the response acknowledges is
    /// committed before this returns.
    pub fn sync(&self, caller: &Caller, req: &SyncRequest) -> Result<SyncResponse> {
        let now = self.now();
        let Caller { device, user } = caller;
        if device.revoked_at.is_some() {
            self.storage.mark_wiped(&device.id, now)?;
            self.storage.audit(&[audit(now * 1000, caller, "*", "wipe", Vec::new())])?;
            tracing::info!(device = %device.id, "revoked device told to wipe");
            return Ok(SyncResponse { v: PROTOCOL_VERSION, wipe: true, ..SyncResponse::default() });
        }
        let grants = Grants {
            assigned: self.storage.assignments(&user.id)?.into_iter().collect(),
            mentor_ids: self.storage.mentor_ids_of(&user.id)?.into_iter().collect(),
        };
        let actor = automerge::ActorId::from(hex::decode(&device.actor).unwrap_or_default());
        let mut results = Vec::new();
        let mut audits = Vec::new();
        let mut plan: Vec<(DocId, Option<&[u8]>, WritePolicy)> = Vec::new();
        let mut seen = HashSet::new();

        for m in &req.docs {
            let Ok(id) = DocId::parse(&m.id) else {
                results.push(DocResult {
                    id: m.id.chars().take(80).collect(),
                    status: DocStatus::Invalid,
                    reason: "not a document id".into(),
                });
                continue;
            };
            if !seen.insert(id.clone()) {
                continue;
            }
            let policy = match self.storage.doc_meta(&m.id)? {
                Some(meta) if access::can_write(user, &grants, &meta) => WritePolicy::OnlyActor(actor.clone()),
                Some(meta) if access::can_read(user, &grants, &meta) => WritePolicy::ReadOnly,
                None if access::can_create(user, id.kind().prefix()) => WritePolicy::OnlyActor(actor.clone()),
                _ => {
                    tracing::warn!(device = %device.id, doc = %id, "access denied");
                    audits.push(audit(now * 1000, caller, &m.id, "denied", Vec::new()));
                    results.push(denied(&m.id));
                    continue;
                }
            };
            plan.push((id, Some(&m.msg), policy));
        }

        // The change feed: what changed since the phone's cursor.
        let end = self.storage.feed_end()?;
        // After a change of the user's access (or a server restored from a
        // backup older than the phone's cursor) the phone rescans the feed;
        // documents it already holds exactly cost nothing.
        let epoch = self.storage.access_epoch(&user.id)?;
        let rescan = self.storage.device_access_seen(&device.id)? < epoch;
        let cursor = if req.cursor > end || rescan { 0 } else { req.cursor };
        let mut new_cursor = end;
        let mut more = false;
        let mut removed = Vec::new();
        if cursor < end {
            // The response holds at most `max_docs` messages: the request's
            // documents first, then the feed's.
            let room = self.limits.max_docs.saturating_sub(plan.len());
            let (changed, _) = if room == 0 { (Vec::new(), end) } else { self.storage.changed_since(cursor, room)? };
            if room == 0 {
                new_cursor = cursor;
                more = true;
            } else if changed.len() == room
                && let Some(last) = changed.last()
            {
                new_cursor = last.seq;
                more = last.seq < end;
            }
            for meta in changed {
                let Ok(id) = DocId::parse(&meta.doc_id) else {
                    continue;
                };
                if access::can_read(user, &grants, &meta) && seen.insert(id.clone()) {
                    plan.push((id, None, WritePolicy::ReadOnly));
                }
            }
            // Documents this device holds but may no longer see.
            for doc_id in self.storage.delivered(&device.id)? {
                let visible = match self.storage.doc_meta(&doc_id)? {
                    Some(meta) => access::can_read(user, &grants, &meta),
                    None => true, // not yet on the server: still being created
                };
                if !visible {
                    self.storage.forget_delivered(&device.id, &doc_id)?;
                    audits.push(audit(now * 1000, caller, &doc_id, "removed", Vec::new()));
                    removed.push(doc_id);
                }
            }
        }

        let ids: Vec<DocId> = plan.iter().map(|(id, _, _)| id.clone()).collect();
        let mut idx = 0usize;
        let mut per_doc =
            |id: &DocId, doc: &mut Automerge, state: &mut automerge::sync::State| -> Result<DocExchange> {
                let (_, incoming, policy) = &plan[idx];
                idx += 1;
                let mut out = DocExchange { commit: true, ..DocExchange::default() };
                match incoming {
                    Some(msg) => {
                        let received = match engine::receive(doc, state, msg, policy) {
                            Ok(r) => r,
                            Err(refusal) => {
                                let (status, reason) = match refusal {
                                    Refusal::Invalid => {
                                        (DocStatus::Invalid, "the sync message is damaged or cannot be applied")
                                    }
                                    Refusal::ReadOnly => {
                                        (DocStatus::ReadOnly, "this role may read but not change this document")
                                    }
                                    Refusal::ForeignActor => (
                                        DocStatus::ForeignActor,
                                        "the changes were not made by this device; no one may write in another's name",
                                    ),
                                };
                                tracing::warn!(device = %device.id, doc = %id, ?refusal, "changes refused");
                                out.audit.push(audit(now * 1000, caller, &id.to_string(), "refused", Vec::new()));
                                results.push(DocResult { id: id.to_string(), status, reason: reason.into() });
                                out.commit = false;
                                return Ok(out);
                            }
                        };
                        if !received.new_changes.is_empty() {
                            let m = meta::derive(id, doc);
                            let kind_ok = docs::has_kind(doc, id);
                            if !kind_ok || !access::can_write(user, &grants, &m) {
                                out.audit.push(audit(now * 1000, caller, &id.to_string(), "denied", Vec::new()));
                                results.push(denied(&id.to_string()));
                                out.commit = false;
                                return Ok(out);
                            }
                            let hashes = received.new_changes.iter().map(|h| h.to_string()).collect();
                            out.audit.push(audit(now * 1000, caller, &id.to_string(), "write", hashes));
                        }
                    }
                    // A feed document the device already holds exactly: nothing to say.
                    None if state.shared_heads == doc.get_heads() => {
                        out.commit = false;
                        return Ok(out);
                    }
                    None => {}
                }
                if let Some(reply) = engine::generate(doc, state) {
                    let carries_changes = engine::decode(&reply).is_ok_and(|m| !m.changes.is_empty());
                    if carries_changes {
                        out.audit.push(audit(now * 1000, caller, &id.to_string(), "read", Vec::new()));
                    }
                    out.reply = Some(reply);
                }
                Ok(out)
            };
        let outs = self.storage.exchange(&device.id, &ids, &mut per_doc, &meta::derive)?;
        if rescan {
            self.storage.set_device_access_seen(&device.id, epoch)?;
        }
        let docs = ids
            .iter()
            .zip(outs)
            .filter_map(|(id, o)| o.reply.map(|msg| DocMessage { id: id.to_string(), msg }))
            .collect();
        self.storage.audit(&audits)?;
        lock(&self.touches).insert(device.id.clone(), (now, new_cursor));
        Ok(SyncResponse { v: PROTOCOL_VERSION, cursor: new_cursor, docs, results, removed, more, wipe: false })
    }
}

fn denied(id: &str) -> DocResult {
    DocResult {
        id: id.to_owned(),
        status: DocStatus::Denied,
        reason: "this device may not access this document".into(),
    }
}

fn audit(at_ms: i64, caller: &Caller, doc_id: &str, action: &str, hashes: Vec<String>) -> AuditEntry {
    AuditEntry {
        at: at_ms,
        user_id: caller.user.id.clone(),
        device_id: caller.device.id.clone(),
        doc_id: doc_id.to_owned(),
        action: action.to_owned(),
        hashes,
    }
}
