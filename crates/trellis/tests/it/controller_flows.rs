//! The controller end to end, continued: operations, rollback, resumed
//! syncs, app of apps, ApplicationSets, dependencies, projects, deletion.

use std::time::Duration;

use serde_json::{Value, json};

use crate::controller::{Harness, URL, app, automated, cm, cm_value, settled};

fn history_len(h: &Harness, name: &str) -> usize {
    h.app(name)
        .pointer("/status/history")
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

#[test]
fn manual_operations_sync_roll_back_and_dry_run() {
    let mut h = Harness::new();
    h.repo.write("shop/cm.yaml", &cm("settings", "one"));
    let one = h.repo.commit_all("one");
    h.repo.write("shop/cm.yaml", &cm("settings", "two"));
    h.repo.commit_all("two");
    h.controller(&[], &[]);
    // No sync policy: nothing happens until asked.
    h.apply(&app("shop", "shop", json!({})));
    h.wait("the first comparison", Duration::from_secs(20), |h| {
        h.app("shop").pointer("/status/sync/status") == Some(&json!("OutOfSync"))
    });
    assert_eq!(cm_value(&h, "settings"), None);

    // A dry run changes nothing and leaves no history.
    let sync = |op: Value| json!({"operation": {"sync": op, "initiatedBy": {"username": "ops"}}});
    h.patch(
        "trellis.dev",
        "Application",
        "trellis",
        "shop",
        sync(json!({"dryRun": true})),
    );
    h.wait("the dry run", Duration::from_secs(20), |h| {
        let a = h.app("shop");
        a.pointer("/status/operationState/phase") == Some(&json!("Succeeded"))
            && a.get("operation").is_none()
    });
    assert!(
        h.app("shop")["status"]["operationState"]["message"]
            .as_str()
            .unwrap()
            .contains("dry run: 1 to apply")
    );
    assert_eq!(cm_value(&h, "settings"), None);
    assert_eq!(history_len(&h, "shop"), 0);

    // Sync an older revision by hand.
    h.patch(
        "trellis.dev",
        "Application",
        "trellis",
        "shop",
        sync(json!({"revision": one})),
    );
    h.wait(
        "the sync to the first commit",
        Duration::from_secs(20),
        |h| cm_value(h, "settings").as_deref() == Some("one") && history_len(h, "shop") == 1,
    );
    // Then the branch head.
    h.patch(
        "trellis.dev",
        "Application",
        "trellis",
        "shop",
        sync(json!({})),
    );
    h.wait("the sync to main", Duration::from_secs(20), |h| {
        cm_value(h, "settings").as_deref() == Some("two") && history_len(h, "shop") == 2
    });
    h.wait_synced("shop");
    // The very same request again is a new request: it runs too.
    h.patch(
        "trellis.dev",
        "Application",
        "trellis",
        "shop",
        sync(json!({})),
    );
    h.wait("the repeated sync to main", Duration::from_secs(20), |h| {
        history_len(h, "shop") == 3 && h.app("shop").get("operation").is_none()
    });
    // Roll back to the first history entry: its revision, as Argo CD does.
    let first = h.app("shop")["status"]["history"][0]["revision"].clone();
    assert_eq!(first, json!(one));
    h.patch(
        "trellis.dev",
        "Application",
        "trellis",
        "shop",
        sync(json!({"revision": first})),
    );
    h.wait("the rollback", Duration::from_secs(20), |h| {
        cm_value(h, "settings").as_deref() == Some("one") && history_len(h, "shop") == 4
    });
    let a = h.app("shop");
    assert_eq!(a["status"]["history"][3]["initiatedBy"]["username"], "ops");
    assert!(
        a.get("operation").is_none(),
        "the operation is cleared: {a}"
    );
    // The application is OutOfSync again (git says two), and stays so: no
    // automated policy.
    h.wait(
        "out of sync after the rollback",
        Duration::from_secs(20),
        |h| h.app("shop").pointer("/status/sync/status") == Some(&json!("OutOfSync")),
    );

    // A refresh requested by annotation is done and the annotation removed.
    h.patch(
        "trellis.dev",
        "Application",
        "trellis",
        "shop",
        json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "hard"}}}),
    );
    h.wait("the refresh", Duration::from_secs(20), |h| {
        h.app("shop")
            .pointer("/metadata/annotations/argocd.argoproj.io~1refresh")
            .is_none()
    });
}

