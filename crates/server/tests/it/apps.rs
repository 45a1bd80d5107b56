//! Listing, reading, creating, editing and deleting applications.

use serde_json::{Value, json};

use crate::support::{Env, NS, app};

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn lists_filter_by_project_status_health_label_and_name() {
    let env = Env::new();
    env.create_app("web", "shop", json!({"team": "a", "tier": "front"}));
    env.create_app("db", "shop", json!({"team": "b"}));
    env.create_app("o1", "other", json!({"team": "a"}));
    env.set_status(
        "web",
        json!({"sync": {"status": "Synced", "revision": "abc"}, "health": {"status": "Healthy"}}),
    );
    env.set_status(
        "db",
        json!({"sync": {"status": "OutOfSync"}, "health": {"status": "Degraded", "message": "down"}}),
    );
    env.wait_listed("web", |a| a["health"]["status"] == "Healthy");
    env.wait_listed("db", |a| a["health"]["status"] == "Degraded");
    env.wait_listed("o1", |_| true);

    let list = |query: &str| {
        let resp = env.as_admin("GET", &format!("/api/v1/applications{query}"), "");
        assert_eq!(resp.status, 200, "{}", resp.body);
        names(&resp.json())
    };
    assert_eq!(list(""), ["db", "o1", "web"]);
    assert_eq!(list("?project=shop"), ["db", "web"]);
    assert_eq!(list("?project=shop,other&sync=Synced"), ["web"]);
    assert_eq!(list("?sync=Unknown"), ["o1"]);
    assert_eq!(list("?health=Degraded&health=Healthy"), ["db", "web"]);
    assert_eq!(list("?selector=team%3Da"), ["o1", "web"]);
    assert_eq!(list("?selector=team%3Da,tier"), ["web"]);
    assert_eq!(list("?selector=team!%3Da"), ["db"]);
    assert_eq!(list("?search=e"), ["web"]);
    assert_eq!(list("?namespace=elsewhere"), Vec::<String>::new());
    env.as_admin("GET", "/api/v1/applications?selector=%3Dx", "")
        .assert_error(400, "label selector");

    let all = env.as_admin("GET", "/api/v1/applications", "").json();
    assert_eq!(all["total"], 3);
    let web = &all["items"][2];
    assert_eq!(web["project"], "shop");
    assert_eq!(web["sync"]["revision"], "abc");
    assert_eq!(web["labels"]["tier"], "front");
    assert_eq!(web["group"], "trellis.dev");
    assert_eq!(web["source"]["path"], "app");
}

#[test]
fn get_answers_the_object_or_a_clear_404() {
    let env = Env::new();
    env.create_app("web", "shop", json!({}));
    env.wait_listed("web", |_| true);
    let resp = env.as_admin("GET", "/api/v1/applications/trellis/web", "");
    assert_eq!(resp.status, 200);
    let body = resp.json();
    assert_eq!(body["spec"]["project"], "shop");
    assert!(body.pointer("/metadata/managedFields").is_none());
    assert!(body.pointer("/metadata/resourceVersion").is_some());
    env.as_admin("GET", "/api/v1/applications/trellis/nope", "")
        .assert_error(404, "application trellis/nope not found");
    env.as_admin(
        "GET",
        "/api/v1/applications/trellis/web?group=argoproj.io",
        "",
    )
    .assert_error(404, "not found");
}

