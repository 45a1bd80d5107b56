//! An application's resources: the tree (managed resources and what they
//! own), one resource's live and desired manifests and diff, and the diff
//! of all.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use trellis_engine::compare::{Comparison, ResourceComparison};
use trellis_model::{Application, Origin, ResourceKey};

use super::{AppPath, Params, authorized_app, reply, scrub};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::policy::Action;
use crate::server::State;
use crate::summary::AppEntry;

/// An API group and kind.
type GroupKindName = (&'static str, &'static str);

/// The kinds a kind's controller creates, found through owner references:
/// what a tree shows under a managed resource.
const CHILDREN: &[(GroupKindName, &[GroupKindName])] = &[
    (("apps", "Deployment"), &[("apps", "ReplicaSet")]),
    (("apps", "ReplicaSet"), &[("", "Pod")]),
    (("apps", "StatefulSet"), &[("", "Pod")]),
    (("apps", "DaemonSet"), &[("", "Pod")]),
    (("batch", "CronJob"), &[("batch", "Job")]),
    (("batch", "Job"), &[("", "Pod")]),
    (("", "ReplicationController"), &[("", "Pod")]),
    (("", "Service"), &[("discovery.k8s.io", "EndpointSlice")]),
];

/// How deep and how wide a tree may grow.
const MAX_DEPTH: usize = 4;
const MAX_NODES: usize = 5000;

/// One node of a resource tree.
struct Node {
    key: ResourceKey,
    version: String,
    live: Option<Arc<Value>>,
    parent: Option<ResourceKey>,
    /// The managed resource's status entry (roots only).
    status: Option<Value>,
}

