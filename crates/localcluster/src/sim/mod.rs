//! The cluster's own controllers: garbage collection, namespace termination and (unless turned
//! off) simulated workloads, so a Deployment gets ReplicaSets and Pods, a Job completes, a
//! Service of type LoadBalancer gets an address and a claim binds.
//!
//! The controllers react to the store's change stream, never poll: one task takes each committed
//! event, keeps an index of ownerReferences, and queues the objects the change concerns. Writes go
//! through the same request handling as any client's ([`client`]), so they get resourceVersions,
//! watch events and audit entries, marked by a controller user agent. Delays (a Pod starting, a
//! Job's Pod running) are timers on the same task.

pub(crate) mod client;
mod gc;
mod kubelet;
mod workloads;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use crate::api::Cluster;
use crate::api::status::ApiResult;
use crate::store::{Event, EventType, Key, Outcome};
use crate::util;
use client::Client;
pub use client::INTERNAL_AGENT;

/// How simulated workloads behave.
#[derive(Debug, Clone)]
pub struct SimulationOptions {
    /// Glob over container images (`*` matches any run of characters): a Pod with a matching
    /// image crash-loops, a Job's Pod with one fails.
    pub fail_image: String,
    /// How long a Pod stays `Pending` before its containers run.
    pub pod_start_delay: Duration,
    /// How long a Job's Pod runs before it succeeds or fails.
    pub job_run_time: Duration,
    /// Name of the one simulated node every Pod runs on.
    pub node_name: String,
}

impl Default for SimulationOptions {
    fn default() -> Self {
        SimulationOptions {
            fail_image: "*:fail".into(),
            pod_start_delay: Duration::from_millis(20),
            job_run_time: Duration::from_millis(20),
            node_name: "trellis-local".into(),
        }
    }
}

/// A unit of work of the controllers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Task {
    /// Bring one object's world in line with it (its controller, or its deletion).
    Object(Key),
    /// An owner with this uid is gone: collect or release its dependents.
    Dependents(String),
    /// Remove a terminating namespace's content, then the namespace.
    Namespace(String),
}

/// ownerReferences, by owner uid.
#[derive(Default)]
struct OwnerIndex {
    dependents: HashMap<String, HashSet<Key>>,
    owners: HashMap<Key, Vec<String>>,
}

impl OwnerIndex {
    fn remove(&mut self, key: &Key) {
        if let Some(uids) = self.owners.remove(key) {
            for u in uids {
                if let Some(set) = self.dependents.get_mut(&u) {
                    set.remove(key);
                    if set.is_empty() {
                        self.dependents.remove(&u);
                    }
                }
            }
        }
    }

    fn put(&mut self, key: &Key, obj: &Value) {
        let uids: Vec<String> = owner_refs(obj)
            .iter()
            .filter_map(|r| r["uid"].as_str().map(str::to_owned))
            .collect();
        if uids.is_empty() && !self.owners.contains_key(key) {
            return;
        }
        self.remove(key);
        if uids.is_empty() {
            return;
        }
        for u in &uids {
            self.dependents
                .entry(u.clone())
                .or_default()
                .insert(key.clone());
        }
        self.owners.insert(key.clone(), uids);
    }

    fn of(&self, uid: &str) -> Vec<Key> {
        self.dependents
            .get(uid)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }
}

pub(crate) fn owner_refs(obj: &Value) -> Vec<Value> {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

pub(crate) fn is_deleting(obj: &Value) -> bool {
    obj["metadata"]["deletionTimestamp"].is_string()
}

pub(crate) fn uid_of(obj: &Value) -> &str {
    obj["metadata"]["uid"].as_str().unwrap_or("")
}

/// Matches an image against a glob where `*` is any run of characters and `?` one character.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    // `*` crosses every character, `/` included, as Argo CD's policies do.
    globset::GlobBuilder::new(pattern)
        .literal_separator(false)
        .build()
        .is_ok_and(|g| g.compile_matcher().is_match(text))
}

/// The controllers' state: one task owns it.
pub(crate) struct Manager {
    client: Client,
    opts: SimulationOptions,
    simulate: bool,
    queue: VecDeque<Task>,
    queued: HashSet<Task>,
    timers: BTreeMap<(Instant, u64), Task>,
    timer_due: HashMap<Task, Instant>,
    timer_seq: u64,
    index: OwnerIndex,
    terminating: HashSet<String>,
    /// When the simulated kubelet first saw a Pod, and when its containers started (by uid).
    pod_seen: HashMap<String, Instant>,
    pod_started: HashMap<String, Instant>,
    /// When a Deployment's rollout to a template began: uid → (template hash, start).
    progress: HashMap<String, (String, Instant)>,
    next_ip: u32,
}

