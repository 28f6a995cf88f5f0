//! Reading a register's files: workbooks (XLSX, XLS, ODS) and CSV, into
//! rows of text keyed by the layout's columns, and each cell into its
//! typed value with a reason a person can act on when it is wrong. No
//! reason ever repeats a cell's content: it may be personal data.

use std::collections::HashMap;
use std::path::Path;

use calamine::{Data, Reader};
use chrono::NaiveDate;
use qamqor_core::model::{CodeList, Iin, Kato, Region, text};

use super::layout::{Column, Format, Sheet, codes};
use crate::error::{Result, ServerError};

/// One sheet as read from a file.
#[derive(Debug)]
pub struct Table {
    /// The sheet.
    pub sheet: Sheet,
    /// Where it came from (`register.xlsx: children`), for the report.
    pub source: String,
    /// Rows with their number in the file (the header is row 1).
    pub rows: Vec<Row>,
    /// Notes on the sheet as a whole (columns not understood).
    pub notes: Vec<String>,
}

/// A row of a sheet: its cells by column key.
#[derive(Debug, Clone)]
pub struct Row {
    /// The row's number in the file, as a spreadsheet shows it.
    pub number: usize,
    /// Cells by column key, trimmed; empty cells are absent.
    pub cells: HashMap<&'static str, String>,
}

/// A cell that cannot be used: the column and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError {
    /// The column's key.
    pub column: String,
    /// What is wrong.
    pub reason: String,
}

impl CellError {
    /// A cell error.
    pub fn new(column: impl Into<String>, reason: impl Into<String>) -> Self {
        CellError { column: column.into(), reason: reason.into() }
    }
}

/// Reads a file of the register. A workbook gives one table per worksheet
/// named after a sheet (in any of the three languages); a CSV file is the
/// sheet its name says (`children.csv`), or else the one its header fits.
pub fn read_file(path: &Path) -> Result<(Vec<Table>, Vec<String>)> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
    if ext == "csv" || ext == "txt" {
        return read_csv(path, &name).map(|t| (vec![t], Vec::new()));
    }
    let mut book = calamine::open_workbook_auto(path).map_err(|e| {
        ServerError::BadRequest(format!("{name}: not a workbook this server can read (XLSX, XLS, ODS or CSV): {e}"))
    })?;
    let mut tables = Vec::new();
    let mut notes = Vec::new();
    for ws in book.sheet_names() {
        let Some(sheet) = Sheet::from_name(&ws) else {
            if !matches!(ws.as_str(), "columns" | "codes") {
                notes.push(format!("{name}: worksheet {ws:?} is not a sheet of the layout; skipped"));
            }
            continue;
        };
        let range = book
            .worksheet_range(&ws)
            .map_err(|e| ServerError::BadRequest(format!("{name}: worksheet {ws:?} could not be read: {e}")))?;
        let mut grid = range.rows().map(|r| r.iter().map(cell_text).collect::<Vec<_>>());
        let header = grid.next().unwrap_or_default();
        let (positions, col_notes) = match_header(sheet, &header);
        let rows = grid.enumerate().filter_map(|(i, cells)| row_of(sheet, &positions, i + 2, cells)).collect();
        tables.push(Table { sheet, source: format!("{name}: {ws}"), rows, notes: col_notes });
    }
    if tables.is_empty() {
        return Err(ServerError::BadRequest(format!(
            "{name}: no worksheet is named after a sheet of the layout (children, representatives, placements, checks, \
             mentors, certificates; or their Kazakh or Russian names)"
        )));
    }
    Ok((tables, notes))
}

fn read_csv(path: &Path, name: &str) -> Result<Table> {
    let bytes = std::fs::read(path)?;
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    if std::str::from_utf8(body).is_err() {
        return Err(ServerError::BadRequest(format!(
            "{name}: the file is not UTF-8 text; save it as \"CSV UTF-8\" and import it again"
        )));
    }
    // Offices' spreadsheets in Kazakhstan save CSV with `;` as often as `,`.
    let first = body.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = if first.iter().filter(|b| **b == b';').count() > first.iter().filter(|b| **b == b',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(body);
    let mut grid = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            ServerError::BadRequest(format!("{name}: line {line} is not well-formed CSV (an unclosed quote?)"))
        })?;
        grid.push(record.iter().map(|c| c.trim().to_owned()).collect::<Vec<_>>());
    }
    let mut grid = grid.into_iter();
    let header = grid.next().unwrap_or_default();
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let sheet = Sheet::from_name(&stem)
        .or_else(|| {
            Sheet::ALL.into_iter().find(|s| {
                let (positions, _) = match_header(*s, &header);
                s.columns().iter().all(|c| !c.required || positions.contains_key(c.key))
            })
        })
        .ok_or_else(|| {
            ServerError::BadRequest(format!(
                "{name}: neither the file's name nor its header says which sheet it is; name it children.csv, \
                 representatives.csv, placements.csv, checks.csv, mentors.csv or certificates.csv"
            ))
        })?;
    let (positions, notes) = match_header(sheet, &header);
    let rows = grid.enumerate().filter_map(|(i, cells)| row_of(sheet, &positions, i + 2, cells)).collect();
    Ok(Table { sheet, source: name.to_owned(), rows, notes })
}

