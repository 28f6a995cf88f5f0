//! The office's console, served by the same binary under `/console/`:
//! sign-in with a second factor; on a regional server the region's figures,
//! the work list, devices, users and assignments, enrollment codes, files
//! read-only and the audit; on the national server the country's figures
//! by region and the regions' credentials. Server-rendered pages; every
//! form carries the session's CSRF token; every action is audited; every
//! list exports as CSV and XLSX.

pub mod i18n;
mod import;
pub mod pages;
pub mod signin;
pub mod tables;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Form, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use qamqor_core::docs::DocId;
use qamqor_core::model::Lang;
use serde::Deserialize;

use crate::admin::{self, Operator};
use crate::auth;
use crate::config::Mode;
use crate::error::ServerError;
use crate::figures::{self, Figures};
use crate::model::{ConsoleSession, Role, User};
use crate::national::Country;
use crate::service::Service;
use i18n::{W, t};
use pages::Viewer;
use tables::Table;

const SESSION_COOKIE: &str = "qamqor_session";
const PRE_COOKIE: &str = "qamqor_pre";

/// The console's routes, to nest under `/console`.
pub fn router(service: Arc<Service>) -> Router {
    let common = Router::new()
        .route("/", get(dashboard))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/logout-all", post(logout_all))
        .route("/lang", post(set_lang))
        .route("/audit", get(audit))
        .route("/export/{file}", get(export));
    let routes = match service.mode {
        Mode::Regional => common
            .route("/tasks", get(tasks))
            .route("/devices", get(devices))
            .route("/devices/revoke", post(revoke))
            .route("/codes", get(codes).post(issue_code))
            .route("/users", get(users))
            .route("/users/add", post(add_user))
            .route("/users/districts", post(set_districts))
            .route("/users/adoption", post(set_adoption))
            .route("/users/assign", post(assign))
            .route("/users/account", post(set_account))
            .route("/file", get(file))
            .route("/import", get(import::form).post(import::upload).layer(DefaultBodyLimit::max(import::MAX_UPLOAD)))
            .route("/import/confirm", post(import::confirm))
            .route("/import/report", get(import::report))
            .route("/import/template", get(import::template))
            .route("/national/send", post(national_send)),
        Mode::National => common.route("/regions", get(regions)).route("/regions/credential", post(region_credential)),
    };
    routes.with_state(service)
}

pub(super) async fn blocking<T: Send + 'static>(
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

pub(super) fn html(markup: maud::Markup) -> Response {
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

/// A signed-in office user (an extractor: a request without a session is
/// sent to the sign-in page).
pub(super) struct Signed {
    token_hash: String,
    session: ConsoleSession,
    user: User,
    lang: Lang,
    national: bool,
}

impl Signed {
    fn viewer(&self) -> Viewer<'_> {
        Viewer { session: &self.session, role: self.user.role, lang: self.lang, national: self.national }
    }

    fn operator(&self) -> Operator {
        Operator::Console(self.user.id.clone())
    }

    /// The refusal of a form whose CSRF token is not the session's.
    fn refuse_csrf(&self, csrf: &str) -> Option<Response> {
        if !csrf.is_empty() && constant_eq(csrf.as_bytes(), self.session.csrf.as_bytes()) {
            None
        } else {
            Some(
                (StatusCode::FORBIDDEN, "the form is out of date or was not sent by this console; reload the page")
                    .into_response(),
            )
        }
    }

    /// An error as a page in the viewer's language, with its status.
    fn error(&self, e: ServerError) -> Response {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(error = %e, "console request failed");
        }
        let mut r = html(pages::message(&self.viewer(), &e.public_message()));
        *r.status_mut() = status;
        r
    }
}

