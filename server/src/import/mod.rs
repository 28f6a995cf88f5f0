//! Bringing a region's existing register in: children, representatives,
//! placements, last annual checks, mentors and certificates, from
//! workbooks or CSV files in the layout of [`layout`].
//!
//! An import is a dry run unless confirmed: every row is read, checked and
//! applied to the documents it concerns exactly as a confirmed run would,
//! and the report says per row what would happen; only a confirmed run
//! stores the documents. Rows are matched to stored files by IIN, so
//! importing the same or a corrected file again changes only what changed
//! and creates nothing twice. The server writes under an actor of its own,
//! named `import: <who>` in each document's `authors`; a profile field a
//! phone has changed since is kept (the report names it), while a field
//! an import wrote is corrected by the next one. Documents are stored in
//! batches, each committed whole with its audit lines: an import killed
//! midway is completed by running it again.

pub mod layout;
pub mod read;
pub mod report;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

use automerge::transaction::{CommitOptions, Transactable, Transaction};
use automerge::{ActorId, Automerge, ObjType, ROOT, ReadDoc};
use chrono::NaiveDate;
use qamqor_core::docs::{self, AccessTier, CaseHead, DocId, DocKind, Identity, RepresentativeDoc, json};
use qamqor_core::model::*;
use serde_json::Value as Json;

use crate::error::Result;
use crate::model::AuditEntry;
use crate::storage::Storage;
use layout::Sheet;
use read::{CellError, Row, Table};

/// Documents stored per transaction in a confirmed run.
pub const BATCH: usize = 500;

/// How an import runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The server's region: every district must be in it.
    pub region: Region,
    /// Dates after this are refused.
    pub today: NaiveDate,
    /// Store the documents (else a dry run).
    pub confirm: bool,
    /// Who imports, as the audit and the documents' `authors` name them.
    pub by: String,
}

/// What became of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Accepted as it is.
    Accepted,
    /// Accepted; something deserves a look (see the reason).
    Warning,
    /// Not imported (see the column and reason).
    Refused,
}

/// What a row did to the stored documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// A new record.
    Created,
    /// A stored record changed.
    Updated,
    /// The record was already stored as the row says.
    Unchanged,
    /// Nothing (a refused row).
    Nothing,
}

/// One row's line of the report. It names the row and the column, never
/// a cell's content: the report holds no personal data.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RowReport {
    /// The file (and worksheet) of the row.
    pub source: String,
    /// The sheet's key.
    pub sheet: &'static str,
    /// The row's number in its file (the header is row 1).
    pub row: usize,
    /// What became of it.
    pub status: Status,
    /// What it did.
    pub change: Change,
    /// The column concerned, if any.
    pub column: Option<String>,
    /// Why it was refused or warned of.
    pub reason: Option<String>,
    /// The document it went to (ids carry no personal data).
    pub document: Option<String>,
}

/// The outcome of an import.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    /// Per row, in file order.
    pub rows: Vec<RowReport>,
    /// Notes on files and sheets as a whole (columns not understood).
    pub notes: Vec<String>,
    /// Whether the documents were stored (a confirmed run).
    pub confirmed: bool,
    /// Documents created or changed (stored, or that would be).
    pub documents: usize,
}

impl Report {
    /// Rows with `status`.
    pub fn count(&self, status: Status) -> usize {
        self.rows.iter().filter(|r| r.status == status).count()
    }

    /// Rows that made `change`.
    pub fn changes(&self, change: Change) -> usize {
        self.rows.iter().filter(|r| r.change == change).count()
    }
}

/// Told of progress: rows done of the total.
pub trait Progress {
    /// `done` rows of `total` are through.
    fn rows(&mut self, done: usize, total: usize);
}

impl<F: FnMut(usize, usize)> Progress for F {
    fn rows(&mut self, done: usize, total: usize) {
        self(done, total)
    }
}

/// Reads `files` and imports them (a dry run unless `opts.confirm`).
pub fn run(storage: &dyn Storage, files: &[PathBuf], opts: &Options, progress: &mut dyn Progress) -> Result<Report> {
    let mut tables = Vec::new();
    let mut report = Report { confirmed: opts.confirm, ..Report::default() };
    for f in files {
        let (t, notes) = read::read_file(f)?;
        report.notes.extend(notes);
        tables.extend(t);
    }
    for t in &tables {
        report.notes.extend(t.notes.iter().map(|n| format!("{}: {n}", t.source)));
    }
    let mut import = Import::new(storage, opts, &mut report, progress, tables.iter().map(|t| t.rows.len()).sum())?;
    for sheet in Sheet::ALL {
        for t in tables.iter().filter(|t| t.sheet == sheet) {
            import.sheet(t)?;
        }
    }
    import.finish()?;
    report.rows.sort_by(|a, b| a.source.cmp(&b.source).then(a.row.cmp(&b.row)));
    Ok(report)
}

/// A row parsed, waiting for its document to be written.
struct Pending<T> {
    at: usize,
    value: T,
}

/// A representative's state that decides whether a child may be placed
/// with them.
#[derive(Clone, Copy)]
struct RepState {
    active: bool,
    at_risk: bool,
}

struct Import<'a> {
    storage: &'a dyn Storage,
    opts: &'a Options,
    report: &'a mut Report,
    progress: &'a mut dyn Progress,
    total: usize,
    done: usize,
    w: Writer<'a>,
    /// Stored identities per kind: IIN → document, and (name key, birth) → document.
    by_iin: HashMap<(DocKind, String), DocId>,
    by_name: HashMap<(DocKind, String, NaiveDate), DocId>,
    /// Identities met in this import: IIN → (its document, the row that gave it).
    seen: HashMap<(DocKind, String), (DocId, usize)>,
    /// Children placed with each representative in this import.
    relations: BTreeMap<RepresentativeId, BTreeMap<ChildId, Option<KinRelation>>>,
    batch: Vec<(DocId, Vec<u8>)>,
    audit: Vec<AuditEntry>,
    /// Profiles to write, by document.
    cases: BTreeMap<DocId, Work<Child, Placement>>,
    rep_work: BTreeMap<DocId, Work<(Representative, Option<RepresentativeStatus>), AnnualCheck>>,
    mentor_work: BTreeMap<DocId, Work<Mentor, MentorCertificate>>,
    /// Work waiting for a document (rows that add to it: placements, checks,
    /// certificates), by document.
    placements: BTreeMap<ChildId, Vec<Pending<Placement>>>,
    checks: BTreeMap<RepresentativeId, Vec<Pending<AnnualCheck>>>,
    certificates: BTreeMap<MentorId, Vec<Pending<MentorCertificate>>>,
}

