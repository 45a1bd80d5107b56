//! Bad input and less common verbs: malformed and oversized bodies, unknown fields, the status
//! and scale subresources, deletecollection, all-namespace lists.

use serde_json::json;

use crate::support::{DEPLOYMENT, Env};

#[test]
fn malformed_oversized_and_unknown_input_is_refused() {
    let env = Env::new();
    let junk = env.write("junk.json", "{not json");
    let e = env.fails(&[
        "create",
        "--raw",
        "/api/v1/namespaces/default/configmaps",
        "-f",
        junk.to_str().unwrap(),
    ]);
    assert!(e.contains("error decoding body"), "{e}");

    let big = format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"big\"}},\"data\":{{\"x\":\"{}\"}}}}",
        "a".repeat(3 * 1024 * 1024 + 10)
    );
    let big = env.write("big.json", &big);
    let e = env.fails(&[
        "create",
        "--raw",
        "/api/v1/namespaces/default/configmaps",
        "-f",
        big.to_str().unwrap(),
    ]);
    assert!(e.contains("too large"), "{e}");

    let unknown = env.write(
        "d.yaml",
        &DEPLOYMENT.replace("  replicas: 2", "  replicas: 2\n  replicaz: 3"),
    );
    let out = env.apply_file(&unknown, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown field \"spec.replicaz\""), "{err}");

    let wrong_kind = env.write(
        "wk.json",
        r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"}}"#,
    );
    let e = env.fails(&[
        "create",
        "--raw",
        "/api/v1/namespaces/default/configmaps",
        "-f",
        wrong_kind.to_str().unwrap(),
    ]);
    assert!(e.contains("does not match the expected API version"), "{e}");

    let e = env.fails(&["get", "--raw", "/apis/example.com/v1/widgets"]);
    assert!(
        e.contains("NotFound") || e.contains("could not find"),
        "{e}"
    );
    // Nothing half-written.
    assert_eq!(env.ok(&["get", "cm", "-o", "name"]).trim(), "");
}

#[test]
fn status_and_scale_subresources() {
    // Without controllers, so only the test writes status.
    let env = Env::with(trellis_localcluster::ServeOptions {
        simulate: false,
        ..Default::default()
    });
    let f = env.write("d.yaml", DEPLOYMENT);
    assert!(env.apply_file(&f, &[]).status.success());
    env.ok(&[
        "patch",
        "deployment",
        "web",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"replicas":2,"readyReplicas":1}}"#,
    ]);
    let d = env.json(&["get", "deployment", "web"]);
    assert_eq!(d["status"]["readyReplicas"], 1);
    assert_eq!(
        d["metadata"]["generation"], 1,
        "status writes do not bump generation"
    );
    // A status change sent to the main resource is ignored.
    env.ok(&[
        "patch",
        "deployment",
        "web",
        "--type=merge",
        "-p",
        r#"{"status":{"readyReplicas":7}}"#,
    ]);
    assert_eq!(
        env.json(&["get", "deployment", "web"])["status"]["readyReplicas"],
        1
    );

    env.ok(&["scale", "deployment", "web", "--replicas=4"]);
    let d = env.json(&["get", "deployment", "web"]);
    assert_eq!(d["spec"]["replicas"], 4);
    assert_eq!(d["metadata"]["generation"], 2);
    let scale: serde_json::Value = serde_json::from_str(&env.ok(&[
        "get",
        "--raw",
        "/apis/apps/v1/namespaces/default/deployments/web/scale",
    ]))
    .unwrap();
    assert_eq!(scale["spec"]["replicas"], 4);
    assert_eq!(scale["status"]["selector"], "app=web");
}

#[test]
fn deletecollection_and_all_namespaces() {
    let env = Env::new();
    let f = env.write("ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: team, labels: {x: \"1\"}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: team}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {x: \"1\"}}\n");
    env.ok(&["create", "-f", f.to_str().unwrap()]);
    let all = env.ok(&["get", "cm", "-A", "-o", "name"]);
    assert_eq!(all.lines().count(), 3, "{all}");
    let ns = env.json(&["get", "ns", "team"]);
    assert_eq!(
        ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "team"
    );
    assert_eq!(ns["status"]["phase"], "Active");
    env.ok(&[
        "delete",
        "--raw",
        "/api/v1/namespaces/team/configmaps?labelSelector=x%3D1",
    ]);
    assert_eq!(
        env.ok(&["get", "cm", "-n", "team", "-o", "name"]).trim(),
        "configmap/b"
    );
    let deletes: Vec<_> = env
        .audit()
        .entries()
        .into_iter()
        .filter(|e| e.verb == "deletecollection")
        .collect();
    assert_eq!(deletes.len(), 1);
    // Deleting the namespace removes its content.
    env.ok(&["delete", "ns", "team"]);
    assert_eq!(
        env.ok(&["get", "cm", "-A", "-o", "name"]).trim(),
        "configmap/c"
    );
    assert_eq!(
        env.json(&["get", "cm", "c"])["metadata"]["labels"],
        json!({"x": "1"})
    );
}

#[test]
fn labels_are_validated_and_generate_name_works() {
    let env = Env::new();
    let long = "x".repeat(64);
    let f = env.write(
        "cm.yaml",
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, labels: {{track: {long}}}}}\n"
        ),
    );
    let e = env.fails(&["create", "-f", f.to_str().unwrap()]);
    assert!(
        e.contains("metadata.labels") && e.contains("must be no more than 63 characters"),
        "{e}"
    );
    let g = env.write(
        "g.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: gen-}\n",
    );
    let out = env.ok(&["create", "-f", g.to_str().unwrap(), "-o", "name"]);
    assert!(
        out.trim().starts_with("configmap/gen-") && out.trim().len() == "configmap/gen-".len() + 5,
        "{out}"
    );
    // kubectl wait --for=delete follows a watch on one name.
    let c = env.write(
        "c.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: short-lived}\n",
    );
    env.ok(&["create", "-f", c.to_str().unwrap()]);
    let mut waiter = env
        .cmd()
        .args([
            "wait",
            "--for=delete",
            "configmap/short-lived",
            "--timeout=2s",
        ])
        .spawn()
        .unwrap();
    env.ok(&["delete", "configmap", "short-lived", "--wait=false"]);
    assert!(waiter.wait().unwrap().success());
}
