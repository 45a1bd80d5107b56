//! The controller's shared state, its watches and its workers.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tracing::{debug, info, warn};
use trellis_engine::Engine;
use trellis_kube::{ApplyOptions, Cluster};
use trellis_model::status::OperationState;
use trellis_model::{AppProject, ApplicationStatus, Origin};
use trellis_render::AppRenderer;
use trellis_source::Sources;

use crate::error::Result;
use crate::metrics::Metrics;
use crate::options::ControllerOptions;
use crate::queue::Queue;
use crate::render_cache::RenderCache;
use crate::secrets::{ClusterSecret, Secrets};
use crate::{AppKey, DEPENDS_ON_ANNOTATION};

/// The in-cluster destination's server URL, as Argo CD names it.
pub(crate) const IN_CLUSTER: &str = trellis_kube::argocd_secrets::IN_CLUSTER;

/// Keeps Applications in sync: create with [`Controller::new`], then
/// [`Controller::run`] until shutdown.
#[derive(Clone)]
pub struct Controller {
    pub(crate) ctx: Arc<Ctx>,
}

/// State shared by watches, workers and the HTTP endpoints.
pub(crate) struct Ctx {
    pub options: ControllerOptions,
    /// The cluster Applications live in (also the in-cluster destination).
    pub cluster: Cluster,
    pub renderer: RwLock<AppRenderer>,
    /// One engine per destination server.
    pub engines: Mutex<HashMap<String, Engine>>,
    /// Destination clusters from cluster Secrets, by server URL.
    pub clusters: RwLock<HashMap<String, ClusterSecret>>,
    /// The latest Application objects seen by the watches.
    pub apps: RwLock<HashMap<AppKey, Arc<Value>>>,
    /// What each Application was last seen to ask for (spec, operation,
    /// annotations…): a change queues a reconcile, a status write does not.
    pub triggers: Mutex<HashMap<AppKey, u64>>,
    /// The status as this controller last wrote it: the base of the next
    /// status patch, and fresher than the watch.
    pub statuses: Mutex<HashMap<AppKey, ApplicationStatus>>,
    /// AppProjects by (group, namespace, name).
    pub projects: RwLock<HashMap<(String, String, String), AppProject>>,
    /// Tracking label value → Application, for drift notifications.
    pub labels: RwLock<HashMap<String, AppKey>>,
    pub queue: Queue<AppKey>,
    pub render_cache: RenderCache,
    pub metrics: Arc<Metrics>,
    pub secrets: Mutex<Secrets>,
    /// Test hook: SIGKILL the process after this many sync steps (from
    /// `TRELLIS_TEST_KILL_AFTER_STEPS`).
    pub kill_after_steps: Mutex<Option<u64>>,
    /// When each application's running sync started (for the metric).
    pub sync_started: Mutex<HashMap<AppKey, Instant>>,
    /// The requested operation each Application last finished, so a watch
    /// that has not yet seen it cleared does not start it again.
    pub finished: Mutex<HashMap<AppKey, trellis_model::Operation>>,
    /// The running syncs' states as last stepped by this process (also
    /// persisted in the Applications, read from there after a restart).
    pub sync_states: Mutex<HashMap<AppKey, trellis_engine::sync::SyncState>>,
    /// The ApplicationSets of each group being run, for queueing them all.
    pub appsets: Mutex<Vec<Arc<crate::appsets::Sets>>>,
    /// Applications with a sync in progress, and those waiting for a slot.
    pub syncing: Mutex<(HashSet<AppKey>, std::collections::VecDeque<AppKey>)>,
    /// What each destination serves (Helm's `.Capabilities`), by server.
    pub capabilities: RwLock<HashMap<String, trellis_render::Capabilities>>,
    /// Counts watches (projects, secrets) whose first listing is complete:
    /// workers wait for them, so no Application is judged against a
    /// project or cluster not yet read.
    pub listed: tokio::sync::watch::Sender<u32>,
    /// The shard this replica holds (`None`: standby, or not sharded when
    /// `options.shards` is 1).
    pub shard: RwLock<Option<trellis_kube::lease::Shard>>,
    /// Whether this replica is the leader (runs singleton work such as
    /// ApplicationSets).
    pub leader: tokio::sync::watch::Sender<bool>,
}

