//! The documented layout of an imported register: its sheets, their
//! columns in Kazakh, Russian and English, and the template that shows
//! them. `docs/import.md` describes the same layout for offices.

use qamqor_core::model::{
    CheckConclusion, CheckOutcome, ChildStatus, CodeList, HousingRight, HousingType, IncomeSourceKind, KinRelation,
    Lang, PlacementEndReason, PlacementForm, RepresentativeRole, RepresentativeStatus, RiskFactor, Sex, text,
};

use crate::error::{Result, ServerError};

/// A sheet of the register (a worksheet of a workbook, or one CSV file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sheet {
    /// Legal representatives.
    Representatives,
    /// Children.
    Children,
    /// Placements: which child is with whom, since when.
    Placements,
    /// Each representative's last annual check.
    Checks,
    /// Mentors.
    Mentors,
    /// Mentors' certificates.
    Certificates,
}

impl Sheet {
    /// Every sheet, in the order they are imported (a placement names a
    /// child and a representative, so both come first).
    pub const ALL: [Sheet; 6] = [
        Sheet::Representatives,
        Sheet::Children,
        Sheet::Placements,
        Sheet::Checks,
        Sheet::Mentors,
        Sheet::Certificates,
    ];

    /// The sheet's name in English (its key), Kazakh and Russian.
    pub fn names(self) -> [&'static str; 3] {
        match self {
            Sheet::Children => ["children", "балалар", "дети"],
            Sheet::Representatives => ["representatives", "заңды өкілдер", "законные представители"],
            Sheet::Placements => ["placements", "орналастыру", "устройство"],
            Sheet::Checks => ["checks", "тексерулер", "проверки"],
            Sheet::Mentors => ["mentors", "тәлімгерлер", "наставники"],
            Sheet::Certificates => ["certificates", "сертификаттар", "сертификаты"],
        }
    }

    /// The sheet's key (`children`).
    pub fn key(self) -> &'static str {
        self.names()[0]
    }

    /// The sheet a worksheet or file name means, in any of the languages
    /// (case and Kazakh letters folded); `None` for anything else.
    pub fn from_name(name: &str) -> Option<Sheet> {
        let name = text::fold(name.trim());
        let name = name.trim();
        Sheet::ALL.into_iter().find(|s| s.names().iter().any(|n| text::fold(n) == name))
    }

    /// The sheet's columns.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Sheet::Children => CHILDREN,
            Sheet::Representatives => REPRESENTATIVES,
            Sheet::Placements => PLACEMENTS,
            Sheet::Checks => CHECKS,
            Sheet::Mentors => MENTORS,
            Sheet::Certificates => CERTIFICATES,
        }
    }
}

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Free text.
    Text,
    /// An IIN: 12 digits.
    Iin,
    /// A date: `dd.mm.yyyy` or `yyyy-mm-dd` (or a spreadsheet date).
    Date,
    /// A 9-digit КАТО code of a district in the server's region.
    Kato,
    /// A whole number.
    Number,
    /// A decimal number.
    Decimal,
    /// Yes or no.
    YesNo,
    /// One code of a list, as its code or its label in any language.
    Code(&'static str),
    /// Codes of a list separated by commas or semicolons.
    Codes(&'static str),
}

/// A column of a sheet.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The column's key: the English header, used in the report.
    pub key: &'static str,
    /// Headers in Kazakh and Russian (the key is the English one).
    pub kk: &'static str,
    /// See `kk`.
    pub ru: &'static str,
    /// What it holds, in English.
    pub meaning: &'static str,
    /// Whether a row must fill it.
    pub required: bool,
    /// Its format.
    pub format: Format,
}

const fn col(
    key: &'static str,
    kk: &'static str,
    ru: &'static str,
    required: bool,
    format: Format,
    meaning: &'static str,
) -> Column {
    Column { key, kk, ru, meaning, required, format }
}

const IIN: Format = Format::Iin;
const DATE: Format = Format::Date;
const TEXT: Format = Format::Text;

const CHILDREN: &[Column] = &[
    col("iin", "ЖСН", "ИИН", true, IIN, "the child's IIN"),
    col("family_name", "тегі", "фамилия", true, TEXT, "family name"),
    col("given_name", "аты", "имя", true, TEXT, "given name"),
    col("patronymic", "әкесінің аты", "отчество", false, TEXT, "patronymic, if any"),
    col("birth_date", "туған күні", "дата рождения", true, DATE, "birth date as documented"),
    col("sex", "жынысы", "пол", false, Format::Code("sex"), "sex; read from the IIN when empty"),
    col("status", "мәртебесі", "статус", true, Format::Code("child status"), "orphan or left without parental care"),
    col("district", "аудан (КАТО)", "район (КАТО)", true, Format::Kato, "the district of the case"),
    col("school", "мектеп", "школа", false, TEXT, "school, if any"),
];