const HOOKED: &str = r#"apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations:
    argocd.argoproj.io/hook: PreSync
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: "migrate:1"}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: first
  annotations: {argocd.argoproj.io/sync-wave: "0"}
data: {value: "a"}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: {argocd.argoproj.io/sync-wave: "1"}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "web:1"}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: last
  annotations: {argocd.argoproj.io/sync-wave: "2"}
data: {value: "z"}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: smoke
  annotations:
    argocd.argoproj.io/hook: PostSync
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: s, image: "smoke:1"}]
"#;

#[test]
fn a_sync_resumes_after_the_controller_is_killed_between_steps() {
    let mut h = Harness::new();
    h.repo.write("shop/all.yaml", HOOKED);
    h.repo.commit_all("hooks and waves");
    // Each controller is SIGKILLed after a few sync steps (its test hook
    // sends the signal to itself between a step and its record); the next
    // one resumes from the state in the Application.
    for steps in ["2", "3", "2"] {
        let i = h.controllers.len();
        h.controller(&[], &[("TRELLIS_TEST_KILL_AFTER_STEPS", steps)]);
        if i == 0 {
            h.apply(&app("shop", "shop", json!({"automated": {"prune": true}})));
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = h.controllers[i].try_wait().unwrap() {
                use std::os::unix::process::ExitStatusExt;
                assert_eq!(status.signal(), Some(9), "controller {i} is SIGKILLed");
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "controller {i} did not stop\n{}",
                h.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(
            h.app("shop").pointer("/status/operationState/phase"),
            Some(&json!("Running")),
            "a sync is in progress after controller {i}"
        );
    }
    h.controller(&[], &[]);
    h.wait_synced("shop");
    let app = h.app("shop");
    assert_eq!(app["status"]["operationState"]["phase"], "Succeeded");
    assert_eq!(app["status"]["history"].as_array().unwrap().len(), 1);
    let audit = h.audit();
    // Each hook was created exactly once, despite three crashes.
    for job in ["migrate", "smoke"] {
        let creates = audit
            .iter()
            .filter(|e| {
                e.resource == "jobs" && e.name.starts_with(job) && !e.dry_run && e.code == 201
            })
            .count();
        assert_eq!(creates, 1, "creates of hook {job}");
    }
    // Nothing but garbage collection deleted anything.
    let deletes: Vec<String> = audit
        .iter()
        .filter(|e| !e.dry_run && e.verb == "delete" && !e.internal())
        .map(|e| format!("{} {}", e.resource, e.name))
        .collect();
    assert_eq!(deletes, Vec::<String>::new());
    // Waves ran in order: `last` was first written after `first` and `web`.
    let first_write = |name: &str| {
        audit
            .iter()
            .find(|e| e.name == name && !e.dry_run && e.verb == "patch")
            .map(|e| e.seq)
            .unwrap()
    };
    assert!(first_write("first") < first_write("web"));
    assert!(first_write("web") < first_write("last"));
}

#[test]
fn deleting_an_application_with_the_finalizer_deletes_its_resources() {
    let mut h = Harness::new();
    h.repo.write("shop/cm.yaml", &cm("settings", "one"));
    h.repo.commit_all("one");
    h.controller(&[], &[]);
    let mut object = app("shop", "shop", automated());
    object["metadata"]["finalizers"] = json!(["resources-finalizer.argocd.argoproj.io"]);
    h.apply(&object);
    h.wait_synced("shop");
    assert!(h.configmap("default", "settings").is_some());
    trellis_testkit::kubectl_ok(
        &h.kubeconfig,
        &[
            "delete",
            "applications.trellis.dev",
            "shop",
            "-n",
            "trellis",
            "--wait=false",
        ],
    );
    h.wait("the cascade", Duration::from_secs(20), |h| {
        h.configmap("default", "settings").is_none()
            && h.get("trellis.dev", "Application", "trellis", "shop")
                .is_none()
    });
}

#[test]
fn depends_on_holds_a_sync_until_the_dependency_is_synced_and_healthy() {
    let mut h = Harness::new();
    let deployment = |image: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: db}}\nspec:\n  replicas: 1\n  selector: {{matchLabels: {{app: db}}}}\n  template:\n    metadata: {{labels: {{app: db}}}}\n    spec:\n      containers: [{{name: db, image: \"{image}\"}}]\n"
        )
    };
    // The dependency crash-loops at first (`:fail` images do, here).
    h.repo.write("db/db.yaml", &deployment("db:fail"));
    h.repo.write("web/cm.yaml", &cm("web", "on"));
    h.repo.commit_all("db and web");
    h.controller(&[], &[]);
    h.apply(&app("db", "db", automated()));
    let mut web = app("web", "web", automated());
    web["metadata"]["annotations"] = json!({"trellis.dev/depends-on": "db"});
    h.apply(&web);
    h.wait("web waiting for db", Duration::from_secs(30), |h| {
        h.app("web")
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|c| {
                c.iter().any(|c| {
                    c["type"] == "DependencyWaitingWarning"
                        && c["message"].as_str().unwrap_or("").contains("db")
                })
            })
    });
    assert_eq!(
        cm_value(&h, "web"),
        None,
        "web must not sync before db is healthy"
    );
    h.repo.write("db/db.yaml", &deployment("db:2"));
    h.repo.commit_all("db fixed");
    h.wait_synced("db");
    h.wait_synced("web");
    assert_eq!(cm_value(&h, "web").as_deref(), Some("on"));
}

