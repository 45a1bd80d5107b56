//! The server's memory of the cluster: Applications, AppProjects and the
//! accounts Secret, fed by watches, with a broadcast of application changes
//! for live updates.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};

use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::Value;
use tokio::sync::{broadcast, watch};
use tracing::warn;
use trellis_kube::Cluster;
use trellis_model::{AppProject, Origin};

use crate::accounts::{Accounts, version_of};
use crate::summary::AppEntry;
use crate::{AppKey, SECRET_NAME};

/// What happened to an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    /// First seen.
    Added,
    /// Changed.
    Modified,
    /// Gone.
    Deleted,
}

impl ChangeKind {
    /// The name sent to live-update clients.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "ADDED",
            ChangeKind::Modified => "MODIFIED",
            ChangeKind::Deleted => "DELETED",
        }
    }
}

/// One change, as broadcast.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub kind: ChangeKind,
    pub entry: Arc<AppEntry>,
}

/// The accounts and the Secret version they were read at.
#[derive(Debug, Default)]
struct AccountsAt {
    accounts: Arc<Accounts>,
    version: Option<u64>,
}

/// Shared state fed by the watches.
pub(crate) struct Cache {
    apps: RwLock<BTreeMap<AppKey, Arc<AppEntry>>>,
    projects: RwLock<HashMap<(String, String), Arc<AppProject>>>,
    accounts: RwLock<AccountsAt>,
    changes: broadcast::Sender<Change>,
    /// How many watches have listed once.
    listed: watch::Sender<usize>,
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

impl Cache {
    pub fn new() -> Self {
        Self {
            apps: RwLock::new(BTreeMap::new()),
            projects: RwLock::new(HashMap::new()),
            accounts: RwLock::new(AccountsAt::default()),
            changes: broadcast::channel(1024).0,
            listed: watch::channel(0).0,
        }
    }

    /// One application.
    pub fn app(&self, key: &AppKey) -> Option<Arc<AppEntry>> {
        read(&self.apps).get(key).cloned()
    }

    /// Every application, ordered by group, namespace and name.
    pub fn apps(&self) -> Vec<Arc<AppEntry>> {
        read(&self.apps).values().cloned().collect()
    }

    /// Runs `f` over the applications without copying the list.
    pub fn with_apps<T>(&self, f: impl FnOnce(&BTreeMap<AppKey, Arc<AppEntry>>) -> T) -> T {
        f(&read(&self.apps))
    }

    /// A project of a group.
    pub fn project(&self, group: &str, name: &str) -> Option<Arc<AppProject>> {
        read(&self.projects)
            .get(&(group.to_string(), name.to_string()))
            .cloned()
    }

    /// Every project of every group, ordered by group and name.
    pub fn projects(&self) -> Vec<(String, Arc<AppProject>)> {
        let mut out: Vec<(String, Arc<AppProject>)> = read(&self.projects)
            .iter()
            .map(|((g, _), p)| (g.clone(), p.clone()))
            .collect();
        out.sort_by(|a, b| {
            (&a.0, a.1.metadata.name.as_deref()).cmp(&(&b.0, b.1.metadata.name.as_deref()))
        });
        out
    }

    /// The accounts as last read.
    pub fn accounts(&self) -> Arc<Accounts> {
        read(&self.accounts).accounts.clone()
    }

    /// Takes accounts read at `version` unless newer ones are known.
    pub fn set_accounts(&self, accounts: Accounts, version: Option<&str>) {
        let version = version.and_then(|v| v.parse::<u64>().ok());
        let mut current = write(&self.accounts);
        if let (Some(new), Some(old)) = (version, current.version)
            && new < old
        {
            return;
        }
        *current = AccountsAt {
            accounts: Arc::new(accounts),
            version,
        };
    }

    /// A receiver of application changes.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// How many watches have listed once.
    pub fn listed(&self) -> watch::Receiver<usize> {
        self.listed.subscribe()
    }

    pub(crate) fn mark_listed(&self) {
        self.listed.send_modify(|n| *n += 1);
    }

    /// Records an application object; returns its key.
    fn observe(&self, group: &str, object: Value) -> Option<AppKey> {
        let entry = Arc::new(AppEntry::new(group, object)?);
        let key = entry.key.clone();
        let previous = write(&self.apps).insert(key.clone(), entry.clone());
        let kind = match &previous {
            None => ChangeKind::Added,
            Some(p) if version_of(&p.object) == version_of(&entry.object) => return Some(key),
            Some(_) => ChangeKind::Modified,
        };
        let _ = self.changes.send(Change { kind, entry });
        Some(key)
    }

    fn forget(&self, key: &AppKey) {
        if let Some(entry) = write(&self.apps).remove(key) {
            let _ = self.changes.send(Change {
                kind: ChangeKind::Deleted,
                entry,
            });
        }
    }
}

/// The server's side of the Application watch.
struct AppFollower {
    cache: Arc<Cache>,
    group: &'static str,
    namespace: String,
    first: bool,
}

impl trellis_kube::follow::Follower for AppFollower {
    type Key = AppKey;

