//! `trellis sync`: make the cluster match an application.

use std::io::Write;
use std::time::Duration;

use anyhow::Result;
use trellis_engine::EngineOptions;
use trellis_engine::plan::Action;
use trellis_engine::sync::{SyncEvent, SyncRequest, SyncState, TaskStatus};
use trellis_model::status::OperationPhase;
use trellis_render::AppRenderer;

use crate::Outcome;
use crate::cli::SyncArgs;
use crate::kubeclient::{kind_label, runtime, target, write_table};
use crate::progress::Progress;

/// Plans and runs a sync, printing each wave on stderr and a table of the
/// resources at the end: exit 0 when it succeeded, 3 when it failed. With
/// `--dry-run`, prints the plan and changes nothing.
pub fn run(
    args: &SyncArgs,
    renderer: &AppRenderer,
    progress: &Progress,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let options = EngineOptions {
        health_timeout: args.timeout,
        hook_timeout: args.timeout,
        poll_interval: Duration::from_millis(250),
        ..EngineOptions::default()
    };
    let request = SyncRequest {
        prune: args.prune,
        force: args.force,
        id: String::new(),
    };
    let rt = runtime()?;
    rt.block_on(async {
        let target = target(&args.target, renderer, options).await?;
        progress.finish();
        if let Err(error) = target.rendered() {
            eprintln!("error: rendering failed, nothing is synced or pruned: {error}");
            return Ok(Outcome::Failed);
        }
        let (_, mut state) = target
            .engine
            .plan_sync(&target.app, target.rendered(), &request)
            .await?;
        if let Some(reason) = &state.plan.prune_skipped {
            eprintln!("warning: {reason}");
        }
        if args.dry_run {
            write_plan(out, &state)?;
            return Ok(Outcome::Clean);
        }
        target.engine.begin(&target.app, &state).await?;
        let mut report = |event: SyncEvent| match event {
            SyncEvent::GroupStarted {
                stage,
                wave,
                resources,
            } => {
                eprintln!("{stage} wave {wave}: {}", resources.join(", "));
            }
            SyncEvent::GroupDone { stage, wave } => eprintln!("{stage} wave {wave}: done"),
            SyncEvent::Failed(message) => eprintln!("failed: {message}"),
        };
        target
            .engine
            .run(&target.app, &mut state, &mut report)
            .await?;
        write_results(out, &state)?;
        Ok(if state.phase == OperationPhase::Succeeded {
            Outcome::Clean
        } else {
            eprintln!("error: sync failed: {}", state.message);
            Outcome::Failed
        })
    })
}

fn action_label(action: Action) -> &'static str {
    match action {
        Action::Apply => "apply",
        Action::Hook => "hook",
        Action::Prune => "prune",
        Action::CreateNamespace => "create namespace",
    }
}

fn write_plan(out: &mut dyn Write, state: &SyncState) -> Result<()> {
    let rows: Vec<[String; 6]> = state
        .plan
        .tasks
        .iter()
        .map(|t| {
            [
                kind_label(&t.key),
                t.key.namespace.clone(),
                t.key.name.clone(),
                format!("{:?}", t.phase),
                t.wave.to_string(),
                if t.action == Action::Apply && !t.out_of_sync {
                    "apply (unchanged)".to_string()
                } else {
                    action_label(t.action).to_string()
                },
            ]
        })
        .collect();
    let header = ["KIND", "NAMESPACE", "NAME", "PHASE", "WAVE", "ACTION"];
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.to_vec()).collect();
    crate::output::write_table(out, &header, &rows, "")
}

fn write_results(out: &mut dyn Write, state: &SyncState) -> Result<()> {
    let rows: Vec<[String; 6]> = state
        .plan
        .tasks
        .iter()
        .zip(&state.results)
        .filter(|(t, _)| t.action != Action::CreateNamespace)
        .map(|(t, r)| {
            let status = match r.status {
                TaskStatus::Synced => "Synced",
                TaskStatus::Pruned => "Pruned",
                TaskStatus::Succeeded => "Succeeded",
                TaskStatus::Failed => "Failed",
                TaskStatus::Skipped => "Skipped",
                TaskStatus::Running => "Running",
                TaskStatus::Pending => "Pending",
            };
            let health = r
                .health
                .as_ref()
                .map(|h| format!("{:?}", h.status))
                .unwrap_or_default();
            let message = match &r.health {
                Some(h) if !h.message.is_empty() && r.message.is_empty() => h.message.clone(),
                _ => r.message.clone(),
            };
            [
                kind_label(&t.key),
                t.key.namespace.clone(),
                t.key.name.clone(),
                status.into(),
                health,
                message,
            ]
        })
        .collect();
    write_table(out, &rows)
}
