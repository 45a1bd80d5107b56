//! `trellis wait APP` through a server: until the application is synced
//! and/or healthy, with no operation running.

use std::io::Write;
use std::time::Duration;

use anyhow::Result;
use trellis_model::status::OperationPhase;
use trellis_model::{HealthStatusCode, SyncStatusCode};

use super::client::RemoteClient;
use super::find_app;
use crate::Outcome;
use crate::cli::WaitArgs;

/// Polls the application until the conditions hold (exit 0) or the timeout
/// passes (exit 3). Without `--sync` or `--health`, waits for both.
pub async fn run(args: &WaitArgs, client: &RemoteClient, out: &mut dyn Write) -> Result<Outcome> {
    let (want_sync, want_health) = match (args.sync, args.health) {
        (false, false) => (true, true),
        other => other,
    };
    let app = find_app(
        client,
        &args.target.app,
        args.target.app_namespace.as_deref(),
    )
    .await?;
    let deadline = tokio::time::Instant::now() + args.timeout;
    let interval = Duration::from_millis(500).min(args.timeout);
    loop {
        let current = client.application(&app).await?;
        let status = current.app.status.clone().unwrap_or_default();
        let health = status.health.status.unwrap_or_default();
        let busy = current.app.operation.is_some()
            || status
                .operation_state
                .as_ref()
                .is_some_and(|s| s.phase == OperationPhase::Running);
        let synced = !want_sync || status.sync.status == SyncStatusCode::Synced;
        let healthy = !want_health || health == HealthStatusCode::Healthy;
        if synced && healthy && !busy {
            writeln!(out, "{app}: {:?}, {health:?}", status.sync.status)?;
            return Ok(Outcome::Clean);
        }
        if tokio::time::Instant::now() >= deadline {
            eprintln!(
                "error: timed out after {:?} waiting for {app}: sync {:?}, health {health:?}{}{}",
                args.timeout,
                status.sync.status,
                if status.health.message.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", status.health.message)
                },
                if busy {
                    ", an operation is running"
                } else {
                    ""
                }
            );
            return Ok(Outcome::Failed);
        }
        tokio::time::sleep_until((tokio::time::Instant::now() + interval).min(deadline)).await;
    }
}
