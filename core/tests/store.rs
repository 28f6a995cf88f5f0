//! The store against real encrypted SQLite files.

#![allow(clippy::unwrap_used)]

use chrono::NaiveDate;
use qamqor_core::Error;
use qamqor_core::docs::{ConflictKind, DocId, RemovalStep};
use qamqor_core::model::*;
use qamqor_core::sample::Sample;
use qamqor_core::store::{Store, StoreOptions, UrgentReason};

const KEY: [u8; 32] = [7; 32];

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn today() -> NaiveDate {
    d("2026-11-25")
}

fn options(author: &str) -> StoreOptions {
    let mut o = StoreOptions::new(author);
    o.today = Some(today());
    o
}

fn open(dir: &tempfile::TempDir, name: &str) -> Store {
    Store::open(dir.path().join(name), &KEY, options(name)).unwrap()
}

fn sample(seed: u64) -> Sample {
    Sample::new(seed, today(), Kato::parse("751710000").unwrap())
}

/// A child placed with a guardian, both registered.
fn family(store: &Store, s: &mut Sample) -> (Child, Representative, Placement) {
    let child = s.child();
    let start = child.birth_date.max(d("2023-02-01"));
    let rep = s.representative(start);
    store.register_child(&child).unwrap();
    store.register_representative(&rep).unwrap();
    let p = s.placement(&child, &rep, start);
    store.place_child(&p).unwrap();
    (child, rep, p)
}

#[test]
fn key_errors_are_clear_and_harmless() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    let mut s = sample(1);
    let child = {
        let store = Store::open(&path, &KEY, options("a")).unwrap();
        let c = s.child();
        store.register_child(&c).unwrap();
        assert!(matches!(Store::open(&path, &KEY, options("a")), Err(Error::AlreadyOpen)));
        c
    };
    assert!(matches!(Store::open(&path, &[1; 32], options("a")), Err(Error::WrongKey)));
    assert!(matches!(Store::open(&path, &[1; 16], options("a")), Err(Error::KeyLength(16))));
    let msg = Store::open(&path, &[1; 32], options("a")).unwrap_err().to_string();
    assert!(msg.contains("key"), "{msg}");
    let store = Store::open(&path, &KEY, options("a")).unwrap();
    assert_eq!(store.child_file(&child.id).unwrap().child, child);
    store.close();
    assert!(matches!(store.caseload(), Err(Error::Closed)));
    Store::open(&path, &KEY, options("a")).unwrap();
}

#[test]
fn file_bytes_hold_no_iin_or_name_in_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sample(2);
    let mut secrets = Vec::new();
    {
        let store = open(&dir, "phone.db");
        for _ in 0..20 {
            let (child, rep, _) = family(&store, &mut s);
            store.record_check(&s.check(&rep.id, d("2025-03-01"), None)).unwrap();
            secrets.push(child.iin.as_str().to_owned());
            secrets.push(rep.iin.as_str().to_owned());
            secrets.push(child.name.family.clone());
            secrets.push(rep.name.given.clone());
        }
    }
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(bytes.len() > 10_000);
    for secret in &secrets {
        let needle = secret.as_bytes();
        assert!(!bytes.windows(needle.len()).any(|w| w == needle), "plaintext found in the store files");
    }
    // Also no SQLite header: the whole file is ciphertext.
    assert!(!bytes.windows(15).any(|w| w == b"SQLite format 3"));
}

