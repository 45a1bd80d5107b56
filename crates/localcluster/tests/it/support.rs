//! A cluster per test, a kubeconfig for it, and kubectl helpers with deadlines.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use trellis_localcluster::{AuditLog, RunningCluster, ServeOptions, start};

/// Longest wait of one step.
pub const STEP: Duration = Duration::from_secs(2);

pub struct Env {
    pub rt: tokio::runtime::Runtime,
    pub cluster: Option<RunningCluster>,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

impl Env {
    pub fn new() -> Env {
        Self::with(ServeOptions::default())
    }

    pub fn with(mut opts: ServeOptions) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        opts.kubeconfig_path = Some(kubeconfig.clone());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let cluster = rt.block_on(start(opts)).unwrap();
        Env {
            rt,
            cluster: Some(cluster),
            dir,
            kubeconfig,
        }
    }

    pub fn audit(&self) -> AuditLog {
        self.cluster.as_ref().unwrap().audit()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new("kubectl");
        c.env("KUBECONFIG", &self.kubeconfig)
            .env_remove("KUBECTL_EXTERNAL_DIFF");
        c.arg("--request-timeout=2s");
        // Discovery and OpenAPI caches stay with the test, not in the user's home.
        c.arg(format!(
            "--cache-dir={}",
            self.dir.path().join("cache").display()
        ));
        c
    }

    /// Runs kubectl to completion (each request has a 2 s deadline).
    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// Runs kubectl and returns stdout, failing the test on a non-zero exit.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs kubectl, expecting failure, and returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            !out.status.success(),
            "kubectl {args:?} should fail: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&a)).unwrap()
    }

    pub fn apply_file(&self, path: &Path, extra: &[&str]) -> Output {
        let p = path.to_str().unwrap();
        let mut a = vec!["apply", "--server-side", "-f", p];
        a.extend(extra);
        self.kubectl(&a)
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(c) = self.cluster.take() {
            let _ = self
                .rt
                .block_on(async { tokio::time::timeout(STEP, c.shutdown()).await });
        }
    }
}

/// A long-running kubectl whose output lines arrive on a channel.
pub struct Stream {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Stream {
    pub fn start(env: &Env, args: &[&str]) -> Stream {
        let mut child = env
            .cmd()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Stream { child, lines }
    }

    /// Waits (at most `STEP`) for a line containing `needle`; returns every line seen.
    pub fn wait_for(&self, needle: &str) -> Vec<String> {
        let deadline = Instant::now() + STEP;
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    let hit = l.contains(needle);
                    seen.push(l);
                    if hit {
                        return seen;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("no line containing {needle:?} within {STEP:?}; saw {seen:?}");
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `f` until it returns `Some`, for at most `STEP`.
pub fn eventually<T>(mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + STEP;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "condition not met within {STEP:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, team: a}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports: [{containerPort: 80}]
"#;
