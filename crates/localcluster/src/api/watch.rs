//! Watch streams: newline-delimited JSON events from a resourceVersion, with bookmarks and a
//! 410 `ERROR` event when the version is older than the retained history.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use super::selector::{FieldSelector, LabelSelector};
use super::status::{ApiError, ApiResult};
use super::{Cluster, Ctx, Target};
use crate::registry::ResourceDef;
use crate::store::{Event, Subscription};

/// How often a bookmark is sent to a watch that asked for them.
const BOOKMARK_EVERY: Duration = Duration::from_millis(500);
/// How long a watch lasts without `timeoutSeconds`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

struct Filter {
    group: String,
    resource: String,
    namespace: Option<String>,
    name: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn matches(&self, e: &Event) -> bool {
        e.key.group == self.group
            && e.key.resource == self.resource
            && self
                .namespace
                .as_ref()
                .is_none_or(|n| *n == e.key.namespace)
            && self.name.as_ref().is_none_or(|n| *n == e.key.name)
            && self.labels.matches(&e.object)
            && self.fields.matches(&e.object)
    }
}

struct WatchState {
    def: Arc<ResourceDef>,
    filter: Filter,
    queue: VecDeque<Value>,
    live: Option<tokio::sync::broadcast::Receiver<Arc<Event>>>,
    deadline: Instant,
    bookmarks: bool,
    next_bookmark: Instant,
    last_rv: u64,
    shutdown: tokio::sync::watch::Receiver<bool>,
    table: bool,
    cluster: Arc<Cluster>,
    /// Changes when a test cuts every open watch.
    drops: tokio::sync::watch::Receiver<u64>,
    /// When an injected fault cuts this stream.
    cut_at: Option<Instant>,
    /// The stream has been cut.
    cut: bool,
}

fn event_json(def: &ResourceDef, kind: &str, mut obj: Value, table: bool) -> Value {
    if let Some(m) = obj.as_object_mut() {
        m.insert("apiVersion".into(), json!(def.api_version()));
        m.insert("kind".into(), json!(def.kind));
    }
    if table {
        let rv = obj["metadata"]["resourceVersion"].clone();
        obj = super::table::table_rows_only(def, &[obj], &rv);
    }
    json!({"type": kind, "object": obj})
}

fn bookmark(def: &ResourceDef, rv: u64, initial_end: bool) -> Value {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    json!({"type": "BOOKMARK", "object": {"kind": def.kind, "apiVersion": def.api_version(), "metadata": meta}})
}

fn line(v: &Value) -> Bytes {
    let mut s = v.to_string();
    s.push('\n');
    Bytes::from(s)
}

