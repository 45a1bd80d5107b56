//! The HTTP API: routing of Kubernetes URLs to discovery, OpenAPI and object operations.

pub mod discovery;
pub mod objects;
pub mod openapi;
pub mod scale;
pub mod selector;
pub mod status;
pub mod table;
pub mod watch;

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::audit::{AuditEntry, AuditLog};
use crate::defaults::AdmissionRule;
use crate::registry::Registry;
use crate::store::Store;
use status::{ApiError, ApiResult};

/// Largest accepted request body, as the real API server limits it.
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// The Kubernetes version reported by `/version`.
pub const KUBERNETES_VERSION: (&str, &str, &str) = ("1", "32", "v1.32.4");

/// Shared state of one running cluster.
pub struct Cluster {
    /// Object storage.
    pub store: Store,
    /// Served resources.
    pub registry: Registry,
    /// Request log.
    pub audit: AuditLog,
    /// Mutating-admission rules.
    pub admission: Vec<AdmissionRule>,
    /// `host:port` clients reach the server at.
    pub address: String,
    /// Flips to `true` when the server shuts down, ending watches.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// Faults injected into client requests.
    pub faults: crate::faults::Faults,
}

impl Cluster {
    /// Loads the kinds of stored CustomResourceDefinitions into the registry.
    pub fn refresh_crds(&self) -> ApiResult<()> {
        let (crds, _) = self.store.list(
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            None,
            None,
        )?;
        self.registry.set_custom(&crds);
        Ok(())
    }
}

/// The router of the whole API.
pub fn router(cluster: Arc<Cluster>) -> Router {
    Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::disable())
        .with_state(cluster)
}

/// A JSON response.
pub fn json_response(code: StatusCode, body: &Value) -> Response {
    json_typed(code, body, "application/json")
}

/// A JSON response with a specific media type.
pub fn json_typed(code: StatusCode, body: &Value, content_type: &str) -> Response {
    let mut r = (code, body.to_string()).into_response();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

/// The request as the object handlers see it.
pub struct Ctx {
    /// HTTP method.
    pub method: Method,
    /// Query parameters, in order.
    pub query: Vec<(String, String)>,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
    /// An injected fault: cut this watch stream after so long.
    pub drop_watch: Option<std::time::Duration>,
}

impl Ctx {
    /// A query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A header as a string.
    pub fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Whether `dryRun=All` was requested (in the query or, for deletes, the body).
    pub fn dry_run(&self) -> bool {
        self.query.iter().any(|(k, v)| k == "dryRun" && v == "All")
            || serde_json::from_slice::<Value>(&self.body).is_ok_and(|b| {
                b["dryRun"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == "All"))
            })
    }
}

/// A request for objects: `/api/v1/...` or `/apis/<group>/<version>/...`.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// API group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Plural resource.
    pub resource: String,
    /// Namespace from the URL.
    pub namespace: Option<String>,
    /// Object name.
    pub name: Option<String>,
    /// Subresource.
    pub subresource: Option<String>,
}

fn parse_target(group: &str, version: &str, segs: &[&str]) -> Option<Target> {
    let mut t = Target {
        group: group.to_owned(),
        version: version.to_owned(),
        ..Target::default()
    };
    let rest = if segs.len() >= 3
        && segs[0] == "namespaces"
        && !matches!(segs[2], "status" | "finalize")
    {
        t.namespace = Some(segs[1].to_owned());
        &segs[2..]
    } else {
        segs
    };
    match rest {
        [r] => t.resource = (*r).to_owned(),
        [r, n] => {
            t.resource = (*r).to_owned();
            t.name = Some((*n).to_owned());
        }
        [r, n, s] => {
            t.resource = (*r).to_owned();
            t.name = Some((*n).to_owned());
            t.subresource = Some((*s).to_owned());
        }
        _ => return None,
    }
    Some(t)
}

async fn handle(State(cluster): State<Arc<Cluster>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return ApiError::too_large(MAX_BODY).into_response(),
    };
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(serde_urlencoded_pairs)
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let ctx = Arc::new(Ctx {
        method: parts.method,
        query,
        headers: parts.headers,
        body,
        drop_watch: None,
    });
    match route(&cluster, &path, &ctx).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

fn serde_urlencoded_pairs(q: &str) -> Vec<(String, String)> {
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
        &format!("/?{q}").parse().unwrap_or_default(),
    )
    .map(|axum::extract::Query(v)| v)
    .unwrap_or_default()
}

fn accepts(ctx: &Ctx, media: &str) -> bool {
    ctx.header(header::ACCEPT)
        .split(',')
        .any(|m| m.trim().replace(' ', "") == media)
}

