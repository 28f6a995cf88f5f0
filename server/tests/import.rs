//! Importing an office's register: real XLSX and CSV files written by the
//! tests, a dry run's report checked row by row, a confirmed run, a
//! re-import, a corrected file, and fields a phone changed since.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use qamqor_core::docs::{CaseDoc, DocId, DocKind, MentorDoc, RepresentativeDoc, read_view};
use qamqor_core::model::{Kato, Region, Sex};
use qamqor_core::sample::Sample;
use qamqor_server::import::layout::Sheet;
use qamqor_server::import::{self, Change, Options, Report, Status};
use qamqor_server::storage::Storage;
use qamqor_server::storage::sqlite::SqliteStorage;

const DISTRICT: &str = "751710000";

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

fn opts(confirm: bool) -> Options {
    Options { region: Region::AlmatyCity, today: today(), confirm, by: "admin".into() }
}

/// A cell: text, or a number (an IIN typed into a number cell).
enum Cell {
    T(String),
    N(f64),
}

fn t(s: impl Into<String>) -> Cell {
    Cell::T(s.into())
}

/// A worksheet: its name, header and rows.
type Worksheet<'a> = (&'a str, &'a [&'a str], Vec<Vec<Cell>>);

fn workbook(path: &Path, sheets: &[Worksheet<'_>]) {
    let mut book = rust_xlsxwriter::Workbook::new();
    for (name, header, rows) in sheets {
        let ws = book.add_worksheet();
        ws.set_name(*name).unwrap();
        for (i, h) in header.iter().enumerate() {
            ws.write_string(0, i as u16, *h).unwrap();
        }
        for (r, row) in rows.iter().enumerate() {
            for (i, c) in row.iter().enumerate() {
                match c {
                    Cell::T(s) => ws.write_string(r as u32 + 1, i as u16, s).unwrap(),
                    Cell::N(n) => ws.write_number(r as u32 + 1, i as u16, *n).unwrap(),
                };
            }
        }
    }
    book.save(path).unwrap();
}

/// The people of the register.
struct People {
    r1: String,
    r2: String,
    c1: String,
    c2: String,
    c3: String,
    c4: String,
    m1: String,
    c1_birth: NaiveDate,
}

fn people() -> People {
    let mut s = Sample::new(7, today(), Kato::parse(DISTRICT).unwrap());
    let birth = |y: i32, m: u32, d: u32| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let c1_birth = today() - chrono::Duration::days(365 * 6);
    People {
        r1: s.iin(birth(1975, 4, 2), Sex::Female).as_str().to_owned(),
        r2: s.iin(birth(1968, 11, 20), Sex::Male).as_str().to_owned(),
        c1: s.iin(c1_birth, Sex::Male).as_str().to_owned(),
        // Born in 2009: the IIN begins with 0, which a number cell drops.
        c2: s.iin(birth(2009, 12, 30), Sex::Female).as_str().to_owned(),
        c3: s.iin(birth(2015, 3, 7), Sex::Female).as_str().to_owned(),
        c4: s.iin(birth(2015, 3, 7), Sex::Male).as_str().to_owned(),
        m1: s.iin(birth(1990, 1, 15), Sex::Female).as_str().to_owned(),
        c1_birth,
    }
}

/// The register: Russian headers on one sheet, Kazakh on another, codes
/// in all three languages, and rows damaged in the ways offices' files are.
fn register(path: &Path, p: &People, r1_address: &str, c1_school: &str) {
    let dd = |d: NaiveDate| d.format("%d.%m.%Y").to_string();
    let since = dd(today() - chrono::Duration::days(400));
    let reps = vec![
        // 2: accepted (Russian codes)
        vec![
            t(&p.r1),
            t("Сейтова"),
            t("Гүлнар"),
            t(""),
            t(""),
            t(r1_address),
            t("+7 701 111 22 33"),
            t(DISTRICT),
            t("Опекун"),
            t(&since),
            t("Действующий"),
        ],
        // 3: accepted (Kazakh codes)
        vec![
            t(&p.r2),
            t("Оспанов"),
            t("Берік"),
            t(""),
            t("20.11.1968"),
            t("Алматы, Абай к-сі 5"),
            t(""),
            t(DISTRICT),
            t("Қамқоршы"),
            t(&since),
            t(""),
        ],
        // 4: refused: the IIN's checksum is wrong
        vec![
            t("750402400001"),
            t("Ахметова"),
            t("Сара"),
            t(""),
            t(""),
            t("Алматы"),
            t(""),
            t(DISTRICT),
            t("guardian"),
            t(&since),
            t(""),
        ],
        // 5: refused: the same IIN as row 2
        vec![
            t(&p.r1),
            t("Сейтова"),
            t("Гульнар"),
            t(""),
            t(""),
            t("Алматы"),
            t(""),
            t(DISTRICT),
            t("guardian"),
            t(&since),
            t(""),
        ],
    ];
    let children = vec![
        // 2: accepted
        vec![
            t(&p.c1),
            t("Сейтов"),
            t("Арман"),
            t(""),
            t(dd(p.c1_birth)),
            t(""),
            t("Жетім бала"),
            t(DISTRICT),
            t(c1_school),
        ],
        // 3: accepted; the IIN in a number cell
        vec![
            Cell::N(p.c2.parse().unwrap()),
            t("Оспанова"),
            t("Дана"),
            t(""),
            t("30.12.2009"),
            t("Әйел"),
            t("left_without_care"),
            t(DISTRICT),
            t(""),
        ],
        // 4: warning: the birth date differs from the IIN's
        vec![t(&p.c3), t("Ким"), t("Алина"), t(""), t("08.03.2015"), t(""), t("Ребёнок-сирота"), t(DISTRICT), t("")],
        // 5: refused: a district of another region
        vec![t(&p.c4), t("Ли"), t("Ян"), t(""), t("07.03.2015"), t(""), t("orphan"), t("711110000"), t("")],
        // 6: refused: no such date
        vec![t(&p.c3), t("Ким"), t("Алина"), t(""), t("31.02.2015"), t(""), t("orphan"), t(DISTRICT), t("")],
        // 7: refused: an unknown code
        vec![t(&p.c3), t("Ким"), t("Алина"), t(""), t("07.03.2015"), t(""), t("сирота?"), t(DISTRICT), t("")],
    ];
    let placed = dd(today() - chrono::Duration::days(300));
    let placements = vec![
        // 2: accepted
        vec![t(&p.c1), t(&p.r1), t(""), t("Опека"), t("Ата немесе әже"), t(&placed), t(""), t("")],
        // 3: accepted (trusteeship: the child is 16)
        vec![t(&p.c2), t(&p.r2), t(""), t("Қамқоршылық"), t(""), t(&placed), t(""), t("")],
        // 4: refused: no such child
        vec![t(&p.m1), t(&p.r1), t(""), t("guardianship"), t(""), t(&placed), t(""), t("")],
        // 5: refused: the child already has an active placement
        vec![t(&p.c1), t(&p.r2), t(""), t("guardianship"), t(""), t(&placed), t(""), t("")],
        // 6: refused: an end date without a reason
        vec![t(&p.c3), t(&p.r2), t(""), t("guardianship"), t(""), t(&placed), t(&placed), t("")],
    ];
    let checked = dd(today() - chrono::Duration::days(30));
    let check = |iin: &str, date: &str, risk: &str| {
        vec![
            t(iin),
            t(date),
            t("Жумабекова А."),
            t("3"),
            t("Еңбекақы"),
            t("250 000"),
            t("85 000"),
            t("Талапқа сай"),
            t("Соответствует"),
            t("satisfactory"),
            t("owned"),
            t("apartment"),
            t("54,5"),
            t("2"),
            t("heating, су, Электричество"),
            t("иә"),
            t("bed; desk"),
            t("satisfactory"),
            t(risk),
            t("Сай келеді"),
            t(""),
            t("ДХ-118"),
            t(date),
            t("ЕНПФ"),
            t("045/у-77"),
            t(date),
            t("Қалалық емхана №4"),
            t("АС-2231"),
            t(date),
            t("КПСиСУ"),
        ]
    };
    let checks = vec![
        // 2: accepted
        check(&p.r1, &checked, ""),
        // 3: refused: sanitary state neither yes nor no
        {
            let mut c = check(&p.r2, &checked, "");
            c[15] = t("maybe");
            c
        },
    ];
    let mentors =
        vec![vec![t(&p.m1), t("Нұрланова"), t("Әсел"), t(""), t("mentor-asel"), t(""), t(DISTRICT), t("Балалар қоры")]];
    let certs = vec![vec![
        t(&p.m1),
        t("TM-0042"),
        t("Министерство просвещения"),
        t(dd(today() - chrono::Duration::days(100))),
        t(dd(today() + chrono::Duration::days(600))),
    ]];
    workbook(
        path,
        &[
            (
                "законные представители",
                &[
                    "ИИН",
                    "Фамилия",
                    "Имя",
                    "Отчество",
                    "Дата рождения",
                    "Адрес",
                    "Телефон",
                    "Район (КАТО)",
                    "Роль",
                    "Дата начала обязанностей",
                    "Статус",
                ],
                reps,
            ),
            (
                "балалар",
                &["ЖСН", "Тегі", "Аты", "Әкесінің аты", "Туған күні", "Жынысы", "Мәртебесі", "Аудан (КАТО)", "Мектеп"],
                children,
            ),
            ("placements", &keys(Sheet::Placements), placements),
            ("checks", &keys(Sheet::Checks), checks),
            ("mentors", &keys(Sheet::Mentors), mentors),
            ("certificates", &keys(Sheet::Certificates), certs),
        ],
    );
}

/// A sheet's column keys, in the layout's order.
fn keys(sheet: Sheet) -> Vec<&'static str> {
    sheet.columns().iter().map(|c| c.key).collect()
}

