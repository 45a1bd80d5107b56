//! API defaulting of built-in kinds, as the real API server applies it on every write, and the
//! configurable mutating-admission rules.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::registry::{ResourceDef, SchemaView, Shape};

fn obj_mut<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Map<String, Value>> {
    v.get_mut(key)?.as_object_mut()
}

fn default_field(m: &mut Map<String, Value>, key: &str, value: Value) {
    if !m.contains_key(key) {
        m.insert(key.to_owned(), value);
    }
}

/// Declared schema defaults (`protocol: TCP` of ports, ...), applied wherever the schema
/// reaches.
fn schema_defaults(v: &mut Value, schema: SchemaView<'_>, depth: usize) {
    if depth > 40 {
        return;
    }
    match (schema.shape(), v) {
        (Shape::Struct, Value::Object(m)) => {
            let r = schema.resolved();
            for (k, s) in &r.props {
                if let (false, Some(d)) = (m.contains_key(k), &s.default) {
                    m.insert(k.clone(), d.clone());
                }
            }
            for (k, child) in m.iter_mut() {
                if let Some(cs) = schema.field(k) {
                    schema_defaults(child, cs, depth + 1);
                }
            }
        }
        (Shape::Map(values), Value::Object(m)) => {
            for child in m.values_mut() {
                schema_defaults(child, values, depth + 1);
            }
        }
        (Shape::ListMap(items, _), Value::Array(list)) => {
            for child in list {
                schema_defaults(child, items, depth + 1);
            }
        }
        (Shape::Atomic | Shape::Scalar, Value::Array(list)) => {
            if let Some(items) = schema.items() {
                for child in list {
                    schema_defaults(child, items, depth + 1);
                }
            }
        }
        _ => {}
    }
}

