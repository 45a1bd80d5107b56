//! `trellis get` (and `trellis status` through a server): one application's
//! state and its resources.

use std::io::Write;
use std::time::Duration;

use anyhow::Result;
use trellis_model::Application;
use trellis_model::status::OperationPhase;

use super::client::{AppObject, AppRef, RemoteClient};
use super::{find_app, short_revision, table};
use crate::Outcome;
use crate::cli::{GetArgs, ManifestFormat, TargetArgs};

/// The annotation a refresh request sets and the controller removes.
const REFRESH_ANNOTATION: &str = "argocd.argoproj.io/refresh";
/// How long `--refresh` waits for the controller.
const REFRESH_WAIT: Duration = Duration::from_secs(30);

/// Prints the summary and resource table, or the object with `-o`.
pub async fn run(args: &GetArgs, client: &RemoteClient, out: &mut dyn Write) -> Result<Outcome> {
    let app = find_app(client, &args.app, args.app_namespace.as_deref()).await?;
    let object = if args.refresh || args.hard_refresh {
        refresh(client, &app, args.hard_refresh).await?
    } else {
        client.application(&app).await?
    };
    match args.output {
        Some(ManifestFormat::Json) => crate::output::write_json(out, &object.raw)?,
        Some(ManifestFormat::Yaml) => {
            out.write_all(trellis_model::to_yaml(&object.raw).as_bytes())?;
        }
        None => write_summary(out, &app, &object)?,
    }
    Ok(Outcome::Clean)
}

/// `trellis status APP` through a server: the same as `get`.
pub async fn status(
    target: &TargetArgs,
    client: &RemoteClient,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let app = find_app(client, &target.app, target.app_namespace.as_deref()).await?;
    let object = client.application(&app).await?;
    write_summary(out, &app, &object)?;
    Ok(Outcome::Clean)
}

/// Asks the controller to compare with git now and waits (a bounded
/// time) until it has: the request is taken (the annotation removed) and
/// the status written again.
pub async fn refresh(client: &RemoteClient, app: &AppRef, hard: bool) -> Result<AppObject> {
    let requested = client.refresh(app, hard).await?;
    let before = requested.raw.get("status").cloned();
    let deadline = tokio::time::Instant::now() + REFRESH_WAIT;
    loop {
        let current = client.application(app).await?;
        let pending = current
            .raw
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(REFRESH_ANNOTATION))
            .is_some();
        // The status changes with every compare (reconciledAt at least,
        // unless it falls in the same second as the last one).
        if !pending && current.raw.get("status") != before.as_ref() {
            return Ok(current);
        }
        if tokio::time::Instant::now() >= deadline {
            if pending {
                eprintln!(
                    "warning: the controller has not taken the refresh of {app} within {REFRESH_WAIT:?}; showing the last state"
                );
            }
            return Ok(current);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn write_summary(out: &mut dyn Write, app_ref: &AppRef, object: &AppObject) -> Result<()> {
    let app = &object.app;
    let status = app.status.clone().unwrap_or_default();
    let mut fields: Vec<(&str, String)> = vec![
        ("Name", app_ref.to_string()),
        ("API version", app.api_version.clone()),
        ("Project", app.spec.project_or_default().to_string()),
    ];
    let sources = app.spec.all_sources();
    for (i, source) in sources.iter().enumerate() {
        let label = if sources.len() == 1 {
            "Source"
        } else {
            "Sources"
        };
        let mut text = source.repo_url.clone();
        if let Some(path) = source.path.as_deref().filter(|p| !p.is_empty()) {
            text.push_str(&format!(" path {path}"));
        }
        if let Some(chart) = source.chart.as_deref().filter(|c| !c.is_empty()) {
            text.push_str(&format!(" chart {chart}"));
        }
        if let Some(name) = source.r#ref.as_deref().filter(|r| !r.is_empty()) {
            text.push_str(&format!(" (ref {name})"));
        }
        text.push_str(&format!(
            " at {}",
            source
                .target_revision
                .as_deref()
                .filter(|r| !r.is_empty())
                .unwrap_or("HEAD")
        ));
        fields.push((if i == 0 { label } else { "" }, text));
    }
    fields.push(("Destination", destination(app)));
    fields.push(("Sync policy", sync_policy(app)));
    let mut sync = format!("{:?}", status.sync.status);
    let revisions: Vec<String> = if status.sync.revisions.is_empty() {
        vec![status.sync.revision.clone()]
    } else {
        status.sync.revisions.clone()
    }
    .iter()
    .filter(|r| !r.is_empty())
    .map(|r| short_revision(r))
    .collect();
    if !revisions.is_empty() {
        sync.push_str(&format!(" to {}", revisions.join(", ")));
    }
    fields.push(("Sync status", sync));
    let health = status.health.status.unwrap_or_default();
    fields.push((
        "Health",
        match status.health.message.as_str() {
            "" => format!("{health:?}"),
            message => format!("{health:?} ({message})"),
        },
    ));
    if app.operation.is_some() {
        fields.push(("Operation", "requested, waiting for the controller".into()));
    }
    if let Some(op) = &status.operation_state {
        let mut text = format!("{:?}", op.phase);
        if op.phase != OperationPhase::Running
            && let Some(finished) = &op.finished_at
        {
            text.push_str(&format!(" at {}", finished.0));
        } else {
            text.push_str(&format!(" since {}", op.started_at.0));
        }
        if !op.message.is_empty() {
            text.push_str(&format!(": {}", op.message));
        }
        fields.push(("Last operation", text));
    }
    for condition in &status.conditions {
        fields.push((
            "Condition",
            format!("{}: {}", condition.type_, condition.message),
        ));
    }
    let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    for (key, value) in &fields {
        let label = if key.is_empty() {
            String::new()
        } else {
            format!("{key}:")
        };
        writeln!(out, "{label:<width$} {value}")?;
    }
    writeln!(out)?;
    if status.resources.is_empty() {
        writeln!(out, "No resources.")?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = status
        .resources
        .iter()
        .map(|r| {
            let health = r.health.clone().unwrap_or_default();
            vec![
                table::kind_label(&r.group, &r.kind),
                r.namespace.clone(),
                r.name.clone(),
                r.status.map(|s| format!("{s:?}")).unwrap_or_default(),
                health.status.map(|s| format!("{s:?}")).unwrap_or_default(),
                health.message,
            ]
        })
        .collect();
    table::write(
        out,
        &["KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", "MESSAGE"],
        &rows,
    )
}

fn destination(app: &Application) -> String {
    let d = &app.spec.destination;
    let cluster = match (d.name.as_deref(), d.server.as_deref()) {
        (Some(name), _) if !name.is_empty() => name.to_string(),
        (_, Some(server)) if !server.is_empty() => server.to_string(),
        _ => "in-cluster".to_string(),
    };
    match d.namespace.as_deref().filter(|n| !n.is_empty()) {
        Some(ns) => format!("{cluster} namespace {ns}"),
        None => cluster,
    }
}

fn sync_policy(app: &Application) -> String {
    let Some(policy) = &app.spec.sync_policy else {
        return "Manual".into();
    };
    if !policy.is_automated() {
        return "Manual".into();
    }
    let mut flags = Vec::new();
    if let Some(automated) = &policy.automated {
        if automated.prune {
            flags.push("prune");
        }
        if automated.self_heal {
            flags.push("self-heal");
        }
    }
    if flags.is_empty() {
        "Automated".into()
    } else {
        format!("Automated ({})", flags.join(", "))
    }
}
