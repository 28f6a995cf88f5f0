//! Realistic sample records with valid IINs, for tests, benchmarks,
//! simulations and demonstrations. Deterministic for a given seed.

use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::model::iin::check_digit;
use crate::model::*;

const FAMILY: &[&str] = &[
    "Әбенов",
    "Нұрланов",
    "Сейітқали",
    "Жұмабаев",
    "Оспанов",
    "Қасымов",
    "Ғабдуллин",
    "Үсенов",
    "Ізбасаров",
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Төлеуов",
    "Ережепов",
    "Мұратов",
    "Шәріпов",
    "Бекұлы",
    "Рахимов",
    "Ахметов",
    "Петров",
];
const GIVEN_M: &[&str] =
    &["Нұрсұлтан", "Қайрат", "Ерлан", "Ілияс", "Әлібек", "Бауыржан", "Дәурен", "Алексей", "Ғани", "Айбек"];
const GIVEN_F: &[&str] = &["Әлия", "Гүлнар", "Айгерім", "Жансая", "Мөлдір", "Ұлжан", "Анна", "Дана", "Іңкәр", "Сәуле"];
const PATRONYMIC: &[&str] = &["Серікұлы", "Қанатұлы", "Ерланқызы", "Маратқызы", "Иванович", "Петровна"];

/// A seeded generator of sample records.
pub struct Sample {
    rng: StdRng,
    /// The "today" the records are made for.
    pub today: NaiveDate,
    /// The district the records belong to.
    pub district: Kato,
}

impl Sample {
    /// A generator for `district`, as of `today`.
    pub fn new(seed: u64, today: NaiveDate, district: Kato) -> Self {
        Sample { rng: StdRng::seed_from_u64(seed), today, district }
    }

