//! Argo CD's labelled Secrets in the server's namespace: a cluster Secret
//! makes a second embedded cluster a destination whose trees, manifests and
//! diffs are read from it (by server URL and by cluster name); a repository
//! Secret lets the server render from a private repository served over
//! HTTP with basic authentication. Credentials never show in an answer.

use base64::Engine as _;
use serde_json::{Value, json};
use trellis_engine::{Engine, EngineOptions};
use trellis_kube::{ApplyOptions, Cluster, ConnectOptions};
use trellis_localcluster::{RunningCluster, ServeOptions};
use trellis_model::{Application, Origin};
use trellis_testkit::{GitRepo, git_in};

use crate::support::{Env, NS, key};
use trellis_testkit::git_http::GitHttpServer;

const CONFIGMAP: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  colour: blue
";

const TOKEN: &str = "remote-bearer-token-8c1f";
const USER: &str = "deployer";
const PASSWORD: &str = "pr1vate-Repo-pa55";

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// A Secret labelled with Argo CD's secret type, its entries base64 in
/// `data` as Argo CD's documentation writes them.
fn labelled_secret(name: &str, kind: &str, entries: &[(&str, &str)]) -> Value {
    let data: serde_json::Map<String, Value> = entries
        .iter()
        .map(|(k, v)| (k.to_string(), json!(b64(v))))
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": NS,
            "labels": {"argocd.argoproj.io/secret-type": kind},
        },
        "type": "Opaque",
        "data": data,
    })
}

fn connect(env: &Env, cluster: &RunningCluster, name: &str) -> Cluster {
    let path = env.dir.path().join(name);
    cluster.write_kubeconfig(&path).unwrap();
    env.rt
        .block_on(Cluster::connect(&ConnectOptions {
            kubeconfig: Some(path),
            context: None,
        }))
        .unwrap()
}

/// Deploys `object` to `cluster` as the controller would: renders it,
/// applies its resources with tracking, records them in its status.
fn deploy(env: &Env, cluster: &Cluster, object: &Value) {
    let app = Application::from_value(object, &Origin::default())
        .unwrap()
        .value;
    let sources = trellis_source::Sources::new(trellis_source::SourceConfig::new(
        env.dir.path().join("deploy-cache"),
    ))
    .unwrap();
    let rendered = trellis_render::AppRenderer::new(sources)
        .render(&app)
        .unwrap();
    let engine = Engine::new(cluster.clone(), EngineOptions::default());
    let prepared = env
        .rt
        .block_on(engine.prepare(&app, &rendered.manifests))
        .unwrap();
    let mut resources = Vec::new();
    for (k, desired) in &prepared.resources {
        env.rt
            .block_on(cluster.apply(desired, &ApplyOptions::default()))
            .unwrap();
        resources.push(json!({
            "group": k.group, "version": "v1", "kind": k.kind,
            "namespace": k.namespace, "name": k.name, "status": "Synced",
            "health": {"status": "Healthy"},
        }));
    }
    let name = object["metadata"]["name"].as_str().unwrap();
    env.set_status(
        name,
        json!({"resources": resources, "sync": {"status": "Synced"}, "health": {"status": "Healthy"}}),
    );
    env.wait_listed(name, |a| a["resources"] == 1);
}

/// Every answer body, checked for leaked credentials at the end.
#[derive(Default)]
struct Seen(Vec<String>);

impl Seen {
    fn get(&mut self, env: &Env, path: &str) -> crate::support::Resp {
        let resp = env.as_admin("GET", path, "");
        self.0.push(resp.body.clone());
        resp
    }

    fn assert_none_contains(&self, secret: &str) {
        for body in &self.0 {
            assert!(!body.contains(secret), "{secret} leaked: {body}");
            assert!(!body.contains(&b64(secret)), "{secret} leaked: {body}");
        }
    }
}