#[test]
fn a_project_violation_is_reported_and_never_synced() {
    let mut h = Harness::new();
    h.repo.write("shop/cm.yaml", &cm("settings", "one"));
    h.repo.commit_all("one");
    h.apply(&json!({
        "apiVersion": "trellis.dev/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "restricted", "namespace": "trellis"},
        "spec": {
            "sourceRepos": ["https://git.example.com/other/*"],
            "destinations": [{"server": "*", "namespace": "other"}],
        },
    }));
    h.controller(&[], &[]);
    let mut object = app("shop", "shop", automated());
    object["spec"]["project"] = json!("restricted");
    h.apply(&object);
    h.wait("the violation", Duration::from_secs(20), |h| {
        h.app("shop")
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|c| c.iter().any(|c| c["type"] == "InvalidSpecError"))
    });
    let message = h.app("shop")["status"]["conditions"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains(URL) || message.contains("repo"),
        "{message}"
    );
    assert!(message.contains("restricted"), "{message}");
    assert_eq!(cm_value(&h, "settings"), None);
    assert!(
        !h.audit().iter().any(|e| e.resource == "configmaps"
            && e.name == "settings"
            && !e.dry_run
            && matches!(e.verb.as_str(), "create" | "update" | "patch" | "delete")),
        "nothing of the application was written"
    );
    // Allowing the repository and namespace lets it sync.
    h.patch(
        "trellis.dev",
        "AppProject",
        "trellis",
        "restricted",
        json!({"spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}]}}),
    );
    h.wait_synced("shop");
    assert!(settled(&h.app("shop")));
}

const INFRA: &str = "https://git.example.com/platform/infrastructure.git";

fn argo_app(h: &Harness, name: &str) -> Option<Value> {
    h.get("argoproj.io", "Application", "trellis", name)
}

/// The example's infrastructure and service repositories as git
/// repositories, mapped for the controller.
fn example_repos(h: &mut Harness) -> trellis_testkit::GitRepo {
    let root = trellis_testkit::workspace_root().join("examples");
    let infra = trellis_testkit::GitRepo::from_dir(&root.join("infrastructure"), "infra");
    h.maps.push((INFRA.into(), infra.path().to_path_buf()));
    for (url, dir) in [
        (
            "https://git.example.com/storefront/storefront.git",
            "storefront",
        ),
        ("https://git.example.com/payments/checkout.git", "checkout"),
    ] {
        let repo = trellis_testkit::GitRepo::from_dir(&root.join("services").join(dir), dir);
        h.maps.push((url.into(), repo.path().to_path_buf()));
        // Kept alive by leaking the handle: the directory must outlive the
        // controller, which the harness kills on drop.
        std::mem::forget(repo);
    }
    infra
}

#[test]
fn the_helm_fleet_fans_out_one_line_adds_a_service_and_removing_it_prunes() {
    let mut h = Harness::new();
    let infra = example_repos(&mut h);
    h.controller(&["--argocd-compat"], &[]);
    h.apply_yaml(&std::fs::read_to_string(infra.path().join("apps/fleet-staging.yaml")).unwrap());
    let synced =
        |name: &'static str| move |h: &Harness| argo_app(h, name).is_some_and(|a| settled(&a));
    for name in ["fleet-staging", "storefront-staging", "checkout-staging"] {
        h.wait(name, Duration::from_secs(60), synced(name));
    }
    assert!(
        h.get("apps", "Deployment", "storefront-staging", "storefront")
            .is_some()
    );

    // One line in values.yaml (and the service's values file) adds a service.
    let values = std::fs::read_to_string(infra.path().join("fleet/values.yaml")).unwrap();
    let with_search = format!(
        "{values}  - name: search\n    repoURL: https://git.example.com/storefront/storefront.git\n    targetRevision: main\n"
    );
    infra.write("fleet/values.yaml", &with_search);
    infra.write(
        "values/search/staging.yaml",
        "replicaCount: 1\nenv:\n  ENVIRONMENT: staging\n",
    );
    infra.commit_all("add search");
    h.wait(
        "search-staging",
        Duration::from_secs(60),
        synced("search-staging"),
    );
    let deployments = |h: &Harness| {
        h.rt.block_on(h.client.list("apps", "Deployment", "search-staging", None))
            .unwrap()
            .len()
    };
    assert_eq!(deployments(&h), 1);

    // Removing the line deletes the Application, and its finalizer its resources.
    infra.write("fleet/values.yaml", &values);
    infra.commit_all("remove search");
    h.wait("search removed", Duration::from_secs(60), |h| {
        argo_app(h, "search-staging").is_none() && deployments(h) == 0
    });
    // The others are untouched.
    assert!(
        h.get("apps", "Deployment", "storefront-staging", "storefront")
            .is_some()
    );
    assert!(argo_app(&h, "checkout-staging").is_some_and(|a| settled(&a)));
}

fn appset(elements: Value, repo: &str) -> Value {
    json!({
        "apiVersion": "trellis.dev/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "shops", "namespace": "trellis"},
        "spec": {
            "generators": [
                {"list": {"elements": elements}},
                {"git": {
                    "repoURL": repo, "revision": "main",
                    "directories": [{"path": "teams/*"}],
                    "values": {"shop": "{{path.basename}}"},
                }},
            ],
            "template": {
                "metadata": {"name": "{{values.shop}}"},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": URL, "targetRevision": "main", "path": "shops/{{values.shop}}"},
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"},
                    "syncPolicy": {"automated": {"prune": true}},
                },
            },
        },
    })
}

