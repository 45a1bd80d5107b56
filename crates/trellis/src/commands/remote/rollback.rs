//! `trellis rollback APP [ID]`: a sync back to a revision of the history.

use std::io::Write;

use anyhow::Result;

use super::client::{RemoteClient, RollbackRequest};
use super::{find_app, operation, short_revision};
use crate::cli::RollbackArgs;
use crate::{Outcome, UsageError};

/// Requests the rollback (to ID, or to the entry before the newest) and,
/// unless `--async`, follows it: exit 0 when it succeeded, 3 when it
/// failed, was refused (automated sync is on) or did not finish in time.
pub async fn run(
    args: &RollbackArgs,
    client: &RemoteClient,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let app = find_app(client, &args.app, args.app_namespace.as_deref()).await?;
    let history = client.history(&app).await?;
    let entry = match args.id {
        Some(id) => history.iter().find(|e| e.id == id).ok_or_else(|| {
            UsageError(format!(
                "application {app} has no history entry {id} (ids: {})",
                history
                    .iter()
                    .map(|e| e.id.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?,
        None => {
            let mut ids: Vec<&_> = history.iter().collect();
            ids.sort_by_key(|e| std::cmp::Reverse(e.id));
            ids.get(1).copied().ok_or_else(|| {
                UsageError(format!(
                    "application {app} has no earlier sync to roll back to (history: {} entr{})",
                    history.len(),
                    if history.len() == 1 { "y" } else { "ies" }
                ))
            })?
        }
    };
    let request = RollbackRequest {
        id: entry.id,
        prune: args.prune,
        dry_run: args.dry_run,
    };
    let requested = client.rollback(&app, &request).await?;
    let revision = super::history::revision(entry);
    eprintln!(
        "rollback of {app} to history entry {} ({}) requested",
        entry.id,
        short_revision(&revision)
    );
    if args.no_wait {
        return Ok(Outcome::Clean);
    }
    let what = if args.dry_run {
        "dry-run rollback"
    } else {
        "rollback"
    };
    operation::follow(client, &app, &requested, what, args.timeout, out).await
}
