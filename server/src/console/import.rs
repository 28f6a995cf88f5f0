//! The register import from the console: an administrator uploads the
//! workbook (or a CSV file), sees the dry run's outcome and downloads its
//! report, then confirms; the same import as `qamqor-server import`
//! (`crate::import`). The upload is kept in memory between the dry run and
//! the confirmation (at most [`KEPT`] uploads, for an hour, for the user
//! who sent it), and written to a private temporary file only while it is
//! read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Form, Multipart, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use qamqor_core::model::{CodeList, Region};
use serde::Deserialize;

use super::i18n::{W, t};
use super::pages::{Viewer, frame};
use super::{AdminOnly, blocking, html as page};
use crate::error::ServerError;
use crate::import::{self, Change, Report, Status};
use crate::service::Service;

/// Uploads kept between a dry run and its confirmation.
const KEPT: usize = 4;
/// How long an upload waits for its confirmation.
const KEEP_FOR: Duration = Duration::from_secs(3600);
/// The largest upload accepted.
pub const MAX_UPLOAD: usize = 64 << 20;

struct Upload {
    user: String,
    name: String,
    bytes: Vec<u8>,
    report: Vec<u8>,
    at: Instant,
}

fn uploads() -> &'static Mutex<HashMap<String, Upload>> {
    static UPLOADS: std::sync::OnceLock<Mutex<HashMap<String, Upload>>> = std::sync::OnceLock::new();
    UPLOADS.get_or_init(|| Mutex::new(HashMap::new()))
}

fn keep(upload: Upload) -> String {
    let token = hex::encode(rand::random::<[u8; 16]>());
    let mut kept = uploads().lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    kept.retain(|_, u| u.at.elapsed() < KEEP_FOR);
    while kept.len() >= KEPT {
        let Some(oldest) = kept.iter().min_by_key(|(_, u)| u.at).map(|(k, _)| k.clone()) else { break };
        kept.remove(&oldest);
    }
    kept.insert(token.clone(), upload);
    token
}

/// A file name reduced to what the import reads from it: its extension,
/// and for CSV its stem (which names the sheet).
fn safe_name(name: &str) -> String {
    let path = std::path::Path::new(name);
    let ext: String = path
        .extension()
        .map(|e| e.to_string_lossy().chars().filter(char::is_ascii_alphanumeric).take(5).collect())
        .unwrap_or_default();
    let stem: String = path
        .file_stem()
        .map(|s| {
            s.to_string_lossy().chars().filter(|c| c.is_alphanumeric() || *c == '_' || *c == '-').take(64).collect()
        })
        .unwrap_or_default();
    let stem = if stem.is_empty() { "register".to_owned() } else { stem };
    format!("{stem}.{ext}")
}

/// Runs the import on an upload written to a private temporary file.
fn run(service: &Service, by: &str, name: &str, bytes: &[u8], confirm: bool) -> Result<Report, ServerError> {
    let region = service
        .storage()
        .user(by)?
        .and_then(|u| Region::from_code(&u.region))
        .ok_or_else(|| ServerError::Config("the administrator's region is not a region code".into()))?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join(safe_name(name));
    std::fs::write(&path, bytes)?;
    let opts = import::Options {
        region,
        today: chrono::Utc::now().date_naive(),
        confirm,
        by: crate::admin::Operator::Console(by.to_owned()).audit_name(),
    };
    import::run(service.storage().as_ref(), &[path], &opts, &mut |_: usize, _: usize| {})
}

fn report_bytes(report: &Report) -> Result<Vec<u8>, ServerError> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("report.xlsx");
    report.write(&path)?;
    Ok(std::fs::read(&path)?)
}

fn view(v: &Viewer<'_>, outcome: Option<(&Report, &str)>, note: Option<&str>) -> Markup {
    let l = v.lang;
    frame(
        l,
        t(l, W::import),
        Some(v),
        html! {
            h1 { (t(l, W::import)) }
            p { (t(l, W::import_help)) " " a href="/console/import/template" { (t(l, W::import_template)) } }
            @if let Some(n) = note { p.note { (n) } }
            form method="post" action="/console/import" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(v.session.csrf);
                label { (t(l, W::import_file)) " " input type="file" name="file" accept=".xlsx,.xls,.ods,.csv" required; }
                " " button type="submit" { (t(l, W::import_check)) }
            }
            @if let Some((r, token)) = outcome {
                h2 { (if r.confirmed { t(l, W::import_stored) } else { t(l, W::import_checked) }) }
                table #import-summary {
                    tbody {
                        tr { th scope="row" { (Status::Accepted.label()) } td { (r.count(Status::Accepted)) } }
                        tr { th scope="row" { (Status::Warning.label()) } td { (r.count(Status::Warning)) } }
                        tr { th scope="row" { (Status::Refused.label()) } td { (r.count(Status::Refused)) } }
                        tr { th scope="row" { "created · жаңа · новые" } td { (r.changes(Change::Created)) } }
                        tr { th scope="row" { "updated · өзгертілген · изменённые" } td { (r.changes(Change::Updated)) } }
                        tr { th scope="row" { (t(l, W::import_documents)) } td #import-documents { (r.documents) } }
                    }
                }
                @for n in &r.notes { p.note { (n) } }
                p { a href={ "/console/import/report?token=" (token) } { (t(l, W::import_report)) } }
                @if !r.confirmed {
                    form method="post" action="/console/import/confirm" {
                        input type="hidden" name="csrf" value=(v.session.csrf);
                        input type="hidden" name="token" value=(token);
                        button type="submit" { (t(l, W::import_confirm)) }
                    }
                }
                @let shown: Vec<_> = r.rows.iter().filter(|row| row.status != Status::Accepted).take(500).collect();
                @if !shown.is_empty() {
                    table #import-rows {
                        thead { tr { th { "file" } th { "row" } th { "status" } th { "column" } th { "reason" } } }
                        tbody { @for row in shown { tr {
                            td { (row.source) } td { (row.row) } td { (row.status.label()) }
                            td { (row.column.clone().unwrap_or_default()) } td { (row.reason.clone().unwrap_or_default()) }
                        } } }
                    }
                }
            }
        },
    )
}

