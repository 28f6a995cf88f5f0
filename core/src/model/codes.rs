//! Every code list of the domain, with its Kazakh, Russian and English label.
//!
//! This file is the one table a translator corrects: each line is a stored
//! code (never shown to users, never changed once shipped) and its three
//! labels. Apps show `label(lang)` in the user's language.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A user interface language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Kazakh (қазақша), Cyrillic.
    Kk,
    /// Russian (русский).
    Ru,
    /// English, for developers.
    En,
}

/// Implemented by every code list: the stored code and the three labels.
pub trait CodeList: Sized + Copy + 'static {
    /// The name of the list, for error messages (`"placement form"`).
    const LIST_NAME: &'static str;
    /// Every entry, in display order.
    fn all() -> &'static [Self];
    /// The stored code.
    fn code(self) -> &'static str;
    /// The label in `lang`.
    fn label(self, lang: Lang) -> &'static str;
    /// The entry stored as `code`, if this version knows it.
    fn from_code(code: &str) -> Option<Self> {
        Self::all().iter().copied().find(|c| c.code() == code)
    }
}

macro_rules! code_list {
    ($(#[$meta:meta])* $name:ident, $list_name:literal {
        $($(#[$vmeta:meta])* $var:ident = $code:literal, $kk:literal, $ru:literal, $en:literal;)+
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $var,)+
        }

        impl CodeList for $name {
            const LIST_NAME: &'static str = $list_name;
            fn all() -> &'static [Self] {
                &[$($name::$var,)+]
            }
            fn code(self) -> &'static str {
                match self { $($name::$var => $code,)+ }
            }
            fn label(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $(($name::$var, Lang::Kk) => $kk,
                      ($name::$var, Lang::Ru) => $ru,
                      ($name::$var, Lang::En) => $en,)+
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let code = String::deserialize(d)?;
                <$name as CodeList>::from_code(&code).ok_or_else(|| {
                    serde::de::Error::custom(format!("unknown {} code {:?}", $list_name, code))
                })
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::Error;
            fn from_str(s: &str) -> crate::Result<Self> {
                <$name as CodeList>::from_code(s).ok_or_else(|| crate::Error::UnknownCode {
                    list: $list_name,
                    code: s.chars().take(40).collect(),
                })
            }
        }
    };
}

code_list! {
    /// The 20 top-level administrative units (ISO 3166-2:KZ numbers, equal to
    /// the first two digits of the КАТО code).
    Region, "region" {
        /// Astana (city).
        Astana = "71", "Астана", "Астана", "Astana (city)";
        /// Almaty (city).
        AlmatyCity = "75", "Алматы", "Алматы", "Almaty (city)";
        /// Shymkent (city).
        Shymkent = "79", "Шымкент", "Шымкент", "Shymkent (city)";
        /// Abai Region.
        Abai = "10", "Абай облысы", "область Абай", "Abai Region";
        /// Akmola Region.
        Akmola = "11", "Ақмола облысы", "Акмолинская область", "Akmola Region";
        /// Aktobe Region.
        Aktobe = "15", "Ақтөбе облысы", "Актюбинская область", "Aktobe Region";
        /// Almaty Region.
        AlmatyRegion = "19", "Алматы облысы", "Алматинская область", "Almaty Region";
        /// Atyrau Region.
        Atyrau = "23", "Атырау облысы", "Атырауская область", "Atyrau Region";
        /// West Kazakhstan Region.
        WestKazakhstan = "27", "Батыс Қазақстан облысы", "Западно-Казахстанская область", "West Kazakhstan Region";
        /// Zhambyl Region.
        Zhambyl = "31", "Жамбыл облысы", "Жамбылская область", "Zhambyl Region";
        /// Zhetisu Region.
        Zhetisu = "33", "Жетісу облысы", "область Жетісу", "Zhetisu Region";
        /// Karaganda Region.
        Karaganda = "35", "Қарағанды облысы", "Карагандинская область", "Karaganda Region";
        /// Kostanay Region.
        Kostanay = "39", "Қостанай облысы", "Костанайская область", "Kostanay Region";
        /// Kyzylorda Region.
        Kyzylorda = "43", "Қызылорда облысы", "Кызылординская область", "Kyzylorda Region";
        /// Mangystau Region.
        Mangystau = "47", "Маңғыстау облысы", "Мангистауская область", "Mangystau Region";
        /// Pavlodar Region.
        Pavlodar = "55", "Павлодар облысы", "Павлодарская область", "Pavlodar Region";
        /// North Kazakhstan Region.
        NorthKazakhstan = "59", "Солтүстік Қазақстан облысы", "Северо-Казахстанская область", "North Kazakhstan Region";
        /// Turkistan Region.
        Turkistan = "61", "Түркістан облысы", "Туркестанская область", "Turkistan Region";
        /// Ulytau Region.
        Ulytau = "62", "Ұлытау облысы", "область Ұлытау", "Ulytau Region";
        /// East Kazakhstan Region.
        EastKazakhstan = "63", "Шығыс Қазақстан облысы", "Восточно-Казахстанская область", "East Kazakhstan Region";
    }
}

