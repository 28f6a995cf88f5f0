//! The server's operations independent of HTTP: enrollment,
//! authentication and the sync of one request. The HTTP layer only moves
//! bytes to and from here, and the simulation calls it directly.

use std::sync::Arc;

use qamqor_core::sync::wire::{Limits, SyncRequest, SyncResponse};
use serde::{Deserialize, Serialize};

use crate::auth;
use crate::config::Mode;
use crate::error::{Result, ServerError};
use crate::model::{AuditEntry, Device, Role, User};
use crate::storage::Storage;

/// Attempts one client address may make at an enrollment code's secret;
/// past them that address is refused for that code (the code stays usable
/// by its owner).
pub const MAX_CODE_FAILURES: u32 = 5;
/// Attempts at one code from all addresses together, after which the code
/// is spent. With 12 secret characters from 31 (about 8 × 10^17 secrets)
/// guessing within them is hopeless.
pub const MAX_CODE_ATTEMPTS: u32 = 50;

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
    /// The client's network address, for the audit.
    pub address: Option<String>,
}

/// The server's operations.
pub struct Service {
    storage: Arc<dyn Storage>,
    blobs: Arc<dyn crate::blobs::BlobStore>,
    /// Regional (phones sync here) or national (regions report here).
    pub mode: Mode,
    /// A regional server's link to the national server, if configured.
    pub national: Option<Arc<crate::national::Link>>,
    /// Protocol limits.
    pub limits: Limits,
    /// Token lifetime in seconds.
    pub token_ttl_secs: i64,
    clock: Box<dyn Fn() -> i64 + Send + Sync>,
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Service {
    /// A service over `storage`.
    pub fn new(storage: Arc<dyn Storage>, limits: Limits, token_ttl_secs: i64) -> Self {
        let blobs = Arc::new(crate::blobs::InDatabase(storage.clone()));
        Service {
            storage,
            blobs,
            mode: Mode::Regional,
            national: None,
            limits,
            token_ttl_secs,
            clock: Box::new(now_secs),
        }
    }

    /// Sets the server's mode and its link to the national server.
    pub fn with_mode(mut self, mode: Mode, national: Option<crate::national::Link>) -> Self {
        self.mode = mode;
        self.national = national.map(Arc::new);
        self
    }

    /// Keeps attachments' files in `blobs` instead of the database.
    pub fn with_blobs(mut self, blobs: Arc<dyn crate::blobs::BlobStore>) -> Self {
        self.blobs = blobs;
        self
    }

    /// Where attachments' files are kept.
    pub fn blobs(&self) -> &Arc<dyn crate::blobs::BlobStore> {
        &self.blobs
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

    /// Issues a one-time enrollment code for `user_id`, valid `hours`.
    pub fn issue_code(&self, user_id: &str, hours: i64) -> Result<String> {
        if self.storage.user(user_id)?.is_none() {
            return Err(ServerError::NotFound("no such user".into()));
        }
        let (code, id, secret) = auth::new_code();
        self.storage.add_enrollment_code(&id, &auth::hash_secret(&secret)?, user_id, self.now() + hours * 3600)?;
        Ok(code)
    }

    /// Enrolls a device with a one-time code, from the client `address`.
    /// Everything that can be checked without the code is checked first, so
    /// a malformed request never spends an attempt.
    pub fn enroll(&self, req: &EnrollRequest, address: &str) -> Result<EnrollResponse> {
        let (id, secret) = auth::split_code(&req.code)?;
        if !auth::valid_actor(&req.actor) {
            return Err(ServerError::BadRequest(
                "actor must be the store's actor id: 2 to 64 hex digits, an even number of them".into(),
            ));
        }
        if req.label.chars().count() > 100 {
            return Err(ServerError::BadRequest("label is longer than 100 characters".into()));
        }
        let now = self.now();
        let bad = || ServerError::Unauthorized("the enrollment code is unknown, used or expired".into());
        let failed = |reason: &str| {
            tracing::warn!(code = %id, %address, reason, "enrollment refused");
            self.audit_address("-", "-", &format!("code:{id}"), "enroll_failed", address)
        };
        let Some((hash, user_id)) =
            self.storage.reserve_code_attempt(&id, address, now, MAX_CODE_FAILURES, MAX_CODE_ATTEMPTS)?
        else {
            auth::verify_nothing(&secret);
            failed("unknown, used, expired or locked code")?;
            return Err(bad());
        };
        if !auth::verify_secret(&secret, &hash) {
            failed("wrong secret")?;
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
        let device = self.storage.enroll(&id, &device, &auth::token_hash(&token))?;
        tracing::info!(device = %device.id, user = %user.id, %address, "device enrolled");
        self.audit_address(&user.id, &device.id, &format!("code:{id}"), "enrolled", address)?;
        Ok(EnrollResponse {
            device_id: device.id,
            token,
            expires_at: device.expires_at,
            user_id: user.id,
            role: user.role,
            region: user.region,
        })
    }

    fn audit_address(&self, user: &str, device: &str, what: &str, action: &str, address: &str) -> Result<()> {
        self.storage.audit(&[AuditEntry {
            at: self.now() * 1000,
            user_id: user.to_owned(),
            device_id: device.to_owned(),
            doc_id: what.to_owned(),
            action: action.to_owned(),
            hashes: Vec::new(),
            address: Some(address.to_owned()),
        }])
    }

    /// Records a failed sign-in (an unknown, expired or revoked token).
    pub fn sign_in_failed(&self, address: &str, reason: &str) -> Result<()> {
        tracing::warn!(%address, reason, "sign-in refused");
        self.audit_address("-", "-", "-", "sign_in_failed", address)
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
        Ok(Caller { device, user, address: None })
    }

    /// Serves one sync request in one storage transaction. Every change
    /// the response acknowledges is committed before this returns.
    pub fn sync(&self, caller: &Caller, req: &SyncRequest) -> Result<SyncResponse> {
        let now = self.now();
        let device_id = caller.device.id.clone();
        let limits = self.limits;
        let address = caller.address.as_deref();
        let ttl = self.token_ttl_secs;
        let mut serve =
            |tx: &mut dyn crate::storage::SyncTx| crate::sync::serve(tx, &device_id, address, req, now, &limits, ttl);
        // A request that carries nothing to store is first answered from a
        // read snapshot: most find nothing new and need no write at all.
        if req.docs.is_empty()
            && req.acks.is_empty()
            && req.reads.is_empty()
            && !req.wiped
            && let Some(resp) = self.storage.sync_read(&mut serve)?
        {
            return Ok(resp);
        }
        self.storage.sync_tx(&mut serve)
    }
}
