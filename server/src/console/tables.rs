//! Every list the console shows, as a table: one builder per list, used by
//! its page and by its CSV and XLSX exports, in the viewer's language.

use qamqor_core::model::{CodeList, Lang, Region};

use super::i18n::{W, t};
use super::pages::{figure_label, region_figure_label, task_label, time};
use crate::admin::DeviceLine;
use crate::figures::{Figure, Figures, RegionFigure};
use crate::model::{AuditEntry, User};
use crate::national::{Country, MIN_CELL};
use crate::worklist::Task;

/// A cell of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A count.
    Num(u64),
    /// A count suppressed (1 to 4) in a region's report.
    Hidden,
    /// A share in per cent (one decimal).
    Percent(f64),
}

impl Cell {
    /// As shown and exported to CSV.
    pub fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Num(n) => n.to_string(),
            Cell::Hidden => format!("<{MIN_CELL}"),
            Cell::Percent(p) => format!("{p:.1}"),
        }
    }

    /// Whether it is a number (right-aligned).
    pub fn numeric(&self) -> bool {
        !matches!(self, Cell::Text(_))
    }
}

/// A list: the file name of its exports, the header and the rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The exports' file name without extension (`figures`).
    pub name: &'static str,
    /// Column titles.
    pub header: Vec<String>,
    /// Rows.
    pub rows: Vec<Vec<Cell>>,
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn csv_field(s: &str) -> String {
    // A leading =, +, - or @ would be a formula to a spreadsheet: quote it.
    let formula = s.starts_with(['=', '+', '-', '@']) && s.parse::<f64>().is_err();
    let s = if formula { format!("'{s}") } else { s.to_owned() };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

impl Table {
    /// CSV (UTF-8 with a byte-order mark, so spreadsheet programs read Cyrillic).
    pub fn csv(&self) -> String {
        let mut out = String::from("\u{feff}");
        out.push_str(&self.header.iter().map(|h| csv_field(h)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
        for row in &self.rows {
            out.push_str(&row.iter().map(|c| csv_field(&c.text())).collect::<Vec<_>>().join(","));
            out.push_str("\r\n");
        }
        out
    }

    /// An XLSX workbook of one sheet: counts as numbers, the rest as text.
    pub fn xlsx(&self) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let bold = rust_xlsxwriter::Format::new().set_bold();
        for (c, h) in self.header.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, h, &bold)?;
        }
        for (r, row) in self.rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let (r, c) = (r as u32 + 1, c as u16);
                match v {
                    Cell::Num(n) => sheet.write_number(r, c, *n as f64)?,
                    Cell::Percent(p) => sheet.write_number(r, c, *p)?,
                    other => sheet.write_string(r, c, other.text())?,
                };
            }
        }
        sheet.set_freeze_panes(1, 1)?;
        book.save_to_buffer()
    }
}

/// The region's figures: one row per figure, the region then each district.
pub fn figures(l: Lang, f: &Figures) -> Table {
    let mut header = vec![t(l, W::figure).to_owned(), t(l, W::region).to_owned()];
    header.extend(f.districts.keys().cloned());
    let mut rows = Vec::new();
    for fig in Figure::all() {
        let mut row = vec![text(figure_label(l, fig)), Cell::Num(fig.of(&f.region))];
        row.extend(f.districts.values().map(|c| Cell::Num(fig.of(c))));
        rows.push(row);
        if fig == Figure::InFamilies {
            let mut share = vec![text(t(l, W::family_share)), Cell::Percent(f.region.family_share())];
            share.extend(f.districts.values().map(|c| Cell::Percent(c.family_share())));
            rows.push(share);
        }
    }
    for rf in RegionFigure::ALL {
        let mut row = vec![text(region_figure_label(l, rf)), Cell::Num(rf.of(f))];
        row.extend(f.districts.keys().map(|_| text("")));
        rows.push(row);
    }
    Table { name: "figures", header, rows }
}

