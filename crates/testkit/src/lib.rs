//! Test support: real git repositories, made with the git CLI the way a user
//! makes them, for the integration tests of every crate.
//!
//! Functions panic on failure: they only run inside tests, where a panic with
//! the failing git command is the clearest report.
#![warn(missing_docs)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod browser;
pub mod git_http;

use std::path::{Path, PathBuf};
use std::process::Command;

/// A git repository with a work tree in a temporary directory.
pub struct GitRepo {
    dir: tempfile::TempDir,
}

impl Default for GitRepo {
    fn default() -> Self {
        Self::new()
    }
}

impl GitRepo {
    /// An empty repository whose default branch is `main`.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = Self { dir };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    /// A repository holding a copy of `source` (recursively), committed on
    /// `main`.
    pub fn from_dir(source: &Path, message: &str) -> Self {
        let repo = Self::new();
        copy_dir(source, repo.path());
        repo.commit_all(message);
        repo
    }

    /// The work tree.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A `file://` URL of the repository.
    pub fn url(&self) -> String {
        format!("file://{}", self.path().display())
    }

    /// Writes a file (creating directories).
    pub fn write(&self, relative: &str, content: &str) -> &Self {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
        self
    }

    /// Removes a file or directory.
    pub fn remove(&self, relative: &str) -> &Self {
        let path = self.path().join(relative);
        if path.is_dir() {
            std::fs::remove_dir_all(path).expect("rm -r");
        } else {
            std::fs::remove_file(path).expect("rm");
        }
        self
    }

    /// Creates a symbolic link `relative` pointing at `target`.
    pub fn symlink(&self, relative: &str, target: &str) -> &Self {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::os::unix::fs::symlink(target, path).expect("symlink");
        self
    }

    /// Stages everything and commits; returns the new commit's SHA.
    pub fn commit_all(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.head()
    }

    /// The SHA of HEAD.
    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"]).trim().to_string()
    }

    /// Runs git in the repository with a fixed identity and clock-independent
    /// config; returns stdout.
    pub fn git(&self, args: &[&str]) -> String {
        git_in(self.path(), args)
    }
}

/// Runs git in `dir` with a test identity; panics with stderr on failure.
pub fn git_in(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Trellis Test")
        .env("GIT_AUTHOR_EMAIL", "test@trellis.invalid")
        .env("GIT_COMMITTER_NAME", "Trellis Test")
        .env("GIT_COMMITTER_EMAIL", "test@trellis.invalid")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("running git");
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// The workspace root (where `examples/` and `Cargo.toml` are).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .expect("workspace root")
        .to_path_buf()
}

/// What one kubectl run printed.
pub struct Kubectl {
    /// Whether kubectl exited 0.
    pub ok: bool,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs the real kubectl against the cluster of `kubeconfig`, with its
/// discovery cache beside the kubeconfig (never the user's) and a 2 s request
/// timeout.
pub fn kubectl(kubeconfig: &Path, args: &[&str]) -> Kubectl {
    let cache = kubeconfig.with_file_name("kubectl-cache");
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg(format!("--cache-dir={}", cache.display()))
        .arg("--request-timeout=2s")
        .args(args)
        .output()
        .expect("running kubectl");
    Kubectl {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs kubectl and returns stdout, panicking with stderr when it fails.
pub fn kubectl_ok(kubeconfig: &Path, args: &[&str]) -> String {
    let run = kubectl(kubeconfig, args);
    assert!(run.ok, "kubectl {args:?}: {}", run.stderr);
    run.stdout
}
