//! The region's figures, as of a date, computed from the facts stored
//! beside each document (`core::docs::Facts`, written in the transaction
//! that stores a change, so figures are current while phones sync). Each
//! figure is defined here once; `docs/figures.md` says what it counts.
//! Figures are counts: no name, IIN or document id appears in them.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use qamqor_core::docs::facts::{CaseFacts, MeetingFacts, MenteeFacts, MentorFacts, RepFacts};
use qamqor_core::docs::{DocKind, Facts};
use qamqor_core::model::{CodeList, Kato, MAJORITY_AGE, PlacementForm, ScheduleState, age_on, schedule};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::Role;
use crate::service::Service;

/// The figures of one area (the region, or one district).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Children (under 18 on the date) with a placement in force.
    pub children_placed: u64,
    /// Of those, by form in force (guardianship reads as trusteeship from 14).
    pub by_form: BTreeMap<String, u64>,
    /// Of those, in family forms (every form but institution and children's village).
    pub in_families: u64,
    /// Of those, placed with kin.
    pub kinship: u64,
    /// Children registered whose placements have all ended, awaiting a new one.
    pub awaiting_placement: u64,
    /// Representatives in duties on the date (not removed by then).
    pub representatives: u64,
    /// Of those, with the year's check done.
    pub checks_done: u64,
    /// Of those, with the check due within 30 days.
    pub checks_due: u64,
    /// Of those, with the check overdue.
    pub checks_overdue: u64,
    /// Representatives with a risk factor raised and not cleared, not removed.
    pub open_risk_cases: u64,
    /// Removal recommendations awaiting the office's decision.
    pub removal_recommendations: u64,
    /// Removals from duties decided in the 12 months up to the date.
    pub removals_12m: u64,
    /// Home visits in the 6 months up to the date.
    pub visits_6m: u64,
    /// Children placed who had a home visit in those 6 months.
    pub children_visited_6m: u64,
    /// Mentorships in force.
    pub mentorships: u64,
}

impl Counts {
    /// Children in family forms, in per cent of children placed (one decimal).
    pub fn family_share(&self) -> f64 {
        if self.children_placed == 0 {
            return 0.0;
        }
        (self.in_families as f64 * 1000.0 / self.children_placed as f64).round() / 10.0
    }

    fn add(&mut self, o: &Counts) {
        self.children_placed += o.children_placed;
        for (k, v) in &o.by_form {
            *self.by_form.entry(k.clone()).or_default() += v;
        }
        self.in_families += o.in_families;
        self.kinship += o.kinship;
        self.awaiting_placement += o.awaiting_placement;
        self.representatives += o.representatives;
        self.checks_done += o.checks_done;
        self.checks_due += o.checks_due;
        self.checks_overdue += o.checks_overdue;
        self.open_risk_cases += o.open_risk_cases;
        self.removal_recommendations += o.removal_recommendations;
        self.removals_12m += o.removals_12m;
        self.visits_6m += o.visits_6m;
        self.children_visited_6m += o.children_visited_6m;
        self.mentorships += o.mentorships;
    }
}

/// Mentors and their certificates on the date.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MentorCounts {
    /// Mentors registered.
    pub mentors: u64,
    /// With a certificate valid on the date and beyond the next 60 days.
    pub certificate_valid: u64,
    /// With a valid certificate that expires within 60 days.
    pub certificate_expiring: u64,
    /// Whose certificates have all expired.
    pub certificate_expired: u64,
    /// With no certificate recorded (or none issued yet).
    pub certificate_none: u64,
    /// Meetings logged per month, the 12 months up to the date (`YYYY-MM`).
    pub meetings_per_month: BTreeMap<String, u64>,
}

/// A specialist's caseload on the date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecialistLoad {
    /// User id.
    pub user_id: String,
    /// Name.
    pub name: String,
    /// Children placed whose case the specialist holds (district or assignment).
    pub children: u64,
    /// Representatives whose file the specialist holds.
    pub representatives: u64,
    /// Of those, with the check due.
    pub checks_due: u64,
    /// Of those, with the check overdue.
    pub checks_overdue: u64,
}

