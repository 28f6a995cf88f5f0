//! Conflicts: concurrent edits of legally significant fields, and merges
//! that break an invariant. They are surfaced for a person, never dropped.

use automerge::transaction::Transactable;
use automerge::{ObjId, ROOT, ReadDoc};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::{DocId, DocKind, author_of, json};
use crate::error::{Error, Result};

/// What kind of conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    /// Two or more people set the same field concurrently to different values.
    SameField,
    /// A merge left a child with more than one open placement.
    TwoActivePlacements,
}

/// One of the competing values and who wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConflictValue {
    /// The value (for placements, the placement id).
    pub value: Json,
    /// The user recorded for the writing device, if known.
    pub author: Option<String>,
    /// The Automerge actor (device installation) that wrote it, in hex.
    pub actor: String,
}

/// A conflict awaiting a person's decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    /// The document.
    pub doc_id: DocId,
    /// The kind.
    pub kind: ConflictKind,
    /// The field path (`placements/<id>/form`, `status`, `risk/flags/<code>`),
    /// or `placements` for two open placements.
    pub path: String,
    /// Every competing value.
    pub values: Vec<ConflictValue>,
}

fn actor_hex(id: &ObjId) -> String {
    match id {
        ObjId::Id(_, actor, _) => actor.to_hex_string(),
        ObjId::Root => String::new(),
    }
}

/// Same-field conflicts on `key` of `obj`: only when the concurrent values
/// differ (two people setting the same value agree).
fn field_conflict<R: ReadDoc>(
    doc: &R,
    doc_id: &DocId,
    obj: &ObjId,
    key: &str,
    path: String,
) -> Result<Option<Conflict>> {
    let all = doc.get_all(obj, key)?;
    if all.len() < 2 {
        return Ok(None);
    }
    let mut values = Vec::with_capacity(all.len());
    for (v, id) in all {
        let actor = actor_hex(&id);
        values.push(ConflictValue { value: json::value_to_json(doc, v, &id)?, author: author_of(doc, &actor), actor });
    }
    let first = &values[0].value;
    if values.iter().all(|v| &v.value == first) {
        return Ok(None);
    }
    Ok(Some(Conflict { doc_id: doc_id.clone(), kind: ConflictKind::SameField, path, values }))
}

fn fields_of<R: ReadDoc>(doc: &R, doc_id: &DocId, obj: &ObjId, prefix: &str, out: &mut Vec<Conflict>) -> Result<()> {
    // One pass over the map: only keys with concurrent values are looked at.
    let conflicted: Vec<String> = doc.map_range(obj, ..).filter(|i| i.conflict).map(|i| i.key.into_owned()).collect();
    for key in conflicted {
        if let Some(c) = field_conflict(doc, doc_id, obj, &key, format!("{prefix}/{key}"))? {
            out.push(c);
        }
    }
    Ok(())
}

/// Every open conflict in a document.
pub fn find<R: ReadDoc>(doc: &R, doc_id: &DocId) -> Result<Vec<Conflict>> {
    let mut out = Vec::new();
    match doc_id.kind() {
        DocKind::Case => {
            if let Some(placements) = json::find_map(doc, &ROOT, "placements")? {
                let maps: Vec<(String, ObjId)> = doc
                    .map_range(&placements, ..)
                    .filter(|i| matches!(i.value, automerge::ValueRef::Object(automerge::ObjType::Map)))
                    .map(|i| {
                        let id = i.id();
                        (i.key.into_owned(), id)
                    })
                    .collect();
                for (pid, p) in maps {
                    fields_of(doc, doc_id, &p, &format!("placements/{pid}"), &mut out)?;
                }
                let case = super::CaseHead::read(doc)?;
                let open = case.open_placements();
                if open.len() > 1 {
                    let mut values = Vec::new();
                    for p in open {
                        let actor = match doc.get(&placements, p.id.as_str())? {
                            Some((_, id)) => actor_hex(&id),
                            None => String::new(),
                        };
                        values.push(ConflictValue {
                            value: Json::String(p.id.to_string()),
                            author: author_of(doc, &actor),
                            actor,
                        });
                    }
                    out.push(Conflict {
                        doc_id: doc_id.clone(),
                        kind: ConflictKind::TwoActivePlacements,
                        path: "placements".into(),
                        values,
                    });
                }
            }
        }
        DocKind::Representative => {
            if let Some(c) = field_conflict(doc, doc_id, &ROOT, "status", "status".into())? {
                out.push(c);
            }
            if let Some(risk) = json::find_map(doc, &ROOT, "risk")? {
                if let Some(c) =
                    field_conflict(doc, doc_id, &risk, "removal_recommended", "risk/removal_recommended".into())?
                {
                    out.push(c);
                }
                if let Some(flags) = json::find_map(doc, &risk, "flags")? {
                    fields_of(doc, doc_id, &flags, "risk/flags", &mut out)?;
                }
            }
        }
        DocKind::Mentor | DocKind::Mentee | DocKind::MeetingLog => {}
    }
    Ok(out)
}

/// Resolves a same-field conflict by writing the chosen value, which
/// supersedes every concurrent one. The path must name a field that is in
/// conflict now.
pub fn resolve_field<T: Transactable + ReadDoc>(tx: &mut T, doc_id: &DocId, path: &str, chosen: &Json) -> Result<()> {
    let open = find(tx, doc_id)?;
    let conflict = open
        .iter()
        .find(|c| c.kind == ConflictKind::SameField && c.path == path)
        .ok_or_else(|| Error::invalid("conflict.path", "no open conflict at this path"))?;
    if !conflict.values.iter().any(|v| &v.value == chosen) {
        return Err(Error::invalid("conflict.value", "is not one of the competing values"));
    }
    let steps: Vec<&str> = path.split('/').collect();
    let (key, parents) = steps.split_last().ok_or_else(|| Error::invalid("conflict.path", "is empty"))?;
    let obj = super::object_at(tx, parents)?.ok_or_else(|| Error::invalid("conflict.path", "does not exist"))?;
    // The put's predecessors are all concurrent values: it supersedes them all.
    let scalar = match chosen {
        Json::String(s) => automerge::ScalarValue::Str(s.as_str().into()),
        Json::Bool(b) => automerge::ScalarValue::Boolean(*b),
        Json::Null => automerge::ScalarValue::Null,
        Json::Number(n) => match n.as_i64() {
            Some(i) => automerge::ScalarValue::Int(i),
            None => automerge::ScalarValue::F64(n.as_f64().unwrap_or(0.0)),
        },
        _ => return Err(Error::invalid("conflict.value", "must be a plain value")),
    };
    tx.put(&obj, *key, scalar)?;
    Ok(())
}