impl Controller {
    /// A controller over `cluster` (where Applications live and the
    /// in-cluster destination).
    pub fn new(cluster: Cluster, options: ControllerOptions) -> Result<Self> {
        let metrics = Arc::new(Metrics::new());
        let mut options = options;
        let observed = metrics.clone();
        let previous = options.source.observer.take();
        options.source.observer = Some(Arc::new(move |event: &trellis_source::SourceEvent| {
            if let trellis_source::SourceEvent::FetchFinished { elapsed, .. } = event {
                observed.git_fetched(*elapsed);
            }
            if let Some(previous) = &previous {
                previous(event);
            }
        }));
        let sources = Sources::new(options.source.clone())?;
        let kill_after_steps = std::env::var("TRELLIS_TEST_KILL_AFTER_STEPS")
            .ok()
            .and_then(|v| v.parse().ok());
        let ctx = Ctx {
            renderer: RwLock::new(AppRenderer::new(sources)),
            engines: Mutex::new(HashMap::new()),
            clusters: RwLock::new(HashMap::new()),
            apps: RwLock::new(HashMap::new()),
            triggers: Mutex::new(HashMap::new()),
            statuses: Mutex::new(HashMap::new()),
            projects: RwLock::new(HashMap::new()),
            labels: RwLock::new(HashMap::new()),
            queue: Queue::default(),
            render_cache: RenderCache::default(),
            metrics,
            secrets: Mutex::new(Secrets::default()),
            kill_after_steps: Mutex::new(kill_after_steps),
            sync_started: Mutex::new(HashMap::new()),
            finished: Mutex::new(HashMap::new()),
            sync_states: Mutex::new(HashMap::new()),
            capabilities: RwLock::new(HashMap::new()),
            appsets: Mutex::new(Vec::new()),
            syncing: Mutex::new((HashSet::new(), std::collections::VecDeque::new())),
            listed: tokio::sync::watch::channel(0).0,
            shard: RwLock::new(None),
            leader: tokio::sync::watch::channel(false).0,
            cluster,
            options,
        };
        Ok(Self { ctx: Arc::new(ctx) })
    }

    /// The metrics in Prometheus's text format.
    pub fn metrics(&self) -> String {
        self.ctx.metrics.encode(self.ctx.queue.depth())
    }

    /// The HTTP routes of the controller: `/metrics`, `/healthz` and the
    /// git webhook at `/api/webhook`.
    pub fn router(&self) -> axum::Router {
        crate::http::router(self.clone())
    }

    /// `/metrics` and `/api/webhook` only: for serving them beside another
    /// router that has its own `/healthz` (the web server's, in `trellis up`).
    pub fn hooks_router(&self) -> axum::Router {
        crate::http::hooks_router(self.clone())
    }

    /// Runs until `shutdown` completes: creates the default AppProject,
    /// starts the watches, the workers, the periodic refresh and (when
    /// configured) the HTTP listener.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> Result<()> {
        let ctx = self.ctx.clone();
        let mut tasks = JoinSet::new();
        let (stop_leases, leases_stopped) = tokio::sync::watch::channel(false);
        let mut leases = JoinSet::new();
        start_leases(&ctx, &mut leases, leases_stopped);
        ensure_default_projects(&ctx).await;
        if let Some(addr) = ctx.options.listen {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| crate::ControllerError::Listen {
                    addr: addr.to_string(),
                    source,
                })?;
            info!(%addr, "serving metrics and webhooks");
            let router = self.router();
            tasks.spawn(async move {
                if let Err(error) = axum::serve(listener, router).await {
                    warn!(%error, "HTTP listener stopped");
                }
            });
        }
        for group in ctx.options.groups() {
            for namespace in ctx.options.namespaces() {
                tasks.spawn(watch_apps(ctx.clone(), group, namespace));
            }
            tasks.spawn(watch_projects(ctx.clone(), group));
            tasks.spawn(crate::appsets::run(ctx.clone(), group));
        }
        tasks.spawn(crate::secrets::watch(ctx.clone()));
        tasks.spawn(refresh_ticker(ctx.clone()));
        let expected = ctx.options.groups().len() as u32 + 1;
        let mut listed = ctx.listed.subscribe();
        let _ = tokio::time::timeout(Duration::from_secs(10), listed.wait_for(|n| *n >= expected))
            .await;
        for _ in 0..ctx.options.workers.max(1) {
            tasks.spawn(worker(ctx.clone()));
        }
        shutdown.await;
        info!("stopping");
        ctx.queue.close();
        // Leases are released so another replica takes over at once; the
        // forwarding tasks end when the lease tasks have let go.
        let _ = stop_leases.send(true);
        let released = async { while leases.join_next().await.is_some() {} };
        let _ = tokio::time::timeout(Duration::from_secs(3), released).await;
        leases.abort_all();
        // Workers finish the step they are in; watches simply stop.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        tasks.abort_all();
        while tokio::time::timeout_at(deadline, tasks.join_next())
            .await
            .ok()
            .flatten()
            .is_some()
        {}
        debug!(references = Arc::strong_count(&ctx), "controller stopped");
        Ok(())
    }
}

