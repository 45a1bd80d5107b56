//! Building an Application's status from a comparison, and writing it.

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{Map, Value};
use trellis_engine::compare::{Comparison, ResourceSync};
use trellis_model::status::{
    ApplicationCondition, ApplicationSummary, ComparedTo, HealthStatus, ResourceStatus, SyncStatus,
};
use trellis_model::{Application, ApplicationSourceType, ApplicationStatus, HealthStatusCode};
use trellis_render::SourceKind;

use crate::AppKey;
use crate::controller::{Ctx, lock};
use crate::error::{Result, json};
use crate::render_cache::Rendered;

/// The current time as Kubernetes writes it (whole seconds).
pub(crate) fn now() -> Time {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    Time(k8s_openapi::jiff::Timestamp::from_second(secs).unwrap_or_default())
}

/// A condition of the given type.
pub(crate) fn condition(type_: &str, message: impl Into<String>) -> ApplicationCondition {
    ApplicationCondition {
        type_: type_.to_string(),
        message: message.into(),
        last_transition_time: Some(now()),
    }
}

/// Keeps the transition time of conditions that were already there.
pub(crate) fn merge_conditions(
    previous: &[ApplicationCondition],
    mut next: Vec<ApplicationCondition>,
) -> Vec<ApplicationCondition> {
    for c in &mut next {
        if let Some(p) = previous
            .iter()
            .find(|p| p.type_ == c.type_ && p.message == c.message)
        {
            c.last_transition_time = p.last_transition_time.clone();
        }
    }
    next
}

fn source_type(kind: Option<SourceKind>) -> Option<ApplicationSourceType> {
    Some(match kind? {
        SourceKind::Directory => ApplicationSourceType::Directory,
        SourceKind::Helm => ApplicationSourceType::Helm,
        SourceKind::Kustomize => ApplicationSourceType::Kustomize,
        SourceKind::Plugin => ApplicationSourceType::Plugin,
    })
}

/// The status a comparison stands for; operation state and history are
/// carried over from `previous`.
pub(crate) fn from_comparison(
    ctx: &Ctx,
    app: &Application,
    previous: &ApplicationStatus,
    rendered: &Rendered,
    comparison: &Comparison,
    mut conditions: Vec<ApplicationCondition>,
) -> ApplicationStatus {
    let multi = app.spec.has_multiple_sources();
    let revisions = rendered.revisions();
    let mut status = previous.clone();
    status.sync = SyncStatus {
        status: comparison.sync,
        compared_to: Some(ComparedTo {
            source: if multi { None } else { app.spec.source.clone() },
            destination: app.spec.destination.clone(),
            sources: if multi {
                app.spec.sources.clone()
            } else {
                Vec::new()
            },
            ignore_differences: app.spec.ignore_differences.clone(),
        }),
        revision: if multi {
            String::new()
        } else {
            revisions.first().cloned().unwrap_or_default()
        },
        revisions: if multi { revisions } else { Vec::new() },
    };
    let health = comparison.health.status;
    status.health = HealthStatus {
        status: Some(health),
        message: comparison.health.message.clone(),
        last_transition_time: if previous.health.status == Some(health) {
            previous.health.last_transition_time.clone()
        } else {
            Some(now())
        },
    };
    status.resources = comparison
        .resources
        .iter()
        .map(|r| {
            let version = r
                .desired
                .as_ref()
                .or(r.live.as_deref())
                .and_then(|o| o.get("apiVersion"))
                .and_then(Value::as_str)
                .map(|v| v.rsplit('/').next().unwrap_or(v).to_string())
                .unwrap_or_default();
            ResourceStatus {
                group: r.key.group.clone(),
                version,
                kind: r.key.kind.clone(),
                namespace: r.key.namespace.clone(),
                name: r.key.name.clone(),
                status: Some(match r.status {
                    ResourceSync::Synced => trellis_model::SyncStatusCode::Synced,
                    ResourceSync::Unknown => trellis_model::SyncStatusCode::Unknown,
                    _ => trellis_model::SyncStatusCode::OutOfSync,
                }),
                health: (r.status != ResourceSync::Extra && r.live.is_some())
                    .then(|| HealthStatus {
                        status: Some(r.health.status),
                        message: r.health.message.clone(),
                        last_transition_time: None,
                    })
                    .or_else(|| {
                        (r.status == ResourceSync::Missing).then(|| HealthStatus {
                            status: Some(HealthStatusCode::Missing),
                            message: String::new(),
                            last_transition_time: None,
                        })
                    }),
                requires_pruning: r.status == ResourceSync::Extra,
                ..ResourceStatus::default()
            }
        })
        .collect();
    if let Some(error) = &comparison.render_error {
        conditions.push(condition("ComparisonError", error.clone()));
    }
    status.conditions = merge_conditions(&previous.conditions, conditions);
    status.reconciled_at = Some(now());
    let types: Vec<ApplicationSourceType> = rendered
        .sources
        .iter()
        .filter_map(|s| source_type(s.kind))
        .collect();
    if multi {
        status.source_types = types;
        status.source_type = None;
    } else {
        status.source_type = types.into_iter().next();
        status.source_types = Vec::new();
    }
    status.summary = summary(rendered);
    status.controller_namespace = ctx.options.namespace.clone();
    status
}