/// Finds each column of `sheet` in a header row (its key, Kazakh or Russian
/// header, case and Kazakh letters folded); notes headers not understood.
fn match_header(sheet: Sheet, header: &[String]) -> (HashMap<&'static str, usize>, Vec<String>) {
    let mut positions = HashMap::new();
    let mut notes = Vec::new();
    for (i, h) in header.iter().enumerate() {
        if h.is_empty() {
            continue;
        }
        let folded = norm(h);
        match sheet.columns().iter().find(|c| [c.key, c.kk, c.ru].iter().any(|n| norm(n) == folded)) {
            Some(c) if positions.contains_key(c.key) => {
                notes.push(format!("column {:?} appears twice; the first is read", c.key))
            }
            Some(c) => {
                positions.insert(c.key, i);
            }
            None => notes.push(format!("column {} ({h:?}) is not in the layout; ignored", column_letter(i))),
        }
    }
    for c in sheet.columns() {
        if c.required && !positions.contains_key(c.key) {
            notes.push(format!("required column {:?} is missing", c.key));
        }
    }
    (positions, notes)
}

fn norm(s: &str) -> String {
    text::fold(s).split_whitespace().collect::<Vec<_>>().join(" ").replace('_', " ")
}

/// The spreadsheet letter of a 0-based column (`A`, `AB`).
fn column_letter(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

fn row_of(sheet: Sheet, positions: &HashMap<&'static str, usize>, number: usize, cells: Vec<String>) -> Option<Row> {
    let mut out = HashMap::new();
    for c in sheet.columns() {
        let Some(v) = positions.get(c.key).and_then(|i| cells.get(*i)) else { continue };
        let v = v.trim();
        if !v.is_empty() {
            // An IIN kept in a number cell loses its leading zeros.
            let v = if c.format == Format::Iin && v.len() < 12 && v.bytes().all(|b| b.is_ascii_digit()) {
                format!("{v:0>12}")
            } else {
                v.to_owned()
            };
            out.insert(c.key, v);
        }
    }
    (!out.is_empty()).then_some(Row { number, cells: out })
}

fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_owned(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => if *b { "yes" } else { "no" }.to_owned(),
        Data::DateTime(dt) => dt.as_datetime().map(|t| t.date().to_string()).unwrap_or_default(),
        Data::DateTimeIso(s) => s.chars().take(10).collect(),
        Data::DurationIso(s) => s.clone(),
        Data::Error(_) => "#ERROR".to_owned(),
    }
}

impl Row {
    /// The text of a column, if filled.
    pub fn text(&self, column: &Column) -> Result<Option<String>, CellError> {
        match self.cells.get(column.key) {
            Some(v) if v.chars().count() > 300 => Err(CellError::new(column.key, "is longer than 300 characters")),
            Some(v) if v.chars().any(|c| c.is_control() && c != '\n') => {
                Err(CellError::new(column.key, "contains control characters"))
            }
            Some(v) => Ok(Some(v.clone())),
            None if column.required => Err(CellError::new(column.key, "is required and empty")),
            None => Ok(None),
        }
    }
}

/// Parses a date as offices write it: `dd.mm.yyyy`, `d.m.yyyy`, `yyyy-mm-dd`
/// or `dd/mm/yyyy`.
pub fn date(column: &str, v: &str) -> Result<NaiveDate, CellError> {
    for f in ["%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(v, f) {
            return Ok(d);
        }
    }
    Err(CellError::new(column, "is not a date (write dd.mm.yyyy or yyyy-mm-dd)"))
}

