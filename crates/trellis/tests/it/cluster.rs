//! `trellis cluster serve` as a user runs it, and `trellis crds` installed
//! into it with kubectl, so Applications can be stored in a cluster.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Env, examples_dir};

/// A `trellis cluster serve` child process, killed on drop.
struct Served {
    child: Child,
    kubeconfig: PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path) -> Served {
    let kubeconfig = dir.join("kubeconfig.yaml");
    let child = Command::new(env!("CARGO_BIN_EXE_trellis"))
        .args(["cluster", "serve", "--port", "0", "--data"])
        .arg(dir.join("cluster.db"))
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let served = Served { child, kubeconfig };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if served.kubeconfig.exists() && kubectl(&served, &["get", "--raw", "/readyz"]).0 {
            return served;
        }
        assert!(Instant::now() < deadline, "cluster did not become ready");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn kubectl(served: &Served, args: &[&str]) -> (bool, String, String) {
    let run = trellis_testkit::kubectl(&served.kubeconfig, args);
    (run.ok, run.stdout, run.stderr)
}

#[test]
fn crds_install_and_example_applications_are_stored() {
    let env = Env::new();
    let served = serve(env.home());
    let crds = env.run(&["crds"]);
    assert_eq!(crds.code, 0, "{crds:?}");
    let crd_file = env.home().join("crds.yaml");
    std::fs::write(&crd_file, &crds.stdout).unwrap();
    let (ok, out, err) = kubectl(
        &served,
        &["apply", "--server-side", "-f", crd_file.to_str().unwrap()],
    );
    assert!(ok, "{out}{err}");
    assert_eq!(out.matches("serverside-applied").count(), 6, "{out}");

    let ns = env.home().join("ns.yaml");
    std::fs::write(
        &ns,
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: trellis\n",
    )
    .unwrap();
    let (ok, out, err) = kubectl(
        &served,
        &["apply", "--server-side", "-f", ns.to_str().unwrap()],
    );
    assert!(ok, "{out}{err}");
    let apps = examples_dir().join("apps");
    let (ok, out, err) = kubectl(
        &served,
        &[
            "apply",
            "--server-side",
            "-f",
            apps.to_str().unwrap(),
            "--recursive",
        ],
    );
    assert!(ok, "{out}{err}");

    // Argo CD's group and Trellis's own are both served.
    let (ok, out, err) = kubectl(
        &served,
        &[
            "get",
            "applications.argoproj.io",
            "-n",
            "trellis",
            "-o",
            "name",
        ],
    );
    assert!(ok, "{err}");
    let mut names: Vec<&str> = out.lines().collect();
    names.sort();
    assert_eq!(
        names,
        [
            "application.argoproj.io/billing-production",
            "application.argoproj.io/billing-staging",
            "application.argoproj.io/fleet-production",
            "application.argoproj.io/fleet-staging",
            "application.argoproj.io/platform",
            "application.argoproj.io/web-production",
            "application.argoproj.io/web-staging",
        ]
    );
    let (ok, out, err) = kubectl(
        &served,
        &[
            "get",
            "applications.trellis.dev",
            "-n",
            "trellis",
            "-o",
            "json",
        ],
    );
    assert!(ok, "{err}");
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let staging = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["metadata"]["name"] == "staging")
        .unwrap();
    assert_eq!(staging["spec"]["source"]["path"], "apps/staging");

    // A value of the wrong type is rejected by the CRD's schema.
    let bad = env.home().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: trellis.dev/v1alpha1\nkind: Application\nmetadata:\n  name: bad\n  namespace: trellis\nspec:\n  project: default\n  destination: {server: https://kubernetes.default.svc}\n  source: {repoURL: x}\n  revisionHistoryLimit: lots\n",
    )
    .unwrap();
    let (ok, out, err) = kubectl(
        &served,
        &["apply", "--server-side", "-f", bad.to_str().unwrap()],
    );
    assert!(!ok, "{out}");
    assert!(err.contains("revisionHistoryLimit"), "{err}");
}