#[test]
fn caseload_search_schedule_and_urgent_items() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "phone.db");
    let mut s = sample(3);
    let (child, rep, _) = family(&store, &mut s);
    let mut named = s.child();
    named.name = FullName {
        family: "Қасымова".into(), given: "Әлия".into(), patronymic: Some("Серікқызы".into())
    };
    store.register_child(&named).unwrap();

    let caseload = store.caseload().unwrap();
    assert_eq!(caseload.len(), 2);
    let line = caseload.iter().find(|c| c.child_id == child.id).unwrap();
    assert!(!line.iin_masked.contains(child.iin.as_str()));
    assert!(line.placement_form.is_some());

    // Name search: case-insensitive, Kazakh letters, Russian keyboard.
    for q in ["ҚАСЫМ", "қасымова әлия", "Касымова", "алия сери"] {
        let hits = store.search(q, 10).unwrap();
        assert_eq!(hits.len(), 1, "query {q}");
        assert_eq!(hits[0].doc_id, DocId::case(&named.id));
    }
    let by_iin = store.search(&rep.iin.as_str()[..8], 10).unwrap();
    assert!(by_iin.iter().any(|h| h.doc_id == DocId::representative(&rep.id)));
    assert!(store.search("Zzz", 10).unwrap().is_empty());

    // Duties since 2023-02-01, no check yet: overdue since 2024-02-01.
    let due = store.checks_due(today()).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].state, ScheduleState::Overdue);
    store.record_check(&s.check(&rep.id, d("2026-11-01"), None)).unwrap();
    assert!(store.checks_due(today()).unwrap().is_empty());
    let next = store.checks_due(d("2027-10-15")).unwrap();
    assert_eq!((next[0].state, next[0].due_date), (ScheduleState::Due, d("2027-11-01")));
    assert!(store.urgent_items().unwrap().is_empty());

    // A risk factor: urgent, removal recommended.
    store.record_check(&s.check(&rep.id, d("2026-11-20"), Some(RiskFactor::NarcologicalRegistration))).unwrap();
    let urgent = store.urgent_items().unwrap();
    let reasons: Vec<_> = urgent.iter().map(|u| u.reason.clone()).collect();
    assert!(reasons.contains(&UrgentReason::Risk(RiskFactor::NarcologicalRegistration)));
    assert!(reasons.contains(&UrgentReason::RemovalRecommended));
    let file = store.representative_file(&rep.id).unwrap();
    assert!(file.risk.removal_recommended);
    store.decide_removal(&s.decision(&rep.id, d("2026-11-22"), RemovalOutcome::Removed)).unwrap();
    // Acted on: the representative's items are gone; what remains is the
    // child's open placement with them, to end, since the order's date.
    let left: Vec<_> = store.urgent_items().unwrap().into_iter().map(|u| (u.reason, u.since)).collect();
    assert_eq!(left, [(UrgentReason::PlacementToEnd, Some(d("2026-11-22")))]);
}

#[test]
fn rules_refuse_bad_actions_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "phone.db");
    let mut s = sample(4);
    let (child, rep, _) = family(&store, &mut s);
    let before = store.heads(&DocId::case(&child.id)).unwrap();

    // A second active placement.
    let err = store.place_child(&s.placement(&child, &rep, d("2024-01-01"))).unwrap_err();
    assert!(matches!(err, Error::Rule(_)), "{err}");
    // A visit in the future.
    let err = store.record_visit(&s.visit(&child, d("2027-01-01"))).unwrap_err();
    assert!(err.to_string().contains("visit.date"), "{err}");
    // Unknown region code.
    assert!(matches!("99".parse::<Region>(), Err(Error::UnknownCode { .. })));
    assert!(Kato::parse("990000000").is_err());
    assert_eq!(store.heads(&DocId::case(&child.id)).unwrap(), before);

    // A check whose conclusion ignores a risk factor.
    let mut c = s.check(&rep.id, d("2026-01-01"), Some(RiskFactor::CriminalProsecution));
    c.conclusion = CheckConclusion::Suitable;
    let err = store.record_check(&c).unwrap_err();
    assert!(err.to_string().contains("check.conclusion"), "{err}");

    // Events are written once; a correction supersedes.
    let v = s.visit(&child, d("2026-05-01"));
    store.record_visit(&v).unwrap();
    store.record_visit(&v).unwrap(); // repeated: no harm
    let mut changed = v.clone();
    changed.health = "other".into();
    assert!(store.record_visit(&changed).is_err());
    let mut fix = s.visit(&child, d("2026-05-01"));
    fix.supersedes = Some(v.id.clone());
    store.record_visit(&fix).unwrap();
    let file = store.child_file(&child.id).unwrap();
    assert_eq!(file.visits.len(), 2, "both stay");
    assert_eq!(file.current_visits().len(), 1);
    assert_eq!(file.current_visits()[0].id, fix.id);

    // IIN disagreeing with the birth date: a warning, not a rejection.
    let mut odd = s.child();
    odd.birth_date = odd.birth_date.pred_opt().unwrap();
    let rec = store.register_child(&odd).unwrap();
    assert!(matches!(rec.warnings[0], Warning::IinBirthDateMismatch { .. }));
}