/// The report's line for a row: (status, change, column).
fn line(r: &Report, sheet: &str, row: usize) -> (Status, Change, Option<String>) {
    let l = r
        .rows
        .iter()
        .find(|l| l.sheet == sheet && l.row == row)
        .unwrap_or_else(|| panic!("no line for {sheet} row {row}"));
    (l.status, l.change, l.column.clone())
}

/// Imports `files`; the progress told must end at every row, once each.
fn run(storage: &SqliteStorage, files: &[PathBuf], confirm: bool) -> Report {
    let mut told = Vec::new();
    let r =
        import::run(storage, files, &opts(confirm), &mut |done: usize, total: usize| told.push((done, total))).unwrap();
    if !r.rows.is_empty() {
        assert_eq!(told.last(), Some(&(r.rows.len(), r.rows.len())), "progress ends at the last row");
        assert!(told.windows(2).all(|w| w[0].0 < w[1].0), "progress only grows: {told:?}");
    }
    r
}

fn col(c: &str) -> Option<String> {
    Some(c.to_owned())
}

#[test]
fn a_register_is_dry_run_then_imported_then_imported_again() {
    use Change::{Created, Nothing, Unchanged, Updated};
    use Status::{Accepted, Refused, Warning};
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(&dir.path().join("server.db")).unwrap();
    let p = people();
    let file = dir.path().join("register.xlsx");
    register(&file, &p, "Алматы, Төле би к-сі 10", "№12 мектеп");

    // The dry run: every row judged, nothing written.
    let dry = run(&storage, std::slice::from_ref(&file), false);
    let expected = [
        ("representatives", 2, Accepted, Created, None),
        ("representatives", 3, Accepted, Created, None),
        ("representatives", 4, Refused, Nothing, col("iin")),
        ("representatives", 5, Refused, Nothing, col("iin")),
        ("children", 2, Accepted, Created, None),
        ("children", 3, Accepted, Created, None),
        ("children", 4, Warning, Created, col("birth_date")),
        ("children", 5, Refused, Nothing, col("district")),
        ("children", 6, Refused, Nothing, col("birth_date")),
        ("children", 7, Refused, Nothing, col("status")),
        ("placements", 2, Accepted, Created, None),
        ("placements", 3, Accepted, Created, None),
        ("placements", 4, Refused, Nothing, col("child_iin")),
        ("placements", 5, Refused, Nothing, Option::None),
        ("placements", 6, Refused, Nothing, col("end_reason")),
        ("checks", 2, Accepted, Created, None),
        ("checks", 3, Refused, Nothing, col("sanitary_ok")),
        ("mentors", 2, Warning, Created, col("user_id")),
        ("certificates", 2, Accepted, Created, None),
    ];
    for (sheet, row, status, change, column) in &expected {
        assert_eq!(line(&dry, sheet, *row), (*status, *change, column.clone()), "{sheet} row {row}");
    }
    assert_eq!(dry.rows.len(), expected.len());
    assert!(!dry.confirmed);
    assert_eq!(storage.feed_end().unwrap(), 0, "a dry run writes nothing");
    assert!(storage.people(DocKind::Case).unwrap().is_empty());
    // No reason repeats a cell: the report holds no personal data.
    let report_path = dir.path().join("report.csv");
    dry.write(&report_path).unwrap();
    let text = std::fs::read_to_string(&report_path).unwrap();
    for secret in [p.r1.as_str(), &p.c1, &p.c2, "Сейтова", "Төле би", "№12"] {
        assert!(!text.contains(secret), "the report repeats a cell");
    }

    // Confirmed: the same judgement, stored.
    let done = run(&storage, std::slice::from_ref(&file), true);
    for (sheet, row, status, change, column) in &expected {
        assert_eq!(line(&done, sheet, *row), (*status, *change, column.clone()), "{sheet} row {row}");
    }
    assert_eq!(done.documents, dry.documents);
    // 2 representatives, 3 children, a mentor and their meeting log.
    assert_eq!(done.documents, 7);
    let cases = storage.people(DocKind::Case).unwrap();
    assert_eq!(cases.len(), 3);
    let case_of = |iin: &str| cases.iter().find(|(_, i)| i.iin == iin).unwrap().0.clone();
    let c1: CaseDoc = read_view(&storage.load_doc(&case_of(&p.c1)).unwrap().unwrap()).unwrap();
    assert_eq!(c1.open_placements().len(), 1);
    assert_eq!(c1.child.school.as_deref(), Some("№12 мектеп"));
    let c2: CaseDoc = read_view(&storage.load_doc(&case_of(&p.c2)).unwrap().unwrap()).unwrap();
    assert_eq!(c2.child.iin.as_str(), p.c2, "the IIN's leading zero is restored");
    let reps = storage.people(DocKind::Representative).unwrap();
    let r1_id = reps.iter().find(|(_, i)| i.iin == p.r1).unwrap().0.clone();
    let r1: RepresentativeDoc = read_view(&storage.load_doc(&r1_id).unwrap().unwrap()).unwrap();
    assert_eq!(r1.checks.len(), 1);
    assert_eq!(r1.relations.len(), 1, "the placement names the child in the representative's file");
    let mentors = storage.people(DocKind::Mentor).unwrap();
    let m: MentorDoc = read_view(&storage.load_doc(&mentors[0].0).unwrap().unwrap()).unwrap();
    assert_eq!(m.certificates.len(), 1);
    let audit = storage.audit_log(100).unwrap();
    assert_eq!(audit.iter().filter(|a| a.action == "import" && a.user_id == "admin").count(), audit.len());
    assert!(audit.len() >= 7);
    let end = storage.feed_end().unwrap();

    // The same file again: nothing changes, nothing is made twice.
    let again = run(&storage, std::slice::from_ref(&file), true);
    for (sheet, row, status, change, column) in &expected {
        let change = if *change == Created { Unchanged } else { *change };
        assert_eq!(line(&again, sheet, *row), (*status, change, column.clone()), "{sheet} row {row} again");
    }
    assert_eq!(again.documents, 0);
    assert_eq!(storage.feed_end().unwrap(), end, "a re-import with nothing new writes nothing");
    assert_eq!(storage.people(DocKind::Case).unwrap().len(), 3);

    // A phone changes the child's school; the office corrects an address.
    let c1_id = case_of(&p.c1);
    let mut doc = storage.load_doc(&c1_id).unwrap().unwrap().with_actor(automerge::ActorId::random());
    {
        use automerge::transaction::Transactable;
        let mut tx = doc.transaction();
        let child = qamqor_core::docs::json::map_at(&mut tx, &automerge::ROOT, "child").unwrap();
        tx.put(&child, "school", "№40 гимназия").unwrap();
        tx.commit();
    }
    storage.put_documents(&[(c1_id.clone(), doc.save())], &[]).unwrap();
    register(&file, &p, "Алматы, Сатпаев к-сі 3", "№13 мектеп");
    let corrected = run(&storage, std::slice::from_ref(&file), true);
    assert_eq!(line(&corrected, "representatives", 2), (Accepted, Updated, None));
    assert_eq!(line(&corrected, "children", 2), (Warning, Unchanged, col("school")));
    let r1: RepresentativeDoc = read_view(&storage.load_doc(&r1_id).unwrap().unwrap()).unwrap();
    assert_eq!(r1.representative.address, "Алматы, Сатпаев к-сі 3");
    let c1: CaseDoc = read_view(&storage.load_doc(&c1_id).unwrap().unwrap()).unwrap();
    assert_eq!(c1.child.school.as_deref(), Some("№40 гимназия"), "the phone's edit is kept");
    assert_eq!(corrected.documents, 1);
}

