//! Health assessment: one small function per kind, dispatched from a table;
//! custom resources fall back to their `status.conditions`.
//!
//! Each function reads the live object as the controller of its kind reports
//! it (generation observed, replicas updated and available, conditions) and
//! says Healthy, Progressing, Degraded, Suspended or Unknown with a message.

use serde::{Deserialize, Serialize};
use serde_json::Value;
pub use trellis_model::HealthStatusCode;

/// A resource's health and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// The status.
    pub status: HealthStatusCode,
    /// A short explanation; empty when there is nothing to say.
    pub message: String,
}

impl Health {
    fn new(status: HealthStatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// Healthy, nothing to say.
    pub fn healthy() -> Self {
        Self::new(HealthStatusCode::Healthy, "")
    }

    /// The object does not exist.
    pub fn missing() -> Self {
        Self::new(HealthStatusCode::Missing, "")
    }

    fn progressing(message: impl Into<String>) -> Self {
        Self::new(HealthStatusCode::Progressing, message)
    }

    fn degraded(message: impl Into<String>) -> Self {
        Self::new(HealthStatusCode::Degraded, message)
    }
}

/// How bad a status is, for "the worst of": Healthy < Suspended <
/// Progressing < Missing < Degraded < Unknown (Argo CD's order).
pub fn severity(status: HealthStatusCode) -> u8 {
    match status {
        HealthStatusCode::Healthy => 0,
        HealthStatusCode::Suspended => 1,
        HealthStatusCode::Progressing => 2,
        HealthStatusCode::Missing => 3,
        HealthStatusCode::Degraded => 4,
        HealthStatusCode::Unknown => 5,
    }
}

/// The worst of several healths (Healthy when there are none).
pub fn worst<'a>(healths: impl IntoIterator<Item = &'a Health>) -> Health {
    healths
        .into_iter()
        .max_by_key(|h| severity(h.status))
        .cloned()
        .unwrap_or_else(Health::healthy)
}

type Check = fn(&Value) -> Health;

/// The per-kind table: (group, kind) → check.
const TABLE: &[(&str, &str, Check)] = &[
    ("apps", "Deployment", deployment),
    ("apps", "StatefulSet", stateful_set),
    ("apps", "DaemonSet", daemon_set),
    ("apps", "ReplicaSet", replica_set),
    ("", "Pod", pod),
    ("batch", "Job", job),
    ("batch", "CronJob", cron_job),
    ("", "PersistentVolumeClaim", pvc),
    ("", "Service", service),
    ("networking.k8s.io", "Ingress", ingress),
    ("autoscaling", "HorizontalPodAutoscaler", hpa),
    ("apiregistration.k8s.io", "APIService", api_service),
    ("apiextensions.k8s.io", "CustomResourceDefinition", crd),
    ("argoproj.io", "Application", application),
    ("trellis.dev", "Application", application),
];

/// The health of a live object, or Missing when there is none.
pub fn assess(live: Option<&Value>) -> Health {
    let Some(live) = live else {
        return Health::missing();
    };
    if live.pointer("/metadata/deletionTimestamp").is_some() {
        return Health::progressing("being deleted");
    }
    let api_version = str_at(live, "/apiVersion");
    let group = trellis_model::identity::group_of(api_version);
    let kind = str_at(live, "/kind");
    match TABLE.iter().find(|(g, k, _)| *g == group && *k == kind) {
        Some((_, _, check)) => check(live),
        None => generic(live),
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn int_at(v: &Value, pointer: &str) -> Option<i64> {
    v.pointer(pointer).and_then(Value::as_i64)
}

fn condition<'a>(v: &'a Value, kind: &str) -> Option<&'a Value> {
    v.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
}

fn cond_status(v: &Value, kind: &str) -> Option<String> {
    condition(v, kind).map(|c| str_at(c, "/status").to_string())
}

fn cond_message(v: &Value, kind: &str) -> String {
    condition(v, kind)
        .map(|c| str_at(c, "/message").to_string())
        .unwrap_or_default()
}

/// Whether the controller has seen the latest spec.
fn observed(v: &Value) -> bool {
    match (
        int_at(v, "/metadata/generation"),
        int_at(v, "/status/observedGeneration"),
    ) {
        (Some(generation), Some(seen)) => seen >= generation,
        (Some(_), None) => false,
        _ => true,
    }
}

