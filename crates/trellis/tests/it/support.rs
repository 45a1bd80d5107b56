//! Running the binary in isolation, and the example repository as a real git
//! repository.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use trellis_testkit::{GitRepo, workspace_root};

/// The URL every example Application names.
pub const INFRA_URL: &str = "https://git.example.com/platform/infrastructure.git";

/// One isolated environment: its own cache and config directories.
pub struct Env {
    home: tempfile::TempDir,
}

/// What a run printed and how it exited.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl Env {
    pub fn new() -> Self {
        Self {
            home: tempfile::tempdir().unwrap(),
        }
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Runs `trellis` with the given arguments in `cwd`.
    pub fn run_in(&self, cwd: &Path, args: &[&str]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_trellis"))
            .args(args)
            .current_dir(cwd)
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join("config"))
            .env("XDG_CACHE_HOME", self.home().join("cache"))
            .env_remove("TRELLIS_CONFIG")
            .env_remove("TRELLIS_CACHE_DIR")
            .env_remove("TRELLIS_GIT_USERNAME")
            .env_remove("TRELLIS_GIT_PASSWORD")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        Run::from(output)
    }

    /// Runs `trellis` in the workspace root.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_in(&workspace_root(), args)
    }

    /// Runs `trellis` with the example's service repositories mapped too.
    pub fn run_examples(&self, args: &[&str]) -> Run {
        let maps = service_maps();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(maps.iter().map(String::as_str));
        self.run(&all)
    }
}

/// The examples' infrastructure folder.
pub fn examples_dir() -> PathBuf {
    workspace_root().join("examples/infrastructure")
}

/// The example infrastructure repository as a real git repository.
pub fn infra_repo() -> GitRepo {
    GitRepo::from_dir(&examples_dir(), "initial infrastructure")
}

/// `--repo-map` mapping the example URL to a location.
pub fn map_to(location: &str) -> String {
    format!("{INFRA_URL}={location}")
}

/// `--repo-map` arguments for the example's service repositories (their
/// charts, rendered from the examples folder).
pub fn service_maps() -> Vec<String> {
    let services = workspace_root().join("examples/services");
    let mut args = Vec::new();
    for (url, dir) in [
        (
            "https://git.example.com/storefront/storefront.git",
            "storefront",
        ),
        ("https://git.example.com/payments/checkout.git", "checkout"),
    ] {
        args.push("--repo-map".to_string());
        args.push(format!("{url}={}", services.join(dir).display()));
    }
    args
}

/// The root application file inside a repository's work tree.
pub fn root_app(repo: &GitRepo) -> String {
    repo.path()
        .join("bootstrap/root.yaml")
        .display()
        .to_string()
}

/// Writes an Application manifest for a directory source.
pub fn app_yaml(name: &str, repo_url: &str, path: &str, revision: &str) -> String {
    format!(
        "apiVersion: trellis.dev/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: trellis\nspec:\n  project: default\n  source:\n    repoURL: {repo_url}\n    path: {path}\n    targetRevision: {revision}\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: default\n"
    )
}
