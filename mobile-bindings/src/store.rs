//! The store an app holds: one per signed-in user, opened with the key
//! from the Android Keystore or iOS Keychain.

use std::sync::Arc;

use chrono::NaiveDate;
use qamqor_core::docs::{self, DocId};
use qamqor_core::model::*;
use qamqor_core::store::{self as core_store, CaseSummary, DueCheck, MenteeSummary, Store, StoreOptions};

use crate::QamqorError;
use crate::sync::SyncControl;

type Result<T, E = QamqorError> = std::result::Result<T, E>;

/// A child's whole case, for the child's screen.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ChildFile {
    /// The profile.
    pub child: Child,
    /// Whether this is an adoption record (secret by law).
    pub adoption: bool,
    /// The current placement, if placed.
    pub current_placement: Option<Placement>,
    /// The form in force today (guardianship reads as trusteeship from the 14th birthday).
    pub current_form: Option<PlacementForm>,
    /// Every placement, oldest first.
    pub placements: Vec<Placement>,
    /// Home visits not superseded by a correction, newest first.
    pub visits: Vec<HomeVisit>,
    /// Placement endings, oldest first.
    pub endings: Vec<PlacementEnding>,
    /// Placement corrections, oldest first.
    pub corrections: Vec<PlacementCorrection>,
}

/// A representative's whole file.
#[derive(Debug, Clone, uniffi::Record)]
pub struct RepresentativeFile {
    /// The profile.
    pub representative: Representative,
    /// Whether the representative may act.
    pub status: RepresentativeStatus,
    /// Risk factors raised.
    pub risk_factors: Vec<RiskFactor>,
    /// Whether removal from duties is recommended.
    pub removal_recommended: bool,
    /// Whether the file holds an urgent item not yet acted on.
    pub urgent: bool,
    /// The annual check schedule as of today.
    pub schedule: CheckSchedule,
    /// Checks not superseded, newest first.
    pub checks: Vec<AnnualCheck>,
    /// Risk reports not superseded, newest first.
    pub risk_reports: Vec<RiskReport>,
    /// The removal workflow, oldest first: recommendations, flags cleared
    /// as recorded in error, the office's decisions.
    pub removal_history: Vec<RemovalStep>,
}

/// One step of a representative's removal workflow; exactly one of the
/// three is set.
#[derive(Debug, Clone, uniffi::Record)]
pub struct RemovalStep {
    /// A specialist recommended removal.
    pub recommended: Option<RemovalRecommendation>,
    /// A flag or the recommendation was cleared as recorded in error.
    pub cleared: Option<RiskClearance>,
    /// The office decided.
    pub decided: Option<RemovalDecision>,
}

/// A mentor's profile with certificates.
#[derive(Debug, Clone, uniffi::Record)]
pub struct MentorFile {
    /// The profile.
    pub mentor: Mentor,
    /// Every certificate.
    pub certificates: Vec<MentorCertificate>,
    /// The certificate valid today, if any: without one the mentor may not
    /// log meetings.
    pub valid_certificate: Option<MentorCertificate>,
}

/// A mentor's view of one mentee.
#[derive(Debug, Clone, uniffi::Record)]
pub struct MenteeFile {
    /// The mentorship.
    pub mentorship: Mentorship,
    /// What mentoring needs of the child.
    pub mentee: MenteeProfile,
}

/// Why an item is urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum UrgentKind {
    /// A risk factor is raised (see `risk_factor`).
    RiskFactor,
    /// Removal from duties is recommended.
    RemovalRecommended,
    /// The latest home visit saw signs of neglect.
    NeglectSigns,
    /// The child's current representative carries a risk factor or a
    /// removal recommendation.
    RepresentativeAtRisk,
    /// The child's representative was removed from duties while the
    /// placement is open: end the placement and place the child anew.
    PlacementToEnd,
    /// The child's placement ended and the child is not yet placed anew.
    ChildToPlace,
}

/// An urgent item: shown first, synced first.
#[derive(Debug, Clone, uniffi::Record)]
pub struct UrgentItem {
    /// The document holding it.
    pub doc_id: String,
    /// Why it is urgent.
    pub kind: UrgentKind,
    /// The risk factor, for `RiskFactor`.
    pub risk_factor: Option<RiskFactor>,
    /// Since when.
    pub since: Option<NaiveDate>,
    /// The person's name.
    pub display_name: String,
}

