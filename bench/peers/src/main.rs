//! Qamqor's first-sync work through samod 0.16 (the Rust implementation of
//! automerge-repo), for the side-by-side comparison in
//! `docs/performance.md`. Run by `scripts/peers-bench.sh`, which first runs
//! Qamqor's own `first-sync-bench` (it writes the saved documents and the
//! week's changes this program reads) and then automerge-repo's.
//!
//! ```text
//! peers-bench samod N DIR      samod's server (a separate process, its
//!                              filesystem storage) and client over loopback
//!                              on DIR/docs-N and DIR/week-N; writes
//!                              DIR/../peers/samod-N.json
//! peers-bench table N DIR      the three implementations side by side
//! peers-bench server DATA      (internal) samod's server on DATA
//! ```
//!
//! The same phases as Qamqor's bench: *up* (a phone holding the district
//! sends it to an empty server), *down* (a new phone with empty storage
//! receives every document), *week offline* (the sending phone applies the
//! same 100 edits in 40 documents offline, then reconnects). Bytes are
//! counted by a TCP proxy between client and server; the server's memory
//! is read from `/proc`.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use automerge::Automerge;
use samod::storage::TokioFilesystemStorage as FilesystemStorage;
use samod::{BackoffConfig, DocHandle, Repo, Url};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["server", data] => rt.block_on(server(PathBuf::from(data))),
        ["samod", n, dir] => rt.block_on(samod(n.parse().expect("a size"), Path::new(dir))),
        ["table", n, dir] => table(n.parse().expect("a size"), Path::new(dir)),
        _ => {
            eprintln!("usage: peers-bench samod N DIR | table N DIR | server DATA");
            std::process::exit(2);
        }
    }
}

/// samod's server: a repo on filesystem storage accepting TCP connections.
async fn server(data: PathBuf) {
    let repo = Repo::build_tokio().with_storage(FilesystemStorage::new(&data)).load().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let acceptor = repo.make_acceptor(Url::parse(&format!("tcp://127.0.0.1:{port}")).expect("url")).expect("acceptor");
    println!("listening {port}");
    loop {
        let (io, _) = listener.accept().await.expect("accept");
        let _ = io.set_nodelay(true);
        acceptor.accept_tokio_io(io).expect("accepted");
    }
}

/// Counts the bytes crossing it, both ways.
struct Proxy {
    port: u16,
    bytes: Arc<AtomicU64>,
}

impl Proxy {
    async fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let bytes = Arc::new(AtomicU64::new(0));
        let counter = bytes.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(("127.0.0.1", target)).await.expect("server");
                let _ = (client.set_nodelay(true), server.set_nodelay(true));
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pipe(cr, sw, counter.clone()));
                tokio::spawn(pipe(sr, cw, counter.clone()));
            }
        });
        Proxy { port, bytes }
    }

    fn take(&self) -> u64 {
        self.bytes.swap(0, Ordering::SeqCst)
    }
}

async fn pipe(mut from: tokio::net::tcp::OwnedReadHalf, mut to: tokio::net::tcp::OwnedWriteHalf, n: Arc<AtomicU64>) {
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(k) = from.read(&mut buf).await {
        if k == 0 || to.write_all(&buf[..k]).await.is_err() {
            break;
        }
        n.fetch_add(k as u64, Ordering::SeqCst);
    }
    let _ = to.shutdown().await;
}