    fn applied(&mut self, object: Value) -> Option<AppKey> {
        self.cache.observe(self.group, object)
    }

    fn deleted(&mut self, object: Value) {
        if let (Some(ns), Some(name)) = (
            object
                .pointer("/metadata/namespace")
                .and_then(Value::as_str),
            object.pointer("/metadata/name").and_then(Value::as_str),
        ) {
            self.cache.forget(&AppKey::new(self.group, ns, name));
        }
    }

    fn listed(&mut self, seen: HashSet<AppKey>) {
        let gone: Vec<AppKey> = read(&self.cache.apps)
            .keys()
            .filter(|k| k.group == self.group && k.namespace == self.namespace)
            .filter(|k| !seen.contains(k))
            .cloned()
            .collect();
        for key in gone {
            self.cache.forget(&key);
        }
        if self.first {
            self.first = false;
            self.cache.mark_listed();
        }
    }
}

/// Watches a namespace's Applications of a group.
pub(crate) async fn watch_apps(
    cache: Arc<Cache>,
    cluster: Cluster,
    group: &'static str,
    namespace: String,
) {
    let resource = trellis_kube::discovery::application_resource(group, "Application");
    let mut follower = AppFollower {
        cache,
        group,
        namespace: namespace.clone(),
        first: true,
    };
    trellis_kube::follow::follow(&cluster, &resource, &namespace, &mut follower).await;
}

/// Watches the AppProjects of a group in the controller's namespace.
pub(crate) async fn watch_projects(
    cache: Arc<Cache>,
    cluster: Cluster,
    group: &'static str,
    namespace: String,
) {
    let resource = trellis_kube::discovery::application_resource(group, "AppProject");
    let api: Api<DynamicObject> =
        Api::namespaced_with(cluster.client().clone(), &namespace, &resource);
    let mut stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut listing: Option<HashSet<String>> = None;
    let mut first = true;
    while let Some(event) = stream.next().await {
        let Ok(event) = event else { continue };
        let (object, deleted) = match event {
            watcher::Event::Init => {
                listing = Some(HashSet::new());
                continue;
            }
            watcher::Event::InitDone => {
                if let Some(seen) = listing.take() {
                    write(&cache.projects).retain(|(g, n), _| g != group || seen.contains(n));
                }
                if first {
                    first = false;
                    cache.mark_listed();
                }
                continue;
            }
            watcher::Event::InitApply(o) | watcher::Event::Apply(o) => (o, false),
            watcher::Event::Delete(o) => (o, true),
        };
        let Ok(value) = serde_json::to_value(object) else {
            continue;
        };
        let Some(name) = value.pointer("/metadata/name").and_then(Value::as_str) else {
            continue;
        };
        let id = (group.to_string(), name.to_string());
        if let Some(seen) = listing.as_mut() {
            seen.insert(name.to_string());
        }
        if deleted {
            write(&cache.projects).remove(&id);
            continue;
        }
        match AppProject::from_value(&value, &Origin::default()) {
            Ok(parsed) => {
                write(&cache.projects).insert(id, Arc::new(parsed.value));
            }
            Err(error) => {
                warn!(project = name, %error, "unreadable AppProject");
                write(&cache.projects).remove(&id);
            }
        }
    }
}

/// Watches the accounts Secret.
pub(crate) async fn watch_accounts(cache: Arc<Cache>, cluster: Cluster, namespace: String) {
    use k8s_openapi::api::core::v1::Secret;
    let resource = ApiResource::erase::<Secret>(&());
    let api: Api<DynamicObject> =
        Api::namespaced_with(cluster.client().clone(), &namespace, &resource);
    let config = watcher::Config::default().fields(&format!("metadata.name={SECRET_NAME}"));
    let mut stream = watcher(api, config).default_backoff().boxed();
    let mut seen_in_listing = false;
    let mut first = true;
    while let Some(event) = stream.next().await {
        let Ok(event) = event else { continue };
        match event {
            watcher::Event::Init => seen_in_listing = false,
            watcher::Event::InitApply(o) | watcher::Event::Apply(o) => {
                seen_in_listing = true;
                let Ok(value) = serde_json::to_value(o) else {
                    continue;
                };
                match Accounts::from_secret(&value) {
                    Ok(accounts) => cache.set_accounts(accounts, Some(&version_of(&value))),
                    Err(error) => {
                        warn!(%error, "unreadable accounts Secret; no one can log in");
                        cache.set_accounts(Accounts::default(), Some(&version_of(&value)));
                    }
                }
            }
            watcher::Event::Delete(o) => {
                let version = serde_json::to_value(o).map(|v| version_of(&v)).ok();
                cache.set_accounts(Accounts::default(), version.as_deref());
            }
            watcher::Event::InitDone => {
                if !seen_in_listing {
                    cache.set_accounts(Accounts::default(), None);
                }
                if first {
                    first = false;
                    cache.mark_listed();
                }
            }
        }
    }
}
