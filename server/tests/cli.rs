//! The `qamqor-server` binary: first start, administration commands,
//! health, and graceful shutdown on SIGTERM.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_qamqor-server");

fn admin(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(args).env("QAMQOR_DATA_DIR", dir).current_dir(dir).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn http_get(addr: &str, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn first_start_administration_health_and_graceful_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Command::new(BIN)
        .env("QAMQOR_DATA_DIR", dir.path())
        .env("QAMQOR_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let mut code = None;
    let mut addr = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.trim().len() == 19 && line.trim().chars().filter(|c| *c == '-').count() == 3 {
            code = Some(line.trim().to_owned());
        }
        if let Some(url) = line.strip_prefix("Qamqor server listening on http://") {
            addr = Some(url.split_whitespace().next().unwrap().to_owned());
            break;
        }
    }
    let addr = addr.expect("the server says where it listens");
    assert!(code.is_some(), "first start prints the administrator's enrollment code");
    assert!(http_get(&addr, "/v1/health").contains("\"status\":\"ok\""));

    let (ok, _, err) = admin(
        dir.path(),
        &["user", "add", "aigerim", "--name", "Айгерім", "--role", "specialist", "--district", "751710000"],
    );
    assert!(ok, "{err}");
    let (ok, _, err) =
        admin(dir.path(), &["user", "add", "bad", "--name", "x", "--role", "specialist", "--district", "110000000"]);
    assert!(!ok && err.contains("not in region"), "{err}");
    let (ok, out, _) = admin(dir.path(), &["user", "list"]);
    assert!(ok && out.contains("aigerim") && out.contains("admin"));
    let (ok, out, _) = admin(dir.path(), &["code", "aigerim", "--hours", "2"]);
    assert!(ok && out.contains("enrollment code for aigerim"), "{out}");
    let (ok, out, _) = admin(dir.path(), &["device", "list"]);
    assert!(ok && out.trim() == "[]", "{out}");
    let (ok, _, err) = admin(dir.path(), &["device", "revoke", "nope"]);
    assert!(!ok && err.contains("no such device"), "{err}");
    let (ok, _, err) = admin(dir.path(), &["assign", "aigerim", "case:zz"]);
    assert!(!ok && err.contains("document_id"), "{err}");

    // SIGTERM: the server finishes and exits cleanly.
    Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    let status = server.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut logs = String::new();
    server.stderr.take().unwrap().read_to_string(&mut logs).unwrap();
    assert!(logs.contains("shutting down"), "{logs}");
    // Structured logs, and no enrollment code in them.
    assert!(logs.lines().all(|l| l.starts_with('{')), "{logs}");
    assert!(!logs.contains(code.as_deref().unwrap()));

    // Administrative actions are audited, never with the code itself.
    let (ok, out, _) = admin(dir.path(), &["audit", "--limit", "100"]);
    assert!(ok);
    for action in ["region_created", "user_added", "code_issued"] {
        assert!(out.contains(action), "{action} in {out}");
    }
    assert!(!out.contains(code.as_deref().unwrap()), "no enrollment code in the audit");

    // The audit verifies, and archives to a file.
    let (ok, out, err) = admin(dir.path(), &["audit", "verify"]);
    assert!(ok && out.contains("\"broken_at\": null"), "{out}{err}");
    let archive = dir.path().join("audit-archive.jsonl");
    let (ok, out, err) =
        admin(dir.path(), &["audit", "archive", "--before", "2100-01-01", "--to", archive.to_str().unwrap()]);
    assert!(ok && out.contains("archived"), "{out}{err}");
    let (ok, out, _) = admin(dir.path(), &["audit", "verify"]);
    assert!(ok && out.contains("\"broken_at\": null"), "{out}");

    // A second start does not create another administrator.
    let (ok, out, _) = admin(dir.path(), &["user", "list"]);
    assert!(ok && out.matches("\"role\": \"admin\"").count() == 1, "{out}");
}

#[test]
fn refuses_plain_http_on_a_public_address() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .env("QAMQOR_DATA_DIR", dir.path())
        .env("QAMQOR_LISTEN", "0.0.0.0:0")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}