#[test]
fn mentor_meetings_need_a_valid_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "phone.db");
    let mut s = sample(5);
    let (child, _, _) = family(&store, &mut s);
    let mentor = s.mentor("mentor-1");
    store.register_mentor(&mentor).unwrap();
    let ship = Mentorship {
        id: MentorshipId::new(),
        mentor_id: mentor.id.clone(),
        child_id: child.id.clone(),
        contract_ref: "Т-2025/17".into(),
        start_date: d("2025-01-10"),
        end_date: None,
    };
    store.start_mentorship(&ship).unwrap();
    let m = s.meeting(&ship.id, d("2025-03-01"));
    let err = store.log_meeting(&m).unwrap_err();
    assert!(err.to_string().contains("certificate"), "{err}");
    store.add_certificate(&mentor.id, &s.certificate(d("2025-02-01"), 1)).unwrap();
    store.log_meeting(&m).unwrap();
    let late = s.meeting(&ship.id, d("2026-03-01"));
    assert!(store.log_meeting(&late).is_err(), "certificate expired on 2026-02-01");
    assert_eq!(store.meeting_log(&mentor.id).unwrap().meetings.len(), 1);
    let mentees = store.mentees(&mentor.id).unwrap();
    assert_eq!(mentees.len(), 1);
    assert_eq!(mentees[0].child_id, child.id);
    // The mentee view holds only what mentoring needs.
    let view = serde_json::to_string(&store.mentee(&ship.id).unwrap()).unwrap();
    assert!(!view.contains(child.iin.as_str()));
    // And follows the child's profile.
    let mut moved = child.clone();
    moved.school = Some("№40 лицей".into());
    store.update_child(&moved).unwrap();
    assert_eq!(store.mentee(&ship.id).unwrap().mentee.school.as_deref(), Some("№40 лицей"));
}

fn recommendation(rep: &RepresentativeId, date: NaiveDate) -> RemovalRecommendation {
    RemovalRecommendation {
        id: EventId::new(),
        representative_id: rep.clone(),
        date,
        grounds: "the child was left alone for a week".into(),
        recommended_by: "specialist".into(),
    }
}

fn copy_all(from: &Store, to: &Store) {
    for id in from.document_ids().unwrap() {
        to.merge_document(&id, &from.export_document(&id).unwrap()).unwrap();
    }
}

