//! `trellis status`: each resource with its sync status and health.

use std::io::Write;

use anyhow::Result;
use trellis_engine::EngineOptions;
use trellis_render::AppRenderer;

use crate::Outcome;
use crate::cli::StatusArgs;
use crate::kubeclient::{comparison_rows, runtime, target, write_table};
use crate::progress::Progress;

/// Prints the application's sync status and health, then a resource table.
pub fn run(
    args: &StatusArgs,
    renderer: &AppRenderer,
    progress: &Progress,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let rt = runtime()?;
    let (name, comparison) = rt.block_on(async {
        let target = target(&args.target, renderer, EngineOptions::default()).await?;
        progress.finish();
        let c = target
            .engine
            .compare(&target.app, target.rendered())
            .await?;
        anyhow::Ok((target.app.name().to_string(), c))
    })?;
    writeln!(out, "Application: {name}")?;
    writeln!(out, "Sync:        {:?}", comparison.sync)?;
    let health = &comparison.health;
    if health.message.is_empty() {
        writeln!(out, "Health:      {:?}", health.status)?;
    } else {
        writeln!(out, "Health:      {:?} ({})", health.status, health.message)?;
    }
    if let Some(error) = &comparison.render_error {
        writeln!(out, "Error:       rendering failed: {error}")?;
        return Ok(Outcome::Failed);
    }
    writeln!(out)?;
    write_table(out, &comparison_rows(&comparison))?;
    Ok(Outcome::Clean)
}
