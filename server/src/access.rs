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

/// The feed documents `user` may be offered on `device_id`, narrowed as
/// far as the database can: a superset of [`can_read_projection`] (which
/// still decides each document).
pub fn feed_scope(user: &User, grants: &Grants, device_id: &str) -> crate::storage::FeedScope {
    let mut scope = crate::storage::FeedScope { device_id: device_id.to_owned(), ..Default::default() };
    match user.role {
        Role::Admin => {
            scope.region = Some(user.region.clone());
            scope.prefixes = vec![String::new()];
        }
        Role::Specialist => {
            scope.region = Some(user.region.clone());
            scope.prefixes =
                user.districts.iter().filter_map(|d| Kato::parse(d).ok()).map(|d| d.prefix().to_owned()).collect();
            scope.ids = grants.assigned.iter().cloned().collect();
        }
        Role::Mentor => {
            scope.kinds =
                [DocKind::Mentor, DocKind::Mentee, DocKind::MeetingLog].iter().map(|k| k.prefix().to_owned()).collect();
        }
        Role::Analyst => {}
    }
    scope
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The feed filter as the databases apply it (see the backends'
    /// `feed_rows`), for a document the device does not hold.
    fn admits(scope: &crate::storage::FeedScope, id: &str, p: &Projection) -> bool {
        scope.everything
            || scope.ids.iter().any(|i| i == id)
            || scope.kinds.iter().any(|k| k == p.kind.prefix())
            || (p.region.is_some()
                && p.region == scope.region
                && scope.prefixes.iter().any(|prefix| p.district.as_deref().unwrap_or("").starts_with(prefix)))
    }

    #[test]
    fn the_feed_scope_admits_every_document_the_user_may_read() {
        let districts = ["751710000", "752210000", "751700000", "750000000", "196235100", "not a code"];
        let mut users = Vec::new();
        for role in [Role::Specialist, Role::Admin, Role::Mentor, Role::Analyst] {
            for (i, d) in districts.iter().enumerate() {
                for adoption_access in [false, true] {
                    users.push(User {
                        id: format!("u{i}"),
                        name: "u".into(),
                        role,
                        region: if i == 4 { "19".into() } else { "75".into() },
                        districts: vec![(*d).to_owned(), districts[(i + 1) % districts.len()].to_owned()],
                        adoption_access,
                    });
                }
            }
        }
        let mut grants = Grants::default();
        grants.assigned.insert("case:assigned".into());
        grants.mentor_ids.insert("m1".into());
        let mut checked = 0;
        for user in &users {
            let scope = feed_scope(user, &grants, "d1");
            for kind in DocKind::ALL {
                for region in [None, Some("75"), Some("19")] {
                    for district in [None, Some("751710000"), Some("751710123"), Some("752210000"), Some("196235100")] {
                        for tier in [AccessTier::Standard, AccessTier::Adoption] {
                            for id in ["case:assigned", "case:other"] {
                                for (mentor_id, owner) in [(None, None), (Some("m1"), Some("u0")), (Some("m2"), None)] {
                                    let p = Projection {
                                        kind,
                                        region: region.map(str::to_owned),
                                        district: district.map(str::to_owned),
                                        tier,
                                        mentor_id: mentor_id.map(str::to_owned),
                                        owner_user: owner.map(str::to_owned),
                                        urgent: false,
                                    };
                                    if can_read_projection(user, &grants, id, &p) {
                                        checked += 1;
                                        assert!(admits(&scope, id, &p), "{user:?} may read {id} {p:?}");
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 1000, "only {checked} readable cases checked");
    }
}