impl Manager {
    fn new(cluster: Arc<Cluster>, simulate: bool, opts: SimulationOptions) -> Manager {
        Manager {
            client: Client::new(cluster),
            opts,
            simulate,
            queue: VecDeque::new(),
            queued: HashSet::new(),
            timers: BTreeMap::new(),
            timer_due: HashMap::new(),
            timer_seq: 0,
            index: OwnerIndex::default(),
            terminating: HashSet::new(),
            pod_seen: HashMap::new(),
            pod_started: HashMap::new(),
            progress: HashMap::new(),
            next_ip: 10,
        }
    }

    fn cluster(&self) -> &Arc<Cluster> {
        self.client.cluster()
    }

    fn push(&mut self, t: Task) {
        if self.queued.insert(t.clone()) {
            self.queue.push_back(t);
        }
    }

    /// Runs `t` again after `d`.
    fn later(&mut self, d: Duration, t: Task) {
        let at = Instant::now() + d;
        if self.timer_due.get(&t).is_some_and(|due| *due <= at) {
            return;
        }
        self.timer_due.insert(t.clone(), at);
        self.timer_seq += 1;
        self.timers.insert((at, self.timer_seq), t);
    }

    /// Resolves an ownerReference of an object in `namespace` to the owner's key.
    fn owner_key(&self, r: &Value, namespace: &str) -> Option<Key> {
        let av = r["apiVersion"].as_str()?;
        let kind = r["kind"].as_str()?;
        let group = av.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
        let def = self
            .cluster()
            .registry
            .all()
            .into_iter()
            .find(|d| d.group == group && d.kind == kind)?;
        Some(Key {
            group: def.group.clone(),
            resource: def.plural.clone(),
            namespace: if def.namespaced {
                namespace.to_owned()
            } else {
                String::new()
            },
            name: r["name"].as_str()?.to_owned(),
        })
    }

    fn on_event(&mut self, e: &Event) {
        let obj = &e.object;
        match e.kind {
            EventType::Deleted => {
                self.index.remove(&e.key);
                let uid = uid_of(obj);
                if !uid.is_empty() && self.index.dependents.contains_key(uid) {
                    self.push(Task::Dependents(uid.to_owned()));
                }
                self.pod_seen.remove(uid);
                self.pod_started.remove(uid);
            }
            _ => self.index.put(&e.key, obj),
        }
        for r in owner_refs(obj) {
            if let Some(k) = self.owner_key(&r, &e.key.namespace) {
                self.push(Task::Object(k));
            }
        }
        if e.key.group.is_empty() && e.key.resource == "namespaces" {
            if e.kind == EventType::Deleted {
                self.terminating.remove(&e.key.name);
            } else if is_deleting(obj) {
                self.terminating.insert(e.key.name.clone());
                self.push(Task::Namespace(e.key.name.clone()));
            }
            return;
        }
        if !e.key.namespace.is_empty() && self.terminating.contains(&e.key.namespace) {
            self.push(Task::Namespace(e.key.namespace.clone()));
        }
        if e.kind == EventType::Deleted {
            if e.key.group.is_empty() && e.key.resource == "persistentvolumeclaims" {
                let pv = obj["spec"]["volumeName"].as_str().unwrap_or("");
                if !pv.is_empty() {
                    self.push(Task::Object(Key {
                        group: String::new(),
                        resource: "persistentvolumes".into(),
                        namespace: String::new(),
                        name: pv.to_owned(),
                    }));
                }
            }
            return;
        }
        let gc_pending = is_deleting(obj)
            && obj["metadata"]["finalizers"]
                .as_array()
                .is_some_and(|f| f.iter().any(|x| x == gc::FOREGROUND || x == gc::ORPHAN));
        if gc_pending || (self.simulate && workloads::simulated(&e.key)) {
            self.push(Task::Object(e.key.clone()));
        }
    }

    /// Queues everything at start and after falling behind the change stream.
    fn resync(&mut self) {
        self.index = OwnerIndex::default();
        let mut seen = HashSet::new();
        for def in self.cluster().registry.all() {
            if !seen.insert((def.group.clone(), def.plural.clone())) {
                continue;
            }
            let Ok((objs, rv)) = self
                .cluster()
                .store
                .list(&def.group, &def.plural, None, None)
            else {
                continue;
            };
            for o in objs {
                let key = Key {
                    group: def.group.clone(),
                    resource: def.plural.clone(),
                    namespace: util::meta_str(&o, "namespace").unwrap_or("").to_owned(),
                    name: util::meta_str(&o, "name").unwrap_or("").to_owned(),
                };
                // The index and the queue are fed as if each object had just been written.
                self.on_event(&Event {
                    rv,
                    kind: EventType::Modified,
                    key,
                    object: Arc::new(o),
                });
            }
        }
    }

