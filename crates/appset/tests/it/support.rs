//! A cluster per test with the Trellis CRDs installed, a git source cache,
//! and helpers to create ApplicationSets and read Applications back.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kube::api::{Api, DynamicObject, ListParams};
use serde_json::{Value, json};
use trellis_appset::{AppSetError, Outcome};
use trellis_kube::{ApplyOptions, Cluster, ConnectOptions};
use trellis_localcluster::{AuditEntry, RunningCluster, ServeOptions, start};
use trellis_model::{ApplicationSet, ResourceKey};
use trellis_source::{SourceConfig, Sources};

/// The namespace sets and their Applications live in.
pub const NS: &str = "argocd";

/// Sources over a fresh cache directory (kept alive by the returned guard).
pub fn sources() -> (Sources, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let sources = Sources::new(SourceConfig::new(dir.path().join("cache"))).unwrap();
    (sources, dir)
}

/// Parses a YAML ApplicationSet.
pub fn set_from_yaml(yaml: &str) -> ApplicationSet {
    let manifests = trellis_model::parse_yaml_stream(yaml, "set.yaml").unwrap();
    ApplicationSet::from_manifest(&manifests[0]).unwrap().value
}

/// The names of generated Applications.
pub fn names(apps: &[Value]) -> Vec<String> {
    apps.iter()
        .map(|a| a["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

pub struct Env {
    pub cluster: RunningCluster,
    pub kube: Cluster,
    pub sources: Sources,
    _dir: tempfile::TempDir,
}

impl Env {
    pub async fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig: PathBuf = dir.path().join("kubeconfig");
        let cluster = start(ServeOptions::default()).await.unwrap();
        cluster.write_kubeconfig(&kubeconfig).unwrap();
        let kube = Cluster::connect(&ConnectOptions {
            kubeconfig: Some(kubeconfig),
            context: None,
        })
        .await
        .unwrap();
        let sources = Sources::new(SourceConfig::new(dir.path().join("cache"))).unwrap();
        let options = ApplyOptions {
            field_manager: "test".into(),
            ..Default::default()
        };
        for crd in trellis_model::crd::crds() {
            kube.apply(&crd, &options).await.unwrap();
        }
        kube.apply(
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
            &options,
        )
        .await
        .unwrap();
        Env {
            cluster,
            kube,
            sources,
            _dir: dir,
        }
    }

    /// Creates (or changes) a set from YAML, as a user would apply it; returns
    /// the stored object.
    pub async fn apply_set(&self, yaml: &str) -> Value {
        let manifests = trellis_model::parse_yaml_stream(yaml, "set.yaml").unwrap();
        let mut object = manifests[0].object.clone();
        object["metadata"]["namespace"] = json!(NS);
        let options = ApplyOptions {
            field_manager: "kubectl".into(),
            force: true,
            ..Default::default()
        };
        self.kube.apply(&object, &options).await.unwrap()
    }

    /// The set as stored now (status included).
    pub async fn get_set(&self, group: &str, name: &str) -> Value {
        self.kube
            .get(&ResourceKey {
                group: group.into(),
                kind: "ApplicationSet".into(),
                namespace: NS.into(),
                name: name.into(),
            })
            .await
            .unwrap()
            .unwrap()
    }

    /// Reads the set back and reconciles it, as the controller would.
    pub async fn reconcile(&self, group: &str, name: &str) -> Result<Outcome, AppSetError> {
        let set = self.get_set(group, name).await;
        trellis_appset::reconcile(&self.kube, &set, &self.sources).await
    }

    /// The Applications of a group in the namespace, by name.
    pub async fn apps(&self, group: &str) -> BTreeMap<String, Value> {
        let info = self
            .kube
            .discovery()
            .resolve(&format!("{group}/v1alpha1"), "Application")
            .await
            .unwrap();
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.kube.client().clone(), NS, &info.api_resource);
        api.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|o| {
                (
                    o.metadata.name.clone().unwrap(),
                    serde_json::to_value(o).unwrap(),
                )
            })
            .collect()
    }

    /// `name → resourceVersion` of the group's Applications.
    pub async fn versions(&self, group: &str) -> BTreeMap<String, String> {
        self.apps(group)
            .await
            .into_iter()
            .map(|(n, a)| {
                (
                    n,
                    a["metadata"]["resourceVersion"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                )
            })
            .collect()
    }

    pub fn audit_seq(&self) -> u64 {
        self.cluster.audit().last_seq()
    }

    /// Writes to Applications since `seq`: `verb name` for each create,
    /// update, patch or delete that was not a dry run.
    pub fn app_writes_since(&self, seq: u64) -> Vec<String> {
        writes(&self.cluster.audit().since(seq))
    }

    /// The condition of a type in a set's status.
    pub async fn condition(&self, group: &str, name: &str, kind: &str) -> Value {
        let set = self.get_set(group, name).await;
        set["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == kind)
            .cloned()
            .unwrap_or(Value::Null)
    }
}

fn writes(entries: &[AuditEntry]) -> Vec<String> {
    entries
        .iter()
        .filter(|e| {
            !e.dry_run
                && e.resource == "applications"
                && matches!(
                    e.verb.as_str(),
                    "create" | "update" | "patch" | "delete" | "deletecollection"
                )
        })
        .map(|e| format!("{} {}", e.verb, e.name))
        .collect()
}