impl<'a> Import<'a> {
    fn new(
        storage: &'a dyn Storage,
        opts: &'a Options,
        report: &'a mut Report,
        progress: &'a mut dyn Progress,
        total: usize,
    ) -> Result<Self> {
        let mut by_iin = HashMap::new();
        let mut by_name = HashMap::new();
        for kind in [DocKind::Case, DocKind::Representative, DocKind::Mentor] {
            for (id, p) in storage.people(kind)? {
                by_name.insert((kind, p.name_key.clone(), p.birth), id.clone());
                by_iin.insert((kind, p.iin), id);
            }
        }
        Ok(Import {
            storage,
            opts,
            report,
            progress,
            total,
            done: 0,
            w: Writer {
                storage,
                opts,
                actor: ActorId::random(),
                author: format!("import: {}", opts.by),
                reps: HashMap::new(),
            },
            by_iin,
            by_name,
            seen: HashMap::new(),
            relations: BTreeMap::new(),
            batch: Vec::new(),
            audit: Vec::new(),
            cases: BTreeMap::new(),
            rep_work: BTreeMap::new(),
            mentor_work: BTreeMap::new(),
            placements: BTreeMap::new(),
            checks: BTreeMap::new(),
            certificates: BTreeMap::new(),
        })
    }

    fn row(
        &mut self,
        t: &Table,
        row: &Row,
        status: Status,
        change: Change,
        err: Option<CellError>,
        doc: Option<&DocId>,
    ) {
        let (column, reason) = match err {
            Some(e) => (Some(e.column).filter(|c| !c.is_empty()), Some(e.reason)),
            None => (None, None),
        };
        self.report.rows.push(RowReport {
            source: t.source.clone(),
            sheet: t.sheet.key(),
            row: row.number,
            status,
            change,
            column,
            reason,
            document: doc.map(DocId::to_string),
        });
    }

    /// Refuses a row as read (its outcome is final: it counts as done).
    fn refuse(&mut self, t: &Table, row: &Row, e: CellError, doc: Option<&DocId>) {
        self.row(t, row, Status::Refused, Change::Nothing, Some(e), doc);
        self.tick();
    }

    fn tick(&mut self) {
        self.done += 1;
        if self.done.is_multiple_of(200) || self.done == self.total {
            self.progress.rows(self.done, self.total);
        }
    }

    fn sheet(&mut self, t: &Table) -> Result<()> {
        if t.notes.iter().any(|n| n.starts_with("required column")) {
            for row in &t.rows {
                let e = CellError::new("", "the sheet lacks a required column (see the notes)");
                self.refuse(t, row, e, None);
            }
            return Ok(());
        }
        match t.sheet {
            Sheet::Representatives => self.people(t, DocKind::Representative)?,
            Sheet::Children => self.people(t, DocKind::Case)?,
            Sheet::Mentors => self.people(t, DocKind::Mentor)?,
            Sheet::Placements => {
                for row in &t.rows {
                    match self.placement(row) {
                        Ok((child, p)) => {
                            let at = self.pending_row(t, row);
                            self.placements.entry(child).or_default().push(Pending { at, value: p });
                        }
                        Err(e) => self.refuse(t, row, e, None),
                    }
                }
            }
            Sheet::Checks => {
                for row in &t.rows {
                    match self.check(row) {
                        Ok(c) => {
                            let at = self.pending_row(t, row);
                            self.checks.entry(c.representative_id.clone()).or_default().push(Pending { at, value: c });
                        }
                        Err(e) => self.refuse(t, row, e, None),
                    }
                }
            }
            Sheet::Certificates => {
                for row in &t.rows {
                    match self.certificate(row) {
                        Ok((m, c)) => {
                            let at = self.pending_row(t, row);
                            self.certificates.entry(m).or_default().push(Pending { at, value: c });
                        }
                        Err(e) => self.refuse(t, row, e, None),
                    }
                }
            }
        }
        Ok(())
    }

    /// Reports a row as accepted for now; its outcome is set when its
    /// document is written. Returns its index in the report.
    fn pending_row(&mut self, t: &Table, row: &Row) -> usize {
        self.row(t, row, Status::Accepted, Change::Unchanged, None, None);
        self.report.rows.len() - 1
    }

    fn set(&mut self, at: usize, status: Status, change: Change, err: Option<CellError>, doc: &DocId) {
        let r = &mut self.report.rows[at];
        match (r.status, status, err) {
            // A warning already given stays, and a second one joins it.
            (Status::Warning, Status::Warning, Some(e)) => {
                let join = |a: Option<String>, b: String| match a {
                    Some(a) if !a.is_empty() => format!("{a}; {b}"),
                    _ => b,
                };
                r.column = Some(join(r.column.take(), e.column)).filter(|c| !c.is_empty());
                r.reason = Some(join(r.reason.take(), e.reason));
            }
            (Status::Warning, Status::Accepted, _) => {}
            (_, status, err) => {
                r.status = status;
                if let Some(e) = err {
                    r.column = Some(e.column).filter(|c| !c.is_empty());
                    r.reason = Some(e.reason);
                }
            }
        }
        r.change = if status == Status::Refused { Change::Nothing } else { change };
        r.document = (status != Status::Refused).then(|| doc.to_string());
    }

    /// The rows of a sheet of people (children, representatives, mentors):
    /// each is matched by IIN and its document written.
    fn people(&mut self, t: &Table, kind: DocKind) -> Result<()> {
        for row in &t.rows {
            let parsed = match kind {
                DocKind::Case => self.child(row).map(|(c, w)| (Person::Child(c), w)),
                DocKind::Representative => self.representative(row),
                _ => self.mentor(row).map(|(m, w)| (Person::Mentor(m), w)),
            };
            match parsed {
                Ok((person, warnings)) => self.person(t, row, kind, person, warnings)?,
                Err(e) => self.refuse(t, row, e, None),
            }
        }
        Ok(())
    }