code_list! {
    /// Forms of placement (Code on Marriage and Family, 2011). Kinship is not
    /// a form: it is recorded on the placement as the relation.
    PlacementForm, "placement form" {
        /// Adoption: permanent, by court, secret by law (own access tier).
        Adoption = "adoption", "Бала асырап алу", "Усыновление (удочерение)", "Adoption";
        /// Guardianship of a child under 14.
        Guardianship = "guardianship", "Қорғаншылық", "Опека", "Guardianship (under 14)";
        /// Trusteeship of a child aged 14 to 18.
        Trusteeship = "trusteeship", "Қамқоршылық", "Попечительство", "Trusteeship (14–18)";
        /// Patronat upbringing, by contract, the educator is paid.
        Patronat = "patronat", "Патронаттық тәрбие", "Патронатное воспитание", "Patronat upbringing";
        /// Foster family, by contract.
        FosterFamily = "foster_family", "Қабылдаушы отбасы", "Приёмная семья", "Foster family";
        /// Family-type children's village or youth home.
        ChildrensVillage = "childrens_village", "Отбасылық үлгідегі балалар ауылы, жасөспірімдер үйі", "Детская деревня семейного типа, дом юношества", "Family-type children's village, youth home";
        /// Institution for orphans, only when no family form is possible.
        Institution = "institution", "Жетім балаларға арналған ұйым", "Организация для детей-сирот", "Institution for orphans";
    }
}

impl PlacementForm {
    /// Whether the child lives in a family under this form (for the share
    /// of children raised in families).
    pub fn is_family_form(self) -> bool {
        !matches!(self, PlacementForm::Institution)
    }
}

code_list! {
    /// Why a child is in the system.
    ChildStatus, "child status" {
        /// An orphan.
        Orphan = "orphan", "Жетім бала", "Ребёнок-сирота", "Orphan";
        /// A child left without parental care.
        LeftWithoutCare = "left_without_care", "Ата-анасының қамқорлығынсыз қалған бала", "Ребёнок, оставшийся без попечения родителей", "Child left without parental care";
    }
}

code_list! {
    /// Sex, as the IIN's 7th digit encodes it.
    Sex, "sex" {
        /// Male.
        Male = "male", "Ер", "Мужской", "Male";
        /// Female.
        Female = "female", "Әйел", "Женский", "Female";
    }
}

code_list! {
    /// The role a legal representative holds.
    RepresentativeRole, "representative role" {
        /// Guardian (child under 14).
        Guardian = "guardian", "Қорғаншы", "Опекун", "Guardian";
        /// Trustee (child 14–18).
        Trustee = "trustee", "Қамқоршы", "Попечитель", "Trustee";
        /// Foster parent.
        FosterParent = "foster_parent", "Қабылдаушы ата-ана", "Приёмный родитель", "Foster parent";
        /// Patronat educator.
        PatronatEducator = "patronat_educator", "Патронаттық тәрбиеші", "Патронатный воспитатель", "Patronat educator";
        /// Adoptive parent.
        AdoptiveParent = "adoptive_parent", "Асырап алушы", "Усыновитель", "Adoptive parent";
    }
}