const REPRESENTATIVES: &[Column] = &[
    col("iin", "ЖСН", "ИИН", true, IIN, "the representative's IIN"),
    col("family_name", "тегі", "фамилия", true, TEXT, "family name"),
    col("given_name", "аты", "имя", true, TEXT, "given name"),
    col("patronymic", "әкесінің аты", "отчество", false, TEXT, "patronymic, if any"),
    col("birth_date", "туған күні", "дата рождения", false, DATE, "birth date, if documented apart from the IIN"),
    col("address", "мекенжайы", "адрес", true, TEXT, "home address"),
    col("phone", "телефоны", "телефон", false, TEXT, "phone number, 10 to 15 digits"),
    col("district", "аудан (КАТО)", "район (КАТО)", true, Format::Kato, "the district of the file"),
    col("role", "рөлі", "роль", true, Format::Code("representative role"), "the role held"),
    col("since", "міндеттерінің басталуы", "дата начала обязанностей", true, DATE, "the date duties began"),
    col(
        "status",
        "мәртебесі",
        "статус",
        false,
        Format::Code("representative status"),
        "active (when empty) or suspended; a removal is recorded with its order on a phone",
    ),
];

const PLACEMENTS: &[Column] = &[
    col("child_iin", "баланың ЖСН", "ИИН ребёнка", true, IIN, "the child placed (in this file or already registered)"),
    col(
        "representative_iin",
        "заңды өкілдің ЖСН",
        "ИИН законного представителя",
        false,
        IIN,
        "the representative (in this file or already registered); empty for an institution",
    ),
    col("institution", "ұйым", "организация", false, TEXT, "the institution's name, for an institution or village"),
    col(
        "form",
        "орналастыру нысаны",
        "форма устройства",
        true,
        Format::Code("placement form"),
        "the form of placement",
    ),
    col("kin", "туыстық", "родство", false, Format::Code("kin relation"), "the representative's kinship, if kin"),
    col("start_date", "басталған күні", "дата начала", true, DATE, "start of the placement"),
    col("end_date", "аяқталған күні", "дата окончания", false, DATE, "end of the placement, if it ended"),
    col(
        "end_reason",
        "аяқталу себебі",
        "причина окончания",
        false,
        Format::Code("placement end reason"),
        "why it ended (required with an end date)",
    ),
];

