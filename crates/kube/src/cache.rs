//! The live-state cache: objects carrying a tracking label, per kind, kept
//! current by watches.
//!
//! Shaped like kube-rs's reflector: a [`Writer`] per kind applies watch
//! events, a [`Store`] is the cheap, cloneable read handle shared by every
//! reader. One watch per kind serves every application (it selects on the
//! label's *presence*), and objects are indexed by the label's *value*, so
//! reading one application's resources never scans another's.
//!
//! [`LiveCache`] wires the two to a cluster: it starts a watch task per kind
//! on demand and keeps it running (a kind an application once applied stays
//! watched, so its objects are still found after the kind leaves the render).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::connect::Cluster;
use crate::error::{Error, Result};

/// A kind independent of version: what a watch and an inventory entry name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GroupKind {
    /// API group; empty for the core group.
    pub group: String,
    /// Kind.
    pub kind: String,
}

impl GroupKind {
    /// A group and kind.
    pub fn new(group: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            kind: kind.into(),
        }
    }
}

impl fmt::Display for GroupKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.kind)
        } else {
            write!(f, "{}.{}", self.kind, self.group)
        }
    }
}

/// Namespace and name of an object within its kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    /// Namespace; empty for cluster-scoped objects.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ObjectRef {
    fn of(object: &Value) -> Option<Self> {
        let meta = object.get("metadata")?;
        Some(Self {
            namespace: meta
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            name: meta.get("name")?.as_str()?.to_string(),
        })
    }
}

type Objects = HashMap<ObjectRef, Arc<Value>>;

#[derive(Default)]
struct KindStore {
    /// label value → objects.
    by_label: HashMap<String, Objects>,
    ready: bool,
}

struct Shared {
    label: String,
    kinds: RwLock<HashMap<GroupKind, KindStore>>,
    /// Bumped on every change, so readers can wait for one.
    version: tokio::sync::watch::Sender<u64>,
    /// The label value of every object changed after its kind was listed:
    /// how a controller learns of drift in the objects of one application.
    changes: tokio::sync::broadcast::Sender<String>,
}

/// Read handle on the cache. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

/// The writer of one kind: applies watch events to the store.
pub struct Writer {
    shared: Arc<Shared>,
    kind: GroupKind,
    buffer: Option<HashMap<String, Objects>>,
}

/// A new, empty store indexing objects by the value of `label`.
pub fn store(label: &str) -> Store {
    let (version, _) = tokio::sync::watch::channel(0);
    let (changes, _) = tokio::sync::broadcast::channel(1024);
    Store {
        shared: Arc::new(Shared {
            label: label.to_string(),
            kinds: RwLock::new(HashMap::new()),
            version,
            changes,
        }),
    }
}

impl Store {
    /// The writer for a kind. A kind must have one writer at a time.
    pub fn writer(&self, kind: GroupKind) -> Writer {
        Writer {
            shared: self.shared.clone(),
            kind,
            buffer: None,
        }
    }

    /// The label objects are indexed by.
    pub fn label(&self) -> &str {
        &self.shared.label
    }

    /// Whether the kind has been listed completely at least once.
    pub fn is_ready(&self, kind: &GroupKind) -> bool {
        self.read(|k| k.get(kind).is_some_and(|s| s.ready))
    }

    /// The objects of the given kinds whose label has the given value.
    pub fn objects(&self, label_value: &str, kinds: &[GroupKind]) -> Vec<(GroupKind, Arc<Value>)> {
        self.read(|k| {
            let mut out = Vec::new();
            for kind in kinds {
                if let Some(objects) = k.get(kind).and_then(|s| s.by_label.get(label_value)) {
                    out.extend(objects.values().map(|o| (kind.clone(), o.clone())));
                }
            }
            out
        })
    }

    /// One object, if cached under the given label value.
    pub fn get(&self, label_value: &str, kind: &GroupKind, at: &ObjectRef) -> Option<Arc<Value>> {
        self.read(|k| {
            k.get(kind)
                .and_then(|s| s.by_label.get(label_value))
                .and_then(|o| o.get(at))
                .cloned()
        })
    }

    /// Label values of objects that change from now on (added, modified or
    /// deleted after their kind was listed). A slow receiver loses the
    /// oldest values (`RecvError::Lagged`) and should then treat every
    /// label value as changed.
    pub fn changes(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.shared.changes.subscribe()
    }

    /// How many objects the cache holds.
    pub fn len(&self) -> usize {
        self.read(|k| {
            k.values()
                .flat_map(|s| s.by_label.values())
                .map(HashMap::len)
                .sum()
        })
    }