code_list! {
    /// Whether a legal representative may act.
    RepresentativeStatus, "representative status" {
        /// Active.
        Active = "active", "Белсенді", "Действующий", "Active";
        /// Temporarily suspended.
        Suspended = "suspended", "Уақытша тоқтатылған", "Приостановлен", "Suspended";
        /// Removed from guardianship duties.
        Removed = "removed", "Міндеттерін атқарудан шеттетілген", "Отстранён от исполнения обязанностей", "Removed from duties";
    }
}

code_list! {
    /// A representative's relation to a child, when kin.
    KinRelation, "kin relation" {
        /// Grandparent.
        Grandparent = "grandparent", "Ата немесе әже", "Дедушка или бабушка", "Grandparent";
        /// Aunt or uncle.
        AuntUncle = "aunt_uncle", "Апа, тәте немесе аға, нағашы", "Тётя или дядя", "Aunt or uncle";
        /// Adult sibling.
        AdultSibling = "adult_sibling", "Кәмелетке толған аға, әпке", "Совершеннолетний брат или сестра", "Adult sibling";
        /// Step-parent.
        StepParent = "step_parent", "Өгей ата-ана", "Отчим или мачеха", "Step-parent";
        /// Another relative.
        OtherRelative = "other_relative", "Басқа туыс", "Другой родственник", "Other relative";
    }
}

code_list! {
    /// Why a placement ended.
    PlacementEndReason, "placement end reason" {
        /// The child turned 18.
        CameOfAge = "came_of_age", "Кәмелетке толды", "Достижение совершеннолетия", "Came of age";
        /// Returned to the birth parents.
        ReturnedToParents = "returned_to_parents", "Ата-анасына қайтарылды", "Возвращён родителям", "Returned to parents";
        /// Adopted.
        Adopted = "adopted", "Асырап алынды", "Усыновлён", "Adopted";
        /// Moved to another placement.
        Replaced = "replaced", "Басқа орналастыруға ауыстырылды", "Переустройство", "Re-placement";
        /// The representative was removed from duties.
        RepresentativeRemoved = "representative_removed", "Заңды өкіл міндеттерінен шеттетілді", "Отстранение законного представителя", "Representative removed from duties";
        /// The representative asked to be released.
        RepresentativeRequest = "representative_request", "Заңды өкілдің өтініші бойынша", "По заявлению законного представителя", "At the representative's request";
        /// Another reason.
        Other = "other", "Басқа себеп", "Иная причина", "Other";
    }
}

code_list! {
    /// Risk factors: any one is ground for immediate removal from duties.
    RiskFactor, "risk factor" {
        /// Under criminal prosecution.
        CriminalProsecution = "criminal_prosecution", "Қылмыстық қудалау", "Уголовное преследование", "Criminal prosecution";
        /// Registered at a psychoneurological dispensary.
        PsychoneurologicalRegistration = "psychoneurological_registration", "Психоневрологиялық диспансерде есепте тұру", "Состоит на учёте в психоневрологическом диспансере", "Registered at a psychoneurological dispensary";
        /// Registered at a narcological dispensary.
        NarcologicalRegistration = "narcological_registration", "Наркологиялық диспансерде есепте тұру", "Состоит на учёте в наркологическом диспансере", "Registered at a narcological dispensary";
    }
}

code_list! {
    /// The office's decision on a removal recommendation.
    RemovalOutcome, "removal outcome" {
        /// Removed from duties.
        Removed = "removed", "Міндеттерінен шеттетілді", "Отстранён от исполнения обязанностей", "Removed from duties";
        /// Not removed: the representative keeps the duties.
        NotRemoved = "not_removed", "Міндеттерінен шеттетілмеді", "Не отстранён", "Not removed";
    }
}