/// The upload form.
pub(super) async fn form(AdminOnly(s): AdminOnly) -> Response {
    page(view(&s.viewer(), None, None))
}

/// An upload: read, judged and reported, nothing stored.
pub(super) async fn upload(
    State(service): State<Arc<Service>>,
    AdminOnly(s): AdminOnly,
    mut body: Multipart,
) -> Response {
    let (mut csrf, mut file) = (String::new(), None);
    loop {
        match body.next_field().await {
            Ok(Some(field)) => match field.name() {
                Some("csrf") => csrf = field.text().await.unwrap_or_default(),
                Some("file") => {
                    let name = field.file_name().unwrap_or("register.xlsx").to_owned();
                    match field.bytes().await {
                        Ok(b) => file = Some((name, b.to_vec())),
                        Err(_) => {
                            return s.error(ServerError::TooLarge(MAX_UPLOAD));
                        }
                    }
                }
                _ => {}
            },
            Ok(None) => break,
            Err(_) => return s.error(ServerError::BadRequest("the upload could not be read".into())),
        }
    }
    if let Some(r) = s.refuse_csrf(&csrf) {
        return r;
    }
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return s.error(ServerError::BadRequest("choose the register's file".into()));
    };
    let user = s.user.id.clone();
    let result = blocking(move || {
        let report = run(&service, &user, &name, &bytes, false)?;
        let xlsx = report_bytes(&report)?;
        let token = keep(Upload { user, name, bytes, report: xlsx, at: Instant::now() });
        Ok((report, token))
    })
    .await;
    outcome(&s, result)
}

/// A run's page: its outcome and report, or the error.
fn outcome(s: &super::Signed, result: Result<(Report, String), ServerError>) -> Response {
    match result {
        Ok((report, token)) => page(view(&s.viewer(), Some((&report, &token)), None)),
        Err(e) => s.error(e),
    }
}

#[derive(Deserialize)]
pub(super) struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    token: String,
}

/// The confirmation of a dry run: the same file imported and stored.
pub(super) async fn confirm(
    State(service): State<Arc<Service>>,
    AdminOnly(s): AdminOnly,
    Form(f): Form<ConfirmForm>,
) -> Response {
    if let Some(r) = s.refuse_csrf(&f.csrf) {
        return r;
    }
    let taken = {
        let mut kept = uploads().lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match kept.get(&f.token) {
            Some(u) if u.user == s.user.id && u.at.elapsed() < KEEP_FOR => kept.remove(&f.token),
            _ => None,
        }
    };
    let Some(upload) = taken else {
        let note = t(s.lang, W::import_expired);
        return page(view(&s.viewer(), None, Some(note)));
    };
    let by = s.operator();
    let result = blocking(move || {
        let report = run(&service, &upload.user, &upload.name, &upload.bytes, true)?;
        crate::admin::audit_by(
            &service,
            &by,
            "import",
            &format!("rows:{} documents:{}", report.rows.len(), report.documents),
        )?;
        let xlsx = report_bytes(&report)?;
        let token = keep(Upload { report: xlsx, bytes: Vec::new(), ..upload });
        Ok((report, token))
    })
    .await;
    outcome(&s, result)
}

#[derive(Deserialize)]
pub(super) struct ReportQuery {
    token: String,
}

fn xlsx(bytes: Vec<u8>, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

/// The report of the latest run of an upload (rows and columns, no
/// personal data).
pub(super) async fn report(AdminOnly(s): AdminOnly, Query(q): Query<ReportQuery>) -> Response {
    let bytes = {
        let kept = uploads().lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        kept.get(&q.token).filter(|u| u.user == s.user.id).map(|u| u.report.clone())
    };
    match bytes {
        Some(b) => xlsx(b, "import-report.xlsx"),
        None => (StatusCode::NOT_FOUND, t(s.lang, W::import_expired)).into_response(),
    }
}

/// The empty template.
pub(super) async fn template(AdminOnly(s): AdminOnly) -> Response {
    let result = blocking(|| {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("template.xlsx");
        import::layout::write_template(&path)?;
        Ok(std::fs::read(&path)?)
    })
    .await;
    match result {
        Ok(b) => xlsx(b, "qamqor-import-template.xlsx"),
        Err(e) => s.error(e),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_keep_only_what_the_import_reads() {
        assert_eq!(super::safe_name("../../etc/дети.csv"), "дети.csv");
        assert_eq!(super::safe_name("реестр 2026 (1).xlsx"), "реестр20261.xlsx");
    }
}
