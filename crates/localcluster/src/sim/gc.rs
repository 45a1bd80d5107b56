//! Garbage collection by ownerReferences (background, foreground and orphan propagation) and
//! namespace termination.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::client::Agent;
use super::{Manager, is_deleting, owner_refs, uid_of};
use crate::api::status::ApiResult;
use crate::store::Key;
use crate::util;

/// Finalizer of an object whose dependents are deleted before it.
pub const FOREGROUND: &str = "foregroundDeletion";
/// Finalizer of an object whose dependents are released, not deleted.
pub const ORPHAN: &str = "orphan";

const GC: Agent = Agent {
    product: "kube-controller-manager",
    controller: "garbage-collector",
};
const NAMESPACE: Agent = Agent {
    product: "kube-controller-manager",
    controller: "namespace-controller",
};

fn finalizers(obj: &Value) -> Vec<String> {
    obj["metadata"]["finalizers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().map(str::to_owned))
        .collect()
}

impl Manager {
    /// A deleting object with the foreground or orphan finalizer: deal with its dependents, then
    /// drop the finalizer.
    pub(super) async fn finalize_owner(&mut self, key: &Key, obj: &Value) -> ApiResult<()> {
        let fins = finalizers(obj);
        let uid = uid_of(obj).to_owned();
        let rv = obj["metadata"]["resourceVersion"].clone();
        if fins.iter().any(|f| f == ORPHAN) {
            for dk in self.index.of(&uid) {
                let Some(dep) = self.cluster().store.get(&dk)? else {
                    continue;
                };
                let rest: Vec<Value> = owner_refs(&dep)
                    .into_iter()
                    .filter(|r| r["uid"].as_str() != Some(uid.as_str()))
                    .collect();
                let refs = if rest.is_empty() {
                    Value::Null
                } else {
                    Value::Array(rest)
                };
                self.client
                    .merge_patch(
                        GC,
                        &dk,
                        &json!({"metadata": {"ownerReferences": refs,
                            "resourceVersion": dep["metadata"]["resourceVersion"]}}),
                    )
                    .await?;
            }
            return self.drop_finalizer(key, &fins, ORPHAN, &rv).await;
        }
        if fins.iter().any(|f| f == FOREGROUND) {
            let mut blocking = 0;
            for dk in self.index.of(&uid) {
                let Some(dep) = self.cluster().store.get(&dk)? else {
                    continue;
                };
                let blocks = owner_refs(&dep).iter().any(|r| {
                    r["uid"].as_str() == Some(uid.as_str())
                        && r["blockOwnerDeletion"].as_bool() == Some(true)
                });
                if blocks {
                    blocking += 1;
                }
                if !is_deleting(&dep) {
                    match self.client.delete(GC, &dk, "Foreground").await {
                        Ok(_) => {}
                        Err(e) if e.code == 404 => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            if blocking == 0 {
                return self.drop_finalizer(key, &fins, FOREGROUND, &rv).await;
            }
        }
        Ok(())
    }

    async fn drop_finalizer(
        &mut self,
        key: &Key,
        fins: &[String],
        which: &str,
        rv: &Value,
    ) -> ApiResult<()> {
        let rest: Vec<&String> = fins.iter().filter(|f| *f != which).collect();
        let value = if rest.is_empty() {
            Value::Null
        } else {
            json!(rest)
        };
        self.client
            .merge_patch(
                GC,
                key,
                &json!({"metadata": {"finalizers": value, "resourceVersion": rv}}),
            )
            .await?;
        Ok(())
    }

    /// An owner is gone: dependents with no other existing owner are deleted (background), the
    /// others lose the dangling reference.
    pub(super) async fn collect_dependents(&mut self, uid: &str) -> ApiResult<()> {
        for dk in self.index.of(uid) {
            let Some(dep) = self.cluster().store.get(&dk)? else {
                continue;
            };
            let refs = owner_refs(&dep);
            let mut alive = Vec::new();
            for r in &refs {
                let ruid = r["uid"].as_str().unwrap_or("");
                if ruid == uid {
                    continue;
                }
                let exists = match self.owner_key(r, &dk.namespace) {
                    Some(ok) => self
                        .cluster()
                        .store
                        .get(&ok)?
                        .is_some_and(|o| uid_of(&o) == ruid),
                    None => false,
                };
                if exists {
                    alive.push(r.clone());
                }
            }
            if alive.is_empty() {
                if !is_deleting(&dep) {
                    match self.client.delete(GC, &dk, "Background").await {
                        Ok(_) => {}
                        Err(e) if e.code == 404 => {}
                        Err(e) => return Err(e),
                    }
                }
            } else if alive.len() != refs.len() {
                self.client
                    .merge_patch(
                        GC,
                        &dk,
                        &json!({"metadata": {"ownerReferences": alive,
                            "resourceVersion": dep["metadata"]["resourceVersion"]}}),
                    )
                    .await?;
            }
        }
        Ok(())
    }

    /// A terminating namespace: delete what is in it; once it is empty, drop the `kubernetes`
    /// finalizer, which removes the namespace.
    pub(super) async fn terminate_namespace(&mut self, ns: &str) -> ApiResult<()> {
        let key = Key {
            group: String::new(),
            resource: "namespaces".into(),
            namespace: String::new(),
            name: ns.to_owned(),
        };
        let Some(obj) = self.cluster().store.get(&key)? else {
            self.terminating.remove(ns);
            return Ok(());
        };
        if !is_deleting(&obj) {
            return Ok(());
        }
        let mut remaining = 0usize;
        let mut seen = HashSet::new();
        for def in self.cluster().registry.all() {
            if !def.namespaced || !seen.insert((def.group.clone(), def.plural.clone())) {
                continue;
            }
            let (objs, _) = self
                .cluster()
                .store
                .list(&def.group, &def.plural, Some(ns), None)?;
            if objs.is_empty() {
                continue;
            }
            remaining += objs.len();
            if objs.iter().any(|o| !is_deleting(o)) {
                let k = Key {
                    group: def.group.clone(),
                    resource: def.plural.clone(),
                    namespace: ns.to_owned(),
                    name: String::new(),
                };
                self.client.delete_collection(NAMESPACE, &k).await?;
            }
        }
        let mut status = obj["status"].clone();
        let now = util::now();
        let cond = |t: &str, s: &str, reason: &str, msg: String| json!({"type": t, "status": s, "lastTransitionTime": now, "reason": reason, "message": msg});
        let conditions = if remaining > 0 {
            vec![cond(
                "NamespaceContentRemaining",
                "True",
                "SomeResourcesRemain",
                format!("Some resources are remaining: {remaining} objects"),
            )]
        } else {
            vec![cond(
                "NamespaceContentRemaining",
                "False",
                "ContentRemoved",
                "All content successfully removed".into(),
            )]
        };
        let same = status["conditions"].as_array().is_some_and(|c| {
            c.len() == 1
                && c[0]["reason"] == conditions[0]["reason"]
                && c[0]["message"] == conditions[0]["message"]
        });
        if remaining > 0 {
            if !same {
                status["phase"] = json!("Terminating");
                status["conditions"] = json!(conditions);
                let mut o = obj.clone();
                o["status"] = status;
                self.client.update(NAMESPACE, &key, &o, true).await?;
            }
            return Ok(());
        }
        let spec_fins: Vec<Value> = obj["spec"]["finalizers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| *f != "kubernetes")
            .cloned()
            .collect();
        let mut o = obj.clone();
        o["spec"]["finalizers"] = json!(spec_fins);
        if spec_fins.is_empty()
            && let Some(s) = o["spec"].as_object_mut()
        {
            s.remove("finalizers");
        }
        self.client.update(NAMESPACE, &key, &o, false).await?;
        Ok(())
    }
}
