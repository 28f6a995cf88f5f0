//! The records and enums apps see. Most mirror the core's own types
//! (`#[uniffi::remote]`), so there is nothing to convert; views made for
//! screens are records of this crate.

use chrono::NaiveDate;
use qamqor_core::docs::DocId;
use qamqor_core::model::*;
use qamqor_core::store::{CaseSummary, DueCheck, MenteeSummary, SyncSummary};
use qamqor_core::sync::client::Enrollment;

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
    /// Astana (city).
    Astana,
    /// Almaty (city).
    AlmatyCity,
    /// Shymkent (city).
    Shymkent,
    /// Abai Region.
    Abai,
    /// Akmola Region.
    Akmola,
    /// Aktobe Region.
    Aktobe,
    /// Almaty Region.
    AlmatyRegion,
    /// Atyrau Region.
    Atyrau,
    /// West Kazakhstan Region.
    WestKazakhstan,
    /// Zhambyl Region.
    Zhambyl,
    /// Zhetisu Region.
    Zhetisu,
    /// Karaganda Region.
    Karaganda,
    /// Kostanay Region.
    Kostanay,
    /// Kyzylorda Region.
    Kyzylorda,
    /// Mangystau Region.
    Mangystau,
    /// Pavlodar Region.
    Pavlodar,
    /// North Kazakhstan Region.
    NorthKazakhstan,
    /// Turkistan Region.
    Turkistan,
    /// Ulytau Region.
    Ulytau,
    /// East Kazakhstan Region.
    EastKazakhstan,
}

/// Forms of placement.
#[uniffi::remote(Enum)]
pub enum PlacementForm {
    /// Adoption: permanent, by court, secret by law (own access tier).
    Adoption,
    /// Guardianship of a child under 14.
    Guardianship,
    /// Trusteeship of a child aged 14 to 18.
    Trusteeship,
    /// Patronat upbringing, by contract, the educator is paid.
    Patronat,
    /// Foster family, by contract.
    FosterFamily,
    /// Family-type children's village or youth home.
    ChildrensVillage,
    /// Institution for orphans, only when no family form is possible.
    Institution,
}

/// Orphan or left without parental care.
#[uniffi::remote(Enum)]
pub enum ChildStatus {
    /// An orphan.
    Orphan,
    /// A child left without parental care.
    LeftWithoutCare,
}

/// Sex.
#[uniffi::remote(Enum)]
pub enum Sex {
    /// Male.
    Male,
    /// Female.
    Female,
}

/// A legal representative's role.
#[uniffi::remote(Enum)]
pub enum RepresentativeRole {
    /// Guardian (child under 14).
    Guardian,
    /// Trustee (child 14–18).
    Trustee,
    /// Foster parent.
    FosterParent,
    /// Patronat educator.
    PatronatEducator,
    /// Adoptive parent.
    AdoptiveParent,
}

/// Whether a representative may act.
#[uniffi::remote(Enum)]
pub enum RepresentativeStatus {
    /// Active.
    Active,
    /// Temporarily suspended.
    Suspended,
    /// Removed from guardianship duties.
    Removed,
}

/// Kin relation to the child.
#[uniffi::remote(Enum)]
pub enum KinRelation {
    /// Grandparent.
    Grandparent,
    /// Aunt or uncle.
    AuntUncle,
    /// Adult sibling.
    AdultSibling,
    /// Step-parent.
    StepParent,
    /// Another relative.
    OtherRelative,
}

/// Why a placement ended.
#[uniffi::remote(Enum)]
pub enum PlacementEndReason {
    /// The child turned 18.
    CameOfAge,
    /// Returned to the birth parents.
    ReturnedToParents,
    /// Adopted.
    Adopted,
    /// Moved to another placement.
    Replaced,
    /// The representative was removed from duties.
    RepresentativeRemoved,
    /// The representative asked to be released.
    RepresentativeRequest,
    /// Another reason.
    Other,
}

/// The office's decision on a removal recommendation.
#[uniffi::remote(Enum)]
pub enum RemovalOutcome {
    /// Removed from duties.
    Removed,
    /// Not removed: the representative keeps the duties.
    NotRemoved,
}