const CHECKS: &[Column] = &[
    col("representative_iin", "заңды өкілдің ЖСН", "ИИН законного представителя", true, IIN, "whose check"),
    col("date", "күні", "дата", true, DATE, "the date of the check"),
    col("examiner", "тексерген", "проверяющий", true, TEXT, "who made it"),
    col("household_members", "отбасы мүшелері", "членов семьи", true, Format::Number, "people in the household"),
    col(
        "income_source",
        "табыс көзі",
        "источник дохода",
        true,
        Format::Code("income source"),
        "the main source of income",
    ),
    col("monthly_income_kzt", "айлық табыс, тг", "доход в месяц, тг", true, Format::Number, "monthly income, tenge"),
    col(
        "subsistence_minimum_kzt",
        "ең төменгі күнкөріс деңгейі, тг",
        "прожиточный минимум, тг",
        true,
        Format::Number,
        "the subsistence minimum applied, tenge",
    ),
    col("income_outcome", "табыс қорытындысы", "итог по доходу", true, Format::Code("check outcome"), "income"),
    col("health_outcome", "денсаулық қорытындысы", "итог по здоровью", true, Format::Code("check outcome"), "health"),
    col(
        "criminal_record_outcome",
        "соттылық қорытындысы",
        "итог по судимости",
        true,
        Format::Code("check outcome"),
        "criminal record",
    ),
    col("housing_right", "тұрғын үйге құқық", "право на жильё", true, Format::Code("housing right"), "housing right"),
    col("housing_type", "тұрғын үй түрі", "тип жилья", true, Format::Code("housing type"), "housing type"),
    col("area_m2", "ауданы, м²", "площадь, м²", true, Format::Decimal, "living area, m²"),
    col("rooms", "бөлмелер", "комнат", true, Format::Number, "rooms"),
    col(
        "utilities",
        "коммуналдық қызметтер",
        "коммунальные услуги",
        false,
        Format::Codes("utility"),
        "utilities present: heating, water, sewerage, gas, electricity",
    ),
    col("sanitary_ok", "санитарлық жағдайы", "санитарное состояние", true, Format::YesNo, "sanitary state acceptable"),
    col(
        "child_space",
        "бала орны",
        "место ребёнка",
        false,
        Format::Codes("child space"),
        "what the child has: bed, desk, clothes, books",
    ),
    col("housing_outcome", "тұрғын үй қорытындысы", "итог по жилью", true, Format::Code("check outcome"), "housing"),
    col(
        "risk_factors",
        "қауіп факторлары",
        "факторы риска",
        false,
        Format::Codes("risk factor"),
        "risk factors found (each is ground for removal)",
    ),
    col("conclusion", "қорытынды", "заключение", true, Format::Code("check conclusion"), "the check's conclusion"),
    col("notes", "ескертпелер", "примечания", false, TEXT, "notes"),
    col(
        "income_document",
        "табыс анықтамасының нөмірі",
        "номер справки о доходах",
        false,
        TEXT,
        "the income certificate's number (required unless the income outcome is not_provided)",
    ),
    col("income_issued_on", "табыс анықтамасының күні", "дата справки о доходах", false, DATE, "its date of issue"),
    col("income_issuer", "табыс анықтамасын берген", "кем выдана справка о доходах", false, TEXT, "its issuer"),
    col(
        "health_document",
        "денсаулық анықтамасының нөмірі",
        "номер справки о здоровье",
        false,
        TEXT,
        "the health certificate's number (required unless the health outcome is not_provided)",
    ),
    col(
        "health_issued_on",
        "денсаулық анықтамасының күні",
        "дата справки о здоровье",
        false,
        DATE,
        "its date of issue",
    ),
    col("health_issuer", "денсаулық анықтамасын берген", "кем выдана справка о здоровье", false, TEXT, "its issuer"),
    col(
        "criminal_record_document",
        "соттылық анықтамасының нөмірі",
        "номер справки о судимости",
        false,
        TEXT,
        "the criminal record certificate's number (required unless that outcome is not_provided)",
    ),
    col(
        "criminal_record_issued_on",
        "соттылық анықтамасының күні",
        "дата справки о судимости",
        false,
        DATE,
        "its date of issue",
    ),
    col(
        "criminal_record_issuer",
        "соттылық анықтамасын берген",
        "кем выдана справка о судимости",
        false,
        TEXT,
        "its issuer",
    ),
];

const MENTORS: &[Column] = &[
    col("iin", "ЖСН", "ИИН", true, IIN, "the mentor's IIN"),
    col("family_name", "тегі", "фамилия", true, TEXT, "family name"),
    col("given_name", "аты", "имя", true, TEXT, "given name"),
    col("patronymic", "әкесінің аты", "отчество", false, TEXT, "patronymic, if any"),
    col("user_id", "пайдаланушы", "пользователь", true, TEXT, "the mentor's user id on this server"),
    col("phone", "телефоны", "телефон", false, TEXT, "phone number"),
    col("district", "аудан (КАТО)", "район (КАТО)", true, Format::Kato, "the mentor's district"),
    col("organisation", "ұйым", "организация", false, TEXT, "the mentoring organisation, if any"),
];

const CERTIFICATES: &[Column] = &[
    col("mentor_iin", "тәлімгердің ЖСН", "ИИН наставника", true, IIN, "whose certificate"),
    col("number", "нөмірі", "номер", true, TEXT, "certificate number"),
    col("issuer", "берген орган", "кем выдан", true, TEXT, "issuing body"),
    col("issued_on", "берілген күні", "дата выдачи", true, DATE, "date of issue"),
    col("valid_until", "жарамдылық мерзімі", "действителен до", true, DATE, "last day of validity"),
];

