//! `trellis diff APP` through a server: the server renders the application
//! and compares it with the cluster; the differences print as unified
//! diffs, as the local `diff` prints them.

use std::io::Write;

use anyhow::Result;
use trellis_engine::diff::colorize;

use super::client::RemoteClient;
use super::find_app;
use crate::Outcome;
use crate::cli::DiffArgs;
use crate::output::color_stdout;

/// Exit 1 when anything differs, 0 when clean, 3 when the application
/// cannot be rendered.
pub async fn run(args: &DiffArgs, client: &RemoteClient, out: &mut dyn Write) -> Result<Outcome> {
    let app = find_app(
        client,
        &args.target.app,
        args.target.app_namespace.as_deref(),
    )
    .await?;
    let report = client.diff(&app).await?;
    if let Some(error) = report.render_error.as_deref().filter(|e| !e.is_empty()) {
        eprintln!("error: application {app}: rendering failed: {error}");
        return Ok(Outcome::Failed);
    }
    let color = color_stdout();
    let mut differs = report.sync != "Synced";
    for r in &report.resources {
        match r.status.as_str() {
            "Synced" => {}
            "Unknown" => {
                differs = true;
                let name = if r.namespace.is_empty() {
                    r.name.clone()
                } else {
                    format!("{}/{}", r.namespace, r.name)
                };
                writeln!(out, "# {} {name}: cannot compare: {}", r.kind, r.message)?;
            }
            _ => {
                differs = true;
                if color {
                    out.write_all(colorize(&r.diff).as_bytes())?;
                } else {
                    out.write_all(r.diff.as_bytes())?;
                }
            }
        }
    }
    Ok(if differs {
        Outcome::Differences
    } else {
        Outcome::Clean
    })
}