    async fn run_task(&mut self, t: Task) {
        let r = match &t {
            Task::Object(k) => self.reconcile(k).await,
            Task::Dependents(uid) => self.collect_dependents(uid).await,
            Task::Namespace(ns) => self.terminate_namespace(ns).await,
        };
        if let Err(e) = r {
            // A conflict or a vanished object means a newer event is on its way or the work is
            // moot; anything else is retried shortly.
            match e.code {
                404 | 403 => {}
                409 => self.later(Duration::from_millis(5), t),
                _ => {
                    tracing::debug!(?t, error = %e.message, "controller task failed");
                    self.later(Duration::from_millis(200), t);
                }
            }
        }
    }

    async fn reconcile(&mut self, k: &Key) -> ApiResult<()> {
        let Some(obj) = self.cluster().store.get(k)? else {
            return Ok(());
        };
        if is_deleting(&obj) {
            return self.finalize_owner(k, &obj).await;
        }
        if self.simulate {
            return self.simulate_object(k, obj).await;
        }
        Ok(())
    }

    fn next_ip(&mut self) -> String {
        self.next_ip += 1;
        format!(
            "10.244.{}.{}",
            (self.next_ip / 250) % 250,
            self.next_ip % 250 + 2
        )
    }
}

/// Seeds the simulated node.
pub(crate) fn seed_node(cluster: &Cluster, opts: &SimulationOptions) -> ApiResult<()> {
    let key = Key {
        group: String::new(),
        resource: "nodes".into(),
        namespace: String::new(),
        name: opts.node_name.clone(),
    };
    let now = util::now();
    let name = &opts.node_name;
    let (_, _, version) = crate::api::KUBERNETES_VERSION;
    cluster.store.mutate(&key, false, |cur| {
        if cur.is_some() {
            return Ok(Outcome::Keep);
        }
        let cond = |t: &str, s: &str, reason: &str, msg: &str| {
            json!({"type": t, "status": s, "reason": reason, "message": msg,
                "lastHeartbeatTime": now, "lastTransitionTime": now})
        };
        Ok(Outcome::Put(json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "uid": util::uid(), "creationTimestamp": now,
                "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                    "beta.kubernetes.io/arch": "amd64", "node-role.kubernetes.io/control-plane": ""}},
            "spec": {"podCIDR": "10.244.0.0/16", "podCIDRs": ["10.244.0.0/16"]},
            "status": {
                "addresses": [{"type": "InternalIP", "address": "172.18.0.2"},
                    {"type": "Hostname", "address": name}],
                "allocatable": {"cpu": "8", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"},
                "capacity": {"cpu": "8", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"},
                "conditions": [
                    cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                    cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                    cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                    cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
                ],
                "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux",
                    "kubeletVersion": version, "kubeProxyVersion": version,
                    "containerRuntimeVersion": "containerd://1.7.0", "osImage": "Trellis simulated node",
                    "kernelVersion": "6.0.0", "machineID": "", "systemUUID": "", "bootID": ""}
            }
        })))
    })?;
    Ok(())
}

/// Starts the controllers; they stop when the cluster shuts down.
pub(crate) fn spawn(
    cluster: Arc<Cluster>,
    simulate: bool,
    opts: SimulationOptions,
) -> ApiResult<tokio::task::JoinHandle<()>> {
    let sub = cluster.store.subscribe(cluster.store.current_rv())?;
    let mut shutdown = cluster.shutdown.clone();
    let mut m = Manager::new(cluster, simulate, opts);
    Ok(tokio::spawn(async move {
        let mut live = sub.live;
        m.resync();
        loop {
            // Take in every committed change before acting, so decisions see the latest index.
            loop {
                match live.try_recv() {
                    Ok(e) => m.on_event(&e),
                    Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) => m.resync(),
                    Err(_) => break,
                }
            }
            let now = Instant::now();
            while let Some(entry) = m.timers.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                let t = entry.remove();
                m.timer_due.remove(&t);
                m.push(t);
            }
            if let Some(t) = m.queue.pop_front() {
                m.queued.remove(&t);
                // A bug in one reconcile must not stop garbage collection and the rest.
                let run = std::panic::AssertUnwindSafe(m.run_task(t.clone()));
                if futures_util::FutureExt::catch_unwind(run).await.is_err() {
                    tracing::error!(?t, "controller task panicked");
                }
                continue;
            }
            if *shutdown.borrow() {
                return;
            }
            let wake = m
                .timers
                .keys()
                .next()
                .map(|(at, _)| *at)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                r = live.recv() => match r {
                    Ok(e) => m.on_event(&e),
                    Err(RecvError::Lagged(_)) => m.resync(),
                    Err(RecvError::Closed) => return,
                },
                _ = tokio::time::sleep_until(wake) => {}
                _ = shutdown.changed() => return,
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn image_globs() {
        assert!(glob_match("*:fail", "nginx:fail"));
        assert!(glob_match("*:fail", "registry.local/a/b:fail"));
        assert!(!glob_match("*:fail", "nginx:failing"));
        assert!(glob_match("busybox*", "busybox:1.36"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
    }
}
