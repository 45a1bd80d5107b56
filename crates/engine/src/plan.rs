//! The sync plan: which objects to apply, run as hooks, or prune, in which
//! order. Pure: it reads annotations and options and returns tasks ordered by
//! stage (PreSync, Sync, prune, PostSync, prune-last, SyncFail), wave and kind.
//!
//! Prune safety is structural: [`plan`] takes the desired state as
//! [`Desired`], and only a successful, non-empty render (or an empty one the
//! application explicitly allows) can yield a prune task.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use trellis_kube::Propagation;
use trellis_model::ResourceKey;

/// Argo CD's hook annotation.
pub const HOOK_ANNOTATION: &str = "argocd.argoproj.io/hook";
/// Argo CD's hook delete policy annotation.
pub const HOOK_DELETE_POLICY: &str = "argocd.argoproj.io/hook-delete-policy";
/// Argo CD's sync wave annotation.
pub const WAVE_ANNOTATION: &str = "argocd.argoproj.io/sync-wave";
/// Trellis's sync wave annotation (wins over Argo CD's).
pub const TRELLIS_WAVE_ANNOTATION: &str = "trellis.dev/sync-wave";
/// Argo CD's per-resource sync options annotation.
pub const SYNC_OPTIONS_ANNOTATION: &str = "argocd.argoproj.io/sync-options";
/// Trellis's per-resource sync options annotation (merged with Argo CD's).
pub const TRELLIS_SYNC_OPTIONS_ANNOTATION: &str = "trellis.dev/sync-options";

/// A phase of a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Phase {
    /// Before anything is applied (hooks only).
    PreSync,
    /// The application's resources.
    Sync,
    /// After every Sync wave is healthy (hooks only).
    PostSync,
    /// Only when the sync failed (hooks only).
    SyncFail,
}

/// Hook delete policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DeletePolicy {
    /// Delete the previous hook object before creating it again (the default).
    BeforeHookCreation,
    /// Delete the hook once it succeeded.
    HookSucceeded,
    /// Delete the hook once it failed.
    HookFailed,
}

/// What a task does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Apply (or replace) a resource of the application.
    Apply,
    /// Create a hook object and wait for it to complete.
    Hook,
    /// Delete an extra resource.
    Prune,
    /// Create the destination namespace (`CreateNamespace=true`).
    CreateNamespace,
}

/// Options that a resource's annotation or the application can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ResourceOptions {
    /// Replace (PUT) instead of server-side apply.
    pub replace: bool,
    /// Force conflicts with other field managers.
    pub force: bool,
    /// Skip schema validation (`Validate=false`).
    pub skip_validation: bool,
    /// Never prune (`Prune=false`).
    pub no_prune: bool,
    /// Never delete, not even when the application goes (`Delete=false`).
    pub no_delete: bool,
    /// Prune after PostSync (`PruneLast=true`).
    pub prune_last: bool,
}

impl ResourceOptions {
    /// Reads options from the comma-separated sync-options annotations of an
    /// object, over the application's defaults.
    pub fn of(object: &Value, defaults: ResourceOptions) -> Self {
        let mut o = defaults;
        for annotation in [SYNC_OPTIONS_ANNOTATION, TRELLIS_SYNC_OPTIONS_ANNOTATION] {
            for option in annotation_of(object, annotation).split(',') {
                let Some((k, v)) = option.split_once('=') else {
                    continue;
                };
                let on = v.trim().eq_ignore_ascii_case("true");
                match k.trim() {
                    "Replace" => o.replace = on,
                    "Force" => o.force = on,
                    "Validate" => o.skip_validation = !on,
                    "Prune" => o.no_prune = v.trim() == "false",
                    "Delete" => o.no_delete = v.trim() == "false",
                    "PruneLast" => o.prune_last = on,
                    _ => {}
                }
            }
        }
        o
    }
}

/// One step of a sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// The resource.
    pub key: ResourceKey,
    /// The phase it belongs to.
    pub phase: Phase,
    /// Its sync wave.
    pub wave: i32,
    /// What to do.
    pub action: Action,
    /// The object to apply (for Apply, Hook, CreateNamespace).
    pub object: Option<Value>,
    /// For hooks: when to delete them.
    pub delete_policies: Vec<DeletePolicy>,
    /// Per-resource options.
    pub options: ResourceOptions,
    /// Whether the resource differed from the cluster when planned.
    pub out_of_sync: bool,
}

