//! Resource trees, live and desired manifests, diffs (with Secret values
//! never shown), events and history.

use serde_json::{Value, json};
use trellis_engine::{Engine, EngineOptions};
use trellis_kube::ApplyOptions;
use trellis_model::{Application, Origin};

use crate::support::{Env, NS, key};

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.0
";

const CONFIGMAP: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  colour: blue
";

/// `hunter2` and `s3cr3t-value`, base64.
const SECRET: &str = "apiVersion: v1
kind: Secret
metadata:
  name: credentials
data:
  password: aHVudGVyMg==
stringData:
  token: s3cr3t-value
";

/// Every form the Secret's values could leak in.
const LEAKS: &[&str] = &[
    "aHVudGVyMg",
    "hunter2",
    "s3cr3t-value",
    "czNjcjN0LXZhbHVl",
    "b3RoZXItcGFzcw",
    "other-pass",
];

/// Deploys the application `web` as the controller would: renders it,
/// applies its resources with tracking, and records them in its status.
fn deployed(env: &Env) -> Value {
    env.repo.write("app/deployment.yaml", DEPLOYMENT);
    env.repo.write("app/configmap.yaml", CONFIGMAP);
    env.repo.write("app/secret.yaml", SECRET);
    env.repo.commit_all("app");
    let object = env.create_app("web", "shop", json!({}));
    let app = Application::from_value(&object, &Origin::default())
        .unwrap()
        .value;
    let sources = trellis_source::Sources::new(trellis_source::SourceConfig::new(
        env.dir.path().join("deploy-cache"),
    ))
    .unwrap();
    let rendered = trellis_render::AppRenderer::new(sources)
        .render(&app)
        .unwrap();
    let engine = Engine::new(env.client.clone(), EngineOptions::default());
    let prepared = env
        .rt
        .block_on(engine.prepare(&app, &rendered.manifests))
        .unwrap();
    let mut resources = Vec::new();
    for (k, desired) in &prepared.resources {
        env.rt
            .block_on(env.client.apply(desired, &ApplyOptions::default()))
            .unwrap();
        let version = desired["apiVersion"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap();
        resources.push(json!({
            "group": k.group, "version": version, "kind": k.kind,
            "namespace": k.namespace, "name": k.name, "status": "Synced",
            "health": {"status": "Healthy"},
        }));
    }
    env.set_status(
        "web",
        json!({"resources": resources, "sync": {"status": "Synced"}, "health": {"status": "Healthy"}}),
    );
    env.wait_listed("web", |a| a["resources"] == 3);
    object
}

fn no_leak(text: &str) {
    for secret in LEAKS {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}

#[test]
fn the_tree_shows_what_deployments_own() {
    let env = Env::new();
    deployed(&env);
    let path = "/api/v1/applications/trellis/web/tree";
    env.wait("the Deployment's ReplicaSet and Pod", |env| {
        let tree = env.as_admin("GET", path, "").json();
        tree["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "Pod")
    });
    let tree = env.as_admin("GET", path, "");
    no_leak(&tree.body);
    let nodes = tree.json()["nodes"].as_array().unwrap().clone();
    let find = |kind: &str| nodes.iter().find(|n| n["kind"] == kind).unwrap().clone();
    let deployment = find("Deployment");
    assert_eq!(deployment["managed"], true);
    assert_eq!(deployment["parent"], Value::Null);
    assert_eq!(deployment["images"][0], "registry.example.com/web:1.0");
    let replica_set = find("ReplicaSet");
    assert_eq!(replica_set["managed"], false);
    assert_eq!(replica_set["parent"]["kind"], "Deployment");
    assert_eq!(replica_set["parent"]["name"], "web");
    let pod = find("Pod");
    assert_eq!(pod["parent"]["kind"], "ReplicaSet");
    assert_eq!(pod["parent"]["name"], replica_set["name"]);
    assert!(pod["uid"].as_str().is_some_and(|u| !u.is_empty()));
    for kind in ["ConfigMap", "Secret"] {
        assert_eq!(find(kind)["managed"], true);
    }

    // A resource it owns: live only.
    let pod_name = pod["name"].as_str().unwrap();
    let resp = env.as_admin(
        "GET",
        &format!(
            "/api/v1/applications/trellis/web/resource?resourceKind=Pod&resourceNamespace=default&resourceName={pod_name}"
        ),
        "",
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    let body = resp.json();
    assert_eq!(body["live"]["metadata"]["name"], pod_name);
    assert_eq!(body["desired"], Value::Null);
    assert!(body["live"].pointer("/metadata/managedFields").is_none());
    let resp = env.as_admin(
        "GET",
        &format!(
            "/api/v1/applications/trellis/web/resource?resourceKind=Pod&resourceNamespace=default&resourceName={pod_name}&format=yaml"
        ),
        "",
    );
    let body = resp.json();
    let live = body["liveYaml"].as_str().unwrap();
    assert!(live.contains(&format!("  name: {pod_name}\n")), "{live}");
    assert_eq!(body["desiredYaml"], Value::Null);
}

#[test]
fn live_and_desired_manifests_and_diffs_never_show_secret_values() {
    let env = Env::new();
    deployed(&env);
    // Drift: someone edits the ConfigMap and the Secret.
    env.rt
        .block_on(env.client.merge_patch(
            &key("", "ConfigMap", "default", "settings"),
            &json!({"data": {"colour": "red"}}),
            false,
        ))
        .unwrap();
    env.rt
        .block_on(env.client.merge_patch(
            &key("", "Secret", "default", "credentials"),
            &json!({"data": {"password": "b3RoZXItcGFzcw=="}}),
            false,
        ))
        .unwrap();

    let resource = |kind: &str, name: &str| {
        let resp = env.as_admin(
            "GET",
            &format!(
                "/api/v1/applications/trellis/web/resource?resourceKind={kind}&resourceNamespace=default&resourceName={name}"
            ),
            "",
        );
        assert_eq!(resp.status, 200, "{}", resp.body);
        no_leak(&resp.body);
        resp.json()
    };
    let cm = resource("ConfigMap", "settings");
    assert_eq!(cm["status"], "OutOfSync");
    assert_eq!(cm["live"]["data"]["colour"], "red");
    assert_eq!(cm["desired"]["data"]["colour"], "blue");
    let diff = cm["diff"].as_str().unwrap();
    assert!(diff.contains("-  colour: red\n+  colour: blue"), "{diff}");

    let secret = resource("Secret", "credentials");
    assert_eq!(secret["status"], "OutOfSync");
    assert_eq!(secret["live"]["data"]["password"], "++++++++");
    assert_eq!(secret["desired"]["stringData"]["token"], "++++++++");
    assert!(
        secret["diff"]
            .as_str()
            .unwrap()
            .contains("password: ++++++++")
    );

    // As YAML text too, for reading: the same masked values.
    let as_yaml = |kind: &str, name: &str| {
        let resp = env.as_admin(
            "GET",
            &format!(
                "/api/v1/applications/trellis/web/resource?resourceKind={kind}&resourceNamespace=default&resourceName={name}&format=yaml"
            ),
            "",
        );
        assert_eq!(resp.status, 200, "{}", resp.body);
        no_leak(&resp.body);
        resp.json()
    };
    let cm = as_yaml("ConfigMap", "settings");
    let live = cm["liveYaml"].as_str().unwrap();
    assert!(live.starts_with("apiVersion: v1\n"), "{live}");
    assert!(live.contains("\n  colour: red\n"), "{live}");
    assert!(!live.contains("managedFields"), "{live}");
    let desired = cm["desiredYaml"].as_str().unwrap();
    assert!(desired.contains("\n  colour: blue\n"), "{desired}");
    assert_eq!(cm["live"]["data"]["colour"], "red", "the JSON stays");
    let secret = as_yaml("Secret", "credentials");
    let live = secret["liveYaml"].as_str().unwrap();
    assert!(live.contains("password: ++++++++"), "{live}");
    assert!(!live.contains("last-applied"), "{live}");
    assert!(
        secret["desiredYaml"]
            .as_str()
            .unwrap()
            .contains("token: ++++++++")
    );
    // Without format=yaml there is no YAML; an unknown format is refused.
    assert!(resource("ConfigMap", "settings").get("liveYaml").is_none());
    env.as_admin(
        "GET",
        "/api/v1/applications/trellis/web/resource?resourceKind=ConfigMap&resourceNamespace=default&resourceName=settings&format=toml",
        "",
    )
    .assert_error(400, "expected json or yaml");

    let all = env.as_admin("GET", "/api/v1/applications/trellis/web/diff", "");
    assert_eq!(all.status, 200, "{}", all.body);
    no_leak(&all.body);
    let all = all.json();
    assert_eq!(all["sync"], "OutOfSync");
    let statuses: Vec<(String, String)> = all["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        statuses.contains(&("ConfigMap".into(), "OutOfSync".into())),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&("Deployment".into(), "Synced".into())),
        "{statuses:?}"
    );

    // The Application object and the list do not carry them either.
    no_leak(
        &env.as_admin("GET", "/api/v1/applications/trellis/web", "")
            .body,
    );
    no_leak(&env.as_admin("GET", "/api/v1/applications", "").body);

    // Something that is not the application's.
    env.apply(&json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "stranger", "namespace": "default"}, "data": {"a": "b"}}));
    env.as_admin(
        "GET",
        "/api/v1/applications/trellis/web/resource?resourceKind=ConfigMap&resourceNamespace=default&resourceName=stranger",
        "",
    )
    .assert_error(404, "is not a resource of application trellis/web");
    env.as_admin(
        "GET",
        "/api/v1/applications/trellis/web/resource?resourceKind=ConfigMap",
        "",
    )
    .assert_error(400, "resourceName");
}

#[test]
fn an_application_on_an_unknown_cluster_is_refused_naming_it() {
    let env = Env::new();
    env.create_app("remote", "shop", json!({}));
    env.rt
        .block_on(env.client.merge_patch(
            &key("trellis.dev", "Application", NS, "remote"),
            &json!({"spec": {"destination": {"server": "https://far.example.com"}}}),
            false,
        ))
        .unwrap();
    env.wait_listed("remote", |a| {
        a["destination"]["server"] == "https://far.example.com"
    });
    // No cluster Secret describes it: a conflict naming the server.
    for path in ["diff", "tree"] {
        env.as_admin(
            "GET",
            &format!("/api/v1/applications/trellis/remote/{path}"),
            "",
        )
        .assert_error(409, "cluster https://far.example.com is not known");
    }
}

#[test]
fn a_failing_render_is_reported_not_hidden() {
    let env = Env::new();
    env.repo.write("app/broken.yaml", "kind: [unclosed\n");
    env.repo.commit_all("broken");
    env.create_app("web", "shop", json!({}));
    env.wait_listed("web", |_| true);
    let resp = env.as_admin("GET", "/api/v1/applications/trellis/web/diff", "");
    assert_eq!(resp.status, 200, "{}", resp.body);
    let body = resp.json();
    assert_eq!(body["sync"], "Unknown");
    let error = body["renderError"].as_str().unwrap();
    assert!(error.contains("broken.yaml"), "{error}");
}

#[test]
fn events_of_the_application_newest_first() {
    let env = Env::new();
    let web = env.create_app("web", "shop", json!({}));
    env.create_app("db", "shop", json!({}));
    env.wait_listed("web", |_| true);
    let event = |name: &str, app: &str, reason: &str, at: &str| {
        env.apply(&json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": NS},
            "involvedObject": {"apiVersion": "trellis.dev/v1alpha1", "kind": "Application",
                "name": app, "namespace": NS, "uid": web["metadata"]["uid"]},
            "reason": reason, "message": format!("{reason} of {app}"), "type": "Normal",
            "count": 1, "firstTimestamp": at, "lastTimestamp": at,
            "source": {"component": "trellis-controller"},
        }));
    };
    event("web.1", "web", "SyncStarted", "2026-01-01T00:00:00Z");
    event("web.2", "web", "SyncSucceeded", "2026-01-01T00:01:00Z");
    event("db.1", "db", "SyncFailed", "2026-01-01T00:02:00Z");
    let resp = env.as_admin("GET", "/api/v1/applications/trellis/web/events", "");
    assert_eq!(resp.status, 200, "{}", resp.body);
    let body = resp.json();
    let reasons: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["SyncSucceeded", "SyncStarted"]);
    assert_eq!(body["items"][0]["source"], "trellis-controller");
    env.as_admin(
        "GET",
        "/api/v1/applications/trellis/web/events?resourceKind=ConfigMap&resourceName=x",
        "",
    )
    .assert_error(404, "not a managed resource");
    env.as_admin(
        "GET",
        "/api/v1/applications/trellis/web/events?resourceKind=ConfigMap",
        "",
    )
    .assert_error(400, "go together");
}