    /// Whether the cache holds no object.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until `check` holds for the store, re-checking after every
    /// change, or the timeout passes. Returns whether it holds.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&Store) -> bool,
    ) -> bool {
        let mut changes = self.shared.version.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            changes.borrow_and_update();
            if check(self) {
                return true;
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return check(self),
            }
        }
    }

    fn read<T>(&self, f: impl FnOnce(&HashMap<GroupKind, KindStore>) -> T) -> T {
        let kinds = self.shared.kinds.read().unwrap_or_else(|p| p.into_inner());
        f(&kinds)
    }
}

impl Writer {
    fn label_of<'a>(&self, object: &'a Value) -> Option<&'a str> {
        object
            .get("metadata")?
            .get("labels")?
            .get(&self.shared.label)?
            .as_str()
    }

    fn write(&self, f: impl FnOnce(&mut KindStore)) {
        {
            let mut kinds = self.shared.kinds.write().unwrap_or_else(|p| p.into_inner());
            f(kinds.entry(self.kind.clone()).or_default());
        }
        self.shared.version.send_modify(|v| *v += 1);
    }

    fn notify(&self, label: Option<&str>) {
        if let Some(label) = label {
            // No receiver is not an error: nobody is listening yet.
            let _ = self.shared.changes.send(label.to_string());
        }
    }

    /// Applies one watch event.
    pub fn apply_event(&mut self, event: watcher::Event<Value>) {
        match event {
            watcher::Event::Init => self.buffer = Some(HashMap::new()),
            watcher::Event::InitApply(mut object) => {
                trim(&mut object);
                let (Some(label), Some(at)) = (self.label_of(&object), ObjectRef::of(&object))
                else {
                    return;
                };
                let label = label.to_string();
                if let Some(buffer) = self.buffer.as_mut() {
                    buffer
                        .entry(label)
                        .or_default()
                        .insert(at, Arc::new(object));
                }
            }
            watcher::Event::InitDone => {
                let listed = self.buffer.take().unwrap_or_default();
                self.write(|s| {
                    s.by_label = listed;
                    s.ready = true;
                });
            }
            watcher::Event::Apply(object) => self.upsert(object),
            watcher::Event::Delete(object) => {
                if let Some(at) = ObjectRef::of(&object) {
                    self.write(|s| {
                        for objects in s.by_label.values_mut() {
                            objects.remove(&at);
                        }
                        s.by_label.retain(|_, o| !o.is_empty());
                    });
                    self.notify(self.label_of(&object));
                }
            }
        }
    }

    /// Inserts or replaces one object (also used to seed a store directly).
    pub fn upsert(&mut self, mut object: Value) {
        trim(&mut object);
        let Some(at) = ObjectRef::of(&object) else {
            return;
        };
        let label = self.label_of(&object).map(str::to_string);
        let changed = label.clone();
        self.write(|s| {
            // The label's value may have changed (or been removed): the
            // object lives under its current value only.
            for objects in s.by_label.values_mut() {
                objects.remove(&at);
            }
            s.by_label.retain(|_, o| !o.is_empty());
            if let Some(label) = label {
                s.by_label
                    .entry(label)
                    .or_default()
                    .insert(at, Arc::new(object));
            }
        });
        self.notify(changed.as_deref());
    }

    /// Marks the kind as completely listed (for stores seeded directly).
    pub fn mark_ready(&mut self) {
        self.write(|s| s.ready = true);
    }
}

/// Drops what no reader of the cache needs and what makes up much of a
/// typical object: `metadata.managedFields` (often half of it). A reader
/// that needs them (field-manager based ignore rules) reads the object
/// from the server.
fn trim(object: &mut Value) {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
}

/// A store kept current by one watch task per kind on a cluster.
///
/// Cheap to clone; the watch tasks stop when the last clone is dropped.
#[derive(Clone)]
pub struct LiveCache {
    inner: Arc<LiveInner>,
}

struct LiveInner {
    cluster: Cluster,
    store: Store,
    tasks: Mutex<HashMap<GroupKind, tokio::task::JoinHandle<()>>>,
}

impl Drop for LiveInner {
    fn drop(&mut self) {
        let tasks = self.tasks.get_mut().unwrap_or_else(|p| p.into_inner());
        for (_, task) in tasks.drain() {
            task.abort();
        }
    }
}