fn deployment(v: &Value) -> Health {
    if v.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) {
        return Health::new(HealthStatusCode::Suspended, "deployment is paused");
    }
    if !observed(v) {
        return Health::progressing("waiting for rollout to be observed");
    }
    if cond_status(v, "Progressing").as_deref() == Some("False")
        && condition(v, "Progressing")
            .is_some_and(|c| str_at(c, "/reason") == "ProgressDeadlineExceeded")
    {
        return Health::degraded(format!(
            "deployment exceeded its progress deadline: {}",
            cond_message(v, "Progressing")
        ));
    }
    let want = int_at(v, "/spec/replicas").unwrap_or(1);
    let updated = int_at(v, "/status/updatedReplicas").unwrap_or(0);
    let total = int_at(v, "/status/replicas").unwrap_or(0);
    let available = int_at(v, "/status/availableReplicas").unwrap_or(0);
    if updated < want {
        return Health::progressing(format!("{updated} of {want} replicas updated"));
    }
    if total > updated {
        return Health::progressing(format!(
            "{} old replicas pending termination",
            total - updated
        ));
    }
    if available < updated {
        return Health::progressing(format!(
            "{available} of {updated} updated replicas available"
        ));
    }
    Health::healthy()
}

fn stateful_set(v: &Value) -> Health {
    if !observed(v) {
        return Health::progressing("waiting for statefulset spec update to be observed");
    }
    let want = int_at(v, "/spec/replicas").unwrap_or(1);
    let ready = int_at(v, "/status/readyReplicas").unwrap_or(0);
    if ready < want {
        return Health::progressing(format!("{ready} of {want} pods ready"));
    }
    let on_delete = str_at(v, "/spec/updateStrategy/type") == "OnDelete";
    if !on_delete {
        let current = str_at(v, "/status/currentRevision");
        let update = str_at(v, "/status/updateRevision");
        if !update.is_empty() && current != update {
            let updated = int_at(v, "/status/updatedReplicas").unwrap_or(0);
            return Health::progressing(format!("{updated} of {want} pods updated"));
        }
    }
    Health::healthy()
}

fn daemon_set(v: &Value) -> Health {
    if !observed(v) {
        return Health::progressing("waiting for daemonset spec update to be observed");
    }
    let want = int_at(v, "/status/desiredNumberScheduled").unwrap_or(0);
    let updated = int_at(v, "/status/updatedNumberScheduled").unwrap_or(0);
    let available = int_at(v, "/status/numberAvailable").unwrap_or(0);
    if str_at(v, "/spec/updateStrategy/type") != "OnDelete" && updated < want {
        return Health::progressing(format!("{updated} of {want} pods updated"));
    }
    if available < want {
        return Health::progressing(format!("{available} of {want} pods available"));
    }
    Health::healthy()
}

fn replica_set(v: &Value) -> Health {
    if !observed(v) {
        return Health::progressing("waiting for replicaset spec update to be observed");
    }
    if cond_status(v, "ReplicaFailure").as_deref() == Some("True") {
        return Health::degraded(cond_message(v, "ReplicaFailure"));
    }
    let want = int_at(v, "/spec/replicas").unwrap_or(1);
    let available = int_at(v, "/status/availableReplicas").unwrap_or(0);
    if available < want {
        return Health::progressing(format!("{available} of {want} replicas available"));
    }
    Health::healthy()
}

fn pod(v: &Value) -> Health {
    match str_at(v, "/status/phase") {
        "Succeeded" => Health::healthy(),
        "Failed" => Health::degraded(str_at(v, "/status/message").to_string()),
        "Running" => {
            let restart_never = str_at(v, "/spec/restartPolicy") == "Never";
            if cond_status(v, "Ready").as_deref() == Some("True") || restart_never {
                Health::healthy()
            } else {
                for status in v
                    .pointer("/status/containerStatuses")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let reason = str_at(status, "/state/waiting/reason");
                    if matches!(
                        reason,
                        "CrashLoopBackOff"
                            | "ImagePullBackOff"
                            | "ErrImagePull"
                            | "CreateContainerConfigError"
                    ) {
                        return Health::degraded(format!(
                            "{reason}: {}",
                            str_at(status, "/state/waiting/message")
                        ));
                    }
                }
                Health::progressing("pod is not ready")
            }
        }
        _ => Health::progressing(str_at(v, "/status/message").to_string()),
    }
}

