//! The in-process client of the simulated controllers: every write goes through the same
//! request handling as a client's (validation, defaults, managedFields, resourceVersions, watch
//! events, the audit log), marked by a controller user agent.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use serde_json::Value;

use crate::api::status::{ApiError, ApiResult};
use crate::api::{Cluster, Ctx, Target};
use crate::store::Key;

/// Marks the user agent of every request the cluster makes to itself.
pub const INTERNAL_AGENT: &str = "trellis-localcluster";

/// Who is writing: the user agent's product (which becomes the field manager, as for the real
/// components) and the controller's name.
#[derive(Debug, Clone, Copy)]
pub struct Agent {
    /// Product, e.g. `kube-controller-manager` or `kubelet`.
    pub product: &'static str,
    /// Controller, e.g. `deployment-controller`.
    pub controller: &'static str,
}

impl Agent {
    fn header(&self) -> String {
        let (_, _, v) = crate::api::KUBERNETES_VERSION;
        format!(
            "{}/{v} (linux/amd64) {INTERNAL_AGENT}/{}",
            self.product, self.controller
        )
    }
}

/// One write or read against the cluster's own API.
pub struct Client {
    cluster: Arc<Cluster>,
}

fn target_of(cluster: &Cluster, key: &Key, sub: Option<&str>) -> ApiResult<Target> {
    let def = cluster
        .registry
        .all()
        .into_iter()
        .find(|d| d.group == key.group && d.plural == key.resource)
        .ok_or_else(|| ApiError::no_route(&key.resource))?;
    Ok(Target {
        group: key.group.clone(),
        version: def.version.clone(),
        resource: key.resource.clone(),
        namespace: (!key.namespace.is_empty()).then(|| key.namespace.clone()),
        name: (!key.name.is_empty()).then(|| key.name.clone()),
        subresource: sub.map(str::to_owned),
    })
}

impl Client {
    /// A client of `cluster`.
    pub fn new(cluster: Arc<Cluster>) -> Client {
        Client { cluster }
    }

    /// The cluster.
    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }

    async fn call(
        &self,
        agent: Agent,
        method: Method,
        t: Target,
        query: Vec<(String, String)>,
        body: Option<(&str, &Value)>,
    ) -> ApiResult<Value> {
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&agent.header()) {
            headers.insert(header::USER_AGENT, v);
        }
        let body = match body {
            Some((ct, v)) => {
                if let Ok(c) = HeaderValue::from_str(ct) {
                    headers.insert(header::CONTENT_TYPE, c);
                }
                Bytes::from(v.to_string())
            }
            None => Bytes::new(),
        };
        let ctx = Arc::new(Ctx {
            method,
            query,
            headers,
            body,
            drop_watch: None,
        });
        let resp = crate::api::objects::dispatch(&self.cluster, t, ctx).await?;
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .map_err(|e| ApiError::internal(format!("reading an internal response: {e}")))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::internal(format!("decoding an internal response: {e}")))
    }

    /// Creates `obj` in the collection of `key` (whose name is ignored).
    pub async fn create(&self, agent: Agent, key: &Key, obj: &Value) -> ApiResult<Value> {
        let mut k = key.clone();
        k.name.clear();
        let t = target_of(&self.cluster, &k, None)?;
        self.call(
            agent,
            Method::POST,
            t,
            Vec::new(),
            Some(("application/json", obj)),
        )
        .await
    }

    /// Replaces the object (with its resourceVersion as precondition); `status` writes the
    /// status subresource.
    pub async fn update(
        &self,
        agent: Agent,
        key: &Key,
        obj: &Value,
        status: bool,
    ) -> ApiResult<Value> {
        let t = target_of(&self.cluster, key, status.then_some("status"))?;
        self.call(
            agent,
            Method::PUT,
            t,
            Vec::new(),
            Some(("application/json", obj)),
        )
        .await
    }

    /// Applies a JSON merge patch.
    pub async fn merge_patch(&self, agent: Agent, key: &Key, patch: &Value) -> ApiResult<Value> {
        let t = target_of(&self.cluster, key, None)?;
        self.call(
            agent,
            Method::PATCH,
            t,
            Vec::new(),
            Some(("application/merge-patch+json", patch)),
        )
        .await
    }

    /// Deletes with a propagation policy (`Background`, `Foreground`, `Orphan`).
    pub async fn delete(&self, agent: Agent, key: &Key, propagation: &str) -> ApiResult<Value> {
        let t = target_of(&self.cluster, key, None)?;
        let opts = serde_json::json!({"kind": "DeleteOptions", "apiVersion": "v1",
            "propagationPolicy": propagation});
        self.call(
            agent,
            Method::DELETE,
            t,
            Vec::new(),
            Some(("application/json", &opts)),
        )
        .await
    }

    /// Deletes every object of a resource in a namespace.
    pub async fn delete_collection(&self, agent: Agent, key: &Key) -> ApiResult<Value> {
        let mut k = key.clone();
        k.name.clear();
        let t = target_of(&self.cluster, &k, None)?;
        let opts = serde_json::json!({"kind": "DeleteOptions", "apiVersion": "v1",
            "propagationPolicy": "Background"});
        self.call(
            agent,
            Method::DELETE,
            t,
            Vec::new(),
            Some(("application/json", &opts)),
        )
        .await
    }
}