#[test]
fn csv_files_with_semicolons_and_damaged_rows() {
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(&dir.path().join("server.db")).unwrap();
    let p = people();
    let dd = |d: NaiveDate| d.format("%d.%m.%Y").to_string();
    let children = dir.path().join("дети.csv");
    std::fs::write(
        &children,
        format!(
            "\u{feff}ИИН;Фамилия;Имя;Отчество;Дата рождения;Пол;Статус;Район (КАТО);Школа;Примечание\n\
             {};Сейтов;Арман;;{};;Ребёнок-сирота;{DISTRICT};;из архива\n\
             ;Без;ИИН;;01.01.2015;;orphan;{DISTRICT};;\n\
             {};Ким;Алина;;2015-03-07;;orphan;{DISTRICT};\"школа; №5\";\n\
             {};Сейтов;Арман;;{};;orphan;{DISTRICT};;\n",
            p.c1,
            dd(p.c1_birth),
            p.c3,
            p.c1,
            dd(p.c1_birth)
        ),
    )
    .unwrap();
    let r = run(&storage, std::slice::from_ref(&children), true);
    assert_eq!(line(&r, "children", 2), (Status::Accepted, Change::Created, None));
    assert_eq!(line(&r, "children", 3), (Status::Refused, Change::Nothing, col("iin")));
    assert_eq!(line(&r, "children", 4), (Status::Accepted, Change::Created, None));
    assert_eq!(line(&r, "children", 5), (Status::Refused, Change::Nothing, col("iin")));
    assert!(r.notes.iter().any(|n| n.contains("not in the layout")), "{:?}", r.notes);
    let cases = storage.people(DocKind::Case).unwrap();
    assert_eq!(cases.len(), 2);
    let c3 = cases.iter().find(|(_, i)| i.iin == p.c3).unwrap();
    let c3: CaseDoc = read_view(&storage.load_doc(&c3.0).unwrap().unwrap()).unwrap();
    assert_eq!(c3.child.school.as_deref(), Some("школа; №5"));

    // A file in another encoding, and one nobody can tell the sheet of.
    let cp1251 = dir.path().join("children.csv");
    std::fs::write(&cp1251, b"\xc8\xc8\xcd;\xd4\xe0\xec\xe8\xeb\xe8\xff\n").unwrap();
    let e = import::run(&storage, &[cp1251], &opts(false), &mut |_: usize, _: usize| {}).unwrap_err();
    assert!(e.to_string().contains("UTF-8"), "{e}");
    let unknown = dir.path().join("export.csv");
    std::fs::write(&unknown, "a,b,c\n1,2,3\n").unwrap();
    let e = import::run(&storage, &[unknown], &opts(false), &mut |_: usize, _: usize| {}).unwrap_err();
    assert!(e.to_string().contains("which sheet"), "{e}");
    // A child matched by name and birth date under another IIN is refused:
    // one child, one file.
    let mut s = Sample::new(99, today(), Kato::parse(DISTRICT).unwrap());
    let other = s.iin(p.c1_birth, Sex::Male);
    let twin = dir.path().join("children2.csv");
    std::fs::write(
        &twin,
        format!(
            "iin,family_name,given_name,birth_date,status,district\n{},СЕЙТОВ,Арман,{},orphan,{DISTRICT}\n",
            other.as_str(),
            dd(p.c1_birth)
        ),
    )
    .unwrap();
    let r = run(&storage, &[twin], true);
    let (status, _, column) = line(&r, "children", 2);
    assert_eq!((status, column), (Status::Refused, col("iin")));
    assert!(r.rows[0].reason.as_deref().unwrap().contains(&DocId::case(&child_id_of(&cases, &p.c1)).to_string()));
}

