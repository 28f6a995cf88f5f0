//! The regional office's console, served by the same binary under
//! `/console/`: sign-in with a second factor, the region's figures, the
//! devices, enrollment codes, the audit, exports. Server-rendered pages;
//! every form carries the session's CSRF token; every action is audited.

pub mod i18n;
pub mod pages;
pub mod signin;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use qamqor_core::model::Lang;
use serde::Deserialize;

use crate::auth;
use crate::error::ServerError;
use crate::figures::{self, Figures};
use crate::model::{AuditEntry, ConsoleSession, Role};
use crate::service::Service;
use i18n::{W, t};
use pages::Viewer;

const SESSION_COOKIE: &str = "qamqor_session";
const PRE_COOKIE: &str = "qamqor_pre";

/// The console's routes, to nest under `/console`.
pub fn router(service: Arc<Service>) -> Router {
    Router::new()
        .route("/", get(dashboard))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/logout-all", post(logout_all))
        .route("/lang", post(set_lang))
        .route("/devices", get(devices))
        .route("/devices/revoke", post(revoke))
        .route("/codes", get(codes).post(issue_code))
        .route("/audit", get(audit))
        .route("/export/figures.csv", get(export_csv))
        .route("/export/figures.xlsx", get(export_xlsx))
        .with_state(service)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ServerError> + Send + 'static,
) -> Result<T, ServerError> {
    tokio::task::spawn_blocking(f).await.map_err(|_| ServerError::Config("a worker failed".into()))?
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// `Secure` unless the console is reached on loopback (plain HTTP there,
/// as for phones).
fn set_cookie(headers: &HeaderMap, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let local = host.starts_with("127.0.0.1") || host.starts_with("localhost") || host.starts_with("[::1]");
    let secure = if local { "" } else { "; Secure" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn html(markup: maud::Markup) -> Response {
    let mut r = markup.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'"),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A signed-in office user.
struct Signed {
    token_hash: String,
    session: ConsoleSession,
    role: Role,
    lang: Lang,
}

impl Signed {
    fn viewer(&self) -> Viewer<'_> {
        Viewer { session: &self.session, role: self.role, lang: self.lang }
    }
}

/// The session of the request, or a redirect to the sign-in page.
async fn signed(service: &Arc<Service>, headers: &HeaderMap) -> Result<Signed, Response> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Err(Redirect::to("/console/login").into_response());
    };
    let s = service.clone();
    let found = blocking(move || {
        let hash = auth::token_hash(&token);
        let Some(session) = s.storage().session(&hash, now())? else { return Ok(None) };
        let Some(user) = s.storage().user(&session.user_id)? else { return Ok(None) };
        let lang = s.storage().console_account(&user.id)?.map(|a| a.lang).unwrap_or_default();
        Ok(Some(Signed { token_hash: hash, session, role: user.role, lang: i18n::lang(&lang) }))
    })
    .await
    .map_err(IntoResponse::into_response)?;
    found.ok_or_else(|| Redirect::to("/console/login").into_response())
}

fn audit_line(
    service: &Service,
    user: &str,
    action: &str,
    subject: &str,
    address: Option<String>,
) -> Result<(), ServerError> {
    service.storage().audit(&[AuditEntry {
        at: chrono::Utc::now().timestamp_millis(),
        user_id: format!("(console: {user})"),
        device_id: "-".into(),
        doc_id: subject.chars().take(200).collect(),
        action: action.to_owned(),
        hashes: Vec::new(),
        address,
    }])
}

/// Whether a form post carries the session's CSRF token.
fn csrf_ok(s: &Signed, csrf: &str) -> bool {
    !csrf.is_empty() && constant_eq(csrf.as_bytes(), s.session.csrf.as_bytes())
}

fn csrf_refused() -> Response {
    (StatusCode::FORBIDDEN, "the form is out of date or was not sent by this console; reload the page").into_response()
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

async fn login_page(headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let pre = auth::new_token();
    let l = i18n::lang(q.lang.as_deref().unwrap_or("ru"));
    let mut r = html(pages::login(l, &pre, None));
    r.headers_mut().insert(header::SET_COOKIE, set_cookie(&headers, PRE_COOKIE, &pre, 600));
    r
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    csrf: String,
    user: String,
    password: String,
    code: String,
}

async fn login(
    State(service): State<Arc<Service>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let pre = cookie(&headers, PRE_COOKIE).unwrap_or_default();
    if pre.is_empty() || !constant_eq(pre.as_bytes(), form.csrf.as_bytes()) {
        return (StatusCode::FORBIDDEN, "the sign-in form is out of date; reload the page").into_response();
    }
    let s = service.clone();
    let address = peer.ip().to_string();
    let result = blocking(move || {
        let at = now();
        let outcome = signin::check(
            &s,
            &signin::Credentials { user: &form.user, password: &form.password, code: &form.code },
            at,
        )?;
        let user = form.user.chars().take(64).collect::<String>();
        match outcome {
            Ok(user_id) => {
                audit_line(&s, &user_id, "console_sign_in", "console", Some(address))?;
                Ok(Ok(signin::open_session(&s, &user_id, at)?.0))
            }
            Err(why) => {
                audit_line(&s, &user, "console_sign_in_failed", "console", Some(address))?;
                Ok(Err(why))
            }
        }
    })
    .await;
    match result {
        Ok(Ok(token)) => {
            let mut r = Redirect::to("/console").into_response();
            r.headers_mut()
                .append(header::SET_COOKIE, set_cookie(&headers, SESSION_COOKIE, &token, signin::SESSION_SECS));
            r.headers_mut().append(header::SET_COOKIE, set_cookie(&headers, PRE_COOKIE, "", 0));
            r
        }
        Ok(Err(why)) => {
            let l = Lang::Ru;
            let msg = t(l, if why == signin::Refused::Locked { W::locked } else { W::wrong });
            let mut r = html(pages::login(l, &pre, Some(msg)));
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(State(service): State<Arc<Service>>, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Response {
    end(service, headers, f, false).await
}

async fn logout_all(State(service): State<Arc<Service>>, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Response {
    end(service, headers, f, true).await
}

async fn end(service: Arc<Service>, headers: HeaderMap, f: CsrfForm, everywhere: bool) -> Response {
    let s = match signed(&service, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !csrf_ok(&s, &f.csrf) {
        return csrf_refused();
    }
    let done = blocking(move || {
        if everywhere {
            service.storage().end_sessions(&s.session.user_id)?;
        } else {
            service.storage().end_session(&s.token_hash)?;
        }
        audit_line(
            &service,
            &s.session.user_id,
            if everywhere { "console_sign_out_everywhere" } else { "console_sign_out" },
            "console",
            None,
        )
    })
    .await;
    match done {
        Ok(()) => {
            let mut r = Redirect::to("/console/login").into_response();
            r.headers_mut().insert(header::SET_COOKIE, set_cookie(&headers, SESSION_COOKIE, "", 0));
            r
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct LangForm {
    #[serde(default)]
    csrf: String,
    lang: String,
}

async fn set_lang(State(service): State<Arc<Service>>, headers: HeaderMap, Form(f): Form<LangForm>) -> Response {
    let s = match signed(&service, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !csrf_ok(&s, &f.csrf) {
        return csrf_refused();
    }
    let lang = i18n::code(i18n::lang(&f.lang));
    match blocking(move || service.storage().set_console_lang(&s.session.user_id, lang)).await {
        Ok(()) => Redirect::to("/console").into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct AsOf {
    as_of: Option<NaiveDate>,
}

async fn compute(service: &Arc<Service>, as_of: Option<NaiveDate>) -> Result<Figures, ServerError> {
    let s = service.clone();
    blocking(move || {
        let now = chrono::Utc::now();
        figures::compute(&s, as_of.unwrap_or(now.date_naive()), now.timestamp())
    })
    .await
}

async fn dashboard(State(service): State<Arc<Service>>, headers: HeaderMap, Query(q): Query<AsOf>) -> Response {
    let s = match signed(&service, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match compute(&service, q.as_of).await {
        Ok(f) => html(pages::dashboard(&s.viewer(), &f)),
        Err(e) => e.into_response(),
    }
}

/// The administrator's pages.
async fn admin(service: &Arc<Service>, headers: &HeaderMap) -> Result<Signed, Response> {
    let s = signed(service, headers).await?;
    if s.role != Role::Admin {
        let mut r = html(pages::forbidden(&s.viewer()));
        *r.status_mut() = StatusCode::FORBIDDEN;
        return Err(r);
    }
    Ok(s)
}

async fn devices(State(service): State<Arc<Service>>, headers: HeaderMap) -> Response {
    let s = match admin(&service, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match blocking(move || crate::admin::devices(&service)).await {
        Ok(lines) => html(pages::devices(&s.viewer(), &lines, None)),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct RevokeForm {
    #[serde(default)]
    csrf: String,
    device: String,
}

async fn revoke(State(service): State<Arc<Service>>, headers: HeaderMap, Form(f): Form<RevokeForm>) -> Response {
    let s = match admin(&service, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !csrf_ok(&s, &f.csrf) {
        return csrf_refused();
    }
    let user = s.session.user_id.clone();
    let result = blocking(move || {
        service.storage().revoke_device(&f.device, now())?;
        audit_line(&service, &user, "device_revoked", &format!("device:{}", f.device), None)?;
        crate::admin::devices(&service)
    })
    .await;
    match result {
        Ok(lines) => html(pages::devices(&s.viewer(), &lines, Some(t(s.lang, W::revoked_done)))),
        Err(e) => e.into_response(),
    }
}

async fn codes(State(service): State<Arc<Service>>, headers: HeaderMap) -> Response {
    let s = match admin(&service, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match blocking(move || phone_users(&service)).await {
        Ok(users) => html(pages::codes(&s.viewer(), &users, None)),
        Err(e) => e.into_response(),
    }
}

fn phone_users(service: &Service) -> Result<Vec<String>, ServerError> {
    Ok(service.storage().users()?.into_iter().filter(|u| u.role != Role::Analyst).map(|u| u.id).collect())
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    csrf: String,
    user: String,
    hours: i64,
}

async fn issue_code(State(service): State<Arc<Service>>, headers: HeaderMap, Form(f): Form<CodeForm>) -> Response {
    let s = match admin(&service, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !csrf_ok(&s, &f.csrf) {
        return csrf_refused();
    }
    let admin_id = s.session.user_id.clone();
    let result = blocking(move || {
        let code = service.issue_code(&f.user, f.hours.clamp(1, 720))?;
        audit_line(&service, &admin_id, "code_issued", &format!("user:{} hours:{}", f.user, f.hours), None)?;
        let svg = qrcode::QrCode::new(code.as_bytes())
            .map(|q| q.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).build())
            .unwrap_or_default();
        Ok((f.user, code, svg, phone_users(&service)?))
    })
    .await;
    match result {
        Ok((user, code, svg, users)) => html(pages::codes(&s.viewer(), &users, Some((&user, &code, &svg)))),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct AuditQuery {
    #[serde(default)]
    who: String,
    #[serde(default)]
    what: String,
    #[serde(default)]
    doc: String,
}

async fn audit(State(service): State<Arc<Service>>, headers: HeaderMap, Query(q): Query<AuditQuery>) -> Response {
    let s = match admin(&service, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (who, what, doc) = (q.who.clone(), q.what.clone(), q.doc.clone());
    let result = blocking(move || {
        let lines: Vec<AuditEntry> = service
            .storage()
            .audit_log(5000)?
            .into_iter()
            .filter(|a| who.is_empty() || a.user_id.contains(&who))
            .filter(|a| what.is_empty() || a.action.contains(&what))
            .filter(|a| doc.is_empty() || a.doc_id.contains(&doc))
            .take(500)
            .collect();
        Ok(lines)
    })
    .await;
    match result {
        Ok(lines) => html(pages::audit(&s.viewer(), &lines, &q.who, &q.what, &q.doc)),
        Err(e) => e.into_response(),
    }
}

/// The figures as a table: the header and one row per figure.
fn table(l: Lang, f: &Figures) -> (Vec<String>, Vec<Vec<String>>) {
    let mut header = vec![t(l, W::figure).to_owned(), t(l, W::region).to_owned()];
    header.extend(f.districts.keys().cloned());
    let region = pages::figure_rows(l, &f.region);
    let districts: Vec<_> = f.districts.values().map(|c| pages::figure_rows(l, c)).collect();
    let rows = region
        .into_iter()
        .enumerate()
        .map(|(i, (label, value))| {
            let mut row = vec![label, value];
            row.extend(districts.iter().map(|d| d[i].1.clone()));
            row
        })
        .collect();
    (header, rows)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

async fn export(service: Arc<Service>, headers: HeaderMap, q: AsOf, xlsx: bool) -> Response {
    let s = match signed(&service, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let f = match compute(&service, q.as_of).await {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let (header, rows) = table(s.lang, &f);
    let user = s.session.user_id.clone();
    let as_of = f.as_of;
    let svc = service.clone();
    let _ = blocking(move || audit_line(&svc, &user, "figures_exported", &format!("as_of:{as_of}"), None)).await;
    if xlsx {
        let write = || -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
            let mut book = rust_xlsxwriter::Workbook::new();
            let sheet = book.add_worksheet();
            for (c, h) in header.iter().enumerate() {
                sheet.write_string(0, c as u16, h)?;
            }
            for (r, row) in rows.iter().enumerate() {
                for (c, v) in row.iter().enumerate() {
                    match v.parse::<f64>() {
                        Ok(n) if c > 0 => sheet.write_number(r as u32 + 1, c as u16, n)?,
                        _ => sheet.write_string(r as u32 + 1, c as u16, v)?,
                    };
                }
            }
            book.save_to_buffer()
        };
        match write() {
            Ok(bytes) => (
                [
                    (
                        header::CONTENT_TYPE,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
                    ),
                    (header::CONTENT_DISPOSITION, format!("attachment; filename=\"qamqor-figures-{as_of}.xlsx\"")),
                ],
                bytes,
            )
                .into_response(),
            Err(_) => ServerError::Config("the spreadsheet could not be written".into()).into_response(),
        }
    } else {
        let mut out = String::from("\u{feff}");
        for line in std::iter::once(&header).chain(rows.iter()) {
            out.push_str(&line.iter().map(|v| csv_field(v)).collect::<Vec<_>>().join(","));
            out.push_str("\r\n");
        }
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"qamqor-figures-{as_of}.csv\"")),
            ],
            out,
        )
            .into_response()
    }
}

async fn export_csv(State(service): State<Arc<Service>>, headers: HeaderMap, Query(q): Query<AsOf>) -> Response {
    export(service, headers, q, false).await
}

async fn export_xlsx(State(service): State<Arc<Service>>, headers: HeaderMap, Query(q): Query<AsOf>) -> Response {
    export(service, headers, q, true).await
}
