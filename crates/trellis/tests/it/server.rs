//! `trellis server` on its own: the admin password chosen at install time.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::controller::{Harness, free_port};
use crate::up::request;

fn server(h: &Harness, port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trellis"));
    command
        .args(["server", "--kubeconfig"])
        .arg(&h.kubeconfig)
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--admin-password-stdin",
        ])
        .env("XDG_CACHE_HOME", h.dir.path().join("cache"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

fn login(port: u16, password: &str) -> String {
    let body = serde_json::json!({"username": "admin", "password": password}).to_string();
    request(
        port,
        &format!(
            "POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

#[test]
fn the_admin_password_can_be_set_from_standard_input() {
    let h = Harness::new();
    let port = free_port();

    // Too short: a usage error, nothing served.
    let mut short = server(&h, port).spawn().unwrap();
    short.stdin.take().unwrap().write_all(b"short\n").unwrap();
    let out = short.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--admin-password-stdin: the password must have at least"),
        "{stderr}"
    );

    // A good one is stored (hashed) and logs in; no generated password is printed.
    let mut child = server(&h, port).spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"correct horse battery staple\n")
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let ok = loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            let answer = login(port, "correct horse battery staple");
            if answer.starts_with("HTTP/1.1 200") {
                break answer;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the server never accepted the password"
        );
        assert!(child.try_wait().unwrap().is_none(), "the server exited");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        ok.to_ascii_lowercase()
            .contains("set-cookie: trellis_session="),
        "{ok}"
    );
    assert!(login(port, "something else entirely").starts_with("HTTP/1.1 401"));
    // Stored as an argon2 hash, never in clear.
    let secret = h.get("", "Secret", "trellis", "trellis-server").unwrap();
    let decoded: String = secret["data"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| {
            let mut child = Command::new("base64")
                .arg("-d")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(v.as_str().unwrap().as_bytes())
                .unwrap();
            String::from_utf8_lossy(&child.wait_with_output().unwrap().stdout).into_owned()
        })
        .collect();
    assert!(decoded.contains("$argon2id$"), "{decoded}");
    assert!(
        !decoded.contains("correct horse"),
        "stored in clear: {decoded}"
    );
    assert!(!secret.to_string().contains("correct horse"));
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("admin password set"), "{stderr}");
    assert!(!stderr.contains("shown this once"), "{stderr}");
}