fn image_pull_policy(image: &str) -> &'static str {
    // Digest references and tags other than `latest` are pulled only when missing.
    let last = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') {
        return "IfNotPresent";
    }
    match last.split_once(':') {
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

fn container_defaults(c: &mut Value) {
    let Some(m) = c.as_object_mut() else { return };
    let image = m
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    default_field(m, "imagePullPolicy", json!(image_pull_policy(&image)));
    default_field(m, "terminationMessagePath", json!("/dev/termination-log"));
    default_field(m, "terminationMessagePolicy", json!("File"));
    default_field(m, "resources", json!({}));
}

fn pod_spec_defaults(spec: &mut Value, restart: &str) {
    let Some(m) = spec.as_object_mut() else {
        return;
    };
    default_field(m, "restartPolicy", json!(restart));
    default_field(m, "terminationGracePeriodSeconds", json!(30));
    default_field(m, "dnsPolicy", json!("ClusterFirst"));
    default_field(m, "securityContext", json!({}));
    default_field(m, "schedulerName", json!("default-scheduler"));
    for list in ["containers", "initContainers"] {
        if let Some(Value::Array(cs)) = m.get_mut(list) {
            cs.iter_mut().for_each(container_defaults);
        }
    }
}

fn template_spec(v: &mut Value) -> Option<&mut Value> {
    v.get_mut("template")?.get_mut("spec")
}

fn service_defaults(obj: &mut Value) {
    let Some(spec) = obj_mut(obj, "spec") else {
        return;
    };
    default_field(spec, "type", json!("ClusterIP"));
    default_field(spec, "sessionAffinity", json!("None"));
    let ty = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_owned();
    if ty != "ExternalName" {
        if !spec.contains_key("clusterIP") {
            let ip = format!("10.96.{}.{}", fastrand::u8(0..=255), fastrand::u8(1..=254));
            spec.insert("clusterIP".into(), json!(ip));
        }
        if let Some(ip) = spec.get("clusterIP").cloned() {
            default_field(spec, "clusterIPs", json!([ip]));
        }
        default_field(spec, "ipFamilies", json!(["IPv4"]));
        default_field(spec, "ipFamilyPolicy", json!("SingleStack"));
        default_field(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if ty == "NodePort" || ty == "LoadBalancer" {
        default_field(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if let Some(Value::Array(ports)) = spec.get_mut("ports") {
        for p in ports {
            if let Some(pm) = p.as_object_mut() {
                if let Some(port) = pm.get("port").cloned() {
                    default_field(pm, "targetPort", port);
                }
                if (ty == "NodePort" || ty == "LoadBalancer") && !pm.contains_key("nodePort") {
                    pm.insert("nodePort".into(), json!(fastrand::u16(30000..32768)));
                }
            }
        }
    }
    if let Some(status) = obj.as_object_mut() {
        default_field(status, "status", json!({"loadBalancer": {}}));
    }
}

/// Applies the API server's defaults for `def`'s kind to `obj` (a create or an update).
pub fn apply(def: &ResourceDef, obj: &mut Value) {
    if def.is_custom() {
        return;
    }
    match (def.group.as_str(), def.kind.as_str()) {
        ("", "Pod") => {
            if let Some(spec) = obj.get_mut("spec") {
                pod_spec_defaults(spec, "Always");
                if let Some(m) = spec.as_object_mut() {
                    default_field(m, "serviceAccountName", json!("default"));
                    default_field(m, "serviceAccount", json!("default"));
                    default_field(m, "enableServiceLinks", json!(true));
                    default_field(m, "priority", json!(0));
                    default_field(m, "preemptionPolicy", json!("PreemptLowerPriority"));
                }
            }
            if let Some(m) = obj.as_object_mut() {
                default_field(
                    m,
                    "status",
                    json!({"phase": "Pending", "qosClass": "BestEffort"}),
                );
            }
        }
        ("", "PodTemplate") => {
            if let Some(spec) = template_spec(obj) {
                pod_spec_defaults(spec, "Always");
            }
        }
        ("", "ReplicationController") => {
            if let Some(spec) = obj_mut(obj, "spec") {
                default_field(spec, "replicas", json!(1));
            }
            if let Some(spec) = obj.get_mut("spec").and_then(template_spec) {
                pod_spec_defaults(spec, "Always");
            }
        }
        ("", "Service") => service_defaults(obj),
        ("", "Secret") => {
            if let Some(m) = obj.as_object_mut() {
                default_field(m, "type", json!("Opaque"));
            }
        }
        ("", "Namespace") => {
            let name = crate::util::meta_str(obj, "name").unwrap_or("").to_owned();
            let meta = crate::util::meta_mut(obj);
            let labels = meta.entry("labels").or_insert_with(|| json!({}));
            if let Some(l) = labels.as_object_mut() {
                l.insert("kubernetes.io/metadata.name".into(), json!(name));
            }
            if let Some(m) = obj.as_object_mut() {
                default_field(m, "spec", json!({"finalizers": ["kubernetes"]}));
                default_field(m, "status", json!({"phase": "Active"}));
            }
        }
        ("", "PersistentVolumeClaim") => {
            if let Some(spec) = obj_mut(obj, "spec") {
                default_field(spec, "volumeMode", json!("Filesystem"));
            }
            if let Some(m) = obj.as_object_mut() {
                default_field(m, "status", json!({"phase": "Pending"}));
            }
        }
        ("apps", kind @ ("Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet")) => {
            if let Some(spec) = obj_mut(obj, "spec") {
                if kind != "DaemonSet" {
                    default_field(spec, "replicas", json!(1));
                }
                match kind {
                    "Deployment" => {
                        default_field(spec, "revisionHistoryLimit", json!(10));
                        default_field(spec, "progressDeadlineSeconds", json!(600));
                        let strategy = spec.entry("strategy").or_insert_with(|| json!({}));
                        if let Some(s) = strategy.as_object_mut() {
                            default_field(s, "type", json!("RollingUpdate"));
                            if s.get("type") == Some(&json!("RollingUpdate")) {
                                let ru = s.entry("rollingUpdate").or_insert_with(|| json!({}));
                                if let Some(r) = ru.as_object_mut() {
                                    default_field(r, "maxSurge", json!("25%"));
                                    default_field(r, "maxUnavailable", json!("25%"));
                                }
                            }
                        }
                    }
                    "StatefulSet" => {
                        default_field(spec, "podManagementPolicy", json!("OrderedReady"));
                        default_field(spec, "revisionHistoryLimit", json!(10));
                        default_field(
                            spec,
                            "updateStrategy",
                            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
                        );
                        default_field(
                            spec,
                            "persistentVolumeClaimRetentionPolicy",
                            json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
                        );
                    }
                    "DaemonSet" => {
                        default_field(spec, "revisionHistoryLimit", json!(10));
                        default_field(
                            spec,
                            "updateStrategy",
                            json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}),
                        );
                    }
                    _ => {}
                }
            }
            if let Some(spec) = obj.get_mut("spec").and_then(template_spec) {
                pod_spec_defaults(spec, "Always");
            }
        }
        ("batch", "Job") => {
            if let Some(spec) = obj_mut(obj, "spec") {
                default_field(spec, "backoffLimit", json!(6));
                default_field(spec, "completions", json!(1));
                default_field(spec, "parallelism", json!(1));
                default_field(spec, "completionMode", json!("NonIndexed"));
                default_field(spec, "suspend", json!(false));
                default_field(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
                default_field(spec, "manualSelector", json!(false));
            }
            if let Some(spec) = obj.get_mut("spec").and_then(template_spec) {
                pod_spec_defaults(spec, "Never");
            }
        }
        ("batch", "CronJob") => {
            if let Some(spec) = obj_mut(obj, "spec") {
                default_field(spec, "concurrencyPolicy", json!("Allow"));
                default_field(spec, "suspend", json!(false));
                default_field(spec, "successfulJobsHistoryLimit", json!(3));
                default_field(spec, "failedJobsHistoryLimit", json!(1));
            }
            if let Some(spec) = obj
                .get_mut("spec")
                .and_then(|s| s.get_mut("jobTemplate"))
                .and_then(|j| j.get_mut("spec"))
                .and_then(template_spec)
            {
                pod_spec_defaults(spec, "Never");
            }
        }
        _ => {}
    }
    if let Some(schema) = def.root_schema() {
        schema_defaults(obj, schema, 0);
    }
}

/// A mutating-admission rule: objects of the matching kinds (and namespace) get labels and
/// annotations added when they do not set them, on every create and update — so a naive
/// desired-versus-live comparison sees drift that a server-side dry run does not.
#[derive(Debug, Clone, Default)]
pub struct AdmissionRule {
    /// Kinds the rule applies to; empty means every kind.
    pub kinds: Vec<String>,
    /// Namespace the rule applies to; `None` means every namespace (and cluster scope).
    pub namespace: Option<String>,
    /// Labels to add.
    pub add_labels: BTreeMap<String, String>,
    /// Annotations to add.
    pub add_annotations: BTreeMap<String, String>,
}

impl AdmissionRule {
    /// Applies the rule to `obj` of `kind` in `namespace` when it matches.
    pub fn mutate(&self, kind: &str, namespace: &str, obj: &mut Value) {
        if !self.kinds.is_empty() && !self.kinds.iter().any(|k| k == kind) {
            return;
        }
        if self.namespace.as_deref().is_some_and(|n| n != namespace) {
            return;
        }
        let meta = crate::util::meta_mut(obj);
        for (field, add) in [
            ("labels", &self.add_labels),
            ("annotations", &self.add_annotations),
        ] {
            if add.is_empty() {
                continue;
            }
            let target = meta.entry(field).or_insert_with(|| json!({}));
            if let Some(m) = target.as_object_mut() {
                for (k, v) in add {
                    default_field(m, k, json!(v));
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::registry::Registry;

    #[test]
    fn deployment_and_service_defaults() {
        let reg = Registry::new();
        let d = reg.find("apps", "v1", "deployments").unwrap();
        let mut obj = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "c", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}]}}}});
        apply(&d, &mut obj);
        assert_eq!(obj["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
        assert_eq!(obj["spec"]["revisionHistoryLimit"], 10);
        let c = &obj["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert_eq!(c["ports"][0]["protocol"], "TCP");
        assert_eq!(obj["spec"]["template"]["spec"]["dnsPolicy"], "ClusterFirst");
        let s = reg.find("", "v1", "services").unwrap();
        let mut svc = json!({"spec": {"ports": [{"port": 80}]}});
        apply(&s, &mut svc);
        assert_eq!(svc["spec"]["type"], "ClusterIP");
        assert_eq!(svc["spec"]["ports"][0]["targetPort"], 80);
        assert_eq!(svc["spec"]["ports"][0]["protocol"], "TCP");
        assert!(
            svc["spec"]["clusterIP"]
                .as_str()
                .unwrap()
                .starts_with("10.96.")
        );
        assert_eq!(image_pull_policy("nginx"), "Always");
        assert_eq!(image_pull_policy("localhost:5000/app"), "Always");
    }
}
