//! Scale of the embedded cluster, over HTTP like any client:
//! - `TRELLIS_BENCH_OBJECTS` ConfigMaps server-side applied by 8 concurrent connections, while
//!   20 watchers each must see every one of them;
//! - resident memory of the process with `TRELLIS_BENCH_STORED` small objects stored in a
//!   data file.
//!
//! Smoke sizes by default (CI); the figures of BENCHMARKS.md come from
//! `TRELLIS_BENCH_OBJECTS=10000 TRELLIS_BENCH_STORED=100000 cargo bench -p trellis-localcluster --bench scale`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use trellis_localcluster::{ServeOptions, start};

const CONNECTIONS: usize = 8;
const WATCHERS: usize = 20;

fn env_size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    addr: SocketAddr,
    r: BufReader<TcpStream>,
}

impl Conn {
    fn new(addr: SocketAddr) -> Conn {
        let s = TcpStream::connect(addr).unwrap();
        s.set_nodelay(true).unwrap();
        Conn {
            addr,
            r: BufReader::new(s),
        }
    }

    fn send(&mut self, method: &str, path: &str, ct: &str, body: &str) -> u16 {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: bench/1.0\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        let s = self.r.get_mut();
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(body.as_bytes()).unwrap();
        let mut line = String::new();
        self.r.read_line(&mut line).unwrap();
        let status = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        let mut len = 0;
        loop {
            let mut l = String::new();
            self.r.read_line(&mut l).unwrap();
            let l = l.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        self.r.read_exact(&mut body).unwrap();
        status
    }
}

/// Counts ADDED events of a watch until `want`, or until the stream ends.
fn watcher(addr: SocketAddr, from_rv: u64, want: usize, seen: Arc<AtomicUsize>) -> usize {
    let mut s = TcpStream::connect(addr).unwrap();
    let path = format!(
        "/api/v1/namespaces/bench/configmaps?watch=1&resourceVersion={from_rv}&timeoutSeconds=600"
    );
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut r = BufReader::new(s);
    loop {
        let mut l = String::new();
        r.read_line(&mut l).unwrap();
        if l.trim_end().is_empty() {
            break;
        }
    }
    let mut count = 0;
    let mut pending = Vec::new();
    while count < want {
        let mut size = String::new();
        if r.read_line(&mut size).unwrap_or(0) == 0 {
            break;
        }
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 {
            break;
        }
        let mut buf = vec![0; n + 2];
        if r.read_exact(&mut buf).is_err() {
            break;
        }
        pending.extend_from_slice(&buf[..n]);
        while let Some(i) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=i).collect();
            if String::from_utf8_lossy(&line).contains("\"type\":\"ADDED\"") {
                count += 1;
            }
        }
    }
    seen.fetch_add(1, Ordering::SeqCst);
    count
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn current_rv(addr: SocketAddr) -> u64 {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET /api/v1/namespaces/bench/configmaps?limit=1 HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1;
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    v["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Writes `n` ConfigMaps by server-side apply over `CONNECTIONS` connections.
fn apply_all(addr: SocketAddr, n: usize, prefix: &str) -> Duration {
    let t = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let next = next.clone();
            let prefix = prefix.to_owned();
            std::thread::spawn(move || {
                let mut c = Conn::new(addr);
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= n {
                        return;
                    }
                    let name = format!("{prefix}-{i}");
                    let body = format!(
                        "{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"{name}\",\"labels\":{{\"app\":\"bench\"}}}},\"data\":{{\"index\":\"{i}\",\"payload\":\"small value\"}}}}"
                    );
                    let path = format!(
                        "/api/v1/namespaces/bench/configmaps/{name}?fieldManager=bench&force=true"
                    );
                    let code = c.send("PATCH", &path, "application/apply-patch+yaml", &body);
                    assert!(code == 200 || code == 201, "apply answered {code}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    t.elapsed()
}

fn main() {
    let objects = env_size("TRELLIS_BENCH_OBJECTS", 300);
    let stored = env_size("TRELLIS_BENCH_STORED", 2_000);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();

    let ns = r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"bench"}}"#;
    // 1. Resident memory with many small objects stored, on a durable store as `trellis
    // cluster serve --data` keeps them (measured first, in a fresh process).
    let before = rss_mib();
    let cluster = rt
        .block_on(start(ServeOptions {
            data: Some(dir.path().join("memory.db")),
            ..Default::default()
        }))
        .unwrap();
    let addr = cluster.addr();
    let mut c = Conn::new(addr);
    assert_eq!(
        c.send("POST", "/api/v1/namespaces", "application/json", ns),
        201
    );
    let took = apply_all(addr, stored, "m");
    let after = rss_mib();
    println!(
        "memory: {stored} ConfigMaps stored (applied in {:.1} s): resident {:.0} MiB (process before the cluster: {:.0} MiB)",
        took.as_secs_f64(),
        after,
        before
    );
    rt.block_on(cluster.shutdown()).unwrap();

    // 2. Server-side apply throughput on a durable (file-backed) store, with 20 watchers.
    let cluster = rt
        .block_on(start(ServeOptions {
            data: Some(dir.path().join("bench.db")),
            ..Default::default()
        }))
        .unwrap();
    let addr = cluster.addr();
    let mut c = Conn::new(addr);
    assert_eq!(
        c.send("POST", "/api/v1/namespaces", "application/json", ns),
        201
    );
    let rv = current_rv(addr);
    let finished = Arc::new(AtomicUsize::new(0));
    let watchers: Vec<_> = (0..WATCHERS)
        .map(|_| {
            let finished = finished.clone();
            std::thread::spawn(move || watcher(addr, rv, objects, finished))
        })
        .collect();
    let took = apply_all(addr, objects, "cm");
    // Watchers finish when they have seen every object; a stuck one is cut by the shutdown.
    let deadline = Instant::now() + Duration::from_secs(60);
    while finished.load(Ordering::SeqCst) < WATCHERS && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let watch_done = Instant::now();
    rt.block_on(cluster.shutdown()).unwrap();
    let counts: Vec<usize> = watchers.into_iter().map(|w| w.join().unwrap()).collect();
    let all_seen = counts.iter().all(|c| *c == objects);
    println!(
        "apply: {objects} ConfigMaps by server-side apply over HTTP ({CONNECTIONS} connections, durable store): {:.2} s ({:.0}/s)",
        took.as_secs_f64(),
        objects as f64 / took.as_secs_f64()
    );
    println!(
        "watch: {WATCHERS} watchers, events seen per watcher: min {} max {} of {objects} -> {}",
        counts.iter().min().unwrap(),
        counts.iter().max().unwrap(),
        if all_seen {
            "every watcher saw every event"
        } else {
            "EVENTS MISSED"
        }
    );
    let _ = watch_done;
    assert!(all_seen, "a watcher missed events: {counts:?}");
}
