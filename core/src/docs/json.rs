//! The bridge between serde values and Automerge objects.
//!
//! Writes go field by field and only where the value changed, so that an
//! edit touches exactly what the user changed: concurrent edits of other
//! fields merge, and fields this version does not know are kept.

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ReadDoc, ScalarValue, Value};
use serde_json::{Map, Number, Value as Json};

use crate::error::{Error, Result};

/// Reads an Automerge object as JSON (the winning value of each key; maps
/// created concurrently at one key read as one, see [`read_key`]).
pub fn read<R: ReadDoc>(doc: &R, obj: &ObjId) -> Result<Json> {
    Ok(match doc.object_type(obj)? {
        ObjType::Map | ObjType::Table => {
            // One pass over the map (a lookup per key costs a seek each); a
            // key with concurrent values is read with all of them.
            let mut m = Map::new();
            for item in doc.map_range(obj, ..) {
                let value = if item.conflict {
                    read_key(doc, obj, &item.key)?
                } else {
                    Some(value_to_json(doc, item.value.clone().into_value(), &item.id())?)
                };
                if let Some(v) = value {
                    m.insert(item.key.into_owned(), v);
                }
            }
            Json::Object(m)
        }
        ObjType::List => {
            let mut out = Vec::new();
            for item in doc.list_range(obj, ..) {
                out.push(value_to_json(doc, item.value.clone().into_value(), &item.id())?);
            }
            Json::Array(out)
        }
        ObjType::Text => Json::String(doc.text(obj)?),
    })
}

/// Reads only `keys` of the map `obj` (the others may be large: events).
pub fn read_keys<R: ReadDoc>(doc: &R, obj: &ObjId, keys: &[&str]) -> Result<Json> {
    let mut m = Map::new();
    for key in keys {
        if let Some(v) = read_key(doc, obj, key)? {
            m.insert((*key).to_owned(), v);
        }
    }
    Ok(Json::Object(m))
}

/// Reads the value at `key` of the map `obj`. When two devices created a
/// map at the same key concurrently (an event container a document made
/// by an older version lacked), Automerge keeps both and one wins; the
/// entries of both are read, the winner's where both have a key, so that
/// no one's events are hidden.
pub fn read_key<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> Result<Option<Json>> {
    // One seek: the winner is the last of the concurrent values.
    let mut all = doc.get_all(obj, key)?;
    let Some((v, id)) = all.pop() else { return Ok(None) };
    let winner = value_to_json(doc, v, &id)?;
    let Json::Object(mut merged) = winner else { return Ok(Some(winner)) };
    for (v, other) in all {
        if !matches!(v, Value::Object(ObjType::Map)) {
            continue;
        }
        if let Json::Object(entries) = read(doc, &other)? {
            for (k, v) in entries {
                merged.entry(k).or_insert(v);
            }
        }
    }
    Ok(Some(Json::Object(merged)))
}

/// Converts one value read from a document.
pub fn value_to_json<R: ReadDoc>(doc: &R, v: Value<'_>, id: &ObjId) -> Result<Json> {
    match v {
        Value::Object(_) => read(doc, id),
        Value::Scalar(s) => Ok(scalar_to_json(&s)),
    }
}

/// Converts a scalar to JSON. Bytes and values from future Automerge
/// versions read as null; this core never writes them.
pub fn scalar_to_json(s: &ScalarValue) -> Json {
    match s {
        ScalarValue::Str(s) => Json::String(s.to_string()),
        ScalarValue::Int(i) => Json::from(*i),
        ScalarValue::Uint(u) => Json::from(*u),
        ScalarValue::F64(f) => Number::from_f64(*f).map_or(Json::Null, Json::Number),
        ScalarValue::Counter(c) => Json::from(i64::from(c)),
        ScalarValue::Timestamp(t) => Json::from(*t),
        ScalarValue::Boolean(b) => Json::Bool(*b),
        ScalarValue::Null | ScalarValue::Bytes(_) | ScalarValue::Unknown { .. } => Json::Null,
    }
}

fn json_to_scalar(v: &Json) -> Option<ScalarValue> {
    Some(match v {
        Json::Null => ScalarValue::Null,
        Json::Bool(b) => ScalarValue::Boolean(*b),
        Json::String(s) => ScalarValue::Str(s.as_str().into()),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                ScalarValue::Int(i)
            } else if let Some(u) = n.as_u64() {
                ScalarValue::Uint(u)
            } else {
                ScalarValue::F64(n.as_f64().unwrap_or(0.0))
            }
        }
        Json::Array(_) | Json::Object(_) => return None,
    })
}

/// Puts `value` at `key` of the map `obj`, recursing into maps that exist
/// and writing only scalars that differ. Keys present in the document but
/// absent from `value` are left alone (they may belong to a newer version).
pub fn write<T: Transactable + ReadDoc>(tx: &mut T, obj: &ObjId, key: &str, value: &Json) -> Result<()> {
    let current = tx.get(obj, key)?;
    match value {
        Json::Object(fields) => match current {
            Some((Value::Object(ObjType::Map), child)) => {
                for (k, v) in fields {
                    write(tx, &child, k, v)?;
                }
            }
            _ => write_new(tx, obj, key, value)?,
        },
        Json::Array(items) => {
            if let Some((Value::Object(ObjType::List), id)) = &current
                && read(tx, id)? == *value
            {
                return Ok(());
            }
            let list = tx.put_object(obj, key, ObjType::List)?;
            for (i, item) in items.iter().enumerate() {
                insert(tx, &list, i, item)?;
            }
        }
        scalar => {
            let new = json_to_scalar(scalar).ok_or_else(|| Error::Corrupt("unexpected value shape".into()))?;
            let same = matches!(&current, Some((Value::Scalar(s), _)) if scalar_to_json(s) == *scalar);
            if !same {
                tx.put(obj, key, new)?;
            }
        }
    }
    Ok(())
}

