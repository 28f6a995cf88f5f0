//! An office's register as the import reads it, written as a workbook
//! (columns in the layout's order, headed by their keys):
//! children each placed with a guardian, the guardians' last annual
//! checks, for the import tests and `import-bench`.

use std::collections::HashSet;
use std::path::Path;

use chrono::NaiveDate;
use qamqor_core::model::{AnnualCheck, CodeList, Kato, Placement, Representative};
use qamqor_core::sample::Sample;
use qamqor_server::import::layout::Sheet;
use rust_xlsxwriter::{Workbook, Worksheet};

use crate::today;

/// How many rows of each sheet a register has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rows {
    /// Children.
    pub children: usize,
    /// Representatives.
    pub representatives: usize,
    /// Placements.
    pub placements: usize,
    /// Annual checks.
    pub checks: usize,
}

impl Rows {
    /// Every row.
    pub fn total(&self) -> usize {
        self.children + self.representatives + self.placements + self.checks
    }
}

fn dd(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

fn header(ws: &mut Worksheet, name: &str, cols: &[&str]) {
    ws.set_name(name).unwrap();
    for (i, c) in cols.iter().enumerate() {
        ws.write_string(0, i as u16, *c).unwrap();
    }
}

fn row(ws: &mut Worksheet, r: u32, cells: &[String]) {
    for (i, c) in cells.iter().enumerate() {
        if !c.is_empty() {
            ws.write_string(r, i as u16, c).unwrap();
        }
    }
}

/// Writes a register of `families` children spread over `districts`: each
/// child placed with a guardian (one guardian in four takes a second
/// child), every guardian with a last annual check. Codes are written in
/// Russian, as offices' exports do.
pub fn write(path: &Path, seed: u64, districts: &[String], families: usize) -> Rows {
    let mut book = Workbook::new();
    let mut reps_ws = Worksheet::new();
    let mut children_ws = Worksheet::new();
    let mut placements_ws = Worksheet::new();
    let mut checks_ws = Worksheet::new();
    for (ws, sheet) in [
        (&mut reps_ws, Sheet::Representatives),
        (&mut children_ws, Sheet::Children),
        (&mut placements_ws, Sheet::Placements),
        (&mut checks_ws, Sheet::Checks),
    ] {
        let keys: Vec<&str> = sheet.columns().iter().map(|c| c.key).collect();
        header(ws, sheet.key(), &keys);
    }
    let mut samples: Vec<Sample> = districts
        .iter()
        .enumerate()
        .map(|(i, d)| Sample::new(seed * 1000 + i as u64, today(), Kato::parse(d).unwrap()))
        .collect();
    let ru = |c: &dyn Fn(qamqor_core::model::Lang) -> &'static str| c(qamqor_core::model::Lang::Ru).to_owned();
    let mut iins = HashSet::new();
    let mut rows = Rows::default();
    // A guardian waiting for a second child, per district.
    let mut waiting: Vec<Option<Representative>> = vec![None; districts.len()];
    let mut n = 0;
    while rows.children < families {
        let k = n % districts.len();
        let s = &mut samples[k];
        n += 1;
        let child = s.child();
        if !iins.insert(child.iin.as_str().to_owned()) {
            continue;
        }
        let start = child.birth_date.max(today() - chrono::Duration::days(700));
        // One guardian in four takes a second child of the same district.
        let rep = match waiting[k].take() {
            Some(r) if r.since <= start => r,
            _ => {
                let r = s.representative(start);
                if !iins.insert(r.iin.as_str().to_owned()) {
                    continue;
                }
                rows.representatives += 1;
                let r_row = rows.representatives as u32;
                row(
                    &mut reps_ws,
                    r_row,
                    &[
                        r.iin.as_str().to_owned(),
                        r.name.family.clone(),
                        r.name.given.clone(),
                        r.name.patronymic.clone().unwrap_or_default(),
                        r.birth_date.map(dd).unwrap_or_default(),
                        r.address.clone(),
                        r.phone.clone().unwrap_or_default(),
                        r.district.as_str().to_owned(),
                        ru(&|l| r.role.label(l)),
                        dd(r.since),
                    ],
                );
                let check = s.check(&r.id, today() - chrono::Duration::days(40), None);
                rows.checks += 1;
                row(&mut checks_ws, rows.checks as u32, &check_row(&r, &check));
                if rows.representatives.is_multiple_of(4) {
                    waiting[k] = Some(r.clone());
                }
                r
            }
        };
        rows.children += 1;
        row(
            &mut children_ws,
            rows.children as u32,
            &[
                child.iin.as_str().to_owned(),
                child.name.family.clone(),
                child.name.given.clone(),
                child.name.patronymic.clone().unwrap_or_default(),
                dd(child.birth_date),
                ru(&|l| child.sex.label(l)),
                ru(&|l| child.status.label(l)),
                child.district.as_str().to_owned(),
                child.school.clone().unwrap_or_default(),
            ],
        );
        let p: Placement = s.placement(&child, &rep, start);
        rows.placements += 1;
        row(
            &mut placements_ws,
            rows.placements as u32,
            &[
                child.iin.as_str().to_owned(),
                rep.iin.as_str().to_owned(),
                String::new(),
                ru(&|l| p.form.label(l)),
                p.kin.map(|k| ru(&|l| k.label(l))).unwrap_or_default(),
                dd(p.start_date),
                String::new(),
                String::new(),
            ],
        );
    }
    book.push_worksheet(reps_ws);
    book.push_worksheet(children_ws);
    book.push_worksheet(placements_ws);
    book.push_worksheet(checks_ws);
    book.save(path).unwrap();
    rows
}

fn check_row(r: &Representative, c: &AnnualCheck) -> Vec<String> {
    let ev = |e: &Option<qamqor_core::model::Evidence>| match e {
        Some(e) => [e.document_number.clone(), dd(e.issued_on), e.issuer.clone()],
        None => [String::new(), String::new(), String::new()],
    };
    let h = &c.housing;
    let u = &h.utilities;
    let utilities: Vec<&str> = [
        (u.heating, "heating"),
        (u.water, "water"),
        (u.sewerage, "sewerage"),
        (u.gas, "gas"),
        (u.electricity, "electricity"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    let sp = &h.child_space;
    let space: Vec<&str> = [(sp.bed, "bed"), (sp.desk, "desk"), (sp.clothes, "clothes"), (sp.books, "books")]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
    let mut out = vec![
        r.iin.as_str().to_owned(),
        dd(c.date),
        c.examiner.clone(),
        c.income.household_members.to_string(),
        c.income.sources[0].kind.code().to_owned(),
        c.income.sources[0].monthly_amount_kzt.to_string(),
        c.income.subsistence_minimum_kzt.to_string(),
        c.income.outcome.code().to_owned(),
        c.health.outcome.code().to_owned(),
        c.criminal_record.outcome.code().to_owned(),
        h.right.code().to_owned(),
        h.kind.code().to_owned(),
        h.area_m2.to_string(),
        h.rooms.to_string(),
        utilities.join(", "),
        if h.sanitary_ok { "да" } else { "нет" }.to_owned(),
        space.join(", "),
        h.outcome.code().to_owned(),
        c.risk_factors.iter().map(|f| f.code()).collect::<Vec<_>>().join(", "),
        c.conclusion.code().to_owned(),
        c.notes.clone().unwrap_or_default(),
    ];
    out.extend(ev(&c.income.evidence));
    out.extend(ev(&c.health.evidence));
    out.extend(ev(&c.criminal_record.evidence));
    out
}
