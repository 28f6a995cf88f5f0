//! The regional administrator's operations, used by the command line.

use qamqor_core::docs::DocId;
use qamqor_core::model::{CodeList, Kato, Region};
use serde::Serialize;

use crate::error::{Result, ServerError};
use crate::model::{Device, Role, User};
use crate::service::Service;

/// Who runs an administrative action, as the audit names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operator {
    /// The command line, run by an operating-system user.
    Cli,
    /// A signed-in console user.
    Console(String),
    /// The server itself (a scheduled report).
    Server,
    /// A region's server, by its credential (on the national server).
    Region(String),
}

impl Operator {
    /// The audit's name for the operator.
    pub fn audit_name(&self) -> String {
        match self {
            Operator::Cli => {
                let os =
                    std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into());
                format!("(administrator: {})", os.chars().take(40).collect::<String>())
            }
            Operator::Console(user) => format!("(console: {})", user.chars().take(64).collect::<String>()),
            Operator::Server => "(server)".into(),
            Operator::Region(code) => format!("(region {code})"),
        }
    }
}

/// Records an administrative action of the command line in the audit: who
/// ran it (the operating-system user), what, and on what.
pub fn audit_admin(service: &Service, action: &str, subject: &str) -> Result<()> {
    audit_by(service, &Operator::Cli, action, subject)
}

/// Records an administrative action by `by` in the audit.
pub fn audit_by(service: &Service, by: &Operator, action: &str, subject: &str) -> Result<()> {
    audit_from(service, by, action, subject, None)
}

/// Records an action by `by` in the audit, with the client's network
/// address where it came over the network.
pub fn audit_from(
    service: &Service,
    by: &Operator,
    action: &str,
    subject: &str,
    address: Option<String>,
) -> Result<()> {
    service.storage().audit(&[crate::model::AuditEntry {
        at: chrono::Utc::now().timestamp_millis(),
        user_id: by.audit_name(),
        device_id: "-".into(),
        doc_id: subject.chars().take(200).collect(),
        action: action.to_owned(),
        hashes: Vec::new(),
        address,
    }])
}

/// The id of the administrator created on first start.
pub const FIRST_ADMIN: &str = "admin";

/// On first start (no users yet), creates the first administrator and
/// returns an enrollment code for their phone.
pub fn bootstrap(service: &Service, region: &str) -> Result<Option<String>> {
    if !create_first_admin(service, "Regional administrator", region)? {
        return Ok(None);
    }
    audit_admin(service, "region_created", &format!("user:{FIRST_ADMIN} region:{region}"))?;
    Ok(Some(issue_code(service, FIRST_ADMIN, 72)?))
}

