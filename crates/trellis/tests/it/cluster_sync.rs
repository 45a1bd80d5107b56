//! `trellis diff`, `sync`, `status` and `wait` against the embedded cluster,
//! through a kubeconfig, as a pipeline would run them.

use std::path::{Path, PathBuf};

use trellis_localcluster::{RunningCluster, ServeOptions, start};

use crate::support::{Env, Run, app_yaml};

const URL: &str = "https://git.example.com/team/shop.git";

struct Cluster {
    _rt: tokio::runtime::Runtime,
    cluster: RunningCluster,
    kubeconfig: PathBuf,
    dir: tempfile::TempDir,
}

impl Cluster {
    fn start() -> Cluster {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let cluster = rt.block_on(start(ServeOptions::default())).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        cluster.write_kubeconfig(&kubeconfig).unwrap();
        Cluster {
            _rt: rt,
            cluster,
            kubeconfig,
            dir,
        }
    }

    fn kubectl(&self, args: &[&str]) -> String {
        trellis_testkit::kubectl_ok(&self.kubeconfig, args)
    }

    /// Writes the manifests folder and the Application file.
    fn app(&self, manifests: &str) -> (PathBuf, PathBuf) {
        let source = self.dir.path().join("shop");
        std::fs::create_dir_all(&source).unwrap();
        std::fs::write(source.join("manifests.yaml"), manifests).unwrap();
        let app = self.dir.path().join("app.yaml");
        std::fs::write(&app, app_yaml("shop", URL, ".", "HEAD")).unwrap();
        (app, source)
    }

    fn run(&self, env: &Env, source: &Path, args: &[&str]) -> Run {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.push("--kubeconfig".into());
        all.push(self.kubeconfig.display().to_string());
        all.push("--repo-map".into());
        all.push(format!("{URL}={}", source.display()));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        env.run_in(self.dir.path(), &refs)
    }
}

const MANIFESTS: &str = "apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: fast}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: late
  annotations: {argocd.argoproj.io/sync-wave: \"1\"}
data: {a: b}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
";

#[test]
fn diff_sync_status_and_wait_in_a_pipeline() {
    let env = Env::new();
    let c = Cluster::start();
    let (app, source) = c.app(MANIFESTS);
    let app = app.to_str().unwrap();

    let diff = c.run(&env, &source, &["diff", app]);
    assert_eq!(diff.code, 1, "{diff:?}");
    assert!(
        diff.stdout.contains("+++ b/ConfigMap default/settings"),
        "{diff:?}"
    );

    let seq = c.cluster.audit().last_seq();
    let plan = c.run(&env, &source, &["sync", app, "--dry-run"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        plan.stdout.contains("ConfigMap  default    late"),
        "{plan:?}"
    );
    let writes = c
        .cluster
        .audit()
        .since(seq)
        .into_iter()
        .filter(|e| !e.dry_run && e.verb != "get" && e.verb != "list" && e.verb != "watch")
        .count();
    assert_eq!(writes, 0, "a dry run writes nothing");

    let sync = c.run(&env, &source, &["sync", app]);
    assert_eq!(sync.code, 0, "{sync:?}");
    assert!(
        sync.stderr
            .contains("Sync wave 0: ConfigMap default/settings, Service default/web"),
        "{sync:?}"
    );
    assert!(
        sync.stderr.contains("Sync wave 1: ConfigMap default/late"),
        "{sync:?}"
    );
    assert!(sync.stdout.starts_with("KIND"), "{sync:?}");
    assert!(
        sync.stdout
            .contains("Service    default    web       Synced  Healthy"),
        "{sync:?}"
    );
    assert_eq!(
        c.kubectl(&[
            "get",
            "configmap",
            "settings",
            "-o",
            "jsonpath={.data.mode}"
        ]),
        "fast"
    );

    let clean = c.run(&env, &source, &["diff", app]);
    assert_eq!(clean.code, 0, "{clean:?}");
    assert_eq!(clean.stdout, "");

    let status = c.run(&env, &source, &["status", app]);
    assert_eq!(status.code, 0, "{status:?}");
    assert!(
        status
            .stdout
            .contains("Sync:        Synced\nHealth:      Healthy"),
        "{status:?}"
    );

    let wait = c.run(&env, &source, &["wait", app, "--timeout", "2s"]);
    assert_eq!(wait.code, 0, "{wait:?}");

    // Drift: wait --sync times out, diff exits 1.
    c.kubectl(&[
        "patch",
        "configmap",
        "settings",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"mode":"slow"}}"#,
    ]);
    let wait = c.run(
        &env,
        &source,
        &["wait", app, "--sync", "--timeout", "500ms"],
    );
    assert_eq!(wait.code, 3, "{wait:?}");
    assert!(wait.stderr.contains("timed out"), "{wait:?}");
    let diff = c.run(&env, &source, &["diff", app]);
    assert_eq!(diff.code, 1, "{diff:?}");
    assert!(
        diff.stdout.contains("-  mode: slow\n+  mode: fast"),
        "{diff:?}"
    );
    let conflict = c.run(&env, &source, &["sync", app]);
    assert_eq!(conflict.code, 3, "{conflict:?}");
    let forced = c.run(&env, &source, &["sync", app, "--force"]);
    assert_eq!(forced.code, 0, "{forced:?}");
}