/// The codes of a list named in a [`Format`]: each code with its labels in
/// Kazakh, Russian and English.
pub fn codes(list: &str) -> Vec<[&'static str; 4]> {
    fn of<C: CodeList>() -> Vec<[&'static str; 4]> {
        C::all().iter().map(|c| [c.code(), c.label(Lang::Kk), c.label(Lang::Ru), c.label(Lang::En)]).collect()
    }
    match list {
        "sex" => of::<Sex>(),
        "child status" => of::<ChildStatus>(),
        "representative role" => of::<RepresentativeRole>(),
        "representative status" => {
            of::<RepresentativeStatus>().into_iter().filter(|c| c[0] != RepresentativeStatus::Removed.code()).collect()
        }
        "placement form" => of::<PlacementForm>(),
        "kin relation" => of::<KinRelation>(),
        "placement end reason" => of::<PlacementEndReason>(),
        "income source" => of::<IncomeSourceKind>(),
        "check outcome" => of::<CheckOutcome>(),
        "check conclusion" => of::<CheckConclusion>(),
        "housing right" => of::<HousingRight>(),
        "housing type" => of::<HousingType>(),
        "risk factor" => of::<RiskFactor>(),
        "utility" => vec![
            ["heating", "жылыту", "отопление", "heating"],
            ["water", "су", "водоснабжение", "water"],
            ["sewerage", "кәріз", "канализация", "sewerage"],
            ["gas", "газ", "газ", "gas"],
            ["electricity", "электр", "электричество", "electricity"],
        ],
        "child space" => vec![
            ["bed", "төсек", "кровать", "bed"],
            ["desk", "үстел", "стол", "desk"],
            ["clothes", "киім", "одежда", "clothes"],
            ["books", "кітаптар", "книги", "books"],
        ],
        _ => Vec::new(),
    }
}

/// Writes the template: one worksheet per sheet with its headers (the
/// keys; Kazakh or Russian headers are read too), a worksheet describing
/// every column, and one listing every code.
pub fn write_template(path: &std::path::Path) -> Result<()> {
    use rust_xlsxwriter::{Format as Fmt, Workbook};
    let bad = |e: rust_xlsxwriter::XlsxError| ServerError::Config(format!("the template could not be written: {e}"));
    let mut book = Workbook::new();
    let bold = Fmt::new().set_bold();
    for sheet in Sheet::ALL {
        let ws = book.add_worksheet();
        ws.set_name(sheet.key()).map_err(bad)?;
        for (i, c) in sheet.columns().iter().enumerate() {
            let i = i as u16;
            ws.write_string_with_format(0, i, c.key, &bold).map_err(bad)?;
            ws.set_column_width(i, 18).map_err(bad)?;
        }
        ws.set_freeze_panes(1, 0).map_err(bad)?;
    }
    let ws = book.add_worksheet();
    ws.set_name("columns").map_err(bad)?;
    for (i, h) in ["sheet", "column", "қазақша", "по-русски", "required", "format", "meaning"].iter().enumerate()
    {
        ws.write_string_with_format(0, i as u16, *h, &bold).map_err(bad)?;
    }
    let mut row = 1;
    for sheet in Sheet::ALL {
        for c in sheet.columns() {
            let format = match c.format {
                Format::Text => "text".to_owned(),
                Format::Iin => "IIN, 12 digits".to_owned(),
                Format::Date => "date: dd.mm.yyyy or yyyy-mm-dd".to_owned(),
                Format::Kato => "КАТО, 9 digits".to_owned(),
                Format::Number => "whole number".to_owned(),
                Format::Decimal => "number".to_owned(),
                Format::YesNo => "yes/no · иә/жоқ · да/нет".to_owned(),
                Format::Code(l) => format!("code: {l} (see codes)"),
                Format::Codes(l) => format!("codes: {l}, separated by commas (see codes)"),
            };
            let names = sheet.names();
            let cells = [
                format!("{} · {} · {}", names[0], names[1], names[2]),
                c.key.to_owned(),
                c.kk.to_owned(),
                c.ru.to_owned(),
                if c.required { "yes · иә · да" } else { "no · жоқ · нет" }.to_owned(),
                format,
                c.meaning.to_owned(),
            ];
            for (i, v) in cells.iter().enumerate() {
                ws.write_string(row, i as u16, v).map_err(bad)?;
            }
            row += 1;
        }
    }
    let ws = book.add_worksheet();
    ws.set_name("codes").map_err(bad)?;
    for (i, h) in ["list", "code", "қазақша", "по-русски", "English"].iter().enumerate() {
        ws.write_string_with_format(0, i as u16, *h, &bold).map_err(bad)?;
    }
    let mut lists: Vec<&str> = Vec::new();
    for sheet in Sheet::ALL {
        for c in sheet.columns() {
            if let Format::Code(l) | Format::Codes(l) = c.format
                && !lists.contains(&l)
            {
                lists.push(l);
            }
        }
    }
    let mut row = 1;
    for list in lists {
        for entry in codes(list) {
            ws.write_string(row, 0, list).map_err(bad)?;
            for (i, v) in entry.iter().enumerate() {
                ws.write_string(row, i as u16 + 1, *v).map_err(bad)?;
            }
            row += 1;
        }
    }
    book.save(path).map_err(bad)?;
    Ok(())
}
