//! Sync operations: deciding to start one (automated, requested, retried),
//! running it one engine step at a time with its state persisted in the
//! Application, and recording the outcome.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tracing::{info, warn};
use trellis_engine::Engine;
use trellis_engine::compare::Comparison;
use trellis_engine::plan::{Action, Phase};
use trellis_engine::sync::{StepOutcome, SyncEvent, SyncRequest, SyncState, TaskStatus};
use trellis_model::status::{
    ApplicationCondition, HookType, Operation, OperationInitiator, OperationPhase, OperationState,
    ResourceResult, ResultCode, RevisionHistory, SyncOperation, SyncOperationResult, SyncPhase,
};
use trellis_model::{Application, ApplicationStatus, RetryStrategy, SyncStatusCode};

use crate::AppKey;
use crate::controller::{Ctx, lock};
use crate::error::{ControllerError, Result, json};
use crate::reconcile::only_pruning;
use crate::render_cache::Rendered;
use crate::status::{self, condition};

/// A sync to start.
#[derive(Debug, Clone)]
pub(crate) struct StartRequest {
    /// The operation as recorded in `operationState.operation`.
    pub operation: Operation,
    /// Retries made before this attempt.
    pub retry_count: i64,
}

/// What [`decide`] concluded.
#[derive(Debug)]
pub(crate) enum Start {
    /// Start this sync now.
    Now(Box<StartRequest>),
    /// Look again after this long (a retry back-off or self-heal delay).
    After(Duration),
}

/// Whether a sync should start: a requested `operation`, a retry of a
/// failed one, or the automated sync policy. Reasons for not syncing that a
/// user should see are added to `conditions`.
pub(crate) fn decide(
    ctx: &Ctx,
    key: &AppKey,
    app: &Application,
    previous: &ApplicationStatus,
    rendered: &Rendered,
    comparison: &Comparison,
    conditions: &mut Vec<ApplicationCondition>,
) -> Option<Start> {
    let last = previous.operation_state.as_ref();
    // A requested operation, unless it is the one just finished (the watch
    // may not have seen it cleared yet).
    if let Some(op) = &app.operation
        && op.sync.is_some()
        && lock(&ctx.finished).get(key) != Some(op)
    {
        return Some(Start::Now(Box::new(StartRequest {
            operation: op.clone(),
            retry_count: 0,
        })));
    }
    // A failed sync with retries left.
    if let Some(last) = last
        && matches!(last.phase, OperationPhase::Failed | OperationPhase::Error)
    {
        let retry = retry_policy(app, &last.operation);
        if retries_left(&retry, last.retry_count) {
            let wait = backoff(&retry, last.retry_count);
            let since = finished_since(last);
            if since >= wait {
                return Some(Start::Now(Box::new(StartRequest {
                    operation: last.operation.clone(),
                    retry_count: last.retry_count + 1,
                })));
            }
            return Some(Start::After(wait - since));
        }
    }
    let automated = app.spec.sync_policy.as_ref()?.automated.as_ref()?;
    if automated.enabled == Some(false) {
        return None;
    }
    if comparison.sync != SyncStatusCode::OutOfSync || comparison.render_error.is_some() {
        return None;
    }
    if only_pruning(comparison) && !automated.prune {
        conditions.push(condition(
            "SyncWarning",
            "only extra resources differ and automated prune is disabled",
        ));
        return None;
    }
    let revisions = rendered.revisions();
    if let Some(last) = last
        && last.operation.initiated_by.automated
        && last
            .sync_result
            .as_ref()
            .is_some_and(|r| same_revisions(r, &revisions))
    {
        match last.phase {
            OperationPhase::Succeeded if automated.self_heal => {
                let since = finished_since(last);
                if since < ctx.options.self_heal_delay {
                    return Some(Start::After(ctx.options.self_heal_delay - since));
                }
            }
            OperationPhase::Succeeded => return None,
            _ => {
                conditions.push(condition(
                    "SyncError",
                    format!(
                        "automated sync to {} failed and is not retried: {}",
                        short(&revisions),
                        last.message
                    ),
                ));
                return None;
            }
        }
    }
    let multi = app.spec.has_multiple_sources();
    Some(Start::Now(Box::new(StartRequest {
        operation: Operation {
            sync: Some(SyncOperation {
                revision: if multi {
                    String::new()
                } else {
                    revisions.first().cloned().unwrap_or_default()
                },
                revisions: if multi { revisions } else { Vec::new() },
                prune: automated.prune,
                ..SyncOperation::default()
            }),
            initiated_by: OperationInitiator {
                username: String::new(),
                automated: true,
            },
            retry: app
                .spec
                .sync_policy
                .as_ref()
                .and_then(|p| p.retry.clone())
                .unwrap_or_default(),
            ..Operation::default()
        },
        retry_count: 0,
    })))
}

