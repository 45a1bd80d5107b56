//! A cluster per test, an engine connected to it through a kubeconfig, and
//! helpers to build applications and run syncs.

use std::path::PathBuf;
use std::time::Duration;

use trellis_engine::sync::{SyncEvent, SyncRequest, SyncState};
use trellis_engine::{Engine, EngineOptions};
use trellis_kube::{Cluster, ConnectOptions};
use trellis_localcluster::{AuditEntry, AuditLog, RunningCluster, ServeOptions, start};
use trellis_model::{Application, ApplicationDestination, ApplicationSpec, Manifest, SyncPolicy};

pub struct Env {
    pub cluster: RunningCluster,
    pub kubeconfig: PathBuf,
    pub engine: Engine,
    pub dir: tempfile::TempDir,
}

pub fn options() -> EngineOptions {
    EngineOptions {
        health_timeout: Duration::from_secs(1),
        hook_timeout: Duration::from_secs(1),
        poll_interval: Duration::from_millis(50),
        cache_timeout: Duration::from_secs(2),
    }
}

impl Env {
    pub async fn new() -> Env {
        Self::with(ServeOptions::default()).await
    }

    pub async fn with(opts: ServeOptions) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        let cluster = start(opts).await.unwrap();
        cluster.write_kubeconfig(&kubeconfig).unwrap();
        let engine = Self::engine_for(&kubeconfig).await;
        Env {
            cluster,
            kubeconfig,
            engine,
            dir,
        }
    }

    /// A second engine on the same cluster: a fresh process, no memory.
    pub async fn engine_for(kubeconfig: &std::path::Path) -> Engine {
        let cluster = Cluster::connect(&ConnectOptions {
            kubeconfig: Some(kubeconfig.to_path_buf()),
            context: None,
        })
        .await
        .unwrap();
        Engine::new(cluster, options())
    }

    pub fn audit(&self) -> AuditLog {
        self.cluster.audit()
    }

    /// Runs kubectl against the cluster and returns stdout; fails on error.
    pub fn kubectl(&self, args: &[&str]) -> String {
        trellis_testkit::kubectl_ok(&self.kubeconfig, args)
    }

    pub async fn sync(
        &self,
        app: &Application,
        manifests: &[Manifest],
        request: SyncRequest,
    ) -> (SyncState, Vec<SyncEvent>) {
        sync_with(&self.engine, app, Ok(manifests), request).await
    }
}

pub async fn sync_with(
    engine: &Engine,
    app: &Application,
    rendered: Result<&[Manifest], &str>,
    request: SyncRequest,
) -> (SyncState, Vec<SyncEvent>) {
    let (_, mut state) = engine.plan_sync(app, rendered, &request).await.unwrap();
    engine.begin(app, &state).await.unwrap();
    let mut events = Vec::new();
    engine
        .run(app, &mut state, &mut |e| events.push(e))
        .await
        .unwrap();
    (state, events)
}

pub fn app(namespace: &str, name: &str, destination: &str, sync_options: &[&str]) -> Application {
    let mut app = Application::new(
        name,
        ApplicationSpec {
            destination: ApplicationDestination {
                server: Some("https://kubernetes.default.svc".into()),
                namespace: Some(destination.into()),
                name: None,
            },
            sync_policy: Some(SyncPolicy {
                sync_options: sync_options.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    if !namespace.is_empty() {
        app.metadata.namespace = Some(namespace.into());
    }
    app
}

pub fn manifests(yaml: &str) -> Vec<Manifest> {
    trellis_model::parse_yaml_stream(yaml, "app.yaml").unwrap()
}

pub fn writes(entries: &[AuditEntry]) -> Vec<String> {
    entries
        .iter()
        .filter(|e| {
            !e.dry_run && matches!(e.verb.as_str(), "create" | "update" | "patch" | "delete")
        })
        .filter(|e| e.resource != "configmaps" || !e.name.starts_with("trellis-inventory-"))
        .map(|e| format!("{} {} {}", e.verb, e.resource, e.name))
        .collect()
}

pub fn deletes(entries: &[AuditEntry]) -> usize {
    entries
        .iter()
        .filter(|e| e.verb == "delete" || e.verb == "deletecollection")
        .count()
}

pub fn cm(name: &str, annotations: &str) -> String {
    format!(
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  annotations: {{{annotations}}}\ndata:\n  key: value\n"
    )
}
