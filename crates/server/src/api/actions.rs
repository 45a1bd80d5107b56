//! Refresh, sync and rollback: requests the controller carries out.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use trellis_model::status::{RevisionHistory, SyncOperation, SyncOperationResource};
use trellis_model::{Application, Operation, Origin};

use super::{AppPath, Params, authorized_app, body, fresh_app, reply, scrub, unknown_app};
use crate::REFRESH_ANNOTATION;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::policy::Action;
use crate::server::State;
use crate::summary::AppEntry;

/// The body of a refresh.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RefreshRequest {
    /// `normal` (the default) or `hard`.
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

/// `POST .../refresh`: asks the controller to compare with git now.
pub(crate) async fn refresh(
    caller: Caller,
    AxState(state): AxState<Arc<State>>,
    path: AppPath,
    params: Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let entry = authorized_app(&state, &caller, &path, &params, Action::Sync)?;
    let request: RefreshRequest = body::json(&body)?;
    let kind = match request.kind.as_deref() {
        None | Some("normal") => "normal",
        Some("hard") => "hard",
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "type: expected normal or hard, got '{other}'"
            )));
        }
    };
    fresh_app(&state, &caller, &entry, Action::Sync).await?;
    let patch = json!({"metadata": {"annotations": {REFRESH_ANNOTATION: kind}}});
    let stored = write(&state, &entry, &patch).await?;
    Ok(reply(
        StatusCode::ACCEPTED,
        json!({"refresh": kind, "application": scrub(&stored)}),
    ))
}

/// The body of a sync.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SyncRequest {
    /// The revision to sync to; the spec's when empty.
    #[serde(default)]
    revision: String,
    /// Revisions per source of a multi-source application.
    #[serde(default)]
    revisions: Vec<String>,
    /// Delete resources no longer desired.
    #[serde(default)]
    prune: bool,
    /// Only pretend.
    #[serde(default)]
    dry_run: bool,
    /// Only these resources; all when empty.
    #[serde(default)]
    resources: Vec<SyncOperationResource>,
    /// Sync options for this sync only.
    #[serde(default)]
    sync_options: Vec<String>,
}

/// `POST .../sync`: requests a sync.
pub(crate) async fn sync(
    caller: Caller,
    AxState(state): AxState<Arc<State>>,
    path: AppPath,
    params: Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let entry = authorized_app(&state, &caller, &path, &params, Action::Sync)?;
    let request: SyncRequest = body::json(&body)?;
    for (i, r) in request.resources.iter().enumerate() {
        if r.kind.is_empty() || r.name.is_empty() {
            return Err(ApiError::BadRequest(format!(
                "resources[{i}]: kind and name are required"
            )));
        }
    }
    let current = fresh_app(&state, &caller, &entry, Action::Sync).await?;
    idle(&entry, &current)?;
    let operation = Operation {
        sync: Some(SyncOperation {
            revision: request.revision,
            revisions: request.revisions,
            prune: request.prune,
            dry_run: request.dry_run,
            resources: request.resources,
            sync_options: request.sync_options,
            ..SyncOperation::default()
        }),
        initiated_by: state.initiator(&caller),
        ..Operation::default()
    };
    request_operation(&state, &entry, &current, operation).await
}

/// The body of a rollback.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RollbackRequest {
    /// The history entry's id.
    id: Option<i64>,
    /// Delete resources the old revision does not have.
    #[serde(default)]
    prune: bool,
    /// Only pretend.
    #[serde(default)]
    dry_run: bool,
}

/// `POST .../rollback`: requests a sync to a past revision from the
/// history. Refused while automated sync is on, which would undo it.
pub(crate) async fn rollback(
    caller: Caller,
    AxState(state): AxState<Arc<State>>,
    path: AppPath,
    params: Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let entry = authorized_app(&state, &caller, &path, &params, Action::Sync)?;
    let request: RollbackRequest = body::json(&body)?;
    let id = request.id.ok_or_else(|| {
        ApiError::BadRequest("id: the history entry to roll back to is required".into())
    })?;
    let current = fresh_app(&state, &caller, &entry, Action::Sync).await?;
    let origin = Origin {
        file: entry.key.to_string(),
        document: 1,
        line: 1,
    };
    let app = Application::from_value(&current, &origin)
        .map_err(|e| ApiError::Conflict(format!("the stored application is invalid: {e}")))?
        .value;
    if app
        .spec
        .sync_policy
        .as_ref()
        .is_some_and(|p| p.is_automated())
    {
        return Err(ApiError::Conflict(format!(
            "application {} syncs automatically, which would undo a rollback: turn automated sync off first",
            entry.key
        )));
    }
    let history: &[RevisionHistory] = app
        .status
        .as_ref()
        .map(|s| s.history.as_slice())
        .unwrap_or_default();
    let past = history.iter().find(|h| h.id == id).ok_or_else(|| {
        ApiError::NotFound(format!(
            "application {} has no history entry {id}",
            entry.key
        ))
    })?;
    idle(&entry, &current)?;
    let operation = Operation {
        sync: Some(SyncOperation {
            revision: past.revision.clone(),
            revisions: past.revisions.clone(),
            source: past.source.clone(),
            sources: past.sources.clone(),
            prune: request.prune,
            dry_run: request.dry_run,
            ..SyncOperation::default()
        }),
        initiated_by: state.initiator(&caller),
        ..Operation::default()
    };
    request_operation(&state, &entry, &current, operation).await
}

/// Refuses an application that is being deleted or already has an
/// operation requested or running.
fn idle(entry: &AppEntry, current: &Value) -> Result<(), ApiError> {
    if current.pointer("/metadata/deletionTimestamp").is_some() {
        return Err(ApiError::Conflict(format!(
            "application {} is being deleted",
            entry.key
        )));
    }
    if current.get("operation").is_some_and(|o| !o.is_null()) {
        return Err(ApiError::Conflict(format!(
            "application {} already has an operation requested; wait for it to finish",
            entry.key
        )));
    }
    if current
        .pointer("/status/operationState/phase")
        .and_then(Value::as_str)
        == Some("Running")
    {
        return Err(ApiError::Conflict(format!(
            "another operation is in progress on application {}",
            entry.key
        )));
    }
    Ok(())
}

/// Sets the Application's `operation`, guarded by the version read.
async fn request_operation(
    state: &State,
    entry: &AppEntry,
    current: &Value,
    operation: Operation,
) -> Result<Response, ApiError> {
    let operation = serde_json::to_value(&operation)
        .map_err(|e| ApiError::Internal(format!("operation: {e}")))?;
    let patch = json!({
        "metadata": {"resourceVersion": crate::accounts::version_of(current)},
        "operation": operation,
    });
    let stored = write(state, entry, &patch).await?;
    Ok(reply(
        StatusCode::ACCEPTED,
        json!({"operation": operation, "application": scrub(&stored)}),
    ))
}

/// Merge-patches the Application.
async fn write(state: &State, entry: &AppEntry, patch: &Value) -> Result<Value, ApiError> {
    let key = &entry.key;
    state
        .cluster
        .merge_patch(&key.resource(), patch, false)
        .await
        .map_err(|e| {
            if e.is_conflict() {
                ApiError::Conflict(format!(
                    "application {key} changed while the request was made; try again"
                ))
            } else {
                ApiError::from_kube(e)
            }
        })?
        .ok_or_else(|| unknown_app(&key.namespace, &key.name))
}