#[test]
fn an_application_set_generates_applications_and_a_generator_error_deletes_nothing() {
    let mut h = Harness::new();
    for name in ["north", "south", "team-a"] {
        h.repo
            .write(&format!("shops/{name}/cm.yaml"), &cm(name, name));
    }
    h.repo.write("teams/team-a/README", "a team\n");
    h.repo.commit_all("shops");
    h.controller(&[], &[]);
    h.apply(&appset(
        json!([{"values.shop": "north"}, {"values.shop": "south"}]),
        URL,
    ));
    for name in ["north", "south", "team-a"] {
        h.wait(name, Duration::from_secs(60), |h| {
            h.get("trellis.dev", "Application", "trellis", name)
                .is_some_and(|a| settled(&a))
        });
        assert_eq!(cm_value(&h, name).as_deref(), Some(name));
    }
    // An element removed: its Application goes (the default policy).
    h.apply(&appset(json!([{"values.shop": "north"}]), URL));
    h.wait("south deleted", Duration::from_secs(30), |h| {
        h.get("trellis.dev", "Application", "trellis", "south")
            .is_none()
    });
    // A generator that cannot read its repository: nothing is deleted, the
    // error is on the set.
    let before = h.audit().len();
    h.apply(&appset(
        json!([{"values.shop": "north"}]),
        "https://git.example.com/team/missing.git",
    ));
    h.wait("the generator error", Duration::from_secs(30), |h| {
        h.get("trellis.dev", "ApplicationSet", "trellis", "shops")
            .and_then(|s| s.pointer("/status/conditions").cloned())
            .and_then(|c| c.as_array().cloned())
            .is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "ErrorOccurred" && c["status"] == "True")
            })
    });
    assert!(
        h.get("trellis.dev", "Application", "trellis", "team-a")
            .is_some()
    );
    assert!(
        h.get("trellis.dev", "Application", "trellis", "north")
            .is_some()
    );
    let deleted: Vec<String> = h.audit()[before..]
        .iter()
        .filter(|e| !e.dry_run && e.verb == "delete" && e.resource == "applications")
        .map(|e| e.name.clone())
        .collect();
    assert_eq!(deleted, Vec::<String>::new());
}

