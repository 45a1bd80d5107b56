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

/// `trellis up` running in the background on a free port, with everything
/// its first lines announced. Stopped with Ctrl-C (SIGINT) when dropped.
pub struct Up {
    pub child: std::process::Child,
    /// The data directory (example repositories under `repos/`, the
    /// kubeconfig of the embedded cluster at `kubeconfig`).
    pub data: PathBuf,
    /// The admin password printed on first start.
    pub password: String,
    /// The web server's port on 127.0.0.1.
    pub port: u16,
    /// Every stderr line up to "Ctrl-C stops".
    pub lines: Vec<String>,
}

impl Up {
    /// Starts `trellis up --port 0` on a new data directory in `env` and
    /// waits (at most 120 s) until it says it is running.
    pub fn start(env: &Env) -> Up {
        use std::io::{BufRead, BufReader};
        use std::process::Stdio;
        use std::time::{Duration, Instant};
        let data = env.home().join("up-data");
        let mut child = Command::new(env!("CARGO_BIN_EXE_trellis"))
            .args(["up", "--data", data.to_str().unwrap(), "--port", "0"])
            .env("HOME", env.home())
            .env("XDG_CONFIG_HOME", env.home().join("config"))
            .env("XDG_CACHE_HOME", env.home().join("cache"))
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    // Keep draining so the child never blocks on a full pipe.
                    continue;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut lines = Vec::new();
        loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("trellis up did not start: {lines:#?}"));
            let running = line.contains("Ctrl-C stops");
            lines.push(line);
            if running {
                break;
            }
        }
        let field = |prefix: &str| {
            lines
                .iter()
                .find_map(|l| l.strip_prefix(prefix))
                .unwrap_or_else(|| panic!("no {prefix:?} line: {lines:#?}"))
                .to_string()
        };
        let password = field("admin password (shown this once, keep it): ");
        let web = field("web: http://");
        let port: u16 = web
            .split_whitespace()
            .next()
            .and_then(|a| a.rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {web:?}"));
        Up {
            child,
            data,
            password,
            port,
            lines,
        }
    }

    /// The web server's base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Sends SIGINT and waits (at most 30 s) for the exit code.
    pub fn stop(&mut self) -> Option<i32> {
        use std::time::{Duration, Instant};
        if let Ok(Some(status)) = self.child.try_wait() {
            return status.code();
        }
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        self.stop();
    }
}