#[test]
fn create_from_a_form_or_pasted_yaml() {
    let env = Env::new();
    let form = app("from-form", "shop", json!({"team": "a"}), &env.repo.url());
    let resp = env.as_admin("POST", "/api/v1/applications", &form.to_string());
    assert_eq!(resp.status, 201, "{}", resp.body);
    assert_eq!(resp.json()["application"]["metadata"]["name"], "from-form");
    assert_eq!(
        env.app("from-form").unwrap()["metadata"]["labels"]["team"],
        "a"
    );
    env.wait_listed("from-form", |_| true);

    let yaml = format!(
        "apiVersion: trellis.dev/v1alpha1
kind: Application
metadata:
  name: from-yaml
spec:
  project: shop
  source:
    repoURL: {}
    path: app
    helmm: {{}}
  destination:
    server: https://kubernetes.default.svc
    namespace: default
",
        env.repo.url()
    );
    let resp = env.request(
        "POST",
        "/api/v1/applications",
        &[
            ("Authorization", &format!("Bearer {}", env.tokens.admin)),
            ("Content-Type", "application/yaml"),
        ],
        &yaml,
    );
    assert_eq!(resp.status, 201, "{}", resp.body);
    let warnings = resp.json()["warnings"].to_string();
    assert!(warnings.contains("spec.source.helmm"), "{warnings}");
    let stored = env.app("from-yaml").unwrap();
    assert_eq!(
        stored["metadata"]["namespace"], NS,
        "defaults to the controller's"
    );

    // The same name again.
    env.as_admin("POST", "/api/v1/applications", &form.to_string())
        .assert_error(409, "already exists");
}

