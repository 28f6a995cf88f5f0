//! One child, one file: two files of one person (a child's cases, or a
//! representative's files) merged into one, and the merge undone.
//!
//! The survivor absorbs the other file: every event and placement it lacks
//! is copied under the same key, the person's choices among differing
//! profile fields are applied, and the merge is recorded in the survivor's
//! `absorbed` map (what was carried and what it replaced, so that it can be
//! undone). The absorbed file keeps its content and gains `merged_into`,
//! the survivor's id: readers follow the pointer. Two phones making the
//! same merge write the same keys and values, so the merges converge; two
//! phones merging a pair in opposite directions leave each pointing at the
//! other, and the file with the smaller id is then the survivor
//! ([`survivor_of_cycle`]).

use std::collections::BTreeMap;

use automerge::transaction::Transactable;
use automerge::{ROOT, ReadDoc};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::{DocId, DocKind, json};
use crate::error::{Error, Result};
use crate::model::{EventId, RepresentativeStatus};

/// The root key of an absorbed file naming its survivor.
pub const MERGED_INTO: &str = "merged_into";
/// The root map of a survivor recording each file it absorbed.
pub const ABSORBED: &str = "absorbed";
/// The root map of a file naming the files a person said are someone else.
pub const DISTINCT: &str = "distinct";

/// A merge as recorded in the survivor (`absorbed[<absorbed doc id>]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeRecord {
    /// The merge's id.
    pub id: EventId,
    /// The file absorbed.
    pub absorbed: DocId,
    /// The day it was made.
    pub date: NaiveDate,
    /// Who made it (user id).
    pub by: String,
    /// Keys copied from the absorbed file, per container.
    pub carried: BTreeMap<String, Vec<String>>,
    /// The survivor's values the merge replaced, by path
    /// (`child/name/family`, `status`, `risk/flags/<code>`); `null` where
    /// there was none.
    pub previous: BTreeMap<String, Json>,
    /// Set when a person undid the merge.
    #[serde(default)]
    pub undone: bool,
}

/// A profile field whose value differs between the two files, for the
/// person to choose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DifferingField {
    /// The field's path in the profile (`name/family`, `school`).
    pub path: String,
    /// The survivor's value.
    pub survivor: Json,
    /// The absorbed file's value.
    pub absorbed: Json,
}

/// The profile map of a kind (`child`, `representative`).
pub fn profile_key(kind: DocKind) -> Result<&'static str> {
    match kind {
        DocKind::Case => Ok("child"),
        DocKind::Representative => Ok("representative"),
        _ => Err(Error::Rule("only children's cases and representatives' files are merged".into())),
    }
}

/// The event and placement containers copied by a merge.
fn carried_containers(kind: DocKind) -> &'static [&'static str] {
    match kind {
        DocKind::Case => &["placements", "visits", "placement_endings", "placement_corrections"],
        DocKind::Representative => {
            &["checks", "risk_reports", "risk_clearances", "removal_recommendations", "removal_decisions", "relations"]
        }
        _ => &[],
    }
}

/// The survivor a document's `merged_into` names, if it was absorbed.
pub fn merged_into<R: ReadDoc>(doc: &R) -> Option<DocId> {
    match doc.get(ROOT, MERGED_INTO).ok()?? {
        (automerge::Value::Scalar(s), _) => s.as_str().and_then(|s| DocId::parse(s).ok()),
        _ => None,
    }
}

/// The files a person said are not the same person as this one's.
pub fn distinct<R: ReadDoc>(doc: &R) -> Vec<DocId> {
    match json::read_key(doc, &ROOT, DISTINCT) {
        Ok(Some(Json::Object(m))) => m.keys().filter_map(|k| DocId::parse(k).ok()).collect(),
        _ => Vec::new(),
    }
}

/// The file that survives when merges left files pointing at each other
/// in a cycle (two opposite merges made offline): the smallest id.
pub fn survivor_of_cycle<'a>(cycle: impl IntoIterator<Item = &'a DocId>) -> Option<&'a DocId> {
    cycle.into_iter().min()
}

fn flatten(prefix: &str, v: &Json, out: &mut BTreeMap<String, Json>) {
    match v {
        Json::Object(m) => {
            for (k, v) in m {
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}/{k}") };
                flatten(&path, v, out);
            }
        }
        _ => {
            out.insert(prefix.to_owned(), v.clone());
        }
    }
}

fn profile_fields<R: ReadDoc>(doc: &R, kind: DocKind) -> Result<BTreeMap<String, Json>> {
    let mut out = BTreeMap::new();
    if let Some(v) = json::read_key(doc, &ROOT, profile_key(kind)?)? {
        flatten("", &v, &mut out);
    }
    out.remove("id");
    Ok(out)
}

