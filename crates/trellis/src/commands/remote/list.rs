//! `trellis list`: the applications of a server, as a table or as data.

use std::io::Write;

use anyhow::Result;
use serde_json::Value;

use super::client::{AppSummary, ListFilter, RemoteClient};
use super::{short_revision, table};
use crate::Outcome;
use crate::cli::{ListArgs, ListFormat};

/// Prints the applications the caller may read, filtered on the server.
pub async fn run(args: &ListArgs, client: &RemoteClient, out: &mut dyn Write) -> Result<Outcome> {
    let filter = ListFilter {
        projects: args.project.clone(),
        syncs: args.sync.clone(),
        healths: args.health.clone(),
        namespaces: args.app_namespace.clone(),
        selector: args.selector.clone(),
        search: None,
    };
    let mut apps = client.list_applications(&filter).await?;
    apps.sort_by(|a, b| (&a.namespace, &a.name, &a.group).cmp(&(&b.namespace, &b.name, &b.group)));
    match args.output {
        None => write_table(out, &apps, false)?,
        Some(ListFormat::Wide) => write_table(out, &apps, true)?,
        Some(ListFormat::Json) => crate::output::write_json(out, &apps)?,
        Some(ListFormat::Yaml) => {
            let value = serde_json::to_value(&apps)?;
            out.write_all(trellis_model::to_yaml(&value).as_bytes())?;
        }
        Some(ListFormat::Name) => {
            for app in &apps {
                writeln!(out, "{}/{}", app.namespace, app.name)?;
            }
        }
    }
    Ok(Outcome::Clean)
}

fn write_table(out: &mut dyn Write, apps: &[AppSummary], wide: bool) -> Result<()> {
    if apps.is_empty() {
        eprintln!("No applications found.");
        return Ok(());
    }
    // Like `kubectl get -A`: the namespace column only when it tells apart.
    let namespaced = wide || apps.iter().any(|a| a.namespace != apps[0].namespace);
    let mut header = Vec::new();
    if namespaced {
        header.push("NAMESPACE");
    }
    header.extend(["NAME", "PROJECT", "SYNC", "HEALTH", "REVISION"]);
    if wide {
        header.extend([
            "SYNCPOLICY",
            "DESTINATION",
            "REPO",
            "PATH",
            "TARGET",
            "CONDITIONS",
        ]);
    }
    let rows: Vec<Vec<String>> = apps
        .iter()
        .map(|a| {
            let mut row = Vec::new();
            if namespaced {
                row.push(a.namespace.clone());
            }
            let sync = if a.operation.requested || a.operation.phase.as_deref() == Some("Running") {
                format!("{} (syncing)", a.sync.status)
            } else {
                a.sync.status.clone()
            };
            row.extend([
                a.name.clone(),
                a.project.clone(),
                sync,
                a.health.status.clone(),
                short_revision(a.sync.revision.as_deref().unwrap_or_default()),
            ]);
            if wide {
                let source = a.source.clone().unwrap_or_default();
                let mut repo = source.repo_url.unwrap_or_default();
                if a.sources > 1 {
                    repo.push_str(&format!(" (+{})", a.sources - 1));
                }
                row.extend([
                    if a.automated { "Auto" } else { "Manual" }.to_string(),
                    destination(a.destination.as_ref()),
                    repo,
                    source.path.or(source.chart).unwrap_or_default(),
                    source.target_revision.unwrap_or_default(),
                    a.conditions.join(","),
                ]);
            }
            row
        })
        .collect();
    table::write(out, &header, &rows)
}

/// `server/namespace` (or `name/namespace`) of a destination.
fn destination(destination: Option<&Value>) -> String {
    let Some(d) = destination else {
        return String::new();
    };
    let field = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or_default();
    let cluster = match (field("name"), field("server")) {
        ("", "") => "in-cluster",
        ("", "https://kubernetes.default.svc") => "in-cluster",
        ("", server) => server,
        (name, _) => name,
    };
    match field("namespace") {
        "" => cluster.to_string(),
        ns => format!("{cluster}/{ns}"),
    }
}
