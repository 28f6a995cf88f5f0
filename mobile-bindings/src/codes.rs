//! Labels of every code list in Kazakh, Russian and English, from the
//! core's one table, for pickers and screens.

use qamqor_core::model::*;

/// Which code list.
#[derive(Debug, Clone, Copy, uniffi::Enum)]
pub enum CodeListKind {
    /// Regions.
    Region,
    /// Forms of placement.
    PlacementForm,
    /// Child status.
    ChildStatus,
    /// Sex.
    Sex,
    /// Representative roles.
    RepresentativeRole,
    /// Representative statuses.
    RepresentativeStatus,
    /// Kin relations.
    KinRelation,
    /// Reasons a placement ended.
    PlacementEndReason,
    /// Risk factors.
    RiskFactor,
    /// Outcomes of a check part.
    CheckOutcome,
    /// Check conclusions.
    CheckConclusion,
    /// Income sources.
    IncomeSourceKind,
    /// Housing rights.
    HousingRight,
    /// Housing types.
    HousingType,
    /// Visit grounds.
    VisitGround,
    /// Meeting modes.
    MeetingMode,
    /// Schedule states.
    ScheduleState,
    /// The office's decisions on removal.
    RemovalOutcome,
    /// Household members' relations to the representative.
    HouseholdRelation,
}

/// One entry of a code list: the stored code and its label.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CodeEntry {
    /// The stored code (`foster_family`, `75`).
    pub code: String,
    /// The label in the language asked for.
    pub label: String,
}

fn entries<T: CodeList>(lang: Lang) -> Vec<CodeEntry> {
    T::all().iter().map(|c| CodeEntry { code: c.code().to_owned(), label: c.label(lang).to_owned() }).collect()
}

/// Every entry of a code list, in display order, labelled in `lang`.
#[uniffi::export]
pub fn code_list(list: CodeListKind, lang: Lang) -> Vec<CodeEntry> {
    match list {
        CodeListKind::Region => entries::<Region>(lang),
        CodeListKind::PlacementForm => entries::<PlacementForm>(lang),
        CodeListKind::ChildStatus => entries::<ChildStatus>(lang),
        CodeListKind::Sex => entries::<Sex>(lang),
        CodeListKind::RepresentativeRole => entries::<RepresentativeRole>(lang),
        CodeListKind::RepresentativeStatus => entries::<RepresentativeStatus>(lang),
        CodeListKind::KinRelation => entries::<KinRelation>(lang),
        CodeListKind::PlacementEndReason => entries::<PlacementEndReason>(lang),
        CodeListKind::RiskFactor => entries::<RiskFactor>(lang),
        CodeListKind::CheckOutcome => entries::<CheckOutcome>(lang),
        CodeListKind::CheckConclusion => entries::<CheckConclusion>(lang),
        CodeListKind::IncomeSourceKind => entries::<IncomeSourceKind>(lang),
        CodeListKind::HousingRight => entries::<HousingRight>(lang),
        CodeListKind::HousingType => entries::<HousingType>(lang),
        CodeListKind::VisitGround => entries::<VisitGround>(lang),
        CodeListKind::MeetingMode => entries::<MeetingMode>(lang),
        CodeListKind::ScheduleState => entries::<ScheduleState>(lang),
        CodeListKind::RemovalOutcome => entries::<RemovalOutcome>(lang),
        CodeListKind::HouseholdRelation => entries::<HouseholdRelation>(lang),
    }
}

/// The label of a form of placement.
#[uniffi::export]
pub fn placement_form_label(form: PlacementForm, lang: Lang) -> String {
    form.label(lang).to_owned()
}

/// The label of a risk factor.
#[uniffi::export]
pub fn risk_factor_label(factor: RiskFactor, lang: Lang) -> String {
    factor.label(lang).to_owned()
}

/// The label of a region.
#[uniffi::export]
pub fn region_label(region: Region, lang: Lang) -> String {
    region.label(lang).to_owned()
}

/// The label of a representative's status.
#[uniffi::export]
pub fn representative_status_label(status: RepresentativeStatus, lang: Lang) -> String {
    status.label(lang).to_owned()
}

/// The label of a schedule state.
#[uniffi::export]
pub fn schedule_state_label(state: ScheduleState, lang: Lang) -> String {
    state.label(lang).to_owned()
}

/// Checks an IIN (date, century and sex digit, checksum) without storing
/// anything; the error names what is wrong.
#[uniffi::export]
pub fn validate_iin(iin: String) -> Result<(), crate::QamqorError> {
    Iin::parse(&iin).map(|_| ()).map_err(Into::into)
}

/// An IIN masked for screens (`79••••••••28`).
#[uniffi::export]
pub fn mask_iin(iin: Iin) -> String {
    iin.masked()
}