/// The profile fields whose values differ between `survivor` and
/// `absorbed` (the id aside), for the person to choose.
pub fn differing_fields<R: ReadDoc, S: ReadDoc>(
    kind: DocKind,
    survivor: &R,
    absorbed: &S,
) -> Result<Vec<DifferingField>> {
    let a = profile_fields(survivor, kind)?;
    let b = profile_fields(absorbed, kind)?;
    let mut out = Vec::new();
    for path in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
        let (x, y) = (a.get(path).cloned().unwrap_or(Json::Null), b.get(path).cloned().unwrap_or(Json::Null));
        if x != y {
            out.push(DifferingField { path: path.clone(), survivor: x, absorbed: y });
        }
    }
    Ok(out)
}

/// The object at a `/` path of maps under the root, creating the maps.
fn map_path<T: Transactable + ReadDoc>(tx: &mut T, parts: &[&str]) -> Result<automerge::ObjId> {
    let mut obj = ROOT;
    for p in parts {
        obj = json::map_at(tx, &obj, p)?;
    }
    Ok(obj)
}

fn value_at<R: ReadDoc>(doc: &R, path: &str) -> Result<Json> {
    let mut parts = path.split('/');
    let Some(first) = parts.next() else { return Ok(Json::Null) };
    let mut cur = json::read_key(doc, &ROOT, first)?.unwrap_or(Json::Null);
    for p in parts {
        cur = cur.get(p).cloned().unwrap_or(Json::Null);
    }
    Ok(cur)
}

fn put_path<T: Transactable + ReadDoc>(tx: &mut T, path: &str, value: &Json) -> Result<()> {
    let parts: Vec<&str> = path.split('/').collect();
    let (last, parents) = parts.split_last().ok_or_else(|| Error::invalid("path", "is empty"))?;
    let obj = map_path(tx, parents)?;
    json::write(tx, &obj, last, value)
}

/// What a merge is asked to do.
#[derive(Debug, Clone)]
pub struct MergeRequest<'a> {
    /// The merge's id (made by the caller).
    pub id: EventId,
    /// The survivor's id.
    pub survivor: &'a DocId,
    /// The absorbed file's id.
    pub absorbed: &'a DocId,
    /// Profile fields (paths from [`differing_fields`]) whose absorbed
    /// value is taken.
    pub take: &'a [String],
    /// Today.
    pub date: NaiveDate,
    /// The user merging.
    pub by: &'a str,
}

const STATUS_ORDER: [RepresentativeStatus; 3] =
    [RepresentativeStatus::Active, RepresentativeStatus::Suspended, RepresentativeStatus::Removed];