impl Ctx {
    /// The latest watched object of an Application.
    pub fn app(&self, key: &AppKey) -> Option<Arc<Value>> {
        read(&self.apps).get(key).cloned()
    }

    /// Applications that name `key` in their depends-on annotation.
    pub fn dependents(&self, key: &AppKey) -> Vec<AppKey> {
        read(&self.apps)
            .iter()
            .filter(|(k, _)| k.group == key.group && k.namespace == key.namespace)
            .filter(|(_, o)| depends_on(o).iter().any(|d| d == &key.name))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The renderer (replaced when repository credentials change).
    pub fn renderer(&self) -> AppRenderer {
        read(&self.renderer).clone()
    }

    /// The engine for a destination server, created on first use.
    pub fn engine(self: &Arc<Self>, server: &str) -> std::result::Result<Engine, String> {
        let mut engines = lock(&self.engines);
        if let Some(engine) = engines.get(server) {
            return Ok(engine.clone());
        }
        let cluster = if server == IN_CLUSTER {
            self.cluster.clone()
        } else {
            read(&self.clusters)
                .get(server)
                .map(|secret| secret.cluster.clone())
                .ok_or_else(|| {
                    trellis_kube::argocd_secrets::SecretError::UnknownServer(server.to_string())
                        .to_string()
                })?
        };
        let engine = Engine::new(cluster, self.options.engine.clone());
        spawn_drift_listener(Arc::downgrade(self), &engine);
        engines.insert(server.to_string(), engine.clone());
        Ok(engine)
    }

    /// Resolves a destination to a server URL: by server, by cluster name,
    /// or the in-cluster destination (`in-cluster`).
    pub fn server_of(
        &self,
        server: Option<&str>,
        name: Option<&str>,
    ) -> std::result::Result<String, String> {
        trellis_kube::argocd_secrets::resolve_destination(
            server,
            name,
            read(&self.clusters).values(),
        )
        .map_err(|e| e.to_string())
    }

    /// What a destination serves, as last read (empty until read: Helm's
    /// defaults then apply).
    pub fn capabilities(&self, server: &str) -> trellis_render::Capabilities {
        read(&self.capabilities)
            .get(server)
            .cloned()
            .unwrap_or_default()
    }

    /// Reads what a destination serves; `fresh` re-reads discovery (a CRD
    /// may have appeared). Returns whether it changed.
    pub async fn read_capabilities(&self, server: &str, engine: &Engine, fresh: bool) -> bool {
        let discovery = engine.cluster().discovery();
        if fresh && let Err(error) = discovery.invalidate().await {
            debug!(%server, %error, "discovery refresh failed");
            return false;
        }
        let (Ok(version), Ok(api_versions)) = (
            discovery.server_version().await,
            discovery.api_versions().await,
        ) else {
            return false;
        };
        let capabilities = trellis_render::Capabilities {
            kube_version: Some(version),
            api_versions,
        };
        let mut all = write(&self.capabilities);
        let changed = all.get(server) != Some(&capabilities);
        all.insert(server.to_string(), capabilities);
        changed
    }

    /// Whether an Application's render inputs are what its cached render
    /// was made from (a cheap check: git tree ids, no render).
    pub fn inputs_unchanged(&self, key: &AppKey, renderer: &AppRenderer) -> bool {
        let Some(object) = self.app(key) else {
            return true;
        };
        let Ok(parsed) = trellis_model::Application::from_value(&object, &Origin::default()) else {
            return false;
        };
        let app = parsed.value;
        let Ok(server) = self.server_of(
            app.spec.destination.server.as_deref(),
            app.spec.destination.name.as_deref(),
        ) else {
            return false;
        };
        let capabilities = self.capabilities(&server);
        match crate::render_cache::content_key(&app, renderer, &capabilities) {
            Some(content) => self.render_cache.key_of(key).as_deref() == Some(content.as_str()),
            None => false,
        }
    }

    /// A destination server's cluster name: `in-cluster`, or the name its
    /// cluster Secret gives.
    pub fn cluster_name(&self, server: &str) -> String {
        if server == IN_CLUSTER {
            return "in-cluster".into();
        }
        read(&self.clusters)
            .get(server)
            .map(|c| c.name.clone())
            .unwrap_or_default()
    }

    /// Takes a sync slot for `key`; `false` (and `key` waits in line, to be
    /// queued when a slot frees) when all are taken.
    pub fn take_sync_slot(&self, key: &AppKey) -> bool {
        let mut s = lock(&self.syncing);
        if s.0.contains(key) || s.0.len() < self.options.max_syncs.max(1) {
            s.0.insert(key.clone());
            return true;
        }
        if !s.1.contains(key) {
            s.1.push_back(key.clone());
        }
        false
    }

    /// Gives `key`'s sync slot back and queues the next application waiting.
    pub fn release_sync_slot(&self, key: &AppKey) {
        let next = {
            let mut s = lock(&self.syncing);
            s.0.remove(key);
            s.1.retain(|k| k != key);
            if s.0.len() < self.options.max_syncs.max(1) {
                s.1.pop_front()
            } else {
                None
            }
        };
        if let Some(next) = next {
            self.queue.add(next);
        }
    }

    /// Drops every cached engine (cluster Secrets changed).
    pub fn reset_engines(&self) {
        lock(&self.engines).retain(|server, _| server == IN_CLUSTER);
    }

    /// Whether this replica reconciles applications bound for `server`:
    /// always when not sharded, else when the server hashes to its shard.
    pub fn owns(&self, server: &str) -> bool {
        if self.options.shards <= 1 {
            return true;
        }
        read(&self.shard).is_some_and(|s| s.owns(server))
    }

    /// Takes one from the sync-step budget of the kill test hook; true when
    /// the process should die now.
    pub fn should_abort(&self) -> bool {
        let mut left = lock(&self.kill_after_steps);
        match left.as_mut() {
            Some(0) => true,
            Some(n) => {
                *n -= 1;
                *n == 0
            }
            None => false,
        }
    }

    /// The last status this controller knows for an Application.
    pub fn status_of(&self, key: &AppKey, object: &Value) -> ApplicationStatus {
        if let Some(s) = lock(&self.statuses).get(key) {
            return s.clone();
        }
        object
            .get("status")
            .and_then(|s| serde_json::from_value(s.clone()).ok())
            .unwrap_or_default()
    }

    /// The operation state this controller last wrote, else the watched one.
    pub fn operation_state(&self, key: &AppKey, object: &Value) -> Option<OperationState> {
        self.status_of(key, object).operation_state
    }
}

pub(crate) fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn lock<T>(lock: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    lock.lock().unwrap_or_else(|p| p.into_inner())
}

/// The names an Application's depends-on annotation lists.
pub(crate) fn depends_on(object: &Value) -> Vec<String> {
    object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(DEPENDS_ON_ANNOTATION))
        .and_then(Value::as_str)
        .map(depends_on_names)
        .unwrap_or_default()
}

