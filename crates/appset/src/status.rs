//! The status an ApplicationSet reconcile writes: Argo CD's three
//! conditions and the list of generated Applications.

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value as Json, json};
use trellis_kube::Cluster;
use trellis_model::VERSION;

use crate::error::AppSetError;
use crate::reconcile::FIELD_MANAGER;

/// One entry of the set's `status.resources`.
pub(crate) fn resource_status(
    group: &str,
    namespace: &str,
    name: &str,
    live: Option<&Json>,
) -> Json {
    let mut entry = json!({
        "group": group,
        "version": VERSION,
        "kind": "Application",
        "namespace": namespace,
        "name": name,
    });
    if let Some(live) = live {
        if let Some(sync) = live["status"]["sync"]["status"].as_str() {
            entry["status"] = json!(sync);
        }
        if let Some(health) = live["status"]["health"]["status"].as_str() {
            entry["health"] = json!({ "status": health });
        }
    }
    entry
}

const GENERATED_OK: &str = "Successfully generated parameters for all Applications";

/// `(type, status, reason, message)` of the three conditions a reconcile sets.
fn conditions(
    result: Result<(), &AppSetError>,
) -> [(&'static str, &'static str, String, String); 3] {
    match result {
        Ok(()) => [
            (
                "ErrorOccurred",
                "False",
                "ApplicationSetUpToDate".into(),
                GENERATED_OK.into(),
            ),
            (
                "ParametersGenerated",
                "True",
                "ParametersGenerated".into(),
                GENERATED_OK.into(),
            ),
            (
                "ResourcesUpToDate",
                "True",
                "ApplicationSetUpToDate".into(),
                "All applications have been generated successfully".into(),
            ),
        ],
        Err(error) => {
            let message = error.to_string();
            let reason = error.reason().to_string();
            let generated = if error.is_generation_error() {
                (
                    "ParametersGenerated",
                    "False",
                    "ErrorOccurred".to_string(),
                    message.clone(),
                )
            } else {
                (
                    "ParametersGenerated",
                    "True",
                    "ParametersGenerated".into(),
                    GENERATED_OK.into(),
                )
            };
            [
                ("ErrorOccurred", "True", reason.clone(), message.clone()),
                generated,
                ("ResourcesUpToDate", "False", reason, message),
            ]
        }
    }
}

/// Writes the conditions (and, on success, the resources) through the
/// status subresource, unless they already say the same.
pub(crate) async fn write_status(
    cluster: &Cluster,
    set_object: &Json,
    result: Result<&[Json], &AppSetError>,
) -> Result<(), AppSetError> {
    let name = set_object["metadata"]["name"].as_str().unwrap_or_default();
    let namespace = set_object["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default();
    let api_version = set_object["apiVersion"].as_str().unwrap_or_default();
    let current = &set_object["status"];
    let previous: Vec<&Json> = current["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let now = json!(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::now()
    ));
    let ours = conditions(result.map(|_| ()));
    let mut changed = false;
    let mut new_conditions = Vec::new();
    for (kind, status, reason, message) in &ours {
        let old = previous.iter().find(|c| c["type"] == *kind);
        let same = old.is_some_and(|c| {
            c["status"] == *status
                && c["reason"] == reason.as_str()
                && c["message"] == message.as_str()
        });
        changed |= !same;
        let time = match old {
            Some(c) if c["status"] == *status && c["lastTransitionTime"].is_string() => {
                c["lastTransitionTime"].clone()
            }
            _ => now.clone(),
        };
        new_conditions.push(json!({
            "type": kind, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": time,
        }));
    }
    // Conditions of other types (a rollout's) are kept as they are.
    for c in &previous {
        if !ours.iter().any(|(kind, ..)| c["type"] == *kind) {
            new_conditions.push((*c).clone());
        }
    }
    let mut status = json!({ "conditions": new_conditions });
    if let Ok(resources) = result {
        let count = resources.len();
        if current["resources"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            != resources
            || current["resourcesCount"].as_u64().unwrap_or(0) != count as u64
        {
            changed = true;
        }
        status["resources"] = Json::Array(resources.to_vec());
        status["resourcesCount"] = json!(count);
    }
    if !changed {
        return Ok(());
    }
    let info = cluster
        .discovery()
        .resolve(api_version, "ApplicationSet")
        .await
        .map_err(|source| AppSetError::Cluster {
            action: format!("find the ApplicationSet resource of {api_version}"),
            source,
        })?;
    let api: Api<DynamicObject> =
        Api::namespaced_with(cluster.client().clone(), namespace, &info.api_resource);
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    api.patch_status(name, &params, &Patch::Merge(&json!({ "status": status })))
        .await
        .map_err(|e| AppSetError::Kube {
            action: format!("write the status of ApplicationSet {namespace}/{name}"),
            source: Box::new(e),
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_conditions_name_the_cause() {
        let error = AppSetError::Spec {
            name: "s".into(),
            message: "broken".into(),
        };
        let c = conditions(Err(&error));
        assert_eq!(c[0].0, "ErrorOccurred");
        assert_eq!(c[0].1, "True");
        assert_eq!(c[1].1, "False", "parameters were not generated");
        assert_eq!(c[2].1, "False");
        assert!(c[2].3.contains("broken"));
    }
}
