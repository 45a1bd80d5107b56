//! What the controller is told at start.

use std::net::SocketAddr;
use std::time::Duration;

use trellis_engine::EngineOptions;
use trellis_source::SourceConfig;

/// The controller's settings.
#[derive(Debug, Clone)]
pub struct ControllerOptions {
    /// The controller's own namespace: Applications, AppProjects and
    /// repository and cluster Secrets live here.
    pub namespace: String,
    /// Further namespaces whose Applications are reconciled (`argocd`, say).
    pub app_namespaces: Vec<String>,
    /// Also reconcile `argoproj.io/v1alpha1` Applications, AppProjects and
    /// ApplicationSets.
    pub argocd_compat: bool,
    /// How often every application is compared with git.
    pub refresh_interval: Duration,
    /// Up to this much is added at random to each application's interval,
    /// so a thousand applications do not all refresh at once.
    pub refresh_jitter: Duration,
    /// How long a drifted application waits before self-heal syncs it.
    pub self_heal_delay: Duration,
    /// Reconciles run at once.
    pub workers: usize,
    /// Syncs in progress at once; more wait their turn (Argo CD's
    /// operation processors). Bounds the memory a thousand first syncs take.
    pub max_syncs: usize,
    /// How many past syncs are kept when the Application does not say.
    pub history_limit: usize,
    /// The repository cache.
    pub source: SourceConfig,
    /// Health and hook timeouts, and how often a running sync is polled.
    pub engine: EngineOptions,
    /// Where `/metrics`, `/healthz` and the webhook endpoint are served;
    /// none when `None`.
    pub listen: Option<SocketAddr>,
    /// Shared secret of git webhooks (GitHub's HMAC secret, GitLab's
    /// token); webhooks are refused when unset.
    pub webhook_secret: Option<String>,
    /// This replica's identity (for leader election and shard claims).
    pub identity: String,
    /// How many shards destination clusters are spread over; 1 means no
    /// sharding.
    pub shards: u32,
    /// Lease duration for leader election and shard claims.
    pub lease_duration: Duration,
}

impl ControllerOptions {
    /// Defaults for a controller in `namespace` with a repository cache.
    pub fn new(namespace: impl Into<String>, source: SourceConfig) -> Self {
        Self {
            namespace: namespace.into(),
            app_namespaces: Vec::new(),
            argocd_compat: false,
            refresh_interval: Duration::from_secs(180),
            refresh_jitter: Duration::from_secs(30),
            self_heal_delay: Duration::from_secs(5),
            workers: 8,
            max_syncs: 32,
            history_limit: 10,
            source,
            engine: EngineOptions::default(),
            listen: None,
            webhook_secret: None,
            identity: default_identity(),
            shards: 1,
            lease_duration: Duration::from_secs(15),
        }
    }

    /// Every namespace whose Applications are reconciled.
    pub fn namespaces(&self) -> Vec<String> {
        let mut out = vec![self.namespace.clone()];
        for ns in &self.app_namespaces {
            if !out.contains(ns) {
                out.push(ns.clone());
            }
        }
        out
    }

    /// The API groups reconciled.
    pub fn groups(&self) -> Vec<&'static str> {
        let mut groups = vec![trellis_model::TRELLIS_GROUP];
        if self.argocd_compat {
            groups.push(trellis_model::ARGO_GROUP);
        }
        groups
    }
}

fn default_identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "trellis".into());
    format!("{host}-{}", std::process::id())
}
