//! One reconcile of one Application.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tracing::{debug, info};
use trellis_engine::compare::{Comparison, ResourceSync};
use trellis_kube::Propagation;
use trellis_model::status::{ApplicationCondition, OperationPhase};
use trellis_model::{Application, HealthStatusCode, Origin, SyncStatusCode};

use crate::controller::{Ctx, depends_on_names, lock, read};
use crate::error::{ControllerError, Result};
use crate::operation::{self, Start};
use crate::render_cache::Rendered;
use crate::status::{self, condition};
use crate::{AppKey, REFRESH_ANNOTATION, RESOURCES_FINALIZER};

/// Reconciles one Application; returns when to look at it again (besides
/// the periodic refresh and the watches).
pub(crate) async fn reconcile(ctx: &Arc<Ctx>, key: &AppKey) -> Result<Option<Duration>> {
    let Some(object) = ctx.app(key) else {
        return Ok(None);
    };
    let origin = Origin {
        file: format!("{}/{}", key.namespace, key.name),
        document: 1,
        line: 1,
    };
    let app = match Application::from_value(&object, &origin) {
        Ok(parsed) => parsed.value,
        Err(error) => {
            let mut status = ctx.status_of(key, &object);
            status.conditions = status::merge_conditions(
                &status.conditions,
                vec![condition("InvalidSpecError", error.to_string())],
            );
            status.sync.status = SyncStatusCode::Unknown;
            status::write(ctx, key, &object, status, false).await?;
            return Ok(None);
        }
    };
    let server = match ctx.server_of(
        app.spec.destination.server.as_deref(),
        app.spec.destination.name.as_deref(),
    ) {
        Ok(server) => server,
        Err(message) => {
            return invalid(ctx, key, &object, "InvalidSpecError", message).await;
        }
    };
    if !ctx.owns(&server) {
        return Ok(None);
    }
    if app.metadata.deletion_timestamp.is_some() {
        return delete(ctx, key, &app, &server).await;
    }
    if let Some(refresh) = refresh_requested(&object) {
        ctx.renderer().sources().refresh();
        if refresh == "hard" {
            ctx.render_cache.forget(key);
        }
        let patch = json!({"metadata": {"annotations": {REFRESH_ANNOTATION: null}}});
        ctx.cluster
            .merge_patch(&key.resource(), &patch, false)
            .await?;
    }
    if let Some(violations) = project_violations(ctx, key, &app, &server) {
        return invalid(ctx, key, &object, "InvalidSpecError", violations).await;
    }
    let engine = match ctx.engine(&server) {
        Ok(engine) => engine,
        Err(message) => return invalid(ctx, key, &object, "InvalidSpecError", message).await,
    };

    // A running sync goes on before anything else.
    if let Some(state) = ctx.operation_state(key, &object)
        && state.phase == OperationPhase::Running
    {
        // A sync already running holds its slot, taken now after a restart.
        lock(&ctx.syncing).0.insert(key.clone());
        return operation::resume(ctx, key, &object, &app, &engine, state).await;
    }

    if !read(&ctx.capabilities).contains_key(&server) {
        ctx.read_capabilities(&server, &engine, false).await;
    }
    let rendered = render(ctx, key, &app, &server).await?;
    if let Some(violations) = resource_violations(ctx, key, &app, &engine, &rendered).await {
        return invalid(ctx, key, &object, "InvalidSpecError", violations).await;
    }
    let comparison = engine.compare(&app, rendered.as_input()).await?;
    let previous = ctx.status_of(key, &object);
    let waiting = unmet_dependencies(ctx, key, &app);
    let mut conditions: Vec<ApplicationCondition> = Vec::new();
    if let Some(message) = &waiting {
        conditions.push(condition("DependencyWaitingWarning", message.clone()));
    }
    let start = if waiting.is_some() {
        None
    } else {
        operation::decide(
            ctx,
            key,
            &app,
            &previous,
            &rendered,
            &comparison,
            &mut conditions,
        )
    };
    let status = status::from_comparison(ctx, &app, &previous, &rendered, &comparison, conditions);
    status::write(ctx, key, &object, status, true).await?;
    match start {
        Some(Start::Now(start)) => {
            if !ctx.take_sync_slot(key) {
                // Queued again when a running sync finishes.
                return Ok(None);
            }
            if let Err(e) =
                operation::start(ctx, key, &object, &app, &engine, &rendered, *start).await
            {
                ctx.release_sync_slot(key);
                return Err(e);
            }
            Ok(Some(Duration::ZERO))
        }
        Some(Start::After(delay)) => Ok(Some(delay)),
        None => Ok(None),
    }
}