#[test]
fn another_cluster_is_read_through_its_cluster_secret_by_server_and_by_name() {
    let env = Env::new();
    let remote = env
        .rt
        .block_on(trellis_localcluster::start(ServeOptions::default()))
        .unwrap();
    let remote_client = connect(&env, &remote, "remote-kubeconfig");
    env.repo.write("app/configmap.yaml", CONFIGMAP);
    env.repo.commit_all("app");
    let mut object = crate::support::app("far", "shop", json!({}), &env.repo.url());
    object["spec"]["destination"] = json!({"server": remote.url(), "namespace": "default"});
    env.apply(&object);
    deploy(&env, &remote_client, &object);
    let mut seen = Seen::default();
    let diff = "/api/v1/applications/trellis/far/diff";
    let tree = "/api/v1/applications/trellis/far/tree";
    let resource = "/api/v1/applications/trellis/far/resource?resourceKind=ConfigMap&resourceNamespace=default&resourceName=settings";

    // No cluster Secret yet: refused, naming the destination.
    for path in [diff, tree, resource] {
        seen.get(&env, path).assert_error(409, &remote.url());
    }

    // The Secret arrives while the server runs.
    env.apply(&labelled_secret(
        "cluster-remote",
        "cluster",
        &[
            ("name", "remote"),
            ("server", &remote.url()),
            ("config", &json!({"bearerToken": TOKEN}).to_string()),
        ],
    ));
    env.wait("the cluster secret to be read", |env| {
        env.as_admin("GET", diff, "").status == 200
    });
    let body = seen.get(&env, diff).json();
    assert_eq!(body["sync"], "Synced", "{body}");
    assert_eq!(body["resources"][0]["kind"], "ConfigMap");
    assert_eq!(body["resources"][0]["status"], "Synced");

    // The tree's live object is the remote one (the in-cluster destination
    // has no such ConfigMap).
    let remote_uid = env
        .rt
        .block_on(remote_client.get(&key("", "ConfigMap", "default", "settings")))
        .unwrap()
        .unwrap()["metadata"]["uid"]
        .clone();
    assert_eq!(env.get("", "ConfigMap", "default", "settings"), None);
    let nodes = seen.get(&env, tree).json()["nodes"].clone();
    assert_eq!(nodes[0]["kind"], "ConfigMap", "{nodes}");
    assert_eq!(nodes[0]["uid"], remote_uid);

    // Drift on the remote cluster shows in the diff and the manifests.
    env.rt
        .block_on(remote_client.merge_patch(
            &key("", "ConfigMap", "default", "settings"),
            &json!({"data": {"colour": "red"}}),
            false,
        ))
        .unwrap();
    env.wait("the drift", |env| {
        env.as_admin("GET", diff, "").json()["sync"] == "OutOfSync"
    });
    let body = seen.get(&env, resource).json();
    assert_eq!(body["live"]["data"]["colour"], "red", "{body}");
    assert_eq!(body["desired"]["data"]["colour"], "blue", "{body}");
    assert!(body["diff"].as_str().unwrap().contains("red"), "{body}");

    // The resource's events are the remote cluster's.
    env.rt
        .block_on(remote_client.apply(
            &json!({"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": "settings.remote", "namespace": "default"},
                "involvedObject": {"apiVersion": "v1", "kind": "ConfigMap",
                    "namespace": "default", "name": "settings"},
                "reason": "SeenRemotely", "message": "on the remote cluster", "type": "Normal"}),
            &trellis_kube::ApplyOptions::default(),
        ))
        .unwrap();
    let events = seen
        .get(
            &env,
            "/api/v1/applications/trellis/far/events?resourceKind=ConfigMap&resourceNamespace=default&resourceName=settings",
        )
        .json();
    assert_eq!(events["items"][0]["reason"], "SeenRemotely", "{events}");

    // By cluster name.
    env.rt
        .block_on(env.client.merge_patch(
            &key("trellis.dev", "Application", NS, "far"),
            &json!({"spec": {"destination": {"server": null, "name": "remote"}}}),
            false,
        ))
        .unwrap();
    env.wait_listed("far", |a| a["destination"]["name"] == "remote");
    let body = seen.get(&env, diff).json();
    assert_eq!(body["sync"], "OutOfSync", "{body}");
    let nodes = seen.get(&env, tree).json()["nodes"].clone();
    assert_eq!(nodes[0]["uid"], remote_uid, "{nodes}");
    let body = seen.get(&env, resource).json();
    assert_eq!(body["live"]["data"]["colour"], "red", "{body}");

    // A name no Secret gives: refused, naming it.
    env.rt
        .block_on(env.client.merge_patch(
            &key("trellis.dev", "Application", NS, "far"),
            &json!({"spec": {"destination": {"name": "nowhere"}}}),
            false,
        ))
        .unwrap();
    env.wait_listed("far", |a| a["destination"]["name"] == "nowhere");
    for path in [diff, tree, resource] {
        seen.get(&env, path).assert_error(409, "'nowhere'");
    }
    seen.assert_none_contains(TOKEN);
}