/// Devices, as of now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceCounts {
    /// Devices enrolled and not revoked.
    pub active: u64,
    /// Of those, synced in the last 7 days.
    pub synced_7d: u64,
    /// Of those, not synced for more than 7 days (or never).
    pub silent: u64,
    /// Revoked devices.
    pub revoked: u64,
}

/// The region's figures on a date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// The date the figures describe.
    pub as_of: NaiveDate,
    /// The whole region.
    pub region: Counts,
    /// Per district (КАТО code).
    pub districts: BTreeMap<String, Counts>,
    /// Mentors.
    pub mentors: MentorCounts,
    /// Specialists and their caseloads.
    pub specialists: Vec<SpecialistLoad>,
    /// Devices.
    pub devices: DeviceCounts,
}

fn in_force(start: NaiveDate, end: Option<NaiveDate>, on: NaiveDate) -> bool {
    start <= on && end.is_none_or(|e| e > on)
}

fn months_before(d: NaiveDate, months: u32) -> NaiveDate {
    d.checked_sub_months(chrono::Months::new(months)).unwrap_or(NaiveDate::MIN)
}

/// What one case adds, and whether it is placed (for caseloads).
fn count_case(c: &CaseFacts, on: NaiveDate, into: &mut Counts) -> bool {
    if c.birth > on || age_on(c.birth, on) >= MAJORITY_AGE {
        return false;
    }
    let current = c.placements.iter().rev().find(|p| in_force(p.start, p.end, on));
    let Some(p) = current else {
        let started: Vec<_> = c.placements.iter().filter(|p| p.start <= on).collect();
        if !started.is_empty() {
            into.awaiting_placement += 1;
        }
        return false;
    };
    let form = p.form.in_force(c.birth, on);
    into.children_placed += 1;
    *into.by_form.entry(form.code().to_owned()).or_default() += 1;
    if !matches!(form, PlacementForm::Institution | PlacementForm::ChildrensVillage) {
        into.in_families += 1;
    }
    if p.kin {
        into.kinship += 1;
    }
    let from = months_before(on, 6);
    let visits = c.visits.iter().filter(|v| **v > from && **v <= on).count() as u64;
    into.visits_6m += visits;
    if visits > 0 {
        into.children_visited_6m += 1;
    }
    true
}

/// The check state of a representative in duties on `on`, if in duties.
fn rep_state(r: &RepFacts, on: NaiveDate) -> Option<ScheduleState> {
    let removed = r.decisions.iter().any(|(d, removed)| *removed && *d <= on);
    if removed || r.since > on {
        return None;
    }
    let last = r.checks.iter().filter(|d| **d <= on).max().copied();
    Some(schedule(r.since, last, on).state)
}

fn count_rep(r: &RepFacts, on: NaiveDate, into: &mut Counts) {
    let year_ago = months_before(on, 12);
    into.removals_12m += r.decisions.iter().filter(|(d, removed)| *removed && *d > year_ago && *d <= on).count() as u64;
    let Some(state) = rep_state(r, on) else { return };
    into.representatives += 1;
    match state {
        ScheduleState::Done | ScheduleState::Scheduled => into.checks_done += u64::from(state == ScheduleState::Done),
        ScheduleState::Due => into.checks_due += 1,
        ScheduleState::Overdue => into.checks_overdue += 1,
    }
    let upto = |v: &[NaiveDate]| v.iter().filter(|d| **d <= on).count();
    if upto(&r.risks_raised) > upto(&r.risks_cleared) {
        into.open_risk_cases += 1;
    }
    // A recommendation awaits a decision when none was taken (or cleared) after it.
    if let Some(latest) = r.recommended.iter().filter(|d| **d <= on).max() {
        let answered = r.decisions.iter().any(|(d, _)| d >= latest && *d <= on)
            || r.risks_cleared.iter().any(|d| d >= latest && *d <= on);
        if !answered {
            into.removal_recommendations += 1;
        }
    }
}

