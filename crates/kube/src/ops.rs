//! Writes and reads of single objects: server-side apply (and its dry run),
//! replace, get, delete.
//!
//! Every request here is idempotent, so transient failures (429, 5xx, a
//! dropped connection) are retried with exponential backoff; kube-rs already
//! retries 429/503/504 once the request is built, this adds 500/502 and
//! transport errors.

use std::future::Future;
use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::Value;
use trellis_model::ResourceKey;

use crate::FIELD_MANAGER;
use crate::connect::Cluster;
use crate::discovery::ResourceInfo;
use crate::error::{Error, Result};

/// How to apply an object.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Field manager; `trellis` by default.
    pub field_manager: String,
    /// Take ownership of fields another manager owns instead of failing
    /// with a conflict.
    pub force: bool,
    /// Ask the server what it would store, storing nothing.
    pub dry_run: bool,
    /// Reject unknown fields (`fieldValidation=Strict`); `Validate=false`
    /// turns this off.
    pub validate: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            field_manager: FIELD_MANAGER.to_string(),
            force: false,
            dry_run: false,
            validate: true,
        }
    }
}

/// What happens to an object's dependents when it is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Propagation {
    /// Dependents are deleted in the background (the default).
    #[default]
    Background,
    /// The object stays until its dependents are deleted.
    Foreground,
    /// Dependents are left behind.
    Orphan,
}

/// The result of a delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// The server accepted the delete.
    Deleted,
    /// There was nothing to delete.
    NotFound,
}

/// Retries at most this many times.
const ATTEMPTS: u32 = 6;

/// Runs `op` until it succeeds, fails permanently, or attempts run out.
pub(crate) async fn retry<T, F, Fut>(mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut delay = Duration::from_millis(25);
    let mut attempt = 1;
    loop {
        match op().await {
            Err(e) if e.is_transient() && attempt < ATTEMPTS => {
                tracing::debug!(attempt, error = %e, "transient cluster error, retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(1));
                attempt += 1;
            }
            other => return other,
        }
    }
}

fn describe(kind: &str, namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        format!("{kind} {name}")
    } else {
        format!("{kind} {namespace}/{name}")
    }
}

fn to_value(object: DynamicObject, verb: &'static str, what: &str) -> Result<Value> {
    serde_json::to_value(object)
        .map_err(|e| Error::InvalidObject(format!("{verb} {what}: unreadable answer: {e}")))
}

impl Cluster {
    fn api(&self, info: &ResourceInfo, namespace: &str) -> Api<DynamicObject> {
        if info.namespaced {
            Api::namespaced_with(self.client().clone(), namespace, &info.api_resource)
        } else {
            Api::all_with(self.client().clone(), &info.api_resource)
        }
    }

    /// The namespace a namespaced object goes to: its own, else the
    /// context's default.
    fn namespace_for<'a>(&'a self, info: &ResourceInfo, namespace: &'a str) -> &'a str {
        if !info.namespaced {
            ""
        } else if namespace.is_empty() {
            self.default_namespace()
        } else {
            namespace
        }
    }

    /// Resolves the kind of a manifest object and returns it with its
    /// namespace and name.
    async fn locate(&self, object: &Value) -> Result<(ResourceInfo, String, String)> {
        let field = |path: &[&str]| {
            let mut v = object;
            for p in path {
                v = v.get(p)?;
            }
            v.as_str().map(str::to_string)
        };
        let api_version = field(&["apiVersion"])
            .ok_or_else(|| Error::InvalidObject("missing apiVersion".into()))?;
        let kind = field(&["kind"]).ok_or_else(|| Error::InvalidObject("missing kind".into()))?;
        let name = field(&["metadata", "name"])
            .filter(|n| !n.is_empty())
            .ok_or_else(|| Error::InvalidObject(format!("{kind} without metadata.name")))?;
        let info = self.discovery().resolve(&api_version, &kind).await?;
        let namespace = field(&["metadata", "namespace"]).unwrap_or_default();
        let namespace = self.namespace_for(&info, &namespace).to_string();
        Ok((info, namespace, name))
    }

