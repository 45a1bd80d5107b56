//! What a change does before it merges: two rendered trees compared
//! application by application and resource by resource.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use trellis_engine::diff::object_diff;
use trellis_model::ResourceKey;

use crate::tree::AppNode;

/// How a resource or application differs between base and head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Change {
    /// Only in head.
    Added,
    /// Only in base.
    Removed,
    /// In both, with different content.
    Modified,
}

/// One resource that differs.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceChange {
    /// The resource; rendered as `Kind.group namespace/name`.
    pub resource: String,
    /// What happened to it.
    pub change: Change,
    /// Unified YAML diff, Secret values masked.
    pub diff: String,
}

/// One application that differs.
#[derive(Debug, Clone, Serialize)]
pub struct AppChange {
    /// `namespace/name` of the application.
    pub app: String,
    /// Added, removed or modified.
    pub change: Change,
    /// The resources that differ, in resource order.
    pub resources: Vec<ResourceChange>,
}

/// Which side of the comparison an error came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Side {
    /// The revision the change starts from.
    Base,
    /// The revision with the change.
    Head,
}

/// An application that could not be rendered on one side.
#[derive(Debug, Clone, Serialize)]
pub struct AppError {
    /// `namespace/name` of the application.
    pub app: String,
    /// Base or head.
    pub side: Side,
    /// The error, in one line.
    pub message: String,
}

/// The full comparison of two trees.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Preview {
    /// Applications that differ, sorted by name (added, removed and modified).
    pub applications: Vec<AppChange>,
    /// Applications that render identically on both sides.
    pub unchanged: usize,
    /// Applications that failed to render; their resources are not compared.
    pub errors: Vec<AppError>,
}

impl Preview {
    /// True when any application or resource differs.
    pub fn has_changes(&self) -> bool {
        !self.applications.is_empty()
    }

    /// Applications with the given change.
    pub fn count(&self, change: Change) -> usize {
        self.applications
            .iter()
            .filter(|a| a.change == change)
            .count()
    }
}

/// Compares the trees rendered at base and head.
pub fn compare(base: &[AppNode], head: &[AppNode]) -> Preview {
    let base = flatten(base);
    let head = flatten(head);
    let mut preview = Preview::default();
    let ids: std::collections::BTreeSet<&String> = base.keys().chain(head.keys()).collect();
    for id in ids {
        let (b, h) = (base.get(id), head.get(id));
        let mut failed = false;
        for (node, side) in [(b, Side::Base), (h, Side::Head)] {
            if let Some(message) = node.and_then(|n| n.error.clone()) {
                preview.errors.push(AppError {
                    app: id.clone(),
                    side,
                    message,
                });
                failed = true;
            }
        }
        if failed {
            continue;
        }
        let change = match (b, h) {
            (None, Some(_)) => Change::Added,
            (Some(_), None) => Change::Removed,
            _ => Change::Modified,
        };
        let resources = diff_resources(id, b.copied(), h.copied());
        if resources.is_empty() && change == Change::Modified {
            preview.unchanged += 1;
            continue;
        }
        preview.applications.push(AppChange {
            app: id.clone(),
            change,
            resources,
        });
    }
    preview
}

/// Every node by id; the first occurrence wins when two parents declare the
/// same application.
fn flatten(roots: &[AppNode]) -> BTreeMap<String, &AppNode> {
    let mut out = BTreeMap::new();
    for root in roots {
        for (_, node) in root.walk() {
            out.entry(node.id()).or_insert(node);
        }
    }
    out
}

fn diff_resources(
    app: &str,
    base: Option<&AppNode>,
    head: Option<&AppNode>,
) -> Vec<ResourceChange> {
    let base = resources_of(base);
    let head = resources_of(head);
    let keys: std::collections::BTreeSet<&String> = base.keys().chain(head.keys()).collect();
    let mut out = Vec::new();
    for key in keys {
        let (b, h) = (base.get(key).copied(), head.get(key).copied());
        let change = match (b, h) {
            (None, Some(_)) => Change::Added,
            (Some(_), None) => Change::Removed,
            (Some(x), Some(y)) if x != y => Change::Modified,
            _ => continue,
        };
        let diff = object_diff(b, h, &format!("{app}/{key}"));
        out.push(ResourceChange {
            resource: key.clone(),
            change,
            diff,
        });
    }
    out
}

/// An application's resources by identity; a repeated identity gets a
/// `#n` suffix so that neither copy is lost from the comparison.
fn resources_of(node: Option<&AppNode>) -> BTreeMap<String, &Value> {
    let mut out = BTreeMap::new();
    for manifest in node.map(|n| n.manifests.as_slice()).unwrap_or_default() {
        let key = match ResourceKey::from_object(&manifest.object) {
            Ok(key) => key.to_string(),
            Err(_) => format!(
                "{} (document {})",
                manifest.origin.file, manifest.origin.document
            ),
        };
        let mut unique = key.clone();
        let mut n = 2;
        while out.contains_key(&unique) {
            unique = format!("{key} #{n}");
            n += 1;
        }
        out.insert(unique, &manifest.object);
    }
    out
}
