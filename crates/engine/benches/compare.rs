//! Warm comparison: many applications compared from the live-state cache
//! and the dry-run cache alone (the path of an unchanged application), and
//! the resident memory the cache takes per 10,000 resources.
//!
//! `TRELLIS_BENCH_APPS` applications of `TRELLIS_BENCH_RESOURCES` resources
//! each (smoke size 20 × 50 by default; the target is 1,000 × 50 = 50,000
//! live resources compared in under 2 s).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use trellis_engine::compare::{DryRun, DryRunAnswer, DryRunCache, compare_resources, object_hash};
use trellis_engine::normalize::IgnoreRules;
use trellis_engine::tracking::{AppId, TRACKING_LABEL};
use trellis_kube::GroupKind;
use trellis_kube::cache::store;
use trellis_model::ResourceKey;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Resident set size in bytes (Linux), 0 elsewhere.
fn rss() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<usize>().ok())
        })
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

fn desired(app: &AppId, i: usize) -> (ResourceKey, Value) {
    let mut o = match i % 3 {
        0 => json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("{}-cm-{i}", app.name), "namespace": "apps"},
            "data": {"mode": "fast", "replicas": i.to_string(), "text": "x".repeat(200)}}),
        1 => json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": format!("{}-svc-{i}", app.name), "namespace": "apps", "labels": {"app": app.name}},
            "spec": {"selector": {"app": app.name}, "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}], "type": "ClusterIP"}}),
        _ => json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": format!("{}-dep-{i}", app.name), "namespace": "apps"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": app.name}},
                "template": {"metadata": {"labels": {"app": app.name}},
                    "spec": {"containers": [{"name": "app", "image": "registry.example.com/app:1.2.3",
                        "ports": [{"containerPort": 8080}], "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}}}]}}}}),
    };
    app.stamp(&mut o);
    (ResourceKey::from_object(&o).unwrap(), o)
}

fn live_of(desired: &Value, rv: usize) -> Value {
    let mut live = desired.clone();
    let meta = live["metadata"].as_object_mut().unwrap();
    meta.insert("resourceVersion".into(), json!(rv.to_string()));
    meta.insert(
        "uid".into(),
        json!(format!("00000000-0000-0000-0000-{rv:012}")),
    );
    meta.insert("creationTimestamp".into(), json!("2026-01-01T00:00:00Z"));
    meta.insert("managedFields".into(), json!([{"manager": "trellis", "operation": "Apply", "apiVersion": "v1",
        "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:annotations": {}, "f:labels": {}}, "f:spec": {}, "f:data": {}}}]));
    live
}

struct Cached<'a> {
    cache: &'a DryRunCache,
}

impl DryRun for Cached<'_> {
    fn dry_run(
        &mut self,
        key: &ResourceKey,
        desired: &Value,
        live: &Value,
    ) -> Result<DryRunAnswer, String> {
        self.cache
            .get(key, object_hash(desired), live)
            .ok_or_else(|| "cache miss".to_string())
    }
}

fn main() {
    let apps = env("TRELLIS_BENCH_APPS", 20);
    let per_app = env("TRELLIS_BENCH_RESOURCES", 50);
    let kinds = [
        GroupKind::new("", "ConfigMap"),
        GroupKind::new("", "Service"),
        GroupKind::new("apps", "Deployment"),
    ];
    let ids: Vec<AppId> = (0..apps)
        .map(|a| AppId::new("trellis", format!("app-{a}")))
        .collect();
    let desired_by_app: Vec<Vec<(ResourceKey, Value)>> = ids
        .iter()
        .map(|id| (0..per_app).map(|i| desired(id, i)).collect())
        .collect();

    let before = rss();
    let live_store = store(TRACKING_LABEL);
    let mut writers: HashMap<GroupKind, trellis_kube::Writer> = kinds
        .iter()
        .map(|k| (k.clone(), live_store.writer(k.clone())))
        .collect();
    let dry_runs = DryRunCache::default();
    let mut rv = 1;
    for objects in &desired_by_app {
        for (key, object) in objects {
            rv += 1;
            let live = live_of(object, rv);
            // The server's dry-run answer of an unchanged object is the
            // live object itself.
            dry_runs.put(
                key.clone(),
                object_hash(object),
                &live,
                DryRunAnswer::SameAsLive,
            );
            writers
                .get_mut(&GroupKind::new(key.group.clone(), key.kind.clone()))
                .unwrap()
                .upsert(live);
        }
    }
    for w in writers.values_mut() {
        w.mark_ready();
    }
    let total = apps * per_app;
    let cache_bytes = rss().saturating_sub(before);

    let rules = IgnoreRules::default();
    let start = Instant::now();
    let mut synced = 0usize;
    for (id, desired) in ids.iter().zip(&desired_by_app) {
        let label = id.label_value();
        let live: HashMap<ResourceKey, Arc<Value>> = live_store
            .objects(&label, &kinds)
            .into_iter()
            .filter(|(_, o)| id.owns(o))
            .filter_map(|(_, o)| Some((ResourceKey::from_object(&o).ok()?, o)))
            .collect();
        let results = compare_resources(desired, &live, &rules, &mut Cached { cache: &dry_runs });
        synced += results
            .iter()
            .filter(|r| r.status == trellis_engine::compare::ResourceSync::Synced)
            .count();
    }
    let elapsed = start.elapsed();
    assert_eq!(
        synced, total,
        "every resource compares as Synced from the caches"
    );
    println!(
        "warm compare: {apps} applications, {total} live resources in {:.3} s ({:.1} µs per resource)",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / total as f64
    );
    println!(
        "cache memory (live objects + dry-run results): {:.1} MiB per 10,000 resources ({} resources, {:.1} MiB resident)",
        cache_bytes as f64 / total as f64 * 10_000.0 / (1024.0 * 1024.0),
        total,
        cache_bytes as f64 / (1024.0 * 1024.0)
    );
}