impl LiveCache {
    /// A cache over a cluster selecting objects that carry `label`.
    pub fn new(cluster: Cluster, label: &str) -> Self {
        Self {
            inner: Arc::new(LiveInner {
                cluster,
                store: store(label),
                tasks: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The read handle.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The cluster the cache watches.
    pub fn cluster(&self) -> &Cluster {
        &self.inner.cluster
    }

    /// The kinds being watched.
    pub fn watched(&self) -> Vec<GroupKind> {
        let tasks = self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner());
        let mut kinds: Vec<GroupKind> = tasks.keys().cloned().collect();
        kinds.sort();
        kinds
    }

    /// Makes sure every kind is watched and completely listed, waiting at
    /// most `timeout`. Kinds the server does not serve are skipped (nothing
    /// of theirs can exist) and returned.
    pub async fn ensure(&self, kinds: &[GroupKind], timeout: Duration) -> Result<Vec<GroupKind>> {
        let mut unserved = Vec::new();
        let mut started = Vec::new();
        for kind in kinds {
            if self.is_watched(kind) {
                started.push(kind.clone());
                continue;
            }
            let info = match self
                .inner
                .cluster
                .discovery()
                .resolve_group_kind(&kind.group, &kind.kind)
                .await
            {
                Ok(info) => info,
                Err(Error::UnknownKind { .. }) => {
                    unserved.push(kind.clone());
                    continue;
                }
                Err(e) => return Err(e),
            };
            self.start(kind.clone(), info);
            started.push(kind.clone());
        }
        let ready = self
            .inner
            .store
            .wait_until(timeout, |s| started.iter().all(|k| s.is_ready(k)))
            .await;
        if !ready {
            let pending: Vec<String> = started
                .iter()
                .filter(|k| !self.inner.store.is_ready(k))
                .map(ToString::to_string)
                .collect();
            return Err(Error::CacheTimeout(pending.join(", ")));
        }
        Ok(unserved)
    }

    fn is_watched(&self, kind: &GroupKind) -> bool {
        let tasks = self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.get(kind).is_some_and(|t| !t.is_finished())
    }

    fn start(&self, kind: GroupKind, info: crate::discovery::ResourceInfo) {
        let mut tasks = self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner());
        if tasks.get(&kind).is_some_and(|t| !t.is_finished()) {
            return;
        }
        let api: Api<DynamicObject> =
            Api::all_with(self.inner.cluster.client().clone(), &info.api_resource);
        let config = watcher::Config::default().labels(self.inner.store.label());
        let mut writer = self.inner.store.writer(kind.clone());
        let name = kind.to_string();
        let task = tokio::spawn(async move {
            let stream = watcher(api, config).default_backoff();
            futures::pin_mut!(stream);
            while let Some(event) = stream.next().await {
                match event {
                    Ok(event) => {
                        let event = map_event(event);
                        writer.apply_event(event);
                    }
                    Err(e) => tracing::debug!(kind = %name, error = %e, "watch error, backing off"),
                }
            }
        });
        tasks.insert(kind, task);
    }
}

/// kubectl's client-side-apply record: often the largest field of an object,
/// never compared (server-side apply supersedes it), so the cache drops it.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

fn map_event(event: watcher::Event<DynamicObject>) -> watcher::Event<Value> {
    let conv = |mut o: DynamicObject| {
        if let Some(annotations) = o.metadata.annotations.as_mut() {
            annotations.remove(LAST_APPLIED);
        }
        serde_json::to_value(o).unwrap_or(Value::Null)
    };
    match event {
        watcher::Event::Apply(o) => watcher::Event::Apply(conv(o)),
        watcher::Event::Delete(o) => watcher::Event::Delete(conv(o)),
        watcher::Event::Init => watcher::Event::Init,
        watcher::Event::InitApply(o) => watcher::Event::InitApply(conv(o)),
        watcher::Event::InitDone => watcher::Event::InitDone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(name: &str, label: Option<&str>) -> Value {
        let mut o = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "ns"}});
        if let Some(l) = label {
            o["metadata"]["labels"] = json!({"app": l});
        }
        o
    }

    #[test]
    fn indexes_by_label_value_and_follows_relabels() {
        let store = store("app");
        let cm = GroupKind::new("", "ConfigMap");
        let mut w = store.writer(cm.clone());
        w.apply_event(watcher::Event::Init);
        w.apply_event(watcher::Event::InitApply(obj("a", Some("x"))));
        assert!(!store.is_ready(&cm));
        w.apply_event(watcher::Event::InitDone);
        assert!(store.is_ready(&cm));
        assert_eq!(store.objects("x", std::slice::from_ref(&cm)).len(), 1);
        w.apply_event(watcher::Event::Apply(obj("a", Some("y"))));
        assert!(store.objects("x", std::slice::from_ref(&cm)).is_empty());
        assert_eq!(store.objects("y", std::slice::from_ref(&cm)).len(), 1);
        w.apply_event(watcher::Event::Delete(obj("a", Some("y"))));
        assert!(store.is_empty());
    }

    #[test]
    fn relist_replaces_contents() {
        let store = store("app");
        let cm = GroupKind::new("", "ConfigMap");
        let mut w = store.writer(cm.clone());
        w.upsert(obj("old", Some("x")));
        w.apply_event(watcher::Event::Init);
        w.apply_event(watcher::Event::InitApply(obj("new", Some("x"))));
        w.apply_event(watcher::Event::InitDone);
        let names: Vec<_> = store
            .objects("x", &[cm])
            .into_iter()
            .map(|(_, o)| o["metadata"]["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["new"]);
    }
}
