//! `trellis sync APP` through a server: requests the operation and, unless
//! `--async`, follows it to the end.

use std::io::Write;

use anyhow::Result;

use super::client::{RemoteClient, SyncRequest, SyncResource};
use super::{find_app, operation};
use crate::cli::SyncArgs;
use crate::{Outcome, UsageError};

/// Exit 0 when the sync succeeded (or was requested, with `--async`), 3
/// when it failed or did not finish within `--timeout`.
pub async fn run(args: &SyncArgs, client: &RemoteClient, out: &mut dyn Write) -> Result<Outcome> {
    let resources = args
        .resources
        .iter()
        .map(|r| parse_resource(r))
        .collect::<Result<Vec<_>, _>>()?;
    let app = find_app(
        client,
        &args.target.app,
        args.target.app_namespace.as_deref(),
    )
    .await?;
    let request = SyncRequest {
        revision: args.revision.clone().unwrap_or_default(),
        prune: args.prune,
        dry_run: args.dry_run,
        resources,
    };
    let requested = client.sync(&app, &request).await?;
    let what = if args.dry_run { "dry-run sync" } else { "sync" };
    eprintln!(
        "{what} of {app} requested{}",
        args.revision
            .as_deref()
            .map(|r| format!(" (revision {r})"))
            .unwrap_or_default()
    );
    if args.no_wait {
        return Ok(Outcome::Clean);
    }
    operation::follow(client, &app, &requested, what, args.timeout, out).await
}

/// Reads `GROUP:KIND:NAME` or `GROUP:KIND:NAMESPACE/NAME` (an empty GROUP
/// is the core group).
pub fn parse_resource(text: &str) -> Result<SyncResource, UsageError> {
    let invalid = || {
        UsageError(format!(
            "--resource {text}: expected GROUP:KIND:NAME or GROUP:KIND:NAMESPACE/NAME (GROUP empty for the core group, e.g. :Service:web or apps:Deployment:shop/web)"
        ))
    };
    let mut parts = text.splitn(3, ':');
    let (Some(group), Some(kind), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid());
    };
    let (namespace, name) = match rest.split_once('/') {
        Some((ns, name)) => (ns, name),
        None => ("", rest),
    };
    if kind.is_empty() || name.is_empty() || name.contains('/') {
        return Err(invalid());
    }
    Ok(SyncResource {
        group: group.to_string(),
        kind: kind.to_string(),
        name: name.to_string(),
        namespace: namespace.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_read_as_argo_cd_writes_them() {
        assert_eq!(
            parse_resource("apps:Deployment:shop/web").unwrap(),
            SyncResource {
                group: "apps".into(),
                kind: "Deployment".into(),
                name: "web".into(),
                namespace: "shop".into(),
            }
        );
        assert_eq!(
            parse_resource(":Service:web").unwrap(),
            SyncResource {
                group: String::new(),
                kind: "Service".into(),
                name: "web".into(),
                namespace: String::new(),
            }
        );
        for bad in [
            "Deployment",
            "apps:Deployment",
            "apps::web",
            "apps:Deployment:",
        ] {
            assert!(parse_resource(bad).is_err(), "{bad}");
        }
    }
}
