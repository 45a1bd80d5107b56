//! Apply, dry-run, conflicts, replace, get and delete.

use serde_json::json;
use trellis_kube::{ApplyOptions, DeleteOutcome, Propagation};
use trellis_model::ResourceKey;

use crate::support::Env;

fn cm(value: &str) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "settings", "namespace": "default"},
           "data": {"mode": value}})
}

fn key() -> ResourceKey {
    ResourceKey {
        group: String::new(),
        kind: "ConfigMap".into(),
        namespace: "default".into(),
        name: "settings".into(),
    }
}

#[tokio::test]
async fn dry_run_stores_nothing_and_apply_stores_with_trellis_manager() {
    let env = Env::new().await;
    let dry = env
        .kube
        .apply(
            &cm("a"),
            &ApplyOptions {
                dry_run: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(dry["data"]["mode"], "a");
    assert!(env.kube.get(&key()).await.unwrap().is_none());
    let stored = env
        .kube
        .apply(&cm("a"), &ApplyOptions::default())
        .await
        .unwrap();
    assert_eq!(stored["metadata"]["managedFields"][0]["manager"], "trellis");
    let live = env.kube.get(&key()).await.unwrap().unwrap();
    assert_eq!(live["data"]["mode"], "a");
    let patches: Vec<_> = env
        .audit()
        .entries()
        .into_iter()
        .filter(|e| e.verb == "patch")
        .map(|e| (e.patch_type.unwrap(), e.dry_run, e.field_manager.unwrap()))
        .collect();
    assert_eq!(
        patches,
        [
            ("apply".into(), true, "trellis".into()),
            ("apply".into(), false, "trellis".into())
        ]
    );
}

#[tokio::test]
async fn conflict_with_another_manager_needs_force() {
    let env = Env::new().await;
    let other = ApplyOptions {
        field_manager: "kubectl".into(),
        ..Default::default()
    };
    env.kube.apply(&cm("theirs"), &other).await.unwrap();
    let err = env
        .kube
        .apply(&cm("ours"), &ApplyOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert!(err.to_string().contains("kubectl"), "{err}");
    let forced = env
        .kube
        .apply(
            &cm("ours"),
            &ApplyOptions {
                force: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(forced["data"]["mode"], "ours");
}

#[tokio::test]
async fn replace_creates_then_replaces_and_delete_is_idempotent() {
    let env = Env::new().await;
    env.kube
        .replace(&cm("one"), &ApplyOptions::default())
        .await
        .unwrap();
    env.kube
        .replace(&cm("two"), &ApplyOptions::default())
        .await
        .unwrap();
    assert_eq!(
        env.kube.get(&key()).await.unwrap().unwrap()["data"]["mode"],
        "two"
    );
    assert_eq!(
        env.kube
            .delete(&key(), Propagation::Foreground)
            .await
            .unwrap(),
        DeleteOutcome::Deleted
    );
    // A foreground delete leaves the object terminating until garbage
    // collection finalizes it (a delete meanwhile is accepted again, as in
    // Kubernetes); once it is gone, a delete finds nothing.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while env.kube.get(&key()).await.unwrap().is_some() {
        assert!(std::time::Instant::now() < deadline, "never finalized");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        env.kube
            .delete(&key(), Propagation::Background)
            .await
            .unwrap(),
        DeleteOutcome::NotFound
    );
}

#[tokio::test]
async fn a_new_crd_is_discovered_on_first_use() {
    let env = Env::new().await;
    // Load discovery before the CRD exists.
    env.kube
        .apply(&cm("a"), &ApplyOptions::default())
        .await
        .unwrap();
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
    });
    env.kube
        .apply(&crd, &ApplyOptions::default())
        .await
        .unwrap();
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w", "namespace": "default"}, "spec": {"size": 3}});
    let stored = env
        .kube
        .apply(&widget, &ApplyOptions::default())
        .await
        .unwrap();
    assert_eq!(stored["spec"]["size"], 3);
    let unknown =
        json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}});
    let err = env
        .kube
        .apply(&unknown, &ApplyOptions::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("no resource for example.com/v1 Gadget"),
        "{err}"
    );
}