fn count_mentor(m: &MentorFacts, on: NaiveDate, into: &mut MentorCounts) {
    into.mentors += 1;
    let soon = on + chrono::Duration::days(60);
    let valid: Vec<_> = m.certificates.iter().filter(|(from, until)| *from <= on && *until >= on).collect();
    if let Some(longest) = valid.iter().map(|(_, until)| *until).max() {
        if longest <= soon {
            into.certificate_expiring += 1;
        } else {
            into.certificate_valid += 1;
        }
    } else if m.certificates.iter().any(|(_, until)| *until < on) {
        into.certificate_expired += 1;
    } else {
        into.certificate_none += 1;
    }
}

fn count_meetings(m: &MeetingFacts, on: NaiveDate, into: &mut MentorCounts) {
    let from = months_before(on, 12);
    for d in m.meetings.iter().filter(|d| **d > from && **d <= on) {
        *into.meetings_per_month.entry(format!("{:04}-{:02}", d.year(), d.month())).or_default() += 1;
    }
}

fn count_mentee(m: &MenteeFacts, on: NaiveDate, into: &mut Counts) {
    if in_force(m.start, m.end, on) {
        into.mentorships += 1;
    }
}

fn district_of(f: &Facts) -> Option<&str> {
    match f {
        Facts::Case(c) => Some(&c.district),
        Facts::Rep(r) => Some(&r.district),
        Facts::Mentor(m) => Some(&m.district),
        Facts::Mentee(m) => Some(&m.district),
        Facts::Mlog(m) => m.district.as_deref(),
    }
}

/// Computes the region's figures on `on` from every stored document's
/// facts; `now` (Unix seconds) dates the device counts.
pub fn compute(service: &Service, on: NaiveDate, now: i64) -> Result<Figures> {
    let storage = service.storage();
    let facts = storage.facts()?;
    let users = storage.users()?;
    let mut districts: BTreeMap<String, Counts> = BTreeMap::new();
    let mut mentors = MentorCounts::default();
    // For caseloads: each placed case and each representative in duties, by id and district.
    let mut held: Vec<(String, Option<Kato>, DocKind, Option<ScheduleState>)> = Vec::new();
    for (id, _tier, f) in &facts {
        let district = district_of(f).unwrap_or("").to_owned();
        let counts = districts.entry(district).or_default();
        match f {
            Facts::Case(c) => {
                if count_case(c, on, counts) {
                    held.push((id.to_string(), Kato::parse(&c.district).ok(), DocKind::Case, None));
                }
            }
            Facts::Rep(r) => {
                count_rep(r, on, counts);
                if let Some(state) = rep_state(r, on) {
                    held.push((id.to_string(), Kato::parse(&r.district).ok(), DocKind::Representative, Some(state)));
                }
            }
            Facts::Mentor(m) => count_mentor(m, on, &mut mentors),
            Facts::Mentee(m) => count_mentee(m, on, counts),
            Facts::Mlog(m) => count_meetings(m, on, &mut mentors),
        }
    }
    districts.remove("");
    let mut region = Counts::default();
    for c in districts.values() {
        region.add(c);
    }

    let mut specialists = Vec::new();
    for u in users.iter().filter(|u| u.role == Role::Specialist) {
        let grants = storage.grants(&u.id)?;
        let covers: Vec<Kato> = u.districts.iter().filter_map(|d| Kato::parse(d).ok()).collect();
        let mut load = SpecialistLoad {
            user_id: u.id.clone(),
            name: u.name.clone(),
            children: 0,
            representatives: 0,
            checks_due: 0,
            checks_overdue: 0,
        };
        for (id, district, kind, state) in &held {
            let in_district = district.as_ref().is_some_and(|k| covers.iter().any(|c| k.is_within(c)));
            if !in_district && !grants.assigned.contains(id) {
                continue;
            }
            match (kind, state) {
                (DocKind::Case, _) => load.children += 1,
                (_, Some(s)) => {
                    load.representatives += 1;
                    load.checks_due += u64::from(*s == ScheduleState::Due);
                    load.checks_overdue += u64::from(*s == ScheduleState::Overdue);
                }
                _ => {}
            }
        }
        specialists.push(load);
    }

    let mut devices = DeviceCounts::default();
    for d in storage.devices()? {
        if d.revoked_at.is_some() {
            devices.revoked += 1;
            continue;
        }
        devices.active += 1;
        if d.last_sync_at.is_some_and(|t| now - t <= 7 * 86_400) {
            devices.synced_7d += 1;
        } else {
            devices.silent += 1;
        }
    }
    Ok(Figures { as_of: on, region, districts, mentors, specialists, devices })
}