/// Writes a merge into the survivor: copies what the absorbed file holds
/// and the survivor lacks, applies the chosen fields, and records it.
pub fn absorb<T: Transactable + ReadDoc, R: ReadDoc>(
    tx: &mut T,
    absorbed_doc: &R,
    req: &MergeRequest<'_>,
) -> Result<()> {
    let kind = req.survivor.kind();
    let profile = profile_key(kind)?;
    if req.absorbed.kind() != kind || req.absorbed == req.survivor {
        return Err(Error::Rule("two different files of the same kind are merged".into()));
    }
    let differing = differing_fields(kind, &*tx, absorbed_doc)?;
    let mut previous = BTreeMap::new();
    for path in req.take {
        let Some(f) = differing.iter().find(|f| f.path == *path) else {
            return Err(Error::invalid("merge.take", "names a field that does not differ between the two files"));
        };
        if path == "id" {
            return Err(Error::invalid("merge.take", "the id is not merged"));
        }
        let full = format!("{profile}/{path}");
        previous.insert(full.clone(), f.survivor.clone());
        put_path(tx, &full, &f.absorbed)?;
    }
    let mut carried = BTreeMap::new();
    let survivor_key = req.survivor.key().to_owned();
    for container in carried_containers(kind) {
        let Some(Json::Object(theirs)) = json::read_key(absorbed_doc, &ROOT, container)? else { continue };
        let ours = json::read_key(&*tx, &ROOT, container)?.unwrap_or(Json::Null);
        let obj = json::map_at(tx, &ROOT, container)?;
        let mut keys = Vec::new();
        for (k, mut v) in theirs {
            if ours.get(&k).is_some() {
                continue;
            }
            // The copy names the survivor as its child or representative.
            if let Json::Object(m) = &mut v {
                for field in ["child_id", "representative_id"] {
                    if m.get(field).and_then(Json::as_str) == Some(req.absorbed.key()) {
                        m.insert(field.to_owned(), Json::String(survivor_key.clone()));
                    }
                }
            }
            json::write(tx, &obj, &k, &v)?;
            keys.push(k);
        }
        if !keys.is_empty() {
            carried.insert((*container).to_owned(), keys);
        }
    }
    match kind {
        DocKind::Case => {
            if value_at(absorbed_doc, "tier")?.as_str() == Some("adoption") {
                previous.insert("tier".into(), value_at(&*tx, "tier")?);
                json::write(tx, &ROOT, "tier", &Json::String("adoption".into()))?;
            }
        }
        _ => {
            // A risk raised in either file stays raised; the stricter status holds.
            if let Json::Object(flags) = value_at(absorbed_doc, "risk/flags")? {
                for (code, on) in flags {
                    let path = format!("risk/flags/{code}");
                    if on == Json::Bool(true) && value_at(&*tx, &path)? != Json::Bool(true) {
                        previous.insert(path.clone(), value_at(&*tx, &path)?);
                        put_path(tx, &path, &on)?;
                    }
                }
            }
            if value_at(absorbed_doc, "risk/removal_recommended")? == Json::Bool(true)
                && value_at(&*tx, "risk/removal_recommended")? != Json::Bool(true)
            {
                previous.insert("risk/removal_recommended".into(), value_at(&*tx, "risk/removal_recommended")?);
                put_path(tx, "risk/removal_recommended", &Json::Bool(true))?;
            }
            let rank =
                |v: &Json| STATUS_ORDER.iter().position(|s| Some(crate::model::CodeList::code(*s)) == v.as_str());
            let (ours, theirs) = (value_at(&*tx, "status")?, value_at(absorbed_doc, "status")?);
            if rank(&theirs) > rank(&ours) {
                previous.insert("status".into(), ours);
                json::write(tx, &ROOT, "status", &theirs)?;
            }
        }
    }
    let record = MergeRecord {
        id: req.id.clone(),
        absorbed: req.absorbed.clone(),
        date: req.date,
        by: req.by.to_owned(),
        carried,
        previous,
        undone: false,
    };
    let absorbed = json::map_at(tx, &ROOT, ABSORBED)?;
    json::put(tx, &absorbed, &req.absorbed.to_string(), &record)
}

/// Marks the absorbed file as merged into the survivor.
pub fn tombstone<T: Transactable + ReadDoc>(tx: &mut T, survivor: &DocId) -> Result<()> {
    json::write(tx, &ROOT, MERGED_INTO, &Json::String(survivor.to_string()))
}

/// The survivor's record of absorbing `absorbed`, if not undone.
pub fn record_of<R: ReadDoc>(survivor: &R, absorbed: &DocId) -> Result<Option<MergeRecord>> {
    let Some(Json::Object(m)) = json::read_key(survivor, &ROOT, ABSORBED)? else { return Ok(None) };
    let Some(v) = m.get(&absorbed.to_string()) else { return Ok(None) };
    let r: MergeRecord = serde_json::from_value(v.clone()).map_err(|e| Error::Corrupt(e.to_string()))?;
    Ok((!r.undone).then_some(r))
}

/// Undoes a merge in the survivor: removes what was carried, restores
/// what was replaced, marks the record undone and says the two files are
/// different people.
pub fn undo_in_survivor<T: Transactable + ReadDoc>(
    tx: &mut T,
    record: &MergeRecord,
    by: &str,
    date: NaiveDate,
) -> Result<()> {
    for (container, keys) in &record.carried {
        if let Some(obj) = json::find_map(&*tx, &ROOT, container)? {
            for k in keys {
                tx.delete(&obj, k.as_str())?;
            }
        }
    }
    for (path, value) in &record.previous {
        put_path(tx, path, value)?;
    }
    let mut undone = record.clone();
    undone.undone = true;
    let absorbed = json::map_at(tx, &ROOT, ABSORBED)?;
    json::put(tx, &absorbed, &record.absorbed.to_string(), &undone)?;
    mark_distinct(tx, &record.absorbed, by, date)
}

/// Undoes a merge in the absorbed file: it is a file of its own again.
pub fn undo_in_absorbed<T: Transactable + ReadDoc>(
    tx: &mut T,
    survivor: &DocId,
    by: &str,
    date: NaiveDate,
) -> Result<()> {
    json::write(tx, &ROOT, MERGED_INTO, &Json::Null)?;
    mark_distinct(tx, survivor, by, date)
}

/// Records in a file that `other` is someone else (a likely duplicate a
/// person reviewed).
pub fn mark_distinct<T: Transactable + ReadDoc>(tx: &mut T, other: &DocId, by: &str, date: NaiveDate) -> Result<()> {
    let obj = json::map_at(tx, &ROOT, DISTINCT)?;
    json::put(tx, &obj, &other.to_string(), &serde_json::json!({ "by": by, "date": date }))
}
