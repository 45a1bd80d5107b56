//! Garbage collection by ownerReferences (background, foreground, orphan) and namespace
//! termination, driven by kubectl.

use serde_json::Value;

use crate::support::{DEPLOYMENT, Env, eventually};

fn count(env: &Env, args: &[&str]) -> usize {
    let mut a = args.to_vec();
    a.extend(["-o", "name"]);
    env.ok(&a).lines().filter(|l| !l.trim().is_empty()).count()
}

fn running_deployment(env: &Env) {
    let f = env.write("d.yaml", DEPLOYMENT);
    assert!(env.apply_file(&f, &[]).status.success());
    env.ok(&["rollout", "status", "deployment/web", "--timeout=2s"]);
    assert_eq!(count(env, &["get", "pods"]), 2);
}

#[test]
fn deleting_a_deployment_collects_replica_sets_and_pods() {
    let env = Env::new();
    running_deployment(&env);
    // kubectl's default: background propagation.
    env.ok(&["delete", "deployment", "web", "--timeout=2s"]);
    eventually(|| (count(&env, &["get", "replicasets,pods"]) == 0).then_some(()));
    let gc: Vec<_> = env
        .audit()
        .entries()
        .into_iter()
        .filter(|e| e.internal() && e.verb == "delete" && e.resource == "replicasets")
        .collect();
    assert_eq!(gc.len(), 1, "{gc:?}");
}