    fn person(
        &mut self,
        t: &Table,
        row: &Row,
        kind: DocKind,
        mut person: Person,
        warnings: Vec<CellError>,
    ) -> Result<()> {
        let ident = person.identity();
        if let Some((doc, first)) = self.seen.get(&(kind, ident.iin.clone())) {
            let e = CellError::new(
                "iin",
                format!("the same IIN is on row {first} of this sheet; only that row is imported"),
            );
            let doc = doc.clone();
            self.refuse(t, row, e, Some(&doc));
            return Ok(());
        }
        let stored = self.by_iin.get(&(kind, ident.iin.clone())).cloned();
        if stored.is_none()
            && let Some(other) = self.by_name.get(&(kind, ident.name_key.clone(), ident.birth))
        {
            let e = CellError::new(
                "iin",
                format!(
                    "{other} has the same name and birth date under another IIN: check the IIN (a second file for \
                     one person is not made)"
                ),
            );
            self.refuse(t, row, e, None);
            return Ok(());
        }
        person.set_id(stored.as_ref());
        let doc_id = person.doc_id();
        self.seen.insert((kind, ident.iin.clone()), (doc_id.clone(), row.number));
        let at = self.pending_row(t, row);
        for w in warnings {
            self.set(at, Status::Warning, Change::Unchanged, Some(w), &doc_id);
        }
        let stored = stored.is_some();
        match person {
            Person::Rep(rep, status) => {
                self.rep_work.entry(doc_id).or_default().profile = Some(Profile { at, value: (rep, status), stored })
            }
            Person::Child(child) => {
                self.cases.entry(doc_id).or_default().profile = Some(Profile { at, value: child, stored })
            }
            Person::Mentor(m) => {
                self.mentor_work.entry(doc_id).or_default().profile = Some(Profile { at, value: m, stored })
            }
        }
        Ok(())
    }

    fn child(&self, row: &Row) -> Result<(Child, Vec<CellError>), CellError> {
        let c = Sheet::Children.columns();
        let iin = read::iin("iin", &need(row, &c[0])?)?;
        let name = name(row, Sheet::Children)?;
        let birth = read::date("birth_date", &need(row, &c[4])?)?;
        let sex = match row.text(&c[5])? {
            Some(v) => read::code::<Sex>("sex", &v)?,
            None => iin.sex(),
        };
        let status = read::code::<ChildStatus>("status", &need(row, &c[6])?)?;
        let district = read::kato("district", &need(row, &c[7])?, self.opts.region)?;
        let school = row.text(&c[8])?;
        let child = Child {
            id: ChildId::new(),
            iin,
            name,
            birth_date: birth,
            sex,
            status,
            region: self.opts.region,
            district,
            school,
        };
        let warnings = child.validate(self.opts.today).map_err(|e| core_error(Sheet::Children, e))?;
        Ok((child, warnings.iter().map(warning).collect()))
    }

    fn representative(&self, row: &Row) -> Result<(Person, Vec<CellError>), CellError> {
        let c = Sheet::Representatives.columns();
        let iin = read::iin("iin", &need(row, &c[0])?)?;
        let name = name(row, Sheet::Representatives)?;
        let birth_date = row.text(&c[4])?.map(|v| read::date("birth_date", &v)).transpose()?;
        let address = need(row, &c[5])?;
        let phone = row.text(&c[6])?;
        let district = read::kato("district", &need(row, &c[7])?, self.opts.region)?;
        let role = read::code::<RepresentativeRole>("role", &need(row, &c[8])?)?;
        let since = read::date("since", &need(row, &c[9])?)?;
        let status = row.text(&c[10])?.map(|v| read::code::<RepresentativeStatus>("status", &v)).transpose()?;
        if status == Some(RepresentativeStatus::Removed) {
            return Err(CellError::new(
                "status",
                "a removal from duties is recorded with the office's order on a phone, not imported",
            ));
        }
        let rep = Representative {
            id: RepresentativeId::new(),
            iin,
            name,
            birth_date,
            address,
            phone,
            region: self.opts.region,
            district,
            role,
            since,
        };
        let warnings = rep.validate(self.opts.today).map_err(|e| core_error(Sheet::Representatives, e))?;
        Ok((Person::Rep(rep, status), warnings.iter().map(warning).collect()))
    }

    fn mentor(&self, row: &Row) -> Result<(Mentor, Vec<CellError>), CellError> {
        let c = Sheet::Mentors.columns();
        let iin = read::iin("iin", &need(row, &c[0])?)?;
        let name = name(row, Sheet::Mentors)?;
        let m = Mentor {
            id: MentorId::new(),
            user_id: need(row, &c[4])?,
            iin,
            name,
            phone: row.text(&c[5])?,
            region: self.opts.region,
            district: read::kato("district", &need(row, &c[6])?, self.opts.region)?,
            organisation: row.text(&c[7])?,
        };
        m.validate().map_err(|e| core_error(Sheet::Mentors, e))?;
        let mut warnings = Vec::new();
        if self.storage.user(&m.user_id).ok().flatten().is_none() {
            warnings.push(CellError::new(
                "user_id",
                "no such user on this server yet: create it (qamqor-server user add … --role mentor) so the mentor's \
                 phone finds the profile",
            ));
        }
        Ok((m, warnings))
    }

    /// A child or representative named by IIN in a row: met earlier in this
    /// import, or stored.
    fn resolve(&self, kind: DocKind, column: &str, iin: &Iin) -> Result<DocId, CellError> {
        let key = (kind, iin.as_str().to_owned());
        if let Some((doc, _)) = self.seen.get(&key) {
            return Ok(doc.clone());
        }
        self.by_iin.get(&key).cloned().ok_or_else(|| {
            let what = match kind {
                DocKind::Case => "child",
                DocKind::Representative => "representative",
                _ => "mentor",
            };
            CellError::new(column, format!("no {what} with this IIN in the file's accepted rows or on the server"))
        })
    }