#[test]
fn bad_input_is_refused_with_a_clear_message_and_nothing_stored() {
    let env = Env::new();
    let yaml = |text: &str| {
        env.request(
            "POST",
            "/api/v1/applications",
            &[
                ("Authorization", &format!("Bearer {}", env.tokens.admin)),
                ("Content-Type", "application/yaml"),
            ],
            text,
        )
    };
    let malformed = "apiVersion: trellis.dev/v1alpha1
kind: Application
metadata:
  name: broken
spec:
  project: [shop
";
    let resp = yaml(malformed);
    resp.assert_error(400, "request body:");
    let message = resp.json()["error"].as_str().unwrap().to_string();
    assert!(
        message.starts_with("request body:6:") || message.starts_with("request body:7:"),
        "the line is named: {message}"
    );

    let invalid = "apiVersion: trellis.dev/v1alpha1
kind: Application
metadata:
  name: Broken_Name
spec:
  project: shop
  destination: {server: https://kubernetes.default.svc}
";
    yaml(invalid).assert_error(400, "request body:1 (document 1)");
    yaml("kind: ConfigMap\napiVersion: v1\nmetadata: {name: x}\n").assert_error(400, "kind");
    yaml("").assert_error(400, "empty");
    yaml("a: 1\n---\nb: 2\n").assert_error(400, "");
    let two = format!(
        "{}\n---\n{}",
        serde_json::to_string(&app("one", "shop", json!({}), "r")).unwrap(),
        serde_json::to_string(&app("two", "shop", json!({}), "r")).unwrap()
    );
    yaml(&two).assert_error(400, "one Application at a time");
    env.as_admin("POST", "/api/v1/applications", "{\"apiVersion\": ")
        .assert_error(400, "request body:1:");
    env.request(
        "POST",
        "/api/v1/applications",
        &[
            ("Authorization", &format!("Bearer {}", env.tokens.admin)),
            ("Content-Type", "application/xml"),
        ],
        "<app/>",
    )
    .assert_error(415, "application/yaml");

    let mut elsewhere = app("misplaced", "shop", json!({}), "r");
    elsewhere["metadata"]["namespace"] = json!("elsewhere");
    env.as_admin("POST", "/api/v1/applications", &elsewhere.to_string())
        .assert_error(400, "metadata.namespace");
    env.as_admin(
        "POST",
        "/api/v1/applications",
        &app("orphan", "nowhere", json!({}), "r").to_string(),
    )
    .assert_error(400, "project 'nowhere' does not exist");
    let mut argo = app("argo", "shop", json!({}), "r");
    argo["apiVersion"] = json!("argoproj.io/v1alpha1");
    env.as_admin("POST", "/api/v1/applications", &argo.to_string())
        .assert_error(400, "serves trellis.dev/v1alpha1");

    let stored = env
        .rt
        .block_on(env.client.list("trellis.dev", "Application", NS, None))
        .unwrap();
    assert!(stored.is_empty(), "nothing half-saved: {stored:?}");
}

#[test]
fn edits_are_guarded_by_the_version_read() {
    let env = Env::new();
    env.create_app("web", "shop", json!({"team": "a"}));
    env.wait_listed("web", |_| true);
    let read = env
        .as_admin("GET", "/api/v1/applications/trellis/web", "")
        .json();
    let version = read["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();

    // Someone else changes it meanwhile.
    env.rt
        .block_on(env.client.merge_patch(
            &crate::support::key("trellis.dev", "Application", NS, "web"),
            &json!({"spec": {"source": {"path": "theirs"}}}),
            false,
        ))
        .unwrap();

    let mut mine = read.clone();
    mine["spec"]["source"]["path"] = json!("mine");
    let resp = env.as_admin("PUT", "/api/v1/applications/trellis/web", &mine.to_string());
    resp.assert_error(409, "was changed since it was read");
    assert_eq!(env.app("web").unwrap()["spec"]["source"]["path"], "theirs");

    // Edited again from the fresh version, it goes through.
    let fresh = env.app("web").unwrap();
    let mut mine = fresh.clone();
    mine["spec"]["source"]["path"] = json!("mine");
    mine["metadata"]["labels"] = json!({"team": "b"});
    let resp = env.as_admin("PUT", "/api/v1/applications/trellis/web", &mine.to_string());
    assert_eq!(resp.status, 200, "{}", resp.body);
    let stored = env.app("web").unwrap();
    assert_eq!(stored["spec"]["source"]["path"], "mine");
    assert_eq!(stored["metadata"]["labels"]["team"], "b");
    assert_ne!(stored["metadata"]["resourceVersion"], json!(version));

    // Without a version, with a malformed body, renamed, or into an unknown
    // project: refused, and nothing changes.
    let before = env.app("web").unwrap();
    let mut unversioned = before.clone();
    unversioned["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    env.as_admin(
        "PUT",
        "/api/v1/applications/trellis/web",
        &unversioned.to_string(),
    )
    .assert_error(400, "metadata.resourceVersion is required");
    env.as_admin("PUT", "/api/v1/applications/trellis/web", "{\"spec\": [")
        .assert_error(400, "request body");
    let mut renamed = before.clone();
    renamed["metadata"]["name"] = json!("other-name");
    env.as_admin(
        "PUT",
        "/api/v1/applications/trellis/web",
        &renamed.to_string(),
    )
    .assert_error(400, "renaming is not an edit");
    let mut moved = before.clone();
    moved["spec"]["project"] = json!("nowhere");
    env.as_admin(
        "PUT",
        "/api/v1/applications/trellis/web",
        &moved.to_string(),
    )
    .assert_error(400, "does not exist");
    env.as_admin(
        "PUT",
        "/api/v1/applications/trellis/nope",
        &before.to_string(),
    )
    .assert_error(404, "not found");
    let after = env.app("web").unwrap();
    assert_eq!(
        before["metadata"]["resourceVersion"],
        after["metadata"]["resourceVersion"]
    );

    // A scoped token may not move an application out of its project.
    let mut escape = after.clone();
    escape["spec"]["project"] = json!("other");
    let shop_admin = env
        .rt
        .block_on(trellis_server::accounts::create_token(
            &env.client,
            NS,
            &trellis_server::accounts::NewToken {
                name: "shop admin".into(),
                role: "admin".into(),
                project: Some("shop".into()),
                expires_in: None,
            },
        ))
        .unwrap()
        .1;
    env.wait("the new token", |env| {
        env.with_token(&shop_admin, "GET", "/api/v1/session", "")
            .status
            == 200
    });
    env.with_token(
        &shop_admin,
        "PUT",
        "/api/v1/applications/trellis/web",
        &escape.to_string(),
    )
    .assert_error(403, "may not move");
}

#[test]
fn delete_with_and_without_cascade() {
    let env = Env::new();
    env.create_app("keep-resources", "shop", json!({}));
    env.create_app("cascade", "shop", json!({}));
    env.wait_listed("keep-resources", |_| true);
    env.wait_listed("cascade", |_| true);

    let resp = env.as_admin("DELETE", "/api/v1/applications/trellis/cascade", "");
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.json()["cascade"], true);
    // The finalizer holds it until the controller has deleted its resources.
    let stored = env.app("cascade").unwrap();
    assert!(stored.pointer("/metadata/deletionTimestamp").is_some());
    assert_eq!(
        stored["metadata"]["finalizers"],
        json!(["resources-finalizer.argocd.argoproj.io"])
    );
    env.wait_listed("cascade", |a| a["deleting"] == true);
    let sync = env.as_admin("POST", "/api/v1/applications/trellis/cascade/sync", "{}");
    sync.assert_error(409, "being deleted");

    // Without cascade an existing finalizer is taken off: the object goes.
    env.rt
        .block_on(env.client.merge_patch(
            &crate::support::key("trellis.dev", "Application", NS, "keep-resources"),
            &json!({"metadata": {"finalizers": ["resources-finalizer.argocd.argoproj.io", "example.com/other"]}}),
            false,
        ))
        .unwrap();
    let resp = env.as_admin(
        "DELETE",
        "/api/v1/applications/trellis/keep-resources?cascade=false",
        "",
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    let stored = env.app("keep-resources").unwrap();
    assert_eq!(
        stored["metadata"]["finalizers"],
        json!(["example.com/other"])
    );
    env.as_admin(
        "DELETE",
        "/api/v1/applications/trellis/web?cascade=maybe",
        "",
    )
    .assert_error(404, "not found");
    env.as_admin(
        "DELETE",
        "/api/v1/applications/trellis/keep-resources?cascade=maybe",
        "",
    )
    .assert_error(400, "cascade");
}

#[test]
fn the_editable_yaml_round_trips_and_a_stale_copy_is_refused() {
    let env = Env::new();
    env.create_app("web", "shop", json!({"team": "a"}));
    env.wait_listed("web", |_| true);
    env.set_status("web", json!({"sync": {"status": "Synced"}}));
    env.wait_listed("web", |a| a["sync"]["status"] == "Synced");
    let path = "/api/v1/applications/trellis/web";
    let yaml_put = |text: &str| {
        let auth = format!("Bearer {}", env.tokens.admin);
        env.request(
            "PUT",
            path,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/yaml"),
            ],
            text,
        )
    };

    let read = env.as_admin("GET", &format!("{path}?format=yaml"), "");
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(
        read.header("content-type"),
        Some("application/yaml; charset=utf-8")
    );
    let text = read.body.clone();
    assert!(
        text.starts_with("apiVersion: trellis.dev/v1alpha1\n"),
        "{text}"
    );
    assert!(text.contains("\nkind: Application\n"), "{text}");
    assert!(text.contains("  name: web\n"), "{text}");
    assert!(text.contains("  resourceVersion: "), "{text}");
    assert!(text.contains("    team: a\n"), "{text}");
    assert!(text.contains("\nspec:\n"), "{text}");
    // What an edit cannot change is left out.
    for absent in ["status:", "operation:", "managedFields", "uid:", "Synced"] {
        assert!(!text.contains(absent), "{absent} in {text}");
    }

    // Sent back edited, it is stored.
    let edited = text.replace("    team: a\n", "    team: b\n");
    assert_ne!(edited, text);
    let resp = yaml_put(&edited);
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(env.app("web").unwrap()["metadata"]["labels"]["team"], "b");

    // The same copy again is stale: refused, nothing changes.
    let stale = text.replace("    team: a\n", "    team: c\n");
    yaml_put(&stale).assert_error(409, "was changed since it was read");
    assert_eq!(env.app("web").unwrap()["metadata"]["labels"]["team"], "b");

    // Malformed YAML names its line; nothing changes.
    let fresh = env.as_admin("GET", &format!("{path}?format=yaml"), "").body;
    let broken = fresh.replace("\nspec:\n", "\nspec: [\n");
    yaml_put(&broken).assert_error(400, "request body:");
    assert_eq!(env.app("web").unwrap()["metadata"]["labels"]["team"], "b");

    env.as_admin("GET", &format!("{path}?format=xml"), "")
        .assert_error(400, "expected json or yaml");
    env.as_admin(
        "GET",
        "/api/v1/applications/trellis/missing?format=yaml",
        "",
    )
    .assert_error(404, "application trellis/missing not found");
}