#[test]
fn foreground_deletion_waits_for_dependents() {
    let env = Env::new();
    running_deployment(&env);
    // kubectl waits until the deployment is gone, which is only after its dependents.
    env.ok(&[
        "delete",
        "deployment",
        "web",
        "--cascade=foreground",
        "--timeout=2s",
    ]);
    assert_eq!(count(&env, &["get", "deployments,replicasets,pods"]), 0);

    // A blocking dependent with a finalizer holds its owner in foreground deletion.
    let f = env.write(
        "owner.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: owner}\n",
    );
    env.ok(&["create", "-f", f.to_str().unwrap()]);
    let uid = env.json(&["get", "cm", "owner"])["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_owned();
    let dep = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dep\n  finalizers: [example.com/hold]\n  ownerReferences: [{{apiVersion: v1, kind: ConfigMap, name: owner, uid: {uid}, blockOwnerDeletion: true}}]\n"
    );
    let f = env.write("dep.yaml", &dep);
    env.ok(&["create", "-f", f.to_str().unwrap()]);
    env.ok(&[
        "delete",
        "cm",
        "owner",
        "--cascade=foreground",
        "--wait=false",
    ]);
    let owner = env.json(&["get", "cm", "owner"]);
    assert!(owner["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(owner["metadata"]["finalizers"][0], "foregroundDeletion");
    eventually(|| {
        env.json(&["get", "cm", "dep"])["metadata"]["deletionTimestamp"]
            .is_string()
            .then_some(())
    });
    env.ok(&[
        "patch",
        "cm",
        "dep",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    env.ok(&["wait", "--for=delete", "cm/owner", "--timeout=2s"]);
}

#[test]
fn orphan_deletion_releases_dependents() {
    let env = Env::new();
    running_deployment(&env);
    env.ok(&[
        "delete",
        "deployment",
        "web",
        "--cascade=orphan",
        "--timeout=2s",
    ]);
    let rs = env.json(&["get", "replicasets"]);
    let rs: &Value = &rs["items"][0];
    assert!(rs["metadata"]["ownerReferences"].is_null(), "{rs}");
    assert_eq!(count(&env, &["get", "pods"]), 2);
    // The released ReplicaSet still owns its pods.
    let name = rs["metadata"]["name"].as_str().unwrap();
    env.ok(&["delete", "rs", name, "--timeout=2s"]);
    eventually(|| (count(&env, &["get", "pods"]) == 0).then_some(()));
}

#[test]
fn deleting_a_namespace_terminates_it_until_its_content_is_gone() {
    let env = Env::new();
    let f = env.write(
        "ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n",
    );
    env.ok(&["create", "-f", f.to_str().unwrap()]);
    let f = env.write("d.yaml", DEPLOYMENT);
    assert!(env.apply_file(&f, &["-n", "team"]).status.success());
    env.ok(&[
        "rollout",
        "status",
        "deployment/web",
        "-n",
        "team",
        "--timeout=2s",
    ]);
    let f = env.write(
        "held.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, namespace: team, finalizers: [example.com/hold]}\n",
    );
    env.ok(&["create", "-f", f.to_str().unwrap()]);
    env.ok(&["delete", "namespace", "team", "--wait=false"]);
    let ns = env.json(&["get", "namespace", "team"]);
    assert_eq!(ns["status"]["phase"], "Terminating");
    assert!(ns["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(ns["spec"]["finalizers"][0], "kubernetes");
    // Everything without a finalizer goes; the held object keeps the namespace.
    eventually(|| {
        (count(&env, &["get", "deployments,replicasets,pods", "-n", "team"]) == 0).then_some(())
    });
    eventually(|| {
        let ns = env.json(&["get", "namespace", "team"]);
        (ns["status"]["conditions"][0]["reason"] == "SomeResourcesRemain").then_some(())
    });
    let f = env.write(
        "new.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: new, namespace: team}\n",
    );
    let e = env.fails(&["create", "-f", f.to_str().unwrap()]);
    assert!(
        e.contains("being terminated") || e.contains("Forbidden") || e.contains("forbidden"),
        "{e}"
    );
    env.ok(&[
        "patch",
        "cm",
        "held",
        "-n",
        "team",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    env.ok(&["wait", "--for=delete", "namespace/team", "--timeout=2s"]);
}

#[test]
fn propagation_policy_in_the_query_and_bad_policies() {
    let env = Env::new();
    running_deployment(&env);
    let addr = env.cluster.as_ref().unwrap().addr();
    let path = "/apis/apps/v1/namespaces/default/deployments/web";
    let r = crate::http::request(
        addr,
        "DELETE",
        &format!("{path}?propagationPolicy=Sideways"),
        "",
        "",
    );
    assert_eq!(r.status, 422);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("propagationPolicy")
    );
    let r = crate::http::request(
        addr,
        "DELETE",
        &format!("{path}?propagationPolicy=Orphan"),
        "",
        "",
    );
    assert!(r.status == 200 || r.status == 202, "{}", r.status);
    env.ok(&["wait", "--for=delete", "deployment/web", "--timeout=2s"]);
    let rs = env.json(&["get", "replicasets"]);
    assert!(
        rs["items"][0]["metadata"]["ownerReferences"].is_null(),
        "{rs}"
    );
    assert_eq!(count(&env, &["get", "pods"]), 2);
}

#[test]
fn a_restarted_cluster_resumes_namespace_termination() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("c.db");
    let opts = || trellis_localcluster::ServeOptions {
        data: Some(data.clone()),
        ..Default::default()
    };
    {
        let env = Env::with(opts());
        let f = env.write(
            "all.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, namespace: team, finalizers: [example.com/hold]}\n",
        );
        env.ok(&["apply", "--server-side", "-f", f.to_str().unwrap()]);
        env.ok(&["delete", "namespace", "team", "--wait=false"]);
        assert_eq!(
            env.json(&["get", "namespace", "team"])["status"]["phase"],
            "Terminating"
        );
    }
    let env = Env::with(opts());
    assert_eq!(
        env.json(&["get", "namespace", "team"])["status"]["phase"],
        "Terminating"
    );
    env.ok(&[
        "patch",
        "cm",
        "held",
        "-n",
        "team",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    env.ok(&["wait", "--for=delete", "namespace/team", "--timeout=2s"]);
}
