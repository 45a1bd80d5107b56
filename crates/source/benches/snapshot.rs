//! Warm snapshot reads: a repository of N manifests (`TRELLIS_BENCH_SIZE`, default 100 for a
//! smoke run; 500 is the reference size) spread over N/10 application directories. Measures the
//! cold first snapshot (init + ls-remote + fetch), then warm rounds of `snapshot()` followed by
//! listing every application directory and reading every file, from one thread and from four.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use trellis_source::{SourceConfig, Sources};

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .args([
            "-c",
            "user.name=Bench",
            "-c",
            "user.email=bench@example.com",
        ])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

fn read_all(sources: &Sources, url: &str, apps: usize) -> usize {
    let snap = sources.snapshot(url, "main").unwrap();
    let mut bytes = 0;
    for app in snap.read_dir("apps").unwrap() {
        for file in snap.read_dir(&format!("apps/{}", app.name)).unwrap() {
            bytes += snap
                .read_file(&format!("apps/{}/{}", app.name, file.name))
                .unwrap()
                .len();
        }
    }
    assert_eq!(snap.read_dir("apps").unwrap().len(), apps);
    bytes
}

fn report(label: &str, rounds: u32, elapsed: Duration, files: usize) {
    let per_round = elapsed / rounds;
    println!(
        "{label:<34} {:>9.3} ms/round  {:>7.2} µs/file",
        per_round.as_secs_f64() * 1e3,
        per_round.as_secs_f64() * 1e6 / files as f64
    );
}

fn main() {
    let files: usize = std::env::var("TRELLIS_BENCH_SIZE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100)
        .max(10);
    let apps = files / 10;
    let tmp = tempfile::tempdir().unwrap();
    let origin = tmp.path().join("origin");
    std::fs::create_dir_all(&origin).unwrap();
    git(&origin, &["init", "--quiet"]);
    for app in 0..apps {
        let dir = origin.join(format!("apps/app-{app:04}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..10 {
            let body = format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-{app}-{f}\ndata:\n  key: \"{}\"\n",
                "x".repeat(200)
            );
            std::fs::write(dir.join(format!("cm-{f}.yaml")), body).unwrap();
        }
    }
    git(&origin, &["add", "-A"]);
    git(&origin, &["commit", "--quiet", "-m", "bench"]);
    let url = origin.to_str().unwrap().to_string();
    let files = apps * 10;
    println!("source snapshot benchmark: {files} files in {apps} directories");

    let sources = Sources::new(SourceConfig::new(tmp.path().join("cache"))).unwrap();
    let started = Instant::now();
    read_all(&sources, &url, apps);
    report(
        "cold (init, ls-remote, fetch, read)",
        1,
        started.elapsed(),
        files,
    );
    let network = sources.stats();

    let rounds = 20;
    let started = Instant::now();
    for _ in 0..rounds {
        read_all(&sources, &url, apps);
    }
    report("warm, 1 thread", rounds, started.elapsed(), files);

    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..rounds {
                    read_all(&sources, &url, apps);
                }
            });
        }
    });
    report(
        "warm, 4 threads (per thread-round)",
        rounds * 4,
        started.elapsed(),
        files,
    );
    // Warm rounds must not touch the network.
    assert_eq!(sources.stats(), network);
}
