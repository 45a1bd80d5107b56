//! API tokens: listed, created and deleted by an unscoped admin.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{body, items, reply};
use crate::accounts::{NewToken, modify, new_token};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::server::State;

fn admin_only(caller: &Caller) -> Result<(), ApiError> {
    if caller.grant.is_global_admin() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "{} may not manage API tokens: that needs an admin of every project",
            caller.name
        )))
    }
}

/// `GET /api/v1/tokens`: every token's metadata (never the token).
pub(crate) async fn list(
    caller: Caller,
    AxState(state): AxState<Arc<State>>,
) -> Result<Response, ApiError> {
    admin_only(&caller)?;
    let list: Vec<Value> = state
        .cache
        .accounts()
        .tokens
        .iter()
        .filter_map(|t| serde_json::to_value(t.info()).ok())
        .collect();
    Ok(reply(StatusCode::OK, items(list)))
}

/// `POST /api/v1/tokens`: creates a token; the answer is the only place
/// the token is ever shown.
pub(crate) async fn create(
    caller: Caller,
    AxState(state): AxState<Arc<State>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    admin_only(&caller)?;
    let request: NewToken = body::json(&body)?;
    let (record, token) = new_token(&request)?;
    if let Some(project) = record.grant.project()
        && !state
            .options
            .groups()
            .iter()
            .any(|g| state.cache.project(g, project).is_some())
    {
        return Err(ApiError::BadRequest(format!(
            "project '{project}' does not exist"
        )));
    }
    let (_, accounts, version) = modify(&state.cluster, &state.options.namespace, |accounts| {
        accounts.tokens.push(record.clone());
        Ok(Some(()))
    })
    .await?;
    state.cache.set_accounts(accounts, version.as_deref());
    let mut out = serde_json::to_value(record.info())
        .map_err(|e| ApiError::Internal(format!("token: {e}")))?;
    out["token"] = json!(token);
    Ok(reply(StatusCode::CREATED, out))
}

/// `DELETE /api/v1/tokens/{id}`: revokes a token at once.
pub(crate) async fn delete(
    caller: Caller,
    AxState(state): AxState<Arc<State>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    admin_only(&caller)?;
    let (deleted, accounts, version) =
        modify(&state.cluster, &state.options.namespace, |accounts| {
            let before = accounts.tokens.len();
            accounts.tokens.retain(|t| t.id != id);
            Ok((accounts.tokens.len() != before).then_some(true))
        })
        .await?;
    if !deleted {
        return Err(ApiError::NotFound(format!("no API token with id '{id}'")));
    }
    state.cache.set_accounts(accounts, version.as_deref());
    Ok(reply(StatusCode::OK, json!({"deleted": id})))
}