/// Starts a watch.
pub fn watch(
    cluster: &Arc<Cluster>,
    def: &Arc<ResourceDef>,
    t: &Target,
    ctx: &Ctx,
) -> ApiResult<Response> {
    let filter = Filter {
        group: def.group.clone(),
        resource: def.plural.clone(),
        namespace: if def.namespaced {
            t.namespace.clone()
        } else {
            None
        },
        name: ctx.param("fieldSelector").and_then(|f| {
            f.split(',')
                .find_map(|p| p.strip_prefix("metadata.name=").map(str::to_owned))
        }),
        labels: LabelSelector::parse(ctx.param("labelSelector").unwrap_or(""))?,
        fields: FieldSelector::parse(ctx.param("fieldSelector").unwrap_or(""))?,
    };
    let table = super::table::wants_table(ctx);
    let timeout = ctx
        .param("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TIMEOUT);
    let bookmarks = matches!(ctx.param("allowWatchBookmarks"), Some("true" | "1"));
    let rv_param = ctx.param("resourceVersion").unwrap_or("");
    let send_initial = matches!(ctx.param("sendInitialEvents"), Some("true" | "1"));
    let mut queue = VecDeque::new();
    let (live, last_rv) = if rv_param.is_empty() || rv_param == "0" || send_initial {
        // Current state first, then changes after it.
        let mut list_ctx_q: Vec<(String, String)> = ctx
            .query
            .iter()
            .filter(|(k, _)| k == "labelSelector" || k == "fieldSelector")
            .cloned()
            .collect();
        list_ctx_q.push(("limit".into(), "0".into()));
        let ns = filter.namespace.as_deref();
        let (items, rv) = cluster.store.list(&def.group, &def.plural, ns, None)?;
        let Subscription { backlog, live } = cluster.store.subscribe(rv)?;
        for o in items {
            let matches = filter.labels.matches(&o)
                && filter.fields.matches(&o)
                && filter
                    .name
                    .as_deref()
                    .is_none_or(|n| crate::util::meta_str(&o, "name") == Some(n));
            if matches {
                queue.push_back(event_json(def, "ADDED", o, table));
            }
        }
        if send_initial && bookmarks {
            queue.push_back(bookmark(def, rv, true));
        }
        for e in backlog.iter().filter(|e| filter.matches(e)) {
            queue.push_back(event_json(def, e.kind.as_str(), (*e.object).clone(), table));
        }
        (Some(live), backlog.last().map(|e| e.rv).unwrap_or(rv))
    } else {
        let from: u64 = rv_param
            .parse()
            .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {rv_param:?}")))?;
        match cluster.store.subscribe(from) {
            Ok(Subscription { backlog, live }) => {
                for e in backlog.iter().filter(|e| filter.matches(e)) {
                    queue.push_back(event_json(def, e.kind.as_str(), (*e.object).clone(), table));
                }
                (Some(live), backlog.last().map(|e| e.rv).unwrap_or(from))
            }
            Err(e) if e.code == 410 => {
                // Like the real server: the stream opens and carries one ERROR event.
                queue.push_back(json!({"type": "ERROR", "object": e.to_status()}));
                (None, from)
            }
            Err(e) => return Err(e),
        }
    };
    let now = Instant::now();
    let state = WatchState {
        def: def.clone(),
        filter,
        queue,
        live,
        deadline: now + timeout,
        bookmarks,
        next_bookmark: now + BOOKMARK_EVERY,
        last_rv,
        shutdown: cluster.shutdown.clone(),
        table,
        cluster: cluster.clone(),
        drops: cluster.faults.drop_signal(),
        cut_at: ctx.drop_watch.map(|d| now + d),
        cut: false,
    };
    let stream = futures_util::stream::unfold(state, next_chunk);
    let mut resp = (StatusCode::OK, Body::from_stream(stream)).into_response();
    let ct = if table {
        "application/json;as=Table;v=v1;g=meta.k8s.io"
    } else {
        "application/json"
    };
    if let Ok(v) = ct.parse() {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    Ok(resp)
}

fn cut(mut s: WatchState) -> Option<(Result<Bytes, std::io::Error>, WatchState)> {
    // An error ends the response body mid-stream: the client sees a broken connection.
    s.cut = true;
    Some((
        Err(std::io::Error::other(
            "watch stream cut by an injected fault",
        )),
        s,
    ))
}

async fn next_chunk(mut s: WatchState) -> Option<(Result<Bytes, std::io::Error>, WatchState)> {
    if s.cut {
        return None;
    }
    loop {
        if s.cut_at.is_some_and(|at| Instant::now() >= at) {
            return cut(s);
        }
        if let Some(v) = s.queue.pop_front() {
            return Some((Ok(line(&v)), s));
        }
        if *s.shutdown.borrow() {
            return None;
        }
        let live = s.live.as_mut()?;
        let mut bookmark_at = if s.bookmarks {
            s.next_bookmark
        } else {
            s.deadline
        };
        if let Some(at) = s.cut_at {
            bookmark_at = bookmark_at.min(at);
        }
        tokio::select! {
            r = live.recv() => match r {
                Ok(e) => {
                    s.last_rv = s.last_rv.max(e.rv);
                    if s.filter.matches(&e) {
                        s.queue.push_back(event_json(&s.def, e.kind.as_str(), (*e.object).clone(), s.table));
                    }
                }
                // A watcher that fell behind the broadcast buffer is closed; clients rewatch.
                Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => return None,
            },
            _ = s.drops.changed() => return cut(s),
            _ = tokio::time::sleep_until(bookmark_at) => {
                if s.cut_at.is_some_and(|at| Instant::now() >= at) {
                    return cut(s);
                }
                if Instant::now() >= s.deadline {
                    return None;
                }
                s.next_bookmark = Instant::now() + BOOKMARK_EVERY;
                let rv = s.last_rv.max(s.cluster.store.current_rv().min(s.last_rv));
                s.queue.push_back(bookmark(&s.def, rv, false));
            }
            _ = s.shutdown.changed() => return None,
        }
    }
}