#[test]
fn diffs_render_the_commit_the_status_was_compared_at() {
    let env = Env::new();
    deployed(&env);
    let first = env.repo.head();
    let repo = env.repo.url();
    let compared = |revision: &str| {
        json!({"sync": {"status": "Synced", "revision": revision,
            "comparedTo": {"source": {"repoURL": repo, "path": "app", "targetRevision": "HEAD"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"}}}})
    };
    env.set_status("web", compared(&first));
    env.wait_listed("web", |a| a["sync"]["revision"] == json!(first));
    let path = "/api/v1/applications/trellis/web/diff";
    let diff_of_deployment = |env: &Env| {
        let report = env.as_admin("GET", path, "").json();
        report["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == "Deployment")
            .unwrap()
            .clone()
    };
    // The server resolves the branch once, now.
    assert_eq!(diff_of_deployment(&env)["status"], "Synced");

    // A new commit: until the controller has compared it, the diff is the
    // one of the compared commit, the same as the status says.
    env.repo.write(
        "app/deployment.yaml",
        &DEPLOYMENT.replace("web:1.0", "web:2.0"),
    );
    let second = env.repo.commit_all("web 2.0");
    assert_eq!(diff_of_deployment(&env)["status"], "Synced");
    // Once the status names the new commit, the diff shows the change, even
    // though this server had resolved the branch to the first commit.
    env.set_status("web", compared(&second));
    env.wait_listed("web", |a| a["sync"]["revision"] == json!(second));
    let deployment = diff_of_deployment(&env);
    assert_eq!(deployment["status"], "OutOfSync", "{deployment:#}");
    let text = deployment["diff"].to_string();
    assert!(text.contains("web:2.0"), "{text}");
}