    /// The underlying random generator.
    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }

    /// A valid IIN for a person born `birth` of sex `sex`.
    pub fn iin(&mut self, birth: NaiveDate, sex: Sex) -> Iin {
        use chrono::Datelike;
        let century = match birth.year() {
            y if y < 1900 => 1,
            y if y < 2000 => 3,
            _ => 5,
        } + u32::from(sex == Sex::Female);
        loop {
            let serial: u32 = self.rng.random_range(0..10_000);
            let s = format!("{:02}{:02}{:02}{}{:04}", birth.year() % 100, birth.month(), birth.day(), century, serial);
            let d: [u32; 11] = std::array::from_fn(|i| u32::from(s.as_bytes()[i] - b'0'));
            if let Some(c) = check_digit(&d)
                && let Ok(iin) = Iin::parse(&format!("{s}{c}"))
            {
                return iin;
            }
        }
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.rng.random_range(0..list.len())]
    }

    fn name(&mut self, sex: Sex) -> FullName {
        let given = if sex == Sex::Male { self.pick(GIVEN_M) } else { self.pick(GIVEN_F) };
        FullName {
            family: self.pick(FAMILY).to_owned(),
            given: given.to_owned(),
            patronymic: Some(self.pick(PATRONYMIC).to_owned()),
        }
    }

    fn date_between(&mut self, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        let days = (to - from).num_days().max(0);
        from + chrono::Duration::days(self.rng.random_range(0..=days))
    }

    /// A child aged 1 to 17.
    pub fn child(&mut self) -> Child {
        let sex = if self.rng.random_bool(0.5) { Sex::Male } else { Sex::Female };
        let birth = self.date_between(
            add_months(self.today, 12) - chrono::Duration::days(365 * 18),
            self.today - chrono::Duration::days(365),
        );
        Child {
            id: ChildId::new(),
            iin: self.iin(birth, sex),
            name: self.name(sex),
            birth_date: birth,
            sex,
            status: if self.rng.random_bool(0.3) { ChildStatus::Orphan } else { ChildStatus::LeftWithoutCare },
            region: self.district.region(),
            district: self.district.clone(),
            school: Some(format!("№{} мектеп-гимназия", self.rng.random_range(1..80))),
        }
    }

    /// A guardian who took up duties on `since`.
    pub fn representative(&mut self, since: NaiveDate) -> Representative {
        let sex = if self.rng.random_bool(0.7) { Sex::Female } else { Sex::Male };
        let birth = self.date_between(
            NaiveDate::from_ymd_opt(1955, 1, 1).unwrap_or_default(),
            NaiveDate::from_ymd_opt(1995, 1, 1).unwrap_or_default(),
        );
        Representative {
            id: RepresentativeId::new(),
            iin: self.iin(birth, sex),
            name: self.name(sex),
            birth_date: Some(birth),
            address: format!(
                "Абай к-сі, {} үй, {} пәтер",
                self.rng.random_range(1..200),
                self.rng.random_range(1..120)
            ),
            phone: Some(format!("+7 701 {:03} {:04}", self.rng.random_range(0..1000), self.rng.random_range(0..10000))),
            region: self.district.region(),
            district: self.district.clone(),
            role: RepresentativeRole::Guardian,
            since,
        }
    }

    /// A guardianship or trusteeship placement of `child` with `rep`, fitting the child's age.
    pub fn placement(&mut self, child: &Child, rep: &Representative, start: NaiveDate) -> Placement {
        let form = if age_on(child.birth_date, start) >= TRUSTEESHIP_AGE {
            PlacementForm::Trusteeship
        } else {
            PlacementForm::Guardianship
        };
        let kin = [None, Some(KinRelation::Grandparent), Some(KinRelation::AuntUncle)][self.rng.random_range(0..3)];
        Placement {
            id: PlacementId::new(),
            child_id: child.id.clone(),
            representative_id: Some(rep.id.clone()),
            institution: None,
            form,
            kin,
            kin_considered: true,
            start_date: start,
            end_date: None,
            end_reason: None,
        }
    }

    fn evidence(&mut self, on: NaiveDate, issuer: &str) -> Evidence {
        Evidence {
            document_number: format!("{}-{:06}", self.rng.random_range(10..99), self.rng.random_range(0..1_000_000)),
            issued_on: on - chrono::Duration::days(self.rng.random_range(0..20)),
            issuer: issuer.to_owned(),
            valid_until: Some(add_months(on, 12)),
        }
    }

    /// An annual check on `date`; with `risk`, a risk factor and the removal conclusion.
    pub fn check(&mut self, rep: &RepresentativeId, date: NaiveDate, risk: Option<RiskFactor>) -> AnnualCheck {
        AnnualCheck {
            id: EventId::new(),
            representative_id: rep.clone(),
            date,
            examiner: "specialist".into(),
            income: IncomePart {
                sources: vec![
                    IncomeSource {
                        kind: IncomeSourceKind::Employment,
                        monthly_amount_kzt: self.rng.random_range(150_000..450_000),
                    },
                    IncomeSource { kind: IncomeSourceKind::GuardianshipAllowance, monthly_amount_kzt: 58_000 },
                ],
                household_members: self.rng.random_range(2..6),
                members: Vec::new(),
                subsistence_minimum_kzt: 46_228,
                outcome: CheckOutcome::Satisfactory,
                evidence: Some(self.evidence(date, "ЕНПФ")),
            },
            health: CertificatePart {
                outcome: CheckOutcome::Satisfactory,
                evidence: Some(self.evidence(date, "Қалалық емхана №3")),
            },
            housing: HousingPart {
                right: HousingRight::Owned,
                kind: HousingType::Apartment,
                area_m2: f64::from(self.rng.random_range(40..120)),
                rooms: self.rng.random_range(2..5),
                utilities: Utilities { heating: true, water: true, sewerage: true, gas: false, electricity: true },
                sanitary_ok: true,
                hazards: None,
                child_space: ChildSpace { bed: true, desk: true, clothes: true, books: true },
                outcome: CheckOutcome::Satisfactory,
                evidence: None,
            },
            criminal_record: CertificatePart {
                outcome: CheckOutcome::Satisfactory,
                evidence: Some(self.evidence(date, "ҚР ІІМ")),
            },
            risk_factors: risk.into_iter().collect(),
            conclusion: if risk.is_some() { CheckConclusion::RemovalRecommended } else { CheckConclusion::Suitable },
            notes: None,
            supersedes: None,
        }
    }

    /// A home visit on `date`.
    pub fn visit(&mut self, child: &Child, date: NaiveDate) -> HomeVisit {
        HomeVisit {
            id: EventId::new(),
            child_id: child.id.clone(),
            date,
            examiner: "specialist".into(),
            ground: VisitGround::Monitoring,
            health: "Сау, егулері уақытында".into(),
            school: "Мектепке үзіліссіз барады".into(),
            nutrition: "Тамақтануы жеткілікті".into(),
            relations: "Отбасындағы қарым-қатынас жылы".into(),
            child_opinion: Some("Осы отбасында тұрғысы келеді".into()),
            neglect_signs: false,
            recommendations: "Бақылауды жалғастыру".into(),
            next_visit: Some(add_months(date, 6)),
            supersedes: None,
        }
    }

    /// A mentor.
    pub fn mentor(&mut self, user_id: &str) -> Mentor {
        let birth = NaiveDate::from_ymd_opt(1988, 4, 12).unwrap_or_default();
        Mentor {
            id: MentorId::new(),
            user_id: user_id.to_owned(),
            iin: self.iin(birth, Sex::Female),
            name: self.name(Sex::Female),
            phone: None,
            region: self.district.region(),
            district: self.district.clone(),
            organisation: Some("Тәлімгерлер орталығы".into()),
        }
    }

    /// A certificate valid from `issued` for `years`.
    pub fn certificate(&mut self, issued: NaiveDate, years: u32) -> MentorCertificate {
        MentorCertificate {
            number: format!("TM-{:06}", self.rng.random_range(0..1_000_000)),
            issuer: "Оқу-ағарту министрлігі".into(),
            issued_on: issued,
            valid_until: add_months(issued, 12 * years),
        }
    }

    /// A meeting on `date`.
    pub fn meeting(&mut self, mentorship: &MentorshipId, date: NaiveDate) -> Meeting {
        Meeting {
            id: EventId::new(),
            mentorship_id: mentorship.clone(),
            date,
            duration_minutes: self.rng.random_range(30..120),
            mode: if self.rng.random_bool(0.8) { MeetingMode::InPerson } else { MeetingMode::Remote },
            topics: vec!["Сабақ үлгерімі".into(), "Болашақ мамандық".into()],
            notes: Some("Бала белсенді, сұрақтар қойды".into()),
            supersedes: None,
        }
    }

    /// The office's decision on `rep`, by an order dated `date`.
    pub fn decision(&mut self, rep: &RepresentativeId, date: NaiveDate, outcome: RemovalOutcome) -> RemovalDecision {
        RemovalDecision {
            id: EventId::new(),
            representative_id: rep.clone(),
            outcome,
            order: OfficeOrder { number: format!("{}-ж", self.rng.random_range(1..999)), date },
            decided_by: "office".into(),
            note: None,
        }
    }

    /// The end of `placement` on `end` for `reason`.
    pub fn ending(&mut self, placement: &Placement, end: NaiveDate, reason: PlacementEndReason) -> PlacementEnding {
        PlacementEnding {
            id: EventId::new(),
            child_id: placement.child_id.clone(),
            placement_id: placement.id.clone(),
            end_date: end,
            reason,
            order: None,
            recorded_by: "specialist".into(),
            note: None,
        }
    }
}
