//! The routes and what the handlers share: query parameters, bodies, the
//! lookup and authorization of one application, and the scrubbing of
//! objects before they leave.

mod actions;
mod apps;
mod body;
mod events;
mod resources;
mod session;
mod stream;
mod tokens;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use serde_json::{Value, json};

use crate::AppKey;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::policy::Action;
use crate::server::State;
use crate::summary::AppEntry;

pub(crate) fn router(state: Arc<State>) -> Router {
    let app = "/api/v1/applications/{namespace}/{name}";
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/api/openapi.json", get(openapi))
        .route("/", get(crate::ui::index))
        .route("/ui/app.js", get(crate::ui::script))
        .route("/ui/app.css", get(crate::ui::style))
        .route("/favicon.svg", get(crate::ui::favicon))
        .route("/favicon.ico", get(crate::ui::favicon))
        .route(
            "/api/v1/session",
            post(session::login)
                .get(session::me)
                .delete(session::logout),
        )
        .route("/api/v1/applications", get(apps::list).post(apps::create))
        .route(app, get(apps::get).put(apps::update).delete(apps::delete))
        .route(&format!("{app}/tree"), get(resources::tree))
        .route(&format!("{app}/resource"), get(resources::resource))
        .route(&format!("{app}/diff"), get(resources::diff))
        .route(&format!("{app}/events"), get(events::events))
        .route(&format!("{app}/history"), get(events::history))
        .route(&format!("{app}/refresh"), post(actions::refresh))
        .route(&format!("{app}/sync"), post(actions::sync))
        .route(&format!("{app}/rollback"), post(actions::rollback))
        .route("/api/v1/projects", get(session::projects))
        .route("/api/v1/tokens", get(tokens::list).post(tokens::create))
        .route("/api/v1/tokens/{id}", delete(tokens::delete))
        .route("/api/v1/stream", get(stream::stream))
        .fallback(|| async { ApiError::NotFound("no such endpoint".into()) })
        .method_not_allowed_fallback(|| async {
            ApiError::MethodNotAllowed("this endpoint does not take this method".into())
        })
        .with_state(state)
}

async fn readyz(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
) -> impl IntoResponse {
    let listed = *state.cache.listed().borrow();
    if listed >= state.watch_count() {
        (StatusCode::OK, "ok").into_response()
    } else {
        ApiError::Unavailable("the server is still reading the cluster".into()).into_response()
    }
}

async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::DOCUMENT,
    )
}

/// The query string as pairs, in order.
pub(crate) struct Params(pub Vec<(String, String)>);

impl Params {
    /// The last value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a parameter, comma-separated values split.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Whether `format` asks for YAML rather than JSON (the default).
    pub fn yaml(&self) -> Result<bool, ApiError> {
        match self.get("format") {
            None | Some("" | "json") => Ok(false),
            Some("yaml") => Ok(true),
            Some(other) => Err(ApiError::BadRequest(format!(
                "query parameter format: expected json or yaml, got '{other}'"
            ))),
        }
    }

    /// A boolean parameter (`true`/`false`, `1`/`0`); `default` when absent.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some("true" | "1" | "") => Ok(true),
            Some("false" | "0") => Ok(false),
            Some(other) => Err(ApiError::BadRequest(format!(
                "query parameter {name}: expected true or false, got '{other}'"
            ))),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|q| Params(q.0))
            .map_err(|e| ApiError::BadRequest(format!("query '{query}': {e}")))
    }
}

/// The `{namespace}/{name}` of an application path.
pub(crate) struct AppPath {
    pub namespace: String,
    pub name: String,
}

impl<S: Send + Sync> FromRequestParts<S> for AppPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path((namespace, name)) =
            axum::extract::Path::<(String, String)>::from_request_parts(parts, state)
                .await
                .map_err(|e| ApiError::BadRequest(format!("path: {e}")))?;
        Ok(Self { namespace, name })
    }
}

/// Finds an application the caller may `get`, then checks `action`: an
/// application it may not read is answered as unknown (404), one it may
/// read but not act on is refused (403).
pub(crate) fn authorized_app(
    state: &State,
    caller: &Caller,
    path: &AppPath,
    params: &Params,
    action: Action,
) -> Result<Arc<AppEntry>, ApiError> {
    let entry = find_app(state, &path.namespace, &path.name, params.get("group"))
        .filter(|e| state.allows_entry(caller, Action::Get, e))
        .ok_or_else(|| unknown_app(&path.namespace, &path.name))?;
    if !state.allows_entry(caller, action, &entry) {
        return Err(ApiError::Forbidden(format!(
            "{} may not {action} application {}/{} (project {})",
            caller.name, path.namespace, path.name, entry.project
        )));
    }
    Ok(entry)
}

/// The cached application `namespace/name`, of `group` or else of the
/// first served group that has one.
pub(crate) fn find_app(
    state: &State,
    namespace: &str,
    name: &str,
    group: Option<&str>,
) -> Option<Arc<AppEntry>> {
    let groups: Vec<&str> = match group {
        Some(g) => vec![g],
        None => state.options.groups(),
    };
    groups
        .into_iter()
        .find_map(|g| state.cache.app(&AppKey::new(g, namespace, name)))
}

/// The 404 of an application that does not exist (or is hidden).
pub(crate) fn unknown_app(namespace: &str, name: &str) -> ApiError {
    ApiError::NotFound(format!("application {namespace}/{name} not found"))
}

/// Reads an application from the cluster (fresher than the cache, for a
/// write), checking the caller may still do `action` to it.
pub(crate) async fn fresh_app(
    state: &State,
    caller: &Caller,
    entry: &AppEntry,
    action: Action,
) -> Result<Value, ApiError> {
    let key = &entry.key;
    let object = state
        .cluster
        .get(&key.resource())
        .await
        .map_err(ApiError::from_kube)?
        .ok_or_else(|| unknown_app(&key.namespace, &key.name))?;
    let project = match object.pointer("/spec/project").and_then(Value::as_str) {
        None | Some("") => "default",
        Some(p) => p,
    };
    if !state.allows(
        caller,
        action,
        &key.group,
        project,
        &key.namespace,
        &key.name,
    ) {
        return Err(ApiError::Forbidden(format!(
            "{} may not {action} application {key} (project {project})",
            caller.name
        )));
    }
    Ok(object)
}

/// An object as it may leave the server: without managedFields, and for a
/// Secret without its values (and without the last-applied annotation,
/// which would repeat them).
pub(crate) fn scrub(object: &Value) -> Value {
    let mut out = object.clone();
    let is_secret = out.get("kind").and_then(Value::as_str) == Some("Secret")
        && out.get("apiVersion").and_then(Value::as_str) == Some("v1");
    if let Some(meta) = out.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        if is_secret && let Some(a) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            a.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
    }
    if is_secret {
        let (masked, _) = trellis_engine::diff::mask_secrets(Some(&out), None);
        out = masked.unwrap_or(out);
    }
    out
}

/// A JSON answer with a status.
pub(crate) fn reply(status: StatusCode, body: Value) -> axum::response::Response {
    (status, axum::Json(body)).into_response()
}

/// `{"items": [...]}` with a count.
pub(crate) fn items(list: Vec<Value>) -> Value {
    json!({"total": list.len(), "items": list})
}
