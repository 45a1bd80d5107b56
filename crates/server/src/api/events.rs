//! An application's Kubernetes Events and its sync history.

use std::sync::Arc;

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{AppPath, Params, authorized_app, items, reply};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::policy::Action;
use crate::server::State;

fn str_at<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// When an event last happened, for ordering.
fn last_seen(event: &Value) -> &str {
    [
        "/lastTimestamp",
        "/eventTime",
        "/firstTimestamp",
        "/metadata/creationTimestamp",
    ]
    .iter()
    .map(|p| str_at(event, p))
    .find(|s| !s.is_empty())
    .unwrap_or_default()
}

/// `GET .../events`: the Events about the Application, or with
/// `resourceKind` and `resourceName` (and `resourceNamespace`) about one of
/// its managed resources; newest first.
pub(crate) async fn events(
    caller: Caller,
    AxState(state): AxState<Arc<State>>,
    path: AppPath,
    params: Params,
) -> Result<Response, ApiError> {
    let entry = authorized_app(&state, &caller, &path, &params, Action::Get)?;
    let (kind, namespace, name) = match (params.get("resourceKind"), params.get("resourceName")) {
        (Some(kind), Some(name)) => {
            let namespace = params.get("resourceNamespace").unwrap_or_default();
            let managed = entry
                .object
                .pointer("/status/resources")
                .and_then(Value::as_array)
                .is_some_and(|list| {
                    list.iter().any(|r| {
                        str_at(r, "/kind") == kind
                            && str_at(r, "/name") == name
                            && str_at(r, "/namespace") == namespace
                    })
                });
            if !managed {
                return Err(ApiError::NotFound(format!(
                    "{kind} {name} is not a managed resource of application {}",
                    entry.key
                )));
            }
            (kind.to_string(), namespace.to_string(), name.to_string())
        }
        (None, None) => (
            "Application".to_string(),
            entry.key.namespace.clone(),
            entry.key.name.clone(),
        ),
        _ => {
            return Err(ApiError::BadRequest(
                "resourceKind and resourceName go together".into(),
            ));
        }
    };
    // An Application's events are recorded where it is stored; its
    // resources' events live on its destination cluster.
    let cluster = if kind == "Application" {
        state.cluster.clone()
    } else {
        state.destination(&entry)?.engine.cluster().clone()
    };
    let listed = cluster
        .list("", "Event", &namespace, None)
        .await
        .map_err(ApiError::from_kube)?;
    let mut found: Vec<&Value> = listed
        .iter()
        .filter(|e| {
            str_at(e, "/involvedObject/kind") == kind
                && str_at(e, "/involvedObject/name") == name
                && (kind != "Application"
                    || str_at(e, "/involvedObject/apiVersion")
                        .starts_with(&format!("{}/", entry.key.group)))
        })
        .collect();
    found.sort_by(|a, b| last_seen(b).cmp(last_seen(a)));
    let list: Vec<Value> = found
        .into_iter()
        .map(|e| {
            json!({
                "type": e.get("type"),
                "reason": e.get("reason"),
                "message": e.get("message"),
                "count": e.get("count"),
                "firstTimestamp": e.get("firstTimestamp"),
                "lastTimestamp": last_seen(e),
                "source": e.pointer("/source/component").or_else(|| e.get("reportingComponent")),
                "involvedObject": e.get("involvedObject"),
            })
        })
        .collect();
    Ok(reply(StatusCode::OK, items(list)))
}

/// `GET .../history`: past syncs, newest first, each with the id a
/// rollback takes.
pub(crate) async fn history(
    caller: Caller,
    AxState(state): AxState<Arc<State>>,
    path: AppPath,
    params: Params,
) -> Result<Response, ApiError> {
    let entry = authorized_app(&state, &caller, &path, &params, Action::Get)?;
    let mut list: Vec<Value> = entry
        .object
        .pointer("/status/history")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    list.reverse();
    Ok(reply(StatusCode::OK, items(list)))
}