    fn placement(&self, row: &Row) -> Result<(ChildId, Placement), CellError> {
        let c = Sheet::Placements.columns();
        let child_doc = self.resolve(DocKind::Case, "child_iin", &read::iin("child_iin", &need(row, &c[0])?)?)?;
        let child_id = ChildId::parse(child_doc.key()).map_err(|_| CellError::new("child_iin", "unreadable"))?;
        let representative_id = match row.text(&c[1])? {
            Some(v) => {
                let doc =
                    self.resolve(DocKind::Representative, "representative_iin", &read::iin("representative_iin", &v)?)?;
                Some(
                    RepresentativeId::parse(doc.key())
                        .map_err(|_| CellError::new("representative_iin", "unreadable"))?,
                )
            }
            None => None,
        };
        let form = read::code::<PlacementForm>("form", &need(row, &c[3])?)?;
        let kin = row.text(&c[4])?.map(|v| read::code::<KinRelation>("kin", &v)).transpose()?;
        let end_date = row.text(&c[6])?.map(|v| read::date("end_date", &v)).transpose()?;
        let end_reason = row.text(&c[7])?.map(|v| read::code::<PlacementEndReason>("end_reason", &v)).transpose()?;
        if end_date.is_some() != end_reason.is_some() {
            return Err(CellError::new("end_reason", "an end date and an end reason are given together"));
        }
        let p = Placement {
            id: PlacementId::new(),
            child_id: child_id.clone(),
            representative_id,
            institution: row.text(&c[2])?,
            form,
            kin,
            kin_considered: kin.is_some(),
            start_date: read::date("start_date", &need(row, &c[5])?)?,
            end_date,
            end_reason,
        };
        if p.representative_id.is_none()
            && !matches!(p.form, PlacementForm::Institution | PlacementForm::ChildrensVillage)
        {
            return Err(CellError::new("representative_iin", "is required for this form of placement"));
        }
        if let Some(end) = p.end_date {
            if end < p.start_date {
                return Err(CellError::new("end_date", "is before the start date"));
            }
            if end > self.opts.today {
                return Err(CellError::new("end_date", "is in the future"));
            }
        }
        Ok((child_id, p))
    }

