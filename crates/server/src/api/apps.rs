//! Listing, reading, creating, editing and deleting Applications.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::{Map, Value, json};
use trellis_kube::Propagation;

use super::body::{AppDocument, application};
use super::{AppPath, Params, authorized_app, fresh_app, items, reply, scrub, unknown_app};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::policy::Action;
use crate::server::State;
use crate::summary::{Filter, parse_selector};
use crate::{AppKey, RESOURCES_FINALIZER};

/// `GET /api/v1/applications`: summaries of the applications the caller
/// may read, filtered.
pub(crate) async fn list(
    caller: Caller,
    AxState(state): AxState<Arc<State>>,
    params: Params,
) -> Result<Response, ApiError> {
    let filter = Filter {
        projects: params.all("project"),
        syncs: params.all("sync"),
        healths: params.all("health"),
        namespaces: params.all("namespace"),
        groups: params.all("group"),
        selector: parse_selector(params.get("selector").unwrap_or_default())
            .map_err(ApiError::BadRequest)?,
        search: params
            .get("search")
            .map(str::to_string)
            .filter(|s| !s.is_empty()),
    };
    let list: Vec<Value> = state.cache.with_apps(|apps| {
        apps.values()
            .filter(|e| filter.accepts(e) && state.allows_entry(&caller, Action::Get, e))
            .map(|e| e.summary.clone())
            .collect()
    });
    Ok(reply(StatusCode::OK, items(list)))
}

/// `GET /api/v1/applications/{namespace}/{name}`: the whole object.
pub(crate) async fn get(
    caller: Caller,
    AxState(state): AxState<Arc<State>>,
    path: AppPath,
    params: Params,
) -> Result<Response, ApiError> {
    let entry = authorized_app(&state, &caller, &path, &params, Action::Get)?;
    if params.yaml()? {
        let text = trellis_model::to_yaml(&editable(&entry.object));
        return Ok((
            [(header::CONTENT_TYPE, "application/yaml; charset=utf-8")],
            text,
        )
            .into_response());
    }
    Ok(reply(StatusCode::OK, scrub(&entry.object)))
}

/// The part of an Application an edit sends back: its identity, the
/// version it was read at (so a concurrent change is refused), labels,
/// annotations and spec. Status, operation and server-set metadata are left
/// out, since an edit cannot change them.
fn editable(object: &Value) -> Value {
    let mut metadata = Map::new();
    for field in [
        "name",
        "namespace",
        "resourceVersion",
        "labels",
        "annotations",
    ] {
        if let Some(value) = object.pointer(&format!("/metadata/{field}")) {
            metadata.insert(field.into(), value.clone());
        }
    }
    json!({
        "apiVersion": object.get("apiVersion"),
        "kind": object.get("kind"),
        "metadata": metadata,
        "spec": object.get("spec").cloned().unwrap_or_else(|| json!({})),
    })
}

/// The API of Applications of a group in a namespace.
fn apps_api(state: &State, group: &str, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(
        state.cluster.client().clone(),
        namespace,
        &trellis_kube::discovery::application_resource(group, "Application"),
    )
}

/// The group of an Application document's `apiVersion`, if served here.
fn served_group(state: &State, doc: &AppDocument) -> Result<&'static str, ApiError> {
    let group = doc.app.api_version.split('/').next().unwrap_or_default();
    state
        .options
        .groups()
        .into_iter()
        .find(|g| *g == group)
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "apiVersion {}: this server serves {}",
                doc.app.api_version,
                state
                    .options
                    .groups()
                    .iter()
                    .map(|g| format!("{g}/{}", trellis_model::VERSION))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ))
        })
}

/// Checks that a project exists in a group.
fn known_project(state: &State, group: &str, project: &str) -> Result<(), ApiError> {
    if state.cache.project(group, project).is_none() {
        return Err(ApiError::BadRequest(format!(
            "spec.project: project '{project}' does not exist"
        )));
    }
    Ok(())
}