/// A household member's relation to the representative.
#[uniffi::remote(Enum)]
pub enum HouseholdRelation {
    /// The representative.
    Representative,
    /// Spouse.
    Spouse,
    /// A child in the representative's care.
    ChildInCare,
    /// The representative's own child.
    OwnChild,
    /// The representative's parent.
    Parent,
    /// Brother or sister.
    Sibling,
    /// Another relative.
    OtherRelative,
    /// Not a relative.
    NotRelated,
}

/// Risk factors: each is ground for immediate removal from duties.
#[uniffi::remote(Enum)]
pub enum RiskFactor {
    /// Under criminal prosecution.
    CriminalProsecution,
    /// Registered at a psychoneurological dispensary.
    PsychoneurologicalRegistration,
    /// Registered at a narcological dispensary.
    NarcologicalRegistration,
}

/// Outcome of one part of the annual check.
#[uniffi::remote(Enum)]
pub enum CheckOutcome {
    /// Requirement met.
    Satisfactory,
    /// Requirement not met.
    Unsatisfactory,
    /// Evidence not provided.
    NotProvided,
}

/// Conclusion of an annual check.
#[uniffi::remote(Enum)]
pub enum CheckConclusion {
    /// The representative remains suitable.
    Suitable,
    /// Suitable with a support plan.
    SupportPlan,
    /// Removal from duties recommended.
    RemovalRecommended,
}

/// A source of income.
#[uniffi::remote(Enum)]
pub enum IncomeSourceKind {
    /// Wages from employment.
    Employment,
    /// Pension.
    Pension,
    /// State benefits.
    Benefits,
    /// Alimony.
    Alimony,
    /// The monthly allowance for the child's maintenance.
    GuardianshipAllowance,
    /// Another source.
    Other,
}

/// Right of use of the home.
#[uniffi::remote(Enum)]
pub enum HousingRight {
    /// Owned.
    Owned,
    /// Rented.
    Rented,
    /// Other right of use.
    Other,
}

/// Kind of home.
#[uniffi::remote(Enum)]
pub enum HousingType {
    /// A flat in a building.
    Apartment,
    /// A house.
    House,
    /// A dormitory.
    Dormitory,
    /// Other.
    Other,
}

/// Ground of a home visit.
#[uniffi::remote(Enum)]
pub enum VisitGround {
    /// The initial examination.
    Initial,
    /// A scheduled monitoring visit.
    Monitoring,
    /// As part of the annual check.
    AnnualCheck,
    /// Unscheduled, after a signal.
    Signal,
}

/// In person or remote.
#[uniffi::remote(Enum)]
pub enum MeetingMode {
    /// In person.
    InPerson,
    /// Remote (call, video).
    Remote,
}

/// Where an annual check stands.
#[uniffi::remote(Enum)]
pub enum ScheduleState {
    /// Not yet due.
    Scheduled,
    /// Due within 30 days.
    Due,
    /// Past the due date.
    Overdue,
    /// This year's check is done.
    Done,
}

/// A user interface language.
#[uniffi::remote(Enum)]
pub enum Lang {
    /// Kazakh (қазақша), Cyrillic.
    Kk,
    /// Russian (русский).
    Ru,
    /// English, for developers.
    En,
}

/// Something accepted but worth a person's attention.
#[uniffi::remote(Enum)]
pub enum Warning {
    /// The birth date entered disagrees with the one in the IIN. The IIN is
    /// never changed, even when formed wrongly, so both are kept.
    IinBirthDateMismatch { field: String },
    /// The sex entered disagrees with the IIN's 7th digit.
    IinSexMismatch { field: String },
}

/// A person's name.
#[uniffi::remote(Record)]
pub struct FullName {
    /// Family name (тегі / фамилия).
    pub family: String,
    /// Given name (аты / имя).
    pub given: String,
    /// Patronymic (әкесінің аты / отчество), if any.
    #[uniffi(default)]
    pub patronymic: Option<String>,
}