/// Puts `value` at `key` of `obj` as a new object or scalar, without
/// looking at what is there: what [`write`] does where nothing is (a map
/// just created has no keys to compare), at a fraction of the cost.
fn write_new<T: Transactable + ReadDoc>(tx: &mut T, obj: &ObjId, key: &str, value: &Json) -> Result<()> {
    match value {
        Json::Object(fields) => {
            let child = tx.put_object(obj, key, ObjType::Map)?;
            for (k, v) in fields {
                write_new(tx, &child, k, v)?;
            }
        }
        Json::Array(items) => {
            let list = tx.put_object(obj, key, ObjType::List)?;
            for (i, item) in items.iter().enumerate() {
                insert(tx, &list, i, item)?;
            }
        }
        scalar => {
            let new = json_to_scalar(scalar).ok_or_else(|| Error::Corrupt("unexpected value shape".into()))?;
            tx.put(obj, key, new)?;
        }
    }
    Ok(())
}

fn insert<T: Transactable + ReadDoc>(tx: &mut T, list: &ObjId, index: usize, value: &Json) -> Result<()> {
    match value {
        Json::Object(fields) => {
            let child = tx.insert_object(list, index, ObjType::Map)?;
            for (k, v) in fields {
                write_new(tx, &child, k, v)?;
            }
        }
        Json::Array(items) => {
            let child = tx.insert_object(list, index, ObjType::List)?;
            for (i, item) in items.iter().enumerate() {
                insert(tx, &child, i, item)?;
            }
        }
        scalar => {
            let s = json_to_scalar(scalar).ok_or_else(|| Error::Corrupt("unexpected value shape".into()))?;
            tx.insert(list, index, s)?;
        }
    }
    Ok(())
}

/// Serializes `value` and writes it at `key` (see [`write`]).
pub fn put<T: Transactable + ReadDoc, V: serde::Serialize>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    value: &V,
) -> Result<()> {
    let json = serde_json::to_value(value).map_err(|e| Error::Corrupt(e.to_string()))?;
    write(tx, obj, key, &json)
}

/// The map object at `key` of `obj`, creating it when absent.
pub fn map_at<T: Transactable + ReadDoc>(tx: &mut T, obj: &ObjId, key: &str) -> Result<ObjId> {
    match tx.get(obj, key)? {
        Some((Value::Object(ObjType::Map), id)) => Ok(id),
        _ => Ok(tx.put_object(obj, key, ObjType::Map)?),
    }
}

/// The map object at `key` of `obj`, if there is one.
pub fn find_map<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> Result<Option<ObjId>> {
    match doc.get(obj, key)? {
        Some((Value::Object(ObjType::Map), id)) => Ok(Some(id)),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::{Automerge, ROOT};
    use serde_json::json;

    #[test]
    fn maps_created_concurrently_at_one_key_read_as_one() {
        let mut a = Automerge::new();
        let mut b = a.fork();
        for (doc, id) in [(&mut a, "e1"), (&mut b, "e2")] {
            let mut tx = doc.transaction();
            let events = map_at(&mut tx, &ROOT, "events").unwrap();
            write(&mut tx, &events, id, &json!({"date": "2026-11-30"})).unwrap();
            tx.commit();
        }
        a.merge(&mut b).unwrap();
        let all = read(&a, &ROOT).unwrap();
        let keys: Vec<_> = all["events"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["e1", "e2"], "neither device's event is hidden");
        assert_eq!(read_keys(&a, &ROOT, &["events"]).unwrap(), all);
    }

    #[test]
    fn roundtrip_and_minimal_writes() {
        let mut doc = Automerge::new();
        let v = json!({"a": 1, "b": {"c": "x", "d": [1, 2.5, null, true]}, "e": null});
        let mut tx = doc.transaction();
        write(&mut tx, &ROOT, "root", &v).unwrap();
        tx.commit();
        let back = read(&doc, &find_map(&doc, &ROOT, "root").unwrap().unwrap()).unwrap();
        assert_eq!(back, v);

        // Writing the same value again makes no operation at all.
        let mut tx = doc.transaction();
        write(&mut tx, &ROOT, "root", &v).unwrap();
        assert_eq!(tx.pending_ops(), 0);
        tx.commit();

        // Unknown keys survive a write of a value that lacks them.
        let mut tx = doc.transaction();
        let root = find_map(&tx, &ROOT, "root").unwrap().unwrap();
        tx.put(&root, "from_newer_version", "kept").unwrap();
        write(&mut tx, &ROOT, "root", &json!({"a": 2})).unwrap();
        tx.commit();
        let back = read(&doc, &root).unwrap();
        assert_eq!(back["a"], 2);
        assert_eq!(back["from_newer_version"], "kept");
        assert_eq!(back["b"]["c"], "x");
    }
}
