//! One child, one file: likely duplicates found on the phone, merged,
//! merged concurrently on two phones, merged in opposite directions, and a
//! merge undone; documents carried between phones as sync carries them.

#![allow(clippy::unwrap_used)]

use chrono::NaiveDate;
use qamqor_core::docs::DocId;
use qamqor_core::model::*;
use qamqor_core::sample::Sample;
use qamqor_core::store::{DuplicateReason, Store, StoreOptions};

const KEY: [u8; 32] = [7; 32];

fn today() -> NaiveDate {
    "2026-11-25".parse().unwrap()
}

fn open(dir: &tempfile::TempDir, name: &str) -> Store {
    let mut o = StoreOptions::new(name);
    o.today = Some(today());
    Store::open(dir.path().join(name), &KEY, o).unwrap()
}

/// Every document of `from` merged into `to`, as a sync would.
fn carry(from: &Store, to: &Store) {
    for id in from.document_ids().unwrap() {
        to.merge_document(&id, &from.export_document(&id).unwrap()).unwrap();
    }
}

/// The same child registered on two phones offline, each with a visit.
fn twice(a: &Store, b: &Store, russian_spelling: bool) -> (Child, Child) {
    let mut s = Sample::new(3, today(), Kato::parse("751710000").unwrap());
    let child = s.child();
    let mut other = child.clone();
    other.id = ChildId::new();
    other.school = Some("№7 мектеп".into());
    if russian_spelling {
        other.name.family = other.name.family.replace('Қ', "К").replace('ә', "а").to_uppercase();
        other.iin = s.iin(child.birth_date, child.sex);
    }
    a.register_child(&child).unwrap();
    b.register_child(&other).unwrap();
    a.record_visit(&s.visit(&child, "2026-11-10".parse().unwrap())).unwrap();
    b.record_visit(&s.visit(&other, "2026-11-12".parse().unwrap())).unwrap();
    (child, other)
}

#[test]
fn two_phones_register_one_child_and_one_merges() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (open(&dir, "a"), open(&dir, "b"), open(&dir, "c"));
    let (child, other) = twice(&a, &b, false);
    let (x, y) = (DocId::case(&child.id), DocId::case(&other.id));
    carry(&a, &b);
    carry(&b, &a);
    carry(&a, &c);
    // Every phone holding both sees the pair.
    for phone in [&a, &b, &c] {
        let pairs = phone.duplicates().unwrap();
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].reason, DuplicateReason::SameIin);
        assert_eq!([&pairs[0].first, &pairs[0].second], if x < y { [&x, &y] } else { [&y, &x] });
    }
    let preview = a.merge_preview(&x, &y).unwrap();
    assert_eq!(preview.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(), vec!["school"]);
    a.merge_files(&x, &y, &["school".to_owned()]).unwrap();
    assert!(a.duplicates().unwrap().is_empty());
    let file = a.child_file(&child.id).unwrap();
    assert_eq!(file.visits.len(), 2, "both phones' visits");
    assert!(file.visits.values().all(|v| v.child_id == child.id));
    assert_eq!(file.child.school.as_deref(), Some("№7 мектеп"), "the chosen value");
    assert_eq!(a.caseload().unwrap().len(), 1);
    // The absorbed file's id reads as the survivor.
    assert_eq!(a.child_file(&other.id).unwrap().child.id, child.id);
    assert!(a.merge_files(&x, &y, &[]).is_err(), "merged once");

    // c synced between; it receives the merge and ends with one file.
    carry(&a, &c);
    assert_eq!(c.caseload().unwrap().len(), 1);
    assert!(c.duplicates().unwrap().is_empty());
    assert_eq!(c.child_file(&other.id).unwrap().visits.len(), 2);
    assert!(c.conflicts().unwrap().is_empty());
}

#[test]
fn the_same_merge_on_two_phones_converges() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (open(&dir, "a"), open(&dir, "b"));
    let (child, other) = twice(&a, &b, false);
    let (x, y) = (DocId::case(&child.id), DocId::case(&other.id));
    carry(&a, &b);
    carry(&b, &a);
    a.merge_files(&x, &y, &[]).unwrap();
    b.merge_files(&x, &y, &[]).unwrap();
    carry(&a, &b);
    carry(&b, &a);
    for id in [&x, &y] {
        let (ha, hb) = (a.heads(id).unwrap(), b.heads(id).unwrap());
        assert_eq!(ha, hb);
    }
    for phone in [&a, &b] {
        assert_eq!(phone.caseload().unwrap().len(), 1);
        assert_eq!(phone.child_file(&child.id).unwrap().visits.len(), 2);
        assert!(phone.duplicates().unwrap().is_empty());
        assert!(phone.conflicts().unwrap().is_empty(), "{:?}", phone.conflicts().unwrap());
    }
}

