//! Executing a plan: a step function over a serializable [`SyncState`].
//!
//! Each [`Engine::step`] does one thing — run the tasks of the next group
//! (one wave of one phase), or check whether the running group is done — and
//! records it in the state. A caller that persists the state between steps
//! can stop at any point and resume later (in another process too) without
//! re-running the hooks of a group already started.
//!
//! A group is done when each of its resources is Healthy (or Suspended) and
//! each hook has completed; it fails at once when one is Degraded (a failed
//! hook Job, a crash-looping Pod), and when the health or hook timeout of
//! [`crate::EngineOptions`] passes. After a failure only SyncFail hooks run.
//!
//! # Deviation
//! Argo CD keeps waiting on a Degraded (non-hook) resource until the
//! operation is terminated; Trellis fails the sync with the resource's
//! message, so a pipeline learns of a broken rollout without a timeout.
//! Hooks that only carry `generateName` get a name fixed for the sync
//! (`generateName` plus five characters derived from the sync's id) instead
//! of a server-generated one, so a retried or resumed step applies the same
//! object and each hook is created exactly once.

use std::ops::Range;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use trellis_kube::{ApplyOptions, Propagation};
use trellis_model::status::OperationPhase;
use trellis_model::{Application, HealthStatusCode, Manifest};

use crate::compare::{Comparison, ResourceSync};
use crate::engine::{Engine, app_id};
use crate::error::Result;
use crate::health::{self, Health};
use crate::plan::{
    Action, DeletePolicy, Desired, DesiredResource, ExtraResource, Plan, ResourceOptions,
    SyncOptions, Task, plan,
};
use crate::tracking::AppId;

/// What the caller asks of a sync.
#[derive(Debug, Clone, Default)]
pub struct SyncRequest {
    /// Delete extra resources.
    pub prune: bool,
    /// Take over fields other managers own.
    pub force: bool,
    /// Names this sync (hooks with `generateName` get it as suffix); a
    /// time-derived id when empty.
    pub id: String,
}

/// The state of one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskStatus {
    /// Not started.
    Pending,
    /// Applied or created; waiting to be healthy or complete.
    Running,
    /// Applied and healthy.
    Synced,
    /// Deleted.
    Pruned,
    /// A hook that completed.
    Succeeded,
    /// Failed; the message says why.
    Failed,
    /// Not run (an earlier failure, or a SyncFail hook of a sync that did
    /// not fail).
    Skipped,
}

/// The result of one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    /// Its status.
    pub status: TaskStatus,
    /// What happened.
    pub message: String,
    /// The last health seen.
    pub health: Option<Health>,
}

/// A sync in progress or finished; serializable so it can be persisted
/// between steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncState {
    /// The plan.
    pub plan: Plan,
    /// One result per task of the plan.
    pub results: Vec<TaskResult>,
    /// The group being run (index into [`SyncState::groups`]).
    pub cursor: usize,
    /// When the current group's tasks were started (ms since the epoch);
    /// `None` before they are.
    pub started_ms: Option<u64>,
    /// Running, Succeeded or Failed.
    pub phase: OperationPhase,
    /// Why the sync failed, or a summary.
    pub message: String,
    /// Whether a task failed (then only SyncFail hooks still run).
    pub failed: bool,
    /// Propagation policy of prunes.
    pub propagation: Propagation,
}

/// What a step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// Something changed; step again at once.
    Progressed,
    /// Waiting for health or hooks; step again after the poll interval.
    Waiting,
    /// The sync is finished.
    Done,
}

/// Progress of a sync, for display.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncEvent {
    /// A group's tasks start.
    GroupStarted {
        /// `PreSync`, `Sync`, `Prune`, `PostSync`, `PruneLast` or `SyncFail`.
        stage: &'static str,
        /// The wave.
        wave: i32,
        /// The resources, as `Kind ns/name`.
        resources: Vec<String>,
    },
    /// A group is done (healthy, complete or pruned).
    GroupDone {
        /// The stage.
        stage: &'static str,
        /// The wave.
        wave: i32,
    },
    /// The sync failed.
    Failed(String),
}

