//! The import's report as a file the office opens: one line per row with
//! its outcome, column and reason (never a cell's content), and a summary.

use std::path::Path;

use super::{Change, Report, Status};
use crate::error::{Result, ServerError};

impl Status {
    /// The status in English, Kazakh and Russian.
    pub fn label(self) -> &'static str {
        match self {
            Status::Accepted => "accepted · қабылданды · принято",
            Status::Warning => "warning · ескерту · предупреждение",
            Status::Refused => "refused · қабылданбады · отклонено",
        }
    }
}

impl Change {
    /// The change's key.
    pub fn key(self) -> &'static str {
        match self {
            Change::Created => "created",
            Change::Updated => "updated",
            Change::Unchanged => "unchanged",
            Change::Nothing => "",
        }
    }
}

const HEADER: [&str; 8] = ["file", "sheet", "row", "status", "change", "column", "reason", "document"];

impl Report {
    /// The summary lines: counts and notes.
    pub fn summary(&self) -> Vec<String> {
        let mut out = vec![
            format!(
                "{} rows: {} accepted, {} with a warning, {} refused",
                self.rows.len(),
                self.count(Status::Accepted),
                self.count(Status::Warning),
                self.count(Status::Refused)
            ),
            format!(
                "records: {} new, {} updated, {} unchanged; {} documents {}",
                self.changes(Change::Created),
                self.changes(Change::Updated),
                self.changes(Change::Unchanged),
                self.documents,
                if self.confirmed { "stored" } else { "would be stored (dry run: nothing was written)" }
            ),
        ];
        out.extend(self.notes.iter().cloned());
        out
    }

    /// Writes the report: a workbook (`.xlsx`) or CSV (any other name).
    pub fn write(&self, path: &Path) -> Result<()> {
        let is_xlsx = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
        if is_xlsx { self.write_xlsx(path) } else { self.write_csv(path) }
    }

    fn lines(&self) -> impl Iterator<Item = [String; 8]> + '_ {
        self.rows.iter().map(|r| {
            [
                r.source.clone(),
                r.sheet.to_owned(),
                r.row.to_string(),
                r.status.label().to_owned(),
                r.change.key().to_owned(),
                r.column.clone().unwrap_or_default(),
                r.reason.clone().unwrap_or_default(),
                r.document.clone().unwrap_or_default(),
            ]
        })
    }

    fn write_csv(&self, path: &Path) -> Result<()> {
        let bad = |e: csv::Error| ServerError::Config(format!("the report could not be written: {e}"));
        let mut w = csv::Writer::from_path(path).map_err(bad)?;
        w.write_record(HEADER).map_err(bad)?;
        for line in self.lines() {
            w.write_record(&line).map_err(bad)?;
        }
        w.flush()?;
        Ok(())
    }

    fn write_xlsx(&self, path: &Path) -> Result<()> {
        use rust_xlsxwriter::{Format, Workbook};
        let bad = |e: rust_xlsxwriter::XlsxError| ServerError::Config(format!("the report could not be written: {e}"));
        let mut book = Workbook::new();
        let bold = Format::new().set_bold();
        let ws = book.add_worksheet();
        ws.set_name("summary").map_err(bad)?;
        for (i, line) in self.summary().iter().enumerate() {
            ws.write_string(i as u32, 0, line).map_err(bad)?;
        }
        let ws = book.add_worksheet();
        ws.set_name("rows").map_err(bad)?;
        for (i, h) in HEADER.iter().enumerate() {
            ws.write_string_with_format(0, i as u16, *h, &bold).map_err(bad)?;
        }
        for (r, line) in self.lines().enumerate() {
            let r = r as u32 + 1;
            for (i, v) in line.iter().enumerate() {
                if i == 2 {
                    ws.write_number(r, 2, v.parse::<f64>().unwrap_or(0.0)).map_err(bad)?;
                } else {
                    ws.write_string(r, i as u16, v).map_err(bad)?;
                }
            }
        }
        ws.set_freeze_panes(1, 0).map_err(bad)?;
        ws.autofilter(0, 0, self.rows.len() as u32, HEADER.len() as u16 - 1).map_err(bad)?;
        book.save(path).map_err(bad)?;
        Ok(())
    }
}
