//! ApplicationSets: each set is regenerated when it changes, on every
//! refresh interval and on webhooks; generation itself lives in
//! `trellis-appset`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::Value;
use tokio::sync::Notify;
use tracing::{debug, warn};

use crate::controller::{Ctx, lock};

/// The sets of one group, and a signal to regenerate them all.
#[derive(Default)]
pub(crate) struct Sets {
    objects: Mutex<HashMap<(String, String), Value>>,
    dirty: Mutex<HashSet<(String, String)>>,
    wake: Notify,
}

/// Queues every ApplicationSet for regeneration (refresh tick, webhook).
pub(crate) fn queue_all(ctx: &Ctx) {
    for sets in lock(&ctx.appsets).iter() {
        let keys: Vec<(String, String)> = lock(&sets.objects).keys().cloned().collect();
        lock(&sets.dirty).extend(keys);
        sets.wake.notify_one();
    }
}

/// Watches the ApplicationSets of a group in the controller's namespaces and
/// regenerates each when it changes or is queued.
pub(crate) async fn run(ctx: Arc<Ctx>, group: &'static str) {
    let sets = Arc::new(Sets::default());
    lock(&ctx.appsets).push(sets.clone());
    let resource = trellis_kube::discovery::application_resource(group, "ApplicationSet");
    // Owned here, so the watches stop when this task is stopped.
    let mut watches = tokio::task::JoinSet::new();
    for namespace in ctx.options.namespaces() {
        let api: Api<DynamicObject> =
            Api::namespaced_with(ctx.cluster.client().clone(), &namespace, &resource);
        let sets = sets.clone();
        watches.spawn(async move {
            let mut stream = watcher(api, watcher::Config::default())
                .default_backoff()
                .boxed();
            while let Some(event) = stream.next().await {
                let Ok(event) = event else { continue };
                let (object, deleted) = match event {
                    watcher::Event::InitApply(o) | watcher::Event::Apply(o) => (o, false),
                    watcher::Event::Delete(o) => (o, true),
                    _ => continue,
                };
                let Ok(value) = serde_json::to_value(object) else {
                    continue;
                };
                let id = (
                    value
                        .pointer("/metadata/namespace")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    value
                        .pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                );
                let changed = {
                    let mut objects = lock(&sets.objects);
                    if deleted {
                        objects.remove(&id);
                        false
                    } else {
                        let old = objects.insert(id.clone(), value.clone());
                        old.as_ref()
                            .map(|o| (o.get("spec"), o.pointer("/metadata/generation")))
                            != Some((value.get("spec"), value.pointer("/metadata/generation")))
                    }
                };
                if changed {
                    lock(&sets.dirty).insert(id);
                    sets.wake.notify_one();
                }
            }
        });
    }
    let mut leader = ctx.leader.subscribe();
    loop {
        // Only the leader generates: two replicas must not fight over a set.
        if !*leader.borrow_and_update() {
            if leader.changed().await.is_err() {
                return;
            }
            if *leader.borrow() {
                let keys: Vec<(String, String)> = lock(&sets.objects).keys().cloned().collect();
                lock(&sets.dirty).extend(keys);
            }
            continue;
        }
        let due: Vec<(String, String)> = lock(&sets.dirty).drain().collect();
        for id in due {
            let Some(object) = lock(&sets.objects).get(&id).cloned() else {
                continue;
            };
            let sources = ctx.renderer().sources().clone();
            reconcile_set(&ctx, &object, &sources, &id.1).await;
        }
        tokio::select! {
            _ = tokio::time::timeout(Duration::from_secs(60), sets.wake.notified()) => {}
            _ = leader.changed() => {}
        }
    }
}

async fn reconcile_set(ctx: &Ctx, object: &Value, sources: &trellis_source::Sources, name: &str) {
    match trellis_appset::reconcile(&ctx.cluster, object, sources).await {
        Ok(outcome) => debug!(set = name, ?outcome, "application set reconciled"),
        // The set keeps its last good Applications; the error is in its status.
        Err(error) => warn!(set = name, %error, "application set"),
    }
}