fn stage_name(stage: u8) -> &'static str {
    match stage {
        0 => "PreSync",
        1 => "Sync",
        2 => "Prune",
        3 => "PostSync",
        4 => "PruneLast",
        _ => "SyncFail",
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

impl SyncState {
    /// A state that starts the plan from the beginning.
    pub fn new(plan: Plan, propagation: Propagation) -> Self {
        let results = plan
            .tasks
            .iter()
            .map(|_| TaskResult {
                status: TaskStatus::Pending,
                message: String::new(),
                health: None,
            })
            .collect();
        Self {
            plan,
            results,
            cursor: 0,
            started_ms: None,
            phase: OperationPhase::Running,
            message: String::new(),
            failed: false,
            propagation,
        }
    }

    /// The task groups, in order: consecutive tasks with one group key.
    pub fn groups(&self) -> Vec<Range<usize>> {
        let mut out: Vec<Range<usize>> = Vec::new();
        for (i, task) in self.plan.tasks.iter().enumerate() {
            match out.last_mut() {
                Some(r) if self.plan.tasks[r.start].group_key() == task.group_key() => {
                    r.end = i + 1
                }
                _ => out.push(i..i + 1),
            }
        }
        out
    }

    /// Whether the sync has finished.
    pub fn is_done(&self) -> bool {
        self.phase != OperationPhase::Running
    }

    fn fail(&mut self, message: String) {
        if !self.failed {
            self.failed = true;
            self.message = message;
        }
    }
}

/// The sync options of an application for one request.
pub fn sync_options(
    engine: &Engine,
    app: &Application,
    request: &SyncRequest,
) -> (SyncOptions, Propagation) {
    let policy = app.spec.sync_policy.clone().unwrap_or_default();
    let on = |key: &str| {
        policy
            .option(key)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    };
    let propagation = match policy.option("PrunePropagationPolicy") {
        Some("foreground") => Propagation::Foreground,
        Some("orphan") => Propagation::Orphan,
        _ => Propagation::Background,
    };
    let id = if request.id.is_empty() {
        format!("{:x}", now_ms())
    } else {
        request.id.clone()
    };
    let suffix: String = {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("{}/{}", app_id(app), id).as_bytes());
        digest
            .iter()
            .take(3)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()[..5]
            .to_string()
    };
    let options = SyncOptions {
        prune: request.prune,
        allow_empty: policy.automated.as_ref().is_some_and(|a| a.allow_empty),
        apply_out_of_sync_only: on("ApplyOutOfSyncOnly"),
        create_namespace: on("CreateNamespace").then(|| engine.destination_namespace(app)),
        defaults: ResourceOptions {
            replace: on("Replace"),
            force: request.force,
            skip_validation: policy.option("Validate") == Some("false"),
            prune_last: on("PruneLast"),
            ..ResourceOptions::default()
        },
        propagation,
        hook_suffix: suffix,
    };
    (options, propagation)
}

impl Engine {
    /// Compares an application and plans its sync. A failed render yields
    /// the comparison and a [`crate::plan::PlanError::RenderFailed`] error:
    /// nothing is applied or deleted.
    pub async fn plan_sync(
        &self,
        app: &Application,
        rendered: std::result::Result<&[Manifest], &str>,
        request: &SyncRequest,
    ) -> Result<(Comparison, SyncState)> {
        let comparison = self.compare(app, rendered).await?;
        let (options, propagation) = sync_options(self, app, request);
        let desired =
            match &comparison.render_error {
                Some(message) => Desired::Failed(message.clone()),
                None => {
                    let mut resources: Vec<DesiredResource> = comparison
                        .resources
                        .iter()
                        .filter_map(|r| {
                            Some(DesiredResource {
                                key: r.key.clone(),
                                object: r.desired.clone()?,
                                out_of_sync: r.status != ResourceSync::Synced,
                            })
                        })
                        .collect();
                    resources.extend(comparison.hooks.iter().map(|(key, object)| {
                        DesiredResource {
                            key: key.clone(),
                            object: object.clone(),
                            out_of_sync: true,
                        }
                    }));
                    Desired::Rendered(resources)
                }
            };
        let extra: Vec<ExtraResource> = comparison
            .resources
            .iter()
            .filter(|r| r.status == ResourceSync::Extra)
            .filter_map(|r| {
                Some(ExtraResource {
                    key: r.key.clone(),
                    live: (**r.live.as_ref()?).clone(),
                })
            })
            .collect();
        let plan = plan(&desired, &extra, &options)?;
        Ok((comparison, SyncState::new(plan, propagation)))
    }

    /// Records the plan's kinds in the application's inventory; call once
    /// before the first step.
    pub async fn begin(&self, app: &Application, state: &SyncState) -> Result<()> {
        let kinds = state
            .plan
            .tasks
            .iter()
            .filter(|t| matches!(t.action, Action::Apply | Action::Hook))
            .map(|t| trellis_kube::GroupKind::new(t.key.group.clone(), t.key.kind.clone()));
        self.record_inventory(&app_id(app), kinds).await
    }