#[test]
fn two_replicas_elect_one_leader_and_split_the_shards() {
    let mut h = Harness::new();
    h.repo.write("shop/cm.yaml", &cm("settings", "one"));
    h.repo.commit_all("one");
    let ports = [
        crate::controller::free_port(),
        crate::controller::free_port(),
    ];
    for port in ports {
        let listen = format!("127.0.0.1:{port}");
        h.controller(
            &[
                "--shards",
                "2",
                "--lease-duration",
                "2s",
                "--listen",
                &listen,
            ],
            &[],
        );
    }
    let gauge = |text: &str, name: &str| -> Option<i64> {
        text.lines()
            .find(|l| l.starts_with(name) && !l.starts_with('#'))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    };
    h.wait("one leader and two shards", Duration::from_secs(30), |_| {
        let metrics: Vec<String> = ports
            .iter()
            .map(|p| crate::controller::http_get(*p, "/metrics"))
            .collect();
        let leaders: i64 = metrics
            .iter()
            .filter_map(|m| gauge(m, "trellis_leader "))
            .sum();
        let mut shards: Vec<i64> = metrics
            .iter()
            .filter_map(|m| gauge(m, "trellis_shard{"))
            .collect();
        shards.sort();
        leaders == 1 && shards == [0, 1]
    });
    // The in-cluster destination belongs to shard 0, whoever holds it.
    h.apply(&app("shop", "shop", automated()));
    h.wait_synced("shop");
}

#[test]
fn a_chart_gated_on_an_api_renders_again_when_the_api_appears() {
    let mut h = Harness::new();
    h.repo.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: gated\nversion: 1.0.0\n",
    );
    h.repo.write(
        "chart/templates/all.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kube\ndata:\n  version: {{ .Capabilities.KubeVersion.Version | quote }}\n{{- if .Capabilities.APIVersions.Has \"example.com/v1/Widget\" }}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: gadget\nspec:\n  size: 3\n{{- end }}\n",
    );
    h.repo.commit_all("gated chart");
    h.controller(&[], &[]);
    h.apply(&app("gated", "chart", automated()));
    h.wait_synced("gated");
    // The destination's version, not Helm's default, reaches the template.
    let version = h.configmap("default", "kube").unwrap()["data"]["version"].clone();
    assert_eq!(version, json!("v1.32.4"));
    assert!(
        h.get("example.com", "Widget", "default", "gadget")
            .is_none()
    );
    // The CRD appears: the chart renders the Widget at the next refresh,
    // with no commit.
    h.apply(&json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
            }],
        },
    }));
    h.wait("the widget", Duration::from_secs(30), |h| {
        // This client's discovery predates the CRD.
        h.rt.block_on(h.client.discovery().invalidate()).unwrap();
        h.get("example.com", "Widget", "default", "gadget")
            .is_some()
    });
}

