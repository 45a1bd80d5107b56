//! `trellis up`: the main job on one machine, started twice on the same data.

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
    // The admin password is printed by the run that creates it only.
    assert!(first.stderr.contains("admin password"), "{first:?}");
    assert!(!second.stderr.contains("admin password"), "{second:?}");
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
    let mut up = crate::support::Up::start(&env);
    // The web server answers on the port it announced: log in with the
    // printed password and list the applications through the API.
    let (password, port) = (up.password.clone(), up.port);
    let login = serde_json::json!({"username": "admin", "password": password}).to_string();
    let response = request(
        port,
        &format!(
            "POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{login}",
            login.len()
        ),
    );
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let cookie = response
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie:")
                .then(|| l[11..].trim().to_string())
        })
        .and_then(|c| c.split(';').next().map(str::to_string))
        .unwrap();
    let list = request(
        port,
        &format!(
            "GET /api/v1/applications HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(list.starts_with("HTTP/1.1 200"), "{list}");
    for name in [
        "root",
        "fleet-staging",
        "storefront-production",
        "web-staging",
    ] {
        assert!(list.contains(&format!("\"{name}\"")), "{name} in {list}");
    }
    let unauthenticated = request(
        port,
        "GET /api/v1/applications HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(
        unauthenticated.starts_with("HTTP/1.1 401"),
        "{unauthenticated}"
    );
    let metrics = request(
        port,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(metrics.contains("trellis_applications"), "{metrics}");

    assert_eq!(up.stop(), Some(0), "{:#?}", up.lines);
}

/// One HTTP/1.1 exchange over a fresh connection; the whole response.
pub fn request(port: u16, text: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(text.as_bytes()).unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    out
}