#[test]
fn concurrent_edits_merge_or_surface_as_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let a = open(&dir, "a.db");
    let b = open(&dir, "b.db");
    assert_ne!(a.actor_id(), b.actor_id());
    let mut s = sample(6);
    let (child, rep, placement) = family(&a, &mut s);
    let rep2 = s.representative(d("2024-01-01"));
    a.register_representative(&rep2).unwrap();
    copy_all(&a, &b);

    // Different fields: merge silently.
    let mut c1 = child.clone();
    c1.school = Some("№5 мектеп".into());
    a.update_child(&c1).unwrap();
    let mut c2 = child.clone();
    c2.name.patronymic = Some("Ерланұлы".into());
    b.update_child(&c2).unwrap();
    // Events: both kept.
    a.record_check(&s.check(&rep.id, d("2026-10-01"), None)).unwrap();
    b.record_visit(&s.visit(&child, d("2026-10-02"))).unwrap();
    // Same legally significant fields: conflicts.
    a.set_representative_status(&rep.id, RepresentativeStatus::Suspended).unwrap();
    b.recommend_removal(&recommendation(&rep.id, d("2026-10-03"))).unwrap();
    b.decide_removal(&s.decision(&rep.id, d("2026-10-04"), RemovalOutcome::Removed)).unwrap();
    a.end_placement(&s.ending(&placement, d("2026-10-05"), PlacementEndReason::Replaced)).unwrap();
    b.end_placement(&s.ending(&placement, d("2026-10-06"), PlacementEndReason::RepresentativeRemoved)).unwrap();
    // And each then places the child anew: two active placements after merge.
    a.place_child(&s.placement(&child, &rep2, d("2026-10-05"))).unwrap();
    b.place_child(&s.placement(&child, &rep2, d("2026-10-06"))).unwrap();

    copy_all(&a, &b);
    copy_all(&b, &a);
    for id in a.document_ids().unwrap() {
        assert_eq!(a.heads(&id).unwrap(), b.heads(&id).unwrap());
        let read = |s: &Store| {
            let doc = automerge::Automerge::load(&s.export_document(&id).unwrap()).unwrap();
            qamqor_core::docs::json::read(&doc, &automerge::ROOT).unwrap()
        };
        assert_eq!(read(&a), read(&b));
    }
    let merged = a.child_file(&child.id).unwrap().child;
    assert_eq!(merged.school.as_deref(), Some("№5 мектеп"));
    assert_eq!(merged.name.patronymic.as_deref(), Some("Ерланұлы"));
    assert_eq!(a.representative_file(&rep.id).unwrap().checks.len(), 1);
    assert_eq!(a.child_file(&child.id).unwrap().visits.len(), 1);

    for store in [&a, &b] {
        let conflicts = store.conflicts().unwrap();
        let paths: Vec<_> = conflicts.iter().map(|c| c.path.clone()).collect();
        assert!(paths.contains(&"status".to_string()), "{paths:?}");
        assert!(paths.contains(&format!("placements/{}/end_date", placement.id)), "{paths:?}");
        assert!(paths.contains(&format!("placements/{}/end_reason", placement.id)), "{paths:?}");
        let two = conflicts.iter().find(|c| c.kind == ConflictKind::TwoActivePlacements).unwrap();
        assert_eq!(two.values.len(), 2);
        let status = conflicts.iter().find(|c| c.path == "status").unwrap();
        let mut authors: Vec<_> = status.values.iter().map(|v| v.author.clone().unwrap()).collect();
        authors.sort();
        assert_eq!(authors, ["a.db", "b.db"]);
    }

    // A person resolves the status; it leaves the list on both after merging.
    let rep_doc = DocId::representative(&rep.id);
    a.resolve_conflict(&rep_doc, "status", &serde_json::json!("removed")).unwrap();
    assert!(a.resolve_conflict(&rep_doc, "status", &serde_json::json!("removed")).is_err(), "no longer in conflict");
    copy_all(&a, &b);
    assert!(!b.conflicts().unwrap().iter().any(|c| c.path == "status"));
    assert_eq!(b.representative_file(&rep.id).unwrap().status, RepresentativeStatus::Removed);
}

#[test]
fn risk_flags_raised_and_cleared_concurrently_are_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let a = open(&dir, "a.db");
    let b = open(&dir, "b.db");
    let mut s = sample(7);
    let (_, rep, _) = family(&a, &mut s);
    copy_all(&a, &b);
    a.record_check(&s.check(&rep.id, d("2026-10-01"), Some(RiskFactor::CriminalProsecution))).unwrap();
    b.record_check(&s.check(&rep.id, d("2026-10-02"), Some(RiskFactor::CriminalProsecution))).unwrap();
    copy_all(&a, &b);
    copy_all(&b, &a);
    // Both raised the same flag: they agree, nothing to review.
    assert!(a.conflicts().unwrap().is_empty());
    assert_eq!(a.representative_file(&rep.id).unwrap().checks.len(), 2);
}

#[test]
fn unknown_fields_from_a_newer_version_survive_and_newer_editors_block() {
    use automerge::transaction::Transactable;
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "phone.db");
    let mut s = sample(8);
    let child = s.child();
    store.register_child(&child).unwrap();
    let id = DocId::case(&child.id);

    // A newer version adds fields this version does not know.
    let mut newer = automerge::Automerge::load(&store.export_document(&id).unwrap()).unwrap();
    let mut tx = newer.transaction();
    let (_, child_obj) = automerge::ReadDoc::get(&tx, automerge::ROOT, "child").unwrap().unwrap();
    tx.put(&child_obj, "disability_group", "none").unwrap();
    tx.put(automerge::ROOT, "court_cases", "kept").unwrap();
    tx.put(automerge::ROOT, "schema", 2u64).unwrap();
    tx.commit();
    store.merge_document(&id, &newer.save()).unwrap();

    // This version edits the child: the unknown fields are kept.
    let mut edited = child.clone();
    edited.school = Some("№12 лицей".into());
    store.update_child(&edited).unwrap();
    let doc = automerge::Automerge::load(&store.export_document(&id).unwrap()).unwrap();
    let json = qamqor_core::docs::json::read(&doc, &automerge::ROOT).unwrap();
    assert_eq!(json["child"]["disability_group"], "none");
    assert_eq!(json["court_cases"], "kept");
    assert_eq!(json["schema"], 2, "an older core never lowers the schema");
    assert_eq!(json["child"]["school"], "№12 лицей");

    // A newer version marks the document as needing its editor.
    let mut tx = newer.transaction();
    tx.put(automerge::ROOT, "min_editor", 2u64).unwrap();
    tx.commit();
    store.merge_document(&id, &newer.save()).unwrap();
    assert!(matches!(store.update_child(&edited), Err(Error::UpdateRequired)));
    assert_eq!(store.child_file(&child.id).unwrap().child.school.as_deref(), Some("№12 лицей"), "reads still work");
}