    /// Runs steps until the sync is done, waiting the poll interval
    /// whenever a step waits.
    pub async fn run(
        &self,
        app: &Application,
        state: &mut SyncState,
        events: &mut (dyn FnMut(SyncEvent) + Send),
    ) -> Result<()> {
        let id = app_id(app);
        loop {
            match self.step(&id, state, events).await? {
                StepOutcome::Progressed => {}
                StepOutcome::Waiting => tokio::time::sleep(self.options.poll_interval).await,
                StepOutcome::Done => return Ok(()),
            }
        }
    }

    /// Advances a sync by one step.
    pub async fn step(
        &self,
        id: &AppId,
        state: &mut SyncState,
        events: &mut (dyn FnMut(SyncEvent) + Send),
    ) -> Result<StepOutcome> {
        if state.is_done() {
            return Ok(StepOutcome::Done);
        }
        let groups = state.groups();
        // Skip groups that do not run: SyncFail unless failed, the rest if so.
        while let Some(group) = groups.get(state.cursor) {
            let stage = state.plan.tasks[group.start].stage();
            if (stage == 5) == state.failed {
                break;
            }
            if state.started_ms.is_some() {
                // A group was running when the sync failed: it is abandoned.
                state.started_ms = None;
            }
            for i in group.clone() {
                if state.results[i].status == TaskStatus::Pending {
                    state.results[i].status = TaskStatus::Skipped;
                }
            }
            state.cursor += 1;
        }
        let Some(group) = groups.get(state.cursor).cloned() else {
            state.phase = if state.failed {
                OperationPhase::Failed
            } else {
                if state.message.is_empty() {
                    state.message = "successfully synced".into();
                }
                OperationPhase::Succeeded
            };
            return Ok(StepOutcome::Done);
        };
        let first = &state.plan.tasks[group.start];
        let (stage, wave) = (stage_name(first.stage()), first.wave);
        let Some(started) = state.started_ms else {
            events(SyncEvent::GroupStarted {
                stage,
                wave,
                resources: group
                    .clone()
                    .map(|i| state.plan.tasks[i].key.to_string())
                    .collect(),
            });
            let mut failure = None;
            for i in group.clone() {
                let task = state.plan.tasks[i].clone();
                let result = self.execute(id, &task, state.propagation).await;
                state.results[i] = match result {
                    Ok(r) => r,
                    Err(message) => {
                        failure.get_or_insert_with(|| format!("{}: {message}", task.key));
                        TaskResult {
                            status: TaskStatus::Failed,
                            message,
                            health: None,
                        }
                    }
                };
            }
            if let Some(message) = failure {
                self.finish_group(id, state, group, Some(message), events)
                    .await;
            } else {
                state.started_ms = Some(now_ms());
            }
            return Ok(StepOutcome::Progressed);
        };
        // The group runs: is it done?
        let mut waiting = Vec::new();
        let mut failure = None;
        for i in group.clone() {
            let task = state.plan.tasks[i].clone();
            if matches!(
                state.results[i].status,
                TaskStatus::Pruned
                    | TaskStatus::Synced
                    | TaskStatus::Succeeded
                    | TaskStatus::Failed
            ) {
                continue;
            }
            let live = self.cluster().get(&task.key).await?;
            let health = health::assess(live.as_ref());
            let result = &mut state.results[i];
            result.health = Some(health.clone());
            match (task.action, health.status) {
                (_, HealthStatusCode::Healthy) => {
                    result.status = if task.action == Action::Hook {
                        TaskStatus::Succeeded
                    } else {
                        TaskStatus::Synced
                    };
                }
                (Action::Apply | Action::CreateNamespace, HealthStatusCode::Suspended) => {
                    result.status = TaskStatus::Synced;
                }
                (_, HealthStatusCode::Degraded) => {
                    result.status = TaskStatus::Failed;
                    result.message = health.message.clone();
                    failure.get_or_insert_with(|| {
                        let what = if task.action == Action::Hook {
                            "hook failed"
                        } else {
                            "degraded"
                        };
                        format!("{} {what}: {}", task.key, health.message)
                    });
                }
                _ => waiting.push((task.key.to_string(), health, task.action == Action::Hook)),
            }
        }
        if failure.is_none() && !waiting.is_empty() {
            let elapsed = Duration::from_millis(now_ms().saturating_sub(started));
            let any_hook = waiting.iter().any(|(_, _, hook)| *hook);
            let limit = if any_hook {
                self.options.hook_timeout
            } else {
                self.options.health_timeout
            };
            if elapsed < limit {
                return Ok(StepOutcome::Waiting);
            }
            let detail: Vec<String> = waiting
                .iter()
                .map(|(k, h, _)| {
                    format!("{k}: {:?} {}", h.status, h.message)
                        .trim_end()
                        .to_string()
                })
                .collect();
            failure = Some(format!(
                "{stage} wave {wave} not healthy after {:?}: {}",
                limit,
                detail.join("; ")
            ));
            for i in group.clone() {
                if state.results[i].status == TaskStatus::Running {
                    state.results[i].status = TaskStatus::Failed;
                    state.results[i].message = "timed out".into();
                }
            }
        }
        self.finish_group(id, state, group, failure, events).await;
        Ok(StepOutcome::Progressed)
    }

