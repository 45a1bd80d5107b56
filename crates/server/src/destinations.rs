//! Where an application's resources live, and the repository credentials
//! its render needs: both come from Argo CD's labelled Secrets in the
//! server's namespace, read by [`trellis_kube::argocd_secrets`] exactly as
//! the controller reads them.
//!
//! A watch keeps the Secrets in memory, so a new or changed Secret counts
//! from the next request on. Repository and repo-creds Secrets replace the
//! renderer's repository cache (with the credentials added to the base
//! configuration); a cluster Secret makes its server a destination, reached
//! through an engine built on first use and kept while the Secret's data
//! (its fingerprint) stays the same. Credentials are handed to git and to
//! the Kubernetes client only: never to logs or answers.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use serde_json::Value;
use tracing::{info, warn};
use trellis_engine::{Engine, EngineOptions};
use trellis_kube::argocd_secrets::{self, IN_CLUSTER, SecretError, SecretSet};
use trellis_render::{AppRenderer, Capabilities};
use trellis_source::{RepoCredentials, SourceConfig, Sources};

use crate::error::ApiError;
use crate::server::State;
use crate::summary::AppEntry;

/// The server's view of the labelled Secrets, and what it built on them.
pub(crate) struct Destinations {
    /// The repository cache settings the server started with; Secrets'
    /// credentials are added to a copy.
    base: SourceConfig,
    renderer: RwLock<AppRenderer>,
    /// The repository credentials the renderer was last built with.
    repositories: Mutex<BTreeMap<String, RepoCredentials>>,
    secrets: RwLock<SecretSet>,
    /// Engines on other clusters, by server, with the fingerprint of the
    /// Secret they were built from.
    engines: Mutex<HashMap<String, Remote>>,
}

/// An engine on another cluster and what that cluster serves.
#[derive(Clone)]
struct Remote {
    /// The fingerprint of the cluster Secret the engine was built from.
    fingerprint: String,
    engine: Engine,
    /// Read on first use, like the in-cluster destination's.
    capabilities: Arc<tokio::sync::OnceCell<Capabilities>>,
}

/// Where one application's resources are compared and read.
pub(crate) struct Destination {
    /// The engine on the destination cluster.
    pub engine: Engine,
    /// What another cluster serves (`None`: the in-cluster destination).
    capabilities: Option<Arc<tokio::sync::OnceCell<Capabilities>>>,
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

fn lock<T>(lock: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    lock.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Destinations {
    /// Starts from `renderer` (and its repository cache's settings) with no
    /// Secrets read yet.
    pub fn new(renderer: AppRenderer) -> Self {
        Self {
            base: renderer.sources().config().clone(),
            renderer: RwLock::new(renderer),
            repositories: Mutex::new(BTreeMap::new()),
            secrets: RwLock::new(SecretSet::default()),
            engines: Mutex::new(HashMap::new()),
        }
    }

    /// The renderer, with the repository credentials last read.
    pub fn renderer(&self) -> AppRenderer {
        read(&self.renderer).clone()
    }

    /// Takes in the Secrets as now listed.
    pub fn update(&self, set: &SecretSet) {
        let key_dir = self.base.cache_dir.join("credentials");
        let repositories: BTreeMap<String, RepoCredentials> = set
            .repositories
            .iter()
            .filter_map(|(name, r)| {
                RepoCredentials::with_key_text(
                    r.url.clone(),
                    r.username.clone(),
                    r.password.clone(),
                    r.ssh_private_key.as_deref(),
                    &key_dir,
                )
                .map_err(|error| {
                    warn!(secret = %name, %error, "cannot store an ssh key from a repository secret");
                })
                .ok()
                .map(|c| (name.clone(), c))
            })
            .collect();
        let changed = {
            let mut known = lock(&self.repositories);
            let changed = *known != repositories;
            *known = repositories.clone();
            changed
        };
        if changed {
            let mut config = self.base.clone();
            config.credentials.extend(repositories.into_values());
            match Sources::new(config) {
                Ok(sources) => {
                    *write(&self.renderer) = AppRenderer::new(sources);
                    info!(
                        repositories = set.repositories.len(),
                        "repository credentials updated"
                    );
                }
                Err(error) => warn!(%error, "cannot apply repository credentials"),
            }
        }
        // Engines whose Secret went away or changed are dropped.
        lock(&self.engines).retain(|server, remote| {
            set.cluster(server)
                .is_some_and(|c| c.fingerprint == remote.fingerprint)
        });
        *write(&self.secrets) = set.clone();
    }

    /// The server an application's destination resolves to.
    fn server_of(&self, entry: &AppEntry) -> Result<String, ApiError> {
        let field = |name: &str| {
            entry
                .object
                .pointer(&format!("/spec/destination/{name}"))
                .and_then(Value::as_str)
        };
        read(&self.secrets)
            .server_of(field("server"), field("name"))
            .map_err(|e| unknown(entry, e))
    }
}

fn unknown(entry: &AppEntry, error: SecretError) -> ApiError {
    ApiError::Conflict(format!("application {}: {error}", entry.key))
}

impl State {
    /// The destination of an application: the in-cluster engine, or one on
    /// the cluster a cluster Secret describes. A destination no Secret
    /// describes is refused (409) with its name or server.
    pub fn destination(&self, entry: &AppEntry) -> Result<Destination, ApiError> {
        let server = self.destinations.server_of(entry)?;
        if server == IN_CLUSTER {
            return Ok(Destination {
                engine: self.engine.clone(),
                capabilities: None,
            });
        }
        let secret = read(&self.destinations.secrets)
            .cluster(&server)
            .cloned()
            .ok_or_else(|| unknown(entry, SecretError::UnknownServer(server.clone())))?;
        let mut engines = lock(&self.destinations.engines);
        let remote = match engines.get(&server) {
            Some(remote) if remote.fingerprint == secret.fingerprint => remote.clone(),
            _ => {
                let remote = Remote {
                    fingerprint: secret.fingerprint.clone(),
                    engine: Engine::new(secret.cluster.clone(), EngineOptions::default()),
                    capabilities: Arc::default(),
                };
                engines.insert(server, remote.clone());
                remote
            }
        };
        Ok(Destination {
            engine: remote.engine,
            capabilities: Some(remote.capabilities),
        })
    }

    /// What a destination serves (Helm's `.Capabilities`), read on first
    /// use; Helm's defaults when the cluster cannot say.
    pub async fn capabilities_of(&self, destination: &Destination) -> Capabilities {
        match &destination.capabilities {
            None => self.capabilities().await,
            Some(cell) => cell
                .get_or_init(|| read_capabilities(destination.engine.cluster()))
                .await
                .clone(),
        }
    }
}

/// What `cluster` serves; Helm's defaults when it cannot say.
pub(crate) async fn read_capabilities(cluster: &trellis_kube::Cluster) -> Capabilities {
    let discovery = cluster.discovery();
    match (
        discovery.server_version().await,
        discovery.api_versions().await,
    ) {
        (Ok(version), Ok(api_versions)) => Capabilities {
            kube_version: Some(version),
            api_versions,
        },
        _ => Capabilities::default(),
    }
}

/// Watches the labelled Secrets of the server's namespace into
/// `state.destinations`; counts as listed once the first listing is in.
pub(crate) async fn watch(state: Arc<State>) {
    let mut first = true;
    let cluster = state.cluster.clone();
    let namespace = state.options.namespace.clone();
    argocd_secrets::watch(cluster, namespace, |set: &SecretSet| {
        state.destinations.update(set);
        if first {
            first = false;
            state.cache.mark_listed();
        }
    })
    .await;
}
