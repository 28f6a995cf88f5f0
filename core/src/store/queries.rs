//! The list screens, read from the query tables, and whole-document reads.

use chrono::NaiveDate;
use rusqlite::{Row, params_from_iter};
use serde::{Deserialize, Serialize};

use super::Store;
use crate::docs::{self, CaseDoc, Conflict, DocId, MeetingLogDoc, MenteeDoc, MentorDoc, RepresentativeDoc};
use crate::error::{Error, Result};
use crate::model::*;

/// A line of the caseload screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseSummary {
    /// The child.
    pub child_id: ChildId,
    /// Name as "Family Given Patronymic".
    pub display_name: String,
    /// The IIN masked for the screen.
    pub iin_masked: String,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// District (КАТО).
    pub district: String,
    /// The current form of placement today (guardianship reads as
    /// trusteeship from the 14th birthday), if placed.
    pub placement_form: Option<PlacementForm>,
    /// Whether the case holds an urgent item.
    pub urgent: bool,
    /// Whether the case is an adoption record.
    pub adoption: bool,
    /// The last home visit.
    pub last_visit: Option<NaiveDate>,
}

/// A representative whose annual check is due or overdue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DueCheck {
    /// The representative.
    pub representative_id: RepresentativeId,
    /// Name.
    pub display_name: String,
    /// The last completed check.
    pub last_check: Option<NaiveDate>,
    /// The due date.
    pub due_date: NaiveDate,
    /// Due or overdue.
    pub state: ScheduleState,
}

/// What makes an item urgent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UrgentReason {
    /// A risk factor is raised on a representative.
    Risk(RiskFactor),
    /// Removal from duties is recommended.
    RemovalRecommended,
    /// The latest home visit saw signs of neglect or violence.
    NeglectSigns,
    /// The child's current representative carries a risk factor or a
    /// removal recommendation.
    RepresentativeAtRisk,
    /// The child's current representative was removed from duties while the
    /// placement is still open: the placement is to be ended and the child
    /// placed anew.
    PlacementToEnd,
    /// The child's placement ended and the child is not yet placed anew.
    ChildToPlace,
}

/// An urgent item, first on the phone's screen and first to sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UrgentItem {
    /// The document holding it.
    pub doc_id: DocId,
    /// Why it is urgent.
    pub reason: UrgentReason,
    /// Since when.
    pub since: Option<NaiveDate>,
    /// The person's name, for the screen.
    pub display_name: String,
}

/// A search result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// The document found (a case, a representative's file or a mentee).
    pub doc_id: DocId,
    /// Name.
    pub display_name: String,
    /// The IIN masked, where the document has one.
    pub iin_masked: Option<String>,
}

/// A mentee on a mentor's list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MenteeSummary {
    /// The mentorship.
    pub mentorship_id: MentorshipId,
    /// The child.
    pub child_id: ChildId,
    /// Name.
    pub display_name: String,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// Start of the mentorship.
    pub start_date: NaiveDate,
    /// End, when ended.
    pub end_date: Option<NaiveDate>,
}

fn date(s: &str) -> Result<NaiveDate> {
    s.parse().map_err(|_| Error::Corrupt("a stored date is not a date".into()))
}

fn opt_date(s: Option<String>) -> Result<Option<NaiveDate>> {
    s.as_deref().map(date).transpose()
}

fn masked(iin: &str) -> String {
    Iin::parse(iin).map(|i| i.masked()).unwrap_or_default()
}

/// The highest string that starts with `prefix`, for range scans.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// The columns of a case summary ([`CaseRow`]) over `q_children ch`. A
/// child is urgent through its current representative too: one at risk, or
/// removed while the placement is open.
const CASE_COLS: &str = "ch.doc_id, ch.display_name, ch.iin, ch.birth_date, ch.district, ch.placement_form,
     ch.urgent OR EXISTS (SELECT 1 FROM q_representatives r
                          WHERE r.doc_id = 'rep:' || ch.representative_id AND (r.urgent = 1 OR r.status = 'removed')),
     ch.tier, ch.last_visit";

