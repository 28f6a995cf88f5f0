//! The records and enums apps see. Most mirror the core's own types
//! (`#[uniffi::remote]`), so there is nothing to convert; views made for
//! screens are records of this crate.

use chrono::NaiveDate;
use qamqor_core::docs::DocId;
use qamqor_core::model::*;
use qamqor_core::store::{CaseSummary, DueCheck, MenteeSummary, SyncSummary};

/// A value that does not lift (an invalid IIN inside a record) reaches the
/// app as the call's own `QamqorError::Invalid`, naming the field.
fn lift_error(e: qamqor_core::Error) -> uniffi::deps::anyhow::Error {
    crate::QamqorError::from(e).into()
}

// Dates cross the boundary as ISO 8601 text, `2026-11-25`.
uniffi::custom_type!(NaiveDate, String, {
    remote,
    try_lift: |s| s.parse::<NaiveDate>().map_err(|_| lift_error(qamqor_core::Error::invalid("date", "expected YYYY-MM-DD"))),
    lower: |d| d.to_string(),
});
// An IIN crosses as its 12 digits and is validated on the way in.
uniffi::custom_type!(Iin, String, { remote, try_lift: |s| Iin::parse(&s).map_err(lift_error), lower: |i| i.as_str().to_owned() });
// A КАТО code crosses as its 9 digits.
uniffi::custom_type!(Kato, String, { remote, try_lift: |s| Kato::parse(&s).map_err(lift_error), lower: |k| k.as_str().to_owned() });
uniffi::custom_type!(ChildId, String, { remote, try_lift: |s| ChildId::parse(&s).map_err(lift_error), lower: |i| i.as_str().to_owned() });
uniffi::custom_type!(RepresentativeId, String, {
    remote,
    try_lift: |s| RepresentativeId::parse(&s).map_err(lift_error),
    lower: |i| i.as_str().to_owned(),
});
uniffi::custom_type!(PlacementId, String, { remote, try_lift: |s| PlacementId::parse(&s).map_err(lift_error), lower: |i| i.as_str().to_owned() });
uniffi::custom_type!(EventId, String, { remote, try_lift: |s| EventId::parse(&s).map_err(lift_error), lower: |i| i.as_str().to_owned() });
uniffi::custom_type!(MentorId, String, { remote, try_lift: |s| MentorId::parse(&s).map_err(lift_error), lower: |i| i.as_str().to_owned() });
uniffi::custom_type!(MentorshipId, String, {
    remote,
    try_lift: |s| MentorshipId::parse(&s).map_err(lift_error),
    lower: |i| i.as_str().to_owned(),
});
uniffi::custom_type!(DocId, String, { remote, try_lift: |s| DocId::parse(&s).map_err(lift_error), lower: |i| i.to_string() });

/// A fresh id for a new child, representative, placement, event, mentor
/// or mentorship: 32 hex digits, made on this device.
#[uniffi::export]
pub fn new_id() -> String {
    EventId::new().as_str().to_owned()
}

/// Regions (ISO 3166-2:KZ numbers).
#[uniffi::remote(Enum)]
pub enum Region {
    Astana,
    AlmatyCity,
    Shymkent,
    Abai,
    Akmola,
    Aktobe,
    AlmatyRegion,
    Atyrau,
    WestKazakhstan,
    Zhambyl,
    Zhetisu,
    Karaganda,
    Kostanay,
    Kyzylorda,
    Mangystau,
    Pavlodar,
    NorthKazakhstan,
    Turkistan,
    Ulytau,
    EastKazakhstan,
}

/// Forms of placement.
#[uniffi::remote(Enum)]
pub enum PlacementForm {
    Adoption,
    Guardianship,
    Trusteeship,
    Patronat,
    FosterFamily,
    ChildrensVillage,
    Institution,
}

/// Orphan or left without parental care.
#[uniffi::remote(Enum)]
pub enum ChildStatus {
    Orphan,
    LeftWithoutCare,
}

/// Sex.
#[uniffi::remote(Enum)]
pub enum Sex {
    Male,
    Female,
}

/// A legal representative's role.
#[uniffi::remote(Enum)]
pub enum RepresentativeRole {
    Guardian,
    Trustee,
    FosterParent,
    PatronatEducator,
    AdoptiveParent,
}

/// Whether a representative may act.
#[uniffi::remote(Enum)]
pub enum RepresentativeStatus {
    Active,
    Suspended,
    Removed,
}

/// Kin relation to the child.
#[uniffi::remote(Enum)]
pub enum KinRelation {
    Grandparent,
    AuntUncle,
    AdultSibling,
    StepParent,
    OtherRelative,
}

