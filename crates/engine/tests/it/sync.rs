//! Sync scenarios: first sync with a CRD, prune safety, inventory, waves,
//! hooks, tenancy.

use trellis_engine::compare::ResourceSync;
use trellis_engine::sync::{SyncEvent, SyncRequest};
use trellis_engine::tracking::TRACKING_ANNOTATION;
use trellis_model::status::OperationPhase;

use crate::support::{Env, app, cm, deletes, manifests, sync_with, writes};

const CRD: &str = "
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
";

fn widget(name: &str, ready: &str, annotations: &str) -> String {
    format!(
        "---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: {name}\n  annotations: {{{annotations}}}\nspec: {{size: 1}}\nstatus:\n  conditions: [{{type: Ready, status: \"{ready}\", message: \"{name} is {ready}\"}}]\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_sync_creates_namespace_crd_and_custom_resource_in_order() {
    let env = Env::new().await;
    let app = app("", "shop", "shop", &[]);
    let desired = manifests(&format!(
        "{}---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: shop}}\n{CRD}{}",
        widget("gear", "True", ""),
        cm("settings", "")
    ));
    let before = env.engine.compare(&app, Ok(&desired)).await.unwrap();
    assert!(
        before
            .resources
            .iter()
            .all(|r| r.status == ResourceSync::Missing)
    );
    let (state, _) = env.sync(&app, &desired, SyncRequest::default()).await;
    assert_eq!(state.phase, OperationPhase::Succeeded, "{}", state.message);
    let order = writes(&env.audit().entries());
    assert_eq!(
        order,
        [
            "patch namespaces shop",
            "patch configmaps settings",
            "patch customresourcedefinitions widgets.example.com",
            "patch widgets gear"
        ]
    );
    let tracking = env.kubectl(&[
        "get",
        "widget",
        "gear",
        "-n",
        "shop",
        "-o",
        "jsonpath={.metadata.annotations}",
    ]);
    assert!(
        tracking.contains("shop:example.com/Widget:shop/gear"),
        "{tracking}"
    );
    let after = env.engine.compare(&app, Ok(&desired)).await.unwrap();
    assert!(
        after
            .resources
            .iter()
            .all(|r| r.status == ResourceSync::Synced),
        "{:#?}",
        after.resources
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_only_with_permission_and_never_after_empty_or_failed_render() {
    let env = Env::new().await;
    let app = app("", "pruner", "default", &[]);
    env.sync(
        &app,
        &manifests(&format!("{}{}", cm("keep", ""), cm("old", ""))),
        SyncRequest::default(),
    )
    .await;
    let now = manifests(&cm("keep", ""));

    let seq = env.audit().last_seq();
    let (state, _) = env.sync(&app, &now, SyncRequest::default()).await;
    assert_eq!(state.phase, OperationPhase::Succeeded);
    assert_eq!(deletes(&env.audit().since(seq)), 0);
    let comparison = env.engine.compare(&app, Ok(&now)).await.unwrap();
    let old = comparison
        .resources
        .iter()
        .find(|r| r.key.name == "old")
        .unwrap();
    assert_eq!(old.status, ResourceSync::Extra);

    // An empty render (allowEmpty off) and a failed render delete nothing.
    let seq = env.audit().last_seq();
    let prune = SyncRequest {
        prune: true,
        ..Default::default()
    };
    let (state, _) = env.sync(&app, &[], prune.clone()).await;
    assert!(
        state
            .plan
            .prune_skipped
            .as_deref()
            .unwrap()
            .contains("allowEmpty")
    );
    let failed = env
        .engine
        .plan_sync(&app, Err("values.yaml:3: bad indentation"), &prune)
        .await;
    assert!(failed.unwrap_err().to_string().contains("rendering failed"));
    assert_eq!(
        deletes(&env.audit().since(seq)),
        0,
        "{:#?}",
        env.audit().since(seq)
    );

    let (state, _) = env.sync(&app, &now, prune).await;
    assert_eq!(state.phase, OperationPhase::Succeeded, "{}", state.message);
    let deleted: Vec<_> = env
        .audit()
        .since(seq)
        .into_iter()
        .filter(|e| e.verb == "delete")
        .map(|e| e.name)
        .collect();
    assert_eq!(deleted, ["old"]);
    let names = env.kubectl(&[
        "get",
        "configmaps",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ]);
    assert!(names.contains("keep") && !names.contains("old "), "{names}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kind_removed_from_the_render_is_still_pruned_by_a_fresh_engine() {
    let env = Env::new().await;
    let app = app("", "kinds", "default", &[]);
    let secret = "---\napiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {a: b}\n";
    env.sync(
        &app,
        &manifests(&format!("{}{secret}", cm("settings", ""))),
        SyncRequest::default(),
    )
    .await;
    // A new process: nothing in memory, the inventory in the cluster says
    // Secrets were applied.
    let fresh = Env::engine_for(&env.kubeconfig).await;
    let seq = env.audit().last_seq();
    let (state, _) = sync_with(
        &fresh,
        &app,
        Ok(&manifests(&cm("settings", ""))),
        SyncRequest {
            prune: true,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(state.phase, OperationPhase::Succeeded, "{}", state.message);
    let deleted: Vec<_> = env
        .audit()
        .since(seq)
        .into_iter()
        .filter(|e| e.verb == "delete")
        .map(|e| format!("{} {}", e.resource, e.name))
        .collect();
    assert_eq!(deleted, ["secrets creds"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_name_in_two_namespaces_never_touch_each_other() {
    let env = Env::new().await;
    let namespaces = env.dir.path().join("namespaces.yaml");
    std::fs::write(&namespaces, "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: team-b}\n").unwrap();
    env.kubectl(&["apply", "-f", namespaces.to_str().unwrap()]);
    let a = app("team-a", "web", "default", &[]);
    let b = app("team-b", "web", "default", &[]);
    env.sync(
        &a,
        &manifests(&cm("a-settings", "")),
        SyncRequest::default(),
    )
    .await;
    env.sync(
        &b,
        &manifests(&cm("b-settings", "")),
        SyncRequest::default(),
    )
    .await;
    let seq = env.audit().last_seq();
    let (state, _) = env
        .sync(
            &a,
            &manifests(&cm("a-settings", "")),
            SyncRequest {
                prune: true,
                ..Default::default()
            },
        )
        .await;
    assert_eq!(state.phase, OperationPhase::Succeeded);
    assert_eq!(deletes(&env.audit().since(seq)), 0);
    let comparison = env
        .engine
        .compare(&b, Ok(&manifests(&cm("b-settings", ""))))
        .await
        .unwrap();
    assert_eq!(comparison.resources.len(), 1);
    let annotation = env.kubectl(&[
        "get",
        "configmap",
        "b-settings",
        "-o",
        &format!(
            "jsonpath={{.metadata.annotations.{}}}",
            TRACKING_ANNOTATION.replace('.', "\\.")
        ),
    ]);
    assert_eq!(annotation, "team-b_web:/ConfigMap:default/b-settings");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waves_run_in_order_and_an_unhealthy_wave_stops_the_sync() {
    let env = Env::new().await;
    let app = app("", "waves", "default", &[]);
    let crd_app = crate::support::app("", "crd", "default", &[]);
    env.sync(&crd_app, &manifests(CRD), SyncRequest::default())
        .await;
    let desired = manifests(&format!(
        "{}{}{}{}",
        cm("third", "argocd.argoproj.io/sync-wave: \"2\""),
        cm("first", "trellis.dev/sync-wave: \"-1\""),
        widget("second", "True", ""),
        cm("fourth", "argocd.argoproj.io/sync-wave: \"3\"")
    ));
    let seq = env.audit().last_seq();
    let (state, events) = env.sync(&app, &desired, SyncRequest::default()).await;
    assert_eq!(state.phase, OperationPhase::Succeeded, "{}", state.message);
    assert_eq!(
        writes(&env.audit().since(seq)),
        [
            "patch configmaps first",
            "patch widgets second",
            "patch configmaps third",
            "patch configmaps fourth"
        ]
    );
    let started: Vec<i32> = events
        .iter()
        .filter_map(|e| match e {
            SyncEvent::GroupStarted { wave, .. } => Some(*wave),
            _ => None,
        })
        .collect();
    assert_eq!(started, [-1, 0, 2, 3]);

    let stuck = manifests(&format!(
        "{}{}",
        widget("slow", "Unknown", ""),
        cm("after", "argocd.argoproj.io/sync-wave: \"1\"")
    ));
    let seq = env.audit().last_seq();
    let (state, _) = env
        .sync(
            &crate::support::app("", "stuck", "default", &[]),
            &stuck,
            SyncRequest::default(),
        )
        .await;
    assert_eq!(state.phase, OperationPhase::Failed);
    assert!(
        state.message.contains("Sync wave 0 not healthy after 1s"),
        "{}",
        state.message
    );
    assert!(
        state
            .message
            .contains("Widget.example.com default/slow: Progressing slow is Unknown"),
        "{}",
        state.message
    );
    assert_eq!(
        writes(&env.audit().since(seq)),
        ["patch widgets slow"],
        "wave 1 never ran"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_presync_hook_runs_syncfail_hooks_and_fails_the_sync() {
    let env = Env::new().await;
    env.sync(
        &app("", "crd", "default", &[]),
        &manifests(CRD),
        SyncRequest::default(),
    )
    .await;
    let app = app("", "hooks", "default", &[]);
    let desired = manifests(&format!(
        "{}{}{}",
        widget(
            "check",
            "False",
            "argocd.argoproj.io/hook: PreSync, argocd.argoproj.io/hook-delete-policy: HookFailed"
        ),
        cm("main", ""),
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: on-failure-\n  annotations: {argocd.argoproj.io/hook: SyncFail}\ndata: {a: b}\n"
    ));
    let seq = env.audit().last_seq();
    let (state, events) = env
        .sync(
            &app,
            &desired,
            SyncRequest {
                id: "op1".into(),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(state.phase, OperationPhase::Failed);
    assert!(
        state
            .message
            .contains("Widget.example.com default/check hook failed: check is False"),
        "{}",
        state.message
    );
    assert!(events.iter().any(|e| matches!(
        e,
        SyncEvent::GroupStarted {
            stage: "SyncFail",
            ..
        }
    )));
    let w = writes(&env.audit().since(seq));
    assert_eq!(w.len(), 3, "{w:?}");
    assert_eq!(w[0], "patch widgets check");
    assert!(
        w[1].starts_with("delete widgets check"),
        "HookFailed deletes it: {w:?}"
    );
    assert!(w[2].starts_with("patch configmaps on-failure-"), "{w:?}");
    assert!(
        !w.iter().any(|w| w.contains(" main")),
        "the Sync phase never ran: {w:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_are_created_once_per_sync_and_deleted_on_success() {
    let env = Env::new().await;
    let app = app("", "hooked", "default", &[]);
    let desired = manifests(&format!(
        "{}{}",
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: pre-\n  annotations: {helm.sh/hook: pre-install, helm.sh/hook-delete-policy: hook-succeeded}\ndata: {a: b}\n",
        cm("main", "")
    ));
    let seq = env.audit().last_seq();
    let (state, _) = env
        .sync(
            &app,
            &desired,
            SyncRequest {
                id: "op2".into(),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(state.phase, OperationPhase::Succeeded, "{}", state.message);
    let w = writes(&env.audit().since(seq));
    assert_eq!(w.len(), 3, "{w:?}");
    assert!(w[0].starts_with("patch configmaps pre-"), "{w:?}");
    assert_eq!(w[1].replace("delete", "patch"), w[0], "{w:?}");
    assert_eq!(w[2], "patch configmaps main");
    // Hooks are not resources of the application.
    let comparison = env.engine.compare(&app, Ok(&desired)).await.unwrap();
    assert_eq!(comparison.resources.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persisted_sync_resumes_in_a_fresh_engine_without_rerunning_hooks() {
    let env = Env::new().await;
    let app = app("", "resume", "default", &[]);
    let desired = manifests(&format!(
        "{}{}{}",
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: pre-\n  annotations: {argocd.argoproj.io/hook: PreSync}\ndata: {a: b}\n",
        cm("first", ""),
        cm("second", "argocd.argoproj.io/sync-wave: \"1\"")
    ));
    let request = SyncRequest {
        id: "op-resume".into(),
        ..Default::default()
    };
    let (_, mut state) = env
        .engine
        .plan_sync(&app, Ok(&desired), &request)
        .await
        .unwrap();
    env.engine.begin(&app, &state).await.unwrap();
    let id = trellis_engine::app_id(&app);
    // Start the PreSync hook, then "stop the process".
    env.engine.step(&id, &mut state, &mut |_| {}).await.unwrap();
    let saved = serde_json::to_string(&state).unwrap();
    let seq = env.audit().last_seq();

    let fresh = Env::engine_for(&env.kubeconfig).await;
    let mut resumed: trellis_engine::sync::SyncState = serde_json::from_str(&saved).unwrap();
    fresh.run(&app, &mut resumed, &mut |_| {}).await.unwrap();
    assert_eq!(
        resumed.phase,
        OperationPhase::Succeeded,
        "{}",
        resumed.message
    );
    assert_eq!(
        writes(&env.audit().since(seq)),
        ["patch configmaps first", "patch configmaps second"],
        "the hook created before the stop is not created again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_namespace_and_replace_sync_options() {
    let env = Env::new().await;
    let app = app(
        "",
        "fresh",
        "fresh-ns",
        &["CreateNamespace=true", "Replace=true"],
    );
    let desired = manifests(&cm("settings", ""));
    let seq = env.audit().last_seq();
    let (state, _) = env.sync(&app, &desired, SyncRequest::default()).await;
    assert_eq!(state.phase, OperationPhase::Succeeded, "{}", state.message);
    let verbs: Vec<_> = env
        .audit()
        .since(seq)
        .into_iter()
        .filter(|e| !e.dry_run && matches!(e.verb.as_str(), "create" | "update" | "patch"))
        .filter(|e| !e.name.starts_with("trellis-inventory-"))
        .map(|e| format!("{} {} {}", e.verb, e.resource, e.name))
        .collect();
    // Replace=true creates (a POST names no object) instead of applying.
    assert_eq!(verbs, ["patch namespaces fresh-ns", "create configmaps "]);
    let data = env.kubectl(&[
        "get",
        "configmap",
        "settings",
        "-n",
        "fresh-ns",
        "-o",
        "jsonpath={.data.key}",
    ]);
    assert_eq!(data, "value");
    // The created namespace is not the application's: never a prune candidate.
    let comparison = env.engine.compare(&app, Ok(&desired)).await.unwrap();
    assert_eq!(comparison.resources.len(), 1);
    assert_eq!(
        comparison.resources[0].status,
        ResourceSync::Synced,
        "{}",
        comparison.resources[0].diff
    );
}

/// Prune honours `PrunePropagationPolicy`: with `orphan`, the pruned
/// Deployment's ReplicaSet survives (the cluster's garbage collector leaves
/// it); with the default (foreground), it goes with its owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_uses_the_configured_propagation_policy() {
    let deployment = |name: &str| {
        format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  replicas: 1\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec: {{containers: [{{name: c, image: \"nginx:1\"}}]}}\n"
        )
    };
    let replicasets = |env: &Env, name: &str| {
        env.kubectl(&[
            "get",
            "replicasets",
            "-l",
            &format!("app={name}"),
            "-o",
            "name",
        ])
        .lines()
        .count()
    };
    let prune = SyncRequest {
        prune: true,
        ..Default::default()
    };
    for (policy, survives) in [("orphan", true), ("foreground", false)] {
        let env = Env::new().await;
        let option = format!("PrunePropagationPolicy={policy}");
        let app = app("", "propagation", "default", &[option.as_str()]);
        let keep = manifests(&cm("keep", ""));
        let both = manifests(&format!("{}{}", cm("keep", ""), deployment("web")));
        let (state, _) = env.sync(&app, &both, SyncRequest::default()).await;
        assert_eq!(state.phase, OperationPhase::Succeeded, "{}", state.message);
        assert_eq!(
            replicasets(&env, "web"),
            1,
            "the Deployment got its ReplicaSet"
        );

        let (state, _) = env.sync(&app, &keep, prune.clone()).await;
        assert_eq!(
            state.phase,
            OperationPhase::Succeeded,
            "{policy}: {}",
            state.message
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let gone = env
                .kubectl(&["get", "deployments", "-o", "name"])
                .trim()
                .is_empty();
            let rs = replicasets(&env, "web");
            if gone && (survives || rs == 0) {
                assert_eq!(rs, usize::from(survives), "{policy}");
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{policy}: deployment gone {gone}, {rs} replicasets"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// Unknown fields fail an apply, as with kubectl, unless the application
/// says `Validate=false`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_false_lets_unknown_fields_through() {
    let env = Env::new().await;
    let typo = manifests(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: typo}\ndata: {a: b}\ndatta: {c: d}\n",
    );
    let strict = app("", "strict", "default", &[]);
    let (plan, mut state) = env
        .engine
        .plan_sync(&strict, Ok(&typo), &SyncRequest::default())
        .await
        .unwrap();
    drop(plan);
    env.engine.begin(&strict, &state).await.unwrap();
    let result = env.engine.run(&strict, &mut state, &mut |_| {}).await;
    let failed = result.is_err() || state.phase != OperationPhase::Succeeded;
    assert!(
        failed,
        "an unknown field must fail a validated apply: {}",
        state.message
    );
    assert!(
        env.kubectl(&["get", "configmaps", "-o", "name"])
            .trim()
            .lines()
            .all(|l| !l.ends_with("/typo"))
    );

    let lenient = app("", "lenient", "default", &["Validate=false"]);
    let (state, _) = env.sync(&lenient, &typo, SyncRequest::default()).await;
    assert_eq!(state.phase, OperationPhase::Succeeded, "{}", state.message);
    let cm = env.kubectl(&["get", "configmap", "typo", "-o", "jsonpath={.data.a}"]);
    assert_eq!(cm.trim(), "b");
}

/// Deleting an application with cascade removes its resources, keeps the
/// ones marked `Delete=false`, and never touches another application's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_application_keeps_delete_false_resources() {
    let env = Env::new().await;
    let mine = app("", "mine", "default", &[]);
    let other = app("", "other", "default", &[]);
    let keep = "argocd.argoproj.io/sync-options: Delete=false";
    env.sync(
        &mine,
        &manifests(&format!("{}{}", cm("a", ""), cm("precious", keep))),
        SyncRequest::default(),
    )
    .await;
    env.sync(&other, &manifests(&cm("b", "")), SyncRequest::default())
        .await;

    let seq = env.audit().last_seq();
    let report = env
        .engine
        .delete_app(&mine, trellis_kube::Propagation::Foreground)
        .await
        .unwrap();
    let names = |keys: &[trellis_model::ResourceKey]| {
        keys.iter().map(|k| k.name.clone()).collect::<Vec<_>>()
    };
    assert_eq!(names(&report.deleted), ["a"]);
    assert_eq!(names(&report.kept), ["precious"]);
    let deleted: Vec<_> = env
        .audit()
        .since(seq)
        .into_iter()
        .filter(|e| e.verb == "delete" && !e.internal())
        .map(|e| e.name)
        .collect();
    assert_eq!(deleted, ["a"]);
    let left = env.kubectl(&[
        "get",
        "configmaps",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ]);
    assert!(
        left.contains("precious") && left.contains('b') && !left.split(' ').any(|n| n == "a"),
        "{left}"
    );
}