fn short(revisions: &[String]) -> String {
    revisions
        .iter()
        .map(|r| r.chars().take(7).collect::<String>())
        .collect::<Vec<_>>()
        .join(",")
}

fn same_revisions(result: &SyncOperationResult, revisions: &[String]) -> bool {
    if result.revisions.is_empty() {
        revisions.len() == 1 && revisions[0] == result.revision
    } else {
        result.revisions == revisions
    }
}

fn finished_since(state: &OperationState) -> Duration {
    let Some(finished) = &state.finished_at else {
        return Duration::MAX;
    };
    let now = status::now();
    let secs = (now.0.as_second() - finished.0.as_second()).max(0);
    Duration::from_secs(secs as u64)
}

fn retry_policy(app: &Application, operation: &Operation) -> RetryStrategy {
    if operation.retry != RetryStrategy::default() {
        return operation.retry.clone();
    }
    app.spec
        .sync_policy
        .as_ref()
        .and_then(|p| p.retry.clone())
        .unwrap_or_default()
}

fn retries_left(retry: &RetryStrategy, done: i64) -> bool {
    retry.limit < 0 || done < retry.limit
}

/// Argo CD's back-off: `duration × factor^n`, at most `maxDuration`.
pub(crate) fn backoff(retry: &RetryStrategy, attempt: i64) -> Duration {
    let b = retry.backoff.clone().unwrap_or_default();
    let base = b
        .duration
        .as_deref()
        .and_then(parse_duration)
        .unwrap_or(Duration::from_secs(5));
    let factor = b.factor.unwrap_or(2).max(1) as u32;
    let max = b
        .max_duration
        .as_deref()
        .and_then(parse_duration)
        .unwrap_or(Duration::from_secs(180));
    let mut wait = base;
    for _ in 0..attempt.clamp(0, 32) {
        wait = wait.saturating_mul(factor);
        if wait >= max {
            return max;
        }
    }
    wait.min(max)
}

/// A Go duration (`5s`, `1m30s`, `250ms`) or a number of seconds.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut total = 0f64;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..end].parse().ok()?;
        rest = &rest[end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            "us" | "µs" => 0.000_001,
            "ns" => 0.000_000_001,
            _ => return None,
        };
        total += number * scale;
        rest = &rest[unit_end..];
    }
    Some(Duration::from_secs_f64(total))
}

/// The Application as the operation renders it: at the operation's
/// revision(s) when it names them.
fn app_at_revision(
    app: &Application,
    sync: &SyncOperation,
    current: &[String],
) -> Option<Application> {
    let mut out = app.clone();
    let mut changed = false;
    // The operation's source(s) first (a rollback names the history entry's
    // source, whose targetRevision is usually a branch), then the revision
    // pinned on top of it: the other way round would sync the branch head.
    let mut replaced = false;
    if app.spec.has_multiple_sources() {
        if !sync.sources.is_empty() {
            out.spec.sources = sync.sources.clone();
            replaced = true;
        }
    } else if let Some(source) = &sync.source {
        out.spec.source = Some(source.clone());
        replaced = true;
    }
    changed |= replaced;
    if out.spec.has_multiple_sources() {
        for (i, source) in out.spec.sources.iter_mut().enumerate() {
            if let Some(r) = sync.revisions.get(i).filter(|r| !r.is_empty())
                && (replaced || current.get(i) != Some(r))
            {
                source.target_revision = Some(r.clone());
                changed = true;
            }
        }
    } else if !sync.revision.is_empty()
        && (replaced || current.first() != Some(&sync.revision))
        && let Some(source) = out.spec.source.as_mut()
    {
        source.target_revision = Some(sync.revision.clone());
        changed = true;
    }
    changed.then_some(out)
}