    fn check(&self, row: &Row) -> Result<AnnualCheck, CellError> {
        let c = Sheet::Checks.columns();
        let rep = self.resolve(
            DocKind::Representative,
            "representative_iin",
            &read::iin("representative_iin", &need(row, &c[0])?)?,
        )?;
        let outcome = |i: usize| -> Result<CheckOutcome, CellError> { read::code(c[i].key, &need(row, &c[i])?) };
        let listed = |i: usize, list: &str| -> Result<Vec<&'static str>, CellError> {
            Ok(match row.text(&c[i])? {
                Some(v) => read::code_list(c[i].key, list, &v)?,
                None => Vec::new(),
            })
        };
        let count = |i: usize| -> Result<u32, CellError> {
            u32::try_from(read::number(c[i].key, &need(row, &c[i])?)?)
                .map_err(|_| CellError::new(c[i].key, "is not a count"))
        };
        // A part's evidence: the certificate's number, date and issuer.
        let evidence = |i: usize| -> Result<Option<Evidence>, CellError> {
            let Some(number) = row.text(&c[i])? else { return Ok(None) };
            Ok(Some(Evidence {
                document_number: number,
                issued_on: read::date(c[i + 1].key, &need(row, &c[i + 1])?)?,
                issuer: need(row, &c[i + 2])?,
                valid_until: None,
            }))
        };
        let utilities = listed(14, "utility")?;
        let space = listed(16, "child space")?;
        let risk_factors = listed(18, "risk factor")?.into_iter().filter_map(RiskFactor::from_code).collect::<Vec<_>>();
        let check = AnnualCheck {
            id: EventId::new(),
            representative_id: RepresentativeId::parse(rep.key())
                .map_err(|_| CellError::new("representative_iin", "unreadable"))?,
            date: read::date("date", &need(row, &c[1])?)?,
            examiner: need(row, &c[2])?,
            income: IncomePart {
                sources: vec![IncomeSource {
                    kind: read::code("income_source", &need(row, &c[4])?)?,
                    monthly_amount_kzt: read::number("monthly_income_kzt", &need(row, &c[5])?)?,
                }],
                household_members: count(3)?,
                members: Vec::new(),
                subsistence_minimum_kzt: read::number("subsistence_minimum_kzt", &need(row, &c[6])?)?,
                outcome: outcome(7)?,
                evidence: evidence(21)?,
            },
            health: CertificatePart { outcome: outcome(8)?, evidence: evidence(24)? },
            criminal_record: CertificatePart { outcome: outcome(9)?, evidence: evidence(27)? },
            housing: HousingPart {
                right: read::code("housing_right", &need(row, &c[10])?)?,
                kind: read::code("housing_type", &need(row, &c[11])?)?,
                area_m2: read::decimal("area_m2", &need(row, &c[12])?)?,
                rooms: count(13)?,
                utilities: Utilities {
                    heating: utilities.contains(&"heating"),
                    water: utilities.contains(&"water"),
                    sewerage: utilities.contains(&"sewerage"),
                    gas: utilities.contains(&"gas"),
                    electricity: utilities.contains(&"electricity"),
                },
                sanitary_ok: read::yes_no("sanitary_ok", &need(row, &c[15])?)?,
                hazards: None,
                child_space: ChildSpace {
                    bed: space.contains(&"bed"),
                    desk: space.contains(&"desk"),
                    clothes: space.contains(&"clothes"),
                    books: space.contains(&"books"),
                },
                outcome: outcome(17)?,
                evidence: None,
            },
            risk_factors,
            conclusion: read::code("conclusion", &need(row, &c[19])?)?,
            notes: row.text(&c[20])?,
            supersedes: None,
        };
        check.validate(self.opts.today).map_err(|e| core_error(Sheet::Checks, e))?;
        Ok(check)
    }

    fn certificate(&self, row: &Row) -> Result<(MentorId, MentorCertificate), CellError> {
        let c = Sheet::Certificates.columns();
        let m = self.resolve(DocKind::Mentor, "mentor_iin", &read::iin("mentor_iin", &need(row, &c[0])?)?)?;
        let cert = MentorCertificate {
            number: need(row, &c[1])?,
            issuer: need(row, &c[2])?,
            issued_on: read::date("issued_on", &need(row, &c[3])?)?,
            valid_until: read::date("valid_until", &need(row, &c[4])?)?,
        };
        cert.validate(self.opts.today).map_err(|e| core_error(Sheet::Certificates, e))?;
        Ok((MentorId::parse(m.key()).map_err(|_| CellError::new("mentor_iin", "unreadable"))?, cert))
    }

    /// Queues a changed document for storing, with its audit line.
    fn queue(&mut self, id: &DocId, saved: Vec<u8>, hashes: Vec<String>) -> Result<()> {
        self.report.documents += 1;
        self.audit.push(AuditEntry {
            at: chrono::Utc::now().timestamp_millis(),
            user_id: self.opts.by.clone(),
            device_id: "(import)".into(),
            doc_id: id.to_string(),
            action: "import".into(),
            hashes,
            address: None,
        });
        self.batch.push((id.clone(), saved));
        if self.batch.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    /// Stores the batch with its audit lines (a confirmed run).
    fn flush(&mut self) -> Result<()> {
        if self.opts.confirm && !self.batch.is_empty() {
            self.storage.put_documents(&self.batch, &self.audit)?;
        }
        self.batch.clear();
        self.audit.clear();
        Ok(())
    }

    /// Writes every document the accepted rows concern, each once: cases
    /// (profile and placements), then representatives' files (profile,
    /// status, checks, and the children placed with them), then mentors
    /// (profile, certificates, meeting log). Documents are built on every
    /// core, a batch at a time, and stored in file order of batches.
    fn finish(&mut self) -> Result<()> {
        let mut cases = std::mem::take(&mut self.cases);
        for (child, placements) in std::mem::take(&mut self.placements) {
            cases.entry(DocId::case(&child)).or_default().events = placements;
        }
        // The state of each representative a placement names, for its warnings.
        let named: BTreeSet<RepresentativeId> =
            cases.values().flat_map(|w| w.events.iter().filter_map(|p| p.value.representative_id.clone())).collect();
        for r in named {
            self.rep_state(&r)?;
        }
        self.build_all(cases, |w, id, work| w.build_case(id, work))?;
        let mut reps = std::mem::take(&mut self.rep_work);
        for (rep, checks) in std::mem::take(&mut self.checks) {
            reps.entry(DocId::representative(&rep)).or_default().events = checks;
        }
        let relations = std::mem::take(&mut self.relations);
        for rep in relations.keys() {
            reps.entry(DocId::representative(rep)).or_default();
        }
        let reps = reps
            .into_iter()
            .map(|(id, work)| {
                let children = RepresentativeId::parse(id.key()).ok().and_then(|r| relations.get(&r).cloned());
                (id, (work, children.unwrap_or_default()))
            })
            .collect();
        self.build_all(reps, |w, id, work| w.build_rep(id, work))?;
        let mut mentors = std::mem::take(&mut self.mentor_work);
        for (m, certs) in std::mem::take(&mut self.certificates) {
            mentors.entry(DocId::mentor(&m)).or_default().events = certs;
        }
        self.build_all(mentors, |w, id, work| w.build_mentor(id, work))?;
        self.flush()
    }

    /// Builds the documents of `work` a batch at a time on every core, and
    /// applies each batch's outcomes and documents in order.
    fn build_all<W: Send>(
        &mut self,
        work: BTreeMap<DocId, W>,
        build: impl Fn(&Writer<'a>, &DocId, W) -> Result<Built> + Sync,
    ) -> Result<()> {
        let mut work = work.into_iter().peekable();
        while work.peek().is_some() {
            let batch: Vec<(DocId, W)> = work.by_ref().take(BATCH).collect();
            let writer = &self.w;
            let build = &build;
            let built = qamqor_core::par::map(batch, |(id, w)| build(writer, &id, w));
            for b in built {
                self.apply(b?)?;
            }
        }
        Ok(())
    }

    /// Records a built document's row outcomes and queues it.
    fn apply(&mut self, b: Built) -> Result<()> {
        for (at, status, change, err) in b.rows {
            self.tick();
            self.set(at, status, change, err, &b.id);
        }
        for (rep, child, kin) in b.relations {
            self.relations.entry(rep).or_default().insert(child, kin);
        }
        for (id, saved, hashes) in b.saved {
            self.queue(&id, saved, hashes)?;
        }
        Ok(())
    }

    /// A representative's state, for the warnings on a placement with
    /// them: as stored, with this import's status and checks on top.
    fn rep_state(&mut self, id: &RepresentativeId) -> Result<RepState> {
        if let Some(s) = self.w.reps.get(id) {
            return Ok(*s);
        }
        let doc = DocId::representative(id);
        let mut s = RepState { active: true, at_risk: false };
        let work = self.rep_work.get(&doc).and_then(|w| w.profile.as_ref());
        if work.is_none_or(|p| p.stored)
            && let Some(stored) = self.storage.load_doc(&doc)?
            && let Ok(view) = docs::read_view::<RepresentativeDoc, _>(&stored)
        {
            s = RepState { active: view.status == RepresentativeStatus::Active, at_risk: view.risk.is_urgent() };
        }
        if let Some(Profile { value: (_, Some(status)), .. }) = self.rep_work.get(&doc).and_then(|w| w.profile.as_ref())
        {
            s.active = *status == RepresentativeStatus::Active;
        }
        if self.checks.get(id).is_some_and(|c| c.iter().any(|c| !c.value.risk_factors.is_empty())) {
            s.at_risk = true;
        }
        self.w.reps.insert(id.clone(), s);
        Ok(s)
    }
}

/// What building a document needs, shared by the threads that build them.
struct Writer<'a> {
    storage: &'a dyn Storage,
    opts: &'a Options,
    actor: ActorId,
    author: String,
    /// Representatives' states, for the warnings on placements.
    reps: HashMap<RepresentativeId, RepState>,
}