/// A search result.
#[derive(Debug, Clone, uniffi::Record)]
pub struct SearchHit {
    /// The document found (`case:…`, `rep:…`, `mentee:…`).
    pub doc_id: String,
    /// Name.
    pub display_name: String,
    /// The IIN masked, where there is one.
    pub iin_masked: Option<String>,
}

/// What kind of conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ConflictKind {
    /// People set the same field to different values.
    SameField,
    /// A merge left a child with more than one open placement.
    TwoActivePlacements,
}

/// One competing value and who wrote it.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ConflictValue {
    /// The value as JSON text (`"removed"`, `true`, `"2026-10-05"`); for
    /// two open placements, the placement id.
    pub value_json: String,
    /// The user who wrote it, when known.
    pub author: Option<String>,
}

/// A conflict on the review list, until a person resolves it.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Conflict {
    /// The document.
    pub doc_id: String,
    /// The kind.
    pub kind: ConflictKind,
    /// The field path (`status`, `placements/<id>/end_reason`).
    pub path: String,
    /// Every competing value.
    pub values: Vec<ConflictValue>,
}

/// Why two files look like one person's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DuplicateReason {
    /// The same IIN.
    SameIin,
    /// The same family name, given name and birth date (Kazakh and
    /// Russian spellings folded), under different IINs.
    SameNameAndBirth,
}

/// Two files on the review list of likely duplicates.
#[derive(Debug, Clone, uniffi::Record)]
pub struct DuplicatePair {
    /// The first file's document id (`case:…` or `rep:…`).
    pub first: String,
    /// The second file's document id.
    pub second: String,
    /// Why they look like one person's.
    pub reason: DuplicateReason,
    /// The first file's name as shown in lists.
    pub first_name: String,
    /// The second file's name as shown in lists.
    pub second_name: String,
}

/// A profile field that differs between two files being merged: the
/// person chooses which value the merged file keeps.
#[derive(Debug, Clone, uniffi::Record)]
pub struct DifferingField {
    /// The field's path in the profile (`school`, `name/family`, `iin`):
    /// pass it in `take` to keep the absorbed file's value.
    pub path: String,
    /// The surviving file's value, as JSON text.
    pub survivor_json: String,
    /// The absorbed file's value, as JSON text.
    pub absorbed_json: String,
}

fn child_file(c: docs::CaseDoc, today: NaiveDate) -> ChildFile {
    let current = c.current_placement().cloned();
    let endings = c.endings().into_iter().cloned().collect();
    let corrections = c.corrections().into_iter().cloned().collect();
    let mut placements: Vec<Placement> = c.placements.values().cloned().collect();
    placements.sort_by_key(|p| p.start_date);
    ChildFile {
        adoption: c.tier == docs::AccessTier::Adoption,
        current_form: current.as_ref().map(|p| p.form_on(c.child.birth_date, today)),
        current_placement: current,
        visits: c.current_visits().into_iter().cloned().collect(),
        endings,
        corrections,
        placements,
        child: c.child,
    }
}

/// A phone's casework store: encrypted, offline, durable. Open one per
/// signed-in user; calls are safe from any thread.
#[derive(uniffi::Object)]
pub struct QamqorStore {
    pub(crate) inner: Arc<Store>,
    pub(crate) sync: SyncControl,
}

impl QamqorStore {
    pub(crate) fn core(&self) -> &Arc<Store> {
        &self.inner
    }
}

#[uniffi::export]
impl QamqorStore {
    /// Opens (or creates) the store at `path` with the app's 256-bit `key`
    /// (32 bytes from the Android Keystore or iOS Keychain). `user_id` is
    /// the signed-in user, recorded as the author of this phone's changes.
    ///
    /// Errors: `WrongKey` when the key does not open the file,
    /// `AlreadyOpen` when this or another process already holds it, `Invalid` for a
    /// key that is not 32 bytes.
    #[uniffi::constructor]
    pub fn open(path: String, key: Vec<u8>, user_id: String) -> Result<Arc<Self>> {
        let store = Store::open(path, &key, StoreOptions::new(user_id))?;
        Ok(Arc::new(QamqorStore { inner: Arc::new(store), sync: SyncControl::default() }))
    }