/// The names in a depends-on annotation's value (`a, b`).
pub(crate) fn depends_on_names(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// A hash of what an Application asks for, ignoring its status: a change
/// means a reconcile is due.
fn trigger_hash(object: &Value) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let meta = object.get("metadata");
    for part in [
        object.get("spec"),
        object.get("operation"),
        meta.and_then(|m| m.get("annotations")),
        meta.and_then(|m| m.get("labels")),
        meta.and_then(|m| m.get("finalizers")),
        meta.and_then(|m| m.get("deletionTimestamp")),
    ] {
        part.map(Value::to_string).hash(&mut h);
    }
    h.finish()
}

/// Health and sync as recorded in a status: when they change, the
/// Applications that depend on this one are reconsidered.
fn outcome(object: &Value) -> (Option<&Value>, Option<&Value>) {
    (
        object.pointer("/status/sync/status"),
        object.pointer("/status/health/status"),
    )
}

fn key_of(group: &str, object: &Value) -> Option<AppKey> {
    let meta = object.get("metadata")?;
    Some(AppKey::new(
        group,
        meta.get("namespace")?.as_str()?,
        meta.get("name")?.as_str()?,
    ))
}

fn observe_app(ctx: &Ctx, group: &str, object: Value) -> Option<AppKey> {
    let key = key_of(group, &object)?;
    let hash = trigger_hash(&object);
    let label = trellis_engine::tracking::AppId::new(&key.namespace, &key.name).label_value();
    write(&ctx.labels).insert(label, key.clone());
    if object.get("operation").is_none_or(Value::is_null) {
        // The watch has seen the finished operation cleared: the same
        // operation requested again from now on is a new request.
        lock(&ctx.finished).remove(&key);
    }
    let previous = write(&ctx.apps).insert(key.clone(), Arc::new(object.clone()));
    let changed_outcome = previous
        .as_deref()
        .is_none_or(|p| outcome(p) != outcome(&object));
    let changed = lock(&ctx.triggers).insert(key.clone(), hash) != Some(hash);
    if changed {
        debug!(app = %key, "queued: spec changed");
        ctx.queue.add(key.clone());
    }
    if changed_outcome {
        for dependent in ctx.dependents(&key) {
            ctx.queue.add(dependent);
        }
    }
    Some(key)
}