fn kube_error(verb: &'static str, key: &AppKey, error: kube::Error) -> ApiError {
    match error {
        kube::Error::Api(status) if status.code == 409 && verb == "create" => {
            ApiError::Conflict(format!("application {key} already exists"))
        }
        kube::Error::Api(status) if status.code == 409 => ApiError::Conflict(format!(
            "application {key} was changed by someone else since it was read; reload it and edit again ({})",
            status.message
        )),
        kube::Error::Api(status) if status.code == 404 => unknown_app(&key.namespace, &key.name),
        kube::Error::Api(status) if matches!(status.code, 400 | 422) => {
            ApiError::BadRequest(format!("application {key}: {}", status.message))
        }
        other => ApiError::BadGateway(format!("{verb} application {key}: {other}")),
    }
}

fn to_dynamic(object: &Value) -> Result<DynamicObject, ApiError> {
    serde_json::from_value(object.clone())
        .map_err(|e| ApiError::BadRequest(format!("request body: {e}")))
}

/// `POST /api/v1/applications`: creates an Application from a JSON object
/// (a form) or a YAML document (pasted). Nothing is written unless it is
/// valid.
pub(crate) async fn create(
    caller: Caller,
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let doc = application(&headers, &body)?;
    let group = served_group(&state, &doc)?;
    let name = doc.app.name().to_string();
    let namespace = match doc.app.namespace() {
        "" => state.options.namespace.clone(),
        ns => ns.to_string(),
    };
    if !state.options.namespaces().contains(&namespace) {
        return Err(ApiError::BadRequest(format!(
            "metadata.namespace: applications are served in {} only, not '{namespace}'",
            state.options.namespaces().join(", ")
        )));
    }
    let project = doc.app.spec.project_or_default().to_string();
    if !state.allows(&caller, Action::Create, group, &project, &namespace, &name) {
        return Err(ApiError::Forbidden(format!(
            "{} may not create applications in project {project}",
            caller.name
        )));
    }
    known_project(&state, group, &project)?;
    let mut object = doc.object.clone();
    let mut warnings = doc.warnings.clone();
    if let Some(root) = object.as_object_mut() {
        root.remove("status");
        if root.remove("operation").is_some() {
            warnings.push("operation: ignored on create; request a sync instead".into());
        }
        if let Some(meta) = root.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("namespace".into(), Value::String(namespace.clone()));
            for field in [
                "resourceVersion",
                "uid",
                "creationTimestamp",
                "managedFields",
            ] {
                meta.remove(field);
            }
        }
    }
    let key = AppKey::new(group, &namespace, &name);
    let params = PostParams {
        field_manager: Some("trellis-server".into()),
        ..PostParams::default()
    };
    let created = apps_api(&state, group, &namespace)
        .create(&params, &to_dynamic(&object)?)
        .await
        .map_err(|e| kube_error("create", &key, e))?;
    let created = serde_json::to_value(created)
        .map_err(|e| ApiError::Internal(format!("created application {key}: {e}")))?;
    Ok(reply(
        StatusCode::CREATED,
        json!({"application": scrub(&created), "warnings": warnings}),
    ))
}

