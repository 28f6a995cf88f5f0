//! Users, devices, document metadata and audit entries.

use qamqor_core::docs::{DocId, Projection};
use serde::{Deserialize, Serialize};

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A specialist of the guardianship body.
    Specialist,
    /// A certified mentor.
    Mentor,
    /// The regional administrator.
    Admin,
    /// An analyst of the regional office: the console's figures and lists,
    /// no phone and no documents.
    Analyst,
}

impl Role {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Role::Specialist => "specialist",
            Role::Mentor => "mentor",
            Role::Admin => "admin",
            Role::Analyst => "analyst",
        }
    }

    /// Parses a stored code; `None` for anything else (callers deny).
    pub fn parse(s: &str) -> Option<Role> {
        [Role::Specialist, Role::Mentor, Role::Admin, Role::Analyst].into_iter().find(|r| r.code() == s)
    }
}

/// A user of the region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user id (login name), e.g. `aigerim.s`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Region code (`75`).
    pub region: String,
    /// КАТО codes of the districts the user covers (specialists).
    pub districts: Vec<String>,
    /// Whether the user is granted the adoption tier.
    pub adoption_access: bool,
}

/// An enrolled device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Device id.
    pub id: String,
    /// The user it belongs to.
    pub user_id: String,
    /// The Automerge actor id registered at enrollment (hex).
    pub actor: String,
    /// A label for the administrator ("Samsung A15").
    pub label: String,
    /// Enrollment time (Unix seconds).
    pub created_at: i64,
    /// Token expiry (Unix seconds).
    pub expires_at: i64,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
    /// When it was told to wipe.
    pub wiped_at: Option<i64>,
    /// Last sync (Unix seconds).
    pub last_sync_at: Option<i64>,
    /// The change-feed cursor of its last sync.
    pub cursor: u64,
}

/// What access control needs to know of a document: its projection (the
/// core's, the same the phones compute) and its place in the change feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocMeta {
    /// The document id.
    pub id: DocId,
    /// Kind, region, district, tier, mentor, owner, urgency.
    pub projection: Projection,
    /// Change-feed sequence of its last change (or change of who may see it).
    pub seq: u64,
}

/// A document a device created that the access rules refused (its user's
/// access changed before it synced), kept for the regional office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldDocument {
    /// The document.
    pub doc_id: DocId,
    /// The device that sent it.
    pub device_id: String,
    /// Its user.
    pub user_id: String,
    /// When it was last sent (Unix seconds).
    pub at: i64,
    /// Why it was refused.
    pub reason: String,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Unix milliseconds.
    pub at: i64,
    /// The user.
    pub user_id: String,
    /// The device.
    pub device_id: String,
    /// The document.
    pub doc_id: String,
    /// `read`, `write`, `write_withdrawn`, `denied`, `refused`, `held`,
    /// `removed`, `wipe`, `wiped`, `enrolled`, `enroll_failed`,
    /// `sign_in_failed`, `released`.
    pub action: String,
    /// Change hashes written (hex), for writes.
    pub hashes: Vec<String>,
    /// The client's network address, where the action came over the network.
    #[serde(default)]
    pub address: Option<String>,
}

/// What walking the audit's hash chain found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditCheck {
    /// Lines whose chain value follows from the line before.
    pub lines: u64,
    /// Lines written before the chain existed (not covered).
    pub unchained: u64,
    /// The first line (by id) that does not follow: edited, or a line
    /// before it deleted.
    pub broken_at: Option<i64>,
    /// The chain value of the last line: record it elsewhere to detect a
    /// truncated log later.
    pub head: String,
}

/// An office user's console sign-in: password and second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleAccount {
    /// The user.
    pub user_id: String,
    /// Argon2 hash of the password.
    pub password_hash: String,
    /// The TOTP secret (base32).
    pub totp_secret: String,
    /// The last TOTP time step accepted (a code is used once).
    pub last_totp_step: i64,
    /// Failed sign-ins since the last success.
    pub failures: u32,
    /// Locked until (Unix seconds; 0: not locked).
    pub locked_until: i64,
    /// The console's language for this user (`kk`, `ru`, `en`).
    pub lang: String,
}

/// A console session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    /// The user.
    pub user_id: String,
    /// The token every form must carry (CSRF).
    pub csrf: String,
    /// Expiry (Unix seconds).
    pub expires_at: i64,
}