/// Starts a sync: plans it, records the plan's kinds, and persists the
/// running state in the Application before the first step.
pub(crate) async fn start(
    ctx: &Arc<Ctx>,
    key: &AppKey,
    object: &Arc<Value>,
    app: &Application,
    engine: &Engine,
    rendered: &Rendered,
    request: StartRequest,
) -> Result<()> {
    let sync = request.operation.sync.clone().unwrap_or_default();
    let started_at = status::now();
    let target = app_at_revision(app, &sync, &rendered.revisions());
    let rendered = match &target {
        Some(target) => {
            let (ctx2, target2) = (ctx.clone(), target.clone());
            let server = ctx
                .server_of(
                    app.spec.destination.server.as_deref(),
                    app.spec.destination.name.as_deref(),
                )
                .unwrap_or_default();
            let capabilities = ctx.capabilities(&server);
            tokio::task::spawn_blocking(move || {
                let renderer = ctx2.renderer();
                Rendered::from_result(renderer.render_for(&target2, &capabilities))
            })
            .await
            .map_err(|e| ControllerError::Task(e.to_string()))?
        }
        None => rendered.clone(),
    };
    let target_app = target.as_ref().unwrap_or(app);
    let mut op_state = OperationState {
        operation: request.operation.clone(),
        phase: OperationPhase::Running,
        message: String::new(),
        sync_result: Some(sync_result(app, &rendered, None)),
        started_at,
        finished_at: None,
        retry_count: request.retry_count,
        sync_state: None,
    };
    let state = match rendered.as_input() {
        Err(error) => Err(format!("rendering failed, nothing was synced: {error}")),
        Ok(_) => {
            let sync_request = SyncRequest {
                prune: sync.prune,
                // Git is the source of truth: fields someone changed by hand
                // are taken back, as Argo CD's server-side apply does.
                force: true,
                id: format!("{}-{}", key.name, op_state.started_at.0.as_second()),
            };
            match engine
                .plan_sync(target_app, rendered.as_input(), &sync_request)
                .await
            {
                Ok((_, state)) => Ok(state),
                Err(e) => Err(e.to_string()),
            }
        }
    };
    let mut state = match state {
        Ok(state) => state,
        Err(message) => {
            op_state.phase = OperationPhase::Error;
            op_state.message = message;
            return finish(ctx, key, object, app, op_state, None).await;
        }
    };
    if sync.dry_run {
        let applies = state
            .plan
            .tasks
            .iter()
            .filter(|t| t.action == Action::Apply && t.out_of_sync)
            .count();
        let prunes = state
            .plan
            .tasks
            .iter()
            .filter(|t| t.action == Action::Prune)
            .count();
        op_state.phase = OperationPhase::Succeeded;
        op_state.message = format!("dry run: {applies} to apply, {prunes} to prune");
        state.phase = OperationPhase::Succeeded;
        return finish(ctx, key, object, app, op_state, Some(&state)).await;
    }
    engine.begin(target_app, &state).await?;
    op_state.message = "sync started".into();
    op_state.sync_state = Some(serde_json::to_string(&state).map_err(json("sync state"))?);
    let mut status = ctx.status_of(key, object);
    status.operation_state = Some(op_state);
    status::write(ctx, key, object, status, true).await?;
    lock(&ctx.sync_started).insert(key.clone(), Instant::now());
    info!(app = %key, revision = %short(&rendered.revisions()), automated = request.operation.initiated_by.automated, "sync started");
    crate::events::record(
        ctx,
        key,
        "Normal",
        "OperationStarted",
        &format!("sync to {} started", short(&rendered.revisions())),
    )
    .await;
    Ok(())
}

/// Advances a running sync: steps until it waits or finishes, persisting
/// the state after every step.
pub(crate) async fn resume(
    ctx: &Arc<Ctx>,
    key: &AppKey,
    object: &Arc<Value>,
    app: &Application,
    engine: &Engine,
    mut op_state: OperationState,
) -> Result<Option<Duration>> {
    let mut state: SyncState = match op_state.sync_state.as_deref().map(serde_json::from_str) {
        Some(Ok(state)) => state,
        Some(Err(e)) => {
            op_state.phase = OperationPhase::Error;
            op_state.message = format!("the recorded sync state is unreadable: {e}");
            finish(ctx, key, object, app, op_state, None).await?;
            return Ok(Some(Duration::ZERO));
        }
        None => {
            op_state.phase = OperationPhase::Error;
            op_state.message = "the sync was interrupted before it was planned".into();
            finish(ctx, key, object, app, op_state, None).await?;
            return Ok(Some(Duration::ZERO));
        }
    };
    let id = trellis_engine::app_id(app);
    for _ in 0..64 {
        let before = progress(&state);
        let mut messages = Vec::new();
        let outcome = engine
            .step(&id, &mut state, &mut |event| match event {
                SyncEvent::Failed(m) => messages.push(m),
                SyncEvent::GroupStarted { stage, wave, .. } => {
                    messages.push(format!("{stage} wave {wave} started"))
                }
                SyncEvent::GroupDone { .. } => {}
            })
            .await?;
        if ctx.should_abort() {
            // A real SIGKILL: no destructor, no flush, no status write.
            warn!(app = %key, "killing this process after a sync step (test hook)");
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &std::process::id().to_string()])
                .status();
            std::process::abort();
        }
        if outcome == StepOutcome::Done {
            op_state.phase = state.phase;
            op_state.message = state.message.clone();
            finish(ctx, key, object, app, op_state, Some(&state)).await?;
            return Ok(Some(Duration::ZERO));
        }
        if let Some(m) = messages.last() {
            op_state.message = m.clone();
        }
        // A step that only looked at health changed nothing worth a write:
        // the persisted state is what a resumed sync needs, not every
        // health message on the way.
        if progress(&state) != before || !messages.is_empty() {
            op_state.sync_state = Some(serde_json::to_string(&state).map_err(json("sync state"))?);
            let mut status = ctx.status_of(key, object);
            status.operation_state = Some(op_state.clone());
            status::write(ctx, key, object, status, false).await?;
        }
        lock(&ctx.sync_states).insert(key.clone(), state.clone());
        if outcome == StepOutcome::Waiting {
            return Ok(Some(ctx.options.engine.poll_interval));
        }
    }
    Ok(Some(Duration::ZERO))
}