/// Creates the administrator [`FIRST_ADMIN`] when the server has no user
/// yet; whether it did.
fn create_first_admin(service: &Service, name: &str, region: &str) -> Result<bool> {
    if !service.storage().users()?.is_empty() {
        return Ok(false);
    }
    let user = User {
        id: FIRST_ADMIN.into(),
        name: name.into(),
        role: Role::Admin,
        region: region.into(),
        districts: Vec::new(),
        adoption_access: false,
    };
    match service.storage().create_user(&user) {
        Ok(()) => Ok(true),
        // Another process starting on the same database created it first.
        Err(ServerError::Conflict(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// On a national server's first start (no users yet), creates the first
/// administrator with a console sign-in and returns it (to print once).
pub fn bootstrap_national(service: &Service, region: &str) -> Result<Option<crate::console::signin::NewAccount>> {
    if !create_first_admin(service, "National administrator", region)? {
        return Ok(None);
    }
    let account = crate::console::signin::create_account(service, FIRST_ADMIN)?;
    audit_admin(service, "national_created", &format!("user:{FIRST_ADMIN}"))?;
    Ok(Some(account))
}

/// Creates a user after checking the region and districts.
pub fn create_user(service: &Service, user: &User) -> Result<()> {
    create_user_by(service, &Operator::Cli, user)
}

/// [`create_user`], run by `by`.
pub fn create_user_by(service: &Service, by: &Operator, user: &User) -> Result<()> {
    check_user(user)?;
    if service.storage().user(&user.id)?.is_some() {
        return Err(ServerError::Conflict(format!("the user {} exists already", user.id)));
    }
    service.storage().create_user(user)?;
    audit_by(service, by, "user_added", &format!("user:{} role:{}", user.id, user.role.code()))
}

fn check_user(user: &User) -> Result<()> {
    if user.id.is_empty()
        || user.id.len() > 64
        || !user.id.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(ServerError::BadRequest("a user id is 1 to 64 letters, digits, '.', '_' or '-'".into()));
    }
    if Region::from_code(&user.region).is_none() {
        return Err(ServerError::BadRequest("unknown region code".into()));
    }
    for d in &user.districts {
        let k = Kato::parse(d)?;
        if k.region().code() != user.region {
            return Err(ServerError::BadRequest(format!("district {d} is not in region {}", user.region)));
        }
    }
    Ok(())
}

/// Sets the districts a user covers.
pub fn set_districts(service: &Service, user_id: &str, districts: Vec<String>) -> Result<()> {
    set_districts_by(service, &Operator::Cli, user_id, districts)
}

/// [`set_districts`], run by `by`.
pub fn set_districts_by(service: &Service, by: &Operator, user_id: &str, districts: Vec<String>) -> Result<()> {
    let mut user = service.storage().user(user_id)?.ok_or_else(|| ServerError::NotFound("no such user".into()))?;
    user.districts = districts;
    check_user(&user)?;
    service.storage().update_user(&user)?;
    audit_by(service, by, "districts_set", &format!("user:{} districts:{}", user.id, user.districts.join(",")))
}

/// Grants or withdraws the adoption tier.
pub fn set_adoption_access(service: &Service, user_id: &str, granted: bool) -> Result<()> {
    set_adoption_access_by(service, &Operator::Cli, user_id, granted)
}

/// [`set_adoption_access`], run by `by`.
pub fn set_adoption_access_by(service: &Service, by: &Operator, user_id: &str, granted: bool) -> Result<()> {
    let mut user = service.storage().user(user_id)?.ok_or_else(|| ServerError::NotFound("no such user".into()))?;
    user.adoption_access = granted;
    service.storage().update_user(&user)?;
    audit_by(service, by, if granted { "adoption_granted" } else { "adoption_withdrawn" }, &format!("user:{}", user.id))
}

/// Issues a one-time enrollment code for a user's phone (audited; the code
/// itself is never written to the audit).
pub fn issue_code(service: &Service, user_id: &str, hours: i64) -> Result<String> {
    issue_code_by(service, &Operator::Cli, user_id, hours)
}

/// [`issue_code`], run by `by`.
pub fn issue_code_by(service: &Service, by: &Operator, user_id: &str, hours: i64) -> Result<String> {
    let code = service.issue_code(user_id, hours)?;
    audit_by(service, by, "code_issued", &format!("user:{user_id} hours:{hours}"))?;
    Ok(code)
}

/// Revokes a device: it is told to wipe its data at its next contact.
pub fn revoke_device(service: &Service, device_id: &str) -> Result<()> {
    revoke_device_by(service, &Operator::Cli, device_id)
}

/// [`revoke_device`], run by `by`.
pub fn revoke_device_by(service: &Service, by: &Operator, device_id: &str) -> Result<()> {
    if !service.storage().devices()?.iter().any(|d| d.id == device_id) {
        return Err(ServerError::NotFound("no such device".into()));
    }
    service.storage().revoke_device(device_id, chrono::Utc::now().timestamp())?;
    audit_by(service, by, "device_revoked", &format!("device:{device_id}"))
}

/// Assigns a case (or any document) to a user, or withdraws it. A child's
/// case brings the file of the representative of its open placement with
/// it (and takes it away again). Returns notes for the administrator: an
/// unassigned document the user still sees through their districts says so.
pub fn assign(service: &Service, user_id: &str, doc_id: &str, assigned: bool) -> Result<Vec<String>> {
    assign_by(service, &Operator::Cli, user_id, doc_id, assigned)
}

/// [`assign`], run by `by`.
pub fn assign_by(service: &Service, by: &Operator, user_id: &str, doc_id: &str, assigned: bool) -> Result<Vec<String>> {
    let id = DocId::parse(doc_id.trim())?;
    let user = service.storage().user(user_id)?.ok_or_else(|| ServerError::NotFound("no such user".into()))?;
    let mut ids = vec![id.clone()];
    if id.kind() == qamqor_core::docs::DocKind::Case
        && let Some(doc) = service.storage().load_doc(&id)?
        && let Ok(case) = qamqor_core::docs::CaseHead::read(&doc)
        && let Some(rep) = case.current_placement().and_then(|p| p.representative_id.clone())
    {
        ids.push(DocId::representative(&rep));
    }
    let mut notes = Vec::new();
    for doc in &ids {
        service.storage().assign(user_id, doc, assigned)?;
        audit_by(service, by, if assigned { "assigned" } else { "unassigned" }, &format!("user:{user_id} {doc}"))?;
        if !assigned
            && let Some(meta) = service.storage().doc_meta(doc)?
            && crate::access::can_read(&user, &service.storage().grants(user_id)?, &meta)
        {
            notes.push(format!(
                "{user_id} still sees {doc} through their districts; change their districts to take it away"
            ));
        }
    }
    Ok(notes)
}

/// Hands on a document the access rules refused (see
/// [`crate::storage::Storage::release_held`]); audited as the administrator's action.
pub fn release_held(service: &Service, doc_id: &str, device_id: &str) -> Result<()> {
    let id = DocId::parse(doc_id)?;
    service.storage().release_held(&id, device_id)?;
    audit_admin(service, "released", &format!("{id} from device:{device_id}"))
}

/// Archives the audit lines older than `before` (UTC midnight) to a new
/// file, then removes them from the database; the archiving is itself
/// audited. The file is written and synced before anything is removed.
pub fn archive_audit(service: &Service, before: chrono::NaiveDate, to: &std::path::Path) -> Result<usize> {
    let before_ms = before.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_millis()).unwrap_or(0);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)
        .map_err(|e| ServerError::Config(format!("cannot create {} (it must not exist): {e}", to.display())))?;
    let mut out = std::io::BufWriter::new(file);
    let n = service.storage().audit_archive(before_ms, &mut SyncedWriter(&mut out))?;
    audit_admin(service, "archived", &format!("audit before {before}: {n} lines"))?;
    Ok(n)
}

/// A writer whose flush also syncs the file to disk.
struct SyncedWriter<'a>(&'a mut std::io::BufWriter<std::fs::File>);

impl std::io::Write for SyncedWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()?;
        self.0.get_ref().sync_all()
    }
}

/// A device line for the administrator.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceLine {
    /// The device.
    #[serde(flatten)]
    pub device: Device,
    /// Urgent documents changed since the device's last sync.
    pub pending_urgent: usize,
}

/// Every device with its last sync and the urgent items it may see but
/// has not yet received.
pub fn devices(service: &Service) -> Result<Vec<DeviceLine>> {
    let storage = service.storage();
    let mut out = Vec::new();
    for device in storage.devices()? {
        let pending_urgent = match storage.user(&device.user_id)? {
            Some(user) => {
                let grants = storage.grants(&user.id)?;
                storage
                    .urgent_since(device.cursor)?
                    .iter()
                    .filter(|m| crate::access::can_read(&user, &grants, m))
                    .count()
            }
            None => 0,
        };
        out.push(DeviceLine { device, pending_urgent });
    }
    Ok(out)
}