/// Why a placement ended.
#[uniffi::remote(Enum)]
pub enum PlacementEndReason {
    CameOfAge,
    ReturnedToParents,
    Adopted,
    Replaced,
    RepresentativeRemoved,
    RepresentativeRequest,
    Other,
}

/// Risk factors: each is ground for immediate removal from duties.
#[uniffi::remote(Enum)]
pub enum RiskFactor {
    CriminalProsecution,
    PsychoneurologicalRegistration,
    NarcologicalRegistration,
}

/// Outcome of one part of the annual check.
#[uniffi::remote(Enum)]
pub enum CheckOutcome {
    Satisfactory,
    Unsatisfactory,
    NotProvided,
}

/// Conclusion of an annual check.
#[uniffi::remote(Enum)]
pub enum CheckConclusion {
    Suitable,
    SupportPlan,
    RemovalRecommended,
}

/// A source of income.
#[uniffi::remote(Enum)]
pub enum IncomeSourceKind {
    Employment,
    Pension,
    Benefits,
    Alimony,
    GuardianshipAllowance,
    Other,
}

/// Right of use of the home.
#[uniffi::remote(Enum)]
pub enum HousingRight {
    Owned,
    Rented,
    Other,
}

/// Kind of home.
#[uniffi::remote(Enum)]
pub enum HousingType {
    Apartment,
    House,
    Dormitory,
    Other,
}

/// Ground of a home visit.
#[uniffi::remote(Enum)]
pub enum VisitGround {
    Initial,
    Monitoring,
    AnnualCheck,
    Signal,
}

/// In person or remote.
#[uniffi::remote(Enum)]
pub enum MeetingMode {
    InPerson,
    Remote,
}

/// Where an annual check stands.
#[uniffi::remote(Enum)]
pub enum ScheduleState {
    Scheduled,
    Due,
    Overdue,
    Done,
}

/// A user interface language.
#[uniffi::remote(Enum)]
pub enum Lang {
    Kk,
    Ru,
    En,
}

/// Something accepted but worth a person's attention.
#[uniffi::remote(Enum)]
pub enum Warning {
    IinBirthDateMismatch { field: String },
    IinSexMismatch { field: String },
}

/// A person's name.
#[uniffi::remote(Record)]
pub struct FullName {
    pub family: String,
    pub given: String,
    pub patronymic: Option<String>,
}

/// A child's profile.
#[uniffi::remote(Record)]
pub struct Child {
    pub id: ChildId,
    pub iin: Iin,
    pub name: FullName,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    pub status: ChildStatus,
    pub region: Region,
    pub district: Kato,
    pub school: Option<String>,
}

/// A legal representative's profile.
#[uniffi::remote(Record)]
pub struct Representative {
    pub id: RepresentativeId,
    pub iin: Iin,
    pub name: FullName,
    pub birth_date: Option<NaiveDate>,
    pub address: String,
    pub phone: Option<String>,
    pub region: Region,
    pub district: Kato,
    pub role: RepresentativeRole,
    pub since: NaiveDate,
}

/// A placement.
#[uniffi::remote(Record)]
pub struct Placement {
    pub id: PlacementId,
    pub child_id: ChildId,
    pub representative_id: Option<RepresentativeId>,
    pub institution: Option<String>,
    pub form: PlacementForm,
    pub kin: Option<KinRelation>,
    pub kin_considered: bool,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub end_reason: Option<PlacementEndReason>,
}

/// A document presented as evidence.
#[uniffi::remote(Record)]
pub struct Evidence {
    pub document_number: String,
    pub issued_on: NaiveDate,
    pub issuer: String,
    pub valid_until: Option<NaiveDate>,
}

/// A source of household income.
#[uniffi::remote(Record)]
pub struct IncomeSource {
    pub kind: IncomeSourceKind,
    pub monthly_amount_kzt: i64,
}

/// Part 1 of the check: income.
#[uniffi::remote(Record)]
pub struct IncomePart {
    pub sources: Vec<IncomeSource>,
    pub household_members: u32,
    pub subsistence_minimum_kzt: i64,
    pub outcome: CheckOutcome,
    pub evidence: Option<Evidence>,
}

/// A certificate part of the check (health, criminal record).
#[uniffi::remote(Record)]
pub struct CertificatePart {
    pub outcome: CheckOutcome,
    pub evidence: Option<Evidence>,
}

/// Utilities in the home.
#[uniffi::remote(Record)]
pub struct Utilities {
    pub heating: bool,
    pub water: bool,
    pub sewerage: bool,
    pub gas: bool,
    pub electricity: bool,
}

/// The child's own space.
#[uniffi::remote(Record)]
pub struct ChildSpace {
    pub bed: bool,
    pub desk: bool,
    pub clothes: bool,
    pub books: bool,
}