/// A child's profile.
#[uniffi::remote(Record)]
pub struct Child {
    /// The child's id, made on the device that registered the child.
    pub id: ChildId,
    /// The child's IIN.
    pub iin: Iin,
    /// The child's name.
    pub name: FullName,
    /// The birth date as documented (kept even when the IIN disagrees).
    pub birth_date: NaiveDate,
    /// Sex.
    pub sex: Sex,
    /// Orphan or left without parental care.
    pub status: ChildStatus,
    /// The region of the case.
    pub region: Region,
    /// The district (КАТО) of the case.
    pub district: Kato,
    /// The child's school, if any (shared with the mentor).
    #[uniffi(default)]
    pub school: Option<String>,
}

/// A legal representative's profile.
#[uniffi::remote(Record)]
pub struct Representative {
    /// The representative's id.
    pub id: RepresentativeId,
    /// IIN.
    pub iin: Iin,
    /// Name.
    pub name: FullName,
    /// Birth date, if documented separately from the IIN.
    #[uniffi(default)]
    pub birth_date: Option<NaiveDate>,
    /// Home address.
    pub address: String,
    /// Phone number.
    #[uniffi(default)]
    pub phone: Option<String>,
    /// Region.
    pub region: Region,
    /// District (КАТО).
    pub district: Kato,
    /// The role held.
    pub role: RepresentativeRole,
    /// The date duties began; the first annual check falls due a year later.
    pub since: NaiveDate,
}

/// A placement.
#[uniffi::remote(Record)]
pub struct Placement {
    /// The placement's id.
    pub id: PlacementId,
    /// The child placed.
    pub child_id: ChildId,
    /// The legal representative; `None` for an institution.
    #[uniffi(default)]
    pub representative_id: Option<RepresentativeId>,
    /// The institution's name, for institutional placements.
    #[uniffi(default)]
    pub institution: Option<String>,
    /// The form of placement as decided. Guardianship reads as trusteeship
    /// from the 14th birthday: see [`Placement::form_on`].
    pub form: PlacementForm,
    /// The representative's relation to the child when kin.
    #[uniffi(default)]
    pub kin: Option<KinRelation>,
    /// Whether relatives were considered first.
    pub kin_considered: bool,
    /// Start date.
    pub start_date: NaiveDate,
    /// End date, when ended.
    #[uniffi(default)]
    pub end_date: Option<NaiveDate>,
    /// Why it ended.
    #[uniffi(default)]
    pub end_reason: Option<PlacementEndReason>,
}

/// A document presented as evidence.
#[uniffi::remote(Record)]
pub struct Evidence {
    /// The document's number.
    pub document_number: String,
    /// The date of issue.
    pub issued_on: NaiveDate,
    /// Who issued it.
    pub issuer: String,
    /// The last day it is valid, if it expires.
    #[uniffi(default)]
    pub valid_until: Option<NaiveDate>,
}

/// A source of household income.
#[uniffi::remote(Record)]
pub struct IncomeSource {
    /// The kind of income.
    pub kind: IncomeSourceKind,
    /// Monthly amount in tenge.
    pub monthly_amount_kzt: i64,
}

/// Someone living in the representative's household.
#[uniffi::remote(Record)]
pub struct HouseholdMember {
    /// Name.
    pub name: FullName,
    /// Relation to the representative.
    pub relation: HouseholdRelation,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// IIN, where known.
    #[uniffi(default)]
    pub iin: Option<Iin>,
}

/// Part 1 of the check: income.
#[uniffi::remote(Record)]
pub struct IncomePart {
    /// The household's sources of income.
    #[uniffi(default)]
    pub sources: Vec<IncomeSource>,
    /// People living in the household, the child included.
    pub household_members: u32,
    /// Who they are, when listed (then as many as `household_members`;
    /// an empty list records the count only).
    #[uniffi(default)]
    pub members: Vec<HouseholdMember>,
    /// The subsistence minimum per person in force, in tenge.
    pub subsistence_minimum_kzt: i64,
    /// The outcome.
    pub outcome: CheckOutcome,
    /// The supporting document.
    #[uniffi(default)]
    pub evidence: Option<Evidence>,
}

/// A certificate part of the check (health, criminal record).
#[uniffi::remote(Record)]
pub struct CertificatePart {
    /// The outcome.
    pub outcome: CheckOutcome,
    /// The certificate.
    #[uniffi(default)]
    pub evidence: Option<Evidence>,
}