async fn route(cluster: &Arc<Cluster>, path: &str, ctx: &Arc<Ctx>) -> ApiResult<Response> {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let get = ctx.method == Method::GET;
    match segs.as_slice() {
        ["version"] if get => {
            let (major, minor, git) = KUBERNETES_VERSION;
            Ok(json_response(
                StatusCode::OK,
                &json!({
                "major": major, "minor": minor, "gitVersion": git, "gitCommit": "trellis-localcluster",
                "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23.6",
                "compiler": "gc", "platform": "linux/amd64"}),
            ))
        }
        ["healthz" | "readyz" | "livez", ..] if get => Ok((StatusCode::OK, "ok").into_response()),
        ["api"] if get => {
            if let Some(v) = aggregated_media(ctx) {
                let body = discovery::aggregated(&cluster.registry, true, v.1);
                return Ok(json_typed(StatusCode::OK, &body, v.0));
            }
            Ok(json_response(
                StatusCode::OK,
                &discovery::api_versions(&cluster.address),
            ))
        }
        ["apis"] if get => {
            if let Some(v) = aggregated_media(ctx) {
                let body = discovery::aggregated(&cluster.registry, false, v.1);
                return Ok(json_typed(StatusCode::OK, &body, v.0));
            }
            Ok(json_response(
                StatusCode::OK,
                &discovery::api_group_list(&cluster.registry),
            ))
        }
        ["api", "v1"] if get => discovery::resource_list(&cluster.registry, "", "v1")
            .map(|v| json_response(StatusCode::OK, &v))
            .ok_or_else(|| ApiError::no_route(path)),
        ["apis", g] if get => discovery::api_group(&cluster.registry, g)
            .map(|v| json_response(StatusCode::OK, &v))
            .ok_or_else(|| ApiError::no_route(path)),
        ["apis", g, v] if get => discovery::resource_list(&cluster.registry, g, v)
            .map(|v| json_response(StatusCode::OK, &v))
            .ok_or_else(|| ApiError::no_route(path)),
        ["openapi", "v3"] if get => Ok(json_response(
            StatusCode::OK,
            &openapi::root(&cluster.registry),
        )),
        ["openapi", "v3", rest @ ..] if get => {
            openapi::group_version_doc(&cluster.registry, &rest.join("/"))
                .map(|v| json_response(StatusCode::OK, &v))
                .ok_or_else(|| ApiError::no_route(path))
        }
        ["api", "v1", rest @ ..] => {
            let t = parse_target("", "v1", rest).ok_or_else(|| ApiError::no_route(path))?;
            with_faults(cluster, t, ctx).await
        }
        ["apis", g, v, rest @ ..] => {
            let t = parse_target(g, v, rest).ok_or_else(|| ApiError::no_route(path))?;
            with_faults(cluster, t, ctx).await
        }
        _ => Err(ApiError::no_route(path)),
    }
}

/// The Kubernetes verb of an object request.
fn verb_of(ctx: &Ctx, t: &Target) -> &'static str {
    let watching = matches!(ctx.param("watch"), Some("1" | "true"));
    match (&ctx.method, t.name.is_some()) {
        (&Method::GET, false) if watching => "watch",
        (&Method::GET, false) => "list",
        (&Method::GET, true) => "get",
        (&Method::POST, _) => "create",
        (&Method::PUT, _) => "update",
        (&Method::PATCH, _) => "patch",
        (&Method::DELETE, true) => "delete",
        (&Method::DELETE, false) => "deletecollection",
        _ => "",
    }
}

/// Runs an object request from a client, after the faults injected for it.
async fn with_faults(cluster: &Arc<Cluster>, t: Target, ctx: &Arc<Ctx>) -> ApiResult<Response> {
    let verb = verb_of(ctx, &t);
    let verdict = cluster.faults.judge(
        verb,
        &t.resource,
        t.namespace.as_deref().unwrap_or(""),
        t.name.as_deref().unwrap_or(""),
    );
    if !verdict.delay.is_zero() {
        tokio::time::sleep(verdict.delay).await;
    }
    if let Some(e) = verdict.error {
        let pt = (verb == "patch").then(|| objects::patch_kind(ctx.header(header::CONTENT_TYPE)));
        audit(cluster, ctx, &t, verb, pt, e.code);
        let mut r = e.into_response();
        if let Some(secs) = verdict.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Ok(r);
    }
    let ctx = match verdict.drop_watch {
        Some(d) => Arc::new(Ctx {
            method: ctx.method.clone(),
            query: ctx.query.clone(),
            headers: ctx.headers.clone(),
            body: ctx.body.clone(),
            drop_watch: Some(d),
        }),
        None => ctx.clone(),
    };
    objects::dispatch(cluster, t, ctx).await
}

fn aggregated_media(ctx: &Ctx) -> Option<(&'static str, &'static str)> {
    if accepts(ctx, discovery::AGGREGATED_V2) {
        Some((discovery::AGGREGATED_V2, "v2"))
    } else if accepts(ctx, discovery::AGGREGATED_V2BETA1) {
        Some((discovery::AGGREGATED_V2BETA1, "v2beta1"))
    } else {
        None
    }
}

/// Records a request in the audit log.
pub fn audit(
    cluster: &Cluster,
    ctx: &Ctx,
    t: &Target,
    verb: &str,
    patch_type: Option<&str>,
    code: u16,
) {
    cluster.audit.record(AuditEntry {
        seq: 0,
        verb: verb.to_owned(),
        patch_type: patch_type.map(str::to_owned),
        group: t.group.clone(),
        version: t.version.clone(),
        resource: t.resource.clone(),
        subresource: t.subresource.clone(),
        namespace: t.namespace.clone().unwrap_or_default(),
        name: t.name.clone().unwrap_or_default(),
        field_manager: ctx.param("fieldManager").map(str::to_owned),
        dry_run: ctx.dry_run(),
        user_agent: ctx.header(header::USER_AGENT).to_owned(),
        code,
    });
}

/// An empty streaming body placeholder, for responses built elsewhere.
pub fn empty() -> Body {
    Body::empty()
}