#[test]
fn compaction_keeps_every_change_and_indexes_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    let mut s = sample(9);
    let (child, rep) = {
        let mut o = options("a");
        o.compact_after = 5;
        let store = Store::open(&path, &KEY, o).unwrap();
        let (child, rep, _) = family(&store, &mut s);
        for i in 0..12 {
            store.record_visit(&s.visit(&child, d("2025-01-01") + chrono::Duration::days(i * 20))).unwrap();
        }
        let heads = store.heads(&DocId::case(&child.id)).unwrap();
        store.compact(&DocId::case(&child.id)).unwrap();
        assert_eq!(store.heads(&DocId::case(&child.id)).unwrap(), heads);
        (child, rep)
    };
    let store = Store::open(&path, &KEY, options("a")).unwrap();
    assert_eq!(store.child_file(&child.id).unwrap().visits.len(), 12);
    let before = (store.caseload().unwrap(), store.checks_due(today()).unwrap(), store.search("а", 50).unwrap());
    store.rebuild_indexes().unwrap();
    let after = (store.caseload().unwrap(), store.checks_due(today()).unwrap(), store.search("а", 50).unwrap());
    assert_eq!(before, after);
    assert_eq!(store.representative_file(&rep.id).unwrap().representative, rep);
}

#[test]
fn damaged_merge_input_is_refused_and_harms_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "phone.db");
    let mut s = sample(10);
    let (child, _, _) = family(&store, &mut s);
    let id = DocId::case(&child.id);
    let good = store.export_document(&id).unwrap();
    let heads = store.heads(&id).unwrap();
    for bad in [&b"garbage"[..], &good[..good.len() / 2], &[0u8; 0][..]] {
        let _ = store.merge_document(&id, bad);
        assert_eq!(store.heads(&id).unwrap(), heads);
    }
    assert!(store.merge_document(&id, b"garbage").is_err());
    // A document whose kind does not match the id it is filed under.
    let rep_id = DocId::representative(&RepresentativeId::new());
    assert!(store.merge_document(&rep_id, &good).is_err());
    assert_eq!(store.document_ids().unwrap().len(), 2);
}

#[test]
fn neglect_seen_on_the_latest_visit_is_urgent_until_corrected() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "phone.db");
    let mut s = sample(11);
    let (child, _, _) = family(&store, &mut s);
    let mut bad = s.visit(&child, d("2026-11-01"));
    bad.neglect_signs = true;
    store.record_visit(&bad).unwrap();
    let urgent = store.urgent_items().unwrap();
    assert_eq!(urgent.len(), 1);
    assert_eq!(urgent[0].reason, UrgentReason::NeglectSigns);
    assert!(store.caseload().unwrap()[0].urgent);
    // An older visit does not hide it; a correction of the same visit does.
    store.record_visit(&s.visit(&child, d("2026-10-01"))).unwrap();
    assert_eq!(store.urgent_items().unwrap().len(), 1);
    let mut fix = s.visit(&child, d("2026-11-01"));
    fix.supersedes = Some(bad.id.clone());
    store.record_visit(&fix).unwrap();
    assert!(store.urgent_items().unwrap().is_empty());
    assert_eq!(store.caseload().unwrap()[0].last_visit, Some(d("2026-11-01")));
    // A correction must name a recorded visit.
    let mut stray = s.visit(&child, d("2026-11-02"));
    stray.supersedes = Some(EventId::new());
    assert!(store.record_visit(&stray).unwrap_err().to_string().contains("visit.supersedes"));
}