    /// Server-side applies an object (or dry-runs the apply) and returns what
    /// the server stored (or would store).
    pub async fn apply(&self, object: &Value, options: &ApplyOptions) -> Result<Value> {
        let (info, namespace, name) = self.locate(object).await?;
        let what = describe(&info.api_resource.kind, &namespace, &name);
        let mut params = PatchParams::apply(&options.field_manager);
        params.force = options.force;
        params.dry_run = options.dry_run;
        // As kubectl: unknown or duplicate fields fail the apply unless the
        // application opts out with `Validate=false`.
        params = if options.validate {
            params.validation_strict()
        } else {
            params.validation_ignore()
        };
        let mut body = object.clone();
        if info.namespaced
            && let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut)
        {
            meta.insert("namespace".into(), Value::String(namespace.clone()));
        }
        let api = self.api(&info, &namespace);
        let verb = if options.dry_run {
            "dry-run apply"
        } else {
            "apply"
        };
        let stored = retry(|| async {
            api.patch(&name, &params, &Patch::Apply(&body))
                .await
                .map_err(|e| Error::from_kube(verb, what.clone(), e))
        })
        .await?;
        to_value(stored, verb, &what)
    }

    /// Replaces an object wholesale (PUT), creating it when absent: the
    /// `Replace=true` sync option.
    pub async fn replace(&self, object: &Value, options: &ApplyOptions) -> Result<Value> {
        let (info, namespace, name) = self.locate(object).await?;
        let what = describe(&info.api_resource.kind, &namespace, &name);
        let api = self.api(&info, &namespace);
        let params = PostParams {
            dry_run: options.dry_run,
            field_manager: Some(options.field_manager.clone()),
        };
        let mut body: DynamicObject = serde_json::from_value(object.clone())
            .map_err(|e| Error::InvalidObject(format!("{what}: {e}")))?;
        body.metadata.namespace = info.namespaced.then(|| namespace.clone());
        let stored = retry(|| async {
            let current = api
                .get_opt(&name)
                .await
                .map_err(|e| Error::from_kube("get", what.clone(), e))?;
            let result = match current {
                Some(live) => {
                    let mut body = body.clone();
                    body.metadata.resource_version = live.metadata.resource_version;
                    api.replace(&name, &params, &body).await
                }
                None => api.create(&params, &body).await,
            };
            result.map_err(|e| Error::from_kube("replace", what.clone(), e))
        })
        .await?;
        to_value(stored, "replace", &what)
    }

    /// Reads one object by resource key; `None` when it does not exist (or
    /// its kind is no longer served).
    pub async fn get(&self, key: &ResourceKey) -> Result<Option<Value>> {
        let Some(info) = self
            .discovery()
            .cached_group_kind(&key.group, &key.kind)
            .await?
        else {
            return Ok(None);
        };
        let namespace = self.namespace_for(&info, &key.namespace).to_string();
        let what = describe(&key.kind, &namespace, &key.name);
        let api = self.api(&info, &namespace);
        let found = retry(|| async {
            api.get_opt(&key.name)
                .await
                .map_err(|e| Error::from_kube("get", what.clone(), e))
        })
        .await?;
        found.map(|o| to_value(o, "get", &what)).transpose()
    }

    /// Deletes one object with a propagation policy. A kind the server no
    /// longer serves has nothing left to delete.
    pub async fn delete(
        &self,
        key: &ResourceKey,
        propagation: Propagation,
    ) -> Result<DeleteOutcome> {
        let Some(info) = self
            .discovery()
            .cached_group_kind(&key.group, &key.kind)
            .await?
        else {
            return Ok(DeleteOutcome::NotFound);
        };
        let namespace = self.namespace_for(&info, &key.namespace).to_string();
        let what = describe(&key.kind, &namespace, &key.name);
        let api = self.api(&info, &namespace);
        let params = match propagation {
            Propagation::Background => DeleteParams::background(),
            Propagation::Foreground => DeleteParams::foreground(),
            Propagation::Orphan => DeleteParams::orphan(),
        };
        retry(|| async {
            match api.delete(&key.name, &params).await {
                Ok(_) => Ok(DeleteOutcome::Deleted),
                Err(kube::Error::Api(s)) if s.code == 404 => Ok(DeleteOutcome::NotFound),
                Err(e) => Err(Error::from_kube("delete", what.clone(), e)),
            }
        })
        .await
    }

    /// Applies a JSON merge patch to one object, or to its `status`
    /// subresource when `status` is set; `None` when the object does not
    /// exist. Merge patches need no resourceVersion, so they suit a writer
    /// that owns the fields it patches (a controller writing status).
    pub async fn merge_patch(
        &self,
        key: &ResourceKey,
        patch: &Value,
        status: bool,
    ) -> Result<Option<Value>> {
        let info = self
            .discovery()
            .resolve_group_kind(&key.group, &key.kind)
            .await?;
        let namespace = self.namespace_for(&info, &key.namespace).to_string();
        let what = describe(&key.kind, &namespace, &key.name);
        let api = self.api(&info, &namespace);
        let params = PatchParams::default();
        let found = retry(|| async {
            let result = if status {
                api.patch_status(&key.name, &params, &Patch::Merge(patch))
                    .await
            } else {
                api.patch(&key.name, &params, &Patch::Merge(patch)).await
            };
            match result {
                Ok(o) => Ok(Some(o)),
                Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
                Err(e) => Err(Error::from_kube("patch", what.clone(), e)),
            }
        })
        .await?;
        found.map(|o| to_value(o, "patch", &what)).transpose()
    }

    /// Lists the objects of a kind in a namespace (every namespace when
    /// empty), optionally filtered by a label selector. A kind the server
    /// does not serve has no objects.
    pub async fn list(
        &self,
        group: &str,
        kind: &str,
        namespace: &str,
        label_selector: Option<&str>,
    ) -> Result<Vec<Value>> {
        let Some(info) = self.discovery().cached_group_kind(group, kind).await? else {
            return Ok(Vec::new());
        };
        let api: Api<DynamicObject> = if info.namespaced && !namespace.is_empty() {
            Api::namespaced_with(self.client().clone(), namespace, &info.api_resource)
        } else {
            Api::all_with(self.client().clone(), &info.api_resource)
        };
        let what = describe(kind, namespace, "*");
        let mut params = kube::api::ListParams::default();
        if let Some(selector) = label_selector {
            params = params.labels(selector);
        }
        let list = retry(|| async {
            api.list(&params)
                .await
                .map_err(|e| Error::from_kube("list", what.clone(), e))
        })
        .await?;
        // List items may come without their type; callers get whole objects.
        list.items
            .into_iter()
            .map(|mut o| {
                if o.types.is_none() {
                    o.types = Some(kube::api::TypeMeta {
                        api_version: info.api_resource.api_version.clone(),
                        kind: info.api_resource.kind.clone(),
                    });
                }
                to_value(o, "list", &what)
            })
            .collect()
    }
}
