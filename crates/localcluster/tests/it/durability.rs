//! `kill -9` during a stream of writes loses nothing acknowledged: a child process serves on a
//! data file, a client writes, the child is killed, a new child serves the same file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::http;
use crate::support::STEP;

const CHILD_ENV: &str = "TRELLIS_LOCALCLUSTER_DURABILITY_CHILD";

/// In the child process only: serve on the data file in the given directory until killed (or,
/// should the parent vanish, for at most half a minute).
#[test]
fn child_process_server() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let cluster = trellis_localcluster::start(trellis_localcluster::ServeOptions {
            data: Some(dir.join("data.db")),
            ..Default::default()
        })
        .await
        .unwrap();
        let tmp = dir.join("addr.tmp");
        std::fs::write(&tmp, cluster.addr().to_string()).unwrap();
        std::fs::rename(&tmp, dir.join("addr")).unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(dir: &Path) -> (Server, SocketAddr) {
    let _ = std::fs::remove_file(dir.join("addr"));
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "durability::child_process_server",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CHILD_ENV, dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let deadline = Instant::now() + STEP;
    loop {
        if let Ok(a) = std::fs::read_to_string(dir.join("addr")) {
            return (server, a.parse().unwrap());
        }
        assert!(
            Instant::now() < deadline,
            "child server did not start within {STEP:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn kill_9_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, addr) = spawn(dir.path());
    let acked: Arc<Mutex<Vec<(String, u64)>>> = Arc::default();
    let writer = {
        let acked = acked.clone();
        std::thread::spawn(move || {
            for i in 0.. {
                let name = format!("c-{i}");
                let body = format!(
                    r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}"}},"data":{{"i":"{i}"}}}}"#
                );
                match http::try_request(
                    addr,
                    "POST",
                    "/api/v1/namespaces/default/configmaps",
                    &body,
                ) {
                    Some((201, obj)) => {
                        let rv = obj["metadata"]["resourceVersion"]
                            .as_str()
                            .unwrap()
                            .parse()
                            .unwrap();
                        acked.lock().unwrap().push((name, rv));
                    }
                    // The server is gone: stop writing.
                    _ => return,
                }
            }
        })
    };
    let deadline = Instant::now() + STEP;
    while acked.lock().unwrap().len() < 40 {
        assert!(Instant::now() < deadline, "writes too slow");
        std::thread::sleep(Duration::from_millis(5));
    }
    // SIGKILL in the middle of the stream.
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    writer.join().unwrap();
    let acked = acked.lock().unwrap().clone();

    let (_server, addr) = spawn(dir.path());
    let list = http::request(addr, "GET", "/api/v1/namespaces/default/configmaps", "", "").json();
    let names: std::collections::HashSet<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    for (name, _) in &acked {
        assert!(names.contains(name), "acknowledged {name} was lost");
    }
    let max_rv = acked.iter().map(|(_, rv)| *rv).max().unwrap();
    let list_rv: u64 = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(list_rv >= max_rv);
    let r = http::request(
        addr,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        "application/json",
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"after"}}"#,
    );
    assert_eq!(r.status, 201);
    let rv: u64 = r.json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        rv > list_rv,
        "resourceVersions continue upward: {rv} after {list_rv}"
    );
}