/// Query tables carry the version of the rules they were derived under: a
/// store whose tables were derived under other rules rebuilds them on open,
/// and one derived under the current rules is left alone.
#[test]
fn query_tables_derived_under_other_rules_are_rebuilt_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sample(40);
    let rep = {
        let store = open(&dir, "a");
        let (_, rep, _) = family(&store, &mut s);
        store.record_check(&s.check(&rep.id, d("2026-11-20"), Some(RiskFactor::CriminalProsecution))).unwrap();
        assert!(!store.urgent_items().unwrap().is_empty());
        rep
    };
    let tamper = |sql: &str| {
        let c = rusqlite::Connection::open(dir.path().join("a")).unwrap();
        c.execute_batch(&format!("PRAGMA key = \"x'{}'\";", hex::encode(KEY))).unwrap();
        c.execute_batch(sql).unwrap();
    };
    // Derived under the current rules: not rebuilt (the damage stays, which
    // proves the rebuild below comes from the version alone).
    tamper("DELETE FROM q_urgent; UPDATE q_representatives SET urgent = 0;");
    assert!(open(&dir, "a").urgent_items().unwrap().is_empty());
    // Derived under other rules: rebuilt on open.
    tamper("UPDATE meta SET value = x'00000000' WHERE key = 'derived_version';");
    let store = open(&dir, "a");
    let urgent = store.urgent_items().unwrap();
    assert!(urgent.iter().any(|u| u.doc_id == DocId::representative(&rep.id)), "{urgent:?}");
}

/// The seed's workflow: a risk factor on a guardian flags the child too,
/// no other child may be placed with them, and the child stays on the
/// urgent list until it is placed anew.
#[test]
fn a_risk_factor_flags_the_child_until_it_is_placed_anew() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "a");
    let mut s = sample(50);
    let (child, rep, placement) = family(&store, &mut s);
    let case = DocId::case(&child.id);
    assert!(!store.caseload().unwrap()[0].urgent);

    // Income with absurd amounts is refused (and sums never overflow).
    let mut absurd = s.check(&rep.id, d("2026-11-20"), None);
    absurd.income.sources[0].monthly_amount_kzt = 1_000_000_000_000_000;
    let e = store.record_check(&absurd).unwrap_err();
    assert!(matches!(&e, Error::Invalid { field, .. } if field.contains("monthly_amount_kzt")), "{e}");

    store.record_check(&s.check(&rep.id, d("2026-11-20"), Some(RiskFactor::CriminalProsecution))).unwrap();
    assert!(store.caseload().unwrap()[0].urgent, "the child of a guardian under prosecution is urgent");
    let in_care = store.children_in_care(&rep.id).unwrap();
    assert_eq!(in_care.len(), 1);
    assert!(in_care[0].urgent, "listed on the representative's file, flagged");
    let urgent = store.urgent_items().unwrap();
    assert!(urgent.iter().any(|u| u.doc_id == case && u.reason == UrgentReason::RepresentativeAtRisk), "{urgent:?}");

    // No other child is placed with them.
    let other = s.child();
    store.register_child(&other).unwrap();
    let start = other.birth_date.max(d("2026-01-10"));
    let e = store.place_child(&s.placement(&other, &rep, start)).unwrap_err();
    assert!(matches!(&e, Error::Rule(m) if m.contains("risk")), "{e}");

    // Removal is the office's decision, by an order; the placement cannot
    // end for that reason before it.
    let e = store.set_representative_status(&rep.id, RepresentativeStatus::Removed).unwrap_err();
    assert!(matches!(&e, Error::Rule(m) if m.contains("order")), "{e}");
    let ending = s.ending(&placement, d("2026-11-22"), PlacementEndReason::RepresentativeRemoved);
    let e = store.end_placement(&ending).unwrap_err();
    assert!(matches!(&e, Error::Rule(m) if m.contains("decision")), "{e}");
    let not_removed = s.decision(&rep.id, d("2026-11-21"), RemovalOutcome::NotRemoved);
    let e = store.decide_removal(&not_removed).unwrap_err();
    assert!(matches!(&e, Error::Rule(m) if m.contains("risk factor")), "{e}");

    // Removed from duties with the placement still open: a task, not silence.
    store.decide_removal(&s.decision(&rep.id, d("2026-11-21"), RemovalOutcome::Removed)).unwrap();
    let urgent = store.urgent_items().unwrap();
    assert!(urgent.iter().any(|u| u.doc_id == case && u.reason == UrgentReason::PlacementToEnd), "{urgent:?}");
    assert!(store.caseload().unwrap().iter().any(|c| c.urgent));

    // The placement ends: the child waits to be placed anew, still urgent.
    store.end_placement(&ending).unwrap();
    let urgent = store.urgent_items().unwrap();
    assert_eq!(urgent.len(), 1, "{urgent:?}");
    assert_eq!((&urgent[0].doc_id, &urgent[0].reason), (&case, &UrgentReason::ChildToPlace));
    assert!(store.caseload().unwrap().iter().any(|c| c.child_id == child.id && c.urgent));

    // Placed with another guardian: the list is empty, the chain is kept.
    let new_rep = s.representative(d("2026-11-22"));
    store.register_representative(&new_rep).unwrap();
    store.place_child(&s.placement(&child, &new_rep, d("2026-11-23"))).unwrap();
    assert!(store.urgent_items().unwrap().is_empty(), "{:?}", store.urgent_items().unwrap());
    assert!(store.caseload().unwrap().iter().all(|c| !c.urgent));
    let file = store.representative_file(&rep.id).unwrap();
    let steps: Vec<_> = file.removal_history().iter().map(|s| s.date()).collect();
    assert_eq!(steps, [d("2026-11-21")]);
    assert_eq!(file.status, RepresentativeStatus::Removed);
    let case_file = store.child_file(&child.id).unwrap();
    assert_eq!(case_file.endings().len(), 1);
    assert_eq!(case_file.endings()[0].reason, PlacementEndReason::RepresentativeRemoved);
}