/// Resident memory now and at its peak (MiB) of process `pid`.
fn memory(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

async fn connect(repo: &Repo, port: u16) -> samod::DialerHandle<std::convert::Infallible> {
    let url = Url::parse(&format!("tcp://127.0.0.1:{port}")).expect("url");
    let dialer = repo.dial_tcp(url, BackoffConfig::default()).expect("dial");
    dialer.established().await.expect("connected");
    dialer
}

/// Every handle's changes are held by the peer on `dialer`'s connection.
async fn uploaded(handles: &[&DocHandle], dialer: &samod::DialerHandle<std::convert::Infallible>) {
    let conn = dialer.connection_id().expect("connection");
    futures::future::join_all(handles.iter().map(|h| h.they_have_our_changes(conn))).await;
}

async fn samod(n: usize, dir: &Path) {
    let exe = std::env::current_exe().expect("exe");
    let work = std::env::temp_dir().join(format!("qamqor-peers-samod-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("work dir");
    let mut child = Command::new(exe)
        .args(["server", work.join("server").to_str().expect("path")])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("server");
    let pid = child.id();
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("server output");
    let port: u16 = line.trim().strip_prefix("listening ").and_then(|p| p.parse().ok()).expect("server port");
    let proxy = Proxy::start(port).await;
    let mut figures: BTreeMap<&str, f64> = BTreeMap::new();

    // The phone holding the district: its documents in its storage first.
    let phone = Repo::build_tokio().with_storage(FilesystemStorage::new(work.join("up"))).load().await;
    let mut handles: BTreeMap<String, DocHandle> = BTreeMap::new();
    for e in std::fs::read_dir(dir.join(format!("docs-{n}"))).expect("docs") {
        let e = e.expect("entry");
        let doc = Automerge::load(&std::fs::read(e.path()).expect("read")).expect("a saved document");
        let handle = phone.create(doc).await.expect("created");
        handles.insert(e.file_name().to_string_lossy().into_owned(), handle);
    }
    let all: Vec<&DocHandle> = handles.values().collect();

    // Up.
    let t = Instant::now();
    let dialer = connect(&phone, proxy.port).await;
    uploaded(&all, &dialer).await;
    let took = t.elapsed();
    figures.insert("up_s", took.as_secs_f64());
    figures.insert("up_bytes", proxy.take() as f64);
    row(n, "up", took, figures["up_bytes"], memory(pid));

    // Down: a new phone finds every document.
    let fresh = Repo::build_tokio().with_storage(FilesystemStorage::new(work.join("down"))).load().await;
    let ids: Vec<_> = handles.values().map(|h| h.document_id().clone()).collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    proxy.take();
    let t = Instant::now();
    let down = connect(&fresh, proxy.port).await;
    let found = futures::future::join_all(ids.iter().map(|id| fresh.find(id.clone()))).await;
    let took = t.elapsed();
    assert!(found.iter().all(|f| matches!(f, Ok(Some(_)))), "every document found");
    figures.insert("down_s", took.as_secs_f64());
    figures.insert("down_bytes", proxy.take() as f64);
    row(n, "down", took, figures["down_bytes"], memory(pid));
    down.close();
    fresh.stop().await;

    // A week offline: the same edits, applied to the sending phone's copies.
    dialer.close();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut touched = Vec::new();
    for e in std::fs::read_dir(dir.join(format!("week-{n}"))).expect("week") {
        let e = e.expect("entry");
        let name = e.file_name().to_string_lossy().into_owned();
        let bytes = std::fs::read(e.path()).expect("read");
        let handle = &handles[&name];
        handle.with_document(|d| d.load_incremental(&bytes)).expect("the week's changes apply");
        touched.push(handle);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.take();
    let t = Instant::now();
    let dialer = connect(&phone, proxy.port).await;
    uploaded(&all, &dialer).await;
    let took = t.elapsed();
    figures.insert("week_s", took.as_secs_f64());
    figures.insert("week_bytes", proxy.take() as f64);
    row(n, &format!("week offline ({} documents changed)", touched.len()), took, figures["week_bytes"], memory(pid));
    let (rss, peak) = memory(pid);
    figures.insert("server_rss_mib", rss);
    figures.insert("server_peak_mib", peak);
    dialer.close();
    phone.stop().await;
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&work);
    write(dir, &format!("samod-{n}"), &figures);
}

fn row(n: usize, phase: &str, took: Duration, bytes: f64, (rss, peak): (f64, f64)) {
    println!(
        "| samod | {n} | {phase} | {:.2} s | {:.0} KiB | {rss:.0} / {peak:.0} MiB |",
        took.as_secs_f64(),
        bytes / 1024.0
    );
}

fn write(dir: &Path, name: &str, figures: &BTreeMap<&str, f64>) {
    let out = dir.join("../peers");
    std::fs::create_dir_all(&out).expect("peers dir");
    let json: serde_json::Map<String, serde_json::Value> =
        figures.iter().map(|(k, v)| ((*k).to_owned(), serde_json::json!(v))).collect();
    std::fs::write(out.join(format!("{name}.json")), serde_json::Value::Object(json).to_string()).expect("write");
}

fn read(dir: &Path, name: &str) -> BTreeMap<String, f64> {
    let path = dir.join("../peers").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} is missing", path.display()));
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    v.as_object().expect("an object").iter().filter_map(|(k, v)| Some((k.clone(), v.as_f64()?))).collect()
}

/// Qamqor, samod and automerge-repo side by side, with Qamqor's ratios.
fn table(n: usize, dir: &Path) {
    let q = read(dir, &format!("qamqor-{n}"));
    let s = read(dir, &format!("samod-{n}"));
    let j = read(dir, &format!("automerge-repo-{n}"));
    println!("\n# {n} case files: Qamqor, samod 0.16 and automerge-repo 2.5 on the same documents\n");
    println!("| | Qamqor | samod | automerge-repo | samod / Qamqor | automerge-repo / Qamqor |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let line = |label: &str, key: &str, unit: &str, scale: f64| {
        let (a, b, c) = (q[key] * scale, s[key] * scale, j[key] * scale);
        println!("| {label} | {a:.2} {unit} | {b:.2} {unit} | {c:.2} {unit} | {:.2} × | {:.2} × |", b / a, c / a);
    };
    line("first sync up (time)", "up_s", "s", 1.0);
    line("first sync up (bytes)", "up_bytes", "KiB", 1.0 / 1024.0);
    line("first sync down (time)", "down_s", "s", 1.0);
    line("first sync down (bytes)", "down_bytes", "KiB", 1.0 / 1024.0);
    line("week offline (time)", "week_s", "ms", 1000.0);
    line("week offline (bytes)", "week_bytes", "KiB", 1.0 / 1024.0);
    line("server memory after (RSS)", "server_rss_mib", "MiB", 1.0);
    line("server memory peak", "server_peak_mib", "MiB", 1.0);
    let gz = q["saved_gzip_bytes"];
    println!(
        "\nQamqor on the wire: up {:.2} ×, down {:.2} × the saved form's gzip size ({:.0} KiB); \
         the week offline {:.2} × the raw change bytes in {:.0} round trips.",
        q["up_bytes"] / gz,
        q["down_bytes"] / gz,
        gz / 1024.0,
        q["week_bytes"] / q["week_raw_bytes"],
        q["week_rounds"]
    );
}
