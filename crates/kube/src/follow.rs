//! Following a watch of one kind in one namespace: every object applied or
//! deleted, and after each (re)listing the keys it held, so a follower can
//! forget what vanished while the watch was down.

use std::collections::HashSet;
use std::hash::Hash;

use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::Value;
use tracing::debug;

use crate::Cluster;

/// What a watch's events are handed to.
pub trait Follower {
    /// How the follower names an object.
    type Key: Eq + Hash;
    /// An object was listed, created or changed; its key when the follower
    /// keeps it.
    fn applied(&mut self, object: Value) -> Option<Self::Key>;
    /// An object was deleted.
    fn deleted(&mut self, object: Value);
    /// A (re)listing is complete: `seen` holds the key of every object it
    /// applied; anything else the follower knows of is gone.
    fn listed(&mut self, seen: HashSet<Self::Key>);
}

/// Follows the objects of `resource` in `namespace` until the task is
/// dropped; watch failures are retried with backoff (and logged at debug).
pub async fn follow<F: Follower>(
    cluster: &Cluster,
    resource: &ApiResource,
    namespace: &str,
    follower: &mut F,
) {
    let api: Api<DynamicObject> =
        Api::namespaced_with(cluster.client().clone(), namespace, resource);
    let mut stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut listing: Option<HashSet<F::Key>> = None;
    while let Some(event) = stream.next().await {
        let event = match event {
            Ok(e) => e,
            Err(error) => {
                debug!(%error, kind = %resource.kind, %namespace, "watch");
                continue;
            }
        };
        match event {
            watcher::Event::Init => listing = Some(HashSet::new()),
            watcher::Event::InitApply(o) | watcher::Event::Apply(o) => {
                if let Ok(value) = serde_json::to_value(o)
                    && let Some(key) = follower.applied(value)
                    && let Some(seen) = listing.as_mut()
                {
                    seen.insert(key);
                }
            }
            watcher::Event::InitDone => {
                if let Some(seen) = listing.take() {
                    follower.listed(seen);
                }
            }
            watcher::Event::Delete(o) => {
                if let Ok(value) = serde_json::to_value(o) {
                    follower.deleted(value);
                }
            }
        }
    }
}
