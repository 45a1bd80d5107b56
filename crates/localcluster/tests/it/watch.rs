//! `kubectl get -w` and raw watches from a resourceVersion.

use crate::support::{Env, Stream};

#[test]
fn kubectl_get_watch_sees_events() {
    let env = Env::new();
    let w = Stream::start(&env, &["get", "configmaps", "-w", "-o", "name"]);
    let f = env.write(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: watched}\ndata: {a: b}\n",
    );
    // Whether the object shows in kubectl's initial list or as an ADDED event, each of the three
    // changes prints exactly one line.
    env.ok(&["create", "-f", f.to_str().unwrap()]);
    w.wait_for("configmap/watched");
    env.ok(&["label", "cm", "watched", "x=y"]);
    w.wait_for("configmap/watched");
    env.ok(&["delete", "cm", "watched"]);
    w.wait_for("configmap/watched");
}

#[test]
fn watch_from_a_version_replays_and_expired_versions_are_gone() {
    let env = Env::new();
    let f = env.write(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
    );
    env.ok(&["create", "-f", f.to_str().unwrap()]);
    let rv = env.json(&["get", "cm", "a"])["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    env.ok(&["label", "cm", "a", "x=y"]);
    let from = (rv.parse::<u64>().unwrap()).to_string();
    let out = env.ok(&[
        "get",
        "--raw",
        &format!(
            "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={from}&timeoutSeconds=1"
        ),
    ]);
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 1, "{out}");
    assert_eq!(events[0]["type"], "MODIFIED");
    assert_eq!(events[0]["object"]["metadata"]["labels"]["x"], "y");
    // Bookmarks arrive when asked for.
    let out = env.ok(&["get", "--raw", &format!("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={from}&timeoutSeconds=1&allowWatchBookmarks=true")]);
    assert!(out.contains("\"BOOKMARK\""), "{out}");
}

#[test]
fn watch_from_a_compacted_version_is_gone() {
    // A fresh server on an existing data file keeps no history before its start.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("c.db");
    {
        let env = Env::with(trellis_localcluster::ServeOptions {
            data: Some(data.clone()),
            ..Default::default()
        });
        let f = env.write(
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
        );
        env.ok(&["create", "-f", f.to_str().unwrap()]);
    }
    let env = Env::with(trellis_localcluster::ServeOptions {
        data: Some(data),
        ..Default::default()
    });
    let out = env.ok(&[
        "get",
        "--raw",
        "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=1&timeoutSeconds=1",
    ]);
    let ev: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(ev["type"], "ERROR");
    assert_eq!(ev["object"]["code"], 410);
}
