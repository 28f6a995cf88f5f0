//! The console's pages: server-rendered HTML (maud escapes every value),
//! a little CSS, no script needed.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use qamqor_core::model::{CodeList, Lang, PlacementForm};

use super::i18n::{W, code, t};
use super::tables::Table;
use crate::admin::DeviceLine;
use crate::figures::{Figure, Figures, RegionFigure};
use crate::model::{ConsoleSession, Role, User};
use crate::national::{Country, LinkStatus};
use crate::worklist::TaskKind;

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1a1a1a}
header{background:#0b4f6c;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
header a{color:#fff}main{padding:1rem;max-width:1400px;overflow-x:auto}table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}td.n{text-align:right}
.bar{background:#2a9d8f;height:1rem;display:inline-block}.b2{background:#e9c46a}.b3{background:#e76f51}
.err{color:#b00020}.ok{color:#1b5e20}.muted{color:#666}.charts{display:flex;flex-wrap:wrap;gap:0 2rem}figure{margin:0}
form.inline{display:inline}input,select,button{font-size:1rem;padding:.3rem}:focus{outline:3px solid #f4a261}
.code{font-family:monospace;font-size:1.6rem;letter-spacing:.1em}dl.file{margin:0 0 0 1rem}dl.file dt{font-weight:600}
dl.file dd{margin:0 0 .4rem 1rem}fieldset{margin:0 0 1rem;border:1px solid #ccc}";

/// Who is looking, for the page frame.
pub struct Viewer<'a> {
    /// The session.
    pub session: &'a ConsoleSession,
    /// The role.
    pub role: Role,
    /// The language.
    pub lang: Lang,
    /// Whether this is the national server's console.
    pub national: bool,
}

pub(super) fn frame(l: Lang, title: &str, viewer: Option<&Viewer<'_>>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(code(l)) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — Qamqor" }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    strong { (t(l, if viewer.is_some_and(|v| v.national) { W::title_national } else { W::title })) }
                    @if let Some(v) = viewer {
                        nav {
                            a href="/console" { (t(l, W::dashboard)) }
                            @if v.national {
                                @if v.role == Role::Admin {
                                    " · " a href="/console/regions" { (t(l, W::regions)) }
                                    " · " a href="/console/audit" { (t(l, W::audit)) }
                                }
                            } @else {
                                " · " a href="/console/tasks" { (t(l, W::tasks)) }
                                @if v.role == Role::Admin {
                                    " · " a href="/console/devices" { (t(l, W::devices)) }
                                    " · " a href="/console/users" { (t(l, W::users)) }
                                    " · " a href="/console/codes" { (t(l, W::codes)) }
                                    " · " a href="/console/import" { (t(l, W::import)) }
                                    " · " a href="/console/audit" { (t(l, W::audit)) }
                                }
                            }
                        }
                        form.inline method="post" action="/console/lang" {
                            input type="hidden" name="csrf" value=(v.session.csrf);
                            label { (t(l, W::language)) " "
                                select name="lang" {
                                    @for (c, name) in [("kk", "Қазақша"), ("ru", "Русский"), ("en", "English")] {
                                        option value=(c) selected[c == code(l)] { (name) }
                                    }
                                }
                            }
                            " " button type="submit" { "OK" }
                        }
                        span { (v.session.user_id) }
                        form.inline method="post" action="/console/logout" {
                            input type="hidden" name="csrf" value=(v.session.csrf);
                            button type="submit" { (t(l, W::sign_out)) }
                        }
                        form.inline method="post" action="/console/logout-all" {
                            input type="hidden" name="csrf" value=(v.session.csrf);
                            button type="submit" { (t(l, W::sign_out_all)) }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The sign-in form; `pre` is the pre-session CSRF token.
pub fn login(l: Lang, pre: &str, error: Option<&str>) -> Markup {
    frame(
        l,
        t(l, W::sign_in),
        None,
        html! {
            h1 { (t(l, W::sign_in)) }
            @if let Some(e) = error { p.err role="alert" { (e) } }
            form method="post" action="/console/login" {
                input type="hidden" name="csrf" value=(pre);
                p { label { (t(l, W::user)) br; input name="user" autocomplete="username" required autofocus; } }
                p { label { (t(l, W::password)) br; input name="password" type="password" autocomplete="current-password" required; } }
                p { label { (t(l, W::code)) br; input name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" required; } }
                p { button type="submit" { (t(l, W::sign_in)) } }
            }
            p { @for (c, name) in [("kk", "Қазақша"), ("ru", "Русский"), ("en", "English")] {
                a href={ "/console/login?lang=" (c) } { (name) } " "
            } }
        },
    )
}

/// A figure's label.
pub fn figure_label(l: Lang, f: Figure) -> String {
    let w = match f {
        Figure::ChildrenPlaced => W::children_placed,
        Figure::InFamilies => W::in_families,
        Figure::Kinship => W::kinship,
        Figure::Form(form) => return format!("{}: {}", t(l, W::by_form), form.label(l)),
        Figure::Awaiting => W::awaiting,
        Figure::Representatives => W::representatives,
        Figure::ChecksDone => W::checks_done,
        Figure::ChecksDue => W::checks_due,
        Figure::ChecksOverdue => W::checks_overdue,
        Figure::OpenRisk => W::open_risk,
        Figure::Recommendations => W::recommendations,
        Figure::Removals => W::removals,
        Figure::Visits => W::visits,
        Figure::Visited => W::visited,
        Figure::Mentorships => W::mentorships,
    };
    t(l, w).to_owned()
}

/// A region-wide figure's label.
pub fn region_figure_label(l: Lang, f: RegionFigure) -> String {
    let w = match f {
        RegionFigure::Mentors => W::mentors,
        RegionFigure::CertificateValid => W::cert_valid,
        RegionFigure::CertificateExpiring => W::cert_expiring,
        RegionFigure::CertificateExpired => W::cert_expired,
        RegionFigure::CertificateNone => W::cert_none,
        RegionFigure::Specialists => W::specialists,
        RegionFigure::CaseloadMax => W::caseload_max,
        RegionFigure::DevicesActive => W::devices_active,
        RegionFigure::DevicesSynced => W::synced_7d,
        RegionFigure::DevicesSilent => W::silent,
        RegionFigure::DevicesRevoked => W::devices_revoked,
    };
    t(l, w).to_owned()
}

/// A work-list item's label.
pub fn task_label(l: Lang, k: TaskKind) -> &'static str {
    t(
        l,
        match k {
            TaskKind::RiskFactor => W::task_risk,
            TaskKind::RemovalRecommended => W::task_recommended,
            TaskKind::ChildToPlace => W::task_to_place,
            TaskKind::Urgent => W::task_urgent,
            TaskKind::CheckOverdue => W::checks_overdue,
            TaskKind::CheckDue => W::checks_due,
            TaskKind::LikelyDuplicate => W::task_duplicate,
        },
    )
}

/// A role's label.
pub fn role_label(l: Lang, r: Role) -> &'static str {
    t(
        l,
        match r {
            Role::Specialist => W::role_specialist,
            Role::Mentor => W::role_mentor,
            Role::Admin => W::role_admin,
            Role::Analyst => W::role_analyst,
        },
    )
}

/// A table as HTML: text cells as header cells in the first column.
fn table(id: Option<&str>, tb: &Table) -> Markup {
    html! {
        table id=[id] {
            thead { tr { @for h in &tb.header { th scope="col" { (h) } } } }
            tbody {
                @for row in &tb.rows {
                    tr { @for (i, c) in row.iter().enumerate() {
                        @if i == 0 { th { (c.text()) } }
                        @else if c.numeric() { td.n { (c.text()) } }
                        @else { td { (c.text()) } }
                    } }
                }
            }
        }
    }
}

fn exports(l: Lang, name: &str, query: &str) -> Markup {
    html! {
        p.exports {
            a href={ "/console/export/" (name) ".csv" (query) } { (t(l, W::export_csv)) } " · "
            a href={ "/console/export/" (name) ".xlsx" (query) } { (t(l, W::export_xlsx)) }
        }
    }
}

/// Horizontal bars; `parts` of each line stack (at most three colours).
fn bars(title: &str, legend: &[&str], lines: &[(String, Vec<u64>)]) -> Markup {
    let max = lines.iter().map(|(_, v)| v.iter().sum::<u64>()).max().unwrap_or(0).max(1);
    let class = ["bar", "bar b2", "bar b3"];
    html! {
        figure {
            figcaption { strong { (title) } @if legend.len() > 1 { " (" @for (i, name) in legend.iter().enumerate() {
                @if i > 0 { ", " } span class=(class[i.min(2)]) style="width:.8rem" {} " " (name) } ")" } }
            table aria-label=(title) {
                @for (label, parts) in lines {
                    tr { th { (label) } td.n { (parts.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(" / ")) }
                         td style="min-width:320px" { @for (i, n) in parts.iter().enumerate() {
                             span class=(class[i.min(2)]) style={ "width:" (n * 300 / max) "px" } title=(n) {}
                         } } }
                }
            }
        }
    }
}

/// The dashboard of a region.
pub fn dashboard(v: &Viewer<'_>, f: &Figures, figures: &Table, link: Option<&LinkStatus>) -> Markup {
    let l = v.lang;
    let by_district: Vec<(String, Vec<u64>)> =
        f.districts.iter().map(|(d, c)| (d.clone(), vec![c.children_placed])).collect();
    let by_form: Vec<(String, Vec<u64>)> = PlacementForm::all()
        .iter()
        .map(|p| (p.label(l).to_owned(), vec![f.region.by_form.get(p.code()).copied().unwrap_or(0)]))
        .collect();
    let checks: Vec<(String, Vec<u64>)> =
        f.districts.iter().map(|(d, c)| (d.clone(), vec![c.checks_done, c.checks_due, c.checks_overdue])).collect();
    let as_of = format!("?as_of={}", f.as_of);
    frame(
        l,
        t(l, W::dashboard),
        Some(v),
        html! {
            h1 { (t(l, W::dashboard)) }
            form method="get" action="/console" {
                label { (t(l, W::as_of)) " " input type="date" name="as_of" value=(f.as_of.to_string()); }
                " " button type="submit" { (t(l, W::show)) }
            }
            @if let Some(s) = link {
                p #national {
                    (t(l, W::national_link)) ": "
                    @if let (Some(at), Some(d)) = (s.last_sent_at, s.last_as_of) { (t(l, W::sent)) " " (time(at)) " (" (d) ")" }
                    @else { span.muted { (t(l, W::not_sent)) } }
                    @if let Some(e) = &s.last_error { " " span.err { (e) } }
                    @if v.role == Role::Admin {
                        " " form.inline method="post" action="/console/national/send" {
                            input type="hidden" name="csrf" value=(v.session.csrf);
                            button type="submit" { (t(l, W::send_now)) }
                        }
                    }
                }
            }
            div.charts {
                (bars(t(l, W::chart), &[], &by_district))
                (bars(t(l, W::by_form), &[], &by_form))
                (bars(t(l, W::chart_checks), &[t(l, W::checks_done), t(l, W::checks_due), t(l, W::checks_overdue)], &checks))
            }
            h2 { (t(l, W::figures_by_district)) }
            (exports(l, "figures", &as_of))
            (table(Some("figures"), figures))
            h2 { (t(l, W::meetings)) }
            table { @for (m, n) in &f.mentors.meetings_per_month { tr { th { (m) } td.n { (n) } } } }
            h2 { (t(l, W::specialists)) }
            (exports(l, "specialists", &as_of))
            table #specialists {
                tr { th { (t(l, W::user)) } th { (t(l, W::children)) } th { (t(l, W::representatives)) }
                     th { (t(l, W::checks_due)) } th { (t(l, W::checks_overdue)) } }
                @for s in &f.specialists {
                    tr { td { (s.name) " (" (s.user_id) ")" } td.n { (s.children) } td.n { (s.representatives) }
                         td.n { (s.checks_due) } td.n { (s.checks_overdue) } }
                }
            }
        },
    )
}

/// The country's dashboard on the national server.
pub fn country(v: &Viewer<'_>, c: &Country, tb: &Table) -> Markup {
    let l = v.lang;
    let query = c.as_of.map(|d| format!("?as_of={d}")).unwrap_or_default();
    let placed = Figure::ChildrenPlaced.key();
    let lines: Vec<(String, Vec<u64>)> = c
        .regions
        .iter()
        .map(|(code, (r, _))| {
            let label = qamqor_core::model::Region::from_code(code).map_or(code.clone(), |x| x.label(l).to_owned());
            (label, vec![r.region_cells.get(&placed).copied().flatten().unwrap_or(0)])
        })
        .collect();
    frame(
        l,
        t(l, W::dashboard),
        Some(v),
        html! {
            h1 { (t(l, W::country_figures)) }
            form method="get" action="/console" {
                label { (t(l, W::as_of)) " " input type="date" name="as_of" value=(c.as_of.map(|d| d.to_string()).unwrap_or_default()); }
                " " button type="submit" { (t(l, W::show)) }
            }
            p.muted { (t(l, W::suppressed_note)) }
            @if c.regions.is_empty() { p #no-reports { (t(l, W::no_reports)) } } @else {
                div.charts { (bars(t(l, W::chart_regions), &[], &lines)) }
                (exports(l, "country", &query))
                (table(Some("figures"), tb))
            }
        },
    )
}

/// The national server's regions and their credentials.
pub fn regions(v: &Viewer<'_>, c: &Country, issued: Option<(&str, &str)>) -> Markup {
    let l = v.lang;
    frame(
        l,
        t(l, W::regions),
        Some(v),
        html! {
            h1 { (t(l, W::regions)) }
            @if let Some((region, token)) = issued {
                p.ok role="status" { (t(l, W::credential_for)) " " (region) ":" }
                p.code #credential { (token) }
                p { (t(l, W::credential_note)) }
            }
            table {
                tr { th { (t(l, W::region)) } th { (t(l, W::as_of)) } th { (t(l, W::received)) } th { (t(l, W::credential)) } }
                @for r in qamqor_core::model::Region::all() {
                    tr {
                        th { (r.label(l)) " (" (r.code()) ")" }
                        @if let Some((rep, at)) = c.regions.get(r.code()) { td { (rep.as_of) } td { (time(*at)) } }
                        @else { td.muted { "—" } td.muted { "—" } }
                        td { form.inline method="post" action="/console/regions/credential" {
                            input type="hidden" name="csrf" value=(v.session.csrf);
                            input type="hidden" name="region" value=(r.code());
                            button type="submit" data-region=(r.code()) { (t(l, W::issue_credential)) }
                        } }
                    }
                }
            }
        },
    )
}

/// The work list: overdue checks and urgent items with who holds them.
pub fn tasks(v: &Viewer<'_>, on: chrono::NaiveDate, tb: &Table) -> Markup {
    let l = v.lang;
    frame(
        l,
        t(l, W::tasks),
        Some(v),
        html! {
            h1 { (t(l, W::tasks)) }
            form method="get" action="/console/tasks" {
                label { (t(l, W::as_of)) " " input type="date" name="as_of" value=(on.to_string()); }
                " " button type="submit" { (t(l, W::show)) }
            }
            (exports(l, "tasks", &format!("?as_of={on}")))
            table #tasks {
                thead { tr { @for h in &tb.header { th scope="col" { (h) } } } }
                tbody { @for row in &tb.rows { tr {
                    @for (i, c) in row.iter().enumerate() {
                        @if (i == 1 || (i == 5 && !c.text().is_empty())) && v.role == Role::Admin {
                            td { a href={ "/console/file?id=" (c.text()) } { (c.text()) } }
                        } @else { td { (c.text()) } }
                    }
                } } }
            }
        },
    )
}

/// The devices, with a revoke button each.
pub fn devices(v: &Viewer<'_>, lines: &[DeviceLine], note: Option<&str>) -> Markup {
    let l = v.lang;
    frame(
        l,
        t(l, W::devices),
        Some(v),
        html! {
            h1 { (t(l, W::devices)) }
            @if let Some(n) = note { p.ok role="status" { (n) } }
            (exports(l, "devices", ""))
            table {
                tr { th { "ID" } th { (t(l, W::user)) } th { (t(l, W::label)) } th { (t(l, W::last_sync)) }
                     th { (t(l, W::pending_urgent)) } th { (t(l, W::revoke)) } }
                @for d in lines {
                    tr {
                        td { (d.device.id) } td { (d.device.user_id) } td { (d.device.label) }
                        td { @if let Some(at) = d.device.last_sync_at { (time(at)) } @else { "—" } }
                        td.n { (d.pending_urgent) }
                        td { @if d.device.revoked_at.is_some() { (t(l, W::revoked)) } @else {
                            form.inline method="post" action="/console/devices/revoke" {
                                input type="hidden" name="csrf" value=(v.session.csrf);
                                input type="hidden" name="device" value=(d.device.id);
                                button type="submit" data-device=(d.device.id) { (t(l, W::revoke)) }
                            }
                        } }
                    }
                }
            }
        },
    )
}

/// The enrollment code form, and a code just issued with its QR code.
pub fn codes(v: &Viewer<'_>, users: &[String], issued: Option<(&str, &str, &str)>) -> Markup {
    let l = v.lang;
    frame(
        l,
        t(l, W::codes),
        Some(v),
        html! {
            h1 { (t(l, W::codes)) }
            @if let Some((user, code, svg)) = issued {
                h2 { (t(l, W::code_for)) ": " (user) }
                p.code #code { (code) }
                div { (PreEscaped(svg)) }
                p { (t(l, W::code_note)) }
            }
            form method="post" action="/console/codes" {
                input type="hidden" name="csrf" value=(v.session.csrf);
                label { (t(l, W::user)) " " select name="user" { @for u in users { option value=(u) { (u) } } } }
                " " label { (t(l, W::hours)) " " input name="hours" type="number" min="1" max="720" value="72"; }
                " " button type="submit" { (t(l, W::issue_code)) }
            }
        },
    )
}

/// What an action on the users page gave: a message, and a console
/// sign-in to hand over once.
pub struct UsersNote<'a> {
    /// A message (`ok` or error).
    pub message: Option<(bool, String)>,
    /// A new console sign-in: user, password, TOTP secret, QR code (SVG).
    pub account: Option<(&'a str, &'a str, &'a str, &'a str)>,
}

/// Users, districts, assignments and adoption grants.
pub fn users(v: &Viewer<'_>, users: &[User], region: &str, note: &UsersNote<'_>) -> Markup {
    let l = v.lang;
    let csrf = &v.session.csrf;
    frame(
        l,
        t(l, W::users),
        Some(v),
        html! {
            h1 { (t(l, W::users)) }
            @if let Some((ok, m)) = &note.message { p class=(if *ok { "ok" } else { "err" }) role="status" { (m) } }
            @if let Some((user, password, secret, svg)) = note.account {
                div #account {
                    p { (t(l, W::account_for)) " " strong { (user) } }
                    p { (t(l, W::password)) ": " span.code #password { (password) } }
                    p { (t(l, W::totp_secret)) ": " span.code #secret { (secret) } }
                    div { (PreEscaped(svg)) }
                    p { (t(l, W::account_note)) }
                }
            }
            (exports(l, "users", ""))
            table #users {
                tr { th { (t(l, W::user)) } th { (t(l, W::name)) } th { (t(l, W::role)) } th { (t(l, W::districts)) } th { (t(l, W::adoption)) } }
                @for u in users {
                    tr {
                        td { (u.id) } td { (u.name) } td { (role_label(l, u.role)) }
                        td {
                            @if u.role == Role::Specialist {
                                form.inline method="post" action="/console/users/districts" {
                                    input type="hidden" name="csrf" value=(csrf);
                                    input type="hidden" name="user" value=(u.id);
                                    input name="districts" value=(u.districts.join(" ")) aria-label=(t(l, W::districts)) size="30";
                                    " " button type="submit" { (t(l, W::save)) }
                                }
                            } @else { (u.districts.join(" ")) }
                        }
                        td {
                            form.inline method="post" action="/console/users/adoption" {
                                input type="hidden" name="csrf" value=(csrf);
                                input type="hidden" name="user" value=(u.id);
                                input type="hidden" name="grant" value=(if u.adoption_access { "no" } else { "yes" });
                                (if u.adoption_access { t(l, W::yes) } else { "—" }) " "
                                button type="submit" { (t(l, if u.adoption_access { W::withdraw } else { W::grant })) }
                            }
                            @if matches!(u.role, Role::Admin | Role::Analyst) {
                                " " form.inline method="post" action="/console/users/account" {
                                    input type="hidden" name="csrf" value=(csrf);
                                    input type="hidden" name="user" value=(u.id);
                                    button type="submit" { (t(l, W::set_account)) }
                                }
                            }
                        }
                    }
                }
            }
            fieldset {
                legend { (t(l, W::add_user)) }
                form method="post" action="/console/users/add" {
                    input type="hidden" name="csrf" value=(csrf);
                    label { (t(l, W::user)) " " input name="id" required pattern="[A-Za-z0-9._\\-]{1,64}"; } " "
                    label { (t(l, W::name)) " " input name="name" required; } " "
                    label { (t(l, W::role)) " " select name="role" {
                        @for r in [Role::Specialist, Role::Mentor, Role::Analyst, Role::Admin] { option value=(r.code()) { (role_label(l, r)) } }
                    } } " "
                    label { (t(l, W::districts)) " " input name="districts" placeholder={ (region) "…" }; } " "
                    button type="submit" { (t(l, W::add_user)) }
                }
            }
            fieldset {
                legend { (t(l, W::assignments)) }
                form method="post" action="/console/users/assign" {
                    input type="hidden" name="csrf" value=(csrf);
                    label { (t(l, W::user)) " " select name="user" {
                        @for u in users.iter().filter(|u| u.role == Role::Specialist) { option value=(u.id) { (u.id) } }
                    } } " "
                    label { (t(l, W::document)) " " input name="doc" required placeholder="case:…" size="44"; } " "
                    button type="submit" name="action" value="assign" { (t(l, W::assign)) } " "
                    button type="submit" name="action" value="unassign" { (t(l, W::unassign)) }
                }
            }
        },
    )
}

/// A person's file, read-only.
pub fn file(v: &Viewer<'_>, id: &str, content: &serde_json::Value) -> Markup {
    let l = v.lang;
    frame(
        l,
        t(l, W::file),
        Some(v),
        html! {
            h1 { (t(l, W::file)) ": " (id) }
            p.muted { (t(l, W::file_note)) }
            div #file { (json(content)) }
        },
    )
}

fn json(v: &serde_json::Value) -> Markup {
    use serde_json::Value;
    match v {
        Value::Object(map) => html! {
            dl.file { @for (k, x) in map { dt { (k) } dd { (json(x)) } } }
        },
        Value::Array(items) if items.is_empty() => html! { span.muted { "—" } },
        Value::Array(items) => html! { ol { @for x in items { li { (json(x)) } } } },
        Value::Null => html! { span.muted { "—" } },
        Value::String(s) => html! { (s) },
        other => html! { (other.to_string()) },
    }
}

/// The audit log, filtered.
pub fn audit(v: &Viewer<'_>, tb: &Table, who: &str, what: &str, doc: &str) -> Markup {
    let l = v.lang;
    let query = format!(
        "?who={}&what={}&doc={}",
        url::form_urlencoded::byte_serialize(who.as_bytes()).collect::<String>(),
        url::form_urlencoded::byte_serialize(what.as_bytes()).collect::<String>(),
        url::form_urlencoded::byte_serialize(doc.as_bytes()).collect::<String>()
    );
    frame(
        l,
        t(l, W::audit),
        Some(v),
        html! {
            h1 { (t(l, W::audit)) }
            form method="get" action="/console/audit" {
                label { (t(l, W::user)) " " input name="who" value=(who); } " "
                label { (t(l, W::action)) " " input name="what" value=(what); } " "
                label { (t(l, W::document)) " " input name="doc" value=(doc); } " "
                button type="submit" { (t(l, W::filter)) }
            }
            (exports(l, "audit", &query))
            (table(Some("audit"), tb))
        },
    )
}

/// A page refused to the viewer's role.
pub fn forbidden(v: &Viewer<'_>) -> Markup {
    frame(v.lang, t(v.lang, W::forbidden), Some(v), html! { p.err { (t(v.lang, W::forbidden)) } })
}

/// A message page (an error the viewer can act on).
pub fn message(v: &Viewer<'_>, text: &str) -> Markup {
    frame(v.lang, t(v.lang, W::dashboard), Some(v), html! { p.err role="alert" { (text) } })
}

/// A Unix time as shown (UTC).
pub fn time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()
}
