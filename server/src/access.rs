//! Who may read and write which document. Enforced on every request.

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

/// Whether `user` may receive the document.
pub fn can_read(user: &User, grants: &Grants, meta: &DocMeta) -> bool {
    let tier_ok = meta.tier != "adoption" || user.adoption_access;
    match user.role {
        Role::Admin => tier_ok && meta.region.as_deref() == Some(&user.region),
        Role::Specialist => {
            let in_region = meta.region.as_deref() == Some(&user.region);
            let placed = grants.assigned.contains(&meta.doc_id)
                || (in_region && within_districts(user, meta.district.as_deref()));
            matches!(meta.kind.as_str(), "case" | "rep" | "mentor" | "mentee" | "mlog") && tier_ok && placed
        }
        Role::Mentor => match meta.kind.as_str() {
            "mentor" => meta.owner_user.as_deref() == Some(&user.id),
            "mentee" | "mlog" => meta.mentor_id.as_ref().is_some_and(|m| grants.mentor_ids.contains(m)),
            _ => false,
        },
    }
}

/// Whether `user` may change the document (given they may read it).
pub fn can_write(user: &User, grants: &Grants, meta: &DocMeta) -> bool {
    can_read(user, grants, meta)
        && match user.role {
            Role::Mentor => meta.kind == "mlog",
            Role::Specialist | Role::Admin => true,
        }
}

/// Whether `user` may create a new document of this kind (its content is
/// then checked with [`can_write`] once it arrives).
pub fn can_create(user: &User, kind: &str) -> bool {
    match user.role {
        Role::Mentor => false,
        Role::Specialist | Role::Admin => {
            matches!(kind, "case" | "rep" | "mentor" | "mentee" | "mlog")
        }
    }
}