/// Starts the server with the given output wiring, returns it and its address.
fn start(dir: &std::path::Path, port: u16, stdout: Stdio, stderr: Stdio) -> std::process::Child {
    let child = Command::new(BIN)
        .env("QAMQOR_DATA_DIR", dir)
        .env("QAMQOR_LISTEN", format!("127.0.0.1:{port}"))
        .current_dir(dir)
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn sigterm_stops_the_server_even_when_its_output_pipes_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = start(dir.path(), port, Stdio::piped(), Stdio::piped());
    // Whoever read the output went away.
    drop(server.stdout.take());
    drop(server.stderr.take());
    assert!(http_get(&format!("127.0.0.1:{port}"), "/v1/health").contains("\"status\":\"ok\""));
    Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(status) = server.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still serving after SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_zero_byte_or_damaged_database_is_refused_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("qamqor-server.db");
    std::fs::write(&db, b"").unwrap();
    let (ok, _, err) = admin(dir.path(), &["user", "list"]);
    assert!(!ok && err.contains("empty (zero bytes)"), "{err}");
    assert_eq!(std::fs::metadata(&db).unwrap().len(), 0, "nothing was written over it");
    std::fs::write(&db, vec![0x5a; 8192]).unwrap();
    let (ok, _, err) = admin(dir.path(), &["user", "list"]);
    assert!(!ok && err.contains("not a readable Qamqor database"), "{err}");
    // A real database with a damaged page.
    std::fs::remove_file(&db).unwrap();
    let (ok, _, err) =
        admin(dir.path(), &["user", "add", "a", "--name", "A", "--role", "specialist", "--district", "751710000"]);
    assert!(ok, "{err}");
    let (ok, _, _) = admin(dir.path(), &["user", "list"]);
    assert!(ok);
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("qamqor-server.db{suffix}")));
    }
    let mut bytes = std::fs::read(&db).unwrap();
    let page = 4096;
    for b in bytes.iter_mut().skip(page).take(2 * page) {
        *b = 0xff;
    }
    std::fs::write(&db, &bytes).unwrap();
    let (ok, _, err) = admin(dir.path(), &["user", "list"]);
    assert!(!ok, "a damaged database is refused");
    assert!(err.contains("damaged") || err.contains("not a readable"), "{err}");
}

#[test]
fn a_new_regions_database_is_encrypted_and_needs_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = admin(
        dir.path(),
        &["user", "add", "aigerim", "--name", "Айгерім Сейітқызы", "--role", "specialist", "--district", "751710000"],
    );
    assert!(ok, "{err}");
    let key_file = dir.path().join("qamqor-server.key");
    let key = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(key.len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // No name in the file in clear.
    let mut bytes = std::fs::read(dir.path().join("qamqor-server.db")).unwrap();
    if let Ok(wal) = std::fs::read(dir.path().join("qamqor-server.db-wal")) {
        bytes.extend(wal);
    }
    let needle = "Сейітқызы".as_bytes();
    assert!(!bytes.windows(needle.len()).any(|w| w == needle), "a name is readable in the database file");
    assert!(!bytes.starts_with(b"SQLite format 3"), "the header is encrypted too");
    // Without the key: a clear refusal, nothing replaced.
    std::fs::rename(&key_file, dir.path().join("elsewhere.key")).unwrap();
    let (ok, _, err) = admin(dir.path(), &["user", "list"]);
    assert!(!ok && err.contains("key"), "{err}");
    // With the key from the environment instead of the file.
    let out = Command::new(BIN)
        .args(["user", "list"])
        .env("QAMQOR_DATA_DIR", dir.path())
        .env("QAMQOR_DATABASE_KEY", key.trim())
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("aigerim"));
}