impl Task {
    /// Where the task runs: 0 PreSync, 1 Sync, 2 prune, 3 PostSync,
    /// 4 prune-last, 5 SyncFail.
    pub fn stage(&self) -> u8 {
        match (self.action, self.phase) {
            (Action::Prune, _) if self.options.prune_last => 4,
            (Action::Prune, _) => 2,
            (Action::CreateNamespace, _) => 0,
            (_, Phase::PreSync) => 0,
            (_, Phase::Sync) => 1,
            (_, Phase::PostSync) => 3,
            (_, Phase::SyncFail) => 5,
        }
    }

    /// Tasks with equal group keys run together; groups run in key order.
    /// Prunes run in reverse wave order.
    pub fn group_key(&self) -> (u8, i64) {
        let wave = i64::from(self.wave);
        match self.action {
            Action::Prune => (self.stage(), -wave),
            _ => (self.stage(), wave),
        }
    }
}

/// A desired resource, prepared (namespace set, tracking stamped).
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredResource {
    /// Its key.
    pub key: ResourceKey,
    /// The object.
    pub object: Value,
    /// Whether it differs from the cluster (Missing counts).
    pub out_of_sync: bool,
}

/// An extra live resource: tracked by the application, no longer desired.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraResource {
    /// Its key.
    pub key: ResourceKey,
    /// The live object.
    pub live: Value,
}

/// The desired state as the planner sees it: a render that failed can only
/// be stated as such, and then nothing is deleted.
#[derive(Debug, Clone, PartialEq)]
pub enum Desired {
    /// Rendering succeeded.
    Rendered(Vec<DesiredResource>),
    /// Rendering failed; the message says why.
    Failed(String),
}

/// Options of one sync.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SyncOptions {
    /// Delete extra resources.
    pub prune: bool,
    /// Allow an empty render to prune everything.
    pub allow_empty: bool,
    /// Apply only resources that differ.
    pub apply_out_of_sync_only: bool,
    /// Create this namespace first (`CreateNamespace=true`), if set.
    pub create_namespace: Option<String>,
    /// Defaults for every resource (Replace, Force, Validate, PruneLast).
    pub defaults: ResourceOptions,
    /// Propagation policy of prunes.
    pub propagation: Propagation,
    /// Names generated hooks: `generateName` plus this suffix (the sync's
    /// id), so a resumed or retried sync creates each hook exactly once.
    pub hook_suffix: String,
}

/// A plan: tasks in execution order, and prunes that were held back.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Plan {
    /// Tasks in order.
    pub tasks: Vec<Task>,
    /// Why extra resources are not pruned, if they are not.
    pub prune_skipped: Option<String>,
}

/// Why there is no plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The render failed: nothing is applied or deleted.
    #[error("rendering failed, nothing is synced: {0}")]
    RenderFailed(String),
    /// A wave annotation is not an integer.
    #[error("{key}: sync wave {value:?} is not an integer")]
    BadWave {
        /// The resource.
        key: ResourceKey,
        /// The annotation's value.
        value: String,
    },
}

fn annotation_of<'a>(object: &'a Value, name: &str) -> &'a str {
    object
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get(name))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The sync wave of an object (0 when unset). A hook's Helm weight counts
/// as its wave.
pub fn wave_of(key: &ResourceKey, object: &Value) -> Result<i32, PlanError> {
    let mut value = annotation_of(object, TRELLIS_WAVE_ANNOTATION);
    if value.is_empty() {
        value = annotation_of(object, WAVE_ANNOTATION);
    }
    if value.is_empty() && annotation_of(object, HOOK_ANNOTATION).is_empty() {
        value = annotation_of(object, "helm.sh/hook-weight");
    }
    if value.trim().is_empty() {
        return Ok(0);
    }
    value.trim().parse().map_err(|_| PlanError::BadWave {
        key: key.clone(),
        value: value.to_string(),
    })
}

