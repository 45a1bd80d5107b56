//! The façade: compare and sync one application against a cluster, feeding
//! the pure parts from the live-state cache, the dry-run cache and the
//! application's inventory.
//!
//! The inventory is the set of kinds an application ever applied, kept in a
//! ConfigMap `trellis-inventory-<tracking label>` in the Application's
//! namespace (or the context's namespace when the Application has none or its
//! namespace does not exist in the destination, as for an Application read
//! from a file). Those kinds stay watched, so an object whose kind left the
//! render is still found and pruned.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use trellis_kube::{ApplyOptions, Cluster, GroupKind, LiveCache, ObjectRef};
use trellis_model::{Application, Manifest, ResourceKey};

use crate::compare::{
    Comparison, DryRun, DryRunAnswer, DryRunCache, compare_resources, object_hash,
    resource_version, summarize,
};
use crate::error::{EngineError, Result};
use crate::normalize::IgnoreRules;
use crate::plan::hook_phases;
use crate::tracking::{AppId, TRACKING_LABEL};

/// Timeouts and intervals of the engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How long a wave may take to become healthy.
    pub health_timeout: Duration,
    /// How long a hook may take to complete.
    pub hook_timeout: Duration,
    /// How often health is re-read while waiting.
    pub poll_interval: Duration,
    /// How long to wait for the live-state cache to list a kind, or to
    /// reflect the engine's own writes.
    pub cache_timeout: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            health_timeout: Duration::from_secs(300),
            hook_timeout: Duration::from_secs(300),
            poll_interval: Duration::from_millis(500),
            cache_timeout: Duration::from_secs(30),
        }
    }
}

/// A write the live-state cache must reflect before the next comparison.
#[derive(Clone)]
struct PendingWrite {
    label: String,
    kind: GroupKind,
    at: ObjectRef,
    /// The stored version; `None` when the object was deleted.
    resource_version: Option<String>,
}

/// Compares and syncs applications on one cluster. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    cluster: Cluster,
    cache: LiveCache,
    dry_runs: DryRunCache,
    inventories: Arc<Mutex<HashMap<AppId, BTreeSet<GroupKind>>>>,
    /// Writes not yet seen in the cache, by the writing application's label
    /// value: a comparison waits for its own application's writes only.
    pending: Arc<Mutex<HashMap<String, Vec<PendingWrite>>>>,
    pub(crate) options: EngineOptions,
}

/// An application's desired objects, prepared for the cluster.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// Ordinary resources.
    pub resources: Vec<(ResourceKey, Value)>,
    /// Hooks (not compared; run by a sync).
    pub hooks: Vec<(ResourceKey, Value)>,
}

impl Engine {
    /// An engine over a cluster.
    pub fn new(cluster: Cluster, options: EngineOptions) -> Self {
        Self {
            cache: LiveCache::new(cluster.clone(), TRACKING_LABEL),
            cluster,
            dry_runs: DryRunCache::default(),
            inventories: Arc::default(),
            pending: Arc::default(),
            options,
        }
    }

    /// The cluster.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// The live-state cache.
    pub fn cache(&self) -> &LiveCache {
        &self.cache
    }

    /// The dry-run cache.
    pub fn dry_runs(&self) -> &DryRunCache {
        &self.dry_runs
    }

