//! `trellis history APP`: past syncs, newest first, with the ids
//! `trellis rollback` takes.

use std::io::Write;

use anyhow::Result;

use super::client::{HistoryEntry, RemoteClient};
use super::{find_app, table};
use crate::Outcome;
use crate::cli::{HistoryArgs, ManifestFormat};

/// Prints the history as a table (ID, DATE, REVISION) or as data.
pub async fn run(
    args: &HistoryArgs,
    client: &RemoteClient,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let app = find_app(client, &args.app, args.app_namespace.as_deref()).await?;
    let entries = client.history(&app).await?;
    match args.output {
        Some(ManifestFormat::Json) => crate::output::write_json(out, &entries)?,
        Some(ManifestFormat::Yaml) => {
            let value = serde_json::to_value(&entries)?;
            out.write_all(trellis_model::to_yaml(&value).as_bytes())?;
        }
        None if entries.is_empty() => eprintln!("application {app} has not been synced yet"),
        None => {
            let rows: Vec<Vec<String>> = entries
                .iter()
                .map(|e| {
                    vec![
                        e.id.to_string(),
                        e.deployed_at.clone().unwrap_or_default(),
                        revision(e),
                    ]
                })
                .collect();
            table::write(out, &["ID", "DATE", "REVISION"], &rows)?;
        }
    }
    Ok(Outcome::Clean)
}

/// The revision, or the revisions of a multi-source application.
pub fn revision(entry: &HistoryEntry) -> String {
    if entry.revisions.is_empty() {
        entry.revision.clone()
    } else {
        entry.revisions.join(",")
    }
}
