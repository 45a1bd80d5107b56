//! The work queue: each key is worked on by one worker at a time, added
//! keys are deduplicated, and keys can be scheduled for later.
//!
//! A key added while a worker holds it is remembered and handed out again
//! once the worker is done, so no change is lost and no application is
//! reconciled twice at once ("one sync at a time per application").

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// A deduplicating, delaying work queue.
pub struct Queue<K> {
    state: Mutex<State<K>>,
    notify: Notify,
}

struct State<K> {
    ready: VecDeque<K>,
    queued: HashSet<K>,
    active: HashSet<K>,
    dirty: HashSet<K>,
    delayed: BTreeMap<(Instant, u64), K>,
    due: HashMap<K, (Instant, u64)>,
    seq: u64,
    closed: bool,
}

impl<K: Clone + Eq + Hash> Default for Queue<K> {
    fn default() -> Self {
        Self {
            state: Mutex::new(State {
                ready: VecDeque::new(),
                queued: HashSet::new(),
                active: HashSet::new(),
                dirty: HashSet::new(),
                delayed: BTreeMap::new(),
                due: HashMap::new(),
                seq: 0,
                closed: false,
            }),
            notify: Notify::new(),
        }
    }
}

impl<K: Clone + Eq + Hash> Queue<K> {
    fn lock(&self) -> std::sync::MutexGuard<'_, State<K>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a key for work now.
    pub fn add(&self, key: K) {
        let mut s = self.lock();
        if let Some(at) = s.due.remove(&key) {
            s.delayed.remove(&at);
        }
        if s.active.contains(&key) {
            s.dirty.insert(key);
            return;
        }
        if s.queued.insert(key.clone()) {
            s.ready.push_back(key);
            drop(s);
            self.notify.notify_one();
        }
    }

    /// Queues a key for work after `delay`, unless it is already due sooner.
    pub fn add_after(&self, key: K, delay: Duration) {
        if delay.is_zero() {
            return self.add(key);
        }
        let at = Instant::now() + delay;
        let mut s = self.lock();
        if s.queued.contains(&key) {
            return;
        }
        if let Some(&(current, _)) = s.due.get(&key) {
            if current <= at {
                return;
            }
            if let Some(old) = s.due.remove(&key) {
                s.delayed.remove(&old);
            }
        }
        s.seq += 1;
        let slot = (at, s.seq);
        s.delayed.insert(slot, key.clone());
        s.due.insert(key, slot);
        drop(s);
        // A sleeping worker may need to wake earlier than it planned.
        self.notify.notify_one();
    }

    /// The next key to work on, waiting for one; `None` once closed. The
    /// caller must call [`Queue::done`] with it when finished.
    pub async fn next(&self) -> Option<K> {
        loop {
            let wake_at = {
                let mut s = self.lock();
                if s.closed {
                    return None;
                }
                let now = Instant::now();
                while let Some((&slot, _)) = s.delayed.first_key_value() {
                    if slot.0 > now {
                        break;
                    }
                    if let Some(key) = s.delayed.remove(&slot) {
                        s.due.remove(&key);
                        if s.active.contains(&key) {
                            s.dirty.insert(key);
                        } else if s.queued.insert(key.clone()) {
                            s.ready.push_back(key);
                        }
                    }
                }
                if let Some(key) = s.ready.pop_front() {
                    s.queued.remove(&key);
                    s.active.insert(key.clone());
                    if !s.ready.is_empty() {
                        self.notify.notify_one();
                    }
                    return Some(key);
                }
                s.delayed.first_key_value().map(|(slot, _)| slot.0)
            };
            match wake_at {
                Some(at) => {
                    let _ = tokio::time::timeout_at(at, self.notify.notified()).await;
                }
                None => self.notify.notified().await,
            }
        }
    }

    /// Marks a key's work finished; a key added meanwhile is queued again.
    pub fn done(&self, key: &K) {
        let mut s = self.lock();
        s.active.remove(key);
        if s.dirty.remove(key) && s.queued.insert(key.clone()) {
            s.ready.push_back(key.clone());
            drop(s);
            self.notify.notify_one();
        }
    }

    /// Keys waiting to be worked on now (not those scheduled for later).
    pub fn depth(&self) -> usize {
        self.lock().ready.len()
    }

    /// Stops handing out keys; waiting workers get `None`.
    pub fn close(&self) {
        self.lock().closed = true;
        self.notify.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dedupes_and_holds_active_keys() {
        let q = Queue::default();
        q.add("a");
        q.add("a");
        q.add("b");
        assert_eq!(q.depth(), 2);
        let a = q.next().await.unwrap();
        assert_eq!(a, "a");
        q.add("a"); // while active: remembered, not handed out
        assert_eq!(q.next().await.unwrap(), "b");
        assert_eq!(q.depth(), 0);
        q.done(&"a");
        assert_eq!(q.next().await.unwrap(), "a");
    }

    #[tokio::test(start_paused = true)]
    async fn delayed_keys_come_when_due() {
        let q = Queue::default();
        q.add_after("late", Duration::from_secs(10));
        q.add_after("soon", Duration::from_secs(1));
        assert_eq!(q.next().await.unwrap(), "soon");
        assert_eq!(q.next().await.unwrap(), "late");
    }

    #[tokio::test(start_paused = true)]
    async fn add_now_overrides_a_later_schedule() {
        let q = Queue::default();
        q.add_after("k", Duration::from_secs(100));
        q.add("k");
        let got = tokio::time::timeout(Duration::from_secs(1), q.next()).await;
        assert_eq!(got.unwrap(), Some("k"));
    }

    #[tokio::test]
    async fn close_wakes_workers() {
        let q: std::sync::Arc<Queue<&str>> = std::sync::Arc::new(Queue::default());
        let worker = tokio::spawn({
            let q = q.clone();
            async move { q.next().await }
        });
        tokio::task::yield_now().await;
        q.close();
        assert_eq!(worker.await.unwrap(), None);
    }
}