    /// Closes a group: hook delete policies, events, failure, cursor.
    async fn finish_group(
        &self,
        id: &AppId,
        state: &mut SyncState,
        group: Range<usize>,
        failure: Option<String>,
        events: &mut (dyn FnMut(SyncEvent) + Send),
    ) {
        let first = &state.plan.tasks[group.start];
        let (stage, wave) = (stage_name(first.stage()), first.wave);
        for i in group.clone() {
            let task = &state.plan.tasks[i];
            if task.action != Action::Hook {
                continue;
            }
            let policy = match state.results[i].status {
                TaskStatus::Succeeded => DeletePolicy::HookSucceeded,
                TaskStatus::Failed => DeletePolicy::HookFailed,
                _ => continue,
            };
            if task.delete_policies.contains(&policy) {
                match self
                    .cluster()
                    .delete(&task.key, Propagation::Background)
                    .await
                {
                    Ok(_) => self.wrote(id, &task.key, None),
                    Err(e) => tracing::warn!(hook = %task.key, error = %e, "cannot delete hook"),
                }
            }
        }
        match failure {
            Some(message) => {
                events(SyncEvent::Failed(message.clone()));
                state.fail(message);
            }
            None => events(SyncEvent::GroupDone { stage, wave }),
        }
        state.started_ms = None;
        state.cursor += 1;
    }

    /// Runs one task's write. Errors are the task's failure message.
    async fn execute(
        &self,
        id: &AppId,
        task: &Task,
        propagation: Propagation,
    ) -> std::result::Result<TaskResult, String> {
        let running = |message: &str| TaskResult {
            status: TaskStatus::Running,
            message: message.to_string(),
            health: None,
        };
        let options = ApplyOptions {
            force: task.options.force,
            validate: !task.options.skip_validation,
            ..ApplyOptions::default()
        };
        let object: &Value = match (&task.object, task.action) {
            (_, Action::Prune) => &Value::Null,
            (Some(o), _) => o,
            (None, _) => return Err("no object to apply".into()),
        };
        match task.action {
            Action::Prune => {
                self.cluster()
                    .delete(&task.key, propagation)
                    .await
                    .map_err(|e| e.to_string())?;
                self.wrote(id, &task.key, None);
                Ok(TaskResult {
                    status: TaskStatus::Pruned,
                    message: "pruned".into(),
                    health: None,
                })
            }
            Action::CreateNamespace => {
                if self
                    .cluster()
                    .get(&task.key)
                    .await
                    .map_err(|e| e.to_string())?
                    .is_none()
                {
                    self.cluster()
                        .apply(object, &options)
                        .await
                        .map_err(|e| e.to_string())?;
                    return Ok(running("namespace created"));
                }
                Ok(running("namespace exists"))
            }
            Action::Hook => {
                if task
                    .delete_policies
                    .contains(&DeletePolicy::BeforeHookCreation)
                    && self
                        .cluster()
                        .get(&task.key)
                        .await
                        .map_err(|e| e.to_string())?
                        .is_some()
                {
                    self.cluster()
                        .delete(&task.key, Propagation::Background)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                let stored = self
                    .cluster()
                    .apply(object, &options)
                    .await
                    .map_err(|e| e.to_string())?;
                self.wrote(id, &task.key, Some(&stored));
                Ok(running("hook created"))
            }
            Action::Apply => {
                let stored = if task.options.replace {
                    self.cluster().replace(object, &options).await
                } else {
                    self.cluster().apply(object, &options).await
                }
                .map_err(|e| e.to_string())?;
                self.wrote(id, &task.key, Some(&stored));
                Ok(running(if task.out_of_sync {
                    "applied"
                } else {
                    "unchanged"
                }))
            }
        }
    }
}
