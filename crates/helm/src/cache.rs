//! Results of pure functions of a text, kept by that text.
//!
//! Charts repeat the same conversions on every render, and often many times
//! in one render: bitnami's `common` helpers round-trip values through
//! `toJson | fromJson` and `toYaml | fromYaml`, and every render validates
//! against the same `values.schema.json`. Parsing is the expensive part and
//! depends on the text alone, so the parsed form is kept by content. Callers
//! copy anything mutable out of it (template maps are shared references that
//! Sprig's `set` mutates in place).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// A bounded map from texts to values computed from them. When the kept
/// texts would exceed the byte bound, everything is dropped and the cache
/// refills from what renders use next.
pub(crate) struct ContentCache<V> {
    inner: Mutex<Inner<V>>,
    max_bytes: usize,
}

struct Inner<V> {
    map: HashMap<Arc<[u8]>, V>,
    bytes: usize,
}

impl<V: Clone> ContentCache<V> {
    /// An empty cache keeping texts of at most `max_bytes` in all.
    pub(crate) fn new(max_bytes: usize) -> Self {
        ContentCache {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                bytes: 0,
            }),
            max_bytes,
        }
    }

    /// The value kept for `key`, or `compute(key)` (kept when the text is
    /// small enough). `compute` runs without the lock held.
    pub(crate) fn get_or_compute(&self, key: &[u8], compute: impl FnOnce() -> V) -> V {
        if let Some(v) = self.lock().map.get(key) {
            return v.clone();
        }
        let v = compute();
        if key.len() <= self.max_bytes / 8 {
            let mut inner = self.lock();
            if inner.bytes + key.len() > self.max_bytes {
                inner.map.clear();
                inner.bytes = 0;
            }
            if inner.map.insert(Arc::from(key), v.clone()).is_none() {
                inner.bytes += key.len();
            }
        }
        v
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<V>> {
        // A panic while holding the lock leaves a consistent map (every
        // update is a single insert or clear), so the data is still good.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computes_once_per_text_and_stays_bounded() {
        let cache = ContentCache::new(64);
        let mut calls = 0;
        for _ in 0..3 {
            let v = cache.get_or_compute(b"abc", || {
                calls += 1;
                3
            });
            assert_eq!(v, 3);
        }
        assert_eq!(calls, 1);
        // Texts above an eighth of the bound are computed every time.
        let big = [b'x'; 9];
        for _ in 0..2 {
            cache.get_or_compute(&big, || {
                calls += 1;
                9
            });
        }
        assert_eq!(calls, 3);
        // Filling past the bound starts over.
        for i in 0..20u8 {
            cache.get_or_compute(&[i; 8], || 8);
        }
        assert!(cache.lock().bytes <= 64);
    }
}