    /// Opens the store like `open`, with a fixed "today" (`YYYY-MM-DD`)
    /// that validation and schedules use instead of the phone's clock: for
    /// tests and demonstrations, or a phone whose clock is known to be
    /// wrong.
    #[uniffi::constructor]
    pub fn open_on(path: String, key: Vec<u8>, user_id: String, today: NaiveDate) -> Result<Arc<Self>> {
        let mut options = StoreOptions::new(user_id);
        options.today = Some(today);
        let store = Store::open(path, &key, options)?;
        Ok(Arc::new(QamqorStore { inner: Arc::new(store), sync: SyncControl::default() }))
    }

    /// The date the store takes for today (`YYYY-MM-DD`).
    pub fn today(&self) -> NaiveDate {
        self.inner.today()
    }

    /// Closes the store; later calls fail with `Closed`, and the file may
    /// be opened again. A running sync is cancelled first. (Named so as not
    /// to clash with Kotlin's `AutoCloseable.close`, which frees the handle.)
    pub fn close_store(&self) {
        self.sync.cancel_running();
        self.inner.close();
    }

    /// This installation's Automerge actor id (hex), registered with the
    /// server at enrollment.
    pub fn actor_id(&self) -> String {
        self.inner.actor_id()
    }

    // ---- Specialist: children, representatives, placements ----

    /// Registers a child and opens the child's case. Returns warnings (an
    /// IIN that disagrees with the birth date is accepted with a warning).
    pub fn register_child(&self, child: Child) -> Result<Vec<Warning>> {
        Ok(self.inner.register_child(&child)?.warnings)
    }

    /// Updates a child's profile (only changed fields are written).
    pub fn update_child(&self, child: Child) -> Result<Vec<Warning>> {
        Ok(self.inner.update_child(&child)?.warnings)
    }

    /// Registers a legal representative.
    pub fn register_representative(&self, representative: Representative) -> Result<Vec<Warning>> {
        Ok(self.inner.register_representative(&representative)?.warnings)
    }

    /// Updates a representative's profile.
    pub fn update_representative(&self, representative: Representative) -> Result<Vec<Warning>> {
        Ok(self.inner.update_representative(&representative)?.warnings)
    }

    /// Suspends or reinstates a representative. Removal from duties is
    /// refused here: it is the office's decision (`decide_removal`).
    pub fn set_representative_status(
        &self,
        representative_id: RepresentativeId,
        status: RepresentativeStatus,
    ) -> Result<()> {
        Ok(self.inner.set_representative_status(&representative_id, status)?)
    }

    /// Places a child; refused while the child has an active placement.
    pub fn place_child(&self, placement: Placement) -> Result<()> {
        self.inner.place_child(&placement)?;
        Ok(())
    }

    /// Ends a placement (an event with the reason and, where one decided
    /// it, the office's order). Ending it because the representative was
    /// removed needs the removal decision recorded first. The child stays
    /// on the urgent list (`ChildToPlace`) until placed anew, unless the
    /// child came of age, was adopted or returned to the parents.
    pub fn end_placement(&self, ending: PlacementEnding) -> Result<()> {
        Ok(self.inner.end_placement(&ending)?)
    }

    /// Corrects a placement recorded wrongly (start date, kin relation):
    /// an event keeping the old facts, the reason and who corrected it.
    pub fn correct_placement(&self, correction: PlacementCorrection) -> Result<()> {
        self.inner.correct_placement(&correction)?;
        Ok(())
    }

    /// Records a specialist's recommendation to remove a representative
    /// from duties; the file and the children in their care are urgent
    /// until the office decides.
    pub fn recommend_removal(&self, recommendation: RemovalRecommendation) -> Result<()> {
        self.inner.recommend_removal(&recommendation)?;
        Ok(())
    }

    /// Records the office's decision on removal, with the order's number
    /// and date. `Removed` makes each open placement with the
    /// representative an urgent task (`PlacementToEnd`); `NotRemoved`
    /// clears the recommendation and is refused while a risk factor is
    /// raised (clear a factor recorded in error with `clear_risk`).
    pub fn decide_removal(&self, decision: RemovalDecision) -> Result<()> {
        self.inner.decide_removal(&decision)?;
        Ok(())
    }