code_list! {
    /// A household member's relation to the representative.
    HouseholdRelation, "household relation" {
        /// The representative.
        Representative = "representative", "Заңды өкілдің өзі", "Сам законный представитель", "The representative";
        /// Spouse.
        Spouse = "spouse", "Жұбайы", "Супруг или супруга", "Spouse";
        /// A child in the representative's care.
        ChildInCare = "child_in_care", "Қамқорлықтағы бала", "Подопечный ребёнок", "Child in care";
        /// The representative's own child.
        OwnChild = "own_child", "Өз баласы", "Собственный ребёнок", "Own child";
        /// The representative's parent.
        Parent = "parent", "Ата-анасы", "Родитель", "Parent";
        /// Brother or sister.
        Sibling = "sibling", "Бауыры немесе әпкесі, сіңлісі", "Брат или сестра", "Sibling";
        /// Another relative.
        OtherRelative = "other_relative", "Басқа туыс", "Другой родственник", "Other relative";
        /// Not a relative.
        NotRelated = "not_related", "Туыс емес", "Не родственник", "Not related";
    }
}

code_list! {
    /// The outcome of one part of the annual check.
    CheckOutcome, "check outcome" {
        /// Requirement met.
        Satisfactory = "satisfactory", "Талапқа сай", "Соответствует", "Satisfactory";
        /// Requirement not met.
        Unsatisfactory = "unsatisfactory", "Талапқа сай емес", "Не соответствует", "Unsatisfactory";
        /// Evidence not provided.
        NotProvided = "not_provided", "Құжат ұсынылмады", "Документ не представлен", "Not provided";
    }
}

code_list! {
    /// The conclusion of an annual check.
    CheckConclusion, "check conclusion" {
        /// The representative remains suitable.
        Suitable = "suitable", "Сай келеді", "Соответствует требованиям", "Suitable";
        /// Suitable with a support plan.
        SupportPlan = "support_plan", "Қолдау жоспары қажет", "Требуется план поддержки", "Support plan";
        /// Removal from duties recommended.
        RemovalRecommended = "removal_recommended", "Міндеттерінен шеттету ұсынылады", "Рекомендовано отстранение от обязанностей", "Removal from duties recommended";
    }
}

code_list! {
    /// A source of household income.
    IncomeSourceKind, "income source" {
        /// Wages from employment.
        Employment = "employment", "Еңбекақы", "Заработная плата", "Employment";
        /// Pension.
        Pension = "pension", "Зейнетақы", "Пенсия", "Pension";
        /// State benefits.
        Benefits = "benefits", "Жәрдемақы", "Пособия", "Benefits";
        /// Alimony.
        Alimony = "alimony", "Алимент", "Алименты", "Alimony";
        /// The monthly allowance for the child's maintenance.
        GuardianshipAllowance = "guardianship_allowance", "Балаға арналған ай сайынғы ақшалай қаражат", "Ежемесячная выплата на содержание ребёнка", "Guardianship allowance";
        /// Another source.
        Other = "other", "Басқа табыс", "Иной доход", "Other";
    }
}

code_list! {
    /// The right by which the household uses its home.
    HousingRight, "housing right" {
        /// Owned.
        Owned = "owned", "Меншік", "Собственность", "Owned";
        /// Rented.
        Rented = "rented", "Жалға алынған", "Аренда", "Rented";
        /// Other right of use.
        Other = "other", "Басқа", "Иное", "Other";
    }
}

code_list! {
    /// The kind of home.
    HousingType, "housing type" {
        /// A flat in a building.
        Apartment = "apartment", "Пәтер", "Квартира", "Apartment";
        /// A house.
        House = "house", "Жеке үй", "Частный дом", "House";
        /// A dormitory.
        Dormitory = "dormitory", "Жатақхана", "Общежитие", "Dormitory";
        /// Other.
        Other = "other", "Басқа", "Иное", "Other";
    }
}

code_list! {
    /// The ground of a home visit.
    VisitGround, "visit ground" {
        /// The initial examination.
        Initial = "initial", "Алғашқы тексеру", "Первичное обследование", "Initial";
        /// A scheduled monitoring visit.
        Monitoring = "monitoring", "Жоспарлы бару", "Плановое посещение", "Scheduled monitoring";
        /// As part of the annual check.
        AnnualCheck = "annual_check", "Жыл сайынғы тексеру", "Ежегодная проверка", "Annual check";
        /// Unscheduled, after a signal.
        Signal = "signal", "Хабарлама бойынша жоспардан тыс", "Внеплановое по сигналу", "Unscheduled after a signal";
    }
}