/// Images and whether the application manages Applications.
fn summary(rendered: &Rendered) -> ApplicationSummary {
    let mut out = ApplicationSummary::default();
    let Ok(manifests) = &rendered.manifests else {
        return out;
    };
    for m in manifests.iter() {
        if m.object.get("kind").and_then(Value::as_str) == Some("Application") {
            out.is_app_of_apps = true;
        }
        collect_images(&m.object, &mut out.images);
    }
    out.images.sort();
    out.images.dedup();
    out
}

fn collect_images(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for key in ["containers", "initContainers"] {
                if let Some(Value::Array(items)) = map.get(key) {
                    for c in items {
                        if let Some(image) = c.get("image").and_then(Value::as_str) {
                            out.push(image.to_string());
                        }
                    }
                }
            }
            for (k, v) in map {
                if k != "containers" && k != "initContainers" {
                    collect_images(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_images(v, out)),
        _ => {}
    }
}

/// A JSON merge patch that turns `old` into `new`; `None` when equal.
pub(crate) fn merge_diff(old: &Value, new: &Value) -> Option<Value> {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut patch = Map::new();
            for (k, v) in b {
                match a.get(k) {
                    Some(old_v) => {
                        if let Some(d) = merge_diff(old_v, v) {
                            patch.insert(k.clone(), d);
                        }
                    }
                    None => {
                        patch.insert(k.clone(), v.clone());
                    }
                }
            }
            for k in a.keys() {
                if !b.contains_key(k) {
                    patch.insert(k.clone(), Value::Null);
                }
            }
            (!patch.is_empty()).then_some(Value::Object(patch))
        }
        _ if old == new => None,
        _ => Some(new.clone()),
    }
}

/// Writes `status` when it differs from what is known: `force` writes even
/// when only `reconciledAt` changed (a periodic refresh records that it
/// happened).
pub(crate) async fn write(
    ctx: &Ctx,
    key: &AppKey,
    object: &Arc<Value>,
    status: ApplicationStatus,
    force: bool,
) -> Result<()> {
    let previous = ctx.status_of(key, object);
    let old = serde_json::to_value(&previous).map_err(json("status"))?;
    let new = serde_json::to_value(&status).map_err(json("status"))?;
    let Some(patch) = merge_diff(&old, &new) else {
        return Ok(());
    };
    let only_time = patch
        .as_object()
        .is_some_and(|p| p.keys().all(|k| k == "reconciledAt"));
    if only_time && !force {
        return Ok(());
    }
    ctx.metrics.set_status(
        key,
        status.sync.status,
        status.health.status.unwrap_or_default(),
    );
    let body = serde_json::json!({ "status": patch });
    match ctx.cluster.merge_patch(&key.resource(), &body, true).await {
        Ok(_) => {
            lock(&ctx.statuses).insert(key.clone(), status);
            Ok(())
        }
        Err(e) => {
            // The base of the next patch is unknown now: read it afresh.
            lock(&ctx.statuses).remove(key);
            Err(e.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_diff_sets_changes_and_nulls_removals() {
        let old = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1]});
        let new = json!({"a": 1, "b": {"c": 5}, "e": [1, 2], "f": "x"});
        assert_eq!(
            merge_diff(&old, &new),
            Some(json!({"b": {"c": 5, "d": null}, "e": [1, 2], "f": "x"}))
        );
        assert_eq!(merge_diff(&new, &new), None);
    }
}
