//! `trellis server`: the HTTP API over the Applications of a cluster.

use anyhow::{Context, Result};
use trellis_render::AppRenderer;
use trellis_server::{Server, ServerOptions, accounts};
use trellis_source::Sources;

use crate::Outcome;
use crate::cli::{GlobalArgs, ServerArgs};
use crate::kubeclient::runtime;

/// Connects, makes sure the admin account exists (printing a generated
/// password once), then serves until SIGINT or SIGTERM.
pub fn run(args: &ServerArgs, global: &GlobalArgs) -> Result<Outcome> {
    let source = crate::config::source_config(global)?;
    let mut options = ServerOptions::new(args.namespace.clone());
    options.app_namespaces = args.app_namespaces.clone();
    options.argocd_compat = args.argocd_compat;
    options.secure_cookies = args.secure_cookies;
    let rt = runtime()?;
    rt.block_on(async {
        let cluster =
            crate::kubeclient::connect_with(args.kubeconfig.as_deref(), args.context.as_deref())
                .await?;
        print_new_password(&cluster, &args.namespace).await?;
        let renderer = AppRenderer::new(Sources::new(source)?);
        let server = Server::new(options, cluster, renderer).context("starting the server")?;
        server
            .serve(args.listen, crate::commands::controller::shutdown_signal())
            .await?;
        Ok(Outcome::Clean)
    })
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