/// The country's figures: one row per figure, the country then each region
/// that reported. A country total with a region's count suppressed is a
/// lower bound (`≥`).
pub fn country(l: Lang, c: &Country) -> Table {
    let mut header = vec![t(l, W::figure).to_owned(), t(l, W::country).to_owned()];
    header.extend(c.regions.keys().map(|code| Region::from_code(code).map_or(code.clone(), |r| r.label(l).to_owned())));
    let keys: Vec<(String, String)> = Figure::all()
        .into_iter()
        .map(|f| (f.key(), figure_label(l, f)))
        .chain(RegionFigure::ALL.into_iter().map(|f| (f.key().to_owned(), region_figure_label(l, f))))
        .collect();
    let mut rows = Vec::new();
    for (key, label) in keys {
        let (sum, partial) = c.total(&key);
        let total = if partial { text(format!("≥{sum}")) } else { Cell::Num(sum) };
        let mut row = vec![text(label), total];
        row.extend(c.regions.values().map(|(r, _)| match r.region_cells.get(&key) {
            Some(Some(v)) => Cell::Num(*v),
            Some(None) => Cell::Hidden,
            None => text(""),
        }));
        rows.push(row);
    }
    let mut as_of = vec![text(t(l, W::as_of)), text("")];
    as_of.extend(c.regions.values().map(|(r, _)| text(r.as_of.to_string())));
    rows.push(as_of);
    let mut received = vec![text(t(l, W::received)), text("")];
    received.extend(c.regions.values().map(|(_, at)| text(time(*at))));
    rows.push(received);
    Table { name: "country", header, rows }
}

/// The work list.
pub fn tasks(l: Lang, tasks: &[Task]) -> Table {
    let header = [W::task, W::document, W::district, W::due, W::holders, W::same_person_as]
        .iter()
        .map(|w| t(l, *w).to_owned())
        .collect();
    let rows = tasks
        .iter()
        .map(|x| {
            vec![
                text(task_label(l, x.kind)),
                text(x.doc.to_string()),
                text(x.district.clone()),
                text(x.due.map(|d| d.to_string()).unwrap_or_default()),
                text(if x.holders.is_empty() { t(l, W::nobody).to_owned() } else { x.holders.join(", ") }),
                text(x.other.as_ref().map(ToString::to_string).unwrap_or_default()),
            ]
        })
        .collect();
    Table { name: "tasks", header, rows }
}

/// The devices.
pub fn devices(l: Lang, lines: &[DeviceLine]) -> Table {
    let header = vec![
        "ID".to_owned(),
        t(l, W::user).to_owned(),
        t(l, W::label).to_owned(),
        t(l, W::last_sync).to_owned(),
        t(l, W::pending_urgent).to_owned(),
        t(l, W::revoked).to_owned(),
    ];
    let rows = lines
        .iter()
        .map(|d| {
            vec![
                text(d.device.id.clone()),
                text(d.device.user_id.clone()),
                text(d.device.label.clone()),
                text(d.device.last_sync_at.map(time).unwrap_or_default()),
                Cell::Num(d.pending_urgent as u64),
                text(d.device.revoked_at.map(time).unwrap_or_default()),
            ]
        })
        .collect();
    Table { name: "devices", header, rows }
}

/// The users.
pub fn users(l: Lang, users: &[User]) -> Table {
    let header = [W::user, W::name, W::role, W::districts, W::adoption].iter().map(|w| t(l, *w).to_owned()).collect();
    let rows = users
        .iter()
        .map(|u| {
            vec![
                text(u.id.clone()),
                text(u.name.clone()),
                text(super::pages::role_label(l, u.role)),
                text(u.districts.join(" ")),
                text(if u.adoption_access { t(l, W::yes) } else { "" }),
            ]
        })
        .collect();
    Table { name: "users", header, rows }
}

/// Audit lines.
pub fn audit(l: Lang, lines: &[AuditEntry]) -> Table {
    let header = vec![
        t(l, W::when).to_owned(),
        t(l, W::user).to_owned(),
        t(l, W::action).to_owned(),
        t(l, W::document).to_owned(),
        "IP".to_owned(),
    ];
    let rows = lines
        .iter()
        .map(|a| {
            vec![
                text(time(a.at / 1000)),
                text(a.user_id.clone()),
                text(a.action.clone()),
                text(a.doc_id.clone()),
                text(a.address.clone().unwrap_or_default()),
            ]
        })
        .collect();
    Table { name: "audit", header, rows }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_a_spreadsheet_would_misread() {
        let table = Table {
            name: "x",
            header: vec!["a".into(), "b".into()],
            rows: vec![vec![text("=HYPERLINK(\"x\")"), text("1,5")], vec![text("-3"), Cell::Hidden]],
        };
        let csv = table.csv();
        assert!(csv.contains("\"'=HYPERLINK(\"\"x\"\")\",\"1,5\""), "{csv}");
        assert!(csv.contains("-3,<5"), "{csv}");
    }
}