code_list! {
    /// How a mentor met the child.
    MeetingMode, "meeting mode" {
        /// In person.
        InPerson = "in_person", "Бетпе-бет", "Очно", "In person";
        /// Remote (call, video).
        Remote = "remote", "Қашықтан", "Дистанционно", "Remote";
    }
}

code_list! {
    /// Where a representative's annual check stands on a date.
    ScheduleState, "schedule state" {
        /// Not yet due.
        Scheduled = "scheduled", "Жоспарланған", "Запланирована", "Scheduled";
        /// Due within 30 days.
        Due = "due", "Мерзімі жақын", "Срок подходит", "Due";
        /// Past the due date.
        Overdue = "overdue", "Мерзімі өтіп кетті", "Просрочена", "Overdue";
        /// This year's check is done.
        Done = "done", "Орындалды", "Выполнена", "Done";
    }
}

code_list! {
    /// The kinds of file an attachment may be: scans and photos, told by
    /// their content, never by a name or a declared type.
    MediaType, "attachment type" {
        /// A JPEG photo or scan.
        Jpeg = "image/jpeg", "JPEG сурет", "Фото JPEG", "JPEG photo";
        /// A PNG image.
        Png = "image/png", "PNG сурет", "Изображение PNG", "PNG image";
        /// A PDF document.
        Pdf = "application/pdf", "PDF құжат", "Документ PDF", "PDF document";
    }
}

impl MediaType {
    /// The type a file's first bytes show (JPEG, PNG or PDF), if any.
    pub fn sniff(bytes: &[u8]) -> Option<MediaType> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(MediaType::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(MediaType::Png)
        } else if bytes.starts_with(b"%PDF-") {
            Some(MediaType::Pdf)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_list<T: CodeList + std::fmt::Debug>() {
        let mut seen = std::collections::HashSet::new();
        for &c in T::all() {
            assert!(seen.insert(c.code()), "duplicate code {}", c.code());
            for lang in [Lang::Kk, Lang::Ru, Lang::En] {
                assert!(!c.label(lang).is_empty());
            }
            assert_eq!(T::from_code(c.code()).map(|x| x.code()), Some(c.code()));
        }
    }

    #[test]
    fn every_list_is_complete_and_unique() {
        check_list::<Region>();
        check_list::<PlacementForm>();
        check_list::<ChildStatus>();
        check_list::<Sex>();
        check_list::<RepresentativeRole>();
        check_list::<RepresentativeStatus>();
        check_list::<KinRelation>();
        check_list::<PlacementEndReason>();
        check_list::<RiskFactor>();
        check_list::<CheckOutcome>();
        check_list::<CheckConclusion>();
        check_list::<IncomeSourceKind>();
        check_list::<HousingRight>();
        check_list::<HousingType>();
        check_list::<VisitGround>();
        check_list::<MeetingMode>();
        check_list::<ScheduleState>();
        check_list::<RemovalOutcome>();
        check_list::<HouseholdRelation>();
        check_list::<MediaType>();
        assert_eq!(Region::all().len(), 20);
    }

    #[test]
    fn serde_uses_codes() {
        assert_eq!(serde_json::to_string(&Region::Astana).unwrap(), "\"71\"");
        let f: PlacementForm = serde_json::from_str("\"foster_family\"").unwrap();
        assert_eq!(f, PlacementForm::FosterFamily);
        assert!(serde_json::from_str::<PlacementForm>("\"nope\"").is_err());
        assert_eq!(Region::Ulytau.label(Lang::Kk), "Ұлытау облысы");
    }

    #[test]
    fn attachments_are_told_by_content() {
        assert_eq!(MediaType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]), Some(MediaType::Jpeg));
        assert_eq!(MediaType::sniff(b"\x89PNG\r\n\x1a\n\0\0"), Some(MediaType::Png));
        assert_eq!(MediaType::sniff(b"%PDF-1.7\n"), Some(MediaType::Pdf));
        for other in [&b"GIF89a"[..], b"PK\x03\x04", b"", b"%PD"] {
            assert_eq!(MediaType::sniff(other), None);
        }
    }
}
