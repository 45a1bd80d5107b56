//! Prometheus metrics of the controller, served at `/metrics`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use trellis_model::{HealthStatusCode, SyncStatusCode};

use crate::AppKey;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    sync_status: String,
    health_status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ShardLabels {
    replica: String,
}

/// Every metric the controller keeps.
pub struct Metrics {
    registry: Registry,
    reconcile_seconds: Histogram,
    sync_seconds: Histogram,
    syncs: Family<PhaseLabels, Counter>,
    queue_depth: Gauge,
    applications: Family<StatusLabels, Gauge>,
    render_seconds: Histogram,
    render_cache: Family<ResultLabels, Counter>,
    git_fetch_seconds: Histogram,
    webhooks: Family<ResultLabels, Counter>,
    shard: Family<ShardLabels, Gauge>,
    shards: Gauge,
    leader: Gauge,
    statuses: Mutex<HashMap<AppKey, (SyncStatusCode, HealthStatusCode)>>,
}

fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.5, 14))
}

impl Metrics {
    /// A new set of metrics, registered under the `trellis` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("trellis");
        let m = Self {
            reconcile_seconds: seconds(),
            sync_seconds: seconds(),
            syncs: Family::default(),
            queue_depth: Gauge::default(),
            applications: Family::default(),
            render_seconds: seconds(),
            render_cache: Family::default(),
            git_fetch_seconds: seconds(),
            webhooks: Family::default(),
            shard: Family::default(),
            shards: Gauge::default(),
            leader: Gauge::default(),
            statuses: Mutex::new(HashMap::new()),
            registry: Registry::default(),
        };
        registry.register(
            "reconcile_duration_seconds",
            "Time to reconcile one application",
            m.reconcile_seconds.clone(),
        );
        registry.register(
            "sync_duration_seconds",
            "Time from the start to the end of a sync operation",
            m.sync_seconds.clone(),
        );
        registry.register(
            "syncs",
            "Finished sync operations by phase",
            m.syncs.clone(),
        );
        registry.register(
            "queue_depth",
            "Applications waiting for a reconcile",
            m.queue_depth.clone(),
        );
        registry.register(
            "applications",
            "Applications by sync and health status",
            m.applications.clone(),
        );
        registry.register(
            "render_duration_seconds",
            "Time to render one application's manifests",
            m.render_seconds.clone(),
        );
        registry.register(
            "render_cache",
            "Render cache lookups by result (hit or miss)",
            m.render_cache.clone(),
        );
        registry.register(
            "git_fetch_duration_seconds",
            "Time of one git fetch",
            m.git_fetch_seconds.clone(),
        );
        registry.register(
            "webhooks",
            "Git webhook deliveries by result",
            m.webhooks.clone(),
        );
        registry.register(
            "shard",
            "The shard this replica holds (-1 while it holds none)",
            m.shard.clone(),
        );
        registry.register(
            "shards",
            "Shards destination clusters are spread over",
            m.shards.clone(),
        );
        registry.register(
            "leader",
            "1 while this replica is the leader",
            m.leader.clone(),
        );
        Self { registry, ..m }
    }

    /// The metrics in Prometheus's text format.
    pub fn encode(&self, queue_depth: usize) -> String {
        self.queue_depth.set(queue_depth as i64);
        {
            let statuses = self.statuses.lock().unwrap_or_else(|p| p.into_inner());
            let mut counts: HashMap<StatusLabels, i64> = HashMap::new();
            for (sync, health) in statuses.values() {
                *counts
                    .entry(StatusLabels {
                        sync_status: format!("{sync:?}"),
                        health_status: format!("{health:?}"),
                    })
                    .or_default() += 1;
            }
            self.applications.clear();
            for (labels, n) in counts {
                self.applications.get_or_create(&labels).set(n);
            }
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    pub(crate) fn reconciled(&self, elapsed: Duration) {
        self.reconcile_seconds.observe(elapsed.as_secs_f64());
    }

    pub(crate) fn sync_finished(&self, phase: &str, elapsed: Duration) {
        self.syncs
            .get_or_create(&PhaseLabels {
                phase: phase.to_string(),
            })
            .inc();
        self.sync_seconds.observe(elapsed.as_secs_f64());
    }

    pub(crate) fn rendered(&self, elapsed: Duration) {
        self.render_seconds.observe(elapsed.as_secs_f64());
    }

    pub(crate) fn render_cache(&self, hit: bool) {
        self.render_cache
            .get_or_create(&ResultLabels {
                result: if hit { "hit" } else { "miss" }.into(),
            })
            .inc();
    }

    pub(crate) fn git_fetched(&self, elapsed: Duration) {
        self.git_fetch_seconds.observe(elapsed.as_secs_f64());
    }

    pub(crate) fn webhook(&self, result: &str) {
        self.webhooks
            .get_or_create(&ResultLabels {
                result: result.to_string(),
            })
            .inc();
    }

    pub(crate) fn set_status(&self, key: &AppKey, sync: SyncStatusCode, health: HealthStatusCode) {
        self.statuses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), (sync, health));
    }

    pub(crate) fn forget(&self, key: &AppKey) {
        self.statuses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    pub(crate) fn set_shard(&self, replica: &str, shard: Option<u32>, shards: u32) {
        self.shard
            .get_or_create(&ShardLabels {
                replica: replica.to_string(),
            })
            .set(shard.map_or(-1, i64::from));
        self.shards.set(i64::from(shards));
    }

    pub(crate) fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
