//! Comparing an application's desired resources with the cluster.
//!
//! [`compare_resources`] is the pure core: given prepared desired objects,
//! the application's live objects and a way to get the server's dry-run
//! answer for a desired object, it returns a status per resource. The
//! [`crate::Engine`] feeds it from the live-state cache and the dry-run cache.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::Value;
use trellis_model::{ResourceKey, SyncStatusCode};

use crate::diff::object_diff;
use crate::health::{self, Health};
use crate::normalize::{IgnoreRules, strip_server_fields};
use crate::plan::hook_phases;

/// How one resource compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ResourceSync {
    /// Live matches desired.
    Synced,
    /// Live differs from desired.
    OutOfSync,
    /// Desired, not in the cluster.
    Missing,
    /// In the cluster, tracked by the application, no longer desired: a
    /// prune candidate.
    Extra,
    /// Could not be compared (the message says why).
    Unknown,
}

impl std::fmt::Display for ResourceSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ResourceSync::Synced => "Synced",
            ResourceSync::OutOfSync => "OutOfSync",
            ResourceSync::Missing => "Missing",
            ResourceSync::Extra => "Extra",
            ResourceSync::Unknown => "Unknown",
        })
    }
}

/// One resource's comparison.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceComparison {
    /// The resource.
    pub key: ResourceKey,
    /// Its sync status.
    pub status: ResourceSync,
    /// Its health (from the live object).
    pub health: Health,
    /// Why it could not be compared, if it could not.
    pub message: String,
    /// Unified YAML diff, live → desired (Secret values masked); empty when
    /// synced.
    pub diff: String,
    /// The prepared desired object (None for extras).
    #[serde(skip)]
    pub desired: Option<Value>,
    /// The live object (None when missing).
    #[serde(skip)]
    pub live: Option<Arc<Value>>,
}

/// An application's comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Every desired and every extra resource, ordered by key.
    pub resources: Vec<ResourceComparison>,
    /// Hooks in the render (not compared; run by a sync).
    #[serde(skip)]
    pub hooks: Vec<(ResourceKey, Value)>,
    /// Synced when every resource is, OutOfSync otherwise, Unknown when the
    /// render failed.
    pub sync: SyncStatusCode,
    /// The worst health of the resources.
    pub health: Health,
    /// Why rendering failed, if it did (then nothing may be deleted).
    pub render_error: Option<String>,
}

impl Comparison {
    /// Whether anything differs (or could not be compared).
    pub fn differs(&self) -> bool {
        self.sync != SyncStatusCode::Synced
    }
}

/// The server's answer to a dry-run apply.
#[derive(Debug, Clone, PartialEq)]
pub enum DryRunAnswer {
    /// Applying would change nothing the comparison sees: the result equals
    /// the live object once server-owned fields are dropped. Kept without a
    /// copy of the object, so an unchanged application costs the cache
    /// nothing but the live objects.
    SameAsLive,
    /// What the server would store.
    Object(Arc<Value>),
}

impl DryRunAnswer {
    /// Classifies a dry-run result against the live object.
    pub fn of(result: Value, live: &Value) -> Self {
        let mut a = result.clone();
        let mut b = live.clone();
        strip_server_fields(&mut a);
        strip_server_fields(&mut b);
        if a == b {
            DryRunAnswer::SameAsLive
        } else {
            DryRunAnswer::Object(Arc::new(result))
        }
    }
}

/// Looks up or computes the server's dry-run answer for a desired object
/// against the live object it would update.
pub trait DryRun {
    /// The dry-run answer, or an error message.
    fn dry_run(
        &mut self,
        key: &ResourceKey,
        desired: &Value,
        live: &Value,
    ) -> Result<DryRunAnswer, String>;
}

