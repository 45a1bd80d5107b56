//! Durable object storage on SQLite with a store-wide resourceVersion and a bounded event history
//! that feeds watches.
//!
//! Every write is one SQLite transaction that also advances the resourceVersion counter, so a
//! restarted server continues the sequence and never re-issues a version. The in-memory history
//! and the broadcast of events are updated under the same lock as the transaction, which keeps
//! the order watchers see equal to the commit order.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;
use tokio::sync::broadcast;

use crate::api::status::{ApiError, ApiResult};

/// How many events are kept for watches that start from an older resourceVersion.
const HISTORY: usize = 10_000;

/// Identity of a stored object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    /// API group (`""` for core).
    pub group: String,
    /// Plural resource name.
    pub resource: String,
    /// Namespace (`""` for cluster-scoped objects).
    pub namespace: String,
    /// Object name.
    pub name: String,
}

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Created.
    Added,
    /// Changed.
    Modified,
    /// Removed.
    Deleted,
}

impl EventType {
    /// Watch event type as Kubernetes spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One committed change.
#[derive(Debug, Clone)]
pub struct Event {
    /// resourceVersion of the change.
    pub rv: u64,
    /// What happened.
    pub kind: EventType,
    /// Which object.
    pub key: Key,
    /// The object after the change (before it, for deletions, with the deletion's version).
    pub object: Arc<Value>,
}

/// What a mutation decided to do with an object.
#[derive(Debug)]
pub enum Outcome {
    /// Store this object (created or replaced).
    Put(Value),
    /// Remove the object.
    Delete,
    /// Change nothing.
    Keep,
}

struct Inner {
    conn: Connection,
    rv: u64,
    history: VecDeque<Arc<Event>>,
    /// Events with a version at or below this are no longer in the history.
    compacted: u64,
}

/// The object store.
pub struct Store {
    inner: Mutex<Inner>,
    events: broadcast::Sender<Arc<Event>>,
}

/// A subscription to events, consistent with a starting resourceVersion.
#[derive(Debug)]
pub struct Subscription {
    /// Events after the requested version that were already committed.
    pub backlog: Vec<Arc<Event>>,
    /// Events committed from now on.
    pub live: broadcast::Receiver<Arc<Event>>,
}

fn set_rv(obj: &mut Value, rv: u64) {
    crate::util::meta_mut(obj).insert("resourceVersion".into(), Value::String(rv.to_string()));
}

impl Store {
    /// Opens (or creates) a store in `path`, or in memory when `None`.
    pub fn open(path: Option<&Path>) -> rusqlite::Result<Store> {
        let conn = match path {
            Some(p) => Connection::open(p)?,
            None => Connection::open_in_memory()?,
        };
        // WAL keeps readers from blocking the writer; FULL sync makes an acknowledged write
        // survive a killed process and a power loss.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS objects (
                grp TEXT NOT NULL, resource TEXT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL,
                rv INTEGER NOT NULL, body TEXT NOT NULL,
                PRIMARY KEY (grp, resource, ns, name));
             CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
             INSERT OR IGNORE INTO counters (name, value) VALUES ('resourceVersion', 0);",
        )?;
        let rv: i64 = conn.query_row(
            "SELECT value FROM counters WHERE name = 'resourceVersion'",
            [],
            |r| r.get(0),
        )?;
        let rv = rv.max(0) as u64;
        let (events, _) = broadcast::channel(4096);
        Ok(Store {
            inner: Mutex::new(Inner {
                conn,
                rv,
                history: VecDeque::new(),
                compacted: rv,
            }),
            events,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves SQLite consistent (the transaction rolls back),
        // so a poisoned lock is safe to reuse.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The latest committed resourceVersion.
    pub fn current_rv(&self) -> u64 {
        self.lock().rv
    }

    /// One object.
    pub fn get(&self, key: &Key) -> ApiResult<Option<Value>> {
        let inner = self.lock();
        get_in(&inner.conn, key)
    }

    /// Objects of a resource, in (namespace, name) order, optionally within one namespace and
    /// after a position; returns them with the store's version at the time of reading.
    pub fn list(
        &self,
        group: &str,
        resource: &str,
        namespace: Option<&str>,
        after: Option<(&str, &str)>,
    ) -> ApiResult<(Vec<Value>, u64)> {
        let inner = self.lock();
        let (an, am) = after.unwrap_or(("", ""));
        let has_after = after.is_some();
        let mut stmt = inner.conn.prepare_cached(
            "SELECT body FROM objects WHERE grp = ?1 AND resource = ?2 AND (?3 IS NULL OR ns = ?3)
             AND (?4 = 0 OR ns > ?5 OR (ns = ?5 AND name > ?6)) ORDER BY ns, name",
        )?;
        let rows = stmt.query_map(
            params![group, resource, namespace, has_after as i64, an, am],
            |r| r.get::<_, String>(0),
        )?;
        let mut out = Vec::new();
        for row in rows {
            let text = row?;
            out.push(
                serde_json::from_str(&text)
                    .map_err(|e| ApiError::internal(format!("stored object: {e}")))?,
            );
        }
        Ok((out, inner.rv))
    }

    /// Reads the current object, lets `decide` choose an outcome, and commits it atomically.
    /// Returns the resulting object (the deleted one for deletions) or `None` when nothing exists.
    /// With `dry_run` nothing is stored and no version is consumed.
    pub fn mutate<F>(&self, key: &Key, dry_run: bool, decide: F) -> ApiResult<Option<Value>>
    where
        F: FnOnce(Option<Value>) -> ApiResult<Outcome>,
    {
        let mut inner = self.lock();
        let current = get_in(&inner.conn, key)?;
        let existed = current.is_some();
        let previous = current.clone();
        let outcome = decide(current)?;
        if dry_run {
            return Ok(match outcome {
                Outcome::Put(mut v) => {
                    // A dry run shows the version the object has now (none when it is new).
                    let rv = previous
                        .as_ref()
                        .and_then(|p| p["metadata"]["resourceVersion"].as_str());
                    if let Some(rv) = rv {
                        crate::util::meta_mut(&mut v)
                            .insert("resourceVersion".into(), Value::String(rv.to_owned()));
                    }
                    Some(v)
                }
                Outcome::Delete | Outcome::Keep => previous,
            });
        }
        match outcome {
            Outcome::Keep => Ok(previous),
            Outcome::Put(mut obj) => {
                let rv = inner.rv + 1;
                set_rv(&mut obj, rv);
                let body = obj.to_string();
                let tx = inner.conn.unchecked_transaction()?;
                tx.execute(
                    "INSERT INTO objects (grp, resource, ns, name, rv, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (grp, resource, ns, name) DO UPDATE SET rv = excluded.rv, body = excluded.body",
                    params![key.group, key.resource, key.namespace, key.name, rv as i64, body],
                )?;
                tx.execute(
                    "UPDATE counters SET value = ?1 WHERE name = 'resourceVersion'",
                    params![rv as i64],
                )?;
                tx.commit()?;
                let kind = if existed {
                    EventType::Modified
                } else {
                    EventType::Added
                };
                self.publish(&mut inner, rv, kind, key.clone(), obj.clone());
                Ok(Some(obj))
            }
            Outcome::Delete => {
                let Some(mut obj) = previous else {
                    return Ok(None);
                };
                let rv = inner.rv + 1;
                let tx = inner.conn.unchecked_transaction()?;
                tx.execute(
                    "DELETE FROM objects WHERE grp = ?1 AND resource = ?2 AND ns = ?3 AND name = ?4",
                    params![key.group, key.resource, key.namespace, key.name],
                )?;
                tx.execute(
                    "UPDATE counters SET value = ?1 WHERE name = 'resourceVersion'",
                    params![rv as i64],
                )?;
                tx.commit()?;
                set_rv(&mut obj, rv);
                self.publish(&mut inner, rv, EventType::Deleted, key.clone(), obj.clone());
                Ok(Some(obj))
            }
        }
    }

    /// Removes every object of a resource (used when a CustomResourceDefinition is deleted), as
    /// one transaction with one deletion event per object.
    pub fn delete_all(&self, group: &str, resource: &str) -> ApiResult<()> {
        let (objects, _) = self.list(group, resource, None, None)?;
        let mut inner = self.lock();
        let tx = inner.conn.unchecked_transaction()?;
        tx.execute(
            "DELETE FROM objects WHERE grp = ?1 AND resource = ?2",
            params![group, resource],
        )?;
        let first = inner.rv + 1;
        let last = inner.rv + objects.len() as u64;
        tx.execute(
            "UPDATE counters SET value = ?1 WHERE name = 'resourceVersion'",
            params![last as i64],
        )?;
        tx.commit()?;
        for (i, mut obj) in objects.into_iter().enumerate() {
            let rv = first + i as u64;
            set_rv(&mut obj, rv);
            let key = Key {
                group: group.to_owned(),
                resource: resource.to_owned(),
                namespace: crate::util::meta_str(&obj, "namespace")
                    .unwrap_or("")
                    .to_owned(),
                name: crate::util::meta_str(&obj, "name").unwrap_or("").to_owned(),
            };
            self.publish(&mut inner, rv, EventType::Deleted, key, obj);
        }
        Ok(())
    }

    fn publish(&self, inner: &mut Inner, rv: u64, kind: EventType, key: Key, obj: Value) {
        inner.rv = rv;
        let event = Arc::new(Event {
            rv,
            kind,
            key,
            object: Arc::new(obj),
        });
        inner.history.push_back(event.clone());
        while inner.history.len() > HISTORY {
            if let Some(old) = inner.history.pop_front() {
                inner.compacted = old.rv;
            }
        }
        // No receivers is normal: nobody is watching.
        let _ = self.events.send(event);
    }

    /// Subscribes to events after `from`; `Err` (410 Gone) when `from` is older than the history.
    pub fn subscribe(&self, from: u64) -> ApiResult<Subscription> {
        let inner = self.lock();
        if from < inner.compacted {
            return Err(ApiError::gone(format!(
                "too old resource version: {from} ({})",
                inner.compacted + 1
            )));
        }
        let backlog = inner
            .history
            .iter()
            .filter(|e| e.rv > from)
            .cloned()
            .collect();
        Ok(Subscription {
            backlog,
            live: self.events.subscribe(),
        })
    }
}

fn get_in(conn: &Connection, key: &Key) -> ApiResult<Option<Value>> {
    let mut stmt = conn.prepare_cached(
        "SELECT body FROM objects WHERE grp = ?1 AND resource = ?2 AND ns = ?3 AND name = ?4",
    )?;
    let text: Option<String> = stmt
        .query_row(
            params![key.group, key.resource, key.namespace, key.name],
            |r| r.get(0),
        )
        .optional()?;
    match text {
        None => Ok(None),
        Some(t) => serde_json::from_str(&t)
            .map(Some)
            .map_err(|e| ApiError::internal(format!("stored object: {e}"))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(name: &str) -> Key {
        Key {
            group: "".into(),
            resource: "configmaps".into(),
            namespace: "default".into(),
            name: name.into(),
        }
    }

    #[test]
    fn versions_survive_reopen_and_history_expires() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        {
            let s = Store::open(Some(&path)).unwrap();
            let o = s
                .mutate(&key("a"), false, |_| {
                    Ok(Outcome::Put(json!({"metadata": {"name": "a"}})))
                })
                .unwrap();
            assert_eq!(o.unwrap()["metadata"]["resourceVersion"], "1");
            s.mutate(&key("b"), false, |_| {
                Ok(Outcome::Put(json!({"metadata": {"name": "b"}})))
            })
            .unwrap();
            let sub = s.subscribe(0).unwrap();
            assert_eq!(sub.backlog.len(), 2);
            // dry run consumes nothing
            s.mutate(&key("c"), true, |_| Ok(Outcome::Put(json!({}))))
                .unwrap();
            assert_eq!(s.current_rv(), 2);
        }
        let s = Store::open(Some(&path)).unwrap();
        assert_eq!(s.current_rv(), 2);
        assert_eq!(s.get(&key("b")).unwrap().unwrap()["metadata"]["name"], "b");
        assert_eq!(s.subscribe(1).unwrap_err().code, 410);
        assert!(s.subscribe(2).unwrap().backlog.is_empty());
        let d = s
            .mutate(&key("a"), false, |_| Ok(Outcome::Delete))
            .unwrap()
            .unwrap();
        assert_eq!(d["metadata"]["resourceVersion"], "3");
        let (items, rv) = s.list("", "configmaps", Some("default"), None).unwrap();
        assert_eq!((items.len(), rv), (1, 3));
    }
}