/// Part 3 of the check: housing.
#[uniffi::remote(Record)]
pub struct HousingPart {
    pub right: HousingRight,
    pub kind: HousingType,
    pub area_m2: f64,
    pub rooms: u32,
    pub utilities: Utilities,
    pub sanitary_ok: bool,
    pub hazards: Option<String>,
    pub child_space: ChildSpace,
    pub outcome: CheckOutcome,
    pub evidence: Option<Evidence>,
}

/// An annual comprehensive check (an event, written once).
#[uniffi::remote(Record)]
pub struct AnnualCheck {
    pub id: EventId,
    pub representative_id: RepresentativeId,
    pub date: NaiveDate,
    pub examiner: String,
    pub income: IncomePart,
    pub health: CertificatePart,
    pub housing: HousingPart,
    pub criminal_record: CertificatePart,
    pub risk_factors: Vec<RiskFactor>,
    pub conclusion: CheckConclusion,
    pub notes: Option<String>,
    pub supersedes: Option<EventId>,
}

/// A risk factor reported outside a check.
#[uniffi::remote(Record)]
pub struct RiskReport {
    pub id: EventId,
    pub representative_id: RepresentativeId,
    pub date: NaiveDate,
    pub reported_by: String,
    pub factor: RiskFactor,
    pub source: String,
    pub supersedes: Option<EventId>,
}

/// A home visit (an event, written once).
#[uniffi::remote(Record)]
pub struct HomeVisit {
    pub id: EventId,
    pub child_id: ChildId,
    pub date: NaiveDate,
    pub examiner: String,
    pub ground: VisitGround,
    pub health: String,
    pub school: String,
    pub nutrition: String,
    pub relations: String,
    pub child_opinion: Option<String>,
    pub neglect_signs: bool,
    pub recommendations: String,
    pub next_visit: Option<NaiveDate>,
    pub supersedes: Option<EventId>,
}

/// A mentor's profile.
#[uniffi::remote(Record)]
pub struct Mentor {
    pub id: MentorId,
    pub user_id: String,
    pub iin: Iin,
    pub name: FullName,
    pub phone: Option<String>,
    pub region: Region,
    pub district: Kato,
    pub organisation: Option<String>,
}

/// A mentor's certificate.
#[uniffi::remote(Record)]
pub struct MentorCertificate {
    pub number: String,
    pub issuer: String,
    pub issued_on: NaiveDate,
    pub valid_until: NaiveDate,
}

/// A mentorship contract.
#[uniffi::remote(Record)]
pub struct Mentorship {
    pub id: MentorshipId,
    pub mentor_id: MentorId,
    pub child_id: ChildId,
    pub contract_ref: String,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
}

/// What a mentor may know of a mentee.
#[uniffi::remote(Record)]
pub struct MenteeProfile {
    pub given_name: String,
    pub family_name: String,
    pub birth_date: NaiveDate,
    pub school: Option<String>,
    pub district: Kato,
}

/// A mentor–child meeting (an event, written once).
#[uniffi::remote(Record)]
pub struct Meeting {
    pub id: EventId,
    pub mentorship_id: MentorshipId,
    pub date: NaiveDate,
    pub duration_minutes: u32,
    pub mode: MeetingMode,
    pub topics: Vec<String>,
    pub notes: Option<String>,
    pub supersedes: Option<EventId>,
}

/// The annual check schedule of a representative.
#[uniffi::remote(Record)]
pub struct CheckSchedule {
    pub last_check: Option<NaiveDate>,
    pub due_date: NaiveDate,
    pub state: ScheduleState,
}

/// A line of the caseload screen.
#[uniffi::remote(Record)]
pub struct CaseSummary {
    pub child_id: ChildId,
    pub display_name: String,
    pub iin_masked: String,
    pub birth_date: NaiveDate,
    pub district: String,
    pub placement_form: Option<PlacementForm>,
    pub urgent: bool,
    pub adoption: bool,
    pub last_visit: Option<NaiveDate>,
}

/// A representative whose check is due or overdue.
#[uniffi::remote(Record)]
pub struct DueCheck {
    pub representative_id: RepresentativeId,
    pub display_name: String,
    pub last_check: Option<NaiveDate>,
    pub due_date: NaiveDate,
    pub state: ScheduleState,
}

/// A mentee on a mentor's list.
#[uniffi::remote(Record)]
pub struct MenteeSummary {
    pub mentorship_id: MentorshipId,
    pub child_id: ChildId,
    pub display_name: String,
    pub birth_date: NaiveDate,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
}

/// Counts for the sync status screen.
#[uniffi::remote(Record)]
pub struct SyncSummary {
    pub pending: u64,
    pub pending_urgent: u64,
    pub failed: u64,
    pub cursor: u64,
}
