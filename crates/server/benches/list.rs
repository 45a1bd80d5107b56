//! The API's application list at scale: `TRELLIS_BENCH_APPS` Applications
//! (smoke size 50 by default; full size 1,000) with statuses, on the
//! embedded cluster, listed over HTTP with an API token.
//!
//! Measured: how long the server's first listing of the cluster takes, and
//! the latency of `GET /api/v1/applications` (all, and filtered by project
//! and health) over fresh connections — target under 100 ms for 1,000 — and
//! how long the web UI takes in headless Chromium from navigation until
//! every application's row is painted (`benches/list_browser.mjs`) — target
//! under 1 s for 1,000.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use trellis_kube::{ApplyOptions, Cluster, ConnectOptions};
use trellis_localcluster::{ServeOptions, start};
use trellis_model::ResourceKey;
use trellis_server::accounts::{self, NewToken};
use trellis_server::{Server, ServerOptions};

const NS: &str = "trellis";

fn get(port: u16, path: &str, token: &str) -> (u16, usize) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let status = String::from_utf8_lossy(&response[..12.min(response.len())])
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, response.len())
}

fn application(i: usize) -> Value {
    json!({
        "apiVersion": "trellis.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": format!("svc-{i}"), "namespace": NS,
            "labels": {"team": format!("team-{}", i % 10), "tier": "backend"}},
        "spec": {
            "project": if i.is_multiple_of(2) { "default" } else { "shop" },
            "source": {"repoURL": "https://git.example.com/platform/fleet.git",
                "targetRevision": "main", "path": format!("apps/svc-{i}")},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": format!("svc-{i}")},
            "syncPolicy": {"automated": {"prune": true, "selfHeal": true}},
        },
    })
}

fn status(i: usize) -> Value {
    let resources: Vec<Value> = (0..20)
        .map(|r| {
            json!({"version": "v1", "kind": "ConfigMap", "namespace": format!("svc-{i}"),
            "name": format!("svc-{i}-{r}"), "status": "Synced", "health": {"status": "Healthy"}})
        })
        .collect();
    json!({"status": {
        "sync": {"status": if i.is_multiple_of(7) { "OutOfSync" } else { "Synced" },
            "revision": "0123456789abcdef0123456789abcdef01234567"},
        "health": {"status": if i.is_multiple_of(13) { "Degraded" } else { "Healthy" }},
        "resources": resources,
        "reconciledAt": "2026-01-01T00:00:00Z",
    }})
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let apps: usize = std::env::var("TRELLIS_BENCH_APPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let cluster = rt
        .block_on(start(ServeOptions {
            simulate: false,
            ..ServeOptions::default()
        }))
        .unwrap();
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    let client = rt
        .block_on(Cluster::connect(&ConnectOptions {
            kubeconfig: Some(kubeconfig),
            context: None,
        }))
        .unwrap();
    let options = ApplyOptions {
        field_manager: "bench".into(),
        force: true,
        ..ApplyOptions::default()
    };
    rt.block_on(async {
        for crd in trellis_model::crd::crds() {
            client.apply(&crd, &options).await.unwrap();
        }
        client
            .apply(
                &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
                &options,
            )
            .await
            .unwrap();
        for project in ["default", "shop"] {
            client
                .apply(
                    &json!({"apiVersion": "trellis.dev/v1alpha1", "kind": "AppProject",
                        "metadata": {"name": project, "namespace": NS},
                        "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}]}}),
                    &options,
                )
                .await
                .unwrap();
        }
    });
    let token = rt
        .block_on(accounts::create_token(
            &client,
            NS,
            &NewToken {
                name: "bench".into(),
                role: "admin".into(),
                project: None,
                expires_in: None,
            },
        ))
        .unwrap()
        .1;
    let created = Instant::now();
    rt.block_on(
        futures::stream::iter(0..apps)
            .map(|i| {
                let (client, options) = (client.clone(), options.clone());
                async move {
                    client.apply(&application(i), &options).await.unwrap();
                    let key = ResourceKey {
                        group: "trellis.dev".into(),
                        kind: "Application".into(),
                        namespace: NS.into(),
                        name: format!("svc-{i}"),
                    };
                    client.merge_patch(&key, &status(i), true).await.unwrap();
                }
            })
            .buffer_unordered(16)
            .collect::<Vec<()>>(),
    );
    let created = created.elapsed();

    let sources =
        trellis_source::Sources::new(trellis_source::SourceConfig::new(dir.path().join("cache")))
            .unwrap();
    let server = Server::new(
        ServerOptions::new(NS),
        client.clone(),
        trellis_render::AppRenderer::new(sources),
    )
    .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let served = rt.spawn(server.clone().serve_on(listener, async move {
        let _ = stopped.await;
    }));
    assert!(
        rt.block_on(server.wait_ready(Duration::from_secs(120))),
        "the server did not list the cluster"
    );
    let ready = started.elapsed();
    let (status, _) = get(port, "/api/v1/applications", &token);
    assert_eq!(status, 200);

    let measure = |path: &str| {
        for _ in 0..3 {
            get(port, path, &token);
        }
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..30 {
            let t = Instant::now();
            let (status, len) = get(port, path, &token);
            times.push(t.elapsed());
            assert_eq!(status, 200);
            bytes = len;
        }
        times.sort();
        (percentile(&times, 0.5), percentile(&times, 0.95), bytes)
    };
    let (all_p50, all_p95, all_bytes) = measure("/api/v1/applications");
    let (filtered_p50, filtered_p95, _) =
        measure("/api/v1/applications?project=shop&health=Healthy&selector=tier%3Dbackend");

    println!("server list: {apps} applications with statuses on the embedded cluster");
    println!(
        "  create applications and statuses: {:>8.3} s",
        created.as_secs_f64()
    );
    println!(
        "  server ready (first listing):     {:>8.3} s",
        ready.as_secs_f64()
    );
    println!(
        "  list all, p50 / p95:              {:>8.1} / {:.1} ms ({} KiB; target < 100 ms at 1,000)",
        all_p50.as_secs_f64() * 1000.0,
        all_p95.as_secs_f64() * 1000.0,
        all_bytes / 1024
    );
    println!(
        "  list filtered, p50 / p95:         {:>8.1} / {:.1} ms",
        filtered_p50.as_secs_f64() * 1000.0,
        filtered_p95.as_secs_f64() * 1000.0
    );

    // The web UI's list in Chromium: from navigation to every row painted.
    let password = "bench password";
    rt.block_on(accounts::set_admin_password(&client, NS, password))
        .unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/list_browser.mjs");
    let url = format!("http://127.0.0.1:{port}");
    let count = apps.to_string();
    let out = trellis_testkit::browser::node(
        &script,
        &[
            ("TRELLIS_URL", url.as_str()),
            ("TRELLIS_PASSWORD", password),
            ("TRELLIS_BENCH_APPS", count.as_str()),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "list_browser.mjs failed: {stdout}");
    let report: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("list_browser.mjs printed no report: {stdout}"));
    assert_eq!(report["problems"], json!([]), "{report:#}");
    println!(
        "  web UI list rendered (Chromium, median of {}): {:>5.0} ms (target < 1,000 ms at 1,000; runs {})",
        report["runs_ms"].as_array().map_or(0, Vec::len),
        report["median_ms"].as_f64().unwrap_or(f64::NAN),
        report["runs_ms"]
    );
    let _ = stop.send(());
    rt.block_on(async { tokio::time::timeout(Duration::from_secs(10), served).await })
        .unwrap()
        .unwrap()
        .unwrap();
}