/// Utilities in the home.
#[uniffi::remote(Record)]
pub struct Utilities {
    /// Heating.
    pub heating: bool,
    /// Running water.
    pub water: bool,
    /// Sewerage.
    pub sewerage: bool,
    /// Gas.
    pub gas: bool,
    /// Electricity.
    pub electricity: bool,
}

/// The child's own space.
#[uniffi::remote(Record)]
pub struct ChildSpace {
    /// Own bed.
    pub bed: bool,
    /// A desk for schoolwork.
    pub desk: bool,
    /// Clothes for the season.
    pub clothes: bool,
    /// Books and school supplies.
    pub books: bool,
}

/// Part 3 of the check: housing.
#[uniffi::remote(Record)]
pub struct HousingPart {
    /// Right of use.
    pub right: HousingRight,
    /// Type of home.
    pub kind: HousingType,
    /// Living area in m².
    pub area_m2: f64,
    /// Number of rooms.
    pub rooms: u32,
    /// Utilities.
    pub utilities: Utilities,
    /// Whether the sanitary state is acceptable.
    pub sanitary_ok: bool,
    /// Hazards found, if any.
    #[uniffi(default)]
    pub hazards: Option<String>,
    /// The child's own space.
    pub child_space: ChildSpace,
    /// The outcome.
    pub outcome: CheckOutcome,
    /// The supporting document (title deed, lease).
    #[uniffi(default)]
    pub evidence: Option<Evidence>,
}

/// An annual comprehensive check (an event, written once).
#[uniffi::remote(Record)]
pub struct AnnualCheck {
    /// The event id, made on the device.
    pub id: EventId,
    /// The representative checked.
    pub representative_id: RepresentativeId,
    /// The date of the check.
    pub date: NaiveDate,
    /// The examiner (user id of the specialist).
    pub examiner: String,
    /// Income sources.
    pub income: IncomePart,
    /// Health certificate.
    pub health: CertificatePart,
    /// Housing conditions.
    pub housing: HousingPart,
    /// Criminal record certificate.
    pub criminal_record: CertificatePart,
    /// Risk factors found.
    #[uniffi(default)]
    pub risk_factors: Vec<RiskFactor>,
    /// The conclusion.
    pub conclusion: CheckConclusion,
    /// Notes.
    #[uniffi(default)]
    pub notes: Option<String>,
    /// The earlier check this one corrects, if any.
    #[uniffi(default)]
    pub supersedes: Option<EventId>,
}

/// A risk factor reported outside a check.
#[uniffi::remote(Record)]
pub struct RiskReport {
    /// The event id.
    pub id: EventId,
    /// The representative concerned.
    pub representative_id: RepresentativeId,
    /// The date the factor became known.
    pub date: NaiveDate,
    /// Who recorded it.
    pub reported_by: String,
    /// The factor.
    pub factor: RiskFactor,
    /// The source (letter number, authority).
    pub source: String,
    /// The earlier report this one corrects.
    #[uniffi(default)]
    pub supersedes: Option<EventId>,
}

/// A risk flag recorded in error, cleared by a person with a reason (an
/// event kept beside the flags).
#[uniffi::remote(Record)]
pub struct RiskClearance {
    /// The event id.
    pub id: EventId,
    /// The representative concerned.
    pub representative_id: RepresentativeId,
    /// The date of the decision to clear.
    pub date: NaiveDate,
    /// The factor cleared; none clears the removal recommendation
    /// (clearing the last raised factor clears it too).
    #[uniffi(default)]
    pub factor: Option<RiskFactor>,
    /// Why the flag was wrong (required).
    pub reason: String,
    /// Who cleared it (user id).
    pub cleared_by: String,
}

/// An order of the guardianship body.
#[uniffi::remote(Record)]
pub struct OfficeOrder {
    /// The order's number as printed.
    pub number: String,
    /// The order's date.
    pub date: NaiveDate,
}

/// A specialist's recommendation to remove a representative from duties
/// (an event; a check with a risk factor recommends removal by itself).
#[uniffi::remote(Record)]
pub struct RemovalRecommendation {
    /// The event id.
    pub id: EventId,
    /// The representative concerned.
    pub representative_id: RepresentativeId,
    /// The date of the recommendation.
    pub date: NaiveDate,
    /// Why removal is recommended (required).
    pub grounds: String,
    /// Who recommends it (user id).
    pub recommended_by: String,
}

