//! Discovery, version, errors, selectors, paging and durability.

use serde_json::json;
use trellis_localcluster::ServeOptions;

use crate::support::Env;

#[test]
fn version_and_api_resources() {
    let env = Env::new();
    let v = env.json(&["version"]);
    assert_eq!(v["serverVersion"]["minor"], "32");
    let res = env.ok(&["api-resources"]);
    let line = res.lines().find(|l| l.starts_with("deployments ")).unwrap();
    assert!(
        line.contains("deploy")
            && line.contains("apps/v1")
            && line.contains("true")
            && line.contains("Deployment"),
        "{line}"
    );
    assert!(
        res.lines()
            .any(|l| l.starts_with("namespaces ") && l.contains("false"))
    );
    assert!(res.contains("customresourcedefinitions"));
    let ns = env.ok(&["get", "namespaces", "-o", "name"]);
    assert!(
        ns.contains("namespace/default") && ns.contains("namespace/kube-system"),
        "{ns}"
    );
}

#[test]
fn errors_are_kubernetes_statuses() {
    let env = Env::new();
    let e = env.fails(&["get", "configmap", "missing"]);
    assert!(e.contains("configmaps \"missing\" not found"), "{e}");
    let cm = env.write(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: nope}\ndata: {a: b}\n",
    );
    let e = env.fails(&["create", "-f", cm.to_str().unwrap()]);
    assert!(e.contains("namespaces \"nope\" not found"), "{e}");
    let bad = env.write(
        "bad.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}\n",
    );
    let e = env.fails(&["create", "-f", bad.to_str().unwrap()]);
    assert!(
        e.contains("is invalid") && e.contains("metadata.name"),
        "{e}"
    );
    let ok = env.write(
        "ok.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n",
    );
    env.ok(&["create", "-f", ok.to_str().unwrap()]);
    let e = env.fails(&["create", "-f", ok.to_str().unwrap()]);
    assert!(e.contains("already exists"), "{e}");
    // A stale resourceVersion is a conflict.
    let stale = env.write("stale.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, resourceVersion: \"1\"}\ndata: {a: z}\n");
    let e = env.fails(&["replace", "-f", stale.to_str().unwrap()]);
    assert!(e.contains("the object has been modified"), "{e}");
    let cm = env.json(&["get", "configmap", "c"]);
    assert_eq!(cm["data"], json!({"a": "b"}));
}

#[test]
fn selectors_and_paging() {
    let env = Env::new();
    let mut docs = String::new();
    for i in 0..7 {
        let tier = if i % 2 == 0 { "even" } else { "odd" };
        docs.push_str(&format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}, labels: {{tier: {tier}}}}}\n"));
    }
    let f = env.write("many.yaml", &docs);
    env.ok(&["create", "-f", f.to_str().unwrap()]);
    let even = env.ok(&["get", "cm", "-l", "tier=even", "-o", "name"]);
    assert_eq!(even.lines().count(), 4, "{even}");
    let by_name = env.ok(&[
        "get",
        "cm",
        "--field-selector",
        "metadata.name=c3",
        "-o",
        "name",
    ]);
    assert_eq!(by_name.trim(), "configmap/c3");
    // kubectl pages with limit/continue; every object arrives exactly once.
    let paged = env.ok(&["get", "cm", "--chunk-size=2", "-o", "name"]);
    assert_eq!(paged.lines().count(), 7, "{paged}");
    let audit = env.audit().entries();
    assert!(
        audit
            .iter()
            .filter(|e| e.verb == "list" && e.resource == "configmaps")
            .count()
            >= 4
    );
}

#[test]
fn writes_survive_a_restart_and_versions_continue() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cluster.db");
    let rv1: u64;
    {
        let env = Env::with(ServeOptions {
            data: Some(data.clone()),
            ..Default::default()
        });
        let f = env.write(
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keep}\ndata: {a: b}\n",
        );
        env.ok(&["create", "-f", f.to_str().unwrap()]);
        rv1 = env.json(&["get", "cm", "keep"])["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
    }
    let env = Env::with(ServeOptions {
        data: Some(data),
        ..Default::default()
    });
    let cm = env.json(&["get", "cm", "keep"]);
    assert_eq!(cm["data"]["a"], "b");
    env.ok(&["label", "cm", "keep", "x=y"]);
    let rv2: u64 = env.json(&["get", "cm", "keep"])["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv2 > rv1, "{rv2} > {rv1}");
}

#[test]
fn finalizers_hold_deletion_until_removed() {
    let env = Env::new();
    let f = env.write(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, finalizers: [example.com/hold]}\n",
    );
    env.ok(&["create", "-f", f.to_str().unwrap()]);
    env.ok(&["delete", "cm", "held", "--wait=false"]);
    let cm = env.json(&["get", "cm", "held"]);
    assert!(cm["metadata"]["deletionTimestamp"].is_string());
    env.ok(&[
        "patch",
        "cm",
        "held",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    let e = env.fails(&["get", "cm", "held"]);
    assert!(e.contains("not found"), "{e}");
}