fn str_at<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The managed resources of an application, from its status.
fn managed(entry: &AppEntry) -> Vec<(ResourceKey, String, Value)> {
    entry
        .object
        .pointer("/status/resources")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|r| {
                    let key = ResourceKey {
                        group: str_at(r, "/group").to_string(),
                        kind: str_at(r, "/kind").to_string(),
                        namespace: str_at(r, "/namespace").to_string(),
                        name: str_at(r, "/name").to_string(),
                    };
                    (!key.kind.is_empty() && !key.name.is_empty())
                        .then(|| (key, str_at(r, "/version").to_string(), r.clone()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Builds the tree: managed resources, then what they own, level by level.
async fn build_tree(state: &State, entry: &AppEntry) -> Result<Vec<Node>, ApiError> {
    let destination = state.destination(entry)?;
    let cluster = destination.engine.cluster();
    let mut nodes: Vec<Node> = Vec::new();
    let mut queue: VecDeque<(usize, usize)> = VecDeque::new();
    for (key, version, status) in managed(entry) {
        let live = cluster
            .get(&key)
            .await
            .map_err(ApiError::from_kube)?
            .map(Arc::new);
        queue.push_back((nodes.len(), 0));
        nodes.push(Node {
            key,
            version,
            live,
            parent: None,
            status: Some(status),
        });
    }
    // Listings of a kind in a namespace, shared by every parent there.
    let mut listings: HashMap<(String, String, String), Arc<Vec<Value>>> = HashMap::new();
    let mut seen: HashSet<String> = HashSet::new();
    while let Some((index, depth)) = queue.pop_front() {
        if depth >= MAX_DEPTH || nodes.len() >= MAX_NODES {
            continue;
        }
        let (parent_key, uid) = {
            let node = &nodes[index];
            let Some(live) = &node.live else { continue };
            (node.key.clone(), str_at(live, "/metadata/uid").to_string())
        };
        if uid.is_empty() || !seen.insert(uid.clone()) {
            continue;
        }
        let Some((_, kinds)) = CHILDREN
            .iter()
            .find(|((g, k), _)| *g == parent_key.group && *k == parent_key.kind)
        else {
            continue;
        };
        for (group, kind) in kinds.iter() {
            let id = (
                group.to_string(),
                kind.to_string(),
                parent_key.namespace.clone(),
            );
            let listed = match listings.get(&id) {
                Some(l) => l.clone(),
                None => {
                    let l = Arc::new(
                        cluster
                            .list(group, kind, &parent_key.namespace, None)
                            .await
                            .map_err(ApiError::from_kube)?,
                    );
                    listings.insert(id, l.clone());
                    l
                }
            };
            for child in listed.iter().filter(|c| owned_by(c, &uid)) {
                if nodes.len() >= MAX_NODES {
                    break;
                }
                let Ok(key) = ResourceKey::from_object(child) else {
                    continue;
                };
                let version =
                    trellis_kube::discovery::split_api_version(str_at(child, "/apiVersion"))
                        .1
                        .to_string();
                queue.push_back((nodes.len(), depth + 1));
                nodes.push(Node {
                    key,
                    version,
                    live: Some(Arc::new(child.clone())),
                    parent: Some(parent_key.clone()),
                    status: None,
                });
            }
        }
    }
    Ok(nodes)
}

fn owned_by(object: &Value, uid: &str) -> bool {
    object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| refs.iter().any(|r| str_at(r, "/uid") == uid))
}

fn key_json(key: &ResourceKey) -> Value {
    json!({"group": key.group, "kind": key.kind, "namespace": key.namespace, "name": key.name})
}

fn node_json(node: &Node) -> Value {
    let health = trellis_engine::health::assess(node.live.as_deref());
    let live = node.live.as_deref();
    let images: Vec<Value> = live
        .and_then(|o| {
            o.pointer("/spec/containers")
                .or_else(|| o.pointer("/spec/template/spec/containers"))
        })
        .and_then(Value::as_array)
        .map(|c| c.iter().filter_map(|c| c.get("image").cloned()).collect())
        .unwrap_or_default();
    let mut out = key_json(&node.key);
    out["version"] = json!(node.version);
    out["uid"] = json!(live.map(|o| str_at(o, "/metadata/uid")));
    out["createdAt"] = json!(live.and_then(|o| o.pointer("/metadata/creationTimestamp")));
    out["health"] = json!({"status": health.status, "message": health.message});
    out["parent"] = node.parent.as_ref().map(key_json).unwrap_or(Value::Null);
    out["managed"] = json!(node.status.is_some());
    out["status"] = node
        .status
        .as_ref()
        .and_then(|s| s.get("status").cloned())
        .unwrap_or(Value::Null);
    out["images"] = json!(images);
    out
}

/// `GET .../tree`: managed resources and, under them, what they own
/// (Deployments show ReplicaSets, and those their Pods).
pub(crate) async fn tree(
    caller: Caller,
    AxState(state): AxState<Arc<State>>,
    path: AppPath,
    params: Params,
) -> Result<Response, ApiError> {
    let entry = authorized_app(&state, &caller, &path, &params, Action::Get)?;
    let nodes = build_tree(&state, &entry).await?;
    let list: Vec<Value> = nodes.iter().map(node_json).collect();
    Ok(reply(StatusCode::OK, json!({"nodes": list})))
}

/// Renders an application and compares it with its destination cluster,
/// as the controller does.
async fn compare(state: &State, entry: &AppEntry) -> Result<Comparison, ApiError> {
    let origin = Origin {
        file: entry.key.to_string(),
        document: 1,
        line: 1,
    };
    let app = Application::from_value(&entry.object, &origin)
        .map_err(|e| ApiError::Conflict(format!("the stored application is invalid: {e}")))?
        .value;
    let app = at_compared_revisions(app, &entry.object);
    let destination = state.destination(entry)?;
    let capabilities = state.capabilities_of(&destination).await;
    let renderer = state.destinations.renderer();
    let app2 = app.clone();
    let rendered = tokio::task::spawn_blocking(move || {
        renderer
            .render_for(&app2, &capabilities)
            .map(|r| r.manifests)
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| ApiError::Internal(format!("render: {e}")))?;
    let input = match &rendered {
        Ok(m) => Ok(m.as_slice()),
        Err(e) => Err(e.as_str()),
    };
    destination
        .engine
        .compare(&app, input)
        .await
        .map_err(|e| ApiError::BadGateway(format!("compare application {}: {e}", entry.key)))
}

/// The application with each source pinned to the commit the controller
/// last compared it at (`status.sync.revision(s)`), so a diff shows what the
/// application's status says — the same commit — and never a branch head
/// this server resolved once and kept. A source whose repository changed
/// since that comparison keeps its target revision.
fn at_compared_revisions(mut app: Application, object: &Value) -> Application {
    let is_commit = |r: &str| r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit());
    let sync = object.pointer("/status/sync");
    let compared_repo = |i: Option<usize>| -> Option<String> {
        let source = match i {
            None => sync?.pointer("/comparedTo/source")?,
            Some(i) => sync?.pointer("/comparedTo/sources")?.get(i)?,
        };
        source.get("repoURL")?.as_str().map(str::to_string)
    };
    if app.spec.has_multiple_sources() {
        let revisions = sync
            .and_then(|s| s.get("revisions"))
            .and_then(Value::as_array);
        for (i, source) in app.spec.sources.iter_mut().enumerate() {
            if let Some(r) = revisions
                .and_then(|r| r.get(i))
                .and_then(Value::as_str)
                .filter(|r| is_commit(r))
                && compared_repo(Some(i)).as_deref() == Some(source.repo_url.as_str())
            {
                source.target_revision = Some(r.to_string());
            }
        }
    } else if let Some(r) = sync
        .and_then(|s| s.get("revision"))
        .and_then(Value::as_str)
        .filter(|r| is_commit(r))
        && let Some(source) = app.spec.source.as_mut()
        && compared_repo(None).as_deref() == Some(source.repo_url.as_str())
    {
        source.target_revision = Some(r.to_string());
    }
    app
}

fn comparison_json(r: &ResourceComparison) -> Value {
    let mut out = key_json(&r.key);
    out["status"] = json!(r.status);
    out["health"] = json!({"status": r.health.status, "message": r.health.message});
    out["message"] = json!(r.message);
    out["diff"] = json!(r.diff);
    out
}

/// `GET .../diff`: every resource's comparison and diff (Secret values
/// masked).
pub(crate) async fn diff(
    caller: Caller,
    AxState(state): AxState<Arc<State>>,
    path: AppPath,
    params: Params,
) -> Result<Response, ApiError> {
    let entry = authorized_app(&state, &caller, &path, &params, Action::Get)?;
    let comparison = compare(&state, &entry).await?;
    let resources: Vec<Value> = comparison.resources.iter().map(comparison_json).collect();
    Ok(reply(
        StatusCode::OK,
        json!({
            "sync": comparison.sync,
            "health": {"status": comparison.health.status, "message": comparison.health.message},
            "renderError": comparison.render_error,
            "resources": resources,
        }),
    ))
}

/// The resource a query names.
fn queried(params: &Params) -> Result<ResourceKey, ApiError> {
    let key = ResourceKey {
        group: params.get("resourceGroup").unwrap_or_default().to_string(),
        kind: params.get("resourceKind").unwrap_or_default().to_string(),
        namespace: params
            .get("resourceNamespace")
            .unwrap_or_default()
            .to_string(),
        name: params.get("resourceName").unwrap_or_default().to_string(),
    };
    if key.kind.is_empty() || key.name.is_empty() {
        return Err(ApiError::BadRequest(
            "query parameters resourceKind and resourceName are required (resourceGroup and resourceNamespace when the resource has them)".into(),
        ));
    }
    Ok(key)
}

/// `GET .../resource?resourceGroup=&resourceKind=&resourceNamespace=&resourceName=`: one
/// resource of the application's tree with its live and desired manifests
/// and diff; Secret values are masked.
pub(crate) async fn resource(
    caller: Caller,
    AxState(state): AxState<Arc<State>>,
    path: AppPath,
    params: Params,
) -> Result<Response, ApiError> {
    let entry = authorized_app(&state, &caller, &path, &params, Action::Get)?;
    let key = queried(&params)?;
    let yaml = params.yaml()?;
    let is_managed = managed(&entry).iter().any(|(k, _, _)| *k == key);
    if is_managed {
        let comparison = compare(&state, &entry).await?;
        if let Some(r) = comparison.resources.iter().find(|r| r.key == key) {
            let mut out = comparison_json(r);
            out["live"] = r.live.as_deref().map(scrub).unwrap_or(Value::Null);
            out["desired"] = r.desired.as_ref().map(scrub).unwrap_or(Value::Null);
            out["managed"] = json!(true);
            return Ok(reply(StatusCode::OK, with_yaml(out, yaml)));
        }
    }
    let nodes = build_tree(&state, &entry).await?;
    let node = nodes.iter().find(|n| n.key == key).ok_or_else(|| {
        ApiError::NotFound(format!(
            "{} {} is not a resource of application {}",
            key.kind,
            if key.namespace.is_empty() {
                key.name.clone()
            } else {
                format!("{}/{}", key.namespace, key.name)
            },
            entry.key
        ))
    })?;
    let mut out = node_json(node);
    out["live"] = node.live.as_deref().map(scrub).unwrap_or(Value::Null);
    out["desired"] = Value::Null;
    out["diff"] = json!("");
    Ok(reply(StatusCode::OK, with_yaml(out, yaml)))
}

/// Adds `liveYaml` and `desiredYaml`, the (already scrubbed) manifests as
/// YAML text, when asked for: a reader sees the notation the manifests were
/// written in, and the UI needs no YAML writer of its own.
fn with_yaml(mut out: Value, yaml: bool) -> Value {
    if yaml {
        for (from, to) in [("live", "liveYaml"), ("desired", "desiredYaml")] {
            let text = match out.get(from) {
                Some(Value::Null) | None => Value::Null,
                Some(object) => Value::String(trellis_model::to_yaml(object)),
            };
            out[to] = text;
        }
    }
    out
}
