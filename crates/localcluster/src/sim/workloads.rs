//! Simulated workload controllers: Deployment, ReplicaSet, StatefulSet, DaemonSet and Job, and
//! the Service (load balancer) and PersistentVolumeClaim (binding) controllers.

use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::client::Agent;
use super::{Manager, Task, is_deleting, owner_refs, uid_of};
use crate::api::status::ApiResult;
use crate::store::Key;
use crate::util;

const DEPLOYMENT: Agent = Agent {
    product: "kube-controller-manager",
    controller: "deployment-controller",
};
const REPLICASET: Agent = Agent {
    product: "kube-controller-manager",
    controller: "replicaset-controller",
};
const STATEFULSET: Agent = Agent {
    product: "kube-controller-manager",
    controller: "statefulset-controller",
};
const DAEMONSET: Agent = Agent {
    product: "kube-controller-manager",
    controller: "daemonset-controller",
};
const JOB: Agent = Agent {
    product: "kube-controller-manager",
    controller: "job-controller",
};
const SERVICE: Agent = Agent {
    product: "kube-controller-manager",
    controller: "service-lb-controller",
};
const INGRESS: Agent = Agent {
    product: "ingress-controller",
    controller: "ingress-address",
};
const VOLUME: Agent = Agent {
    product: "kube-controller-manager",
    controller: "persistentvolume-binder-controller",
};

/// Whether changes to objects of this resource concern a simulated controller.
pub(super) fn simulated(k: &Key) -> bool {
    matches!(
        (k.group.as_str(), k.resource.as_str()),
        (
            "apps",
            "deployments" | "replicasets" | "statefulsets" | "daemonsets"
        ) | ("batch", "jobs")
            | ("networking.k8s.io", "ingresses")
            | (
                "",
                "pods" | "services" | "persistentvolumeclaims" | "persistentvolumes"
            )
    )
}

fn key(group: &str, resource: &str, ns: &str, name: &str) -> Key {
    Key {
        group: group.into(),
        resource: resource.into(),
        namespace: ns.into(),
        name: name.into(),
    }
}

fn name_of(o: &Value) -> &str {
    util::meta_str(o, "name").unwrap_or("")
}

fn int(v: &Value, default: i64) -> i64 {
    v.as_i64().unwrap_or(default)
}

/// The object's controller reference, for objects it creates.
fn controller_ref(owner: &Value) -> Value {
    json!({"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": name_of(owner),
        "uid": uid_of(owner), "controller": true, "blockOwnerDeletion": true})
}

fn controlled_by(o: &Value, uid: &str) -> bool {
    owner_refs(o)
        .iter()
        .any(|r| r["uid"].as_str() == Some(uid) && r["controller"].as_bool() == Some(true))
}

pub(super) fn pod_ready(p: &Value) -> bool {
    p["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

fn pod_terminal(p: &Value) -> bool {
    matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
}

/// A stable hash of a pod template, spelled with the characters Kubernetes uses for generated
/// names (no vowels, no look-alike digits).
pub(super) fn template_hash(v: &Value) -> String {
    fn byte(h: &mut u64, b: u8) {
        *h ^= u64::from(b);
        *h = h.wrapping_mul(0x100_0000_01b3);
    }
    fn feed(h: &mut u64, v: &Value) {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                byte(h, b'{');
                for k in keys {
                    k.bytes().for_each(|b| byte(h, b));
                    byte(h, b':');
                    feed(h, &m[k]);
                }
                byte(h, b'}');
            }
            Value::Array(a) => {
                byte(h, b'[');
                for x in a {
                    feed(h, x);
                    byte(h, b',');
                }
                byte(h, b']');
            }
            other => other.to_string().bytes().for_each(|b| byte(h, b)),
        }
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    feed(&mut h, v);
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let digits = ((h >> 32) ^ (h & 0xffff_ffff)).to_string();
    digits
        .bytes()
        .map(|d| ALPHABET[(d as usize) % ALPHABET.len()] as char)
        .collect()
}

/// Resolves an int-or-percent against a total (`round_up` for surge, down for unavailable).
fn int_or_percent(v: &Value, total: i64, round_up: bool, default: i64) -> i64 {
    match v {
        Value::Number(n) => n.as_i64().unwrap_or(default),
        Value::String(s) => match s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) {
            Some(p) if round_up => (p * total + 99) / 100,
            Some(p) => p * total / 100,
            None => s.parse().unwrap_or(default),
        },
        _ => default,
    }
}