fn child_id_of(cases: &[(DocId, qamqor_core::docs::Identity)], iin: &str) -> qamqor_core::model::ChildId {
    let id = &cases.iter().find(|(_, i)| i.iin == iin).unwrap().0;
    qamqor_core::model::ChildId::parse(id.key()).unwrap()
}

#[test]
fn the_template_lists_every_sheet_column_and_code() {
    use calamine::Reader;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("template.xlsx");
    import::layout::write_template(&path).unwrap();
    let mut book = calamine::open_workbook_auto(&path).unwrap();
    let names = book.sheet_names();
    for s in import::layout::Sheet::ALL {
        assert!(names.contains(&s.key().to_owned()));
        let range = book.worksheet_range(s.key()).unwrap();
        let header: Vec<String> = range.rows().next().unwrap().iter().map(|c| c.to_string()).collect();
        assert_eq!(header, s.columns().iter().map(|c| c.key.to_owned()).collect::<Vec<_>>());
    }
    let codes = book.worksheet_range("codes").unwrap();
    let text: Vec<String> =
        codes.rows().map(|r| r.iter().map(|c| c.to_string()).collect::<Vec<_>>().join("|")).collect();
    assert!(text.iter().any(|l| l == "placement form|guardianship|Қорғаншылық|Опека|Guardianship (under 14)"));
    // The template itself imports as an empty register.
    let storage = SqliteStorage::open(&dir.path().join("server.db")).unwrap();
    let r = run(&storage, &[path], true);
    assert!(r.rows.is_empty());
}

#[test]
fn docs_import_md_lists_every_column() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/import.md")).unwrap();
    for s in import::layout::Sheet::ALL {
        let at = doc.find(&format!("### `{}`", s.key())).unwrap_or_else(|| panic!("no section for {}", s.key()));
        let section = &doc[at..];
        let section = &section[..section[4..].find("\n### ").map_or(section.len(), |e| e + 4)];
        for c in s.columns() {
            let line = format!("| `{}` | {} | {} | {} |", c.key, c.kk, c.ru, if c.required { "yes" } else { "" });
            assert!(section.contains(&line), "docs/import.md lacks {line}");
        }
    }
}
