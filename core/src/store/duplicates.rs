//! One child, one file, on the phone: the review list of likely
//! duplicates among the files this phone holds, a pair marked as two
//! people, a merge, and a merge undone (see `docs::merge`).

use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};

use super::Store;
use crate::docs::DocId;
use crate::docs::merge::{self, DifferingField, MergeRequest};
use crate::error::{Error, Result};
use crate::model::EventId;

/// Why two files look like one person's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateReason {
    /// The same IIN.
    SameIin,
    /// No shared IIN, but the same family name, given name and birth date
    /// (Kazakh and Russian spellings folded).
    SameNameAndBirth,
}

/// Two files on the review list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicatePair {
    /// The first file (the smaller id).
    pub first: DocId,
    /// The second file.
    pub second: DocId,
    /// Why they look like one person's.
    pub reason: DuplicateReason,
    /// The first file's name as shown in lists.
    pub first_name: String,
    /// The second file's name as shown in lists.
    pub second_name: String,
}

impl Store {
    /// The likely duplicates among the children's cases and
    /// representatives' files this phone holds (so, those its user may see
    /// both of): the same IIN, or the same folded names and birth date.
    /// Files merged into another and pairs marked as two people are left
    /// out.
    pub fn duplicates(&self) -> Result<Vec<DuplicatePair>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "WITH live AS (SELECT * FROM q_people WHERE doc_id NOT IN (SELECT doc_id FROM q_merged m
                       WHERE NOT EXISTS (SELECT 1 FROM q_merged b WHERE b.doc_id = m.into_id AND b.into_id = m.doc_id
                                         AND m.doc_id < m.into_id))),
                 pairs AS (
                   SELECT a.doc_id AS x, b.doc_id AS y, 1 AS same_iin FROM live a
                     JOIN live b ON b.kind = a.kind AND b.iin = a.iin AND b.doc_id > a.doc_id
                   UNION
                   SELECT a.doc_id, b.doc_id, 0 FROM live a
                     JOIN live b ON b.kind = a.kind AND b.name_key = a.name_key AND b.birth = a.birth
                                AND b.doc_id > a.doc_id AND b.iin <> a.iin)
                 SELECT x, y, max(same_iin),
                        coalesce((SELECT display_name FROM q_children WHERE doc_id = x),
                                 (SELECT display_name FROM q_representatives WHERE doc_id = x), ''),
                        coalesce((SELECT display_name FROM q_children WHERE doc_id = y),
                                 (SELECT display_name FROM q_representatives WHERE doc_id = y), '')
                 FROM pairs
                 WHERE NOT EXISTS (SELECT 1 FROM q_distinct d
                                   WHERE (d.doc_id = x AND d.other = y) OR (d.doc_id = y AND d.other = x))
                 GROUP BY x, y ORDER BY x, y",
            )?;
            let rows = st.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, bool>(2)?, r.get(3)?, r.get(4)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (x, y, same_iin, first_name, second_name) = row?;
                out.push(DuplicatePair {
                    first: DocId::parse(&x)?,
                    second: DocId::parse(&y)?,
                    reason: if same_iin { DuplicateReason::SameIin } else { DuplicateReason::SameNameAndBirth },
                    first_name,
                    second_name,
                });
            }
            Ok(out)
        })
    }

    /// The file a file's id now means: itself, or the file it was merged
    /// into (followed as far as it goes; of two files merged into each
    /// other, the smaller id).
    pub fn resolve(&self, id: &DocId) -> Result<DocId> {
        self.read(|c| {
            let mut cur = id.clone();
            let mut seen = vec![cur.clone()];
            loop {
                let next: Option<String> = c
                    .prepare_cached("SELECT into_id FROM q_merged WHERE doc_id = ?1")?
                    .query_row([cur.to_string()], |r| r.get(0))
                    .optional()?;
                let Some(next) = next.and_then(|n| DocId::parse(&n).ok()) else { return Ok(cur) };
                if seen.contains(&next) {
                    let at = seen.iter().position(|s| *s == next).unwrap_or(0);
                    return Ok(merge::survivor_of_cycle(&seen[at..]).cloned().unwrap_or(cur));
                }
                seen.push(next.clone());
                cur = next;
            }
        })
    }

    /// Says that two files on the review list are two people: the pair
    /// stays off the list, on every phone.
    pub fn mark_not_duplicate(&self, a: &DocId, b: &DocId) -> Result<()> {
        if a == b {
            return Err(Error::invalid("pair", "names one file twice"));
        }
        let (by, today) = (self.author().to_owned(), self.today());
        self.write(|w| {
            w.edit(a, |tx| merge::mark_distinct(tx, b, &by, today))?;
            w.edit(b, |tx| merge::mark_distinct(tx, a, &by, today))
        })
    }

    /// The profile fields that differ between two files, for the person
    /// merging them to choose which value to keep.
    pub fn merge_preview(&self, survivor: &DocId, absorbed: &DocId) -> Result<Vec<DifferingField>> {
        let kind = survivor.kind();
        merge::profile_key(kind)?;
        let other = self.with_doc(absorbed, |d| Ok(d.clone()))?;
        self.with_doc(survivor, |d| merge::differing_fields(kind, d, &other))
    }

    /// Merges `absorbed` into `survivor` (two children's cases, or two
    /// representatives' files): everything `absorbed` holds that
    /// `survivor` lacks is carried over under the same ids, the fields
    /// named in `take` (paths from [`Store::merge_preview`]) take the
    /// absorbed file's value, and `absorbed` then points to `survivor`.
    /// Both are written in one transaction.
    pub fn merge_files(&self, survivor: &DocId, absorbed: &DocId, take: &[String]) -> Result<()> {
        merge::profile_key(survivor.kind())?;
        if survivor.kind() != absorbed.kind() {
            return Err(Error::invalid("merge", "a child's case merges only with a case, a file with a file"));
        }
        for (id, name) in [(survivor, "survivor"), (absorbed, "absorbed file")] {
            let into = self.with_doc(id, |d| Ok(merge::merged_into(d)))?;
            if let Some(into) = into {
                return Err(Error::Rule(format!("the {name} was already merged into {into}")));
            }
        }
        let (by, today) = (self.author().to_owned(), self.today());
        self.write(|w| {
            let other = w.doc(absorbed)?.ok_or_else(|| Error::not_found("file", absorbed.to_string()))?.clone();
            let req = MergeRequest { id: EventId::new(), survivor, absorbed, take, date: today, by: &by };
            w.edit(survivor, |tx| merge::absorb(tx, &other, &req))?;
            w.edit(absorbed, |tx| merge::tombstone(tx, survivor))
        })
    }

    /// Undoes the merge of `absorbed` into `survivor` (two people's files
    /// merged by mistake): what was carried over leaves the survivor, the
    /// values it replaced come back, `absorbed` is a file of its own again,
    /// and the pair is marked as two people.
    pub fn undo_merge(&self, survivor: &DocId, absorbed: &DocId) -> Result<()> {
        let (by, today) = (self.author().to_owned(), self.today());
        self.write(|w| {
            let doc = w.doc(survivor)?.ok_or_else(|| Error::not_found("file", survivor.to_string()))?;
            let record = merge::record_of(doc, absorbed)?
                .ok_or_else(|| Error::Rule("this file did not absorb that one (or the merge was undone)".into()))?;
            w.edit(survivor, |tx| merge::undo_in_survivor(tx, &record, &by, today))?;
            w.edit(absorbed, |tx| merge::undo_in_absorbed(tx, survivor, &by, today))
        })
    }
}