/// Renders in a blocking thread (git and templates are synchronous).
pub(crate) async fn render(
    ctx: &Arc<Ctx>,
    key: &AppKey,
    app: &Application,
    server: &str,
) -> Result<Rendered> {
    let (ctx2, key2, app2) = (ctx.clone(), key.clone(), app.clone());
    let capabilities = ctx.capabilities(server);
    let started = std::time::Instant::now();
    let (rendered, hit) = tokio::task::spawn_blocking(move || {
        let renderer = ctx2.renderer();
        ctx2.render_cache
            .render(&key2, &app2, &renderer, &capabilities)
    })
    .await
    .map_err(|e| ControllerError::Task(e.to_string()))?;
    ctx.metrics.render_cache(hit);
    if !hit {
        ctx.metrics.rendered(started.elapsed());
        debug!(app = %key, elapsed = ?started.elapsed(), "rendered");
    }
    Ok(rendered)
}

async fn invalid(
    ctx: &Ctx,
    key: &AppKey,
    object: &Arc<Value>,
    type_: &str,
    message: String,
) -> Result<Option<Duration>> {
    let mut status = ctx.status_of(key, object);
    status.conditions =
        status::merge_conditions(&status.conditions, vec![condition(type_, message)]);
    status.sync.status = SyncStatusCode::Unknown;
    status.reconciled_at = Some(status::now());
    status::write(ctx, key, object, status, false).await?;
    Ok(None)
}

fn refresh_requested(object: &Value) -> Option<String> {
    object
        .pointer("/metadata/annotations")?
        .get(REFRESH_ANNOTATION)?
        .as_str()
        .map(str::to_string)
}

/// Why the Application's project does not allow it, if it does not.
fn project_violations(ctx: &Ctx, key: &AppKey, app: &Application, server: &str) -> Option<String> {
    let name = if app.spec.project.is_empty() {
        "default"
    } else {
        app.spec.project.as_str()
    };
    let projects = read(&ctx.projects);
    let Some(project) = projects.get(&(
        key.group.clone(),
        ctx.options.namespace.clone(),
        name.to_string(),
    )) else {
        return Some(format!(
            "application references project {name} which does not exist"
        ));
    };
    // Projects match destinations by server and by name: both are filled in,
    // as Argo CD resolves one from the other.
    let mut resolved = app.clone();
    resolved.spec.destination.server = Some(server.to_string());
    resolved.spec.destination.name = Some(ctx.cluster_name(server));
    let violations =
        trellis_model::rules::check_application(project, &resolved, &ctx.options.namespace);
    if violations.is_empty() {
        None
    } else {
        Some(
            violations
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )
    }
}