/// Parses an IIN (its date, century digit and checksum checked).
pub fn iin(column: &str, v: &str) -> Result<Iin, CellError> {
    Iin::parse(v).map_err(|e| CellError::new(column, iin_reason(&e)))
}

fn iin_reason(e: &qamqor_core::Error) -> String {
    match e {
        qamqor_core::Error::Invalid { reason, .. } => reason.clone(),
        _ => "is not a valid IIN".to_owned(),
    }
}

/// Parses a district's КАТО code and checks it is in `region`.
pub fn kato(column: &str, v: &str, region: Region) -> Result<Kato, CellError> {
    let k = Kato::parse(v).map_err(|_| CellError::new(column, "is not a 9-digit КАТО code"))?;
    if k.region() != region {
        return Err(CellError::new(
            column,
            format!("is a district of region {}, not of this server's region {}", k.region().code(), region.code()),
        ));
    }
    Ok(k)
}

/// Parses a code of a list given as its code or its label in Kazakh,
/// Russian or English (case and Kazakh letters folded).
pub fn code<C: CodeList>(column: &str, v: &str) -> Result<C, CellError> {
    let code = code_of(C::LIST_NAME, v).ok_or_else(|| unknown(column, C::LIST_NAME))?;
    C::from_code(code).ok_or_else(|| unknown(column, C::LIST_NAME))
}

/// The code of `list` that `v` names (in any language).
pub fn code_of(list: &str, v: &str) -> Option<&'static str> {
    let v = norm(v);
    codes(list).into_iter().find(|entry| entry.iter().any(|l| norm(l) == v)).map(|e| e[0])
}

fn unknown(column: &str, list: &str) -> CellError {
    CellError::new(column, format!("is not a {list} code (see the template's codes sheet)"))
}

/// Parses a list of codes separated by commas or semicolons.
pub fn code_list(column: &str, list: &str, v: &str) -> Result<Vec<&'static str>, CellError> {
    v.split([',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| code_of(list, s).ok_or_else(|| unknown(column, list)))
        .collect()
}

/// Parses yes or no in any of the languages.
pub fn yes_no(column: &str, v: &str) -> Result<bool, CellError> {
    match norm(v).as_str() {
        "yes" | "y" | "true" | "1" | "да" | "иа" | "ия" | "+" => Ok(true),
        "no" | "n" | "false" | "0" | "нет" | "жок" | "-" => Ok(false),
        _ => Err(CellError::new(column, "is neither yes nor no (иә/жоқ, да/нет)")),
    }
}

/// Parses a whole number (spaces as thousands separators allowed).
pub fn number(column: &str, v: &str) -> Result<i64, CellError> {
    let digits: String = v.chars().filter(|c| !c.is_whitespace() && *c != '\u{a0}').collect();
    digits.parse().map_err(|_| CellError::new(column, "is not a whole number"))
}

/// Parses a decimal number (a comma as the decimal mark allowed).
pub fn decimal(column: &str, v: &str) -> Result<f64, CellError> {
    let s: String = v.chars().filter(|c| !c.is_whitespace()).map(|c| if c == ',' { '.' } else { c }).collect();
    s.parse::<f64>().ok().filter(|f| f.is_finite()).ok_or_else(|| CellError::new(column, "is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_in_any_language() {
        use qamqor_core::model::PlacementForm;
        for v in ["guardianship", "Опека", "ҚОРҒАНШЫЛЫҚ", "Қорғаншылық", "Guardianship (under 14)"]
        {
            assert_eq!(code::<PlacementForm>("form", v), Ok(PlacementForm::Guardianship), "{v}");
        }
        assert!(code::<PlacementForm>("form", "опекунство").is_err());
        assert_eq!(code_list("u", "utility", "heating; су, Газ"), Ok(vec!["heating", "water", "gas"]));
    }

    #[test]
    fn dates_and_yes_no() {
        let d = NaiveDate::from_ymd_opt(2015, 3, 7).unwrap();
        for v in ["07.03.2015", "7.3.2015", "2015-03-07", "07/03/2015"] {
            assert_eq!(date("d", v), Ok(d), "{v}");
        }
        assert!(date("d", "31.02.2015").is_err());
        assert_eq!(yes_no("s", "Иә"), Ok(true));
        assert_eq!(yes_no("s", "ЖОҚ"), Ok(false));
        assert_eq!(number("n", "120 000"), Ok(120_000));
        assert_eq!(decimal("a", "54,5"), Ok(54.5));
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(27), "AB");
    }
}
