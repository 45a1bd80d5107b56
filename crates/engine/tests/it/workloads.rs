//! Scenarios that need the cluster's simulated controllers and fault
//! injection: workload health, Job hooks, and syncs through faults.

use std::time::Duration;

use trellis_engine::compare::ResourceSync;
use trellis_engine::sync::{SyncEvent, SyncRequest};
use trellis_localcluster::{FaultAction, FaultRule};
use trellis_model::status::OperationPhase;
use trellis_model::{HealthStatusCode, SyncStatusCode};

use crate::support::{Env, app, cm, manifests, writes};

fn deployment(name: &str, image: &str, annotations: &str) -> String {
    format!(
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  annotations: {{{annotations}}}\nspec:\n  replicas: 2\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n      containers: [{{name: app, image: \"{image}\"}}]\n"
    )
}

fn job(name: &str, image: &str, hook: &str) -> String {
    format!(
        "---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: {name}-\n  annotations: {{argocd.argoproj.io/hook: {hook}}}\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{{name: run, image: \"{image}\"}}]\n"
    )
}

/// Successful (2xx) non-dry-run applies by Trellis of objects whose name
/// starts with `prefix`.
fn successful_writes(env: &Env, since: u64, prefix: &str) -> usize {
    env.audit()
        .since(since)
        .iter()
        .filter(|e| {
            !e.dry_run
                && e.verb == "patch"
                && e.field_manager.as_deref() == Some("trellis")
                && e.name.starts_with(prefix)
                && (200..300).contains(&e.code)
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_sync_waits_for_health_and_then_compares_clean() {
    let env = Env::new().await;
    let app = app("", "web", "default", &[]);
    let desired = manifests(&format!(
        "{}{}",
        deployment("web", "nginx:1.27", ""),
        cm("after", "argocd.argoproj.io/sync-wave: \"1\"")
    ));
    let (state, _) = env.sync(&app, &desired, SyncRequest::default()).await;
    assert_eq!(state.phase, OperationPhase::Succeeded, "{}", state.message);
    let ready = env.kubectl(&[
        "get",
        "deployment",
        "web",
        "-o",
        "jsonpath={.status.availableReplicas}",
    ]);
    assert_eq!(
        ready, "2",
        "wave 1 started only once the Deployment was available"
    );
    let comparison = env.engine.compare(&app, Ok(&desired)).await.unwrap();
    assert_eq!(
        comparison.sync,
        SyncStatusCode::Synced,
        "{:#?}",
        comparison
            .resources
            .iter()
            .map(|r| &r.diff)
            .collect::<Vec<_>>()
    );
    assert_eq!(comparison.health.status, HealthStatusCode::Healthy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_looping_deployment_times_out_its_wave() {
    let env = Env::new().await;
    let app = app("", "broken", "default", &[]);
    let desired = manifests(&format!(
        "{}{}",
        deployment("broken", "app:fail", ""),
        cm("after", "argocd.argoproj.io/sync-wave: \"1\"")
    ));
    let seq = env.audit().last_seq();
    let (state, _) = env.sync(&app, &desired, SyncRequest::default()).await;
    assert_eq!(state.phase, OperationPhase::Failed);
    assert!(
        state.message.contains(
            "Sync wave 0 not healthy after 1s: Deployment.apps default/broken: Progressing"
        ),
        "{}",
        state.message
    );
    assert!(
        !writes(&env.audit().since(seq))
            .iter()
            .any(|w| w.contains(" after")),
        "wave 1 never ran"
    );
    let comparison = env.engine.compare(&app, Ok(&desired)).await.unwrap();
    let broken = comparison
        .resources
        .iter()
        .find(|r| r.key.name == "broken")
        .unwrap();
    assert_eq!(broken.status, ResourceSync::Synced);
    assert_ne!(comparison.health.status, HealthStatusCode::Healthy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_presync_job_runs_the_syncfail_job_and_fails_the_sync() {
    let env = Env::new().await;
    let app = app("", "migrate", "default", &[]);
    let desired = manifests(&format!(
        "{}{}{}",
        job("migrate", "migrate:fail", "PreSync"),
        job("notify", "notify:1", "SyncFail"),
        deployment("web", "nginx:1.27", "")
    ));
    let seq = env.audit().last_seq();
    let (state, events) = env
        .sync(
            &app,
            &desired,
            SyncRequest {
                id: "op-fail".into(),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(state.phase, OperationPhase::Failed);
    assert!(
        state.message.contains("hook failed: job failed"),
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
    assert_eq!(successful_writes(&env, seq, "migrate-"), 1);
    assert_eq!(successful_writes(&env, seq, "notify-"), 1);
    assert_eq!(
        successful_writes(&env, seq, "web"),
        0,
        "the Sync phase never ran"
    );
    let notify = state
        .plan
        .tasks
        .iter()
        .position(|t| t.key.name.starts_with("notify-"))
        .unwrap();
    assert_eq!(
        state.results[notify].status,
        trellis_engine::sync::TaskStatus::Succeeded
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_retried_and_each_hook_is_created_exactly_once() {
    let env = Env::new().await;
    let faults = env.cluster.faults();
    faults.add(
        FaultRule::new(FaultAction::Error(500))
            .verbs(&["patch"])
            .resources(&["jobs"])
            .times(2),
    );
    faults.add(
        FaultRule::new(FaultAction::Throttle {
            retry_after: Duration::from_secs(0),
        })
        .verbs(&["get"])
        .times(3),
    );
    faults.add(
        FaultRule::new(FaultAction::Error(503))
            .verbs(&["patch"])
            .resources(&["configmaps"])
            .times(2),
    );
    faults.add(FaultRule::new(FaultAction::Latency(Duration::from_millis(20))).times(20));
    faults.add(
        FaultRule::new(FaultAction::DropWatch {
            after: Duration::from_millis(100),
        })
        .verbs(&["watch"])
        .times(3),
    );
    let app = app("", "faulty", "default", &[]);
    let desired = manifests(&format!(
        "{}{}{}",
        job("pre", "pre:1", "PreSync"),
        cm("settings", ""),
        job("post", "post:1", "PostSync")
    ));
    let seq = env.audit().last_seq();
    let (state, _) = env
        .sync(
            &app,
            &desired,
            SyncRequest {
                id: "op-faults".into(),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(state.phase, OperationPhase::Succeeded, "{}", state.message);
    let entries = env.audit().since(seq);
    assert!(
        entries.iter().any(|e| e.code == 500),
        "faults were injected"
    );
    assert_eq!(successful_writes(&env, seq, "pre-"), 1);
    assert_eq!(successful_writes(&env, seq, "post-"), 1);
    // The cache survives dropped watches: the next compare sees the sync.
    let comparison = env.engine.compare(&app, Ok(&desired)).await.unwrap();
    assert_eq!(
        comparison.sync,
        SyncStatusCode::Synced,
        "{:#?}",
        comparison.resources
    );
}