impl FromRequestParts<Arc<Service>> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, service: &Arc<Service>) -> Result<Self, Response> {
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(Redirect::to("/console/login").into_response());
        };
        let s = service.clone();
        let found = blocking(move || {
            let hash = auth::token_hash(&token);
            let Some(session) = s.storage().session(&hash, now())? else { return Ok(None) };
            let Some(user) = s.storage().user(&session.user_id)? else { return Ok(None) };
            if !matches!(user.role, Role::Admin | Role::Analyst) {
                return Ok(None);
            }
            let lang = s.storage().console_account(&user.id)?.map(|a| a.lang).unwrap_or_default();
            Ok(Some(Signed {
                token_hash: hash,
                session,
                user,
                lang: i18n::lang(&lang),
                national: s.mode == Mode::National,
            }))
        })
        .await
        .map_err(IntoResponse::into_response)?;
        found.ok_or_else(|| Redirect::to("/console/login").into_response())
    }
}

/// A signed-in administrator (analysts get a "not for your role" page).
pub(super) struct AdminOnly(Signed);

impl FromRequestParts<Arc<Service>> for AdminOnly {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, service: &Arc<Service>) -> Result<Self, Response> {
        let s = Signed::from_request_parts(parts, service).await?;
        if s.user.role != Role::Admin {
            let mut r = html(pages::forbidden(&s.viewer()));
            *r.status_mut() = StatusCode::FORBIDDEN;
            return Err(r);
        }
        Ok(AdminOnly(s))
    }
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
                admin::audit_from(
                    &s,
                    &Operator::Console(user_id.clone()),
                    "console_sign_in",
                    "console",
                    Some(address),
                )?;
                Ok(Ok(signin::open_session(&s, &user_id, at)?.0))
            }
            Err(why) => {
                admin::audit_from(&s, &Operator::Console(user), "console_sign_in_failed", "console", Some(address))?;
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

async fn logout(
    State(service): State<Arc<Service>>,
    headers: HeaderMap,
    s: Signed,
    Form(f): Form<CsrfForm>,
) -> Response {
    end(service, headers, s, f, false).await
}

async fn logout_all(
    State(service): State<Arc<Service>>,
    headers: HeaderMap,
    s: Signed,
    Form(f): Form<CsrfForm>,
) -> Response {
    end(service, headers, s, f, true).await
}

async fn end(service: Arc<Service>, headers: HeaderMap, s: Signed, f: CsrfForm, everywhere: bool) -> Response {
    if let Some(r) = s.refuse_csrf(&f.csrf) {
        return r;
    }
    let (hash, user, by) = (s.token_hash.clone(), s.user.id.clone(), s.operator());
    let done = blocking(move || {
        if everywhere {
            service.storage().end_sessions(&user)?;
        } else {
            service.storage().end_session(&hash)?;
        }
        let action = if everywhere { "console_sign_out_everywhere" } else { "console_sign_out" };
        admin::audit_from(&service, &by, action, "console", None)
    })
    .await;
    match done {
        Ok(()) => {
            let mut r = Redirect::to("/console/login").into_response();
            r.headers_mut().insert(header::SET_COOKIE, set_cookie(&headers, SESSION_COOKIE, "", 0));
            r
        }
        Err(e) => s.error(e),
    }
}

#[derive(Deserialize)]
struct LangForm {
    #[serde(default)]
    csrf: String,
    lang: String,
}

async fn set_lang(State(service): State<Arc<Service>>, s: Signed, Form(f): Form<LangForm>) -> Response {
    if let Some(r) = s.refuse_csrf(&f.csrf) {
        return r;
    }
    let lang = i18n::code(i18n::lang(&f.lang));
    let user = s.user.id.clone();
    match blocking(move || service.storage().set_console_lang(&user, lang)).await {
        Ok(()) => Redirect::to("/console").into_response(),
        Err(e) => s.error(e),
    }
}

#[derive(Deserialize, Default)]
struct AsOf {
    as_of: Option<NaiveDate>,
}

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

async fn compute(service: &Arc<Service>, as_of: Option<NaiveDate>) -> Result<Figures, ServerError> {
    let s = service.clone();
    blocking(move || figures::compute(&s, as_of.unwrap_or_else(today), now())).await
}

async fn dashboard(State(service): State<Arc<Service>>, s: Signed, Query(q): Query<AsOf>) -> Response {
    if s.national {
        let svc = service.clone();
        return match blocking(move || Country::load(&svc, q.as_of)).await {
            Ok(c) => html(pages::country(&s.viewer(), &c, &tables::country(s.lang, &c))),
            Err(e) => s.error(e),
        };
    }
    match compute(&service, q.as_of).await {
        Ok(f) => {
            let link = service.national.as_ref().map(|l| l.status());
            html(pages::dashboard(&s.viewer(), &f, &tables::figures(s.lang, &f), link.as_ref()))
        }
        Err(e) => s.error(e),
    }
}

async fn tasks(State(service): State<Arc<Service>>, s: Signed, Query(q): Query<AsOf>) -> Response {
    let on = q.as_of.unwrap_or_else(today);
    let adoption = s.user.adoption_access;
    match blocking(move || crate::worklist::tasks(&service, on, adoption)).await {
        Ok(list) => html(pages::tasks(&s.viewer(), on, &tables::tasks(s.lang, &list))),
        Err(e) => s.error(e),
    }
}

async fn devices(State(service): State<Arc<Service>>, AdminOnly(s): AdminOnly) -> Response {
    match blocking(move || admin::devices(&service)).await {
        Ok(lines) => html(pages::devices(&s.viewer(), &lines, None)),
        Err(e) => s.error(e),
    }
}

#[derive(Deserialize)]
struct RevokeForm {
    #[serde(default)]
    csrf: String,
    device: String,
}

async fn revoke(State(service): State<Arc<Service>>, AdminOnly(s): AdminOnly, Form(f): Form<RevokeForm>) -> Response {
    if let Some(r) = s.refuse_csrf(&f.csrf) {
        return r;
    }
    let by = s.operator();
    let result = blocking(move || {
        admin::revoke_device_by(&service, &by, &f.device)?;
        admin::devices(&service)
    })
    .await;
    match result {
        Ok(lines) => html(pages::devices(&s.viewer(), &lines, Some(t(s.lang, W::revoked_done)))),
        Err(e) => s.error(e),
    }
}

async fn codes(State(service): State<Arc<Service>>, AdminOnly(s): AdminOnly) -> Response {
    match blocking(move || phone_users(&service)).await {
        Ok(users) => html(pages::codes(&s.viewer(), &users, None)),
        Err(e) => s.error(e),
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

async fn issue_code(State(service): State<Arc<Service>>, AdminOnly(s): AdminOnly, Form(f): Form<CodeForm>) -> Response {
    if let Some(r) = s.refuse_csrf(&f.csrf) {
        return r;
    }
    let by = s.operator();
    let result = blocking(move || {
        let code = admin::issue_code_by(&service, &by, &f.user, f.hours.clamp(1, 720))?;
        Ok((f.user, code.clone(), qr_svg(&code), phone_users(&service)?))
    })
    .await;
    match result {
        Ok((user, code, svg, users)) => html(pages::codes(&s.viewer(), &users, Some((&user, &code, &svg)))),
        Err(e) => s.error(e),
    }
}

fn qr_svg(text: &str) -> String {
    qrcode::QrCode::new(text.as_bytes())
        .map(|q| q.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).build())
        .unwrap_or_default()
}

async fn users(State(service): State<Arc<Service>>, AdminOnly(s): AdminOnly) -> Response {
    users_page(service, s, None, None).await
}

async fn users_page(
    service: Arc<Service>,
    s: Signed,
    message: Option<(bool, String)>,
    account: Option<(String, signin::NewAccount)>,
) -> Response {
    match blocking(move || service.storage().users()).await {
        Ok(list) => {
            let svg = account.as_ref().map(|(_, a)| qr_svg(&a.otpauth_uri)).unwrap_or_default();
            let account =
                account.as_ref().map(|(u, a)| (u.as_str(), a.password.as_str(), a.totp_secret.as_str(), svg.as_str()));
            let note = pages::UsersNote { message, account };
            html(pages::users(&s.viewer(), &list, &s.user.region, &note))
        }
        Err(e) => s.error(e),
    }
}

/// Runs a users-page action and shows the page again with its outcome.
async fn user_action(
    service: Arc<Service>,
    s: Signed,
    csrf: &str,
    f: impl FnOnce(&Service, &Operator) -> Result<Vec<String>, ServerError> + Send + 'static,
) -> Response {
    if let Some(r) = s.refuse_csrf(csrf) {
        return r;
    }
    let by = s.operator();
    let svc = service.clone();
    let message = match blocking(move || f(&svc, &by)).await {
        Ok(notes) if notes.is_empty() => (true, t(s.lang, W::done).to_owned()),
        Ok(notes) => (true, notes.join("; ")),
        Err(e @ ServerError::Storage { .. }) => return s.error(e),
        Err(e) => (false, e.public_message()),
    };
    users_page(service, s, Some(message), None).await
}

fn district_list(s: &str) -> Vec<String> {
    s.split([' ', ',', ';']).map(str::trim).filter(|d| !d.is_empty()).map(str::to_owned).collect()
}

#[derive(Deserialize)]
struct AddUserForm {
    #[serde(default)]
    csrf: String,
    id: String,
    name: String,
    role: String,
    #[serde(default)]
    districts: String,
}

async fn add_user(
    State(service): State<Arc<Service>>,
    AdminOnly(s): AdminOnly,
    Form(f): Form<AddUserForm>,
) -> Response {
    let region = s.user.region.clone();
    let csrf = f.csrf.clone();
    user_action(service, s, &csrf, move |svc, by| {
        let role = Role::parse(&f.role).ok_or_else(|| ServerError::BadRequest("unknown role".into()))?;
        let name = f.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(ServerError::BadRequest("a name is 1 to 200 characters".into()));
        }
        let user = User {
            id: f.id.trim().to_owned(),
            name,
            role,
            region,
            districts: district_list(&f.districts),
            adoption_access: false,
        };
        admin::create_user_by(svc, by, &user)?;
        Ok(Vec::new())
    })
    .await
}

#[derive(Deserialize)]
struct DistrictsForm {
    #[serde(default)]
    csrf: String,
    user: String,
    #[serde(default)]
    districts: String,
}

async fn set_districts(
    State(service): State<Arc<Service>>,
    AdminOnly(s): AdminOnly,
    Form(f): Form<DistrictsForm>,
) -> Response {
    let csrf = f.csrf.clone();
    user_action(service, s, &csrf, move |svc, by| {
        admin::set_districts_by(svc, by, &f.user, district_list(&f.districts))?;
        Ok(Vec::new())
    })
    .await
}

#[derive(Deserialize)]
struct AdoptionForm {
    #[serde(default)]
    csrf: String,
    user: String,
    grant: String,
}

async fn set_adoption(
    State(service): State<Arc<Service>>,
    AdminOnly(s): AdminOnly,
    Form(f): Form<AdoptionForm>,
) -> Response {
    let csrf = f.csrf.clone();
    user_action(service, s, &csrf, move |svc, by| {
        admin::set_adoption_access_by(svc, by, &f.user, f.grant == "yes")?;
        Ok(Vec::new())
    })
    .await
}

#[derive(Deserialize)]
struct AssignForm {
    #[serde(default)]
    csrf: String,
    user: String,
    doc: String,
    action: String,
}

async fn assign(State(service): State<Arc<Service>>, AdminOnly(s): AdminOnly, Form(f): Form<AssignForm>) -> Response {
    let csrf = f.csrf.clone();
    user_action(service, s, &csrf, move |svc, by| {
        let assigned = f.action != "unassign";
        let id = DocId::parse(f.doc.trim())?;
        if svc.storage().doc_meta(&id)?.is_none() {
            return Err(ServerError::NotFound("no document with this id has reached the server".into()));
        }
        admin::assign_by(svc, by, &f.user, &id.to_string(), assigned)
    })
    .await
}

#[derive(Deserialize)]
struct AccountForm {
    #[serde(default)]
    csrf: String,
    user: String,
}

async fn set_account(
    State(service): State<Arc<Service>>,
    AdminOnly(s): AdminOnly,
    Form(f): Form<AccountForm>,
) -> Response {
    if let Some(r) = s.refuse_csrf(&f.csrf) {
        return r;
    }
    let by = s.operator();
    let svc = service.clone();
    let user = f.user.clone();
    match blocking(move || {
        let account = signin::create_account(&svc, &user)?;
        admin::audit_by(&svc, &by, "console_account_set", &format!("user:{user}"))?;
        Ok(account)
    })
    .await
    {
        Ok(account) => users_page(service, s, None, Some((f.user, account))).await,
        Err(e) => {
            let m = e.public_message();
            users_page(service, s, Some((false, m)), None).await
        }
    }
}

#[derive(Deserialize)]
struct FileQuery {
    id: String,
}

/// A child's or representative's file, read-only, for an administrator
/// who may see it (the adoption tier needs its grant); the reading is
/// audited.
async fn file(State(service): State<Arc<Service>>, AdminOnly(s): AdminOnly, Query(q): Query<FileQuery>) -> Response {
    let (user, by) = (s.user.clone(), s.operator());
    let result = blocking(move || {
        let id = DocId::parse(q.id.trim())?;
        if !crate::worklist::is_file(&id) {
            return Err(ServerError::BadRequest("only a child's case or a representative's file can be opened".into()));
        }
        let meta = service.storage().doc_meta(&id)?.ok_or_else(|| ServerError::NotFound("no such file".into()))?;
        let grants = service.storage().grants(&user.id)?;
        if !crate::access::can_read(&user, &grants, &meta) {
            admin::audit_from(&service, &by, "console_read_denied", &id.to_string(), None)?;
            return Err(ServerError::Forbidden(
                "this file is not yours to see (the adoption tier needs its grant)".into(),
            ));
        }
        let doc = service.storage().load_doc(&id)?.ok_or_else(|| ServerError::NotFound("no such file".into()))?;
        let content = qamqor_core::docs::json::read(&doc, &automerge::ROOT)?;
        admin::audit_from(&service, &by, "console_read", &id.to_string(), None)?;
        Ok((id.to_string(), content))
    })
    .await;
    match result {
        Ok((id, content)) => html(pages::file(&s.viewer(), &id, &content)),
        Err(e) => s.error(e),
    }
}

async fn national_send(
    State(service): State<Arc<Service>>,
    AdminOnly(s): AdminOnly,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = s.refuse_csrf(&f.csrf) {
        return r;
    }
    let Some(link) = service.national.clone() else {
        return s.error(ServerError::NotFound("no national_url is configured for this region".into()));
    };
    let by = s.operator();
    let svc = service.clone();
    let _ = blocking(move || admin::audit_from(&svc, &by, "national_report_requested", "national", None)).await;
    // The outcome is shown on the dashboard (the link's status).
    let _ = crate::national::send(&service, &link).await;
    Redirect::to("/console").into_response()
}

async fn regions(State(service): State<Arc<Service>>, AdminOnly(s): AdminOnly) -> Response {
    match blocking(move || Country::load(&service, None)).await {
        Ok(c) => html(pages::regions(&s.viewer(), &c, None)),
        Err(e) => s.error(e),
    }
}

#[derive(Deserialize)]
struct RegionForm {
    #[serde(default)]
    csrf: String,
    region: String,
}

async fn region_credential(
    State(service): State<Arc<Service>>,
    AdminOnly(s): AdminOnly,
    Form(f): Form<RegionForm>,
) -> Response {
    if let Some(r) = s.refuse_csrf(&f.csrf) {
        return r;
    }
    let by = s.operator();
    let result = blocking(move || {
        let token = crate::national::issue_credential(&service, &f.region)?;
        admin::audit_by(&service, &by, "region_credential_issued", &format!("region:{}", f.region))?;
        Ok((f.region, token, Country::load(&service, None)?))
    })
    .await;
    match result {
        Ok((region, token, c)) => html(pages::regions(&s.viewer(), &c, Some((&region, &token)))),
        Err(e) => s.error(e),
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

fn audit_table(service: &Service, l: Lang, q: &AuditQuery) -> Result<Table, ServerError> {
    let lines: Vec<_> = service
        .storage()
        .audit_log(5000)?
        .into_iter()
        .filter(|a| q.who.is_empty() || a.user_id.contains(&q.who))
        .filter(|a| q.what.is_empty() || a.action.contains(&q.what))
        .filter(|a| q.doc.is_empty() || a.doc_id.contains(&q.doc))
        .take(500)
        .collect();
    Ok(tables::audit(l, &lines))
}

async fn audit(State(service): State<Arc<Service>>, AdminOnly(s): AdminOnly, Query(q): Query<AuditQuery>) -> Response {
    let l = s.lang;
    let (who, what, doc) = (q.who.clone(), q.what.clone(), q.doc.clone());
    match blocking(move || audit_table(&service, l, &q)).await {
        Ok(tb) => html(pages::audit(&s.viewer(), &tb, &who, &what, &doc)),
        Err(e) => s.error(e),
    }
}

#[derive(Deserialize)]
struct ExportQuery {
    as_of: Option<NaiveDate>,
    #[serde(default)]
    who: String,
    #[serde(default)]
    what: String,
    #[serde(default)]
    doc: String,
}

/// `/console/export/{list}.{csv|xlsx}`: every list, in the viewer's
/// language. Analysts may export the figures and the work list; the rest
/// is the administrator's.
async fn export(
    State(service): State<Arc<Service>>,
    s: Signed,
    Path(file): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Response {
    let Some((name, ext)) = file.rsplit_once('.').filter(|(_, e)| matches!(*e, "csv" | "xlsx")) else {
        return s.error(ServerError::NotFound("exports are <list>.csv or <list>.xlsx".into()));
    };
    let (name, xlsx) = (name.to_owned(), ext == "xlsx");
    let admin_only = matches!(name.as_str(), "devices" | "users" | "audit");
    if admin_only && s.user.role != Role::Admin {
        let mut r = html(pages::forbidden(&s.viewer()));
        *r.status_mut() = StatusCode::FORBIDDEN;
        return r;
    }
    let (l, by, national, adoption) = (s.lang, s.operator(), s.national, s.user.adoption_access);
    let result = blocking(move || {
        let on = q.as_of.unwrap_or_else(today);
        let table = match (name.as_str(), national) {
            ("figures", false) => tables::figures(l, &figures::compute(&service, on, now())?),
            ("specialists", false) => specialists_table(l, &figures::compute(&service, on, now())?),
            ("tasks", false) => tables::tasks(l, &crate::worklist::tasks(&service, on, adoption)?),
            ("devices", false) => tables::devices(l, &admin::devices(&service)?),
            ("users", _) => tables::users(l, &service.storage().users()?),
            ("audit", _) => audit_table(&service, l, &AuditQuery { who: q.who, what: q.what, doc: q.doc })?,
            ("country", true) => tables::country(l, &Country::load(&service, q.as_of)?),
            _ => return Err(ServerError::NotFound("no such list".into())),
        };
        admin::audit_from(&service, &by, &format!("{}_exported", table.name), &format!("as_of:{on}"), None)?;
        Ok(table)
    })
    .await;
    let table = match result {
        Ok(t) => t,
        Err(e) => return s.error(e),
    };
    let stamp = today();
    if xlsx {
        match table.xlsx() {
            Ok(bytes) => (
                [
                    (
                        header::CONTENT_TYPE,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"qamqor-{}-{stamp}.xlsx\"", table.name),
                    ),
                ],
                bytes,
            )
                .into_response(),
            Err(_) => s.error(ServerError::Config("the spreadsheet could not be written".into())),
        }
    } else {
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"qamqor-{}-{stamp}.csv\"", table.name)),
            ],
            table.csv(),
        )
            .into_response()
    }
}

fn specialists_table(l: Lang, f: &Figures) -> Table {
    use tables::Cell;
    let header = [W::user, W::name, W::children, W::representatives, W::checks_due, W::checks_overdue]
        .iter()
        .map(|w| t(l, *w).to_owned())
        .collect();
    let rows = f
        .specialists
        .iter()
        .map(|s| {
            vec![
                Cell::Text(s.user_id.clone()),
                Cell::Text(s.name.clone()),
                Cell::Num(s.children),
                Cell::Num(s.representatives),
                Cell::Num(s.checks_due),
                Cell::Num(s.checks_overdue),
            ]
        })
        .collect();
    Table { name: "specialists", header, rows }
}