#[test]
fn a_kind_the_project_does_not_permit_is_never_synced() {
    let mut h = Harness::new();
    h.repo.write("shop/cm.yaml", &cm("settings", "one"));
    h.repo.write(
        "shop/ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop-extra\n",
    );
    h.repo.commit_all("one");
    h.apply(&json!({
        "apiVersion": "trellis.dev/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "team", "namespace": "trellis"},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            // No clusterResourceWhitelist: cluster-scoped kinds are denied.
        },
    }));
    h.controller(&[], &[]);
    let mut object = app("shop", "shop", automated());
    object["spec"]["project"] = json!("team");
    h.apply(&object);
    h.wait("the violation", Duration::from_secs(20), |h| {
        h.app("shop")
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|c| {
                c.iter().any(|c| {
                    c["type"] == "InvalidSpecError"
                        && c["message"].as_str().unwrap_or("").contains("Namespace")
                })
            })
    });
    assert_eq!(cm_value(&h, "settings"), None, "nothing of it is synced");
    assert!(h.get("", "Namespace", "", "shop-extra").is_none());
}

#[test]
fn a_failed_sync_is_retried_with_backoff() {
    let mut h = Harness::new();
    h.repo.write(
        "shop/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: \"web:fail\"}]\n",
    );
    h.repo.commit_all("a crash-looping deployment");
    h.controller(&["--sync-timeout", "2s"], &[]);
    let policy = json!({
        "automated": {"prune": true},
        "retry": {"limit": 2, "backoff": {"duration": "1s", "factor": 1, "maxDuration": "1s"}},
    });
    h.apply(&app("shop", "shop", policy));
    h.wait("two retries, then failed", Duration::from_secs(60), |h| {
        let a = h.app("shop");
        a.pointer("/status/operationState/retryCount") == Some(&json!(2))
            && a.pointer("/status/operationState/phase") == Some(&json!("Failed"))
    });
    let a = h.app("shop");
    assert!(
        a["status"]["operationState"]["message"]
            .as_str()
            .unwrap()
            .contains("web"),
        "{a}"
    );
    // Failed syncs leave no history entry.
    assert!(a["status"]["history"].as_array().is_none_or(Vec::is_empty));
}

#[test]
fn a_cluster_secret_adds_a_destination_cluster() {
    let mut h = Harness::new();
    h.repo.write("shop/cm.yaml", &cm("settings", "remote"));
    h.repo.commit_all("one");
    let remote =
        h.rt.block_on(trellis_localcluster::start(
            trellis_localcluster::ServeOptions::default(),
        ))
        .unwrap();
    let b64 = |s: &str| {
        use std::io::Write;
        let mut out = Vec::new();
        let mut child = std::process::Command::new("base64")
            .arg("-w0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
        std::io::Read::read_to_end(&mut child.stdout.take().unwrap(), &mut out).unwrap();
        child.wait().unwrap();
        String::from_utf8(out).unwrap()
    };
    h.apply(&json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "cluster-remote",
            "namespace": "trellis",
            "labels": {"argocd.argoproj.io/secret-type": "cluster"},
        },
        "data": {
            "name": b64("remote"),
            "server": b64(&remote.url()),
            "config": b64(r#"{"bearerToken": "not-a-real-token-1234"}"#),
        },
    }));
    h.controller(&[], &[]);
    let mut object = app("shop", "shop", automated());
    object["spec"]["destination"] = json!({"name": "remote", "namespace": "default"});
    h.apply(&object);
    h.wait("a status", Duration::from_secs(20), |h| {
        h.app("shop").get("status").is_some()
    });
    h.wait_synced("shop");
    let remote_client = {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        remote.write_kubeconfig(&path).unwrap();
        h.rt.block_on(trellis_kube::Cluster::connect(
            &trellis_kube::ConnectOptions {
                kubeconfig: Some(path),
                context: None,
            },
        ))
        .unwrap()
    };
    let key = trellis_model::ResourceKey {
        group: String::new(),
        kind: "ConfigMap".into(),
        namespace: "default".into(),
        name: "settings".into(),
    };
    let got = h.rt.block_on(remote_client.get(&key)).unwrap();
    assert_eq!(got.unwrap()["data"]["value"], "remote");
    // Not on the controller's own cluster.
    assert_eq!(cm_value(&h, "settings"), None);
    // The token never shows in the logs or the Application.
    assert!(!h.logs().contains("not-a-real-token"));
    assert!(!h.app("shop").to_string().contains("not-a-real-token"));
}
