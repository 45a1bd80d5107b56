//! The controller end to end: a `trellis controller` process against the
//! embedded cluster, real git repositories, short intervals.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use trellis_kube::{ApplyOptions, Cluster, ConnectOptions};
use trellis_localcluster::{AuditEntry, RunningCluster, ServeOptions, start};
use trellis_model::ResourceKey;
use trellis_testkit::GitRepo;

pub const URL: &str = "https://git.example.com/team/shop.git";
pub const SECRET: &str = "webhook-secret";

/// A cluster in this process, a controller in another.
pub struct Harness {
    pub rt: tokio::runtime::Runtime,
    pub cluster: Option<RunningCluster>,
    pub client: Cluster,
    pub kubeconfig: PathBuf,
    pub dir: tempfile::TempDir,
    pub repo: GitRepo,
    pub maps: Vec<(String, PathBuf)>,
    pub controllers: Vec<Child>,
    pub port: u16,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Harness {
    /// A cluster with Trellis's CRDs and the `trellis` namespace, and an
    /// empty repository mapped to [`URL`].
    pub fn new() -> Harness {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        let cluster = rt.block_on(start(ServeOptions::default())).unwrap();
        cluster.write_kubeconfig(&kubeconfig).unwrap();
        let client = rt
            .block_on(Cluster::connect(&ConnectOptions {
                kubeconfig: Some(kubeconfig.clone()),
                context: None,
            }))
            .unwrap();
        let h = Harness {
            rt,
            cluster: Some(cluster),
            client,
            kubeconfig,
            repo: GitRepo::new(),
            maps: Vec::new(),
            dir,
            controllers: Vec::new(),
            port: free_port(),
        };
        for crd in trellis_model::crd::crds() {
            h.apply(&crd);
        }
        h.apply(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "trellis"}}));
        h
    }

    pub fn apply(&self, object: &Value) -> Value {
        let options = ApplyOptions {
            field_manager: "test".into(),
            force: true,
            ..ApplyOptions::default()
        };
        self.rt
            .block_on(self.client.apply(object, &options))
            .unwrap()
    }

    pub fn apply_yaml(&self, text: &str) {
        for m in trellis_model::parse_file(text, "test.yaml").unwrap() {
            self.apply(&m.object);
        }
    }

    pub fn get(&self, group: &str, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        let key = ResourceKey {
            group: group.into(),
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        };
        self.rt.block_on(self.client.get(&key)).unwrap()
    }

    pub fn app(&self, name: &str) -> Value {
        self.get("trellis.dev", "Application", "trellis", name)
            .unwrap_or_else(|| panic!("no application {name}"))
    }

    pub fn configmap(&self, namespace: &str, name: &str) -> Option<Value> {
        self.get("", "ConfigMap", namespace, name)
    }

    pub fn patch(&self, group: &str, kind: &str, namespace: &str, name: &str, patch: Value) {
        let key = ResourceKey {
            group: group.into(),
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        };
        self.rt
            .block_on(self.client.merge_patch(&key, &patch, false))
            .unwrap();
    }

    pub fn audit(&self) -> Vec<AuditEntry> {
        self.cluster.as_ref().unwrap().audit().entries()
    }

    /// Starts a controller process with short intervals.
    pub fn controller(&mut self, extra: &[&str], env: &[(&str, &str)]) {
        let mut args: Vec<String> = vec!["controller".to_string()];
        args.extend(
            [
                "--namespace",
                "trellis",
                "--refresh-interval",
                "1s",
                "--refresh-jitter",
                "0s",
                "--self-heal-delay",
                "0s",
                "--poll-interval",
                "100ms",
                "--sync-timeout",
                "20s",
            ]
            .chunks(2)
            .filter(|pair| !extra.contains(&pair[0]))
            .flatten()
            .map(|s| s.to_string()),
        );
        args.push("--kubeconfig".into());
        args.push(self.kubeconfig.display().to_string());
        if !extra.contains(&"--listen") {
            args.push("--listen".into());
            args.push(format!("127.0.0.1:{}", self.port));
        }
        args.push("--cache-dir".into());
        args.push(self.dir.path().join("cache").display().to_string());
        args.push("--repo-map".into());
        args.push(format!("{URL}={}", self.repo.path().display()));
        for (url, path) in &self.maps {
            args.push("--repo-map".into());
            args.push(format!("{url}={}", path.display()));
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let log = std::fs::File::create(
            self.dir
                .path()
                .join(format!("controller-{}.log", self.controllers.len())),
        )
        .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_trellis"));
        command
            .args(&args)
            .env("TRELLIS_WEBHOOK_SECRET", SECRET)
            .env("NO_COLOR", "1")
            .env_remove("TRELLIS_CONFIG")
            .env("HOME", self.dir.path())
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in env {
            command.env(k, v);
        }
        self.controllers.push(command.spawn().unwrap());
    }

    /// The controllers' logs, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for i in 0..self.controllers.len() {
            let path = self.dir.path().join(format!("controller-{i}.log"));
            out.push_str(&format!("--- controller {i}\n"));
            out.push_str(&std::fs::read_to_string(path).unwrap_or_default());
        }
        out
    }

    /// Waits until `check` holds, re-checking every 100 ms, for at most
    /// `limit`; panics with the description and the logs otherwise.
    pub fn wait(&self, what: &str, limit: Duration, mut check: impl FnMut(&Harness) -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            if check(self) {
                return;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until an application is Synced and Healthy with no sync running.
    pub fn wait_synced(&self, name: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let app = self.get("trellis.dev", "Application", "trellis", name);
            if app.as_ref().is_some_and(settled) {
                return;
            }
            if Instant::now() > deadline {
                let status = app.map(|a| a["status"].to_string()).unwrap_or_default();
                panic!(
                    "timed out waiting for {name} Synced and Healthy; status: {status}\n{}",
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends a GitHub push webhook for `url`; returns the HTTP status.
    pub fn webhook(&self, url: &str, secret: &str) -> u16 {
        let body = json!({"ref": "refs/heads/main", "repository": {"clone_url": url}}).to_string();
        let signature = trellis_controller::webhook::github_signature(secret, body.as_bytes());
        http_post(
            self.port,
            "/api/webhook",
            &[
                ("X-GitHub-Event", "push"),
                ("X-Hub-Signature-256", &signature),
            ],
            &body,
        )
    }

    pub fn kill_controllers(&mut self) {
        for c in &mut self.controllers {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.kill_controllers();
    }
}

/// Synced, Healthy, and no operation running.
pub fn settled(app: &Value) -> bool {
    app.pointer("/status/sync/status") == Some(&json!("Synced"))
        && app.pointer("/status/health/status") == Some(&json!("Healthy"))
        && app.pointer("/status/operationState/phase") != Some(&json!("Running"))
}

/// A minimal HTTP/1.1 POST over a TCP socket; returns the status code.
pub fn http_post(port: u16, path: &str, headers: &[(&str, &str)], body: &str) -> u16 {
    use std::io::{Read, Write};
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut stream = loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("cannot reach the controller: {e}"),
        }
    };
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// A GET; empty when nothing listens (yet).
pub fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// An Application of the test repository's `path`.
pub fn app(name: &str, path: &str, policy: Value) -> Value {
    json!({
        "apiVersion": "trellis.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "trellis"},
        "spec": {
            "project": "default",
            "source": {"repoURL": URL, "path": path, "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"},
            "syncPolicy": policy,
        },
    })
}

pub fn automated() -> Value {
    json!({"automated": {"prune": true, "selfHeal": true}})
}

pub fn cm(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  value: \"{value}\"\n"
    )
}

pub fn cm_value(h: &Harness, name: &str) -> Option<String> {
    h.configmap("default", name).and_then(|c| {
        c.pointer("/data/value")
            .and_then(Value::as_str)
            .map(str::to_string)
    })
}

fn deletes(entries: &[AuditEntry]) -> Vec<String> {
    entries
        .iter()
        .filter(|e| !e.dry_run && e.verb == "delete" && !e.internal())
        .map(|e| format!("{}/{}/{}", e.resource, e.namespace, e.name))
        .collect()
}

#[test]
fn a_commit_reaches_the_cluster_by_polling() {
    let mut h = Harness::new();
    h.repo.write("shop/cm.yaml", &cm("settings", "one"));
    h.repo.commit_all("one");
    h.controller(&[], &[]);
    h.apply(&app("shop", "shop", automated()));
    h.wait_synced("shop");
    assert_eq!(cm_value(&h, "settings").as_deref(), Some("one"));
    let app = h.app("shop");
    assert_eq!(app.pointer("/status/history/0/id"), Some(&json!(0)));
    assert_eq!(
        app.pointer("/status/operationState/phase"),
        Some(&json!("Succeeded"))
    );
    assert_eq!(
        app.pointer("/status/sync/revision").and_then(Value::as_str),
        Some(h.repo.head().as_str())
    );
    assert!(app.pointer("/status/reconciledAt").is_some());
    assert_eq!(
        app.pointer("/status/resources/0/kind"),
        Some(&json!("ConfigMap"))
    );

    h.repo.write("shop/cm.yaml", &cm("settings", "two"));
    let two = h.repo.commit_all("two");
    h.wait("the second commit", Duration::from_secs(30), |h| {
        cm_value(h, "settings").as_deref() == Some("two")
    });
    h.wait_synced("shop");
    let app = h.app("shop");
    assert_eq!(
        app.pointer("/status/sync/revision").and_then(Value::as_str),
        Some(two.as_str())
    );
    assert_eq!(
        app.pointer("/status/history")
            .and_then(Value::as_array)
            .map(Vec::len),
        Some(2)
    );
    // Metrics tell the story.
    let metrics = http_get(h.port, "/metrics");
    assert!(
        metrics.contains("trellis_syncs_total{phase=\"Succeeded\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("trellis_applications{"), "{metrics}");
    assert!(
        metrics.contains("trellis_reconcile_duration_seconds"),
        "{metrics}"
    );
    // Events record the syncs.
    let events =
        h.rt.block_on(h.client.list("", "Event", "trellis", None))
            .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["reason"] == "OperationCompleted" && e["involvedObject"]["name"] == "shop"),
        "{events:?}"
    );
}

#[test]
fn a_commit_reaches_the_cluster_by_webhook() {
    let mut h = Harness::new();
    h.repo.write("shop/cm.yaml", &cm("settings", "one"));
    h.repo.commit_all("one");
    // Polling is too slow to matter: only the webhook can bring the change.
    h.controller(&["--refresh-interval", "1h"], &[]);
    h.apply(&app("shop", "shop", automated()));
    h.wait_synced("shop");
    h.repo.write("shop/cm.yaml", &cm("settings", "two"));
    h.repo.commit_all("two");
    assert_eq!(h.webhook(URL, "wrong secret"), 401);
    assert_eq!(h.webhook(URL, SECRET), 200);
    h.wait("the webhook's commit", Duration::from_secs(20), |h| {
        cm_value(h, "settings").as_deref() == Some("two")
    });
}

#[test]
fn drift_is_reverted_by_self_heal() {
    let mut h = Harness::new();
    h.repo.write("shop/cm.yaml", &cm("settings", "one"));
    h.repo.commit_all("one");
    h.controller(&["--refresh-interval", "1h"], &[]);
    h.apply(&app("shop", "shop", automated()));
    h.wait_synced("shop");
    h.patch(
        "",
        "ConfigMap",
        "default",
        "settings",
        json!({"data": {"value": "drifted"}}),
    );
    h.wait("self-heal", Duration::from_secs(20), |h| {
        cm_value(h, "settings").as_deref() == Some("one")
    });
}

#[test]
fn a_failing_render_keeps_the_live_resources_and_reports_the_error() {
    let mut h = Harness::new();
    h.repo.write("shop/cm.yaml", &cm("settings", "one"));
    h.repo.write("shop/other.yaml", &cm("other", "x"));
    h.repo.commit_all("one");
    h.controller(&[], &[]);
    h.apply(&app("shop", "shop", automated()));
    h.wait_synced("shop");
    let before = h.audit().len();
    h.repo.write(
        "shop/other.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other\ndata: [\n",
    );
    h.repo.commit_all("broken");
    h.wait("the render error", Duration::from_secs(20), |h| {
        h.app("shop")
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|c| c.iter().any(|c| c["type"] == "ComparisonError"))
    });
    let app = h.app("shop");
    let message = app["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "ComparisonError")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("other.yaml"), "{message}");
    assert_eq!(app.pointer("/status/sync/status"), Some(&json!("Unknown")));
    // Nothing was deleted; both ConfigMaps are still there.
    let after = h.audit();
    assert_eq!(deletes(&after[before..]), Vec::<String>::new());
    assert!(h.configmap("default", "other").is_some());
    assert!(h.configmap("default", "settings").is_some());
    // Fixing the file heals the application.
    h.repo.write("shop/other.yaml", &cm("other", "y"));
    h.repo.commit_all("fixed");
    h.wait("the fix", Duration::from_secs(30), |h| {
        h.configmap("default", "other")
            .is_some_and(|c| c["data"]["value"] == "y")
    });
}
