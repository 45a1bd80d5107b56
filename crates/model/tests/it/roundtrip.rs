//! Serializing a parsed resource and reading it back gives the same value,
//! and nothing the manifest said is lost on the way.

use serde_json::Value;
use trellis_model::manifest::{Manifest, parse_file};
use trellis_model::{AppProject, Application, ApplicationSet, is_app_project, is_application};

fn all_fixtures() -> Vec<Manifest> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/data");
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    names
        .iter()
        .flat_map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            parse_file(&text, &p.file_name().unwrap().to_string_lossy()).unwrap()
        })
        .collect()
}

/// Drops `false` flags, which Argo CD (and Trellis) leave out of output.
fn without_false(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| **v != Value::Bool(false))
                .map(|(k, v)| (k.clone(), without_false(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_false).collect()),
        other => other.clone(),
    }
}

#[test]
fn parse_serialize_parse_is_identity_and_lossless() {
    let fixtures = all_fixtures();
    assert!(fixtures.len() >= 9);
    for m in &fixtures {
        let written = if is_application(&m.object) {
            let app = Application::from_manifest(m).unwrap().value;
            let out = app.to_value().unwrap();
            assert_eq!(Application::from_value(&out, &m.origin).unwrap().value, app);
            out
        } else if is_app_project(&m.object) {
            let project = AppProject::from_manifest(m).unwrap().value;
            let out = project.to_value().unwrap();
            assert_eq!(
                AppProject::from_value(&out, &m.origin).unwrap().value,
                project
            );
            out
        } else {
            let set = ApplicationSet::from_manifest(m).unwrap().value;
            let out = set.to_value().unwrap();
            assert_eq!(
                ApplicationSet::from_value(&out, &m.origin).unwrap().value,
                set
            );
            out
        };
        assert_eq!(written, without_false(&m.object), "{}", m.origin);
    }
}

#[test]
fn status_and_operation_round_trip() {
    let text = r#"
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  project: default
  source: {repoURL: "https://github.com/example/web.git", path: deploy, targetRevision: main}
  destination: {server: "https://kubernetes.default.svc", namespace: web}
operation:
  initiatedBy: {username: admin}
  info: [{name: reason, value: manual}]
  retry: {limit: 3}
  sync:
    revision: 4f2c1e0
    prune: true
    dryRun: false
    syncOptions: [Replace=true]
    syncStrategy: {hook: {force: true}}
    resources:
      - {group: apps, kind: Deployment, name: web}
status:
  sync:
    status: OutOfSync
    revision: 4f2c1e0
    comparedTo:
      source: {repoURL: "https://github.com/example/web.git", path: deploy, targetRevision: main}
      destination: {server: "https://kubernetes.default.svc", namespace: web}
  health: {status: Progressing, message: "Waiting for rollout", lastTransitionTime: "2026-11-27T10:00:00Z"}
  reconciledAt: "2026-11-27T10:00:05Z"
  sourceType: Directory
  summary: {images: ["ghcr.io/example/web:1.2"], externalURLs: ["https://web.example.com"]}
  conditions:
    - {type: SyncError, message: "one or more objects failed to apply", lastTransitionTime: "2026-11-27T10:00:00Z"}
  resources:
    - {group: apps, version: v1, kind: Deployment, namespace: web, name: web, status: OutOfSync, health: {status: Progressing}, syncWave: -1}
  history:
    - id: 7
      revision: 3e1b2a9
      deployedAt: "2026-11-26T09:00:00Z"
      deployStartedAt: "2026-11-26T08:59:30Z"
      source: {repoURL: "https://github.com/example/web.git", path: deploy}
      initiatedBy: {automated: true}
  operationState:
    operation:
      sync: {revision: 4f2c1e0, prune: true}
      initiatedBy: {username: admin}
    phase: Running
    message: waiting for healthy state of apps/Deployment/web
    startedAt: "2026-11-27T10:00:01Z"
    retryCount: 1
    syncResult:
      revision: 4f2c1e0
      source: {repoURL: "https://github.com/example/web.git", path: deploy}
      resources:
        - group: apps
          version: v1
          kind: Deployment
          namespace: web
          name: web
          status: Synced
          message: deployment.apps/web configured
          hookPhase: Running
          syncPhase: Sync
"#;
    let manifests = parse_file(text, "web.yaml").unwrap();
    let parsed = Application::from_manifest(&manifests[0]).unwrap();
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let app = parsed.value;
    let status = app.status.as_ref().unwrap();
    assert_eq!(status.sync.status, trellis_model::SyncStatusCode::OutOfSync);
    assert_eq!(
        status.health.status,
        Some(trellis_model::HealthStatusCode::Progressing)
    );
    assert_eq!(status.history[0].id, 7);
    assert_eq!(status.resources[0].sync_wave, -1);
    let state = status.operation_state.as_ref().unwrap();
    assert_eq!(state.retry_count, 1);
    assert_eq!(
        app.operation
            .as_ref()
            .unwrap()
            .sync
            .as_ref()
            .unwrap()
            .resources[0]
            .kind,
        "Deployment"
    );
    let out = app.to_value().unwrap();
    assert_eq!(out, without_false(&manifests[0].object));
    assert_eq!(
        Application::from_value(&out, &manifests[0].origin)
            .unwrap()
            .value,
        app
    );
}
