//! `trellis server`: the HTTP API over the Applications of a cluster.

use anyhow::{Context, Result};
use trellis_render::AppRenderer;
use trellis_server::{Server, ServerOptions, accounts};
use trellis_source::Sources;

use crate::cli::{GlobalArgs, ServerArgs};
use crate::kubeclient::runtime;
use crate::{Outcome, UsageError};

/// Connects, makes sure the admin account exists (the password from
/// standard input, or a generated one printed once), then serves until
/// SIGINT or SIGTERM.
pub fn run(args: &ServerArgs, global: &GlobalArgs) -> Result<Outcome> {
    let source = crate::config::source_config(global)?;
    let mut options = ServerOptions::new(args.scope.namespace.clone());
    options.app_namespaces = args.scope.app_namespaces.clone();
    options.argocd_compat = args.scope.argocd_compat;
    options.secure_cookies = args.secure_cookies;
    let rt = runtime()?;
    rt.block_on(async {
        let cluster = crate::kubeclient::connect_with(
            args.scope.kubeconfig.as_deref(),
            args.scope.context.as_deref(),
        )
        .await?;
        if args.admin_password_stdin {
            let password = read_password_line()?;
            accounts::set_admin_password(&cluster, &args.scope.namespace, &password)
                .await
                .map_err(|e| match e {
                    trellis_server::ServerError::Invalid(message) => {
                        anyhow::Error::new(UsageError(format!("--admin-password-stdin: {message}")))
                    }
                    other => anyhow::Error::new(other).context("setting the admin password"),
                })?;
            eprintln!("admin password set");
        } else {
            print_new_password(&cluster, &args.scope.namespace).await?;
        }
        let renderer = AppRenderer::new(Sources::new(source)?);
        let server = Server::new(options, cluster, renderer).context("starting the server")?;
        server
            .serve(args.listen, crate::commands::controller::shutdown_signal())
            .await?;
        Ok(Outcome::Clean)
    })
}

/// The first line of standard input, without its line ending.
fn read_password_line() -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the admin password from standard input")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// Creates the admin account's password when there is none, and prints it:
/// the only time it is shown.
pub async fn print_new_password(cluster: &trellis_kube::Cluster, namespace: &str) -> Result<()> {
    if let Some(password) = accounts::ensure_admin(cluster, namespace)
        .await
        .context("setting up the admin account")?
    {
        eprintln!("admin password (shown this once, keep it): {password}");
    }
    Ok(())
}
