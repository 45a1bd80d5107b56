//! Connecting to a cluster: from a kubeconfig file and context, or from the
//! service account of the pod Trellis runs in.

use std::path::PathBuf;
use std::sync::Arc;

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
    /// What the client was built from, so [`Cluster::with_user_agent`] can
    /// build another with one header changed.
    config: Arc<kube::Config>,
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
        let client = kube::Client::try_from(config.clone()).map_err(|source| Error::Client {
            server: server.clone(),
            source: Box::new(source),
        })?;
        Ok(Self {
            discovery: Discovery::new(client.clone()),
            client,
            default_namespace,
            server,
            config: Arc::new(config),
        })
    }

    /// The same cluster, reached by a client whose requests carry `agent`
    /// (`trellis-controller/0.1.0`, say) as their `User-Agent`, so the API
    /// server's audit log tells them apart from other clients'. The copy has
    /// its own connection pool and discovery cache.
    pub fn with_user_agent(&self, agent: &str) -> Result<Self> {
        let invalid = |source: kube::Error| Error::Client {
            server: self.server.clone(),
            source: Box::new(source),
        };
        // The header types are kube's own `http` ones, inferred from
        // `Config::headers`, so no second copy of that crate is named here.
        let name = "user-agent"
            .parse()
            .map_err(|e| invalid(kube::Error::HttpError(Into::into(e))))?;
        let value = agent
            .parse()
            .map_err(|e| invalid(kube::Error::HttpError(Into::into(e))))?;
        let mut config = (*self.config).clone();
        config.headers.retain(|(n, _)| n != "user-agent");
        config.headers.push((name, value));
        Self::from_config(config)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster() -> Cluster {
        let url = "http://127.0.0.1:9".parse().unwrap();
        Cluster::from_config(kube::Config::new(url)).unwrap()
    }

    #[tokio::test]
    async fn a_user_agent_replaces_the_previous_one() {
        let cluster = cluster()
            .with_user_agent("first/1")
            .unwrap()
            .with_user_agent("trellis-controller/0.1.0")
            .unwrap();
        let agents: Vec<&str> = cluster
            .config
            .headers
            .iter()
            .filter(|(n, _)| n == "user-agent")
            .map(|(_, v)| v.to_str().unwrap())
            .collect();
        assert_eq!(agents, ["trellis-controller/0.1.0"]);
        assert_eq!(cluster.server(), "http://127.0.0.1:9/");
    }

    #[tokio::test]
    async fn a_user_agent_with_a_line_break_is_refused() {
        let err = cluster().with_user_agent("bad\nagent").unwrap_err();
        assert!(matches!(err, Error::Client { .. }), "{err}");
    }
}
