//! The query tables: derived from the documents, updated in the same
//! transaction as each change, rebuildable from the documents alone.

use automerge::Automerge;
use rusqlite::{Connection, OptionalExtension, params};

use crate::docs::{self, DocId, DocKind, MenteeDoc, MentorDoc, RepresentativeDoc};
use crate::error::{Error, Result};
use crate::model::{CodeList, text};

const TABLES: &[&str] = &[
    "q_children",
    "q_representatives",
    "q_mentors",
    "q_mentees",
    "q_names",
    "q_urgent",
    "q_conflicts",
    "q_people",
    "q_merged",
    "q_distinct",
];

/// Empties every query table.
pub(crate) fn clear_all(conn: &Connection) -> Result<()> {
    for t in TABLES {
        conn.execute(&format!("DELETE FROM {t}"), [])?;
    }
    Ok(())
}

pub(crate) fn clear_doc(conn: &Connection, id: &str) -> Result<()> {
    for t in TABLES {
        conn.prepare_cached(&format!("DELETE FROM {t} WHERE doc_id = ?1"))?.execute([id])?;
    }
    Ok(())
}

fn names(conn: &Connection, id: &str, parts: &[&str]) -> Result<()> {
    let mut st = conn.prepare_cached("INSERT OR IGNORE INTO q_names(token, doc_id) VALUES (?1, ?2)")?;
    for part in parts {
        for token in text::tokens(part) {
            // Also as typed on a Latin keyboard ("nur" finds "Нұр").
            if let Some(latin) = text::latin_form(&token) {
                st.execute(params![latin, id])?;
            }
            st.execute(params![token, id])?;
        }
    }
    Ok(())
}

fn urgent(conn: &Connection, id: &str, item: &str, since: Option<String>) -> Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO q_urgent(doc_id, item, since) VALUES (?1, ?2, ?3)")?
        .execute(params![id, item, since])?;
    Ok(())
}

/// Recomputes the rows of one document. Returns another document whose
/// rows must be recomputed too: the survivor of two files merged into each
/// other, found when the second of them is indexed.
pub(crate) fn update(conn: &Connection, id: &DocId, doc: &Automerge) -> Result<Option<DocId>> {
    let key = id.to_string();
    clear_doc(conn, &key)?;
    if let Some(into) = docs::merge::merged_into(doc) {
        conn.prepare_cached("INSERT INTO q_merged(doc_id, into_id) VALUES (?1, ?2)")?
            .execute(params![key, into.to_string()])?;
        let back: Option<String> = conn
            .prepare_cached("SELECT into_id FROM q_merged WHERE doc_id = ?1")?
            .query_row([into.to_string()], |r| r.get(0))
            .optional()?;
        if back.as_deref() == Some(key.as_str()) {
            // Merged into each other (two opposite merges made offline):
            // the smaller id survives.
            if *id > into {
                return Ok(Some(into));
            }
        } else {
            // A file merged into another: only the pointer is kept.
            return Ok(None);
        }
    }
    match index_doc(conn, id, &key, doc) {
        Ok(()) => Ok(None),
        // A document this version cannot read (written by a newer version)
        // stays stored and synced; it is left out of the list screens.
        Err(Error::UpdateRequired | Error::Corrupt(_)) => {
            tracing::warn!(doc = %id, "document left out of the query tables: not readable by this version");
            clear_doc(conn, &key).map(|()| None)
        }
        Err(e) => Err(e),
    }
}

