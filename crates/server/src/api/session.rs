//! Logging in and out, who the caller is, and the projects it can see.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{body, items, reply};
use crate::accounts::{ADMIN_USER, verify_password};
use crate::auth::{Caller, Credential, SESSION_COOKIE, cleared_cookie, cookie, session_cookie};
use crate::error::ApiError;
use crate::server::State;

/// The body of a login.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Login {
    username: String,
    password: String,
}

/// `POST /api/v1/session`: logs in with the admin account's password;
/// sets the session cookie and returns the CSRF token.
pub(crate) async fn login(
    AxState(state): AxState<Arc<State>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: Login = body::json(&body)?;
    let refused = || ApiError::Unauthorized("invalid username or password".into());
    let accounts = state.cache.accounts();
    let Some(hash) = accounts.admin_hash.clone() else {
        return Err(ApiError::Unauthorized(
            "no admin password is set: set one with trellis before logging in".into(),
        ));
    };
    if let Err(wait) = state.logins.check(&request.username) {
        return Err(ApiError::TooManyRequests(
            format!(
                "too many failed logins for {}: try again in {} s",
                request.username,
                wait.as_secs().max(1)
            ),
            wait.as_secs().max(1),
        ));
    }
    let candidate = request.password;
    let hash2 = hash.clone();
    // Hashing is deliberately slow; it runs off the async workers, and for
    // any user name, so the time taken says nothing about which exist.
    let matches = tokio::task::spawn_blocking(move || verify_password(&hash2, &candidate))
        .await
        .map_err(|e| ApiError::Internal(format!("password check: {e}")))?;
    if !matches || request.username != ADMIN_USER {
        state.logins.failed(&request.username);
        return Err(refused());
    }
    state.logins.succeeded(&request.username);
    let session = state.sessions.open(ADMIN_USER, &hash);
    let cookie = session_cookie(
        &session.id,
        state.sessions.ttl(),
        state.options.secure_cookies,
    );
    let body = json!({
        "username": ADMIN_USER,
        "csrfToken": session.csrf,
        "expiresIn": state.sessions.ttl().as_secs(),
    });
    Ok((
        StatusCode::OK,
        [(header::SET_COOKIE, cookie)],
        axum::Json(body),
    )
        .into_response())
}

/// `GET /api/v1/session`: who the caller is and what it was granted.
pub(crate) async fn me(caller: Caller) -> Result<Response, ApiError> {
    let (kind, csrf) = match &caller.credential {
        Credential::Session { csrf, .. } => ("session", Some(csrf.clone())),
        Credential::Token { .. } => ("token", None),
    };
    Ok(reply(
        StatusCode::OK,
        json!({
            "username": caller.name,
            "via": kind,
            "csrfToken": csrf,
            "grant": caller.grant,
        }),
    ))
}

/// `DELETE /api/v1/session`: logs out (ends the session and clears the
/// cookie).
pub(crate) async fn logout(
    caller: Caller,
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Credential::Session { id, .. } = &caller.credential {
        state.sessions.close(id);
    } else if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        state.sessions.close(id);
    }
    Ok((
        StatusCode::OK,
        [(
            header::SET_COOKIE,
            cleared_cookie(state.options.secure_cookies),
        )],
        axum::Json(json!({"loggedOut": true})),
    )
        .into_response())
}

/// `GET /api/v1/projects`: the projects the caller can see applications
/// of, with their description, destinations, source repositories and role
/// names (policies and tokens are not shown).
pub(crate) async fn projects(
    caller: Caller,
    AxState(state): AxState<Arc<State>>,
) -> Result<Response, ApiError> {
    let scope = caller.grant.project().map(str::to_string);
    let list: Vec<Value> = state
        .cache
        .projects()
        .into_iter()
        .filter(|(_, p)| {
            scope
                .as_deref()
                .is_none_or(|only| p.metadata.name.as_deref() == Some(only))
        })
        .map(|(group, p)| {
            json!({
                "group": group,
                "name": p.metadata.name,
                "description": p.spec.description,
                "sourceRepos": p.spec.source_repos,
                "destinations": p.spec.destinations,
                "roles": p.spec.roles.iter().map(|r| &r.name).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(reply(StatusCode::OK, items(list)))
}
