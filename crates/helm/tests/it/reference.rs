//! Real Helm as a test oracle: the Helm Go SDK (v4.2.3) through the PyPI
//! package `helm-python-sdk==0.2.2`, driven by
//! `tests/reference/helm_render.py`.
//!
//! The virtual environment is created on first use with `python3 -m venv`
//! and `pip install helm-python-sdk==0.2.2`, at `$TRELLIS_HELM_VENV` when
//! set, else `$CARGO_TARGET_DIR/helm-venv`, else `<workspace>/target/helm-venv`.
//! It is built in a temporary sibling directory and renamed into place, so
//! concurrent test processes never see a half-installed environment.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The pinned SDK package.
pub const SDK: &str = "helm-python-sdk==0.2.2";

fn venv_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("TRELLIS_HELM_VENV") {
        return PathBuf::from(p);
    }
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(t).join("helm-venv");
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/helm-venv")
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sdk_importable(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import helm_python"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// The venv's python, creating the venv with the SDK if needed.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let dir = venv_dir();
            let python = dir.join("bin/python");
            if sdk_importable(&python) {
                return python;
            }
            let parent = dir.parent().unwrap();
            std::fs::create_dir_all(parent).unwrap();
            let staging = parent.join(format!(
                ".helm-venv-{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos()
            ));
            run(Command::new("python3").args(["-m", "venv"]).arg(&staging));
            run(Command::new(staging.join("bin/pip")).args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                SDK,
            ]));
            // Another process may have won the race; either venv is good.
            if std::fs::rename(&staging, &dir).is_err() {
                let _ = std::fs::remove_dir_all(&staging);
            }
            // A venv's scripts embed its path; recreate the interpreter link
            // check through the final location.
            assert!(
                sdk_importable(&python),
                "helm-python-sdk not importable from {}",
                python.display()
            );
            python
        })
        .clone()
}

/// Runs `helm_render.py` with `args` and returns its JSON output.
pub fn helm_render(args: &[&str]) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/helm_render.py");
    let out = Command::new(python())
        .arg(script)
        .args(args)
        .output()
        .expect("running helm_render.py");
    assert!(
        out.status.success(),
        "helm_render.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "helm_render.py printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}