/// What a persisted sync state must record: where the sync is and what
/// each task came to (health messages aside).
fn progress(state: &SyncState) -> (usize, bool, bool, OperationPhase, Vec<TaskStatus>) {
    (
        state.cursor,
        state.started_ms.is_some(),
        state.failed,
        state.phase,
        state.results.iter().map(|r| r.status).collect(),
    )
}

fn sync_result(
    app: &Application,
    rendered: &Rendered,
    state: Option<&SyncState>,
) -> SyncOperationResult {
    let multi = app.spec.has_multiple_sources();
    let revisions = rendered.revisions();
    let resources = state
        .map(|s| {
            s.plan
                .tasks
                .iter()
                .zip(&s.results)
                .filter(|(t, _)| t.action != Action::CreateNamespace)
                .filter_map(|(t, r)| {
                    let status = match r.status {
                        TaskStatus::Synced | TaskStatus::Succeeded | TaskStatus::Running => {
                            ResultCode::Synced
                        }
                        TaskStatus::Pruned => ResultCode::Pruned,
                        TaskStatus::Failed => ResultCode::SyncFailed,
                        TaskStatus::Pending | TaskStatus::Skipped => {
                            if t.action == Action::Prune {
                                ResultCode::PruneSkipped
                            } else {
                                return None;
                            }
                        }
                    };
                    let version = t
                        .object
                        .as_ref()
                        .and_then(|o| o.get("apiVersion"))
                        .and_then(Value::as_str)
                        .map(|v| v.rsplit('/').next().unwrap_or(v).to_string())
                        .unwrap_or_default();
                    let phase = match t.phase {
                        Phase::PreSync => SyncPhase::PreSync,
                        Phase::Sync => SyncPhase::Sync,
                        Phase::PostSync => SyncPhase::PostSync,
                        Phase::SyncFail => SyncPhase::SyncFail,
                    };
                    let hook = t.action == Action::Hook;
                    Some(ResourceResult {
                        group: t.key.group.clone(),
                        version,
                        kind: t.key.kind.clone(),
                        namespace: t.key.namespace.clone(),
                        name: t.key.name.clone(),
                        status: Some(status),
                        message: r.message.clone(),
                        hook_type: hook.then_some(match t.phase {
                            Phase::PreSync => HookType::PreSync,
                            Phase::Sync => HookType::Sync,
                            Phase::PostSync => HookType::PostSync,
                            Phase::SyncFail => HookType::SyncFail,
                        }),
                        hook_phase: hook.then_some(match r.status {
                            TaskStatus::Failed => OperationPhase::Failed,
                            TaskStatus::Running => OperationPhase::Running,
                            _ => OperationPhase::Succeeded,
                        }),
                        sync_phase: Some(phase),
                        images: Vec::new(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    SyncOperationResult {
        resources,
        revision: if multi {
            String::new()
        } else {
            revisions.first().cloned().unwrap_or_default()
        },
        source: if multi { None } else { app.spec.source.clone() },
        sources: if multi {
            app.spec.sources.clone()
        } else {
            Vec::new()
        },
        revisions: if multi { revisions } else { Vec::new() },
        managed_namespace_metadata: None,
    }
}

/// Records a finished sync: phase, results, history, events; clears the
/// requested operation first, so a crash in between never runs it twice.
async fn finish(
    ctx: &Arc<Ctx>,
    key: &AppKey,
    object: &Arc<Value>,
    app: &Application,
    mut op_state: OperationState,
    state: Option<&SyncState>,
) -> Result<()> {
    if let Some(op) = &app.operation {
        lock(&ctx.finished).insert(key.clone(), op.clone());
        let patch = json!({"operation": null});
        ctx.cluster
            .merge_patch(&key.resource(), &patch, false)
            .await?;
    }
    op_state.finished_at = Some(status::now());
    op_state.sync_state = None;
    lock(&ctx.sync_states).remove(key);
    ctx.release_sync_slot(key);
    if let Some(state) = state {
        let mut result = op_state.sync_result.clone().unwrap_or_default();
        result.resources = sync_result(
            app,
            &Rendered {
                manifests: Err(String::new()),
                sources: Vec::new(),
            },
            Some(state),
        )
        .resources;
        op_state.sync_result = Some(result);
    }
    let mut status = ctx.status_of(key, object);
    let dry_run = op_state.operation.sync.as_ref().is_some_and(|s| s.dry_run);
    if op_state.phase == OperationPhase::Succeeded && !dry_run {
        let id = status.history.iter().map(|h| h.id).max().unwrap_or(-1) + 1;
        let result = op_state.sync_result.clone().unwrap_or_default();
        status.history.push(RevisionHistory {
            revision: result.revision.clone(),
            deployed_at: status::now(),
            id,
            source: result.source.clone(),
            deploy_started_at: Some(op_state.started_at.clone()),
            sources: result.sources.clone(),
            revisions: result.revisions.clone(),
            initiated_by: op_state.operation.initiated_by.clone(),
        });
        let limit = app
            .spec
            .revision_history_limit
            .map(|l| l.max(0) as usize)
            .unwrap_or(ctx.options.history_limit);
        let excess = status.history.len().saturating_sub(limit);
        status.history.drain(..excess);
    }
    let phase = op_state.phase;
    let message = op_state.message.clone();
    status.operation_state = Some(op_state);
    status::write(ctx, key, object, status, true).await?;
    let elapsed = lock(&ctx.sync_started)
        .remove(key)
        .map(|t| t.elapsed())
        .unwrap_or_default();
    ctx.metrics.sync_finished(&format!("{phase:?}"), elapsed);
    let (kind, reason) = match phase {
        OperationPhase::Succeeded => ("Normal", "OperationCompleted"),
        _ => ("Warning", "OperationFailed"),
    };
    info!(app = %key, phase = ?phase, %message, "sync finished");
    crate::events::record(
        ctx,
        key,
        kind,
        reason,
        &format!("sync {phase:?}: {message}"),
    )
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use trellis_model::application::Backoff;

    fn single_source_app(target: &str) -> Application {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "trellis.dev/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "web", "namespace": "trellis"},
            "spec": {
                "project": "default",
                "source": {"repoURL": "https://git.example.com/r.git", "path": "web", "targetRevision": target},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"},
            },
        }))
        .unwrap()
    }

    #[test]
    fn a_rollback_pins_the_history_revision_on_the_history_source() {
        let app = single_source_app("main");
        let old = "1111111111111111111111111111111111111111";
        let mut history_source = app.spec.source.clone().unwrap();
        history_source.path = Some("web-old".into());
        let rollback = SyncOperation {
            revision: old.into(),
            source: Some(history_source),
            ..SyncOperation::default()
        };
        let target = app_at_revision(&app, &rollback, &["2222".into()]).unwrap();
        let source = target.spec.source.unwrap();
        assert_eq!(source.target_revision.as_deref(), Some(old));
        assert_eq!(source.path.as_deref(), Some("web-old"));
        // Even when the rendered revision is already the requested one, the
        // history's source is what gets synced.
        let same = app_at_revision(&app, &rollback, &[old.into()]).unwrap();
        assert_eq!(
            same.spec.source.unwrap().target_revision.as_deref(),
            Some(old)
        );
        // A plain sync to the revision already rendered changes nothing.
        let plain = SyncOperation {
            revision: old.into(),
            ..SyncOperation::default()
        };
        assert!(app_at_revision(&app, &plain, &[old.into()]).is_none());
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_duration("5 parsecs"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let retry = RetryStrategy {
            limit: 5,
            backoff: Some(Backoff {
                duration: Some("1s".into()),
                factor: Some(2),
                max_duration: Some("5s".into()),
            }),
            ..RetryStrategy::default()
        };
        let waits: Vec<u64> = (0..5).map(|n| backoff(&retry, n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 5, 5]);
        assert!(retries_left(&retry, 4));
        assert!(!retries_left(&retry, 5));
        let unlimited = RetryStrategy {
            limit: -1,
            ..RetryStrategy::default()
        };
        assert!(retries_left(&unlimited, 1000));
    }
}