/// A name typed on a Latin keyboard (Kazakh Latin or a common
/// transliteration) finds the Cyrillic name.
#[test]
fn a_latin_keyboard_finds_cyrillic_names() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "a");
    let mut s = sample(51);
    let mut child = s.child();
    child.name = FullName { family: "Сейітқызы".into(), given: "Нұрсұлу".into(), patronymic: None };
    store.register_child(&child).unwrap();
    for query in ["Nur", "nursulu", "Сейіт", "Seiitkizi Nur", "Sheyit", "seyit nurs"] {
        let hits = store.search(query, 10).unwrap();
        let found = hits.iter().any(|h| h.doc_id == DocId::case(&child.id));
        if query.starts_with("Sheyit") {
            assert!(!found, "{query} is another name");
        } else {
            assert!(found, "{query} finds the child: {hits:?}");
        }
    }
}

/// A placement recorded wrongly is set right by an event that keeps what
/// was recorded, why and by whom; the placement and the representative's
/// file read the corrected facts.
#[test]
fn a_placement_is_corrected_by_an_event_that_keeps_the_old_facts() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "a");
    let mut s = sample(52);
    let (child, rep, placement) = family(&store, &mut s);
    let corrected = PlacementFacts {
        start_date: placement.start_date + chrono::Duration::days(3),
        kin: Some(KinRelation::AdultSibling),
        kin_considered: true,
    };
    let correction = PlacementCorrection {
        id: EventId::new(),
        child_id: child.id.clone(),
        placement_id: placement.id.clone(),
        date: d("2026-11-25"),
        corrected: corrected.clone(),
        previous: None,
        reason: "the order gives a later start; the guardian is the child's sister".into(),
        corrected_by: "specialist".into(),
    };
    let before = store.heads(&DocId::case(&child.id)).unwrap();
    // Refused without harm: no reason, nothing changed, a start before birth.
    let e = store.correct_placement(&PlacementCorrection { reason: "x".into(), ..correction.clone() }).unwrap_err();
    assert!(matches!(&e, Error::Invalid { field, .. } if field == "placement_correction.reason"), "{e}");
    let same = PlacementCorrection { corrected: PlacementFacts::of(&placement), ..correction.clone() };
    assert!(matches!(store.correct_placement(&same), Err(Error::Rule(_))));
    let early = PlacementFacts { start_date: child.birth_date - chrono::Duration::days(1), ..corrected.clone() };
    let e = store.correct_placement(&PlacementCorrection { corrected: early, ..correction.clone() }).unwrap_err();
    assert!(matches!(&e, Error::Invalid { field, .. } if field == "placement_correction.corrected.start_date"), "{e}");
    assert_eq!(store.heads(&DocId::case(&child.id)).unwrap(), before);

    store.correct_placement(&correction).unwrap();
    let file = store.child_file(&child.id).unwrap();
    let p = &file.placements[placement.id.as_str()];
    assert_eq!(PlacementFacts::of(p), corrected);
    let kept = file.corrections();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].previous.as_ref(), Some(&PlacementFacts::of(&placement)));
    assert_eq!(kept[0].reason, correction.reason);
    let relations = store.representative_file(&rep.id).unwrap().relations;
    assert_eq!(relations[child.id.as_str()], Some(KinRelation::AdultSibling));
    // Written once: the same id with other content is refused.
    let again = PlacementCorrection { reason: "another reason entirely".into(), ..correction };
    assert!(matches!(store.correct_placement(&again), Err(Error::Rule(_))));
}