/// The office's decision on a removal recommendation, by an order (an
/// event).
#[uniffi::remote(Record)]
pub struct RemovalDecision {
    /// The event id.
    pub id: EventId,
    /// The representative concerned.
    pub representative_id: RepresentativeId,
    /// Removed or not.
    pub outcome: RemovalOutcome,
    /// The order that decided it; its date is the decision's date.
    pub order: OfficeOrder,
    /// Who recorded the decision (user id).
    pub decided_by: String,
    /// Notes.
    #[uniffi(default)]
    pub note: Option<String>,
}

/// The end of a placement, with its reason (an event).
#[uniffi::remote(Record)]
pub struct PlacementEnding {
    /// The event id.
    pub id: EventId,
    /// The child.
    pub child_id: ChildId,
    /// The placement ended.
    pub placement_id: PlacementId,
    /// The last day of the placement.
    pub end_date: NaiveDate,
    /// Why it ended.
    pub reason: PlacementEndReason,
    /// The office's order, where one decided it.
    #[uniffi(default)]
    pub order: Option<OfficeOrder>,
    /// Who recorded it (user id).
    pub recorded_by: String,
    /// Notes.
    #[uniffi(default)]
    pub note: Option<String>,
}

/// The facts of a placement a correction may set right.
#[uniffi::remote(Record)]
pub struct PlacementFacts {
    /// Start date.
    pub start_date: NaiveDate,
    /// The representative's relation to the child when kin.
    #[uniffi(default)]
    pub kin: Option<KinRelation>,
    /// Whether relatives were considered first.
    pub kin_considered: bool,
}

/// A placement recorded wrongly, set right (an event keeping the facts as
/// they read before, the reason and who corrected it).
#[uniffi::remote(Record)]
pub struct PlacementCorrection {
    /// The event id.
    pub id: EventId,
    /// The child.
    pub child_id: ChildId,
    /// The placement corrected.
    pub placement_id: PlacementId,
    /// The date of the correction.
    pub date: NaiveDate,
    /// The facts as they should read.
    pub corrected: PlacementFacts,
    /// The facts as they read before: filled in by the store; pass none.
    #[uniffi(default)]
    pub previous: Option<PlacementFacts>,
    /// Why the record was wrong (required).
    pub reason: String,
    /// Who corrected it (user id).
    pub corrected_by: String,
}

/// A home visit (an event, written once).
#[uniffi::remote(Record)]
pub struct HomeVisit {
    /// The event id, made on the device.
    pub id: EventId,
    /// The child visited.
    pub child_id: ChildId,
    /// The date of the visit.
    pub date: NaiveDate,
    /// The examiner (user id of the specialist).
    pub examiner: String,
    /// The ground of the visit.
    pub ground: VisitGround,
    /// The child's health.
    pub health: String,
    /// School attendance and progress.
    pub school: String,
    /// Nutrition.
    pub nutrition: String,
    /// Relations in the household.
    pub relations: String,
    /// The child's own opinion (to be taken into account from age 10).
    #[uniffi(default)]
    pub child_opinion: Option<String>,
    /// Signs of neglect or violence were seen: makes the visit urgent.
    pub neglect_signs: bool,
    /// Recommendations.
    pub recommendations: String,
    /// The next visit planned.
    #[uniffi(default)]
    pub next_visit: Option<NaiveDate>,
    /// The earlier visit record this one corrects.
    #[uniffi(default)]
    pub supersedes: Option<EventId>,
}

/// A mentor's profile.
#[uniffi::remote(Record)]
pub struct Mentor {
    /// The mentor's id.
    pub id: MentorId,
    /// The mentor's user id on the regional server, which links the
    /// mentor's phone to this profile.
    pub user_id: String,
    /// IIN.
    pub iin: Iin,
    /// Name.
    pub name: FullName,
    /// Phone.
    #[uniffi(default)]
    pub phone: Option<String>,
    /// Region.
    pub region: Region,
    /// District (КАТО).
    pub district: Kato,
    /// The mentoring organisation, if any.
    #[uniffi(default)]
    pub organisation: Option<String>,
}