    /// The options.
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// The namespace namespaced resources without one go to.
    pub fn destination_namespace(&self, app: &Application) -> String {
        app.spec
            .destination
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| self.cluster.default_namespace().to_string())
    }

    /// Sets namespaces (destination for namespaced kinds without one, none
    /// for cluster-scoped kinds) and stamps tracking on every manifest.
    pub async fn prepare(&self, app: &Application, manifests: &[Manifest]) -> Result<Prepared> {
        let id = app_id(app);
        let destination = self.destination_namespace(app);
        let mut out = Prepared::default();
        let mut origins: HashMap<ResourceKey, String> = HashMap::new();
        for manifest in manifests {
            let origin = manifest.origin.to_string();
            let mut object = manifest.object.clone();
            let bad = |message: String| EngineError::Manifest {
                origin: origin.clone(),
                message,
            };
            let api_version = object
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let kind = object
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if api_version.is_empty() || kind.is_empty() {
                return Err(bad("missing apiVersion or kind".into()));
            }
            let namespaced = match self.cluster.discovery().resolve(&api_version, &kind).await {
                Ok(info) => info.namespaced,
                Err(trellis_kube::Error::UnknownKind { .. }) => {
                    scope_from_render(manifests, &api_version, &kind).ok_or_else(|| {
                        bad(format!(
                            "the cluster has no resource for {api_version} {kind}, and no CustomResourceDefinition in the application defines it"
                        ))
                    })?
                }
                Err(e) => return Err(e.into()),
            };
            if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
                let has_ns = meta
                    .get("namespace")
                    .and_then(Value::as_str)
                    .is_some_and(|n| !n.is_empty());
                if !namespaced {
                    meta.remove("namespace");
                } else if !has_ns {
                    meta.insert("namespace".into(), Value::String(destination.clone()));
                }
            }
            let key = ResourceKey::from_object(&object).map_err(|e| bad(e.to_string()))?;
            id.stamp(&mut object);
            if let Some(first) = origins.insert(key.clone(), origin.clone()) {
                return Err(EngineError::Duplicate {
                    key,
                    first,
                    second: origin,
                });
            }
            if hook_phases(&object).is_some() {
                out.hooks.push((key, object));
            } else {
                out.resources.push((key, object));
            }
        }
        Ok(out)
    }

    /// Compares an application's desired state with the cluster.
    ///
    /// `rendered` is the render's outcome: an error is reported in the
    /// comparison (and a sync of it plans nothing), never as missing
    /// resources.
    pub async fn compare(
        &self,
        app: &Application,
        rendered: std::result::Result<&[Manifest], &str>,
    ) -> Result<Comparison> {
        let manifests = match rendered {
            Ok(m) => m,
            Err(message) => {
                return Ok(Comparison {
                    resources: Vec::new(),
                    hooks: Vec::new(),
                    sync: trellis_model::SyncStatusCode::Unknown,
                    health: crate::health::Health {
                        status: trellis_model::HealthStatusCode::Unknown,
                        message: message.to_string(),
                    },
                    render_error: Some(message.to_string()),
                });
            }
        };
        let prepared = self.prepare(app, manifests).await?;
        self.compare_prepared(app, prepared).await
    }

    /// Compares already prepared desired objects.
    pub async fn compare_prepared(
        &self,
        app: &Application,
        prepared: Prepared,
    ) -> Result<Comparison> {
        let id = app_id(app);
        let rules = IgnoreRules::new(&app.spec.ignore_differences)?;
        let mut live = self.live_objects(&id, &prepared).await?;
        // The cache keeps objects without managedFields; rules that name
        // field managers read them from the server.
        for (key, object) in live.iter_mut() {
            if rules.needs_managed_fields(key)
                && let Some(fresh) = self.cluster.get(key).await?
            {
                *object = Arc::new(fresh);
            }
        }
        // Dry-run what the cache cannot answer, then compare from the cache.
        let mut answers: HashMap<ResourceKey, std::result::Result<DryRunAnswer, String>> =
            HashMap::new();
        for (key, object) in &prepared.resources {
            let Some(live_object) = live.get(key) else {
                continue;
            };
            let hash = object_hash(object);
            if let Some(hit) = self.dry_runs.get(key, hash, live_object) {
                answers.insert(key.clone(), Ok(hit));
                continue;
            }
            let options = ApplyOptions {
                dry_run: true,
                force: true,
                ..ApplyOptions::default()
            };
            match self.cluster.apply(object, &options).await {
                Ok(result) => {
                    let answer = DryRunAnswer::of(result, live_object);
                    self.dry_runs
                        .put(key.clone(), hash, live_object, answer.clone());
                    answers.insert(key.clone(), Ok(answer));
                }
                Err(e) => {
                    answers.insert(key.clone(), Err(e.to_string()));
                }
            }
        }
        struct Answers(HashMap<ResourceKey, std::result::Result<DryRunAnswer, String>>);
        impl DryRun for Answers {
            fn dry_run(
                &mut self,
                key: &ResourceKey,
                _: &Value,
                _: &Value,
            ) -> std::result::Result<DryRunAnswer, String> {
                self.0
                    .get(key)
                    .cloned()
                    .unwrap_or_else(|| Err("no dry-run result".into()))
            }
        }
        let resources =
            compare_resources(&prepared.resources, &live, &rules, &mut Answers(answers));
        let (sync, health) = summarize(&resources);
        Ok(Comparison {
            resources,
            hooks: prepared.hooks,
            sync,
            health,
            render_error: None,
        })
    }

    /// The application's tracked live objects of every desired or
    /// inventoried kind, from the live-state cache.
    pub(crate) async fn live_objects(
        &self,
        id: &AppId,
        prepared: &Prepared,
    ) -> Result<HashMap<ResourceKey, Arc<Value>>> {
        let mut kinds = self.inventory(id).await?;
        for (key, _) in prepared.resources.iter().chain(&prepared.hooks) {
            kinds.insert(GroupKind::new(key.group.clone(), key.kind.clone()));
        }
        let kinds: Vec<GroupKind> = kinds.into_iter().collect();
        self.cache
            .ensure(&kinds, self.options.cache_timeout)
            .await?;
        let label = id.label_value();
        self.settle(&label).await;
        let mut live = HashMap::new();
        for (_, object) in self.cache.store().objects(&label, &kinds) {
            if !id.owns(&object) {
                continue;
            }
            if let Ok(key) = ResourceKey::from_object(&object) {
                live.insert(key, object);
            }
        }
        Ok(live)
    }

    /// Waits (bounded) until the cache reflects the engine's own writes.
    async fn settle(&self, label: &str) {
        let pending: Vec<PendingWrite> = {
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            p.remove(label).unwrap_or_default()
        };
        if pending.is_empty() {
            return;
        }
        let store = self.cache.store().clone();
        store
            .wait_until(self.options.cache_timeout, |s| {
                pending.iter().all(|w| {
                    // A kind that is not watched cannot be waited for.
                    if !s.is_ready(&w.kind) {
                        return true;
                    }
                    let cached = s.get(&w.label, &w.kind, &w.at);
                    match (&w.resource_version, cached) {
                        (None, cached) => cached.is_none(),
                        (Some(_), None) => false,
                        (Some(v), Some(o)) => {
                            resource_version(&o) == v.as_str() || true_if_newer(&o, v)
                        }
                    }
                })
            })
            .await;
    }

    /// Notes a write whose result the cache must show before the next
    /// comparison.
    pub(crate) fn wrote(&self, id: &AppId, key: &ResourceKey, stored: Option<&Value>) {
        let write = PendingWrite {
            label: id.label_value(),
            kind: GroupKind::new(key.group.clone(), key.kind.clone()),
            at: ObjectRef {
                namespace: key.namespace.clone(),
                name: key.name.clone(),
            },
            resource_version: stored.map(|o| resource_version(o).to_string()),
        };
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(write.label.clone())
            .or_default()
            .push(write);
        if stored.is_none() {
            self.dry_runs.forget(key);
        }
    }

    /// Where an application's inventory is kept: a ConfigMap in the
    /// Application's namespace, or in the context's namespace when the
    /// Application has none or its namespace does not exist in this cluster
    /// (an Application read from a file).
    fn inventory_locations(&self, id: &AppId) -> Vec<ResourceKey> {
        let name = format!("trellis-inventory-{}", id.label_value());
        let mut namespaces = vec![id.namespace.clone()];
        namespaces.push(self.cluster.default_namespace().to_string());
        namespaces.retain(|n| !n.is_empty());
        namespaces.dedup();
        namespaces
            .into_iter()
            .map(|namespace| ResourceKey {
                group: String::new(),
                kind: "ConfigMap".into(),
                namespace,
                name: name.clone(),
            })
            .collect()
    }

    /// The kinds an application has ever applied.
    pub async fn inventory(&self, id: &AppId) -> Result<BTreeSet<GroupKind>> {
        if let Some(kinds) = self
            .inventories
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
        {
            return Ok(kinds.clone());
        }
        let mut kinds = BTreeSet::new();
        for location in self.inventory_locations(id) {
            if let Some(cm) = self.cluster.get(&location).await? {
                kinds.extend(
                    cm.pointer("/data/kinds")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .lines()
                        .filter_map(|l| l.split_once('/'))
                        .map(|(g, k)| GroupKind::new(g, k)),
                );
                break;
            }
        }
        self.inventories
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), kinds.clone());
        Ok(kinds)
    }

    /// Adds kinds to an application's inventory (written before they are
    /// applied, so a sync that stops half-way still finds them).
    pub async fn record_inventory(
        &self,
        id: &AppId,
        kinds: impl IntoIterator<Item = GroupKind>,
    ) -> Result<()> {
        let mut all = self.inventory(id).await?;
        let before = all.len();
        all.extend(kinds);
        if all.len() == before {
            return Ok(());
        }
        let text: String = all
            .iter()
            .map(|k| format!("{}/{}\n", k.group, k.kind))
            .collect();
        let mut last_error = None;
        for location in self.inventory_locations(id) {
            let cm = json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": location.name, "namespace": location.namespace,
                    "labels": {"trellis.dev/inventory": "true"},
                    "annotations": {"trellis.dev/application": id.instance()}},
                "data": {"kinds": text},
            });
            match self
                .cluster
                .apply(
                    &cm,
                    &ApplyOptions {
                        force: true,
                        ..Default::default()
                    },
                )
                .await
            {
                Ok(_) => {
                    last_error = None;
                    break;
                }
                // The namespace does not exist here: try the next place.
                Err(e) if e.is_not_found() => last_error = Some(e),
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(e) = last_error {
            return Err(e.into());
        }
        self.inventories
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), all);
        Ok(())
    }
}

/// Resource versions are opaque; any change after our write means the cache
/// has moved past it.
fn true_if_newer(object: &Value, written: &str) -> bool {
    match (
        resource_version(object).parse::<u64>(),
        written.parse::<u64>(),
    ) {
        (Ok(cached), Ok(written)) => cached > written,
        _ => false,
    }
}

/// The identity of an application.
pub fn app_id(app: &Application) -> AppId {
    AppId::new(app.namespace(), app.name())
}

/// Whether a kind defined by a CRD in the render is namespaced.
fn scope_from_render(manifests: &[Manifest], api_version: &str, kind: &str) -> Option<bool> {
    let (group, _) = trellis_kube::discovery::split_api_version(api_version);
    manifests.iter().find_map(|m| {
        let o = &m.object;
        let is_crd = o.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition");
        let spec = o.get("spec")?;
        (is_crd
            && spec.get("group").and_then(Value::as_str) == Some(group)
            && spec.pointer("/names/kind").and_then(Value::as_str) == Some(kind))
        .then(|| spec.get("scope").and_then(Value::as_str) != Some("Cluster"))
    })
}
