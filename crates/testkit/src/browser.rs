//! Headless Chromium for the browser tests and benchmarks, driven by
//! scripts for Node.js that use `playwright-core` and `axe-core`.
//!
//! The packages are pinned by `crates/testkit/browser/package-lock.json` and
//! installed on first use with `npm ci` at `$TRELLIS_BROWSER_DEPS` when set,
//! else `$CARGO_TARGET_DIR/browser-deps`, else `<workspace>/target/browser-deps`
//! — never into the source tree. The install is keyed by the lock file's
//! content, so a changed lock installs afresh. Chromium itself is the
//! system's (`$TRELLIS_CHROMIUM`, else `/usr/bin/chromium`): Playwright's
//! own browser download is neither wanted nor possible offline.
//!
//! Scripts load the packages through `crates/testkit/browser/lib.mjs`,
//! which finds them by `$TRELLIS_NODE_MODULES`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Folder holding `package.json`, `package-lock.json` and `lib.mjs`.
pub fn package_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// The shared script library (`lib.mjs`) the browser scripts import.
pub fn lib_path() -> PathBuf {
    package_dir().join("lib.mjs")
}

fn deps_root() -> PathBuf {
    if let Some(p) = std::env::var_os("TRELLIS_BROWSER_DEPS") {
        return PathBuf::from(p);
    }
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(t).join("browser-deps");
    }
    crate::workspace_root().join("target/browser-deps")
}

/// FNV-1a of the lock file: a stable name for one set of pinned packages.
fn lock_key(lock: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in lock {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The `node_modules` folder with the pinned packages, installing them on
/// first use. Concurrent test processes each install into a staging folder
/// and rename it into place, so none sees a half-installed tree.
pub fn node_modules() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let lock = std::fs::read(package_dir().join("package-lock.json"))
            .expect("reading crates/testkit/browser/package-lock.json");
        let dir = deps_root().join(lock_key(&lock));
        let modules = dir.join("node_modules");
        if modules.join("playwright-core/package.json").exists()
            && modules.join("axe-core/axe.min.js").exists()
        {
            return modules;
        }
        let parent = deps_root();
        std::fs::create_dir_all(&parent).expect("creating the browser-deps folder");
        let staging = parent.join(format!(
            ".staging-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&staging).expect("creating a staging folder");
        for file in ["package.json", "package-lock.json"] {
            std::fs::copy(package_dir().join(file), staging.join(file))
                .expect("copying the package files");
        }
        let npm = Command::new("npm")
            .args([
                "ci",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
            ])
            .current_dir(&staging)
            .output()
            .unwrap_or_else(|e| {
                panic!("the browser tests need Node.js and npm on PATH (running npm: {e})")
            });
        assert!(
            npm.status.success(),
            "npm ci for the browser tests failed:\n{}{}",
            String::from_utf8_lossy(&npm.stdout),
            String::from_utf8_lossy(&npm.stderr)
        );
        // Another process may have won the race; either tree is good.
        if std::fs::rename(&staging, &dir).is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        assert!(
            modules.join("playwright-core/package.json").exists(),
            "playwright-core missing from {}",
            modules.display()
        );
        modules
    })
    .clone()
}

/// The Chromium executable the scripts launch.
pub fn chromium() -> PathBuf {
    let candidates: Vec<PathBuf> = match std::env::var_os("TRELLIS_CHROMIUM") {
        Some(path) => vec![PathBuf::from(path)],
        None => vec![
            PathBuf::from("/usr/bin/chromium"),
            PathBuf::from("/usr/bin/chromium-browser"),
        ],
    };
    candidates
        .into_iter()
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "the browser tests need Chromium: install Debian's `chromium` package \
                 (apt-get install chromium) or set TRELLIS_CHROMIUM to its executable"
            )
        })
}

/// Where scripts save screenshots: `$TRELLIS_ARTIFACTS` when set, else
/// `<target>/browser-artifacts/<name>`.
pub fn artifacts_dir(name: &str) -> PathBuf {
    let dir = match std::env::var_os("TRELLIS_ARTIFACTS") {
        Some(p) => PathBuf::from(p).join(name),
        None => deps_root()
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| crate::workspace_root().join("target"))
            .join("browser-artifacts")
            .join(name),
    };
    std::fs::create_dir_all(&dir).expect("creating the artifacts folder");
    dir
}

/// Runs `node script` with the packages, Chromium and an artifacts folder
/// named after the script (`TRELLIS_NODE_MODULES`, `TRELLIS_CHROMIUM`,
/// `TRELLIS_ARTIFACTS`) plus `env`. Standard error passes through, so the
/// script's progress shows in the test's output.
pub fn node(script: &Path, env: &[(&str, &str)]) -> Output {
    let modules = node_modules();
    let name = script
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "script".to_string());
    let artifacts = artifacts_dir(&name);
    let mut command = Command::new("node");
    command
        .arg(script)
        .env("TRELLIS_NODE_MODULES", &modules)
        .env("TRELLIS_CHROMIUM", chromium())
        .env("TRELLIS_ARTIFACTS", &artifacts)
        .stderr(std::process::Stdio::inherit());
    for (key, value) in env {
        command.env(key, value);
    }
    command
        .output()
        .unwrap_or_else(|e| panic!("the browser tests need Node.js on PATH (running node: {e})"))
}