/// A mentor's certificate.
#[uniffi::remote(Record)]
pub struct MentorCertificate {
    /// Certificate number.
    pub number: String,
    /// Issuing body.
    pub issuer: String,
    /// Date of issue.
    pub issued_on: NaiveDate,
    /// Last day of validity.
    pub valid_until: NaiveDate,
}

/// A mentorship contract.
#[uniffi::remote(Record)]
pub struct Mentorship {
    /// The mentorship's id.
    pub id: MentorshipId,
    /// The mentor.
    pub mentor_id: MentorId,
    /// The child.
    pub child_id: ChildId,
    /// The contract's reference.
    pub contract_ref: String,
    /// Start date.
    pub start_date: NaiveDate,
    /// End date, when ended.
    #[uniffi(default)]
    pub end_date: Option<NaiveDate>,
}

/// What a mentor may know of a mentee.
#[uniffi::remote(Record)]
pub struct MenteeProfile {
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Birth date (for age-appropriate mentoring).
    pub birth_date: NaiveDate,
    /// School.
    #[uniffi(default)]
    pub school: Option<String>,
    /// District (КАТО).
    pub district: Kato,
}

/// A mentor–child meeting (an event, written once).
#[uniffi::remote(Record)]
pub struct Meeting {
    /// The event id.
    pub id: EventId,
    /// The mentorship.
    pub mentorship_id: MentorshipId,
    /// The date.
    pub date: NaiveDate,
    /// Duration in minutes.
    pub duration_minutes: u32,
    /// In person or remote.
    pub mode: MeetingMode,
    /// Topics discussed.
    #[uniffi(default)]
    pub topics: Vec<String>,
    /// Notes.
    #[uniffi(default)]
    pub notes: Option<String>,
    /// The earlier entry this one corrects.
    #[uniffi(default)]
    pub supersedes: Option<EventId>,
}

/// The annual check schedule of a representative.
#[uniffi::remote(Record)]
pub struct CheckSchedule {
    /// The last completed check, if any.
    #[uniffi(default)]
    pub last_check: Option<NaiveDate>,
    /// When the next check falls due.
    pub due_date: NaiveDate,
    /// The state as of the date asked.
    pub state: ScheduleState,
}

/// A line of the caseload screen.
#[uniffi::remote(Record)]
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
    #[uniffi(default)]
    pub placement_form: Option<PlacementForm>,
    /// Whether the case holds an urgent item.
    pub urgent: bool,
    /// Whether the case is an adoption record.
    pub adoption: bool,
    /// The last home visit.
    #[uniffi(default)]
    pub last_visit: Option<NaiveDate>,
}

/// A representative whose check is due or overdue.
#[uniffi::remote(Record)]
pub struct DueCheck {
    /// The representative.
    pub representative_id: RepresentativeId,
    /// Name.
    pub display_name: String,
    /// The last completed check.
    #[uniffi(default)]
    pub last_check: Option<NaiveDate>,
    /// The due date.
    pub due_date: NaiveDate,
    /// Due or overdue.
    pub state: ScheduleState,
}

/// A mentee on a mentor's list.
#[uniffi::remote(Record)]
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
    #[uniffi(default)]
    pub end_date: Option<NaiveDate>,
}

/// Counts for the sync status screen.
#[uniffi::remote(Record)]
pub struct SyncSummary {
    /// Documents with something to exchange.
    pub pending: u64,
    /// Of those, the urgent ones.
    pub pending_urgent: u64,
    /// Documents the server refused.
    pub failed: u64,
    /// The change-feed cursor.
    pub cursor: u64,
}

/// The server's answer to an enrollment.
#[uniffi::remote(Record)]
pub struct Enrollment {
    /// The device id.
    pub device_id: String,
    /// The bearer token: keep it in the Keystore or Keychain and pass it to
    /// `configure_sync` at the next app start.
    pub token: String,
    /// Token expiry, Unix seconds.
    pub expires_at: i64,
    /// The user id.
    pub user_id: String,
    /// `specialist`, `mentor` or `admin`.
    pub role: String,
    /// The region code.
    pub region: String,
}
