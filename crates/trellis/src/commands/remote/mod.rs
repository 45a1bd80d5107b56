//! The commands over a Trellis server's HTTP API: `list`, `get`, `diff`,
//! `sync`, `history`, `rollback`, `wait` (and `status`, like `get`), with
//! `login` and `logout` to keep credentials.
//!
//! Which side a command works on is decided once, in [`connection_for`]:
//! a server when `--server` (or `TRELLIS_SERVER`) is given, or when a
//! login is saved and nothing points at a cluster or a file (no
//! `--kubeconfig`, `--context`, and APP not a manifest file). Otherwise
//! `diff`, `sync`, `status` and `wait` work on the cluster as before.

pub mod client;
pub mod diff;
pub mod get;
pub mod history;
pub mod list;
pub mod login;
pub mod operation;
pub mod rollback;
pub mod store;
pub mod sync;
pub mod table;
pub mod wait;

use std::io::Write;
use std::path::Path;

use anyhow::Result;

use crate::cli::{Command, GlobalArgs, TargetArgs};
use crate::{Outcome, UsageError};
use client::{AppRef, Auth, ListFilter, RemoteClient, RemoteError, TlsOptions, normalize_server};

/// A server to talk to, and how to authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The server's URL, normalized.
    pub server: String,
    /// The credentials: `--token`, else the saved login's.
    pub auth: Auth,
    /// How the server's certificate is checked.
    pub tls: TlsOptions,
}

impl Connection {
    /// A client of the server. Must be called inside a tokio runtime.
    pub fn client(&self) -> Result<RemoteClient, RemoteError> {
        RemoteClient::new(&self.server, self.auth.clone(), &self.tls)
    }
}

/// The message of a remote-only command run without a server.
const NOT_LOGGED_IN: &str = "not logged in to a Trellis server: pass --server URL (or set TRELLIS_SERVER) with --token, or run trellis login";

/// Whether APP names a manifest file rather than an application.
fn is_file(app: &str) -> bool {
    Path::new(app).is_file() || [".yaml", ".yml", ".json"].iter().any(|e| app.ends_with(e))
}

/// The server `command` goes to, or `None` when it runs on a cluster (or
/// is not a command that can go to a server).
pub fn connection_for(global: &GlobalArgs, command: &Command) -> Result<Option<Connection>> {
    let target = match command {
        Command::Diff(a) => Some(&a.target),
        Command::Sync(a) => Some(&a.target),
        Command::Status(a) => Some(&a.target),
        Command::Wait(a) => Some(&a.target),
        Command::List(_) | Command::Get(_) | Command::History(_) | Command::Rollback(_) => None,
        _ => return Ok(None),
    };
    let remote_only = target.is_none();
    let connection = resolve(global, target)?;
    if remote_only && connection.is_none() {
        return Err(UsageError(NOT_LOGGED_IN.into()).into());
    }
    if let (Some(_), Command::Sync(args)) = (&connection, command)
        && args.force
    {
        return Err(UsageError(
            "--force is for syncing through a kubeconfig; a server's sync takes --revision, --prune, --dry-run and --resource"
                .into(),
        )
        .into());
    }
    if let (None, Command::Sync(args)) = (&connection, command)
        && (args.revision.is_some() || !args.resources.is_empty() || args.no_wait)
    {
        return Err(UsageError(
            "--revision, --resource and --async need a Trellis server: pass --server URL or run trellis login"
                .into(),
        )
        .into());
    }
    Ok(connection)
}

fn resolve(global: &GlobalArgs, target: Option<&TargetArgs>) -> Result<Option<Connection>> {
    // Without a home directory there is no saved login, which is no reason
    // to stop a command that does not need one.
    let saved = || -> Result<store::Logins> {
        match store::path() {
            Ok(path) => Ok(store::load(&path)?),
            Err(_) => Ok(store::Logins::default()),
        }
    };
    if let Some(server) = global.server.as_deref().filter(|s| !s.is_empty()) {
        if let Some(target) = target {
            if is_file(&target.app) {
                return Err(UsageError(format!(
                    "{}: a file; through a server, commands take an application NAME or NAMESPACE/NAME (without --server and TRELLIS_SERVER the file is compared with the cluster of the kubeconfig)",
                    target.app
                ))
                .into());
            }
            if target.kubeconfig.is_some() || target.context.is_some() {
                return Err(UsageError(
                    "--kubeconfig and --context work on a cluster directly; leave them out with --server"
                        .into(),
                )
                .into());
            }
        }
        let server = normalize_server(server).map_err(|e| UsageError(e.to_string()))?;
        let logins = saved()?;
        let login = logins.servers.get(&server);
        let auth = match global.token.as_deref().filter(|t| !t.is_empty()) {
            Some(token) => Auth::Token(token.to_string()),
            None => login.map(store::SavedLogin::auth).unwrap_or_default(),
        };
        let tls = TlsOptions {
            ca_file: global
                .server_ca
                .clone()
                .or_else(|| login.and_then(|l| l.ca_file.clone())),
        };
        return Ok(Some(Connection { server, auth, tls }));
    }
    if target.is_some_and(|t| is_file(&t.app) || t.kubeconfig.is_some() || t.context.is_some()) {
        return Ok(None);
    }
    let logins = saved()?;
    Ok(logins.current().map(|(server, login)| Connection {
        server: server.to_string(),
        auth: match global.token.as_deref().filter(|t| !t.is_empty()) {
            Some(token) => Auth::Token(token.to_string()),
            None => login.auth(),
        },
        tls: TlsOptions {
            ca_file: global.server_ca.clone().or_else(|| login.ca_file.clone()),
        },
    }))
}

