//! Comparison scenarios: clean after sync despite defaults and admission,
//! drift, conflicts, warm compares that touch nothing.

use std::collections::BTreeMap;

use trellis_engine::compare::ResourceSync;
use trellis_engine::sync::SyncRequest;
use trellis_localcluster::{AdmissionRule, ServeOptions};
use trellis_model::status::OperationPhase;
use trellis_model::{ResourceIgnoreDifferences, SyncStatusCode};

use crate::support::{Env, app, cm, manifests};

const SERVICE: &str = "
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_is_clean_after_sync_despite_defaults_and_admission() {
    let env = Env::with(ServeOptions {
        admission: vec![AdmissionRule {
            add_labels: BTreeMap::from([("policy.example.com/team".into(), "platform".into())]),
            ..Default::default()
        }],
        ..Default::default()
    })
    .await;
    let app = app("", "web", "default", &[]);
    let desired = manifests(&format!("{SERVICE}{}", cm("settings", "")));
    let (state, _) = env.sync(&app, &desired, SyncRequest::default()).await;
    assert_eq!(state.phase, OperationPhase::Succeeded, "{}", state.message);
    let live = env.kubectl(&[
        "get",
        "service",
        "web",
        "-o",
        "jsonpath={.spec.clusterIP} {.metadata.labels}",
    ]);
    assert!(live.contains("policy.example.com/team"), "{live}");
    let comparison = env.engine.compare(&app, Ok(&desired)).await.unwrap();
    for r in &comparison.resources {
        assert_eq!(r.status, ResourceSync::Synced, "{}: {}", r.key, r.diff);
    }
    assert_eq!(comparison.sync, SyncStatusCode::Synced);
    assert_eq!(
        comparison.health.status,
        trellis_model::HealthStatusCode::Healthy
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_compare_of_an_unchanged_app_sends_no_list_and_no_dry_run() {
    let env = Env::new().await;
    let app = app("", "warm", "default", &[]);
    let desired = manifests(&format!("{}{}{SERVICE}", cm("a", ""), cm("b", "")));
    env.sync(&app, &desired, SyncRequest::default()).await;
    env.engine.compare(&app, Ok(&desired)).await.unwrap();
    let seq = env.audit().last_seq();
    let comparison = env.engine.compare(&app, Ok(&desired)).await.unwrap();
    assert_eq!(comparison.sync, SyncStatusCode::Synced);
    let after = env.audit().since(seq);
    assert!(
        after.iter().all(|e| e.verb != "list" && !e.dry_run),
        "{after:#?}"
    );
    assert!(
        after.is_empty(),
        "a warm compare reads only memory: {after:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_only_change_is_compared_without_a_dry_run() {
    let env = Env::new().await;
    let app = app("", "status", "default", &[]);
    let desired = manifests(SERVICE);
    env.sync(&app, &desired, SyncRequest::default()).await;
    env.engine.compare(&app, Ok(&desired)).await.unwrap();
    let version = |env: &Env| {
        env.kubectl(&[
            "get",
            "service",
            "web",
            "-o",
            "jsonpath={.metadata.resourceVersion}",
        ])
    };
    let before = version(&env);
    env.kubectl(&[
        "patch",
        "service",
        "web",
        "--subresource=status",
        "--type",
        "merge",
        "-p",
        r#"{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.7"}]}}}"#,
    ]);
    assert_ne!(version(&env), before, "the status write made a new version");
    // Wait until the live cache holds the new version, then compare.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let seq = loop {
        let seq = env.audit().last_seq();
        let comparison = env.engine.compare(&app, Ok(&desired)).await.unwrap();
        let live = comparison.resources[0].live.clone().unwrap();
        if live.pointer("/status/loadBalancer/ingress/0/ip").is_some() {
            assert_eq!(comparison.sync, SyncStatusCode::Synced);
            break seq;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the cache never saw the status"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let after = env.audit().since(seq);
    assert!(after.iter().all(|e| !e.dry_run), "{after:#?}");
    // A change of content is compared afresh and found.
    env.kubectl(&[
        "patch",
        "service",
        "web",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"selector":{"app":"other"}}}"#,
    ]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let comparison = env.engine.compare(&app, Ok(&desired)).await.unwrap();
        if comparison.sync == SyncStatusCode::OutOfSync {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the drift never showed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_detected_conflicts_need_force_and_sync_reverts() {
    let env = Env::new().await;
    let app = app("", "drift", "default", &[]);
    let desired = manifests(&cm("settings", ""));
    env.sync(&app, &desired, SyncRequest::default()).await;
    env.kubectl(&[
        "patch",
        "configmap",
        "settings",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"key":"changed"}}"#,
    ]);
    let comparison = env.engine.compare(&app, Ok(&desired)).await.unwrap();
    let r = &comparison.resources[0];
    assert_eq!(r.status, ResourceSync::OutOfSync);
    assert!(
        r.diff.contains("-  key: changed\n+  key: value"),
        "{}",
        r.diff
    );

    let (state, _) = env.sync(&app, &desired, SyncRequest::default()).await;
    assert_eq!(state.phase, OperationPhase::Failed);
    assert!(
        state.message.contains("conflict") || state.message.contains("Conflict"),
        "{}",
        state.message
    );
    assert!(
        state.message.contains("kubectl"),
        "the other manager is named: {}",
        state.message
    );
    assert_eq!(
        env.kubectl(&["get", "configmap", "settings", "-o", "jsonpath={.data.key}"]),
        "changed"
    );

    let (state, _) = env
        .sync(
            &app,
            &desired,
            SyncRequest {
                force: true,
                ..Default::default()
            },
        )
        .await;
    assert_eq!(state.phase, OperationPhase::Succeeded, "{}", state.message);
    assert_eq!(
        env.kubectl(&["get", "configmap", "settings", "-o", "jsonpath={.data.key}"]),
        "value"
    );
    let comparison = env.engine.compare(&app, Ok(&desired)).await.unwrap();
    assert_eq!(
        comparison.sync,
        SyncStatusCode::Synced,
        "{:#?}",
        comparison.resources
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignore_differences_hide_drift_in_ignored_fields() {
    let env = Env::new().await;
    let mut app = app("", "ignore", "default", &[]);
    let desired = manifests(&cm("settings", ""));
    env.sync(&app, &desired, SyncRequest::default()).await;
    env.kubectl(&[
        "patch",
        "configmap",
        "settings",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"key":"changed","extra":"x"}}"#,
    ]);
    app.spec.ignore_differences = vec![ResourceIgnoreDifferences {
        kind: "ConfigMap".into(),
        json_pointers: vec!["/data/key".into()],
        jq_path_expressions: vec![".data.extra".into()],
        ..Default::default()
    }];
    let comparison = env.engine.compare(&app, Ok(&desired)).await.unwrap();
    assert_eq!(
        comparison.sync,
        SyncStatusCode::Synced,
        "{}",
        comparison.resources[0].diff
    );
    app.spec.ignore_differences = vec![ResourceIgnoreDifferences {
        kind: "ConfigMap".into(),
        managed_fields_managers: vec!["kubectl-patch".into()],
        ..Default::default()
    }];
    let comparison = env.engine.compare(&app, Ok(&desired)).await.unwrap();
    assert_eq!(
        comparison.sync,
        SyncStatusCode::Synced,
        "{}",
        comparison.resources[0].diff
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_values_never_show_in_diffs() {
    let env = Env::new().await;
    let app = app("", "secret", "default", &[]);
    let secret = |v: &str| {
        manifests(&format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: creds}}\nstringData: {{password: {v}}}\n"
        ))
    };
    env.sync(&app, &secret("hunter2"), SyncRequest::default())
        .await;
    let comparison = env
        .engine
        .compare(&app, Ok(&secret("correct-horse")))
        .await
        .unwrap();
    let diff = &comparison.resources[0].diff;
    assert_eq!(comparison.resources[0].status, ResourceSync::OutOfSync);
    for leaked in [
        "hunter2",
        "correct-horse",
        "aHVudGVyMg==",
        "Y29ycmVjdC1ob3JzZQ==",
    ] {
        assert!(!diff.contains(leaked), "{leaked} in {diff}");
    }
    assert!(diff.contains("++++++++"), "{diff}");
}
