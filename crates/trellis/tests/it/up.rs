//! `trellis up`: the main job on one machine, started twice on the same data.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::Env;

fn up(env: &Env, data: &std::path::Path, extra: &[&str]) -> crate::support::Run {
    let mut args = vec![
        "up",
        "--data",
        data.to_str().unwrap(),
        "--port",
        "0",
        "--timeout",
        "120s",
    ];
    args.extend_from_slice(extra);
    env.run(&args)
}

#[test]
fn up_syncs_every_example_application_and_a_second_run_resumes() {
    let env = Env::new();
    let data = env.home().join("data");
    let first = up(&env, &data, &["--exit-when-synced"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert!(
        first
            .stderr
            .contains("all 14 applications are Synced and Healthy"),
        "{first:?}"
    );
    let kubeconfig = data.join("kubeconfig");
    assert!(first.stderr.contains(&kubeconfig.display().to_string()));
    assert!(data.join("repos/infrastructure/.git").exists());
    // The example repositories are real git repositories: the user commits
    // there. A second run keeps them and the cluster's data.
    let head = trellis_testkit::git_in(&data.join("repos/infrastructure"), &["rev-parse", "HEAD"]);
    let second = up(&env, &data, &["--exit-when-synced"]);
    assert_eq!(second.code, 0, "{second:?}");
    assert!(second.stderr.contains("all 14 applications"), "{second:?}");
    assert_eq!(
        trellis_testkit::git_in(&data.join("repos/infrastructure"), &["rev-parse", "HEAD"]),
        head
    );
    // Resumed, not recreated: the root application's history holds the one
    // sync of the first run.
    assert!(
        !second
            .stderr
            .contains("root                         Unknown"),
        "{second:?}"
    );
}

#[test]
fn up_stops_cleanly_on_ctrl_c() {
    let env = Env::new();
    let data = env.home().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_trellis"))
        .args(["up", "--data", data.to_str().unwrap(), "--port", "0"])
        .env("HOME", env.home())
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
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = Vec::new();
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no 'running' line: {seen:#?}"));
        let running = line.contains("Ctrl-C stops");
        seen.push(line);
        if running {
            break;
        }
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        assert!(Instant::now() < deadline, "up did not stop: {seen:#?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(0), "{seen:#?}");
}