    // ---- Specialist: visits, checks, risk ----

    /// Records a home visit (written once; a correction supersedes it).
    pub fn record_visit(&self, visit: HomeVisit) -> Result<()> {
        self.inner.record_visit(&visit)?;
        Ok(())
    }

    /// Records an annual check. Any risk factor raises the removal
    /// recommendation and makes the file urgent: it syncs first. Returns
    /// warnings (a household member's IIN that disagrees with the birth
    /// date).
    pub fn record_check(&self, check: AnnualCheck) -> Result<Vec<Warning>> {
        Ok(self.inner.record_check(&check)?.warnings)
    }

    /// Clears a risk flag recorded in error (a wrong person, a letter
    /// withdrawn, a prosecution dropped), with the reason and who decided;
    /// the clearance is kept beside the flags. Only a person clears a flag:
    /// a later clean check does not.
    pub fn clear_risk(&self, clearance: RiskClearance) -> Result<()> {
        self.inner.clear_risk(&clearance)?;
        Ok(())
    }

    /// Records a risk factor reported outside a check.
    pub fn report_risk(&self, report: RiskReport) -> Result<()> {
        self.inner.report_risk(&report)?;
        Ok(())
    }

    // ---- Specialist: screens ----

    /// The caseload, in Kazakh alphabetical order.
    pub fn caseload(&self) -> Result<Vec<CaseSummary>> {
        Ok(self.inner.caseload()?)
    }

    /// The children in a representative's care now (current placements
    /// with them): shown on the representative's file, flagged urgent when
    /// the representative is at risk.
    pub fn children_in_care(&self, representative_id: String) -> Result<Vec<CaseSummary>> {
        Ok(self.inner.children_in_care(&RepresentativeId::parse(&representative_id)?)?)
    }

    /// Searches by IIN (digits: the IIN or its beginning) or by name (words
    /// that begin name parts; Kazakh and Russian letters, any case).
    pub fn search(&self, query: String, limit: u32) -> Result<Vec<SearchHit>> {
        Ok(self
            .inner
            .search(&query, limit as usize)?
            .into_iter()
            .map(|h| SearchHit { doc_id: h.doc_id.to_string(), display_name: h.display_name, iin_masked: h.iin_masked })
            .collect())
    }

    /// A child's whole case.
    pub fn child_file(&self, child_id: ChildId) -> Result<ChildFile> {
        Ok(child_file(self.inner.child_file(&child_id)?, self.inner.today()))
    }

    /// A representative's whole file.
    pub fn representative_file(&self, representative_id: RepresentativeId) -> Result<RepresentativeFile> {
        let r = self.inner.representative_file(&representative_id)?;
        let reports = docs::current_events(&r.risk_reports).into_iter().cloned().collect();
        let removal_history = r
            .removal_history()
            .into_iter()
            .map(|step| match step {
                docs::RemovalStep::Recommended(x) => RemovalStep { recommended: Some(x), cleared: None, decided: None },
                docs::RemovalStep::Cleared(x) => RemovalStep { recommended: None, cleared: Some(x), decided: None },
                docs::RemovalStep::Decided(x) => RemovalStep { recommended: None, cleared: None, decided: Some(x) },
            })
            .collect();
        Ok(RepresentativeFile {
            status: r.status,
            risk_factors: r.risk.raised(),
            removal_recommended: r.risk.removal_recommended,
            urgent: r.is_urgent(),
            schedule: r.schedule(self.inner.today()),
            checks: r.current_checks().into_iter().cloned().collect(),
            risk_reports: reports,
            removal_history,
            representative: r.representative,
        })
    }

    /// Checks due within 30 days or overdue as of `as_of` (today if absent).
    pub fn checks_due(&self, as_of: Option<NaiveDate>) -> Result<Vec<DueCheck>> {
        Ok(self.inner.checks_due(as_of.unwrap_or_else(|| self.inner.today()))?)
    }