#[test]
fn opposite_merges_leave_the_smaller_id() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (open(&dir, "a"), open(&dir, "b"));
    let (child, other) = twice(&a, &b, false);
    let (x, y) = (DocId::case(&child.id), DocId::case(&other.id));
    carry(&a, &b);
    carry(&b, &a);
    a.merge_files(&x, &y, &[]).unwrap();
    b.merge_files(&y, &x, &[]).unwrap();
    carry(&a, &b);
    carry(&b, &a);
    let survivor = x.clone().min(y.clone());
    for phone in [&a, &b] {
        let cases = phone.caseload().unwrap();
        assert_eq!(cases.len(), 1);
        assert_eq!(DocId::case(&cases[0].child_id), survivor);
        assert_eq!(phone.resolve(&x).unwrap(), survivor);
        assert_eq!(phone.resolve(&y).unwrap(), survivor);
        assert_eq!(phone.child_file(&child.id).unwrap().visits.len(), 2);
        assert!(phone.duplicates().unwrap().is_empty());
    }
}

#[test]
fn a_wrong_merge_is_undone_and_the_pair_stays_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (open(&dir, "a"), open(&dir, "b"));
    // Same names and birth date, another IIN: likely, not certain.
    let (child, other) = twice(&a, &b, true);
    let (x, y) = (DocId::case(&child.id), DocId::case(&other.id));
    carry(&b, &a);
    let pairs = a.duplicates().unwrap();
    assert_eq!(pairs.len(), 1, "Kazakh and Russian spellings fold together");
    assert_eq!(pairs[0].reason, DuplicateReason::SameNameAndBirth);
    let before = a.child_file(&child.id).unwrap();
    a.merge_files(&x, &y, &["iin".to_owned(), "school".to_owned()]).unwrap();
    assert_eq!(a.child_file(&child.id).unwrap().child.iin, other.iin);
    a.undo_merge(&x, &y).unwrap();
    let after = a.child_file(&child.id).unwrap();
    assert_eq!(after.child, before.child, "the replaced values are back");
    assert_eq!(after.visits.len(), 1, "the carried visit left");
    assert_eq!(a.child_file(&other.id).unwrap().child.id, other.id, "a file of its own again");
    assert_eq!(a.caseload().unwrap().len(), 2);
    assert!(a.duplicates().unwrap().is_empty(), "marked as two people");
    carry(&a, &b);
    assert!(b.duplicates().unwrap().is_empty());
    assert!(a.undo_merge(&x, &y).is_err(), "undone once");
}

#[test]
fn a_pair_marked_as_two_people_stays_quiet_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (open(&dir, "a"), open(&dir, "b"));
    let (child, other) = twice(&a, &b, true);
    carry(&b, &a);
    carry(&a, &b);
    assert_eq!(b.duplicates().unwrap().len(), 1);
    a.mark_not_duplicate(&DocId::case(&child.id), &DocId::case(&other.id)).unwrap();
    assert!(a.duplicates().unwrap().is_empty());
    carry(&a, &b);
    assert!(b.duplicates().unwrap().is_empty());
}

#[test]
fn representatives_merge_with_their_risks_and_children() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (open(&dir, "a"), open(&dir, "b"));
    let mut s = Sample::new(9, today(), Kato::parse("751710000").unwrap());
    let rep = s.representative("2024-01-10".parse().unwrap());
    let mut twin = rep.clone();
    twin.id = RepresentativeId::new();
    a.register_representative(&rep).unwrap();
    b.register_representative(&twin).unwrap();
    let child = s.child();
    b.register_child(&child).unwrap();
    let start = child.birth_date.max("2024-02-01".parse().unwrap());
    b.place_child(&s.placement(&child, &twin, start)).unwrap();
    b.record_check(&s.check(&twin.id, "2026-11-01".parse().unwrap(), Some(RiskFactor::CriminalProsecution))).unwrap();
    carry(&b, &a);
    let (x, y) = (DocId::representative(&rep.id), DocId::representative(&twin.id));
    assert_eq!(a.duplicates().unwrap().len(), 1);
    a.merge_files(&x, &y, &[]).unwrap();
    let file = a.representative_file(&rep.id).unwrap();
    assert_eq!(file.checks.len(), 1);
    assert!(file.risk.raised().contains(&RiskFactor::CriminalProsecution), "a raised risk stays raised");
    assert!(file.risk.removal_recommended);
    assert!(file.relations.contains_key(child.id.as_str()));
    let in_care = a.children_in_care(&rep.id).unwrap();
    assert_eq!(in_care.len(), 1, "the child placed with the absorbed file");
    assert!(a.urgent_items().unwrap().iter().any(|u| u.doc_id == x), "the survivor carries the risk");
    assert!(a.urgent_items().unwrap().iter().all(|u| u.doc_id != y), "the absorbed file is quiet");
    // A case merges only with a case.
    assert!(a.merge_files(&x, &DocId::case(&child.id), &[]).is_err());
}