/// The rendered resources the Application's project does not permit (by
/// kind, cluster- or namespace-scoped), in words; `None` when all are.
async fn resource_violations(
    ctx: &Ctx,
    key: &AppKey,
    app: &Application,
    engine: &trellis_engine::Engine,
    rendered: &Rendered,
) -> Option<String> {
    let Ok(manifests) = &rendered.manifests else {
        return None;
    };
    let project = {
        let name = if app.spec.project.is_empty() {
            "default"
        } else {
            app.spec.project.as_str()
        };
        read(&ctx.projects)
            .get(&(
                key.group.clone(),
                ctx.options.namespace.clone(),
                name.to_string(),
            ))
            .cloned()?
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for m in manifests.iter() {
        let (Some(api_version), Some(kind)) = (
            m.object.get("apiVersion").and_then(Value::as_str),
            m.object.get("kind").and_then(Value::as_str),
        ) else {
            continue;
        };
        if !seen.insert((api_version.to_string(), kind.to_string())) {
            continue;
        }
        let (group, _) = trellis_kube::discovery::split_api_version(api_version);
        let namespaced = match engine
            .cluster()
            .discovery()
            .resolve(api_version, kind)
            .await
        {
            Ok(info) => info.namespaced,
            // A kind defined by a CRD in this very render: its scope says.
            Err(_) => crd_scope(manifests, group, kind).unwrap_or(true),
        };
        if let Err(v) = trellis_model::rules::check_resource(&project, group, kind, namespaced) {
            out.push(v.to_string());
        }
    }
    (!out.is_empty()).then(|| out.join("; "))
}

fn crd_scope(manifests: &[trellis_model::Manifest], group: &str, kind: &str) -> Option<bool> {
    manifests.iter().find_map(|m| {
        let o = &m.object;
        let spec = o.get("spec")?;
        (o.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition")
            && spec.get("group").and_then(Value::as_str) == Some(group)
            && spec.pointer("/names/kind").and_then(Value::as_str) == Some(kind))
        .then(|| spec.get("scope").and_then(Value::as_str) != Some("Cluster"))
    })
}

/// The Applications this one depends on that are not Synced and Healthy
/// yet, in words; `None` when all are.
fn unmet_dependencies(ctx: &Ctx, key: &AppKey, app: &Application) -> Option<String> {
    let names = app
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(crate::DEPENDS_ON_ANNOTATION))
        .map(|v| depends_on_names(v))
        .unwrap_or_default();
    let mut waiting = Vec::new();
    for name in names {
        let dep = AppKey::new(&key.group, &key.namespace, &name);
        let ready = match ctx.app(&dep) {
            None => false,
            Some(o) => {
                let s = ctx.status_of(&dep, &o);
                s.sync.status == SyncStatusCode::Synced
                    && s.health.status == Some(HealthStatusCode::Healthy)
                    && s.operation_state
                        .as_ref()
                        .is_none_or(|op| op.phase != OperationPhase::Running)
            }
        };
        if !ready {
            waiting.push(name);
        }
    }
    (!waiting.is_empty()).then(|| {
        format!(
            "waiting for {} to be Synced and Healthy",
            waiting.join(", ")
        )
    })
}

/// Whether every difference is a resource that only pruning would fix.
pub(crate) fn only_pruning(comparison: &Comparison) -> bool {
    comparison
        .resources
        .iter()
        .filter(|r| r.status != ResourceSync::Synced)
        .all(|r| r.status == ResourceSync::Extra)
}

/// An Application being deleted: with the resources finalizer, its
/// resources are deleted first, then the finalizer removed.
async fn delete(
    ctx: &Arc<Ctx>,
    key: &AppKey,
    app: &Application,
    server: &str,
) -> Result<Option<Duration>> {
    let finalizers = app.metadata.finalizers.clone().unwrap_or_default();
    let ours: Vec<&String> = finalizers
        .iter()
        .filter(|f| f.starts_with(RESOURCES_FINALIZER))
        .collect();
    if ours.is_empty() {
        return Ok(None);
    }
    let propagation = if ours.iter().any(|f| f.ends_with("/background")) {
        Propagation::Background
    } else {
        Propagation::Foreground
    };
    let engine = ctx
        .engine(server)
        .map_err(|m| ControllerError::Task(format!("{key}: {m}")))?;
    let report = engine.delete_app(app, propagation).await?;
    info!(app = %key, deleted = report.deleted.len(), kept = report.kept.len(), "deleted the application's resources");
    crate::events::record(
        ctx,
        key,
        "Normal",
        "ResourcesDeleted",
        &format!(
            "deleted {} resources, kept {}",
            report.deleted.len(),
            report.kept.len()
        ),
    )
    .await;
    let remaining: Vec<&String> = finalizers
        .iter()
        .filter(|f| !f.starts_with(RESOURCES_FINALIZER))
        .collect();
    let patch = json!({"metadata": {"finalizers": remaining}});
    ctx.cluster
        .merge_patch(&key.resource(), &patch, false)
        .await?;
    lock(&ctx.statuses).remove(key);
    Ok(None)
}