/// What hook an object is: `None` for an ordinary resource, `Some(vec![])`
/// for a hook that runs in no sync phase (Skip, PostDelete, Helm's
/// pre-delete, rollback and test hooks — they are neither applied nor
/// pruned), else its phases.
///
/// Helm hooks map as Argo CD maps them: `pre-install`/`pre-upgrade` →
/// PreSync, `post-install`/`post-upgrade` → PostSync, `crd-install` is an
/// ordinary resource; the Argo CD annotation, when present, wins.
pub fn hook_phases(object: &Value) -> Option<Vec<Phase>> {
    let argo = annotation_of(object, HOOK_ANNOTATION);
    if !argo.trim().is_empty() {
        let mut phases = Vec::new();
        for h in argo.split(',') {
            match h.trim() {
                "PreSync" => phases.push(Phase::PreSync),
                "Sync" => phases.push(Phase::Sync),
                "PostSync" => phases.push(Phase::PostSync),
                "SyncFail" => phases.push(Phase::SyncFail),
                _ => {}
            }
        }
        return Some(phases);
    }
    let helm = annotation_of(object, "helm.sh/hook");
    if helm.trim().is_empty() {
        return None;
    }
    let mut phases = BTreeSet::new();
    let mut ordinary = false;
    for h in helm.split(',') {
        match h.trim() {
            "pre-install" | "pre-upgrade" => {
                phases.insert(Phase::PreSync);
            }
            "post-install" | "post-upgrade" => {
                phases.insert(Phase::PostSync);
            }
            "crd-install" => ordinary = true,
            _ => {}
        }
    }
    if ordinary && phases.is_empty() {
        return None;
    }
    Some(phases.into_iter().collect())
}

/// A hook's delete policies (BeforeHookCreation when none is given).
pub fn delete_policies(object: &Value) -> Vec<DeletePolicy> {
    let mut text = annotation_of(object, HOOK_DELETE_POLICY);
    if text.trim().is_empty() {
        text = annotation_of(object, "helm.sh/hook-delete-policy");
    }
    let mut out = BTreeSet::new();
    for p in text.split(',') {
        match p.trim() {
            "BeforeHookCreation" | "before-hook-creation" => {
                out.insert(DeletePolicy::BeforeHookCreation);
            }
            "HookSucceeded" | "hook-succeeded" => {
                out.insert(DeletePolicy::HookSucceeded);
            }
            "HookFailed" | "hook-failed" => {
                out.insert(DeletePolicy::HookFailed);
            }
            _ => {}
        }
    }
    if out.is_empty() {
        out.insert(DeletePolicy::BeforeHookCreation);
    }
    out.into_iter().collect()
}

/// The position of a kind in apply order (Argo CD's order: namespaces and
/// policies, accounts, config, storage, CRDs, RBAC, services, workloads,
/// ingress; other kinds, custom resources among them, last).
pub fn kind_rank(kind: &str) -> usize {
    const ORDER: &[&str] = &[
        "Namespace",
        "NetworkPolicy",
        "ResourceQuota",
        "LimitRange",
        "PodSecurityPolicy",
        "PodDisruptionBudget",
        "ServiceAccount",
        "Secret",
        "SecretList",
        "ConfigMap",
        "StorageClass",
        "PersistentVolume",
        "PersistentVolumeClaim",
        "CustomResourceDefinition",
        "ClusterRole",
        "ClusterRoleList",
        "ClusterRoleBinding",
        "ClusterRoleBindingList",
        "Role",
        "RoleList",
        "RoleBinding",
        "RoleBindingList",
        "Service",
        "DaemonSet",
        "Pod",
        "ReplicationController",
        "ReplicaSet",
        "Deployment",
        "HorizontalPodAutoscaler",
        "StatefulSet",
        "Job",
        "CronJob",
        "IngressClass",
        "Ingress",
        "APIService",
    ];
    ORDER.iter().position(|k| *k == kind).unwrap_or(ORDER.len())
}