fn job(v: &Value) -> Health {
    if cond_status(v, "Failed").as_deref() == Some("True") {
        return Health::degraded(format!("job failed: {}", cond_message(v, "Failed")));
    }
    if cond_status(v, "Complete").as_deref() == Some("True") {
        return Health::healthy();
    }
    if v.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
        return Health::new(HealthStatusCode::Suspended, "job is suspended");
    }
    Health::progressing("job is running")
}

fn cron_job(v: &Value) -> Health {
    if v.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
        return Health::new(HealthStatusCode::Suspended, "cronjob is suspended");
    }
    Health::healthy()
}

fn pvc(v: &Value) -> Health {
    match str_at(v, "/status/phase") {
        "Bound" => Health::healthy(),
        "Lost" => Health::degraded("claim lost its volume"),
        "Pending" => Health::progressing("claim is pending"),
        _ => Health::progressing(""),
    }
}

fn load_balancer_ready(v: &Value) -> bool {
    v.pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .is_some_and(|i| !i.is_empty())
}

fn service(v: &Value) -> Health {
    if str_at(v, "/spec/type") == "LoadBalancer" && !load_balancer_ready(v) {
        return Health::progressing("waiting for a load balancer address");
    }
    Health::healthy()
}

fn ingress(v: &Value) -> Health {
    if load_balancer_ready(v) {
        Health::healthy()
    } else {
        Health::progressing("waiting for an ingress address")
    }
}

fn hpa(v: &Value) -> Health {
    for (kind, bad) in [("AbleToScale", "False"), ("ScalingActive", "False")] {
        if cond_status(v, kind).as_deref() == Some(bad) {
            let reason = condition(v, kind)
                .map(|c| str_at(c, "/reason"))
                .unwrap_or_default();
            if reason.starts_with("Failed") || reason.contains("Invalid") {
                return Health::degraded(cond_message(v, kind));
            }
        }
    }
    if v.pointer("/status").is_none() {
        return Health::progressing("waiting for the autoscaler to observe");
    }
    Health::healthy()
}

fn api_service(v: &Value) -> Health {
    match cond_status(v, "Available").as_deref() {
        Some("True") => Health::healthy(),
        Some(_) => Health::progressing(cond_message(v, "Available")),
        None => Health::progressing("waiting for the API service to be available"),
    }
}

fn crd(v: &Value) -> Health {
    if cond_status(v, "NamesAccepted").as_deref() == Some("False") {
        return Health::degraded(cond_message(v, "NamesAccepted"));
    }
    match cond_status(v, "Established").as_deref() {
        Some("True") => Health::healthy(),
        _ => Health::progressing("waiting for the CRD to be established"),
    }
}

fn application(v: &Value) -> Health {
    let status = match str_at(v, "/status/health/status") {
        "Healthy" => HealthStatusCode::Healthy,
        "Progressing" => HealthStatusCode::Progressing,
        "Degraded" => HealthStatusCode::Degraded,
        "Suspended" => HealthStatusCode::Suspended,
        "Missing" => HealthStatusCode::Missing,
        "Unknown" => HealthStatusCode::Unknown,
        // An app of apps waits for its children to report.
        _ => return Health::progressing("waiting for the application's health"),
    };
    Health::new(status, str_at(v, "/status/health/message"))
}