fn forget_app(ctx: &Ctx, key: &AppKey) {
    write(&ctx.apps).remove(key);
    lock(&ctx.triggers).remove(key);
    lock(&ctx.statuses).remove(key);
    lock(&ctx.sync_states).remove(key);
    ctx.release_sync_slot(key);
    ctx.render_cache.forget(key);
    ctx.metrics.forget(key);
    let label = trellis_engine::tracking::AppId::new(&key.namespace, &key.name).label_value();
    write(&ctx.labels).remove(&label);
}

/// The controller's side of the Application watch.
struct AppFollower {
    ctx: Arc<Ctx>,
    group: &'static str,
    namespace: String,
}

impl trellis_kube::follow::Follower for AppFollower {
    type Key = AppKey;

    fn applied(&mut self, object: Value) -> Option<AppKey> {
        observe_app(&self.ctx, self.group, object)
    }

    fn deleted(&mut self, object: Value) {
        if let Some(key) = key_of(self.group, &object) {
            forget_app(&self.ctx, &key);
            for dependent in self.ctx.dependents(&key) {
                self.ctx.queue.add(dependent);
            }
        }
    }

    fn listed(&mut self, seen: HashSet<AppKey>) {
        let gone: Vec<AppKey> = read(&self.ctx.apps)
            .keys()
            .filter(|k| k.group == self.group && k.namespace == self.namespace)
            .filter(|k| !seen.contains(k))
            .cloned()
            .collect();
        for key in gone {
            forget_app(&self.ctx, &key);
        }
    }
}

async fn watch_apps(ctx: Arc<Ctx>, group: &'static str, namespace: String) {
    let resource = trellis_kube::discovery::application_resource(group, "Application");
    let cluster = ctx.cluster.clone();
    let mut follower = AppFollower {
        ctx,
        group,
        namespace: namespace.clone(),
    };
    trellis_kube::follow::follow(&cluster, &resource, &namespace, &mut follower).await;
}

