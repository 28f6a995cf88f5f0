//! The console's pages: server-rendered HTML (maud escapes every value),
//! a little CSS, no script needed.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use qamqor_core::model::{CodeList, Lang, PlacementForm};

use super::i18n::{W, code, t};
use crate::admin::DeviceLine;
use crate::figures::{Counts, Figures};
use crate::model::{AuditEntry, ConsoleSession, Role};

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1a1a1a}
header{background:#0b4f6c;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
header a{color:#fff}main{padding:1rem;max-width:1200px}table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}td.n{text-align:right}
.bar{background:#2a9d8f;height:1rem;display:inline-block}.err{color:#b00020}.ok{color:#1b5e20}
form.inline{display:inline}input,select,button{font-size:1rem;padding:.3rem}:focus{outline:3px solid #f4a261}
.code{font-family:monospace;font-size:1.6rem;letter-spacing:.1em}";

/// Who is looking, for the page frame.
pub struct Viewer<'a> {
    /// The session.
    pub session: &'a ConsoleSession,
    /// The role.
    pub role: Role,
    /// The language.
    pub lang: Lang,
}

fn frame(l: Lang, title: &str, viewer: Option<&Viewer<'_>>, body: Markup) -> Markup {
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
                    strong { (t(l, W::title)) }
                    @if let Some(v) = viewer {
                        nav {
                            a href="/console" { (t(l, W::dashboard)) } " · "
                            @if v.role == Role::Admin {
                                a href="/console/devices" { (t(l, W::devices)) } " · "
                                a href="/console/codes" { (t(l, W::codes)) } " · "
                                a href="/console/audit" { (t(l, W::audit)) }
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

/// The figure rows of one area, labelled in `l`: shared by the dashboard
/// and the exports.
pub fn figure_rows(l: Lang, c: &Counts) -> Vec<(String, String)> {
    let mut rows = vec![
        (t(l, W::children_placed).to_owned(), c.children_placed.to_string()),
        (t(l, W::in_families).to_owned(), c.in_families.to_string()),
        (t(l, W::family_share).to_owned(), format!("{:.1}", c.family_share())),
        (t(l, W::kinship).to_owned(), c.kinship.to_string()),
    ];
    for form in PlacementForm::all() {
        let n = c.by_form.get(form.code()).copied().unwrap_or(0);
        rows.push((format!("{}: {}", t(l, W::by_form), form.label(l)), n.to_string()));
    }
    rows.extend([
        (t(l, W::awaiting).to_owned(), c.awaiting_placement.to_string()),
        (t(l, W::representatives).to_owned(), c.representatives.to_string()),
        (t(l, W::checks_done).to_owned(), c.checks_done.to_string()),
        (t(l, W::checks_due).to_owned(), c.checks_due.to_string()),
        (t(l, W::checks_overdue).to_owned(), c.checks_overdue.to_string()),
        (t(l, W::open_risk).to_owned(), c.open_risk_cases.to_string()),
        (t(l, W::recommendations).to_owned(), c.removal_recommendations.to_string()),
        (t(l, W::removals).to_owned(), c.removals_12m.to_string()),
        (t(l, W::visits).to_owned(), c.visits_6m.to_string()),
        (t(l, W::visited).to_owned(), c.children_visited_6m.to_string()),
        (t(l, W::mentorships).to_owned(), c.mentorships.to_string()),
    ]);
    rows
}

/// The dashboard.
pub fn dashboard(v: &Viewer<'_>, f: &Figures) -> Markup {
    let l = v.lang;
    let region = figure_rows(l, &f.region);
    let districts: Vec<(&String, Vec<(String, String)>)> =
        f.districts.iter().map(|(d, c)| (d, figure_rows(l, c))).collect();
    let max = f.districts.values().map(|c| c.children_placed).max().unwrap_or(0).max(1);
    frame(
        l,
        t(l, W::dashboard),
        Some(v),
        html! {
            h1 { (t(l, W::dashboard)) }
            form method="get" action="/console" {
                label { (t(l, W::as_of)) " " input type="date" name="as_of" value=(f.as_of.to_string()); }
                " " button type="submit" { (t(l, W::show)) }
                " " a href={ "/console/export/figures.csv?as_of=" (f.as_of) } { (t(l, W::export_csv)) }
                " · " a href={ "/console/export/figures.xlsx?as_of=" (f.as_of) } { (t(l, W::export_xlsx)) }
            }
            h2 { (t(l, W::chart)) }
            table aria-label=(t(l, W::chart)) {
                @for (d, c) in &f.districts {
                    tr { th { (d) } td.n { (c.children_placed) }
                         td { span.bar style={ "width:" (c.children_placed * 300 / max) "px" } {} } }
                }
            }
            table #figures {
                thead { tr { th { (t(l, W::figure)) } th { (t(l, W::region)) } @for (d, _) in &districts { th { (d) } } } }
                tbody {
                    @for (i, (label, value)) in region.iter().enumerate() {
                        tr data-row=(i) { th { (label) } td.n { (value) }
                            @for (_, rows) in &districts { td.n { (rows[i].1) } } }
                    }
                }
            }
            h2 { (t(l, W::mentors)) }
            table {
                tr { th { (t(l, W::mentors)) } td.n { (f.mentors.mentors) } }
                tr { th { (t(l, W::cert_valid)) } td.n { (f.mentors.certificate_valid) } }
                tr { th { (t(l, W::cert_expiring)) } td.n { (f.mentors.certificate_expiring) } }
                tr { th { (t(l, W::cert_expired)) } td.n { (f.mentors.certificate_expired) } }
                tr { th { (t(l, W::cert_none)) } td.n { (f.mentors.certificate_none) } }
            }
            h3 { (t(l, W::meetings)) }
            table { @for (m, n) in &f.mentors.meetings_per_month { tr { th { (m) } td.n { (n) } } } }
            h2 { (t(l, W::specialists)) }
            table {
                tr { th { (t(l, W::user)) } th { (t(l, W::children)) } th { (t(l, W::representatives)) }
                     th { (t(l, W::checks_due)) } th { (t(l, W::checks_overdue)) } }
                @for s in &f.specialists {
                    tr { td { (s.name) " (" (s.user_id) ")" } td.n { (s.children) } td.n { (s.representatives) }
                         td.n { (s.checks_due) } td.n { (s.checks_overdue) } }
                }
            }
            h2 { (t(l, W::devices)) }
            table {
                tr { th { (t(l, W::active)) } td.n #devices-active { (f.devices.active) } }
                tr { th { (t(l, W::synced_7d)) } td.n { (f.devices.synced_7d) } }
                tr { th { (t(l, W::silent)) } td.n { (f.devices.silent) } }
                tr { th { (t(l, W::revoked)) } td.n { (f.devices.revoked) } }
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

/// The audit log, filtered.
pub fn audit(v: &Viewer<'_>, lines: &[AuditEntry], who: &str, what: &str, doc: &str) -> Markup {
    let l = v.lang;
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
            table {
                tr { th { (t(l, W::when)) } th { (t(l, W::user)) } th { (t(l, W::action)) } th { (t(l, W::document)) } th { "IP" } }
                @for a in lines {
                    tr { td { (time(a.at / 1000)) } td { (a.user_id) } td { (a.action) } td { (a.doc_id) }
                         td { (a.address.as_deref().unwrap_or("")) } }
                }
            }
        },
    )
}

/// A page refused to the viewer's role.
pub fn forbidden(v: &Viewer<'_>) -> Markup {
    frame(v.lang, t(v.lang, W::forbidden), Some(v), html! { p.err { (t(v.lang, W::forbidden)) } })
}

fn time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()
}
