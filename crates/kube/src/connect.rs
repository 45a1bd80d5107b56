//! Connecting to a cluster: from a kubeconfig file and context, or from the
//! service account of the pod Trellis runs in.

use std::path::PathBuf;

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::discovery::Discovery;
use crate::error::{Error, Result};

/// How to reach a cluster from a kubeconfig.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// The kubeconfig file; `$KUBECONFIG` or `~/.kube/config` when unset.
    pub kubeconfig: Option<PathBuf>,
    /// The context; the kubeconfig's current context when unset.
    pub context: Option<String>,
}

/// A connected cluster: a client, its discovery cache and default namespace.
///
/// Cheap to clone; clones share the connection pool and discovery cache.
#[derive(Clone)]
pub struct Cluster {
    client: kube::Client,
    discovery: Discovery,
    default_namespace: String,
    server: String,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("server", &self.server)
            .field("default_namespace", &self.default_namespace)
            .finish()
    }
}

impl Cluster {
    /// Connects through a kubeconfig, as kubectl would with `--kubeconfig`
    /// and `--context`.
    pub async fn connect(options: &ConnectOptions) -> Result<Self> {
        let kube_options = KubeConfigOptions {
            context: options.context.clone(),
            ..Default::default()
        };
        let config = match &options.kubeconfig {
            Some(path) => {
                let kubeconfig =
                    Kubeconfig::read_from(path).map_err(|source| Error::Kubeconfig {
                        path: path.clone(),
                        source: Box::new(source),
                    })?;
                kube::Config::from_custom_kubeconfig(kubeconfig, &kube_options)
                    .await
                    .map_err(|source| Error::Kubeconfig {
                        path: path.clone(),
                        source: Box::new(source),
                    })?
            }
            None => kube::Config::from_kubeconfig(&kube_options)
                .await
                .map_err(|source| Error::Kubeconfig {
                    path: std::env::var_os("KUBECONFIG")
                        .map(PathBuf::from)
                        .unwrap_or_else(|| PathBuf::from("~/.kube/config")),
                    source: Box::new(source),
                })?,
        };
        Self::from_config(config)
    }

    /// Connects with the service account of the pod this process runs in.
    pub fn in_cluster() -> Result<Self> {
        let config =
            kube::Config::incluster().map_err(|source| Error::InCluster(Box::new(source)))?;
        Self::from_config(config)
    }

    /// Connects with a kube-rs configuration built elsewhere.
    pub fn from_config(config: kube::Config) -> Result<Self> {
        let server = config.cluster_url.to_string();
        let default_namespace = config.default_namespace.clone();
        let client = kube::Client::try_from(config).map_err(|source| Error::Client {
            server: server.clone(),
            source: Box::new(source),
        })?;
        Ok(Self {
            discovery: Discovery::new(client.clone()),
            client,
            default_namespace,
            server,
        })
    }

    /// The underlying kube-rs client.
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// The discovery cache of this cluster.
    pub fn discovery(&self) -> &Discovery {
        &self.discovery
    }

    /// The namespace of the kubeconfig context (`default` when unset).
    pub fn default_namespace(&self) -> &str {
        &self.default_namespace
    }

    /// The API server URL.
    pub fn server(&self) -> &str {
        &self.server
    }
}
