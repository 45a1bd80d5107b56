//! `trellis cluster`: the embedded Kubernetes API server.

use anyhow::{Context, Result};
use trellis_localcluster::{ServeOptions, serve_blocking};

use crate::Outcome;
use crate::cli::{ClusterArgs, ClusterCommand};

/// Runs a cluster subcommand.
pub fn run(args: &ClusterArgs) -> Result<Outcome> {
    match &args.command {
        ClusterCommand::Serve(serve) => {
            let mut options = ServeOptions {
                data: serve.data.clone(),
                port: serve.port,
                bind: serve.bind,
                kubeconfig_path: serve.kubeconfig.clone(),
                simulate: !serve.no_simulate,
                ..ServeOptions::default()
            };
            options.simulation.fail_image = serve.fail_image.clone();
            serve_blocking(options).context("embedded cluster")?;
            Ok(Outcome::Clean)
        }
    }
}
