//! Which API resource serves a kind, cached per cluster.
//!
//! The whole discovery document is read once (aggregated discovery: two
//! requests) and kept; a kind that is not found triggers one refresh, which is
//! how a CustomResourceDefinition created a moment ago becomes usable without
//! restarting anything.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use kube::discovery::{ApiResource, Scope};
use tokio::sync::Mutex;

use crate::error::{Error, Result};

/// How to address one kind: its API resource and whether it is namespaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceInfo {
    /// Group, version, kind and plural.
    pub api_resource: ApiResource,
    /// Whether objects of this kind live in a namespace.
    pub namespaced: bool,
}

#[derive(Default)]
struct Tables {
    /// (group, version, kind) → resource.
    by_gvk: HashMap<(String, String, String), ResourceInfo>,
    /// (group, kind) → the group's preferred version of it.
    by_gk: HashMap<(String, String), ResourceInfo>,
    loaded: bool,
}

/// A cluster's discovery cache. Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct Discovery {
    client: kube::Client,
    tables: Arc<RwLock<Tables>>,
    refresh: Arc<Mutex<u64>>,
}

impl Discovery {
    /// An empty cache over a client; filled on first use.
    pub fn new(client: kube::Client) -> Self {
        Self {
            client,
            tables: Arc::new(RwLock::new(Tables::default())),
            refresh: Arc::new(Mutex::new(0)),
        }
    }

    /// The resource serving `apiVersion`/`kind`, refreshing discovery once if
    /// the kind is unknown.
    pub async fn resolve(&self, api_version: &str, kind: &str) -> Result<ResourceInfo> {
        let (group, version) = split_api_version(api_version);
        let key = (group.to_string(), version.to_string(), kind.to_string());
        self.lookup(|t| t.by_gvk.get(&key).cloned())
            .await?
            .ok_or_else(|| Error::UnknownKind {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
            })
    }

    /// The preferred resource serving `group`/`kind` (any version),
    /// refreshing discovery once if unknown.
    pub async fn resolve_group_kind(&self, group: &str, kind: &str) -> Result<ResourceInfo> {
        let key = (group.to_string(), kind.to_string());
        self.lookup(|t| t.by_gk.get(&key).cloned())
            .await?
            .ok_or_else(|| Error::UnknownKind {
                api_version: group.to_string(),
                kind: kind.to_string(),
            })
    }

    /// Like [`Discovery::resolve_group_kind`] without a refresh on a miss:
    /// for callers asking about kinds that may be gone for good.
    pub async fn cached_group_kind(&self, group: &str, kind: &str) -> Result<Option<ResourceInfo>> {
        if !self.read(|t| t.loaded) {
            self.reload(None).await?;
        }
        let key = (group.to_string(), kind.to_string());
        Ok(self.read(|t| t.by_gk.get(&key).cloned()))
    }

    /// Every `group/version` (`v1` for the core group) and
    /// `group/version/Kind` the server serves, sorted: what Helm charts see
    /// as `.Capabilities.APIVersions`.
    pub async fn api_versions(&self) -> Result<Vec<String>> {
        if !self.read(|t| t.loaded) {
            self.reload(None).await?;
        }
        let mut out: Vec<String> = self.read(|t| {
            t.by_gvk
                .values()
                .flat_map(|info| {
                    let gv = info.api_resource.api_version.clone();
                    let gvk = format!("{gv}/{}", info.api_resource.kind);
                    [gv, gvk]
                })
                .collect()
        });
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The server's version (`v1.32.4`).
    pub async fn server_version(&self) -> Result<String> {
        let info = self
            .client
            .apiserver_version()
            .await
            .map_err(|e| Error::from_kube("read", "the server version".into(), e))?;
        Ok(info.git_version)
    }

    /// Forgets everything; the next lookup reads discovery again.
    pub async fn invalidate(&self) -> Result<()> {
        let generation = *self.refresh.lock().await;
        self.reload(Some(generation)).await
    }

    async fn lookup(
        &self,
        find: impl Fn(&Tables) -> Option<ResourceInfo>,
    ) -> Result<Option<ResourceInfo>> {
        let (found, loaded, generation) = {
            let found = self.read(&find);
            (found, self.read(|t| t.loaded), *self.refresh.lock().await)
        };
        if found.is_some() {
            return Ok(found);
        }
        // Unknown (or never loaded): read discovery again, once, even if
        // several callers miss at the same time.
        self.reload(loaded.then_some(generation)).await?;
        Ok(self.read(&find))
    }

    fn read<T>(&self, f: impl FnOnce(&Tables) -> T) -> T {
        let tables = self.tables.read().unwrap_or_else(|p| p.into_inner());
        f(&tables)
    }

    /// Reloads unless another caller already did since `seen` (the
    /// generation the caller observed); `None` loads if never loaded.
    async fn reload(&self, seen: Option<u64>) -> Result<()> {
        let mut generation = self.refresh.lock().await;
        match seen {
            Some(seen) if *generation != seen => return Ok(()),
            None if self.read(|t| t.loaded) => return Ok(()),
            _ => {}
        }
        let discovery = kube::Discovery::new(self.client.clone())
            .run_aggregated()
            .await
            .map_err(|e| Error::from_kube("discover", "API resources".into(), e))?;
        let mut tables = Tables {
            loaded: true,
            ..Tables::default()
        };
        for group in discovery.groups() {
            let preferred = group.preferred_version_or_latest().to_string();
            for version in group.versions() {
                for (ar, caps) in group.versioned_resources(version) {
                    let info = ResourceInfo {
                        namespaced: matches!(caps.scope, Scope::Namespaced),
                        api_resource: ar.clone(),
                    };
                    let gk = (ar.group.clone(), ar.kind.clone());
                    if version == preferred || !tables.by_gk.contains_key(&gk) {
                        tables.by_gk.insert(gk, info.clone());
                    }
                    tables.by_gvk.insert(
                        (ar.group.clone(), ar.version.clone(), ar.kind.clone()),
                        info,
                    );
                }
            }
        }
        *self.tables.write().unwrap_or_else(|p| p.into_inner()) = tables;
        *generation += 1;
        Ok(())
    }
}

/// The API resource of one of the Application family's kinds
/// (`Application`, `AppProject`, `ApplicationSet`) in a group
/// (`trellis.dev` or `argoproj.io`), without asking discovery: how watches
/// of those kinds are started before their CRDs are served.
pub fn application_resource(group: &str, kind: &str) -> ApiResource {
    ApiResource {
        group: group.to_string(),
        version: trellis_model::VERSION.to_string(),
        api_version: format!("{group}/{}", trellis_model::VERSION),
        kind: kind.to_string(),
        plural: format!("{}s", kind.to_ascii_lowercase()),
    }
}

/// `apps/v1` → (`apps`, `v1`); `v1` → (``, `v1`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}
