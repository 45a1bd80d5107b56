//! Unreachable repositories fail with one clear error naming the cause.

use std::time::Duration;

use trellis_source::{SourceConfig, SourceError, Sources};

use crate::support::sources;

#[test]
fn a_missing_local_repository_is_unreachable() {
    let tmp = tempfile::tempdir().unwrap();
    let s = sources(&tmp.path().join("cache"));
    let url = format!("file://{}/does-not-exist", tmp.path().display());
    let err = s.snapshot(&url, "main").unwrap_err();
    assert!(matches!(err, SourceError::Unreachable { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("does-not-exist") && msg.contains("unreachable"),
        "{msg}"
    );
}

#[test]
fn a_closed_port_is_unreachable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let tmp = tempfile::tempdir().unwrap();
    let s = sources(&tmp.path().join("cache"));
    let url = format!("http://127.0.0.1:{port}/acme/infra.git");
    let err = s.resolve(&url, "main").unwrap_err();
    assert!(matches!(err, SourceError::Unreachable { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&url) && msg.contains("connect"), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
}

#[test]
fn a_server_that_never_answers_times_out() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accept connections and hold them open without a word.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let mut config = SourceConfig::new(tmp.path().join("cache"));
    config.git_timeout = Duration::from_secs(1);
    let s = Sources::new(config).unwrap();
    let url = format!("http://127.0.0.1:{port}/acme/infra.git");
    let err = s.resolve(&url, "main").unwrap_err();
    assert!(matches!(err, SourceError::Timeout { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(&url) && msg.contains("timed out after 1s"),
        "{msg}"
    );
}
