//! The controller's HTTP endpoints: metrics, health and git webhooks.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use tracing::{info, warn};
use trellis_source::normalize_url;

use crate::controller::{Controller, read};
use crate::webhook::{self, WebhookError};

pub(crate) fn router(controller: Controller) -> Router {
    hooks_router(controller).route("/healthz", get(|| async { "ok" }))
}

/// `/metrics` and `/api/webhook` alone, to be merged into another router
/// that has its own health endpoints (the web server's).
pub(crate) fn hooks_router(controller: Controller) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/api/webhook", post(hook))
        .with_state(controller)
}

async fn metrics(State(c): State<Controller>) -> ([(&'static str, &'static str); 1], String) {
    (
        [(
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        c.metrics(),
    )
}

async fn hook(
    State(c): State<Controller>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let ctx = &c.ctx;
    match webhook::parse(ctx.options.webhook_secret.as_deref(), header, &body) {
        Ok(Some(push)) => {
            ctx.metrics.webhook("accepted");
            let queued = c.repositories_changed(&push.urls);
            info!(git_ref = %push.git_ref, queued, "webhook: push");
            (StatusCode::OK, format!("{queued} applications queued\n"))
        }
        Ok(None) => {
            ctx.metrics.webhook("ignored");
            (StatusCode::OK, "ignored\n".into())
        }
        Err(e @ (WebhookError::BadSignature | WebhookError::Disabled)) => {
            ctx.metrics.webhook("refused");
            warn!(error = %e, "webhook refused");
            (StatusCode::UNAUTHORIZED, format!("{e}\n"))
        }
        Err(e) => {
            ctx.metrics.webhook("invalid");
            (StatusCode::BAD_REQUEST, format!("{e}\n"))
        }
    }
}

impl Controller {
    /// Tells the controller that repositories changed (a push): remembered
    /// git resolutions are dropped and every Application using one of the
    /// repositories is reconciled at once. Returns how many were queued.
    pub fn repositories_changed(&self, urls: &[String]) -> usize {
        let ctx = &self.ctx;
        let wanted: Vec<String> = urls.iter().map(|u| normalize_url(u)).collect();
        ctx.renderer().sources().refresh();
        let keys: Vec<crate::AppKey> = read(&ctx.apps)
            .iter()
            .filter(|(_, o)| {
                repo_urls(o)
                    .iter()
                    .any(|u| wanted.contains(&normalize_url(u)))
            })
            .map(|(k, _)| k.clone())
            .collect();
        let count = keys.len();
        // Applications whose inputs changed go first: a commit that touches
        // one service reaches it without waiting behind every other
        // application of the repository, which is refreshed after it.
        let ctx2 = ctx.clone();
        tokio::task::spawn_blocking(move || {
            let renderer = ctx2.renderer();
            let mut later = Vec::new();
            for key in keys {
                if ctx2.inputs_unchanged(&key, &renderer) {
                    later.push(key);
                } else {
                    ctx2.queue.add(key);
                }
            }
            for key in later {
                ctx2.queue.add(key);
            }
        });
        crate::appsets::queue_all(ctx);
        count
    }
}

fn repo_urls(object: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(url) = object
        .pointer("/spec/source/repoURL")
        .and_then(|v| v.as_str())
    {
        out.push(url.to_string());
    }
    if let Some(sources) = object.pointer("/spec/sources").and_then(|v| v.as_array()) {
        out.extend(
            sources
                .iter()
                .filter_map(|s| s.get("repoURL").and_then(|v| v.as_str()))
                .map(str::to_string),
        );
    }
    out
}
