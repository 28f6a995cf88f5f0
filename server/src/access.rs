//! Who may read and write which document. Enforced on every request, on
//! typed metadata: an unknown kind, tier or role never reaches here (it is
//! refused where it is read), so every rule fails closed.

use qamqor_core::docs::{AccessTier, DocKind, Projection};
use qamqor_core::model::Kato;

use crate::model::{DocMeta, Role, User};

/// What the server knows about the caller beyond the user record.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    /// Documents assigned to the user by an administrator.
    pub assigned: std::collections::HashSet<String>,
    /// The mentor ids whose profile names this user (mentors).
    pub mentor_ids: std::collections::HashSet<String>,
}

fn within_districts(user: &User, district: Option<&str>) -> bool {
    let Some(d) = district.and_then(|d| Kato::parse(d).ok()) else {
        return false;
    };
    user.districts.iter().filter_map(|u| Kato::parse(u).ok()).any(|u| d.is_within(&u))
}

/// Whether `user` may receive a document with this projection.
pub fn can_read_projection(user: &User, grants: &Grants, doc_id: &str, p: &Projection) -> bool {
    let tier_ok = p.tier != AccessTier::Adoption || user.adoption_access;
    match user.role {
        Role::Admin => tier_ok && p.region.as_deref() == Some(&user.region),
        Role::Specialist => {
            let in_region = p.region.as_deref() == Some(&user.region);
            let placed =
                grants.assigned.contains(doc_id) || (in_region && within_districts(user, p.district.as_deref()));
            tier_ok && placed
        }
        Role::Mentor => match p.kind {
            DocKind::Mentor => p.owner_user.as_deref() == Some(&user.id),
            DocKind::Mentee | DocKind::MeetingLog => {
                p.mentor_id.as_ref().is_some_and(|m| grants.mentor_ids.contains(m))
            }
            DocKind::Case | DocKind::Representative => false,
        },
        Role::Analyst => false,
    }
}

/// Whether `user` may receive the document.
pub fn can_read(user: &User, grants: &Grants, meta: &DocMeta) -> bool {
    can_read_projection(user, grants, &meta.id.to_string(), &meta.projection)
}

/// Whether the role may change documents of this kind at all.
pub fn may_write_kind(role: Role, kind: DocKind) -> bool {
    match role {
        Role::Mentor => kind == DocKind::MeetingLog,
        Role::Specialist | Role::Admin => true,
        Role::Analyst => false,
    }
}

/// Whether `user` may change a document with this projection (given they
/// may read it).
pub fn can_write_projection(user: &User, grants: &Grants, doc_id: &str, p: &Projection) -> bool {
    can_read_projection(user, grants, doc_id, p) && may_write_kind(user.role, p.kind)
}

/// Whether `user` may change the document.
pub fn can_write(user: &User, grants: &Grants, meta: &DocMeta) -> bool {
    can_write_projection(user, grants, &meta.id.to_string(), &meta.projection)
}

/// Whether `user` may create a new document of this kind (its content is
/// then checked with [`can_write_projection`] once it arrives).
pub fn can_create(user: &User, kind: DocKind) -> bool {
    match user.role {
        Role::Mentor | Role::Analyst => false,
        Role::Specialist | Role::Admin => DocKind::ALL.contains(&kind),
    }
}

/// Whether `user` may change the fields that decide who sees a document
/// (its district, tier, mentor or owner). Mentors may not: a meeting log
/// stays with its mentor and the supervising district.
pub fn may_move(user: &User) -> bool {
    !matches!(user.role, Role::Mentor | Role::Analyst)
}