/// Plans a sync of the desired state against the extra live resources.
pub fn plan(
    desired: &Desired,
    extra: &[ExtraResource],
    options: &SyncOptions,
) -> Result<Plan, PlanError> {
    let resources = match desired {
        Desired::Failed(message) => return Err(PlanError::RenderFailed(message.clone())),
        Desired::Rendered(resources) => resources,
    };
    let mut tasks = Vec::new();
    if let Some(ns) = &options.create_namespace {
        let key = ResourceKey {
            group: String::new(),
            kind: "Namespace".into(),
            namespace: String::new(),
            name: ns.clone(),
        };
        if !resources.iter().any(|r| r.key == key) {
            tasks.push(Task {
                object: Some(serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})),
                key,
                phase: Phase::PreSync,
                wave: i32::MIN,
                action: Action::CreateNamespace,
                delete_policies: Vec::new(),
                options: options.defaults,
                out_of_sync: true,
            });
        }
    }
    let mut ordinary = 0usize;
    for r in resources {
        let wave = wave_of(&r.key, &r.object)?;
        let resource_options = ResourceOptions::of(&r.object, options.defaults);
        match hook_phases(&r.object) {
            None => {
                ordinary += 1;
                if options.apply_out_of_sync_only && !r.out_of_sync {
                    continue;
                }
                tasks.push(Task {
                    key: r.key.clone(),
                    phase: Phase::Sync,
                    wave,
                    action: Action::Apply,
                    object: Some(r.object.clone()),
                    delete_policies: Vec::new(),
                    options: resource_options,
                    out_of_sync: r.out_of_sync,
                });
            }
            Some(phases) => {
                let (key, object) = name_hook(&r.key, &r.object, &options.hook_suffix);
                for phase in phases {
                    tasks.push(Task {
                        key: key.clone(),
                        phase,
                        wave,
                        action: Action::Hook,
                        object: Some(object.clone()),
                        delete_policies: delete_policies(&r.object),
                        options: resource_options,
                        out_of_sync: true,
                    });
                }
            }
        }
    }
    let mut prune_skipped = None;
    let candidates: Vec<&ExtraResource> = extra
        .iter()
        .filter(|e| hook_phases(&e.live).is_none())
        .collect();
    if !candidates.is_empty() {
        if !options.prune {
            prune_skipped = Some(format!(
                "{} resource(s) need pruning; pruning is off",
                candidates.len()
            ));
        } else if ordinary == 0 && !options.allow_empty {
            prune_skipped =
                Some("the render is empty and allowEmpty is off: nothing is pruned".to_string());
        } else {
            for e in candidates {
                let resource_options = ResourceOptions::of(&e.live, options.defaults);
                if resource_options.no_prune {
                    continue;
                }
                tasks.push(Task {
                    key: e.key.clone(),
                    phase: Phase::Sync,
                    wave: wave_of(&e.key, &e.live).unwrap_or(0),
                    action: Action::Prune,
                    object: None,
                    delete_policies: Vec::new(),
                    options: resource_options,
                    out_of_sync: true,
                });
            }
        }
    }
    tasks.sort_by(|a, b| {
        let rank = |t: &Task| {
            let r = kind_rank(&t.key.kind) as i64;
            if t.action == Action::Prune { -r } else { r }
        };
        a.group_key()
            .cmp(&b.group_key())
            .then_with(|| rank(a).cmp(&rank(b)))
            .then_with(|| a.key.cmp(&b.key))
    });
    Ok(Plan {
        tasks,
        prune_skipped,
    })
}