/// Sets a condition, keeping `lastTransitionTime` while its status does not change and (for
/// kinds that track it) `lastUpdateTime` while nothing about it changes.
fn set_condition(
    conds: &mut Vec<Value>,
    ty: &str,
    status: &str,
    reason: &str,
    message: &str,
    update_time: bool,
) {
    let now = util::now();
    let old = conds.iter().position(|c| c["type"] == ty);
    let mut c = json!({"type": ty, "status": status, "reason": reason, "message": message,
        "lastTransitionTime": now});
    if update_time {
        c["lastUpdateTime"] = json!(now);
    }
    if let Some(i) = old {
        let prev = &conds[i];
        if prev["status"] == status {
            c["lastTransitionTime"] = prev["lastTransitionTime"].clone();
            if update_time && prev["reason"] == reason && prev["message"] == message {
                c["lastUpdateTime"] = prev["lastUpdateTime"].clone();
            }
        }
        conds[i] = c;
    } else {
        conds.push(c);
    }
}

fn drop_zero(status: &mut Map<String, Value>, fields: &[&str]) {
    for f in fields {
        if status.get(*f).and_then(Value::as_i64) == Some(0) {
            status.remove(*f);
        }
    }
}

fn new_pod(tmpl: &Value, ns: &str, name: &str, owner: &Value, labels: &[(&str, String)]) -> Value {
    let mut meta = json!({"name": name, "namespace": ns,
        "ownerReferences": [controller_ref(owner)]});
    let mut l = tmpl["metadata"]["labels"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (k, v) in labels {
        l.insert((*k).to_owned(), json!(v));
    }
    if !l.is_empty() {
        meta["labels"] = Value::Object(l);
    }
    if let Some(a) = tmpl["metadata"]["annotations"]
        .as_object()
        .filter(|a| !a.is_empty())
    {
        meta["annotations"] = json!(a);
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": tmpl["spec"].clone()})
}

impl Manager {
    pub(super) async fn simulate_object(&mut self, k: &Key, obj: Value) -> ApiResult<()> {
        match (k.group.as_str(), k.resource.as_str()) {
            ("apps", "deployments") => self.deployment(k, obj).await,
            ("apps", "replicasets") => self.replicaset(k, obj).await,
            ("apps", "statefulsets") => self.statefulset(k, obj).await,
            ("apps", "daemonsets") => self.daemonset(k, obj).await,
            ("batch", "jobs") => self.job(k, obj).await,
            ("", "pods") => self.pod(k, obj).await,
            ("", "services") => self.service(k, obj).await,
            ("networking.k8s.io", "ingresses") => self.ingress(k, obj).await,
            ("", "persistentvolumeclaims") => self.claim(k, obj).await,
            ("", "persistentvolumes") => self.volume(k, obj).await,
            _ => Ok(()),
        }
    }

    /// The objects of a kind in `ns` whose controller is `uid`, found
    /// through the owner index rather than a list of the namespace (a
    /// namespace with a thousand Deployments would make every reconcile
    /// read them all).
    fn owned(&self, group: &str, resource: &str, ns: &str, uid: &str) -> ApiResult<Vec<Value>> {
        let mut keys: Vec<Key> = self
            .index
            .of(uid)
            .into_iter()
            .filter(|k| k.group == group && k.resource == resource && k.namespace == ns)
            .collect();
        keys.sort_by(|a, b| a.name.cmp(&b.name));
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(o) = self.cluster().store.get(&key)?
                && controlled_by(&o, uid)
            {
                out.push(o);
            }
        }
        Ok(out)
    }

    /// Writes `status` unless it is what the object already has.
    async fn write_status(
        &self,
        agent: Agent,
        k: &Key,
        obj: &Value,
        status: Value,
    ) -> ApiResult<()> {
        if obj["status"] == status {
            return Ok(());
        }
        let mut o = obj.clone();
        o["status"] = status;
        self.client.update(agent, k, &o, true).await?;
        Ok(())
    }

    async fn deployment(&mut self, k: &Key, d: Value) -> ApiResult<()> {
        let ns = &k.namespace;
        let uid = uid_of(&d).to_owned();
        let desired = int(&d["spec"]["replicas"], 1);
        let tmpl = d["spec"]["template"].clone();
        let hash = template_hash(&tmpl);
        let paused = d["spec"]["paused"].as_bool() == Some(true);
        let recreate = d["spec"]["strategy"]["type"] == "Recreate";
        let mut rss = self.owned("apps", "replicasets", ns, &uid)?;
        rss.retain(|r| !is_deleting(r));
        let revision = |r: &Value| -> i64 {
            r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0)
        };
        let max_surge = int_or_percent(
            &d["spec"]["strategy"]["rollingUpdate"]["maxSurge"],
            desired,
            true,
            1,
        );
        let max_unavailable = if recreate {
            0
        } else {
            int_or_percent(
                &d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"],
                desired,
                false,
                0,
            )
        };
        let annotations = |rev: i64| {
            json!({"deployment.kubernetes.io/revision": rev.to_string(),
                "deployment.kubernetes.io/desired-replicas": desired.to_string(),
                "deployment.kubernetes.io/max-replicas": (desired + if recreate {0} else {max_surge}).to_string()})
        };
        let max_rev = rss.iter().map(revision).max().unwrap_or(0);
        let pos = rss
            .iter()
            .position(|r| r["metadata"]["labels"]["pod-template-hash"] == hash.as_str());
        let mut just_created = false;
        if pos.is_none() && !paused {
            let old_pods: i64 = rss
                .iter()
                .map(|r| int(&r["status"]["replicas"], 0).max(int(&r["spec"]["replicas"], 1)))
                .sum();
            let replicas = match (recreate, old_pods) {
                (_, 0) => desired,
                (true, _) => 0,
                (false, old) => desired.min((desired + max_surge - old).max(0)),
            };
            let mut t = tmpl.clone();
            t["metadata"]["labels"]["pod-template-hash"] = json!(hash);
            let mut selector = d["spec"]["selector"].clone();
            selector["matchLabels"]["pod-template-hash"] = json!(hash);
            let name = format!("{}-{hash}", name_of(&d));
            let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": name, "namespace": ns, "labels": t["metadata"]["labels"],
                    "annotations": annotations(max_rev + 1),
                    "ownerReferences": [controller_ref(&d)]},
                "spec": {"replicas": replicas, "minReadySeconds": d["spec"]["minReadySeconds"].as_i64().unwrap_or(0),
                    "selector": selector, "template": t}});
            let created = self
                .client
                .create(DEPLOYMENT, &key("apps", "replicasets", ns, ""), &rs)
                .await?;
            self.progress
                .insert(uid.clone(), (hash.clone(), Instant::now()));
            just_created = true;
            rss.push(created);
        }
        let new_idx = rss
            .iter()
            .position(|r| r["metadata"]["labels"]["pod-template-hash"] == hash.as_str());
        if !paused && let Some(ni) = new_idx {
            let new_rs = rss[ni].clone();
            let old_active: i64 = rss
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != ni)
                .map(|(_, r)| int(&r["status"]["replicas"], 0).max(int(&r["spec"]["replicas"], 0)))
                .sum();
            // Recreate: the old sets go first, then the new one comes. Rolling: the new set
            // grows while all sets together stay within desired + maxSurge, and the old ones
            // shrink while at least desired - maxUnavailable pods stay available.
            let spec_of = |r: &Value| int(&r["spec"]["replicas"], 1);
            let new_spec = spec_of(&new_rs);
            let all_spec: i64 = rss.iter().map(spec_of).sum();
            let new_target = if recreate {
                if old_active > 0 { 0 } else { desired }
            } else if new_spec > desired || old_active == 0 {
                desired
            } else if all_spec < desired + max_surge {
                desired.min(new_spec + (desired + max_surge - all_spec))
            } else {
                new_spec
            };
            let new_unavailable =
                (new_spec - int(&new_rs["status"]["availableReplicas"], 0)).max(0);
            let mut can_scale_down = if recreate {
                i64::MAX
            } else {
                (all_spec - (desired - max_unavailable) - new_unavailable).max(0)
            };
            let mut rev = revision(&new_rs);
            if rev < max_rev {
                rev = max_rev + 1;
            }
            let want_ann = annotations(rev);
            let ann_ok = want_ann
                .as_object()
                .into_iter()
                .flatten()
                .all(|(k, v)| new_rs["metadata"]["annotations"][k] == *v);
            if int(&new_rs["spec"]["replicas"], 1) != new_target || !ann_ok {
                let mut r = new_rs.clone();
                r["spec"]["replicas"] = json!(new_target);
                for (k, v) in want_ann.as_object().into_iter().flatten() {
                    r["metadata"]["annotations"][k] = v.clone();
                }
                let rk = key("apps", "replicasets", ns, name_of(&r));
                rss[ni] = self.client.update(DEPLOYMENT, &rk, &r, false).await?;
            }
            // One step at a time, as the real controller does: a scale-up waits for the next
            // change before the old sets shrink.
            let scaled_up = new_target > new_spec;
            let mut order: Vec<usize> = (0..rss.len()).filter(|i| *i != ni).collect();
            order.sort_by_key(|i| revision(&rss[*i]));
            for i in order {
                if scaled_up || can_scale_down == 0 {
                    break;
                }
                let spec = spec_of(&rss[i]);
                if spec == 0 {
                    continue;
                }
                let down = spec.min(can_scale_down);
                can_scale_down -= down;
                let mut r2 = rss[i].clone();
                r2["spec"]["replicas"] = json!(spec - down);
                let rk = key("apps", "replicasets", ns, name_of(&r2));
                rss[i] = self.client.update(DEPLOYMENT, &rk, &r2, false).await?;
            }
            // Old sets beyond the history limit go.
            let limit = int(&d["spec"]["revisionHistoryLimit"], 10).max(0) as usize;
            let mut old: Vec<&Value> = rss
                .iter()
                .enumerate()
                .filter(|(i, r)| {
                    *i != ni
                        && int(&r["spec"]["replicas"], 1) == 0
                        && int(&r["status"]["replicas"], 0) == 0
                })
                .map(|(_, r)| r)
                .collect();
            if old.len() > limit {
                old.sort_by_key(|r| revision(r));
                let excess = old.len() - limit;
                for r in old.into_iter().take(excess) {
                    let rk = key("apps", "replicasets", ns, name_of(r));
                    match self.client.delete(DEPLOYMENT, &rk, "Background").await {
                        Ok(_) => {}
                        Err(e) if e.code == 404 => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        // Status, from what the ReplicaSets report.
        let sum = |f: &str| -> i64 { rss.iter().map(|r| int(&r["status"][f], 0)).sum() };
        let replicas = sum("replicas");
        let ready = sum("readyReplicas");
        let available = sum("availableReplicas");
        let new_rs = new_idx.map(|i| rss[i].clone());
        let updated = new_rs
            .as_ref()
            .map(|r| int(&r["status"]["replicas"], 0))
            .unwrap_or(0);
        let new_available = new_rs
            .as_ref()
            .map(|r| int(&r["status"]["availableReplicas"], 0))
            .unwrap_or(0);
        let new_name = new_rs
            .as_ref()
            .map(|r| name_of(r).to_owned())
            .unwrap_or_default();
        let mut status = d["status"].as_object().cloned().unwrap_or_default();
        status.insert(
            "observedGeneration".into(),
            d["metadata"]["generation"].clone(),
        );
        status.insert("replicas".into(), json!(replicas));
        status.insert("updatedReplicas".into(), json!(updated));
        status.insert("readyReplicas".into(), json!(ready));
        status.insert("availableReplicas".into(), json!(available));
        status.insert(
            "unavailableReplicas".into(),
            json!((desired - available).max(0)),
        );
        drop_zero(
            &mut status,
            &[
                "replicas",
                "updatedReplicas",
                "readyReplicas",
                "availableReplicas",
                "unavailableReplicas",
            ],
        );
        let mut conds = status
            .get("conditions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if available >= desired - max_unavailable {
            set_condition(
                &mut conds,
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                true,
            );
        } else {
            set_condition(
                &mut conds,
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                true,
            );
        }
        let complete = new_rs.is_some()
            && updated == desired
            && replicas == desired
            && new_available >= desired;
        let deadline =
            Duration::from_secs(int(&d["spec"]["progressDeadlineSeconds"], 600).max(0) as u64);
        let started = match self.progress.get(&uid) {
            Some((h, at)) if *h == hash => *at,
            _ => {
                let at = Instant::now();
                self.progress.insert(uid.clone(), (hash.clone(), at));
                at
            }
        };
        if paused {
            set_condition(
                &mut conds,
                "Progressing",
                "Unknown",
                "DeploymentPaused",
                "Deployment is paused",
                true,
            );
        } else if complete {
            set_condition(
                &mut conds,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                &format!("ReplicaSet \"{new_name}\" has successfully progressed."),
                true,
            );
        } else if started.elapsed() >= deadline {
            set_condition(
                &mut conds,
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                &format!("ReplicaSet \"{new_name}\" has timed out progressing."),
                true,
            );
        } else if just_created {
            set_condition(
                &mut conds,
                "Progressing",
                "True",
                "NewReplicaSetCreated",
                &format!("Created new replica set \"{new_name}\""),
                true,
            );
        } else {
            let prev_reason = conds
                .iter()
                .find(|c| c["type"] == "Progressing")
                .map(|c| c["reason"].clone());
            // Progress (more updated, ready or available pods) moves the reason on.
            let progressed = [
                ("updatedReplicas", updated),
                ("readyReplicas", ready),
                ("availableReplicas", available),
            ]
            .iter()
            .any(|(f, n)| *n > int(&d["status"][*f], 0));
            if progressed || prev_reason != Some(json!("NewReplicaSetCreated")) {
                set_condition(
                    &mut conds,
                    "Progressing",
                    "True",
                    "ReplicaSetUpdated",
                    &format!("ReplicaSet \"{new_name}\" is progressing."),
                    true,
                );
            }
            self.later(
                deadline.saturating_sub(started.elapsed()),
                Task::Object(k.clone()),
            );
        }
        // Kubernetes lists Available before Progressing.
        conds.sort_by_key(|c| if c["type"] == "Available" { 0 } else { 1 });
        status.insert("conditions".into(), json!(conds));
        self.write_status(DEPLOYMENT, k, &d, Value::Object(status))
            .await
    }

    async fn replicaset(&mut self, k: &Key, rs: Value) -> ApiResult<()> {
        let ns = &k.namespace;
        let uid = uid_of(&rs).to_owned();
        let want = int(&rs["spec"]["replicas"], 1);
        let pods = self.owned("", "pods", ns, &uid)?;
        let mut active: Vec<Value> = pods
            .into_iter()
            .filter(|p| !is_deleting(p) && !pod_terminal(p))
            .collect();
        let have = active.len() as i64;
        if have < want {
            for _ in have..want {
                let name = format!("{}-{}", name_of(&rs), util::random_suffix(5));
                let mut pod = new_pod(&rs["spec"]["template"], ns, &name, &rs, &[]);
                pod["metadata"]["generateName"] = json!(format!("{}-", name_of(&rs)));
                let p = self
                    .client
                    .create(REPLICASET, &key("", "pods", ns, ""), &pod)
                    .await?;
                active.push(p);
            }
        } else if have > want {
            // Not-ready pods go first, then the newest.
            active.sort_by_key(|p| {
                (
                    pod_ready(p),
                    std::cmp::Reverse(
                        p["metadata"]["creationTimestamp"]
                            .as_str()
                            .unwrap_or("")
                            .to_owned(),
                    ),
                )
            });
            let excess = (have - want) as usize;
            for p in active.drain(..excess) {
                match self
                    .client
                    .delete(REPLICASET, &key("", "pods", ns, name_of(&p)), "Background")
                    .await
                {
                    Ok(_) => {}
                    Err(e) if e.code == 404 => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let ready = active.iter().filter(|p| pod_ready(p)).count() as i64;
        let mut status = Map::new();
        status.insert("replicas".into(), json!(active.len()));
        status.insert("fullyLabeledReplicas".into(), json!(active.len()));
        status.insert("readyReplicas".into(), json!(ready));
        status.insert("availableReplicas".into(), json!(ready));
        drop_zero(
            &mut status,
            &["fullyLabeledReplicas", "readyReplicas", "availableReplicas"],
        );
        status.insert(
            "observedGeneration".into(),
            rs["metadata"]["generation"].clone(),
        );
        self.write_status(REPLICASET, k, &rs, Value::Object(status))
            .await
    }

    async fn statefulset(&mut self, k: &Key, s: Value) -> ApiResult<()> {
        let ns = &k.namespace;
        let uid = uid_of(&s).to_owned();
        let want = int(&s["spec"]["replicas"], 1);
        let name = name_of(&s).to_owned();
        let revision = format!("{name}-{}", template_hash(&s["spec"]["template"]));
        let parallel = s["spec"]["podManagementPolicy"] == "Parallel";
        let pods: Vec<Value> = self
            .owned("", "pods", ns, &uid)?
            .into_iter()
            .filter(|p| !is_deleting(p))
            .collect();
        let ordinal = |p: &Value| -> i64 {
            name_of(p)
                .rsplit_once('-')
                .and_then(|(_, n)| n.parse().ok())
                .unwrap_or(-1)
        };
        let at = |i: i64| pods.iter().find(|p| ordinal(p) == i);
        // Claims from the volume claim templates, kept when the set goes (Retain).
        for i in 0..want {
            for t in s["spec"]["volumeClaimTemplates"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let cname = format!("{}-{name}-{i}", name_of(t));
                let ck = key("", "persistentvolumeclaims", ns, &cname);
                if self.cluster().store.get(&ck)?.is_none() {
                    let mut labels = s["spec"]["selector"]["matchLabels"].clone();
                    if !labels.is_object() {
                        labels = json!({});
                    }
                    let claim = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                        "metadata": {"name": cname, "namespace": ns, "labels": labels},
                        "spec": t["spec"].clone()});
                    self.client
                        .create(
                            STATEFULSET,
                            &key("", "persistentvolumeclaims", ns, ""),
                            &claim,
                        )
                        .await?;
                }
            }
        }
        let mut changed = false;
        for i in 0..want {
            if at(i).is_some() {
                continue;
            }
            let predecessors_ready = (0..i).all(|j| at(j).is_some_and(pod_ready));
            if !parallel && !predecessors_ready {
                break;
            }
            let pname = format!("{name}-{i}");
            let mut pod = new_pod(
                &s["spec"]["template"],
                ns,
                &pname,
                &s,
                &[
                    ("controller-revision-hash", revision.clone()),
                    ("statefulset.kubernetes.io/pod-name", pname.clone()),
                    ("apps.kubernetes.io/pod-index", i.to_string()),
                ],
            );
            pod["spec"]["hostname"] = json!(pname);
            if let Some(svc) = s["spec"]["serviceName"].as_str().filter(|x| !x.is_empty()) {
                pod["spec"]["subdomain"] = json!(svc);
            }
            for t in s["spec"]["volumeClaimTemplates"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let vol = json!({"name": name_of(t), "persistentVolumeClaim": {"claimName": format!("{}-{name}-{i}", name_of(t))}});
                match pod["spec"]["volumes"].as_array_mut() {
                    Some(v) => v.push(vol),
                    None => pod["spec"]["volumes"] = json!([vol]),
                }
            }
            self.client
                .create(STATEFULSET, &key("", "pods", ns, ""), &pod)
                .await?;
            changed = true;
            if !parallel {
                break;
            }
        }
        // Scale down from the highest ordinal; update (delete and recreate) from the highest
        // ordinal once every pod is there and ready.
        let mut extra: Vec<&Value> = pods.iter().filter(|p| ordinal(p) >= want).collect();
        extra.sort_by_key(|p| std::cmp::Reverse(ordinal(p)));
        let take = if parallel {
            extra.len()
        } else {
            extra.len().min(1)
        };
        for p in extra.into_iter().take(take) {
            self.delete_quiet(STATEFULSET, &key("", "pods", ns, name_of(p)))
                .await?;
            changed = true;
        }
        let all_ready = (0..want).all(|i| at(i).is_some_and(pod_ready));
        if !changed && all_ready && s["spec"]["updateStrategy"]["type"] != "OnDelete" {
            let stale = (0..want)
                .rev()
                .filter_map(at)
                .find(|p| p["metadata"]["labels"]["controller-revision-hash"] != revision.as_str());
            if let Some(p) = stale {
                self.delete_quiet(STATEFULSET, &key("", "pods", ns, name_of(p)))
                    .await?;
            }
        }
        let live: Vec<&Value> = pods.iter().collect();
        let ready = live.iter().filter(|p| pod_ready(p)).count();
        let updated = live
            .iter()
            .filter(|p| p["metadata"]["labels"]["controller-revision-hash"] == revision.as_str())
            .count();
        let current_rev = if updated == live.len() && live.len() as i64 == want {
            revision.clone()
        } else {
            s["status"]["currentRevision"]
                .as_str()
                .unwrap_or(&revision)
                .to_owned()
        };
        let current = live
            .iter()
            .filter(|p| p["metadata"]["labels"]["controller-revision-hash"] == current_rev.as_str())
            .count();
        let mut status = Map::new();
        status.insert(
            "observedGeneration".into(),
            s["metadata"]["generation"].clone(),
        );
        status.insert("replicas".into(), json!(live.len()));
        status.insert("readyReplicas".into(), json!(ready));
        status.insert("currentReplicas".into(), json!(current));
        status.insert("updatedReplicas".into(), json!(updated));
        status.insert("availableReplicas".into(), json!(ready));
        status.insert("currentRevision".into(), json!(current_rev));
        status.insert("updateRevision".into(), json!(revision));
        status.insert("collisionCount".into(), json!(0));
        drop_zero(
            &mut status,
            &["readyReplicas", "currentReplicas", "updatedReplicas"],
        );
        self.write_status(STATEFULSET, k, &s, Value::Object(status))
            .await
    }

    async fn delete_quiet(&self, agent: Agent, k: &Key) -> ApiResult<()> {
        match self.client.delete(agent, k, "Background").await {
            Ok(_) => Ok(()),
            Err(e) if e.code == 404 => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn daemonset(&mut self, k: &Key, ds: Value) -> ApiResult<()> {
        let ns = &k.namespace;
        let uid = uid_of(&ds).to_owned();
        let name = name_of(&ds).to_owned();
        let hash = template_hash(&ds["spec"]["template"]);
        let pods: Vec<Value> = self
            .owned("", "pods", ns, &uid)?
            .into_iter()
            .filter(|p| !is_deleting(p) && !pod_terminal(p))
            .collect();
        if pods.is_empty() {
            let pname = format!("{name}-{}", util::random_suffix(5));
            let mut pod = new_pod(
                &ds["spec"]["template"],
                ns,
                &pname,
                &ds,
                &[
                    ("controller-revision-hash", hash.clone()),
                    (
                        "pod-template-generation",
                        int(&ds["metadata"]["generation"], 1).to_string(),
                    ),
                ],
            );
            pod["metadata"]["generateName"] = json!(format!("{name}-"));
            pod["spec"]["nodeName"] = json!(self.opts.node_name);
            self.client
                .create(DAEMONSET, &key("", "pods", ns, ""), &pod)
                .await?;
        } else if ds["spec"]["updateStrategy"]["type"] != "OnDelete" {
            for p in pods
                .iter()
                .filter(|p| p["metadata"]["labels"]["controller-revision-hash"] != hash.as_str())
            {
                self.delete_quiet(DAEMONSET, &key("", "pods", ns, name_of(p)))
                    .await?;
            }
        }
        let ready = pods.iter().filter(|p| pod_ready(p)).count() as i64;
        let updated = pods
            .iter()
            .filter(|p| p["metadata"]["labels"]["controller-revision-hash"] == hash.as_str())
            .count() as i64;
        let mut status = Map::new();
        status.insert("currentNumberScheduled".into(), json!(pods.len()));
        status.insert("desiredNumberScheduled".into(), json!(1));
        status.insert("numberMisscheduled".into(), json!(0));
        status.insert("numberReady".into(), json!(ready));
        status.insert("numberAvailable".into(), json!(ready));
        status.insert("numberUnavailable".into(), json!(1 - ready));
        status.insert("updatedNumberScheduled".into(), json!(updated));
        status.insert(
            "observedGeneration".into(),
            ds["metadata"]["generation"].clone(),
        );
        drop_zero(
            &mut status,
            &[
                "numberAvailable",
                "numberUnavailable",
                "updatedNumberScheduled",
            ],
        );
        self.write_status(DAEMONSET, k, &ds, Value::Object(status))
            .await
    }

    async fn job(&mut self, k: &Key, job: Value) -> ApiResult<()> {
        let ns = &k.namespace;
        let uid = uid_of(&job).to_owned();
        let name = name_of(&job).to_owned();
        let finished = job["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter().any(|c| {
                (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True"
            })
        });
        let suspended = job["spec"]["suspend"].as_bool() == Some(true);
        let pods = self.owned("", "pods", ns, &uid)?;
        let succeeded = pods
            .iter()
            .filter(|p| p["status"]["phase"] == "Succeeded")
            .count() as i64;
        let failed = pods
            .iter()
            .filter(|p| p["status"]["phase"] == "Failed")
            .count() as i64;
        let active: Vec<&Value> = pods
            .iter()
            .filter(|p| !is_deleting(p) && !pod_terminal(p))
            .collect();
        let completions = job["spec"]["completions"].as_i64();
        let parallelism = int(&job["spec"]["parallelism"], 1);
        let backoff_limit = int(&job["spec"]["backoffLimit"], 6);
        let mut status = job["status"].as_object().cloned().unwrap_or_default();
        let mut conds = status
            .get("conditions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if !status.contains_key("startTime") && !suspended {
            status.insert("startTime".into(), json!(util::now()));
        }
        let mut active_n = active.len() as i64;
        if !finished && !suspended {
            let done = match completions {
                Some(c) => succeeded >= c,
                None => succeeded > 0 && active.is_empty(),
            };
            if failed > backoff_limit {
                for ty in ["FailureTarget", "Failed"] {
                    set_condition(
                        &mut conds,
                        ty,
                        "True",
                        "BackoffLimitExceeded",
                        "Job has reached the specified backoff limit",
                        false,
                    );
                }
                for p in &active {
                    self.delete_quiet(JOB, &key("", "pods", ns, name_of(p)))
                        .await?;
                }
                active_n = 0;
            } else if done {
                set_condition(
                    &mut conds,
                    "SuccessCriteriaMet",
                    "True",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    false,
                );
                set_condition(
                    &mut conds,
                    "Complete",
                    "True",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    false,
                );
                status.insert("completionTime".into(), json!(util::now()));
            } else {
                let remaining = completions.map(|c| c - succeeded).unwrap_or(parallelism);
                let want = parallelism.min(remaining).max(0);
                let missing = (want - active_n).max(0);
                for _ in 0..missing {
                    let pname = format!("{name}-{}", util::random_suffix(5));
                    let mut pod = new_pod(
                        &job["spec"]["template"],
                        ns,
                        &pname,
                        &job,
                        &[
                            ("batch.kubernetes.io/controller-uid", uid.clone()),
                            ("batch.kubernetes.io/job-name", name.clone()),
                            ("controller-uid", uid.clone()),
                            ("job-name", name.clone()),
                        ],
                    );
                    pod["metadata"]["generateName"] = json!(format!("{name}-"));
                    self.client
                        .create(JOB, &key("", "pods", ns, ""), &pod)
                        .await?;
                    active_n += 1;
                }
            }
        }
        // Job conditions carry a probe time.
        for c in conds.iter_mut() {
            if c.get("lastProbeTime").is_none() {
                c["lastProbeTime"] = c["lastTransitionTime"].clone();
            }
        }
        status.insert("active".into(), json!(active_n));
        status.insert("succeeded".into(), json!(succeeded));
        status.insert("failed".into(), json!(failed));
        status.insert(
            "ready".into(),
            json!(active.iter().filter(|p| pod_ready(p)).count()),
        );
        status.insert("terminating".into(), json!(0));
        status.insert("uncountedTerminatedPods".into(), json!({}));
        drop_zero(&mut status, &["active", "succeeded", "failed"]);
        if !conds.is_empty() {
            status.insert("conditions".into(), json!(conds));
        }
        self.write_status(JOB, k, &job, Value::Object(status)).await
    }

    async fn service(&mut self, k: &Key, svc: Value) -> ApiResult<()> {
        if svc["spec"]["type"] != "LoadBalancer"
            || svc["status"]["loadBalancer"]["ingress"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        {
            return Ok(());
        }
        self.next_ip += 1;
        let ip = format!("172.18.255.{}", 1 + self.next_ip % 250);
        let status = json!({"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"}]}});
        self.write_status(SERVICE, k, &svc, status).await
    }

    /// An ingress controller publishes an address for every Ingress, as a
    /// cluster with one installed does, so Ingress health can become Healthy.
    async fn ingress(&mut self, k: &Key, ing: Value) -> ApiResult<()> {
        if ing["status"]["loadBalancer"]["ingress"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
        {
            return Ok(());
        }
        self.next_ip += 1;
        let ip = format!("172.18.255.{}", 1 + self.next_ip % 250);
        let status = json!({"loadBalancer": {"ingress": [{"ip": ip}]}});
        self.write_status(INGRESS, k, &ing, status).await
    }

    async fn claim(&mut self, k: &Key, pvc: Value) -> ApiResult<()> {
        if pvc["status"]["phase"] == "Bound" {
            return Ok(());
        }
        let uid = uid_of(&pvc).to_owned();
        let pv_name = format!("pvc-{uid}");
        let size = pvc["spec"]["resources"]["requests"]["storage"].clone();
        let size = if size.is_null() { json!("1Gi") } else { size };
        let modes = pvc["spec"]["accessModes"].clone();
        let class = pvc["spec"]["storageClassName"]
            .as_str()
            .unwrap_or("standard")
            .to_owned();
        let pv_key = key("", "persistentvolumes", "", &pv_name);
        if self.cluster().store.get(&pv_key)?.is_none() {
            let pv = json!({"apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": {"name": pv_name, "annotations": {"pv.kubernetes.io/provisioned-by": "trellis.local/hostpath"}},
                "spec": {"capacity": {"storage": size}, "accessModes": modes,
                    "persistentVolumeReclaimPolicy": "Delete", "storageClassName": class,
                    "volumeMode": pvc["spec"]["volumeMode"].as_str().unwrap_or("Filesystem"),
                    "hostPath": {"path": format!("/var/local/trellis/{pv_name}"), "type": ""},
                    "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                        "namespace": k.namespace, "name": k.name, "uid": uid}}});
            let created = self
                .client
                .create(VOLUME, &key("", "persistentvolumes", "", ""), &pv)
                .await?;
            self.write_status(VOLUME, &pv_key, &created, json!({"phase": "Bound"}))
                .await?;
        }
        let mut bound = pvc.clone();
        if bound["spec"]["volumeName"]
            .as_str()
            .unwrap_or("")
            .is_empty()
        {
            bound["spec"]["volumeName"] = json!(pv_name);
            if bound["spec"]["storageClassName"].is_null() {
                bound["spec"]["storageClassName"] = json!(class);
            }
            for (a, v) in [
                ("pv.kubernetes.io/bind-completed", "yes"),
                ("pv.kubernetes.io/bound-by-controller", "yes"),
            ] {
                bound["metadata"]["annotations"][a] = json!(v);
            }
            bound = self.client.update(VOLUME, k, &bound, false).await?;
        }
        let status = json!({"phase": "Bound", "accessModes": modes, "capacity": {"storage": size}});
        self.write_status(VOLUME, k, &bound, status).await
    }

    async fn volume(&mut self, k: &Key, pv: Value) -> ApiResult<()> {
        let claim = &pv["spec"]["claimRef"];
        if claim.is_null() || pv["spec"]["persistentVolumeReclaimPolicy"] != "Delete" {
            return Ok(());
        }
        let ck = key(
            "",
            "persistentvolumeclaims",
            claim["namespace"].as_str().unwrap_or(""),
            claim["name"].as_str().unwrap_or(""),
        );
        let gone = match self.cluster().store.get(&ck)? {
            None => true,
            Some(c) => uid_of(&c) != claim["uid"].as_str().unwrap_or(""),
        };
        if gone {
            self.delete_quiet(VOLUME, k).await?;
        }
        Ok(())
    }
}
