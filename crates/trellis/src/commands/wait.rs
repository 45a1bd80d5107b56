//! `trellis wait`: block until an application is synced and/or healthy.

use std::io::Write;
use std::time::Duration;

use anyhow::Result;
use trellis_engine::EngineOptions;
use trellis_model::{HealthStatusCode, SyncStatusCode};
use trellis_render::AppRenderer;

use crate::Outcome;
use crate::cli::WaitArgs;
use crate::kubeclient::{runtime, target};
use crate::progress::Progress;

/// Re-compares from the live-state cache until the conditions hold (exit 0)
/// or the timeout passes (exit 3). Without `--sync` or `--health`, waits for
/// both.
pub fn run(
    args: &WaitArgs,
    renderer: &AppRenderer,
    progress: &Progress,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let (want_sync, want_health) = match (args.sync, args.health) {
        (false, false) => (true, true),
        other => other,
    };
    let rt = runtime()?;
    rt.block_on(async {
        let target = target(&args.target, renderer, EngineOptions::default()).await?;
        progress.finish();
        let deadline = tokio::time::Instant::now() + args.timeout;
        let interval = Duration::from_millis(250).min(args.timeout);
        loop {
            let c = target
                .engine
                .compare(&target.app, target.rendered())
                .await?;
            if let Some(error) = &c.render_error {
                eprintln!("error: rendering failed: {error}");
                return Ok(Outcome::Failed);
            }
            let synced = !want_sync || c.sync == SyncStatusCode::Synced;
            let healthy = !want_health || c.health.status == HealthStatusCode::Healthy;
            if synced && healthy {
                writeln!(
                    out,
                    "{}: {:?}, {:?}",
                    target.app.name(),
                    c.sync,
                    c.health.status
                )?;
                return Ok(Outcome::Clean);
            }
            if tokio::time::Instant::now() >= deadline {
                eprintln!(
                    "error: timed out after {:?} waiting for {}: sync {:?}, health {:?}{}",
                    args.timeout,
                    target.app.name(),
                    c.sync,
                    c.health.status,
                    if c.health.message.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", c.health.message)
                    }
                );
                return Ok(Outcome::Failed);
            }
            tokio::time::sleep_until((tokio::time::Instant::now() + interval).min(deadline)).await;
        }
    })
}