/// One figure of an area, with the stable key it has in exports and in
/// the report a region sends to the national server. The order of
/// [`Figure::all`] is the order of the dashboard's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Figure {
    /// [`Counts::children_placed`].
    ChildrenPlaced,
    /// [`Counts::in_families`].
    InFamilies,
    /// [`Counts::kinship`].
    Kinship,
    /// [`Counts::by_form`], one form.
    Form(PlacementForm),
    /// [`Counts::awaiting_placement`].
    Awaiting,
    /// [`Counts::representatives`].
    Representatives,
    /// [`Counts::checks_done`].
    ChecksDone,
    /// [`Counts::checks_due`].
    ChecksDue,
    /// [`Counts::checks_overdue`].
    ChecksOverdue,
    /// [`Counts::open_risk_cases`].
    OpenRisk,
    /// [`Counts::removal_recommendations`].
    Recommendations,
    /// [`Counts::removals_12m`].
    Removals,
    /// [`Counts::visits_6m`].
    Visits,
    /// [`Counts::children_visited_6m`].
    Visited,
    /// [`Counts::mentorships`].
    Mentorships,
}

impl Figure {
    /// Every figure, in display order.
    pub fn all() -> Vec<Figure> {
        let mut v = vec![Figure::ChildrenPlaced, Figure::InFamilies, Figure::Kinship];
        v.extend(PlacementForm::all().iter().map(|f| Figure::Form(*f)));
        v.extend([
            Figure::Awaiting,
            Figure::Representatives,
            Figure::ChecksDone,
            Figure::ChecksDue,
            Figure::ChecksOverdue,
            Figure::OpenRisk,
            Figure::Recommendations,
            Figure::Removals,
            Figure::Visits,
            Figure::Visited,
            Figure::Mentorships,
        ]);
        v
    }

    /// The stable key (`children_placed`, `by_form.guardianship`).
    pub fn key(self) -> String {
        let k = match self {
            Figure::ChildrenPlaced => "children_placed",
            Figure::InFamilies => "in_families",
            Figure::Kinship => "kinship",
            Figure::Form(f) => return format!("by_form.{}", f.code()),
            Figure::Awaiting => "awaiting_placement",
            Figure::Representatives => "representatives",
            Figure::ChecksDone => "checks_done",
            Figure::ChecksDue => "checks_due",
            Figure::ChecksOverdue => "checks_overdue",
            Figure::OpenRisk => "open_risk_cases",
            Figure::Recommendations => "removal_recommendations",
            Figure::Removals => "removals_12m",
            Figure::Visits => "visits_6m",
            Figure::Visited => "children_visited_6m",
            Figure::Mentorships => "mentorships",
        };
        k.to_owned()
    }

    /// The figure of a key, if it is one.
    pub fn parse(key: &str) -> Option<Figure> {
        Figure::all().into_iter().find(|f| f.key() == key)
    }

    /// Its value in `c`.
    pub fn of(self, c: &Counts) -> u64 {
        match self {
            Figure::ChildrenPlaced => c.children_placed,
            Figure::InFamilies => c.in_families,
            Figure::Kinship => c.kinship,
            Figure::Form(f) => c.by_form.get(f.code()).copied().unwrap_or(0),
            Figure::Awaiting => c.awaiting_placement,
            Figure::Representatives => c.representatives,
            Figure::ChecksDone => c.checks_done,
            Figure::ChecksDue => c.checks_due,
            Figure::ChecksOverdue => c.checks_overdue,
            Figure::OpenRisk => c.open_risk_cases,
            Figure::Recommendations => c.removal_recommendations,
            Figure::Removals => c.removals_12m,
            Figure::Visits => c.visits_6m,
            Figure::Visited => c.children_visited_6m,
            Figure::Mentorships => c.mentorships,
        }
    }
}

