//! `trellis diff`: how the cluster differs from an application's manifests.

use std::io::Write;

use anyhow::Result;
use trellis_engine::EngineOptions;
use trellis_engine::compare::ResourceSync;
use trellis_engine::diff::colorize;
use trellis_render::AppRenderer;

use crate::Outcome;
use crate::cli::DiffArgs;
use crate::kubeclient::{runtime, target};
use crate::output::color_stdout;
use crate::progress::Progress;

/// Prints a unified diff per differing resource: exit 1 when anything
/// differs, 3 when the application cannot be rendered or compared.
pub fn run(
    args: &DiffArgs,
    renderer: &AppRenderer,
    progress: &Progress,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let rt = runtime()?;
    let comparison = rt.block_on(async {
        let target = target(&args.target, renderer, EngineOptions::default()).await?;
        progress.finish();
        anyhow::Ok(
            target
                .engine
                .compare(&target.app, target.rendered())
                .await?,
        )
    })?;
    if let Some(error) = &comparison.render_error {
        eprintln!("error: rendering failed: {error}");
        return Ok(Outcome::Failed);
    }
    let color = color_stdout();
    for r in &comparison.resources {
        match r.status {
            ResourceSync::Synced => {}
            ResourceSync::Unknown => writeln!(out, "# {}: cannot compare: {}", r.key, r.message)?,
            _ => {
                let diff = if color {
                    colorize(&r.diff)
                } else {
                    r.diff.clone()
                };
                out.write_all(diff.as_bytes())?;
            }
        }
    }
    Ok(if comparison.differs() {
        Outcome::Differences
    } else {
        Outcome::Clean
    })
}