#[test]
fn prune_needs_the_flag_and_an_application_stored_in_the_cluster_is_found_by_name() {
    let env = Env::new();
    let c = Cluster::start();
    let (app, source) = c.app(MANIFESTS);
    let app = app.to_str().unwrap();
    assert_eq!(c.run(&env, &source, &["sync", app]).code, 0);
    std::fs::write(
        source.join("manifests.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: fast}\n",
    )
    .unwrap();
    let kept = c.run(&env, &source, &["sync", app]);
    assert_eq!(kept.code, 0, "{kept:?}");
    assert!(kept.stderr.contains("pruning is off"), "{kept:?}");
    let pruned = c.run(&env, &source, &["sync", app, "--prune"]);
    assert_eq!(pruned.code, 0, "{pruned:?}");
    assert!(pruned.stdout.contains("Pruned"), "{pruned:?}");
    let left = c.kubectl(&["get", "configmaps,services", "-o", "name"]);
    assert!(
        !left.contains("late") && !left.contains("service/web"),
        "{left}"
    );

    // Store the Application in the cluster and address it by name.
    let crds = env.run(&["crds"]);
    let crd_file = c.dir.path().join("crds.yaml");
    std::fs::write(&crd_file, crds.stdout).unwrap();
    c.kubectl(&["create", "-f", crd_file.to_str().unwrap()]);
    let stored =
        app_yaml("shop", URL, ".", "HEAD").replace("namespace: trellis\n", "namespace: default\n");
    let stored_file = c.dir.path().join("stored.yaml");
    std::fs::write(&stored_file, stored).unwrap();
    c.kubectl(&["apply", "-f", stored_file.to_str().unwrap()]);
    let status = c.run(&env, &source, &["status", "shop"]);
    assert_eq!(status.code, 0, "{status:?}");
    assert!(status.stdout.contains("Application: shop"), "{status:?}");
    let missing = c.run(&env, &source, &["status", "nope"]);
    assert_eq!(missing.code, 2, "{missing:?}");
}

#[test]
fn other_destinations_are_a_usage_error() {
    let env = Env::new();
    let c = Cluster::start();
    let (app, source) = c.app(MANIFESTS);
    let text = std::fs::read_to_string(&app)
        .unwrap()
        .replace("https://kubernetes.default.svc", "https://prod.example.com");
    std::fs::write(&app, text).unwrap();
    let run = c.run(&env, &source, &["diff", app.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("destination https://prod.example.com is not supported"),
        "{run:?}"
    );
}