impl Store {
    /// The caseload: every child on this phone, in Kazakh alphabetical order.
    pub fn caseload(&self) -> Result<Vec<CaseSummary>> {
        let today = self.today();
        self.read(|c| {
            let mut st = c.prepare_cached(&format!("SELECT {CASE_COLS} FROM q_children ch ORDER BY ch.sort_key"))?;
            let rows = st.query_map([], CaseRow::from_row)?;
            rows.map(|r| r?.into_summary(today)).collect::<Result<Vec<_>>>()
        })
    }

    /// The children in a representative's care now (their current
    /// placement is with this representative, or with a file merged into
    /// theirs), alphabetically.
    pub fn children_in_care(&self, representative: &RepresentativeId) -> Result<Vec<CaseSummary>> {
        let today = self.today();
        self.read(|c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {CASE_COLS} FROM q_children ch
                 WHERE ch.representative_id = ?1
                    OR ch.representative_id IN (SELECT substr(doc_id, 5) FROM q_merged WHERE into_id = 'rep:' || ?1)
                 ORDER BY ch.sort_key"
            ))?;
            let rows = st.query_map([representative.as_str()], CaseRow::from_row)?;
            rows.map(|r| r?.into_summary(today)).collect::<Result<Vec<_>>>()
        })
    }

    /// Representatives whose annual check is due (within 30 days) or
    /// overdue as of `as_of`, most overdue first. Removed representatives
    /// are left out.
    pub fn checks_due(&self, as_of: NaiveDate) -> Result<Vec<DueCheck>> {
        let horizon = as_of + chrono::Duration::days(DUE_WINDOW_DAYS);
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT doc_id, display_name, since, last_check FROM q_representatives
                 WHERE due_date <= ?1 AND status != 'removed' ORDER BY due_date, sort_key",
            )?;
            let rows = st.query_map([horizon.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })?;
            rows.map(|row| {
                let (doc, name, since, last) = row?;
                let last_check = opt_date(last)?;
                let s = schedule(date(&since)?, last_check, as_of);
                Ok(DueCheck {
                    representative_id: RepresentativeId::parse(DocId::parse(&doc)?.key())?,
                    display_name: name,
                    last_check,
                    due_date: s.due_date,
                    state: s.state,
                })
            })
            .collect()
        })
    }

    /// Only the overdue checks as of `as_of`.
    pub fn checks_overdue(&self, as_of: NaiveDate) -> Result<Vec<DueCheck>> {
        Ok(self.checks_due(as_of)?.into_iter().filter(|d| d.state == ScheduleState::Overdue).collect())
    }

    /// Every urgent item, oldest first.
    pub fn urgent_items(&self) -> Result<Vec<UrgentItem>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT doc_id, item, since, name FROM (
                   SELECT u.doc_id, u.item, u.since, coalesce(ch.display_name, r.display_name, '') AS name
                   FROM q_urgent u
                   LEFT JOIN q_children ch ON ch.doc_id = u.doc_id
                   LEFT JOIN q_representatives r ON r.doc_id = u.doc_id
                   UNION ALL
                   -- Children whose current representative is at risk or removed.
                   SELECT ch.doc_id,
                          CASE WHEN r.status = 'removed' THEN 'placement_to_end' ELSE 'representative_at_risk' END,
                          coalesce(r.removed_on, (SELECT min(u.since) FROM q_urgent u WHERE u.doc_id = r.doc_id)),
                          ch.display_name
                   FROM q_children ch JOIN q_representatives r ON r.doc_id = 'rep:' || ch.representative_id
                   WHERE r.urgent = 1 OR r.status = 'removed'
                 ) ORDER BY since, doc_id, item",
            )?;
            let rows = st.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?;
            rows.map(|row| {
                let (doc, item, since, name) = row?;
                let reason = match item.as_str() {
                    "removal_recommended" => UrgentReason::RemovalRecommended,
                    "neglect_signs" => UrgentReason::NeglectSigns,
                    "representative_at_risk" => UrgentReason::RepresentativeAtRisk,
                    "placement_to_end" => UrgentReason::PlacementToEnd,
                    "child_to_place" => UrgentReason::ChildToPlace,
                    code => UrgentReason::Risk(code.parse()?),
                };
                Ok(UrgentItem { doc_id: DocId::parse(&doc)?, reason, since: opt_date(since)?, display_name: name })
            })
            .collect()
        })
    }

    /// Searches children, representatives and mentees by IIN (all digits:
    /// the IIN or its beginning) or by name (each word a prefix of a name
    /// part; Kazakh and Russian letters fold together, case ignored).
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>> {
        let q = query.trim();
        if q.is_empty() {
            return Ok(Vec::new());
        }
        let limit = limit.clamp(1, 500) as i64;
        self.read(|c| {
            if q.chars().all(|ch| ch.is_ascii_digit()) {
                let (lo, hi) = (q.to_owned(), prefix_end(q));
                let mut st = c.prepare_cached(
                    "SELECT doc_id, display_name, iin FROM q_children WHERE iin >= ?1 AND iin < ?2
                     UNION ALL SELECT doc_id, display_name, iin FROM q_representatives WHERE iin >= ?1 AND iin < ?2
                     LIMIT ?3",
                )?;
                let rows = st.query_map(rusqlite::params![lo, hi, limit], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
                })?;
                return rows
                    .map(|row| {
                        let (doc, name, iin) = row?;
                        Ok(SearchHit {
                            doc_id: DocId::parse(&doc)?,
                            display_name: name,
                            iin_masked: Some(masked(&iin)),
                        })
                    })
                    .collect();
            }
            // Each word matches a name part's beginning, in Cyrillic (folded)
            // or, typed on a Latin keyboard, in the Latin search form.
            let words: Vec<&str> = q.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).take(5).collect();
            let tokens: Vec<Vec<String>> = words
                .iter()
                .map(|w| {
                    let mut forms: Vec<String> = text::tokens(w).take(1).collect();
                    forms.extend(text::latin_query(w));
                    forms
                })
                .filter(|f| !f.is_empty())
                .collect();
            if tokens.is_empty() {
                return Ok(Vec::new());
            }
            let matches = tokens
                .iter()
                .map(|forms| {
                    let any = vec!["(token >= ? AND token < ?)"; forms.len()].join(" OR ");
                    format!("SELECT doc_id FROM q_names WHERE {any}")
                })
                .collect::<Vec<_>>()
                .join(" INTERSECT ");
            let sql = format!(
                "WITH m(doc_id) AS ({matches})
                 SELECT m.doc_id, coalesce(ch.display_name, r.display_name, me.display_name, ''),
                        coalesce(ch.iin, r.iin), coalesce(ch.sort_key, r.sort_key, me.sort_key, '') AS k
                 FROM m
                 LEFT JOIN q_children ch ON ch.doc_id = m.doc_id
                 LEFT JOIN q_representatives r ON r.doc_id = m.doc_id
                 LEFT JOIN q_mentees me ON me.doc_id = m.doc_id
                 ORDER BY k LIMIT ?"
            );
            let mut args: Vec<rusqlite::types::Value> = Vec::new();
            for t in tokens.iter().flatten() {
                args.push(t.clone().into());
                args.push(prefix_end(t).into());
            }
            args.push(limit.into());
            let mut st = c.prepare(&sql)?;
            let rows = st.query_map(params_from_iter(args), |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?))
            })?;
            rows.map(|row| {
                let (doc, name, iin) = row?;
                Ok(SearchHit {
                    doc_id: DocId::parse(&doc)?,
                    display_name: name,
                    iin_masked: iin.as_deref().map(masked),
                })
            })
            .collect()
        })
    }

    /// A mentor's mentees, alphabetically.
    pub fn mentees(&self, mentor: &MentorId) -> Result<Vec<MenteeSummary>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT doc_id, child_id, display_name, birth_date, start_date, end_date FROM q_mentees
                 WHERE mentor_id = ?1 ORDER BY sort_key",
            )?;
            let rows = st.query_map([mentor.as_str()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })?;
            rows.map(|row| {
                let (doc, child, name, birth, start, end) = row?;
                Ok(MenteeSummary {
                    mentorship_id: MentorshipId::parse(DocId::parse(&doc)?.key())?,
                    child_id: ChildId::parse(&child)?,
                    display_name: name,
                    birth_date: date(&birth)?,
                    start_date: date(&start)?,
                    end_date: opt_date(end)?,
                })
            })
            .collect()
        })
    }

    /// The review list: every open conflict.
    pub fn conflicts(&self) -> Result<Vec<Conflict>> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT body FROM q_conflicts ORDER BY doc_id, path")?;
            let rows = st.query_map([], |r| r.get::<_, String>(0))?;
            rows.map(|b| serde_json::from_str(&b?).map_err(|e| Error::Corrupt(e.to_string()))).collect()
        })
    }

    /// A child's whole case.
    ///
    /// Opening a file is recorded (who, which file, when) and reaches the
    /// server's audit at the next sync.
    /// A child's case merged into another reads as that one.
    pub fn child_file(&self, id: &ChildId) -> Result<CaseDoc> {
        let doc_id = self.resolve(&DocId::case(id))?;
        let file = self.with_doc(&doc_id, docs::read_view)?;
        self.record_read(&doc_id)?;
        Ok(file)
    }

    /// A representative's whole file.
    /// Opening a file is recorded and reaches the server's audit at the
    /// next sync.
    /// A file merged into another reads as that one.
    pub fn representative_file(&self, id: &RepresentativeId) -> Result<RepresentativeDoc> {
        let doc_id = self.resolve(&DocId::representative(id))?;
        let file = self.with_doc(&doc_id, docs::read_view)?;
        self.record_read(&doc_id)?;
        Ok(file)
    }

    /// Records that this phone's user opened a file, for the server's audit.
    fn record_read(&self, id: &DocId) -> Result<()> {
        self.write(|w| {
            w.tx.prepare_cached("INSERT INTO read_log(read_id, doc_id, at) VALUES (?1, ?2, ?3)")?.execute(
                rusqlite::params![
                    hex::encode(rand::random::<[u8; 16]>()),
                    id.to_string(),
                    chrono::Utc::now().timestamp_millis()
                ],
            )?;
            Ok(())
        })
    }

    /// A mentor's profile and certificates.
    pub fn mentor_file(&self, id: &MentorId) -> Result<MentorDoc> {
        self.with_doc(&DocId::mentor(id), docs::read_view)
    }

    /// A mentor's view of one mentee.
    pub fn mentee(&self, id: &MentorshipId) -> Result<MenteeDoc> {
        self.with_doc(&DocId::mentee(id), docs::read_view)
    }

    /// A mentor's meeting log.
    pub fn meeting_log(&self, id: &MentorId) -> Result<MeetingLogDoc> {
        self.with_doc(&DocId::meeting_log(id), docs::read_view)
    }
}

struct CaseRow {
    doc: String,
    name: String,
    iin: String,
    birth: String,
    district: String,
    form: Option<String>,
    urgent: bool,
    tier: String,
    last_visit: Option<String>,
}

impl CaseRow {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(CaseRow {
            doc: r.get(0)?,
            name: r.get(1)?,
            iin: r.get(2)?,
            birth: r.get(3)?,
            district: r.get(4)?,
            form: r.get(5)?,
            urgent: r.get(6)?,
            tier: r.get(7)?,
            last_visit: r.get(8)?,
        })
    }

    fn into_summary(self, today: NaiveDate) -> Result<CaseSummary> {
        let birth_date = date(&self.birth)?;
        let form = self.form.as_deref().map(str::parse::<PlacementForm>).transpose()?;
        let form = form.map(|f| f.in_force(birth_date, today));
        Ok(CaseSummary {
            child_id: ChildId::parse(DocId::parse(&self.doc)?.key())?,
            display_name: self.name,
            iin_masked: masked(&self.iin),
            birth_date,
            district: self.district,
            placement_form: form,
            urgent: self.urgent,
            adoption: self.tier == "adoption",
            last_visit: opt_date(self.last_visit)?,
        })
    }
}