async fn watch_projects(ctx: Arc<Ctx>, group: &'static str) {
    let resource = trellis_kube::discovery::application_resource(group, "AppProject");
    let api: Api<DynamicObject> = Api::namespaced_with(
        ctx.cluster.client().clone(),
        &ctx.options.namespace,
        &resource,
    );
    let mut stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut first = true;
    while let Some(event) = stream.next().await {
        let Ok(event) = event else { continue };
        let (object, deleted) = match event {
            watcher::Event::InitApply(o) | watcher::Event::Apply(o) => (o, false),
            watcher::Event::Delete(o) => (o, true),
            watcher::Event::InitDone if first => {
                first = false;
                ctx.listed.send_modify(|n| *n += 1);
                continue;
            }
            _ => continue,
        };
        let Ok(value) = serde_json::to_value(object) else {
            continue;
        };
        let (Some(ns), Some(name)) = (
            value.pointer("/metadata/namespace").and_then(Value::as_str),
            value.pointer("/metadata/name").and_then(Value::as_str),
        ) else {
            continue;
        };
        let id = (group.to_string(), ns.to_string(), name.to_string());
        if deleted {
            write(&ctx.projects).remove(&id);
        } else {
            match AppProject::from_value(&value, &Origin::default()) {
                Ok(parsed) => {
                    write(&ctx.projects).insert(id, parsed.value);
                }
                Err(error) => warn!(project = name, %error, "unreadable AppProject"),
            }
        }
        // Applications of the project are judged again.
        let keys: Vec<AppKey> = read(&ctx.apps)
            .iter()
            .filter(|(k, o)| {
                k.group == group
                    && o.pointer("/spec/project")
                        .and_then(Value::as_str)
                        .unwrap_or("default")
                        == name
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            ctx.queue.add(key);
        }
    }
}

/// Starts leader election and, when sharded, the shard claim; their
/// results land in `ctx.leader` and `ctx.shard`.
fn start_leases(
    ctx: &Arc<Ctx>,
    tasks: &mut JoinSet<()>,
    stopped: tokio::sync::watch::Receiver<bool>,
) {
    use trellis_kube::lease::{LeaderElector, LeaseConfig, ShardClaim};
    let duration = ctx.options.lease_duration.max(Duration::from_secs(1));
    let config = match LeaseConfig::new(duration, duration / 3, duration / 4) {
        Ok(c) => c,
        Err(error) => {
            warn!(%error, "lease timing rejected; using the defaults");
            LeaseConfig::default()
        }
    };
    let until = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let elector = LeaderElector::new(
        &ctx.cluster,
        ctx.options.namespace.clone(),
        "trellis-controller-leader",
        ctx.options.identity.clone(),
        config,
    );
    let mut leading = elector.run(until(stopped.clone()));
    let c = ctx.clone();
    tasks.spawn(async move {
        loop {
            let now = *leading.borrow_and_update();
            if now != *c.leader.borrow() {
                info!(leader = now, identity = %c.options.identity, "leadership changed");
            }
            c.leader.send_replace(now);
            c.metrics.set_leader(now);
            if leading.changed().await.is_err() {
                c.leader.send_replace(false);
                c.metrics.set_leader(false);
                return;
            }
        }
    });
    let shards = ctx.options.shards.max(1);
    if shards <= 1 {
        ctx.metrics
            .set_shard(&ctx.options.identity, Some(0), shards);
        return;
    }
    ctx.metrics.set_shard(&ctx.options.identity, None, shards);
    let claim = ShardClaim::new(
        &ctx.cluster,
        &ctx.options.namespace,
        "trellis-controller-shard",
        &ctx.options.identity,
        shards,
        config,
    );
    let mut held = claim.run(until(stopped));
    let c = ctx.clone();
    tasks.spawn(async move {
        loop {
            let shard = *held.borrow_and_update();
            let changed = *read(&c.shard) != shard;
            *write(&c.shard) = shard;
            c.metrics
                .set_shard(&c.options.identity, shard.map(|s| s.index), shards);
            if changed {
                info!(shard = ?shard.map(|s| s.index), "shard assignment changed");
                let keys: Vec<AppKey> = read(&c.apps).keys().cloned().collect();
                for key in keys {
                    c.queue.add(key);
                }
            }
            if held.changed().await.is_err() {
                return;
            }
        }
    });
}

/// Creates the `default` AppProject of each group if missing: everything
/// allowed, as Argo CD does.
async fn ensure_default_projects(ctx: &Ctx) {
    for group in ctx.options.groups() {
        let key = trellis_model::ResourceKey {
            group: group.to_string(),
            kind: "AppProject".into(),
            namespace: ctx.options.namespace.clone(),
            name: "default".into(),
        };
        match ctx.cluster.get(&key).await {
            Ok(Some(_)) => continue,
            Ok(None) => {}
            Err(error) => {
                warn!(%error, group, "cannot read the default AppProject");
                continue;
            }
        }
        let project = json!({
            "apiVersion": format!("{group}/{}", trellis_model::VERSION),
            "kind": "AppProject",
            "metadata": {"name": "default", "namespace": ctx.options.namespace},
            "spec": trellis_model::rules::default_project_spec(),
        });
        let options = ApplyOptions {
            field_manager: "trellis-controller".into(),
            ..ApplyOptions::default()
        };
        match ctx.cluster.apply(&project, &options).await {
            Ok(_) => {
                info!(group, namespace = %ctx.options.namespace, "created the default AppProject")
            }
            Err(error) => warn!(%error, group, "cannot create the default AppProject"),
        }
    }
}

/// Every refresh interval: forget remembered git resolutions (the next
/// reconcile of each repository asks its remote once, with ls-remote) and
/// queue every Application, spread over the jitter.
async fn refresh_ticker(ctx: Arc<Ctx>) {
    let interval = ctx.options.refresh_interval.max(Duration::from_millis(100));
    loop {
        tokio::time::sleep(interval).await;
        ctx.renderer().sources().refresh();
        let engines: Vec<(String, Engine)> = lock(&ctx.engines)
            .iter()
            .map(|(s, e)| (s.clone(), e.clone()))
            .collect();
        for (server, engine) in engines {
            if ctx.read_capabilities(&server, &engine, true).await {
                info!(%server, "the destination's APIs changed");
            }
        }
        let keys: Vec<AppKey> = read(&ctx.apps).keys().cloned().collect();
        let jitter = ctx.options.refresh_jitter.as_millis() as u64;
        for key in keys {
            let delay = if jitter == 0 {
                Duration::ZERO
            } else {
                Duration::from_millis(fastrand::u64(0..jitter))
            };
            ctx.queue.add_after(key, delay);
        }
        crate::appsets::queue_all(&ctx);
    }
}

/// Queues the Application that owns objects whose tracking label changed
/// in the engine's live cache: drift is noticed at once.
fn spawn_drift_listener(labels: std::sync::Weak<Ctx>, engine: &Engine) {
    let mut changes = engine.cache().store().changes();
    tokio::spawn(async move {
        loop {
            match changes.recv().await {
                Ok(label) => {
                    let Some(ctx) = labels.upgrade() else { return };
                    let key = read(&ctx.labels).get(&label).cloned();
                    if let Some(key) = key {
                        ctx.queue.add(key);
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    let Some(ctx) = labels.upgrade() else { return };
                    let keys: Vec<AppKey> = read(&ctx.apps).keys().cloned().collect();
                    for key in keys {
                        ctx.queue.add(key);
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}

async fn worker(ctx: Arc<Ctx>) {
    while let Some(key) = ctx.queue.next().await {
        let started = Instant::now();
        let result = crate::reconcile::reconcile(&ctx, &key).await;
        ctx.metrics.reconciled(started.elapsed());
        let again = match result {
            Ok(again) => again,
            Err(error) => {
                warn!(app = %key, error = %error, "reconcile failed; retrying");
                Some(Duration::from_secs(1).min(ctx.options.refresh_interval))
            }
        };
        ctx.queue.done(&key);
        if let Some(delay) = again {
            ctx.queue.add_after(key, delay);
        }
    }
}