/// A private repository `private.git` holding the `app` directory, served
/// over HTTP with basic authentication.
fn private_repository(env: &Env) -> GitHttpServer {
    let work = GitRepo::new();
    work.write("app/configmap.yaml", CONFIGMAP);
    work.commit_all("app");
    let root = env.dir.path().join("served");
    std::fs::create_dir_all(&root).unwrap();
    git_in(
        &root,
        &[
            "clone",
            "--quiet",
            "--bare",
            work.path().to_str().unwrap(),
            "private.git",
        ],
    );
    GitHttpServer::start(&root, USER, PASSWORD)
}

#[test]
fn a_private_repository_renders_with_a_repository_secret() {
    let env = Env::new();
    let git = private_repository(&env);
    let url = git.url("private.git");
    env.apply(&crate::support::app("private", "shop", json!({}), &url));
    env.wait_listed("private", |_| true);
    let mut seen = Seen::default();
    let diff = "/api/v1/applications/trellis/private/diff";

    // Without credentials: the render fails, and says why.
    let resp = seen.get(&env, diff);
    assert_eq!(resp.status, 200, "{}", resp.body);
    let error = resp.json()["renderError"].as_str().unwrap().to_string();
    assert!(error.contains("authentication"), "{error}");
    assert!(error.contains(&url), "{error}");

    // A repository Secret, read while the server runs.
    env.apply(&labelled_secret(
        "repo-private",
        "repository",
        &[
            ("type", "git"),
            ("url", &url),
            ("username", USER),
            ("password", PASSWORD),
        ],
    ));
    env.wait("the repository secret to be read", |env| {
        env.as_admin("GET", diff, "").json()["renderError"].is_null()
    });
    let body = seen.get(&env, diff).json();
    let resources = body["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 1, "{body}");
    assert_eq!(resources[0]["kind"], "ConfigMap");
    assert_eq!(resources[0]["status"], "Missing", "{body}");
    assert_eq!(body["sync"], "OutOfSync", "{body}");
    // Recorded as managed (not yet deployed): its desired manifest comes
    // from the private repository.
    env.set_status(
        "private",
        json!({"resources": [{
            "group": "", "version": "v1", "kind": "ConfigMap",
            "namespace": "default", "name": "settings", "status": "OutOfSync",
        }]}),
    );
    env.wait_listed("private", |a| a["resources"] == 1);
    let path = "/api/v1/applications/trellis/private/resource?resourceKind=ConfigMap&resourceNamespace=default&resourceName=settings&format=yaml";
    let body = seen.get(&env, path).json();
    assert_eq!(body["live"], Value::Null, "{body}");
    assert_eq!(body["desired"]["data"]["colour"], "blue", "{body}");
    let app = seen.get(&env, "/api/v1/applications/trellis/private");
    assert_eq!(app.status, 200, "{}", app.body);
    seen.assert_none_contains(PASSWORD);
}

#[test]
fn repo_creds_cover_every_repository_under_their_prefix() {
    let env = Env::new();
    let git = private_repository(&env);
    env.apply(&labelled_secret(
        "creds-local",
        "repo-creds",
        &[
            ("url", &format!("http://127.0.0.1:{}/", git.port)),
            ("username", USER),
            ("password", PASSWORD),
        ],
    ));
    env.apply(&crate::support::app(
        "private",
        "shop",
        json!({}),
        &git.url("private.git"),
    ));
    env.wait_listed("private", |_| true);
    let mut seen = Seen::default();
    env.wait("the repo-creds secret to be read", |env| {
        env.as_admin("GET", "/api/v1/applications/trellis/private/diff", "")
            .json()["renderError"]
            .is_null()
    });
    let body = seen
        .get(&env, "/api/v1/applications/trellis/private/diff")
        .json();
    assert_eq!(body["resources"][0]["kind"], "ConfigMap", "{body}");
    seen.assert_none_contains(PASSWORD);
}