    /// Urgent items, oldest first.
    pub fn urgent_items(&self) -> Result<Vec<UrgentItem>> {
        Ok(self
            .inner
            .urgent_items()?
            .into_iter()
            .map(|u| {
                let (kind, risk_factor) = match u.reason {
                    core_store::UrgentReason::Risk(f) => (UrgentKind::RiskFactor, Some(f)),
                    core_store::UrgentReason::RemovalRecommended => (UrgentKind::RemovalRecommended, None),
                    core_store::UrgentReason::NeglectSigns => (UrgentKind::NeglectSigns, None),
                    core_store::UrgentReason::RepresentativeAtRisk => (UrgentKind::RepresentativeAtRisk, None),
                    core_store::UrgentReason::PlacementToEnd => (UrgentKind::PlacementToEnd, None),
                    core_store::UrgentReason::ChildToPlace => (UrgentKind::ChildToPlace, None),
                };
                UrgentItem {
                    doc_id: u.doc_id.to_string(),
                    kind,
                    risk_factor,
                    since: u.since,
                    display_name: u.display_name,
                }
            })
            .collect())
    }

    /// The review list of conflicts.
    pub fn conflicts(&self) -> Result<Vec<Conflict>> {
        Ok(self
            .inner
            .conflicts()?
            .into_iter()
            .map(|c| Conflict {
                doc_id: c.doc_id.to_string(),
                kind: match c.kind {
                    docs::ConflictKind::SameField => ConflictKind::SameField,
                    docs::ConflictKind::TwoActivePlacements => ConflictKind::TwoActivePlacements,
                },
                path: c.path,
                values: c
                    .values
                    .into_iter()
                    .map(|v| ConflictValue { value_json: v.value.to_string(), author: v.author })
                    .collect(),
            })
            .collect())
    }

    /// Resolves a same-field conflict by choosing one of its values
    /// (`value_json` as listed). Two open placements are resolved by ending
    /// all but one with `end_placement`.
    pub fn resolve_conflict(&self, doc_id: String, path: String, value_json: String) -> Result<()> {
        let value: serde_json::Value =
            serde_json::from_str(&value_json).map_err(|_| QamqorError::invalid("value_json", "is not JSON"))?;
        Ok(self.inner.resolve_conflict(&DocId::parse(&doc_id)?, &path, &value)?)
    }

    // ---- One child, one file ----

    /// The review list of likely duplicates among the children's cases and
    /// representatives' files on this phone: the same IIN, or the same
    /// names and birth date. Pairs marked as two people and files merged
    /// into another are left out.
    pub fn duplicates(&self) -> Result<Vec<DuplicatePair>> {
        Ok(self
            .inner
            .duplicates()?
            .into_iter()
            .map(|p| DuplicatePair {
                first: p.first.to_string(),
                second: p.second.to_string(),
                reason: match p.reason {
                    qamqor_core::store::DuplicateReason::SameIin => DuplicateReason::SameIin,
                    qamqor_core::store::DuplicateReason::SameNameAndBirth => DuplicateReason::SameNameAndBirth,
                },
                first_name: p.first_name,
                second_name: p.second_name,
            })
            .collect())
    }

    /// Says that two files on the review list are two people; the pair
    /// leaves the list on every phone.
    pub fn mark_not_duplicate(&self, first: String, second: String) -> Result<()> {
        Ok(self.inner.mark_not_duplicate(&DocId::parse(&first)?, &DocId::parse(&second)?)?)
    }

    /// The profile fields whose values differ between the two files, for
    /// the person to choose before merging.
    pub fn merge_preview(&self, survivor: String, absorbed: String) -> Result<Vec<DifferingField>> {
        Ok(self
            .inner
            .merge_preview(&DocId::parse(&survivor)?, &DocId::parse(&absorbed)?)?
            .into_iter()
            .map(|f| DifferingField {
                path: f.path,
                survivor_json: f.survivor.to_string(),
                absorbed_json: f.absorbed.to_string(),
            })
            .collect())
    }

    /// Merges `absorbed` into `survivor` (two children's cases, or two
    /// representatives' files): every placement and event the absorbed
    /// file holds is carried over, the fields named in `take` keep the
    /// absorbed file's value, and the absorbed file then reads as the
    /// survivor everywhere (`child_file` of its id returns the survivor).
    pub fn merge_files(&self, survivor: String, absorbed: String, take: Vec<String>) -> Result<()> {
        Ok(self.inner.merge_files(&DocId::parse(&survivor)?, &DocId::parse(&absorbed)?, &take)?)
    }

