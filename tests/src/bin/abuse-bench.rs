//! Memory of the release server under abuse from a stranger with network
//! access and no credentials. Starts `target/release/qamqor-server` on
//! loopback, attacks it, and samples its resident memory from /proc:
//! `cargo build --release -p qamqor-server && cargo run --release -p qamqor-tests --bin abuse-bench`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use qamqor_tests::rss_mib;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Samples the peak RSS while `f` runs.
async fn peak<F: std::future::Future<Output = ()>>(pid: u32, f: F) -> f64 {
    let peak = Arc::new(AtomicU64::new(0));
    let on = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, on) = (peak.clone(), on.clone());
        tokio::spawn(async move {
            while on.load(Ordering::Relaxed) {
                let r = (rss_mib(Some(pid)) * 10.0) as u64;
                peak.fetch_max(r, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    f.await;
    on.store(false, Ordering::Relaxed);
    sampler.await.unwrap();
    peak.load(Ordering::Relaxed) as f64 / 10.0
}

async fn health_ms(addr: &str) -> Option<f64> {
    let started = Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(10), reqwest::get(format!("http://{addr}/v1/health"))).await;
    matches!(r, Ok(Ok(ref x)) if x.status() == 200).then(|| started.elapsed().as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let bin = std::env::current_dir().unwrap().join("target/release/qamqor-server");
    assert!(bin.exists(), "build it first: cargo build --release -p qamqor-server");
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let mut server = Command::new(&bin)
        .env("QAMQOR_DATA_DIR", dir.path())
        .env("QAMQOR_LISTEN", &addr)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = server.id();
    while TcpStream::connect(&addr).await.is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("| attack | server RSS before | peak during | a health check during |\n| --- | --- | --- | --- |");

    // 1. 60 connections each sending 16 MiB with no token.
    let before = rss_mib(Some(pid));
    let during = Arc::new(std::sync::Mutex::new(None));
    let p = peak(pid, async {
        let mut tasks = Vec::new();
        for _ in 0..60 {
            let addr = addr.clone();
            tasks.push(tokio::spawn(async move {
                let Ok(mut s) = TcpStream::connect(&addr).await else { return };
                let head = format!("POST /v1/sync HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", 16 << 20);
                let _ = s.write_all(head.as_bytes()).await;
                let chunk = vec![0x5au8; 64 * 1024];
                for _ in 0..256 {
                    if s.write_all(&chunk).await.is_err() {
                        break;
                    }
                }
            }));
        }
        *during.lock().unwrap() = health_ms(&addr).await;
        for t in tasks {
            let _ = t.await;
        }
    })
    .await;
    let h = *during.lock().unwrap();
    println!("| 60 × 16 MiB bodies without a token | {before:.0} MiB | {p:.0} MiB | {} |", fmt(h));

    // 2. 2,000 idle connections from one address, and 1,000 slowloris.
    let before = rss_mib(Some(pid));
    let mut idle = Vec::new();
    let p = peak(pid, async {
        for _ in 0..2000 {
            if let Ok(s) = TcpStream::connect(&addr).await {
                idle.push(s);
            }
        }
        for _ in 0..1000 {
            if let Ok(mut s) = TcpStream::connect(&addr).await {
                let _ = s.write_all(b"POST /v1/sync HTTP/1.1\r\nHost: x\r\n").await;
                idle.push(s);
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    })
    .await;
    let mut open = 0;
    for s in &mut idle {
        let mut b = [0u8; 1];
        // Still open: the read waits; closed by the server: it ends at once.
        if tokio::time::timeout(Duration::from_millis(2), s.read(&mut b)).await.is_err() {
            open += 1;
        }
    }
    println!(
        "| 2,000 idle and 1,000 slowloris connections from one address ({open} of 3,000 left open by the server: the per-address share) | {before:.0} MiB | {p:.0} MiB | {} (from another connection of the same address: refused while the share is full) |",
        fmt(health_ms(&addr).await)
    );
    drop(idle);
    tokio::time::sleep(Duration::from_secs(1)).await;

    // 3. 64 parallel enrollment attempts with wrong secrets.
    let before = rss_mib(Some(pid));
    let p = peak(pid, async {
        let client = reqwest::Client::new();
        let mut tasks = Vec::new();
        for i in 0..64 {
            let (client, addr) = (client.clone(), addr.clone());
            tasks.push(tokio::spawn(async move {
                let body = serde_json::json!({"code": format!("AAAA-BBBB-CCCC-{i:04}"), "actor": "00ff", "label": "x"});
                let _ = client.post(format!("http://{addr}/v1/enroll")).json(&body).send().await;
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    })
    .await;
    println!("| 64 parallel enrollment attempts (argon2) | {before:.0} MiB | {p:.0} MiB | — |");
    let _ = server.kill();
    let _ = server.wait();
}

fn fmt(ms: Option<f64>) -> String {
    ms.map_or("refused or timed out".into(), |m| format!("{m:.0} ms"))
}