/// `PUT /api/v1/applications/{namespace}/{name}`: replaces the spec (and
/// labels and annotations, when sent) of an Application, refusing with 409
/// when it changed since the `metadata.resourceVersion` sent.
pub(crate) async fn update(
    caller: Caller,
    AxState(state): AxState<Arc<State>>,
    path: AppPath,
    params: Params,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let entry = authorized_app(&state, &caller, &path, &params, Action::Update)?;
    let key = entry.key.clone();
    let doc = application(&headers, &body)?;
    let group = served_group(&state, &doc)?;
    if group != key.group {
        return Err(ApiError::BadRequest(format!(
            "apiVersion: application {key} is of {}, not {group}",
            key.group
        )));
    }
    for (field, sent, wanted) in [
        ("metadata.name", doc.app.name(), key.name.as_str()),
        (
            "metadata.namespace",
            doc.app.namespace(),
            key.namespace.as_str(),
        ),
    ] {
        if !sent.is_empty() && sent != wanted {
            return Err(ApiError::BadRequest(format!(
                "{field}: '{sent}' does not match the path's '{wanted}' (renaming is not an edit)"
            )));
        }
    }
    let Some(sent_version) = doc
        .app
        .metadata
        .resource_version
        .clone()
        .filter(|v| !v.is_empty())
    else {
        return Err(ApiError::BadRequest(
            "metadata.resourceVersion is required: send the version you edited, so a change made meanwhile is not overwritten".into(),
        ));
    };
    let current = fresh_app(&state, &caller, &entry, Action::Update).await?;
    let current_version = crate::accounts::version_of(&current);
    if current_version != sent_version {
        return Err(ApiError::Conflict(format!(
            "application {key} was changed since it was read (version {sent_version}, now {current_version}); reload it and edit again"
        )));
    }
    let project = doc.app.spec.project_or_default().to_string();
    if !state.allows(
        &caller,
        Action::Update,
        group,
        &project,
        &key.namespace,
        &key.name,
    ) {
        return Err(ApiError::Forbidden(format!(
            "{} may not move application {key} to project {project}",
            caller.name
        )));
    }
    known_project(&state, group, &project)?;
    let mut next = current.clone();
    next["spec"] = doc.object.get("spec").cloned().unwrap_or(Value::Null);
    if let Some(meta) = next.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        meta.insert("resourceVersion".into(), Value::String(sent_version));
        for field in ["labels", "annotations"] {
            if let Some(value) = doc.object.pointer(&format!("/metadata/{field}")) {
                meta.insert(field.into(), value.clone());
            }
        }
    }
    let params = PostParams {
        field_manager: Some("trellis-server".into()),
        ..PostParams::default()
    };
    let stored = apps_api(&state, group, &key.namespace)
        .replace(&key.name, &params, &to_dynamic(&next)?)
        .await
        .map_err(|e| kube_error("update", &key, e))?;
    let stored = serde_json::to_value(stored)
        .map_err(|e| ApiError::Internal(format!("updated application {key}: {e}")))?;
    Ok(reply(
        StatusCode::OK,
        json!({"application": scrub(&stored), "warnings": doc.warnings}),
    ))
}

/// `DELETE /api/v1/applications/{namespace}/{name}?cascade=`: deletes an
/// Application; with cascade (the default) its resources go too, through
/// the controller's finalizer.
pub(crate) async fn delete(
    caller: Caller,
    AxState(state): AxState<Arc<State>>,
    path: AppPath,
    params: Params,
) -> Result<Response, ApiError> {
    let entry = authorized_app(&state, &caller, &path, &params, Action::Delete)?;
    let cascade = params.flag("cascade", true)?;
    let key = entry.key.clone();
    let current = fresh_app(&state, &caller, &entry, Action::Delete).await?;
    let finalizers: Vec<String> = current
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|f| {
            f.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let has = finalizers
        .iter()
        .any(|f| f.starts_with(RESOURCES_FINALIZER));
    let wanted: Option<Vec<String>> = match (cascade, has) {
        (true, false) => Some(
            finalizers
                .iter()
                .cloned()
                .chain([RESOURCES_FINALIZER.to_string()])
                .collect(),
        ),
        (false, true) => Some(
            finalizers
                .iter()
                .filter(|f| !f.starts_with(RESOURCES_FINALIZER))
                .cloned()
                .collect(),
        ),
        _ => None,
    };
    if let Some(finalizers) = wanted {
        let mut meta = Map::new();
        meta.insert(
            "resourceVersion".into(),
            Value::String(crate::accounts::version_of(&current)),
        );
        meta.insert("finalizers".into(), json!(finalizers));
        state
            .cluster
            .merge_patch(&key.resource(), &json!({"metadata": meta}), false)
            .await
            .map_err(ApiError::from_kube)?
            .ok_or_else(|| unknown_app(&key.namespace, &key.name))?;
    }
    let outcome = state
        .cluster
        .delete(&key.resource(), Propagation::Background)
        .await
        .map_err(ApiError::from_kube)?;
    if outcome == trellis_kube::DeleteOutcome::NotFound {
        return Err(unknown_app(&key.namespace, &key.name));
    }
    Ok(reply(
        StatusCode::OK,
        json!({"deleted": {"group": key.group, "namespace": key.namespace, "name": key.name}, "cascade": cascade}),
    ))
}