/// A hook with only `generateName` gets a name fixed for this sync.
fn name_hook(key: &ResourceKey, object: &Value, suffix: &str) -> (ResourceKey, Value) {
    let has_name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    if has_name {
        return (key.clone(), object.clone());
    }
    let name = format!("{}{}", key.name, suffix);
    let mut object = object.clone();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("generateName");
        meta.insert("name".into(), Value::String(name.clone()));
    }
    let mut key = key.clone();
    key.name = name;
    (key, object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn res(kind: &str, name: &str, annotations: Value) -> DesiredResource {
        let object = json!({"apiVersion": "v1", "kind": kind,
            "metadata": {"name": name, "namespace": "ns", "annotations": annotations}});
        DesiredResource {
            key: ResourceKey::from_object(&object).unwrap(),
            object,
            out_of_sync: true,
        }
    }

    fn extra(kind: &str, name: &str) -> ExtraResource {
        let r = res(kind, name, json!({}));
        ExtraResource {
            key: r.key,
            live: r.object,
        }
    }

    fn order(plan: &Plan) -> Vec<String> {
        plan.tasks
            .iter()
            .map(|t| format!("{:?}:{}:{}", t.action, t.wave, t.key.name))
            .collect()
    }

    #[test]
    fn phases_waves_and_kinds_order_tasks() {
        let desired = Desired::Rendered(vec![
            res("Deployment", "web", json!({})),
            res("ConfigMap", "late", json!({WAVE_ANNOTATION: "5"})),
            res(
                "ConfigMap",
                "early",
                json!({TRELLIS_WAVE_ANNOTATION: "-1", WAVE_ANNOTATION: "9"}),
            ),
            res("Job", "migrate", json!({HOOK_ANNOTATION: "PreSync"})),
            res(
                "Job",
                "smoke",
                json!({"helm.sh/hook": "post-install,post-upgrade"}),
            ),
            res("Job", "cleanup", json!({HOOK_ANNOTATION: "SyncFail"})),
            res("Namespace", "ns", json!({})),
        ]);
        let plan = plan(&desired, &[], &SyncOptions::default()).unwrap();
        assert_eq!(
            order(&plan),
            [
                "Hook:0:migrate",
                "Apply:-1:early",
                "Apply:0:ns",
                "Apply:0:web",
                "Apply:5:late",
                "Hook:0:smoke",
                "Hook:0:cleanup"
            ]
        );
    }

    #[test]
    fn failed_or_empty_render_never_prunes() {
        let extras = [extra("ConfigMap", "old")];
        let on = SyncOptions {
            prune: true,
            ..Default::default()
        };
        assert!(matches!(
            plan(&Desired::Failed("boom".into()), &extras, &on),
            Err(PlanError::RenderFailed(_))
        ));
        let empty = plan(&Desired::Rendered(vec![]), &extras, &on).unwrap();
        assert!(empty.tasks.is_empty());
        assert!(empty.prune_skipped.unwrap().contains("allowEmpty"));
        let allowed = plan(
            &Desired::Rendered(vec![]),
            &extras,
            &SyncOptions {
                allow_empty: true,
                ..on
            },
        )
        .unwrap();
        assert_eq!(order(&allowed), ["Prune:0:old"]);
    }

    #[test]
    fn prunes_after_sync_in_reverse_wave_and_respect_prune_false() {
        let mut late = extra("ConfigMap", "late");
        late.live["metadata"]["annotations"] = json!({WAVE_ANNOTATION: "3"});
        let mut keep = extra("ConfigMap", "keep");
        keep.live["metadata"]["annotations"] = json!({SYNC_OPTIONS_ANNOTATION: "Prune=false"});
        let mut last = extra("ConfigMap", "last");
        last.live["metadata"]["annotations"] = json!({SYNC_OPTIONS_ANNOTATION: "PruneLast=true"});
        let desired = Desired::Rendered(vec![
            res("ConfigMap", "a", json!({})),
            res("Job", "post", json!({HOOK_ANNOTATION: "PostSync"})),
        ]);
        let options = SyncOptions {
            prune: true,
            ..Default::default()
        };
        let p = plan(
            &desired,
            &[extra("ConfigMap", "early"), late, keep, last],
            &options,
        )
        .unwrap();
        assert_eq!(
            order(&p),
            [
                "Apply:0:a",
                "Prune:3:late",
                "Prune:0:early",
                "Hook:0:post",
                "Prune:0:last"
            ]
        );
    }

    #[test]
    fn generated_hook_names_are_fixed_per_sync_and_policies_read() {
        let mut hook = res(
            "Job",
            "x",
            json!({HOOK_ANNOTATION: "PreSync", HOOK_DELETE_POLICY: "HookSucceeded,HookFailed"}),
        );
        hook.object["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("name");
        hook.object["metadata"]["generateName"] = json!("migrate-");
        hook.key = ResourceKey::from_object(&hook.object).unwrap();
        let options = SyncOptions {
            hook_suffix: "abc12".into(),
            ..Default::default()
        };
        let p = plan(&Desired::Rendered(vec![hook]), &[], &options).unwrap();
        assert_eq!(p.tasks[0].key.name, "migrate-abc12");
        assert_eq!(
            p.tasks[0].object.as_ref().unwrap()["metadata"]["name"],
            "migrate-abc12"
        );
        assert_eq!(
            p.tasks[0].delete_policies,
            [DeletePolicy::HookSucceeded, DeletePolicy::HookFailed]
        );
    }

    #[test]
    fn create_namespace_comes_first_and_out_of_sync_only_skips_synced() {
        let mut synced = res("ConfigMap", "same", json!({}));
        synced.out_of_sync = false;
        let options = SyncOptions {
            create_namespace: Some("ns".into()),
            apply_out_of_sync_only: true,
            ..Default::default()
        };
        let p = plan(
            &Desired::Rendered(vec![synced, res("ConfigMap", "new", json!({}))]),
            &[],
            &options,
        )
        .unwrap();
        assert_eq!(
            order(&p),
            [
                format!("CreateNamespace:{}:ns", i32::MIN),
                "Apply:0:new".to_string()
            ]
        );
    }
}