fn index_doc(conn: &Connection, id: &DocId, key: &str, doc: &Automerge) -> Result<()> {
    // Urgency is the shared projection's rule, the same the server orders
    // its feed by (computed from what is read here for the cases and
    // representatives' files).
    match id.kind() {
        DocKind::Case => {
            let case = docs::CaseHead::read(doc)?;
            let latest = docs::latest_visit(doc)?;
            let urgent_doc = docs::Projection::of_case(&case, latest.as_ref()).urgent;
            let neglect = latest.as_ref().is_some_and(|v| v.neglect_signs);
            let awaiting = case.awaiting_placement_since();
            let c = &case.child;
            let current = case.current_placement();
            conn.prepare_cached(
                "INSERT INTO q_children(doc_id, iin, display_name, sort_key, birth_date, region, district, status, tier,
                 placement_form, representative_id, urgent, last_visit) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
            )?
            .execute(params![
                key,
                c.iin.as_str(),
                c.name.display(),
                text::sort_key(&c.name.display()),
                c.birth_date.to_string(),
                c.region.code(),
                c.district.as_str(),
                c.status.code(),
                case.tier.code(),
                current.map(|p| p.form.code()),
                current.and_then(|p| p.representative_id.as_ref().map(|r| r.to_string())),
                urgent_doc,
                latest.as_ref().map(|v| v.date.to_string()),
            ])?;
            names(conn, key, &[&c.name.family, &c.name.given, c.name.patronymic.as_deref().unwrap_or("")])?;
            if neglect {
                urgent(conn, key, "neglect_signs", latest.as_ref().map(|v| v.date.to_string()))?;
            }
            if let Some(since) = awaiting {
                urgent(conn, key, "child_to_place", Some(since.to_string()))?;
            }
        }
        DocKind::Representative => {
            let rep: RepresentativeDoc = docs::read_view(doc)?;
            let urgent_doc = docs::Projection::of_representative(&rep).urgent;
            let r = &rep.representative;
            // The due date does not depend on the day asked; the state does and is computed at query time.
            let sched = rep.schedule(r.since);
            conn.prepare_cached(
                "INSERT INTO q_representatives(doc_id, iin, display_name, sort_key, region, district, role, status, since,
                 last_check, due_date, urgent, removal_recommended, removed_on)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)",
            )?
            .execute(params![
                key,
                r.iin.as_str(),
                r.name.display(),
                text::sort_key(&r.name.display()),
                r.region.code(),
                r.district.as_str(),
                r.role.code(),
                rep.status.code(),
                r.since.to_string(),
                sched.last_check.map(|d| d.to_string()),
                sched.due_date.to_string(),
                urgent_doc,
                rep.risk.removal_recommended,
                rep.removed_on().map(|d| d.to_string()),
            ])?;
            names(conn, key, &[&r.name.family, &r.name.given, r.name.patronymic.as_deref().unwrap_or("")])?;
            if urgent_doc {
                let first_urgent = rep.current_checks().iter().filter(|c| c.is_urgent()).map(|c| c.date).min();
                let first_report = rep.risk_reports.values().map(|r| r.date).min();
                let since = first_urgent.into_iter().chain(first_report).min().map(|d| d.to_string());
                for f in rep.risk.raised() {
                    urgent(conn, key, f.code(), since.clone())?;
                }
                if rep.risk.removal_recommended {
                    urgent(conn, key, "removal_recommended", since)?;
                }
            }
        }
        DocKind::Mentor => {
            let m: MentorDoc = docs::read_view(doc)?;
            let until = m.certificates.values().map(|c| c.valid_until).max();
            conn.prepare_cached(
                "INSERT INTO q_mentors(doc_id, user_id, display_name, cert_valid_until) VALUES (?1,?2,?3,?4)",
            )?
            .execute(params![
                key,
                m.mentor.user_id,
                m.mentor.name.display(),
                until.map(|d| d.to_string())
            ])?;
        }
        DocKind::Mentee => {
            let m: MenteeDoc = docs::read_view(doc)?;
            let name = format!("{} {}", m.mentee.family_name, m.mentee.given_name);
            conn.prepare_cached(
                "INSERT INTO q_mentees(doc_id, mentor_id, child_id, display_name, sort_key, birth_date, start_date, end_date)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
            )?
            .execute(params![
                key,
                m.mentorship.mentor_id.as_str(),
                m.mentorship.child_id.as_str(),
                name,
                text::sort_key(&name),
                m.mentee.birth_date.to_string(),
                m.mentorship.start_date.to_string(),
                m.mentorship.end_date.map(|d| d.to_string()),
            ])?;
            names(conn, key, &[&m.mentee.family_name, &m.mentee.given_name])?;
        }
        DocKind::MeetingLog => {}
    }
    if let Some(p) = docs::Identity::of_live(id, doc) {
        conn.prepare_cached("INSERT INTO q_people(doc_id, kind, iin, name_key, birth) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(params![key, id.kind().prefix(), p.iin, p.name_key, p.birth.to_string()])?;
    }
    for other in docs::merge::distinct(doc) {
        conn.prepare_cached("INSERT OR IGNORE INTO q_distinct(doc_id, other) VALUES (?1, ?2)")?
            .execute(params![key, other.to_string()])?;
    }
    for c in docs::conflicts::find(doc, id)? {
        let body = serde_json::to_string(&c).map_err(|e| Error::Corrupt(e.to_string()))?;
        conn.prepare_cached("INSERT OR REPLACE INTO q_conflicts(doc_id, path, body) VALUES (?1, ?2, ?3)")?
            .execute(params![key, c.path, body])?;
    }
    Ok(())
}
