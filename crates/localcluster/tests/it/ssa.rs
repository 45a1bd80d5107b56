//! Server-side apply, managedFields, conflicts, defaults, diff and dry-run with kubectl.

use serde_json::json;
use trellis_localcluster::{AdmissionRule, ServeOptions};

use crate::support::{DEPLOYMENT, Env};

#[test]
fn apply_records_manager_defaults_and_removes_dropped_fields() {
    let env = Env::new();
    let f = env.write("d.yaml", DEPLOYMENT);
    let out = env.apply_file(&f, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = env.json(&["get", "deployment", "web", "--show-managed-fields"]);
    let mf = &d["metadata"]["managedFields"][0];
    assert_eq!(mf["manager"], "kubectl");
    assert_eq!(mf["operation"], "Apply");
    assert_eq!(mf["fieldsV1"]["f:spec"]["f:replicas"], json!({}));
    // API defaults are present.
    assert_eq!(d["spec"]["strategy"]["type"], "RollingUpdate");
    assert_eq!(d["spec"]["progressDeadlineSeconds"], 600);
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(c["ports"][0]["protocol"], "TCP");
    assert_eq!(d["metadata"]["generation"], 1);

    // Re-applying without the `team` label removes it.
    let f2 = env.write("d2.yaml", &DEPLOYMENT.replace(", team: a", ""));
    assert!(env.apply_file(&f2, &[]).status.success());
    let d = env.json(&["get", "deployment", "web"]);
    assert_eq!(d["metadata"]["labels"], json!({"app": "web"}));
    assert_eq!(
        d["metadata"]["generation"], 1,
        "metadata changes do not bump generation"
    );

    // The audit log saw one apply patch by manager kubectl.
    let applies: Vec<_> = env
        .audit()
        .entries()
        .into_iter()
        .filter(|e| e.patch_type.as_deref() == Some("apply"))
        .collect();
    assert_eq!(applies.len(), 2);
    assert_eq!(applies[0].field_manager.as_deref(), Some("kubectl"));
    assert!(applies[0].user_agent.starts_with("kubectl"));
}

#[test]
fn conflicts_name_the_other_manager_and_force_takes_over() {
    let env = Env::new();
    let f = env.write("d.yaml", DEPLOYMENT);
    assert!(env.apply_file(&f, &[]).status.success());
    let changed = env.write("d3.yaml", &DEPLOYMENT.replace("replicas: 2", "replicas: 3"));
    let out = env.apply_file(&changed, &["--field-manager=deployer"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("conflict with \"kubectl\"") && err.contains(".spec.replicas"),
        "{err}"
    );
    let out = env.apply_file(&changed, &["--field-manager=deployer", "--force-conflicts"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = env.json(&["get", "deployment", "web", "--show-managed-fields"]);
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(d["metadata"]["generation"], 2);
    let owners: Vec<_> = d["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["fieldsV1"]["f:spec"].get("f:replicas").is_some())
        .map(|m| m["manager"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(owners, vec!["deployer".to_owned()]);
}

#[test]
fn diff_is_clean_after_apply_and_reports_a_change() {
    let env = Env::with(ServeOptions {
        admission: vec![AdmissionRule {
            kinds: vec!["Deployment".into()],
            add_labels: [("injected".to_owned(), "yes".to_owned())].into(),
            ..Default::default()
        }],
        ..Default::default()
    });
    let f = env.write("d.yaml", DEPLOYMENT);
    assert!(env.apply_file(&f, &[]).status.success());
    // The admission label is there although the manifest does not set it.
    let d = env.json(&["get", "deployment", "web"]);
    assert_eq!(d["metadata"]["labels"]["injected"], "yes");
    let clean = env.kubectl(&["diff", "--server-side", "-f", f.to_str().unwrap()]);
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&clean.stdout)
    );
    let changed = env.write("d3.yaml", &DEPLOYMENT.replace("nginx:1.25", "nginx:1.26"));
    let dirty = env.kubectl(&["diff", "--server-side", "-f", changed.to_str().unwrap()]);
    assert_eq!(
        dirty.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&dirty.stderr)
    );
    let text = String::from_utf8_lossy(&dirty.stdout);
    assert!(
        text.contains("+      - image: nginx:1.26") && text.contains("-      - image: nginx:1.25"),
        "{text}"
    );
    // The diff was a dry run: nothing changed.
    let d = env.json(&["get", "deployment", "web"]);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.25"
    );
    assert!(
        env.audit()
            .entries()
            .iter()
            .any(|e| e.dry_run && e.verb == "patch")
    );
}

#[test]
fn merge_json_and_strategic_patches() {
    let env = Env::new();
    let f = env.write("d.yaml", DEPLOYMENT);
    assert!(env.apply_file(&f, &[]).status.success());
    env.ok(&[
        "patch",
        "deployment",
        "web",
        "--type=strategic",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1"}]}}}}"#,
    ]);
    env.ok(&[
        "patch",
        "deployment",
        "web",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/replicas","value":5}]"#,
    ]);
    env.ok(&[
        "patch",
        "deployment",
        "web",
        "--type=merge",
        "-p",
        r#"{"metadata":{"annotations":{"a":"b"}}}"#,
    ]);
    let d = env.json(&["get", "deployment", "web", "--show-managed-fields"]);
    let names: Vec<_> = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("nginx"), json!("sidecar")]);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][1]["imagePullPolicy"],
        "IfNotPresent"
    );
    assert_eq!(d["spec"]["replicas"], 5);
    assert_eq!(d["metadata"]["annotations"]["a"], "b");
    assert!(
        d["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["manager"] == "kubectl-patch" && m["operation"] == "Update")
    );
}

#[test]
fn server_dry_run_persists_nothing() {
    let env = Env::new();
    let f = env.write("d.yaml", DEPLOYMENT);
    let out = env.apply_file(&f, &["--dry-run=server"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e = env.fails(&["get", "deployment", "web"]);
    assert!(e.contains("not found"), "{e}");
    let cm = env.write(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    );
    env.ok(&["create", "--dry-run=server", "-f", cm.to_str().unwrap()]);
    assert!(env.fails(&["get", "cm", "c"]).contains("not found"));
    let dry: Vec<_> = env
        .audit()
        .entries()
        .into_iter()
        .filter(|e| e.dry_run)
        .collect();
    assert_eq!(dry.len(), 2, "{dry:?}");
}

#[test]
fn an_apply_that_changes_nothing_is_not_a_write() {
    let env = Env::new();
    let f = env.write(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: same}\ndata: {a: b}\n",
    );
    assert!(env.apply_file(&f, &[]).status.success());
    let first = env.json(&["get", "configmap", "same"]);
    // The same apply again (a second later managedFields time would differ).
    assert!(env.apply_file(&f, &[]).status.success());
    let second = env.json(&["get", "configmap", "same"]);
    assert_eq!(
        first["metadata"]["resourceVersion"], second["metadata"]["resourceVersion"],
        "a no-op apply keeps the resourceVersion, as Kubernetes does"
    );
    // A real change is still a write.
    let g = env.write(
        "cm2.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: same}\ndata: {a: c}\n",
    );
    assert!(env.apply_file(&g, &[]).status.success());
    let third = env.json(&["get", "configmap", "same"]);
    assert_ne!(
        second["metadata"]["resourceVersion"],
        third["metadata"]["resourceVersion"]
    );
}