/// Custom resources: `Ready` or `Available` conditions decide; without
/// either, the object is healthy once it exists.
fn generic(v: &Value) -> Health {
    for kind in ["Ready", "Available"] {
        if let Some(c) = condition(v, kind) {
            let message = str_at(c, "/message").to_string();
            return match str_at(c, "/status") {
                "True" => Health::new(HealthStatusCode::Healthy, message),
                "False" => Health::degraded(message),
                _ => Health::progressing(message),
            };
        }
    }
    Health::healthy()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status(v: Value) -> HealthStatusCode {
        assess(Some(&v)).status
    }

    #[test]
    fn deployment_rollout_states() {
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"generation": 2},
            "spec": {"replicas": 2}, "status": {"observedGeneration": 1}});
        assert_eq!(status(d.clone()), HealthStatusCode::Progressing);
        d["status"] = json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1});
        assert_eq!(status(d.clone()), HealthStatusCode::Progressing);
        d["status"]["availableReplicas"] = json!(2);
        assert_eq!(status(d.clone()), HealthStatusCode::Healthy);
        d["spec"]["paused"] = json!(true);
        assert_eq!(status(d), HealthStatusCode::Suspended);
    }

    #[test]
    fn job_and_pod_outcomes() {
        let job = |c: &str| {
            json!({"apiVersion": "batch/v1", "kind": "Job",
            "status": {"conditions": [{"type": c, "status": "True", "message": "BackoffLimitExceeded"}]}})
        };
        assert_eq!(status(job("Complete")), HealthStatusCode::Healthy);
        let failed = assess(Some(&job("Failed")));
        assert_eq!(failed.status, HealthStatusCode::Degraded);
        assert!(failed.message.contains("BackoffLimitExceeded"));
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "status": {"phase": "Failed"}});
        assert_eq!(status(pod), HealthStatusCode::Degraded);
    }

    #[test]
    fn custom_resources_use_ready_conditions() {
        let cr = |s: &str| {
            json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "status": {"conditions": [{"type": "Ready", "status": s}]}})
        };
        assert_eq!(status(cr("True")), HealthStatusCode::Healthy);
        assert_eq!(status(cr("False")), HealthStatusCode::Degraded);
        assert_eq!(status(cr("Unknown")), HealthStatusCode::Progressing);
        assert_eq!(
            status(json!({"apiVersion": "v1", "kind": "ConfigMap"})),
            HealthStatusCode::Healthy
        );
        assert_eq!(assess(None).status, HealthStatusCode::Missing);
    }

    #[test]
    fn table_kinds() {
        let ok = |v: Value| assert_eq!(status(v.clone()), HealthStatusCode::Healthy, "{v}");
        let progressing =
            |v: Value| assert_eq!(status(v.clone()), HealthStatusCode::Progressing, "{v}");
        let sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "spec": {"replicas": 2},
            "status": {"readyReplicas": 2, "currentRevision": "a", "updateRevision": "a"}});
        ok(sts.clone());
        let mut rolling = sts;
        rolling["status"]["updateRevision"] = json!("b");
        progressing(rolling);
        ok(json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "status": {"desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 3}}));
        progressing(json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "status": {"desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 1}}));
        ok(
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "status": {"phase": "Bound"}}),
        );
        progressing(
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "status": {"phase": "Pending"}}),
        );
        ok(json!({"apiVersion": "v1", "kind": "Service", "spec": {"type": "ClusterIP"}}));
        progressing(
            json!({"apiVersion": "v1", "kind": "Service", "spec": {"type": "LoadBalancer"}}),
        );
        ok(
            json!({"apiVersion": "v1", "kind": "Service", "spec": {"type": "LoadBalancer"},
            "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}}}),
        );
        progressing(json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress"}));
        ok(
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "status": {"conditions": [{"type": "Established", "status": "True"}]}}),
        );
        ok(
            json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
            "status": {"conditions": [{"type": "Available", "status": "True"}]}}),
        );
        assert_eq!(
            status(json!({"apiVersion": "batch/v1", "kind": "CronJob", "spec": {"suspend": true}})),
            HealthStatusCode::Suspended
        );
        ok(
            json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "status": {}}),
        );
    }

    #[test]
    fn child_applications_roll_up() {
        let child = |s: &str| {
            json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "status": {"health": {"status": s, "message": "child says so"}}})
        };
        let degraded = assess(Some(&child("Degraded")));
        assert_eq!(degraded.status, HealthStatusCode::Degraded);
        assert_eq!(degraded.message, "child says so");
        assert_eq!(status(child("Healthy")), HealthStatusCode::Healthy);
        assert_eq!(
            status(json!({"apiVersion": "trellis.dev/v1alpha1", "kind": "Application"})),
            HealthStatusCode::Progressing
        );
    }

    #[test]
    fn worst_follows_argo_order() {
        let h = |s| Health {
            status: s,
            message: String::new(),
        };
        let all = [
            h(HealthStatusCode::Healthy),
            h(HealthStatusCode::Missing),
            h(HealthStatusCode::Progressing),
        ];
        assert_eq!(worst(&all).status, HealthStatusCode::Missing);
        assert_eq!(worst(&[]).status, HealthStatusCode::Healthy);
    }
}