/// Compares prepared desired objects with live ones.
///
/// `live` holds the application's tracked live objects by key. Desired
/// objects without a live object are Missing (no dry-run is needed to know
/// that); live objects without a desired one are Extra.
pub fn compare_resources(
    desired: &[(ResourceKey, Value)],
    live: &HashMap<ResourceKey, Arc<Value>>,
    rules: &IgnoreRules,
    dry_run: &mut dyn DryRun,
) -> Vec<ResourceComparison> {
    let mut out = Vec::with_capacity(desired.len());
    let mut seen = std::collections::HashSet::with_capacity(desired.len());
    for (key, object) in desired {
        seen.insert(key);
        let Some(live_object) = live.get(key) else {
            out.push(ResourceComparison {
                key: key.clone(),
                status: ResourceSync::Missing,
                health: Health::missing(),
                message: String::new(),
                diff: object_diff(None, Some(&normalized(object)), &key.to_string()),
                desired: Some(object.clone()),
                live: None,
            });
            continue;
        };
        let health = health::assess(Some(live_object));
        let (status, message, diff) = match dry_run.dry_run(key, object, live_object) {
            Err(message) => (ResourceSync::Unknown, message, String::new()),
            Ok(DryRunAnswer::SameAsLive) => (ResourceSync::Synced, String::new(), String::new()),
            Ok(DryRunAnswer::Object(predicted)) => {
                let mut predicted = (*predicted).clone();
                let mut current = (**live_object).clone();
                rules.apply(key, Some(&mut predicted), Some(&mut current));
                strip_server_fields(&mut predicted);
                strip_server_fields(&mut current);
                if predicted == current {
                    (ResourceSync::Synced, String::new(), String::new())
                } else {
                    let diff = object_diff(Some(&current), Some(&predicted), &key.to_string());
                    (ResourceSync::OutOfSync, String::new(), diff)
                }
            }
        };
        out.push(ResourceComparison {
            key: key.clone(),
            status,
            health,
            message,
            diff,
            desired: Some(object.clone()),
            live: Some(live_object.clone()),
        });
    }
    for (key, object) in live {
        if seen.contains(key) || hook_phases(object).is_some() {
            continue;
        }
        out.push(ResourceComparison {
            key: key.clone(),
            status: ResourceSync::Extra,
            health: health::assess(Some(object)),
            message: String::new(),
            diff: object_diff(Some(&normalized(object)), None, &key.to_string()),
            desired: None,
            live: Some(object.clone()),
        });
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

fn normalized(object: &Value) -> Value {
    let mut o = object.clone();
    strip_server_fields(&mut o);
    o
}

/// Sums resources up: sync status and worst health.
pub fn summarize(resources: &[ResourceComparison]) -> (SyncStatusCode, Health) {
    let synced = resources.iter().all(|r| r.status == ResourceSync::Synced);
    let health = health::worst(
        resources
            .iter()
            .filter(|r| r.status != ResourceSync::Extra)
            .map(|r| &r.health),
    );
    let sync = if synced {
        SyncStatusCode::Synced
    } else {
        SyncStatusCode::OutOfSync
    };
    (sync, health)
}

/// The hash of a desired object (its JSON text).
pub fn object_hash(object: &Value) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    object.to_string().hash(&mut hasher);
    hasher.finish()
}

/// Dry-run results keyed by resource, valid for one desired object (its
/// hash) against one live object: the same resourceVersion, or — when only
/// the status or server-written metadata changed since, as a Deployment's
/// rollout or a child Application's status writes do all the time — the
/// same content. An unchanged application compares from this cache alone.
/// Bounded by the number of resources (one entry per resource key).
#[derive(Clone, Default)]
pub struct DryRunCache {
    entries: Arc<Mutex<HashMap<ResourceKey, DryRunEntry>>>,
}

#[derive(Clone)]
struct DryRunEntry {
    hash: u64,
    resource_version: String,
    /// [`content_hash`] of the live object the answer was given for.
    content: u64,
    result: DryRunAnswer,
}

/// The hash of what a comparison sees of a live object: everything but its
/// status and server-written metadata (the dry-run answer depends on nothing
/// else that the comparison keeps).
pub fn content_hash(live: &Value) -> u64 {
    let mut object = live.clone();
    strip_server_fields(&mut object);
    object_hash(&object)
}

impl DryRunCache {
    /// The cached result for this desired object and live object, if any.
    /// Hashes the live object only when its resourceVersion moved on.
    pub fn get(&self, key: &ResourceKey, hash: u64, live: &Value) -> Option<DryRunAnswer> {
        let version = resource_version(live);
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get_mut(key).filter(|e| e.hash == hash)?;
        if entry.resource_version != version {
            if entry.content != content_hash(live) {
                return None;
            }
            // Only status or metadata moved: the answer stands, now for
            // this version too.
            entry.resource_version = version.to_string();
        }
        Some(entry.result.clone())
    }

    /// Records the result for a desired object (by hash) against `live`.
    pub fn put(&self, key: ResourceKey, hash: u64, live: &Value, result: DryRunAnswer) {
        let entry = DryRunEntry {
            hash,
            resource_version: resource_version(live).to_string(),
            content: content_hash(live),
            result,
        };
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.insert(key, entry);
    }

    /// Forgets a resource.
    pub fn forget(&self, key: &ResourceKey) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(key);
    }

    /// How many results are cached.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The resourceVersion of a live object.
pub fn resource_version(object: &Value) -> &str {
    object
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Counts of resources per status, for summaries.
pub fn counts(resources: &[ResourceComparison]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in resources {
        *out.entry(r.status.to_string()).or_insert(0) += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Echo;
    impl DryRun for Echo {
        fn dry_run(
            &mut self,
            _: &ResourceKey,
            desired: &Value,
            live: &Value,
        ) -> Result<DryRunAnswer, String> {
            let mut merged = live.clone();
            merged["data"] = desired["data"].clone();
            Ok(DryRunAnswer::of(merged, live))
        }
    }

    fn cm(name: &str, v: &str) -> (ResourceKey, Value) {
        let o = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "n"}, "data": {"k": v}});
        (ResourceKey::from_object(&o).unwrap(), o)
    }

    #[test]
    fn statuses_of_desired_and_live() {
        let desired = vec![cm("same", "1"), cm("changed", "2"), cm("missing", "3")];
        let mut live = HashMap::new();
        let mut same = cm("same", "1").1;
        same["metadata"]["resourceVersion"] = json!("7");
        live.insert(cm("same", "1").0, Arc::new(same));
        live.insert(cm("changed", "1").0, Arc::new(cm("changed", "1").1));
        live.insert(cm("extra", "1").0, Arc::new(cm("extra", "1").1));
        let got = compare_resources(&desired, &live, &IgnoreRules::default(), &mut Echo);
        let statuses: Vec<_> = got
            .iter()
            .map(|r| (r.key.name.as_str(), r.status))
            .collect();
        assert_eq!(
            statuses,
            [
                ("changed", ResourceSync::OutOfSync),
                ("extra", ResourceSync::Extra),
                ("missing", ResourceSync::Missing),
                ("same", ResourceSync::Synced)
            ]
        );
        assert!(
            got[0].diff.contains("-  k: \"1\"\n+  k: \"2\""),
            "{}",
            got[0].diff
        );
        let (sync, health) = summarize(&got);
        assert_eq!(sync, SyncStatusCode::OutOfSync);
        assert_eq!(health.status, trellis_model::HealthStatusCode::Missing);
    }

    #[test]
    fn dry_run_cache_is_keyed_by_desired_hash_and_live_content() {
        let cache = DryRunCache::default();
        let (key, desired) = cm("a", "1");
        let mut live = desired.clone();
        live["metadata"]["resourceVersion"] = json!("5");
        let hash = object_hash(&desired);
        cache.put(key.clone(), hash, &live, DryRunAnswer::SameAsLive);
        assert!(cache.get(&key, hash, &live).is_some());
        // Another desired object: no answer.
        assert!(
            cache
                .get(&key, object_hash(&cm("a", "2").1), &live)
                .is_none()
        );
        // A new version whose status and managed metadata moved only: the
        // answer stands.
        let mut status_only = live.clone();
        status_only["metadata"]["resourceVersion"] = json!("6");
        status_only["metadata"]["generation"] = json!(1);
        status_only["status"] = json!({"observed": true});
        assert!(cache.get(&key, hash, &status_only).is_some());
        // A new version whose content changed: no answer.
        let mut changed = live.clone();
        changed["metadata"]["resourceVersion"] = json!("7");
        changed["data"]["k"] = json!("edited");
        assert!(cache.get(&key, hash, &changed).is_none());
        let mut relabelled = live.clone();
        relabelled["metadata"]["resourceVersion"] = json!("8");
        relabelled["metadata"]["labels"]["extra"] = json!("x");
        assert!(cache.get(&key, hash, &relabelled).is_none());
    }
}