/// Starts the binary serving in `dir` with `env`; returns it, its address
/// and the lines it printed before listening.
fn serve(dir: &std::path::Path, env: &[(&str, &str)]) -> (std::process::Child, String, Vec<String>) {
    let mut cmd = Command::new(BIN);
    cmd.env("QAMQOR_DATA_DIR", dir).env("QAMQOR_LISTEN", "127.0.0.1:0").current_dir(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut printed = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(url) = line.strip_prefix("Qamqor server listening on http://") {
            return (child, url.split_whitespace().next().unwrap().to_owned(), printed);
        }
        printed.push(line);
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server did not start: {printed:?}");
}

#[test]
fn a_national_server_and_a_region_reporting_to_it() {
    let national = tempfile::tempdir().unwrap();
    let n_env = [("QAMQOR_MODE", "national")];
    let (mut n, n_addr, printed) = serve(national.path(), &n_env);
    let printed = printed.join("\n");
    assert!(printed.contains("password:") && printed.contains("authenticator secret:"), "{printed}");
    assert!(http_get(&n_addr, "/v1/health").contains("\"mode\":\"national\""));
    assert!(http_get(&n_addr, "/v1/sync").starts_with("HTTP/1.1 404"), "no sync API on the national server");

    let run = |dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]| {
        let mut cmd = Command::new(BIN);
        cmd.args(args).env("QAMQOR_DATA_DIR", dir).current_dir(dir);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok, out, err) = run(national.path(), &n_env, &["region-credential", "75"]);
    assert!(ok, "{err}");
    let credential = out.lines().nth(1).unwrap().trim().to_owned();
    assert_eq!(credential.len(), 64);
    let (ok, _, err) = run(national.path(), &n_env, &["region-credential", "99"]);
    assert!(!ok && err.contains("not a region code"), "{err}");
    let (ok, _, err) = run(national.path(), &n_env, &["user", "add", "x", "--name", "x", "--role", "specialist"]);
    assert!(!ok && err.contains("administrators and analysts"), "{err}");

    // The region reports at start, and on demand.
    let region = tempfile::tempdir().unwrap();
    let url = format!("http://{n_addr}");
    let r_env = [("QAMQOR_NATIONAL_URL", url.as_str())];
    let (ok, _, err) = run(region.path(), &r_env, &["national-report"]);
    assert!(!ok && err.contains("region-credential"), "a missing credential is named: {err}");
    std::fs::write(region.path().join("national-credential"), &credential).unwrap();
    let (mut r, _, _) = serve(region.path(), &r_env);
    let audit = || run(national.path(), &n_env, &["audit", "--limit", "20"]).1;
    for _ in 0..100 {
        if audit().contains("region_report_received") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(audit().contains("region_report_received"), "the region reported at start");
    Command::new("kill").args(["-TERM", &r.id().to_string()]).status().unwrap();
    r.wait().unwrap();
    let (ok, out, err) = run(region.path(), &r_env, &["national-report"]);
    assert!(ok && out.contains("stored region 75"), "{out}{err}");
    std::fs::write(region.path().join("national-credential"), "0".repeat(64)).unwrap();
    let (ok, _, err) = run(region.path(), &r_env, &["national-report"]);
    assert!(!ok && err.contains("refused the credential"), "{err}");

    Command::new("kill").args(["-TERM", &n.id().to_string()]).status().unwrap();
    assert!(n.wait().unwrap().success());
}

/// `import`: a template, a dry run that writes only its report, and a
/// confirmed import killed midway that a second run completes, with
/// nothing made twice.
#[test]
fn an_import_killed_midway_is_completed_by_running_it_again() {
    use qamqor_core::docs::DocKind;
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = admin(dir.path(), &["import", "--template"]);
    assert!(ok && out.contains("template written"), "{out}{err}");
    assert!(dir.path().join("qamqor-import-template.xlsx").exists());

    let today = chrono::Utc::now().date_naive();
    let mut s = qamqor_core::sample::Sample::new(5, today, qamqor_core::model::Kato::parse("751710000").unwrap());
    let total = 3000;
    let mut csv = String::from("iin;family_name;given_name;birth_date;status;district\n");
    let mut seen = std::collections::HashSet::new();
    while seen.len() < total {
        let c = s.child();
        if seen.insert(c.iin.as_str().to_owned()) {
            csv.push_str(&format!(
                "{};{};{};{};{};{}\n",
                c.iin.as_str(),
                c.name.family,
                c.name.given,
                c.birth_date.format("%d.%m.%Y"),
                "orphan",
                "751710000"
            ));
        }
    }
    std::fs::write(dir.path().join("children.csv"), csv).unwrap();

    let (ok, out, err) = admin(dir.path(), &["import", "children.csv", "--report", "dry.csv"]);
    assert!(ok && out.contains("nothing was written"), "{out}{err}");
    assert!(out.contains(&format!("{total} rows: {total} accepted")), "{out}");
    let report = std::fs::read_to_string(dir.path().join("dry.csv")).unwrap();
    assert_eq!(report.lines().count(), total + 1);

    let mut run = Command::new(BIN)
        .args(["import", "children.csv", "--confirm", "--report", "killed.csv"])
        .env("QAMQOR_DATA_DIR", dir.path())
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let config = qamqor_server::config::Config { data_dir: dir.path().to_owned(), ..Default::default() };
    let db = qamqor_server::run::open_storage(&config).unwrap();
    let started = std::time::Instant::now();
    let stored = loop {
        let n = db.people(DocKind::Case).unwrap().len();
        if n > 0 || started.elapsed() > std::time::Duration::from_secs(120) {
            break n;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    run.kill().unwrap();
    run.wait().unwrap();
    assert!(stored > 0, "a batch was committed before the kill");
    let after_kill = db.people(DocKind::Case).unwrap().len();
    assert!(after_kill.is_multiple_of(qamqor_server::import::BATCH), "only whole batches are stored: {after_kill}");
    drop(db);

    let (ok, out, err) = admin(dir.path(), &["import", "children.csv", "--confirm", "--report", "again.csv"]);
    assert!(ok, "{out}{err}");
    let db = qamqor_server::run::open_storage(&config).unwrap();
    let people = db.people(DocKind::Case).unwrap();
    assert_eq!(people.len(), total, "every child once");
    let iins: std::collections::HashSet<_> = people.iter().map(|(_, p)| p.iin.clone()).collect();
    assert_eq!(iins.len(), total);
    assert!(out.contains(&format!("{} new, 0 updated, {after_kill} unchanged", total - after_kill)), "{out}");
}