/// Runs a command through the server.
pub fn run(command: &Command, connection: &Connection, out: &mut dyn Write) -> Result<Outcome> {
    let rt = crate::kubeclient::runtime()?;
    rt.block_on(async {
        let client = connection.client()?;
        if client.server().starts_with("http://") && !is_loopback(client.server()) {
            tracing::warn!(
                server = client.server(),
                "credentials go to this server unencrypted (http://)"
            );
        }
        match command {
            Command::List(args) => list::run(args, &client, out).await,
            Command::Get(args) => get::run(args, &client, out).await,
            Command::Status(args) => get::status(&args.target, &client, out).await,
            Command::History(args) => history::run(args, &client, out).await,
            Command::Rollback(args) => rollback::run(args, &client, out).await,
            Command::Diff(args) => diff::run(args, &client, out).await,
            Command::Sync(args) => sync::run(args, &client, out).await,
            Command::Wait(args) => wait::run(args, &client, out).await,
            _ => Err(UsageError("this command does not run through a server".into()).into()),
        }
    })
}

fn is_loopback(server: &str) -> bool {
    let rest = server.split_once("://").map_or(server, |(_, r)| r);
    rest.starts_with("localhost") || rest.starts_with("127.") || rest.starts_with("[::1]")
}

/// Finds the application APP names: `NAMESPACE/NAME`, `NAME` with
/// `--app-namespace`, or a `NAME` the server has in exactly one namespace.
pub async fn find_app(client: &RemoteClient, app: &str, namespace: Option<&str>) -> Result<AppRef> {
    if let Some((ns, name)) = app.split_once('/') {
        if ns.is_empty() || name.is_empty() || name.contains('/') {
            return Err(UsageError(format!(
                "{app}: name an application as NAME or NAMESPACE/NAME"
            ))
            .into());
        }
        if namespace.is_some_and(|n| n != ns) {
            return Err(
                UsageError(format!("{app}: the namespace differs from --app-namespace")).into(),
            );
        }
        return Ok(AppRef {
            namespace: ns.to_string(),
            name: name.to_string(),
            group: None,
        });
    }
    if app.is_empty() {
        return Err(UsageError("no application named".into()).into());
    }
    if let Some(ns) = namespace {
        return Ok(AppRef {
            namespace: ns.to_string(),
            name: app.to_string(),
            group: None,
        });
    }
    let listed = client
        .list_applications(&ListFilter {
            search: Some(app.to_string()),
            ..ListFilter::default()
        })
        .await?;
    choose(app, &listed, client.server())
}

/// The application called `name` among those listed: the one there is, or
/// an error saying it is missing or in several namespaces.
fn choose(name: &str, listed: &[client::AppSummary], server: &str) -> Result<AppRef> {
    let matches: Vec<_> = listed.iter().filter(|s| s.name == name).collect();
    let mut namespaces: Vec<&str> = matches.iter().map(|s| s.namespace.as_str()).collect();
    namespaces.sort_unstable();
    namespaces.dedup();
    match namespaces.as_slice() {
        [] => Err(RemoteError::NotFound {
            message: format!("application {name} not found on {server}"),
        }
        .into()),
        [_] if matches.len() == 1 => Ok(matches[0].app_ref()),
        // Both API groups have one of that name there: the server's choice.
        [ns] => Ok(AppRef {
            namespace: ns.to_string(),
            name: name.to_string(),
            group: None,
        }),
        several => Err(UsageError(format!(
            "application name {name} is ambiguous: namespaces {} each have one; name it as NAMESPACE/NAME",
            several.join(", ")
        ))
        .into()),
    }
}

/// The first 7 characters of a commit id; anything else as it is.
pub fn short_revision(revision: &str) -> String {
    if revision.len() == 40 && revision.chars().all(|c| c.is_ascii_hexdigit()) {
        revision[..7].to_string()
    } else {
        revision.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions_are_shortened_only_when_commits() {
        assert_eq!(
            short_revision("0123456789abcdef0123456789abcdef01234567"),
            "0123456"
        );
        assert_eq!(short_revision("v1.8.0"), "v1.8.0");
        assert_eq!(short_revision(""), "");
    }

    fn summary(group: &str, namespace: &str, name: &str) -> client::AppSummary {
        client::AppSummary {
            group: group.into(),
            namespace: namespace.into(),
            name: name.into(),
            ..client::AppSummary::default()
        }
    }

    #[test]
    fn a_name_is_found_in_its_one_namespace_or_is_ambiguous() {
        let listed = [
            summary("argoproj.io", "trellis", "web"),
            summary("argoproj.io", "trellis", "web-staging"),
            summary("trellis.dev", "team-a", "api"),
            summary("argoproj.io", "team-b", "api"),
            summary("trellis.dev", "shop", "cart"),
            summary("argoproj.io", "shop", "cart"),
        ];
        let web = choose("web", &listed, "s").unwrap();
        assert_eq!(
            (web.namespace.as_str(), web.group.as_deref()),
            ("trellis", Some("argoproj.io"))
        );
        let cart = choose("cart", &listed, "s").unwrap();
        assert_eq!((cart.namespace.as_str(), cart.group), ("shop", None));
        let ambiguous = choose("api", &listed, "s").unwrap_err();
        assert!(ambiguous.downcast_ref::<UsageError>().is_some());
        assert!(
            ambiguous.to_string().contains("team-a, team-b"),
            "{ambiguous}"
        );
        let missing = choose("nope", &listed, "http://x").unwrap_err();
        assert_eq!(
            missing.to_string(),
            "application nope not found on http://x"
        );
    }

    #[test]
    fn manifest_files_are_recognized() {
        assert!(is_file("apps/web.yaml"));
        assert!(is_file("app.json"));
        assert!(!is_file("web-staging"));
        assert!(!is_file("trellis/web-staging"));
    }
}
