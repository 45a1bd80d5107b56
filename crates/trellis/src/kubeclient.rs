//! The cluster side of the cluster commands: connecting through the
//! kubeconfig, finding the application (a file or a stored Application),
//! rendering it, and printing resource tables.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use trellis_engine::compare::Comparison;
use trellis_engine::{Engine, EngineOptions};
use trellis_kube::{Cluster, ConnectOptions};
use trellis_model::{Application, Manifest, Origin, ResourceKey};
use trellis_render::AppRenderer;

use crate::UsageError;
use crate::cli::TargetArgs;
use crate::commands::load_roots;

/// A runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// An application ready to compare: where it goes and what it renders to.
pub struct Target {
    /// The engine on the destination cluster.
    pub engine: Engine,
    /// The application.
    pub app: Application,
    /// The render: manifests, or why it failed.
    pub rendered: std::result::Result<Vec<Manifest>, String>,
}

impl Target {
    /// The render as the engine takes it.
    pub fn rendered(&self) -> std::result::Result<&[Manifest], &str> {
        match &self.rendered {
            Ok(m) => Ok(m),
            Err(e) => Err(e),
        }
    }
}

/// Connects, loads the application and renders it.
pub async fn target(
    args: &TargetArgs,
    renderer: &AppRenderer,
    options: EngineOptions,
) -> Result<Target> {
    let cluster = connect(args).await?;
    let app = load_app(args, &cluster).await?;
    check_destination(&app)?;
    let rendered = {
        let renderer = renderer.clone();
        let app = app.clone();
        tokio::task::spawn_blocking(move || renderer.render(&app))
            .await
            .context("rendering")?
            .map(|r| r.manifests)
            .map_err(|e| e.to_string())
    };
    Ok(Target {
        engine: Engine::new(cluster, options),
        app,
        rendered,
    })
}

async fn connect(args: &TargetArgs) -> Result<Cluster> {
    connect_with(args.kubeconfig.as_deref(), args.context.as_deref()).await
}

/// Connects through the kubeconfig (`--kubeconfig`, `$KUBECONFIG`,
/// `~/.kube/config`); inside a pod with no kubeconfig at all, through the
/// pod's service account.
pub async fn connect_with(
    kubeconfig: Option<&std::path::Path>,
    context: Option<&str>,
) -> Result<Cluster> {
    let no_kubeconfig = kubeconfig.is_none()
        && context.is_none()
        && std::env::var_os("KUBECONFIG").is_none()
        && !std::env::home_dir().is_some_and(|h| h.join(".kube/config").is_file());
    if no_kubeconfig && std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
        return Cluster::in_cluster().context("connecting with the pod's service account");
    }
    Cluster::connect(&ConnectOptions {
        kubeconfig: kubeconfig.map(std::path::Path::to_path_buf),
        context: context.map(str::to_string),
    })
    .await
    .context("connecting to the cluster")
}

/// The in-cluster destination is the kubeconfig's context; Trellis has no
/// registry of other clusters yet.
fn check_destination(app: &Application) -> Result<()> {
    let d = &app.spec.destination;
    let in_cluster = d.server.as_deref().is_none_or(|s| {
        s.trim_end_matches('/') == "https://kubernetes.default.svc" || s.is_empty()
    }) && d
        .name
        .as_deref()
        .is_none_or(|n| n.is_empty() || n == "in-cluster");
    if !in_cluster {
        let named = d.server.clone().or(d.name.clone()).unwrap_or_default();
        return Err(UsageError(format!(
            "application {}: destination {named} is not supported; use https://kubernetes.default.svc or in-cluster (the kubeconfig's context)",
            app.name()
        ))
        .into());
    }
    Ok(())
}

async fn load_app(args: &TargetArgs, cluster: &Cluster) -> Result<Application> {
    let path = Path::new(&args.app);
    if path.is_file() {
        let roots = load_roots(path)?;
        if roots.len() != 1 {
            return Err(UsageError(format!(
                "{}: holds {} Applications; the cluster commands take one",
                path.display(),
                roots.len()
            ))
            .into());
        }
        return roots
            .into_iter()
            .next()
            .map(|r| r.app)
            .ok_or_else(|| anyhow!("no application"));
    }
    if args.app.contains('/') || args.app.ends_with(".yaml") || args.app.ends_with(".json") {
        bail!(UsageError(format!("{}: no such file", args.app)));
    }
    let namespace = args
        .app_namespace
        .clone()
        .unwrap_or_else(|| cluster.default_namespace().to_string());
    for group in [trellis_model::TRELLIS_GROUP, trellis_model::ARGO_GROUP] {
        let key = ResourceKey {
            group: group.to_string(),
            kind: "Application".into(),
            namespace: namespace.clone(),
            name: args.app.clone(),
        };
        if let Some(object) = cluster
            .get(&key)
            .await
            .with_context(|| format!("reading application {namespace}/{}", args.app))?
        {
            let manifest = Manifest {
                object,
                origin: Origin {
                    file: format!("cluster:{namespace}/{}", args.app),
                    document: 1,
                    line: 1,
                },
            };
            let parsed = Application::from_manifest(&manifest)?;
            return Ok(parsed.value);
        }
    }
    Err(UsageError(format!(
        "{}: neither a file nor an Application in namespace {namespace}",
        args.app
    ))
    .into())
}

/// Prints a table of resources with their status, health and message.
pub fn write_table(out: &mut dyn Write, rows: &[[String; 6]]) -> Result<()> {
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.to_vec()).collect();
    let header = ["KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", "MESSAGE"];
    crate::output::write_table(out, &header, &rows, "")
}

/// The kind column: `Kind.group` as kubectl names kinds.
pub fn kind_label(key: &ResourceKey) -> String {
    crate::output::kind_label(&key.group, &key.kind)
}

/// Rows of a comparison.
pub fn comparison_rows(comparison: &Comparison) -> Vec<[String; 6]> {
    comparison
        .resources
        .iter()
        .map(|r| {
            let message = if r.message.is_empty() {
                r.health.message.clone()
            } else {
                r.message.clone()
            };
            [
                kind_label(&r.key),
                r.key.namespace.clone(),
                r.key.name.clone(),
                r.status.to_string(),
                format!("{:?}", r.health.status),
                message,
            ]
        })
        .collect()
}