impl Writer<'_> {
    /// Loads a stored document (under the import's actor).
    fn stored(&self, id: &DocId) -> Result<Option<Automerge>> {
        Ok(self.storage.load_doc(id)?.map(|d| d.with_actor(self.actor.clone())))
    }

    /// Edits `doc` under the import's actor (creating its header first for
    /// a `new` document); keeps the change when `f` succeeds and changed
    /// something, and returns what `f` returned and whether it changed
    /// the document.
    fn edit<R>(
        &self,
        doc: &mut Automerge,
        new: Option<DocKind>,
        f: impl FnOnce(&mut Transaction<'_>, &HashSet<String>) -> qamqor_core::Result<R>,
    ) -> qamqor_core::Result<(R, bool)> {
        let importers = importers(doc);
        let mut tx = doc.transaction();
        let outcome = (|| {
            if let Some(kind) = new {
                docs::init(&mut tx, kind)?;
            }
            let r = f(&mut tx, &importers)?;
            if tx.pending_ops() == 0 {
                return Ok((r, false));
            }
            // Refuses a document a newer version marked, and names this
            // actor in `authors`.
            docs::prepare_edit(&mut tx, &self.actor.to_hex_string(), &self.author)?;
            Ok((r, true))
        })();
        match outcome {
            Ok((r, true)) => {
                tx.commit_with(CommitOptions::default().with_time(chrono::Utc::now().timestamp()));
                Ok((r, true))
            }
            Ok((r, false)) => {
                tx.rollback();
                Ok((r, false))
            }
            Err(e) => {
                tx.rollback();
                Err(e)
            }
        }
    }

    /// Opens the document for a profile row (new or stored) and writes the
    /// profile. `None` when the document cannot be written (its rows are
    /// then refused).
    fn open_profile<P>(
        &self,
        id: &DocId,
        profile: Option<Profile<P>>,
        out: &mut Built,
        write: impl FnOnce(&mut Transaction<'_>, &HashSet<String>, &P, bool) -> qamqor_core::Result<Vec<String>>,
    ) -> Result<Option<(Automerge, Vec<automerge::ChangeHash>)>> {
        let Some(Profile { at, value, stored }) = profile else {
            return Ok(self.stored(id)?.map(|d| {
                let heads = d.get_heads();
                (d, heads)
            }));
        };
        let (mut doc, new) = match stored {
            true => match self.stored(id)? {
                Some(d) => (d, false),
                None => (Automerge::new().with_actor(self.actor.clone()), true),
            },
            false => (Automerge::new().with_actor(self.actor.clone()), true),
        };
        let before = doc.get_heads();
        let outcome = self.edit(&mut doc, new.then_some(id.kind()), |tx, importers| write(tx, importers, &value, new));
        match outcome {
            Ok((kept, changed)) => {
                let change = match (new, changed) {
                    (true, _) => Change::Created,
                    (false, true) => Change::Updated,
                    (false, false) => Change::Unchanged,
                };
                if kept.is_empty() {
                    out.rows.push((at, Status::Accepted, change, None));
                } else {
                    let sheet = sheet_of(id.kind());
                    let columns: Vec<String> = kept.iter().map(|f| column_of(sheet, f)).collect();
                    let e = CellError::new(
                        columns.join(", "),
                        "changed on a phone since it was imported: the stored value is kept (edit it on a phone if \
                         the file is right)",
                    );
                    out.rows.push((at, Status::Warning, change, Some(e)));
                }
                Ok(Some((doc, before)))
            }
            Err(e) => {
                out.rows.push((at, Status::Refused, Change::Nothing, Some(core_error(sheet_of(id.kind()), e))));
                Ok(None)
            }
        }
    }

    fn build_case(&self, id: &DocId, work: Work<Child, Placement>) -> Result<Built> {
        let Work { profile, events } = work;
        let mut out = Built::new(id);
        let opened = self.open_profile(id, profile, &mut out, |tx, importers, child, new| {
            let mut kept = Vec::new();
            if new {
                json::put(tx, &ROOT, "child", child)?;
            } else {
                write_profile(tx, "child", &to_json(child)?, importers, &mut kept)?;
            }
            Ok(kept)
        })?;
        let Some((mut doc, before)) = opened else { return Ok(out.refuse_events(events)) };
        for Pending { at, value } in events {
            self.place(at, &mut doc, value, &mut out);
        }
        Ok(out.saved(id, &doc, &before))
    }

    fn build_rep(
        &self,
        id: &DocId,
        (work, children): (RepWork, BTreeMap<ChildId, Option<KinRelation>>),
    ) -> Result<Built> {
        let Work { profile, events } = work;
        let mut out = Built::new(id);
        let opened = self.open_profile(id, profile, &mut out, |tx, importers, (rep, status), new| {
            let mut kept = Vec::new();
            if new {
                json::put(tx, &ROOT, "representative", rep)?;
                json::put(tx, &ROOT, "status", &status.unwrap_or(RepresentativeStatus::Active))?;
                return Ok(kept);
            }
            let view: RepresentativeDoc = docs::read_view(&*tx)?;
            write_profile(tx, "representative", &to_json(rep)?, importers, &mut kept)?;
            if let Some(s) = *status
                && s != view.status
            {
                if view.status == RepresentativeStatus::Removed {
                    kept.push("status".to_owned());
                } else {
                    json::put(tx, &ROOT, "status", &s)?;
                }
            }
            Ok(kept)
        })?;
        let Some((mut doc, before)) = opened else { return Ok(out.refuse_events(events)) };
        for Pending { at, value: check } in events {
            let outcome = self.edit(&mut doc, None, |tx, _| {
                let view: RepresentativeDoc = docs::read_view(&*tx)?;
                if let Some(same) = view.checks.values().find(|c| c.date == check.date) {
                    let mut stored = same.clone();
                    stored.id = check.id.clone();
                    return if stored == check {
                        Ok(false)
                    } else {
                        Err(qamqor_core::Error::invalid(
                            "date",
                            "a check of this date is already recorded with other values; record a correction on a \
                             phone",
                        ))
                    };
                }
                docs::put_event(tx, "checks", &check.id, &check)?;
                docs::raise_risks(tx, &check.risk_factors)?;
                Ok(true)
            });
            out.event(at, outcome, Sheet::Checks);
        }
        if !children.is_empty() {
            // The children placed with them by the accepted placements.
            let _ = self.edit(&mut doc, None, |tx, _| {
                let rel = json::map_at(tx, &ROOT, "relations")?;
                for (child, kin) in &children {
                    json::put(tx, &rel, child.as_str(), kin)?;
                }
                Ok(())
            });
        }
        Ok(out.saved(id, &doc, &before))
    }

    fn build_mentor(&self, id: &DocId, work: Work<Mentor, MentorCertificate>) -> Result<Built> {
        let Work { profile, events } = work;
        let new_mentor = profile.as_ref().filter(|p| !p.stored).map(|p| p.value.clone());
        let mut out = Built::new(id);
        let opened = self.open_profile(id, profile, &mut out, |tx, importers, m, new| {
            let mut kept = Vec::new();
            if new {
                json::put(tx, &ROOT, "mentor", m)?;
            } else {
                write_profile(tx, "mentor", &to_json(m)?, importers, &mut kept)?;
            }
            Ok(kept)
        })?;
        let Some((mut doc, before)) = opened else { return Ok(out.refuse_events(events)) };
        for Pending { at, value: cert } in events {
            let outcome = self.edit(&mut doc, None, |tx, _| {
                let certs = json::map_at(tx, &ROOT, "certificates")?;
                let had = tx.get(&certs, &cert.number)?.is_some();
                json::put(tx, &certs, &cert.number, &cert)?;
                Ok(!had)
            });
            out.event(at, outcome, Sheet::Certificates);
        }
        let mut out = out.saved(id, &doc, &before);
        if let Some(m) = new_mentor {
            // A mentor's meeting log is made with the profile.
            let log = DocId::meeting_log(&m.id);
            let mut doc = Automerge::new().with_actor(self.actor.clone());
            let made = self.edit(&mut doc, Some(DocKind::MeetingLog), |tx, _| {
                json::put(tx, &ROOT, "mentor_id", &m.id)?;
                json::put(tx, &ROOT, "district", &m.district)
            });
            if made.is_ok() {
                out = out.saved(&log, &doc, &[]);
            }
        }
        Ok(out)
    }

    /// Adds a placement to a case: the one already recorded with the same
    /// representative (or institution), form and start is the same
    /// placement (its end is brought up to date).
    fn place(&self, at: usize, doc: &mut Automerge, mut p: Placement, out: &mut Built) {
        let rep = p.representative_id.as_ref().and_then(|r| self.reps.get(r).copied());
        let today = self.opts.today;
        let outcome = self.edit(doc, None, |tx, _| {
            let case = CaseHead::read(&*tx)?;
            p.validate(case.child.birth_date, today)?;
            let placements = json::map_at(tx, &ROOT, "placements")?;
            let same = case.placements.values().find(|q| {
                q.representative_id == p.representative_id
                    && q.institution == p.institution
                    && q.form == p.form
                    && q.start_date == p.start_date
            });
            if let Some(same) = same {
                p.id = same.id.clone();
                p.kin_considered = same.kin_considered || p.kin_considered;
                json::put(tx, &placements, p.id.as_str(), &p)?;
                return Ok((false, None));
            }
            if p.is_open() && !case.open_placements().is_empty() {
                return Err(qamqor_core::Error::Rule(
                    "the child already has an active placement; give it an end date and reason first".into(),
                ));
            }
            let warning = match rep {
                Some(r) if p.is_open() && !r.active => Some(
                    "the representative is not active: the placement is imported as the register records it; review \
                     it",
                ),
                Some(r) if p.is_open() && r.at_risk => Some(
                    "the representative carries a risk factor or a removal recommendation: the placement is imported \
                     as the register records it; review it",
                ),
                _ => None,
            };
            json::put(tx, &placements, p.id.as_str(), &p)?;
            if p.is_adoption() {
                json::put(tx, &ROOT, "tier", &AccessTier::Adoption)?;
            }
            Ok((true, warning))
        });
        if let (Ok(_), Some(r)) = (&outcome, &p.representative_id) {
            out.relations.push((r.clone(), p.child_id.clone(), p.kin));
        }
        match outcome {
            Ok(((added, warning), changed)) => {
                out.event(at, Ok((added, changed)), Sheet::Placements);
                if let Some(w) = warning
                    && let Some(last) = out.rows.last_mut()
                {
                    last.1 = Status::Warning;
                    last.3 = Some(CellError::new("representative_iin", w));
                }
            }
            Err(e) => out.event(at, Err(e), Sheet::Placements),
        }
    }
}

/// The rows of a representative's file.
type RepWork = Work<(Representative, Option<RepresentativeStatus>), AnnualCheck>;

/// A document built from its rows, apart from the import's state (so that
/// documents are built on every core): its rows' outcomes, the documents
/// to store, and the children placed with representatives.
struct Built {
    id: DocId,
    rows: Vec<(usize, Status, Change, Option<CellError>)>,
    saved: Vec<(DocId, Vec<u8>, Vec<String>)>,
    relations: Vec<(RepresentativeId, ChildId, Option<KinRelation>)>,
}

impl Built {
    fn new(id: &DocId) -> Self {
        Built { id: id.clone(), rows: Vec::new(), saved: Vec::new(), relations: Vec::new() }
    }

    /// Refuses the rows that add to a document that could not be written.
    fn refuse_events<E>(mut self, events: Vec<Pending<E>>) -> Self {
        for Pending { at, .. } in events {
            let e = CellError::new("", "the record it belongs to was refused (see its row)");
            self.rows.push((at, Status::Refused, Change::Nothing, Some(e)));
        }
        self
    }

    /// Records an event row's outcome: `Ok((added, changed))`.
    fn event(&mut self, at: usize, outcome: qamqor_core::Result<(bool, bool)>, sheet: Sheet) {
        self.rows.push(match outcome {
            Ok((added, changed)) => {
                let change = match (added, changed) {
                    (true, true) => Change::Created,
                    (false, true) => Change::Updated,
                    (_, false) => Change::Unchanged,
                };
                (at, Status::Accepted, change, None)
            }
            Err(e) => (at, Status::Refused, Change::Nothing, Some(core_error(sheet, e))),
        });
    }

    /// Adds `doc` to what is stored when it changed since `before`.
    fn saved(mut self, id: &DocId, doc: &Automerge, before: &[automerge::ChangeHash]) -> Self {
        if doc.get_heads() != before {
            let hashes = doc.get_changes(before).iter().map(|c| c.hash().to_string()).collect();
            self.saved.push((id.clone(), doc.save(), hashes));
        }
        self
    }
}

/// A profile row waiting for its document: the row's index in the report,
/// the record, and whether the document is stored already.
struct Profile<P> {
    at: usize,
    value: P,
    stored: bool,
}

/// What the accepted rows write into one document.
struct Work<P, E> {
    profile: Option<Profile<P>>,
    events: Vec<Pending<E>>,
}

impl<P, E> Default for Work<P, E> {
    fn default() -> Self {
        Work { profile: None, events: Vec::new() }
    }
}

/// A row of people, parsed.
enum Person {
    Child(Child),
    Rep(Representative, Option<RepresentativeStatus>),
    Mentor(Mentor),
}

impl Person {
    fn identity(&self) -> Identity {
        match self {
            Person::Child(c) => Identity::of_child(c),
            Person::Rep(r, _) => Identity::of_representative(r),
            Person::Mentor(m) => Identity::of_mentor(m),
        }
    }

    /// Takes the stored document's id, when the person is on record.
    fn set_id(&mut self, stored: Option<&DocId>) {
        let Some(doc) = stored else { return };
        match self {
            Person::Child(c) => c.id = ChildId::parse(doc.key()).unwrap_or_else(|_| c.id.clone()),
            Person::Rep(r, _) => r.id = RepresentativeId::parse(doc.key()).unwrap_or_else(|_| r.id.clone()),
            Person::Mentor(m) => m.id = MentorId::parse(doc.key()).unwrap_or_else(|_| m.id.clone()),
        }
    }

    fn doc_id(&self) -> DocId {
        match self {
            Person::Child(c) => DocId::case(&c.id),
            Person::Rep(r, _) => DocId::representative(&r.id),
            Person::Mentor(m) => DocId::mentor(&m.id),
        }
    }
}

/// The sheet of people a document kind is made from.
fn sheet_of(kind: DocKind) -> Sheet {
    match kind {
        DocKind::Case => Sheet::Children,
        DocKind::Representative => Sheet::Representatives,
        _ => Sheet::Mentors,
    }
}

/// A required cell's text.
fn need(row: &Row, column: &layout::Column) -> Result<String, CellError> {
    row.text(column)?.ok_or_else(|| CellError::new(column.key, "is required and empty"))
}

fn name(row: &Row, sheet: Sheet) -> Result<FullName, CellError> {
    let c = sheet.columns();
    let col = |key: &str| c.iter().find(|c| c.key == key).copied();
    let get = |key: &str| -> Result<Option<String>, CellError> {
        match col(key) {
            Some(c) => row.text(&c),
            None => Ok(None),
        }
    };
    Ok(FullName {
        family: get("family_name")?.ok_or_else(|| CellError::new("family_name", "is required and empty"))?,
        given: get("given_name")?.ok_or_else(|| CellError::new("given_name", "is required and empty"))?,
        patronymic: get("patronymic")?,
    })
}

/// The column a core field path (`child.name.family`) came from.
fn column_of(sheet: Sheet, field: &str) -> String {
    let last = field.rsplit('.').next().unwrap_or(field);
    let part = field.strip_prefix("check.").and_then(|f| f.split('.').next()).unwrap_or("");
    let evidence;
    let key = match (field.contains(".name."), last) {
        (true, "family") => "family_name",
        (true, "given") => "given_name",
        (_, "evidence" | "document_number") => {
            evidence = format!("{part}_document");
            &evidence
        }
        (_, "issued_on" | "issuer") if field.contains(".evidence.") => {
            evidence = format!("{part}_{last}");
            &evidence
        }
        (_, "household_members") => "household_members",
        (_, "subsistence_minimum_kzt") => "subsistence_minimum_kzt",
        (_, "monthly_amount_kzt") => "monthly_income_kzt",
        (_, k) => k,
    };
    match sheet.columns().iter().find(|c| c.key == key) {
        Some(c) => c.key.to_owned(),
        None => field.to_owned(),
    }
}

/// A core error as a row's column and reason.
fn core_error(sheet: Sheet, e: qamqor_core::Error) -> CellError {
    match e {
        qamqor_core::Error::Invalid { field, reason } => CellError::new(column_of(sheet, &field), reason),
        other => CellError::new("", other.to_string()),
    }
}

fn warning(w: &Warning) -> CellError {
    match w {
        Warning::IinBirthDateMismatch { .. } => {
            CellError::new("birth_date", "differs from the birth date in the IIN; both are kept")
        }
        Warning::IinSexMismatch { .. } => CellError::new("sex", "differs from the IIN's 7th digit"),
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> qamqor_core::Result<Json> {
    serde_json::to_value(v).map_err(|e| qamqor_core::Error::Corrupt(e.to_string()))
}

/// The actors that wrote `doc` as an import.
fn importers(doc: &Automerge) -> HashSet<String> {
    let Ok(Some(authors)) = json::find_map(doc, &ROOT, "authors") else { return HashSet::new() };
    doc.keys(&authors).filter(|actor| docs::author_of(doc, actor).is_some_and(|a| a.starts_with("import: "))).collect()
}

/// Writes a profile from the file over the stored one, field by field: a
/// field that differs is written when the stored value was written by an
/// import (the file corrects it), and kept, its column named in `kept`,
/// when a phone wrote it.
fn write_profile(
    tx: &mut Transaction<'_>,
    key: &str,
    value: &Json,
    importers: &HashSet<String>,
    kept: &mut Vec<String>,
) -> qamqor_core::Result<()> {
    let obj = json::map_at(tx, &ROOT, key)?;
    write_fields(tx, &obj, key, value, importers, kept)
}

fn write_fields(
    tx: &mut Transaction<'_>,
    obj: &automerge::ObjId,
    path: &str,
    value: &Json,
    importers: &HashSet<String>,
    kept: &mut Vec<String>,
) -> qamqor_core::Result<()> {
    let Json::Object(fields) = value else { return Ok(()) };
    for (k, v) in fields {
        let current = tx.get(obj, k.as_str())?;
        let Some((cur, cur_id)) = current else {
            json::write(tx, obj, k, v)?;
            continue;
        };
        if let (Json::Object(_), automerge::Value::Object(ObjType::Map)) = (v, &cur) {
            write_fields(tx, &cur_id, &format!("{path}.{k}"), v, importers, kept)?;
            continue;
        }
        if json::value_to_json(&*tx, cur, &cur_id)? == *v {
            continue;
        }
        let by_import = match &cur_id {
            automerge::ObjId::Id(_, actor, _) => importers.contains(&actor.to_hex_string()),
            automerge::ObjId::Root => false,
        };
        if by_import {
            json::write(tx, obj, k, v)?;
        } else {
            kept.push(format!("{path}.{k}"));
        }
    }
    Ok(())
}