    /// Undoes a merge of two people's files made by mistake: each is a file
    /// of its own again, and the pair is marked as two people.
    pub fn undo_merge(&self, survivor: String, absorbed: String) -> Result<()> {
        Ok(self.inner.undo_merge(&DocId::parse(&survivor)?, &DocId::parse(&absorbed)?)?)
    }

    /// The document id a file's id now means: itself, or the file it was
    /// merged into.
    pub fn resolve_file(&self, doc_id: String) -> Result<String> {
        Ok(self.inner.resolve(&DocId::parse(&doc_id)?)?.to_string())
    }

    /// Resolves a same-field conflict by choosing the value listed at
    /// `choice` in the conflict's `values` (0 for the first), without
    /// writing the value as JSON text.
    pub fn resolve_conflict_choice(&self, doc_id: String, path: String, choice: u32) -> Result<()> {
        let doc = DocId::parse(&doc_id)?;
        let conflict = self
            .inner
            .conflicts()?
            .into_iter()
            .find(|c| c.doc_id == doc && c.path == path && c.kind == docs::ConflictKind::SameField)
            .ok_or_else(|| QamqorError::from(qamqor_core::Error::not_found("conflict", "on the review list")))?;
        let value = conflict.values.get(choice as usize).ok_or_else(|| {
            QamqorError::invalid("choice", format!("the conflict lists {} values", conflict.values.len()))
        })?;
        Ok(self.inner.resolve_conflict(&doc, &path, &value.value)?)
    }

    /// Gives up this phone's change to a record the server refused (see
    /// `document_sync_states`): the record leaves the phone and the next
    /// sync brings back the server's copy if this user may read it. Any
    /// other record is refused with a rule error.
    pub fn discard_refused(&self, doc_id: String) -> Result<()> {
        Ok(self.inner.discard_refused(&DocId::parse(&doc_id)?)?)
    }

    // ---- Mentors ----

    /// Registers a mentor (by a specialist).
    pub fn register_mentor(&self, mentor: Mentor) -> Result<()> {
        self.inner.register_mentor(&mentor)?;
        Ok(())
    }

    /// Adds a certificate to a mentor's profile.
    pub fn add_certificate(&self, mentor_id: MentorId, certificate: MentorCertificate) -> Result<()> {
        Ok(self.inner.add_certificate(&mentor_id, &certificate)?)
    }

    /// Starts a mentorship (by a specialist).
    pub fn start_mentorship(&self, mentorship: Mentorship) -> Result<()> {
        Ok(self.inner.start_mentorship(&mentorship)?)
    }

    /// Ends a mentorship: the mentor's phone loses the mentee view at its
    /// next sync; the meetings logged stay.
    pub fn end_mentorship(&self, mentorship_id: MentorshipId, end_date: NaiveDate) -> Result<()> {
        Ok(self.inner.end_mentorship(&mentorship_id, end_date)?)
    }

    /// A mentor's mentees.
    pub fn mentees(&self, mentor_id: MentorId) -> Result<Vec<MenteeSummary>> {
        Ok(self.inner.mentees(&mentor_id)?)
    }

    /// A mentor's view of one mentee.
    pub fn mentee(&self, mentorship_id: MentorshipId) -> Result<MenteeFile> {
        let m = self.inner.mentee(&mentorship_id)?;
        Ok(MenteeFile { mentorship: m.mentorship, mentee: m.mentee })
    }

    /// A mentor's profile and certificates, with the one valid today.
    pub fn mentor_file(&self, mentor_id: MentorId) -> Result<MentorFile> {
        let m = self.inner.mentor_file(&mentor_id)?;
        Ok(MentorFile {
            valid_certificate: m.valid_certificate(self.inner.today()).cloned(),
            certificates: m.certificates.into_values().collect(),
            mentor: m.mentor,
        })
    }

    /// Logs a meeting; refused without a valid certificate on its date.
    pub fn log_meeting(&self, meeting: Meeting) -> Result<()> {
        self.inner.log_meeting(&meeting)?;
        Ok(())
    }

    /// A mentor's meetings not superseded, newest first.
    pub fn meetings(&self, mentor_id: MentorId) -> Result<Vec<Meeting>> {
        Ok(self.inner.meeting_log(&mentor_id)?.current_meetings().into_iter().cloned().collect())
    }
}