/// Region-wide figures beside the areas' [`Figure`]s: mentors,
/// certificates, specialists and devices. Keys as in [`RegionFigure::key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionFigure {
    /// [`MentorCounts::mentors`].
    Mentors,
    /// [`MentorCounts::certificate_valid`].
    CertificateValid,
    /// [`MentorCounts::certificate_expiring`].
    CertificateExpiring,
    /// [`MentorCounts::certificate_expired`].
    CertificateExpired,
    /// [`MentorCounts::certificate_none`].
    CertificateNone,
    /// Specialists registered.
    Specialists,
    /// The largest caseload of a specialist (children).
    CaseloadMax,
    /// [`DeviceCounts::active`].
    DevicesActive,
    /// [`DeviceCounts::synced_7d`].
    DevicesSynced,
    /// [`DeviceCounts::silent`].
    DevicesSilent,
    /// [`DeviceCounts::revoked`].
    DevicesRevoked,
}

impl RegionFigure {
    /// Every region-wide figure, in display order.
    pub const ALL: [RegionFigure; 11] = [
        RegionFigure::Mentors,
        RegionFigure::CertificateValid,
        RegionFigure::CertificateExpiring,
        RegionFigure::CertificateExpired,
        RegionFigure::CertificateNone,
        RegionFigure::Specialists,
        RegionFigure::CaseloadMax,
        RegionFigure::DevicesActive,
        RegionFigure::DevicesSynced,
        RegionFigure::DevicesSilent,
        RegionFigure::DevicesRevoked,
    ];

    /// The stable key.
    pub fn key(self) -> &'static str {
        match self {
            RegionFigure::Mentors => "mentors",
            RegionFigure::CertificateValid => "mentors.certificate_valid",
            RegionFigure::CertificateExpiring => "mentors.certificate_expiring",
            RegionFigure::CertificateExpired => "mentors.certificate_expired",
            RegionFigure::CertificateNone => "mentors.certificate_none",
            RegionFigure::Specialists => "specialists",
            RegionFigure::CaseloadMax => "specialists.caseload_max",
            RegionFigure::DevicesActive => "devices.active",
            RegionFigure::DevicesSynced => "devices.synced_7d",
            RegionFigure::DevicesSilent => "devices.silent",
            RegionFigure::DevicesRevoked => "devices.revoked",
        }
    }

    /// The figure of a key, if it is one.
    pub fn parse(key: &str) -> Option<RegionFigure> {
        RegionFigure::ALL.into_iter().find(|f| f.key() == key)
    }

    /// Its value in `f`.
    pub fn of(self, f: &Figures) -> u64 {
        match self {
            RegionFigure::Mentors => f.mentors.mentors,
            RegionFigure::CertificateValid => f.mentors.certificate_valid,
            RegionFigure::CertificateExpiring => f.mentors.certificate_expiring,
            RegionFigure::CertificateExpired => f.mentors.certificate_expired,
            RegionFigure::CertificateNone => f.mentors.certificate_none,
            RegionFigure::Specialists => f.specialists.len() as u64,
            RegionFigure::CaseloadMax => f.specialists.iter().map(|s| s.children).max().unwrap_or(0),
            RegionFigure::DevicesActive => f.devices.active,
            RegionFigure::DevicesSynced => f.devices.synced_7d,
            RegionFigure::DevicesSilent => f.devices.silent,
            RegionFigure::DevicesRevoked => f.devices.revoked,
        }
    }
}

/// The key of the meetings logged in a month (`meetings.2026-11`).
pub fn meetings_key(month: &str) -> String {
    format!("meetings.{month}")
}
