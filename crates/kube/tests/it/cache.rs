//! The live-state cache follows the cluster through watches, selecting by label.

use serde_json::json;
use trellis_kube::{ApplyOptions, GroupKind, LiveCache, ObjectRef, Propagation};
use trellis_model::ResourceKey;

use crate::support::{Env, STEP};

const LABEL: &str = "example.com/owner";

fn cm(name: &str, owner: Option<&str>) -> serde_json::Value {
    let mut o = json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "namespace": "default"}, "data": {"k": "v"}});
    if let Some(owner) = owner {
        o["metadata"]["labels"] = json!({LABEL: owner});
    }
    o
}

#[tokio::test]
async fn cache_sees_labelled_objects_come_and_go_without_relisting() {
    let env = Env::new().await;
    let cache = LiveCache::new(env.kube.clone(), LABEL);
    let kind = GroupKind::new("", "ConfigMap");
    env.kube
        .apply(&cm("before", Some("a")), &ApplyOptions::default())
        .await
        .unwrap();
    env.kube
        .apply(&cm("unlabelled", None), &ApplyOptions::default())
        .await
        .unwrap();
    let unserved = cache
        .ensure(
            &[kind.clone(), GroupKind::new("example.com", "Nothing")],
            STEP,
        )
        .await
        .unwrap();
    assert_eq!(unserved, [GroupKind::new("example.com", "Nothing")]);
    assert_eq!(
        cache
            .store()
            .objects("a", std::slice::from_ref(&kind))
            .len(),
        1
    );
    let lists = |env: &Env| {
        env.audit()
            .entries()
            .iter()
            .filter(|e| e.verb == "list")
            .count()
    };
    let lists_before = lists(&env);

    env.kube
        .apply(&cm("after", Some("a")), &ApplyOptions::default())
        .await
        .unwrap();
    env.kube
        .apply(&cm("other", Some("b")), &ApplyOptions::default())
        .await
        .unwrap();
    let store = cache.store().clone();
    let k = kind.clone();
    assert!(
        store
            .wait_until(STEP, |s| s.objects("a", std::slice::from_ref(&k)).len()
                == 2
                && s.objects("b", std::slice::from_ref(&k)).len() == 1)
            .await
    );
    let key = ResourceKey {
        group: String::new(),
        kind: "ConfigMap".into(),
        namespace: "default".into(),
        name: "before".into(),
    };
    env.kube
        .delete(&key, Propagation::Background)
        .await
        .unwrap();
    let at = ObjectRef {
        namespace: "default".into(),
        name: "before".into(),
    };
    assert!(
        store
            .wait_until(STEP, |s| s.get("a", &kind, &at).is_none())
            .await
    );
    // Ensuring again is free: the kind is already watched.
    cache
        .ensure(std::slice::from_ref(&kind), STEP)
        .await
        .unwrap();
    assert_eq!(lists(&env), lists_before);
    assert_eq!(cache.watched(), [kind]);
}
