//! `trellis controller`: reconcile Applications stored in a cluster.

use anyhow::{Context, Result};
use trellis_controller::{Controller, ControllerOptions};
use trellis_engine::EngineOptions;
use trellis_kube::Cluster;

use crate::Outcome;
use crate::cli::{ControllerArgs, GlobalArgs};
use crate::kubeclient::runtime;

/// Connects, then runs the controller until SIGINT or SIGTERM.
pub fn run(args: &ControllerArgs, global: &GlobalArgs) -> Result<Outcome> {
    let source = crate::config::source_config(global)?;
    let mut options = ControllerOptions::new(args.scope.namespace.clone(), source);
    options.app_namespaces = args.scope.app_namespaces.clone();
    options.argocd_compat = args.scope.argocd_compat;
    options.refresh_interval = args.refresh_interval;
    options.refresh_jitter = args.refresh_jitter;
    options.self_heal_delay = args.self_heal_delay;
    options.workers = args.workers;
    options.listen = Some(args.listen);
    options.webhook_secret = args.webhook_secret.clone();
    options.shards = args.shards.max(1);
    options.lease_duration = args.lease_duration;
    if let Some(identity) = &args.identity {
        options.identity = identity.clone();
    }
    options.engine = EngineOptions {
        health_timeout: args.sync_timeout,
        hook_timeout: args.sync_timeout,
        poll_interval: args.poll_interval,
        ..EngineOptions::default()
    };
    let rt = runtime()?;
    rt.block_on(async {
        let cluster = connect(args)
            .await?
            .with_user_agent(concat!("trellis-controller/", env!("CARGO_PKG_VERSION")))?;
        let controller = Controller::new(cluster, options).context("starting the controller")?;
        controller.run(shutdown_signal()).await?;
        Ok(Outcome::Clean)
    })
}

async fn connect(args: &ControllerArgs) -> Result<Cluster> {
    crate::kubeclient::connect_with(
        args.scope.kubeconfig.as_deref(),
        args.scope.context.as_deref(),
    )
    .await
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