/// The check's household lists its members; the count must agree, and a
/// member's IIN that disagrees with the birth date is a warning.
#[test]
fn a_checks_household_lists_its_members() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "a");
    let mut s = sample(53);
    let (child, rep, _) = family(&store, &mut s);
    let mut check = s.check(&rep.id, d("2026-11-20"), None);
    let member = |name: &str, relation, birth: NaiveDate, iin| HouseholdMember {
        name: FullName { family: "Сейітов".into(), given: name.into(), patronymic: None },
        relation,
        birth_date: birth,
        iin,
    };
    let other_birth = d("1980-01-01");
    check.income.household_members = 3;
    check.income.members = vec![
        member("Ерлан", HouseholdRelation::Representative, d("1975-05-05"), Some(rep.iin.clone())),
        member("Айгүл", HouseholdRelation::ChildInCare, child.birth_date, None),
    ];
    let e = store.record_check(&check).unwrap_err();
    assert!(matches!(&e, Error::Invalid { field, .. } if field == "check.income.members"), "{e}");
    check.income.members.push(member("Асан", HouseholdRelation::Spouse, d("2027-01-01"), None));
    let e = store.record_check(&check).unwrap_err();
    assert!(matches!(&e, Error::Invalid { field, .. } if field == "check.income.members[2].birth_date"), "{e}");
    check.income.members[2].birth_date = other_birth;
    let recorded = store.record_check(&check).unwrap();
    assert!(
        recorded
            .warnings
            .iter()
            .any(|w| matches!(w, Warning::IinBirthDateMismatch { field } if field.contains("members[0]"))),
        "{recorded:?}"
    );
    let file = store.representative_file(&rep.id).unwrap();
    assert_eq!(file.checks.values().next().unwrap().income.members.len(), 3);
}

/// A specialist's recommendation on other grounds than a risk factor; the
/// office decides not to remove, and the file is no longer urgent.
#[test]
fn a_recommendation_the_office_declines_leaves_the_urgent_list() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "a");
    let mut s = sample(54);
    let (child, rep, _) = family(&store, &mut s);
    let not_removed = s.decision(&rep.id, d("2026-11-24"), RemovalOutcome::NotRemoved);
    assert!(matches!(store.decide_removal(&not_removed), Err(Error::Rule(_))), "nothing to decide yet");
    store.recommend_removal(&recommendation(&rep.id, d("2026-11-20"))).unwrap();
    let urgent = store.urgent_items().unwrap();
    assert!(urgent.iter().any(|u| u.reason == UrgentReason::RemovalRecommended));
    assert!(
        urgent.iter().any(|u| u.doc_id == DocId::case(&child.id) && u.reason == UrgentReason::RepresentativeAtRisk)
    );
    store.decide_removal(&not_removed).unwrap();
    assert!(store.urgent_items().unwrap().is_empty());
    let file = store.representative_file(&rep.id).unwrap();
    assert_eq!(file.status, RepresentativeStatus::Active);
    let steps: Vec<_> = file.removal_history().into_iter().map(|s| matches!(s, RemovalStep::Decided(_))).collect();
    assert_eq!(steps, [false, true], "recommended, then decided");
}
