//! Following an operation (a sync or rollback) the controller runs: its
//! progress on stderr, its results as a table on stdout, its outcome as
//! the exit code.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use anyhow::Result;
use trellis_model::status::{OperationPhase, OperationState, ResultCode};

use super::client::{AppObject, AppRef, RemoteClient};
use super::{short_revision, table};
use crate::Outcome;

/// How often the application is read while an operation runs.
const POLL: Duration = Duration::from_millis(500);
/// How long after the request is cleared an unchanged state is taken as
/// the request's.
const SETTLE: Duration = Duration::from_secs(3);

/// What identifies the operation state that was there before a request,
/// so the one the request produces can be told from it.
#[derive(Debug, Clone, PartialEq)]
struct Mark {
    started_at: String,
    finished_at: Option<String>,
    operation: serde_json::Value,
}

fn mark(state: Option<&OperationState>) -> Option<Mark> {
    state.map(|s| Mark {
        started_at: s.started_at.0.to_string(),
        finished_at: s.finished_at.as_ref().map(|t| t.0.to_string()),
        operation: serde_json::to_value(&s.operation).unwrap_or_default(),
    })
}

/// Waits until the operation requested in `requested` (the application as
/// the request stored it) has finished, at most `timeout`: prints each
/// phase and resource result on stderr as they come, then the results
/// table on stdout. Exit 0 when it succeeded, 3 when it failed or did not
/// finish in time.
pub async fn follow(
    client: &RemoteClient,
    app: &AppRef,
    requested: &AppObject,
    what: &str,
    timeout: std::time::Duration,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let before = mark(
        requested
            .app
            .status
            .as_ref()
            .and_then(|s| s.operation_state.as_ref()),
    );
    let deadline = tokio::time::Instant::now() + timeout;
    let mut shown_phase: Option<OperationPhase> = None;
    let mut shown: BTreeMap<String, String> = BTreeMap::new();
    let mut cleared_at: Option<tokio::time::Instant> = None;
    loop {
        let current = client.application(app).await?;
        let state = current
            .app
            .status
            .as_ref()
            .and_then(|s| s.operation_state.as_ref());
        // The controller clears the request when it is done with it and
        // writes the state the request produced right after; a state that
        // still looks like the one before is taken as ours only after a
        // grace period (a request that failed at once, or one just like
        // the previous in the same second).
        if current.app.operation.is_none() && cleared_at.is_none() {
            cleared_at = Some(tokio::time::Instant::now());
        }
        let settled = cleared_at.is_some_and(|t| t.elapsed() >= SETTLE);
        let ours = state.filter(|_| mark(state) != before || settled);
        if let Some(state) = ours {
            if shown_phase != Some(state.phase) {
                eprintln!("{what} {app}: {:?}", state.phase);
                shown_phase = Some(state.phase);
            }
            for r in state
                .sync_result
                .as_ref()
                .map(|r| r.resources.as_slice())
                .unwrap_or_default()
            {
                let key = format!(
                    "{} {}",
                    table::kind_label(&r.group, &r.kind),
                    if r.namespace.is_empty() {
                        r.name.clone()
                    } else {
                        format!("{}/{}", r.namespace, r.name)
                    }
                );
                let text = result_text(r.status, r.hook_phase, &r.message);
                if !text.is_empty() && shown.get(&key) != Some(&text) {
                    eprintln!("  {key}: {text}");
                    shown.insert(key, text);
                }
            }
            let finished = matches!(
                state.phase,
                OperationPhase::Succeeded | OperationPhase::Failed | OperationPhase::Error
            );
            if finished && current.app.operation.is_none() {
                write_results(out, &current, state)?;
                return Ok(if state.phase == OperationPhase::Succeeded {
                    let revision = state
                        .sync_result
                        .as_ref()
                        .map(|r| {
                            if r.revisions.is_empty() {
                                short_revision(&r.revision)
                            } else {
                                r.revisions
                                    .iter()
                                    .map(|r| short_revision(r))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            }
                        })
                        .unwrap_or_default();
                    if revision.is_empty() {
                        eprintln!("{what} {app} succeeded");
                    } else {
                        eprintln!("{what} {app} succeeded at {revision}");
                    }
                    Outcome::Clean
                } else {
                    eprintln!(
                        "error: {what} {app} {}: {}",
                        if state.phase == OperationPhase::Error {
                            "errored"
                        } else {
                            "failed"
                        },
                        state.message
                    );
                    Outcome::Failed
                });
            }
        }
        if tokio::time::Instant::now() >= deadline {
            eprintln!(
                "error: timed out after {timeout:?} waiting for the {what} of {app}{}; it goes on on the server (trellis get {app})",
                match (ours, current.app.operation.is_some()) {
                    (Some(s), _) => format!(" (phase {:?})", s.phase),
                    (None, true) => " (not started by the controller yet)".to_string(),
                    (None, false) => String::new(),
                }
            );
            return Ok(Outcome::Failed);
        }
        tokio::time::sleep(POLL.min(deadline - tokio::time::Instant::now())).await;
    }
}

fn result_text(
    status: Option<ResultCode>,
    hook_phase: Option<OperationPhase>,
    message: &str,
) -> String {
    let code = match (status, hook_phase) {
        (Some(code), _) => format!("{code:?}"),
        (None, Some(phase)) => format!("{phase:?}"),
        (None, None) => String::new(),
    };
    match (code.is_empty(), message.is_empty()) {
        (true, _) => message.to_string(),
        (false, true) => code,
        (false, false) => format!("{code} ({message})"),
    }
}

/// The resources of the operation with their result and current health.
fn write_results(out: &mut dyn Write, current: &AppObject, state: &OperationState) -> Result<()> {
    let Some(result) = &state.sync_result else {
        return Ok(());
    };
    if result.resources.is_empty() {
        return Ok(());
    }
    let resources = current
        .app
        .status
        .as_ref()
        .map(|s| s.resources.as_slice())
        .unwrap_or_default();
    let rows: Vec<Vec<String>> = result
        .resources
        .iter()
        .map(|r| {
            let health = resources
                .iter()
                .find(|s| {
                    s.group == r.group
                        && s.kind == r.kind
                        && s.namespace == r.namespace
                        && s.name == r.name
                })
                .and_then(|s| s.health.as_ref())
                .and_then(|h| h.status)
                .map(|h| format!("{h:?}"))
                .unwrap_or_default();
            let status = match (r.status, r.hook_phase) {
                (Some(code), _) => format!("{code:?}"),
                (None, Some(phase)) => format!("{phase:?}"),
                (None, None) => String::new(),
            };
            vec![
                table::kind_label(&r.group, &r.kind),
                r.namespace.clone(),
                r.name.clone(),
                status,
                health,
                r.message.clone(),
            ]
        })
        .collect();
    table::write(
        out,
        &["KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", "MESSAGE"],
        &rows,
    )
}
