//! Tracking: how a live object names the application that owns it.
//!
//! Every applied object carries an annotation naming its application and
//! itself, `APP:GROUP/KIND:NAMESPACE/NAME` (as Argo CD's annotation tracking
//! does), where APP is `NAMESPACE_NAME` of the Application (just its name when
//! it has no namespace). Since annotations cannot be selected on, a short label
//! derived from APP (a hash: label values stop at 63 characters) lets watches
//! select the objects of every application, indexed by application.
//!
//! The annotation is the authority: an object is this application's only if
//! its annotation names this application *and this very object*, so a copy of
//! the object made by someone else (same annotation, other name) is not
//! claimed, and two applications of one name in different namespaces never
//! claim each other's objects.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use trellis_model::ResourceKey;

/// The annotation naming an object's application and the object itself.
pub const TRACKING_ANNOTATION: &str = "trellis.dev/tracking-id";
/// The label watches select on: a hash of the application's identity.
pub const TRACKING_LABEL: &str = "trellis.dev/app";

/// An application's identity: its namespace (empty for one read from a file
/// without a namespace) and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AppId {
    /// The Application's namespace.
    pub namespace: String,
    /// The Application's name.
    pub name: String,
}

impl AppId {
    /// An identity from namespace and name.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// The APP part of the tracking annotation.
    pub fn instance(&self) -> String {
        if self.namespace.is_empty() {
            self.name.clone()
        } else {
            format!("{}_{}", self.namespace, self.name)
        }
    }

    /// The value of [`TRACKING_LABEL`]: `t` and 40 hex digits of SHA-256 of
    /// the instance name (a valid label value whatever the names are).
    pub fn label_value(&self) -> String {
        let digest = Sha256::digest(self.instance().as_bytes());
        let hex: String = digest.iter().take(20).map(|b| format!("{b:02x}")).collect();
        format!("t{hex}")
    }

    /// The tracking annotation for one of this application's objects.
    pub fn annotation(&self, key: &ResourceKey) -> String {
        format!(
            "{}:{}/{}:{}/{}",
            self.instance(),
            key.group,
            key.kind,
            key.namespace,
            key.name
        )
    }

    /// Whether a live object belongs to this application: its annotation
    /// names this application and this object.
    pub fn owns(&self, object: &Value) -> bool {
        let Some(annotation) = annotation_of(object) else {
            return false;
        };
        match ResourceKey::from_object(object) {
            Ok(key) => annotation == self.annotation(&key),
            Err(_) => false,
        }
    }

    /// Adds the tracking annotation and label to a desired object (whose
    /// namespace is already resolved).
    pub fn stamp(&self, object: &mut Value) {
        let Ok(key) = ResourceKey::from_object(object) else {
            return;
        };
        let annotation = self.annotation(&key);
        let Some(root) = object.as_object_mut() else {
            return;
        };
        let meta = root
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if !meta.is_object() {
            *meta = Value::Object(Map::new());
        }
        let Some(meta) = meta.as_object_mut() else {
            return;
        };
        insert(meta, "annotations", TRACKING_ANNOTATION, annotation);
        insert(meta, "labels", TRACKING_LABEL, self.label_value());
    }
}

impl std::fmt::Display for AppId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{}/{}", self.namespace, self.name)
        }
    }
}

fn insert(meta: &mut Map<String, Value>, field: &str, key: &str, value: String) {
    let map = meta
        .entry(field)
        .or_insert_with(|| Value::Object(Map::new()));
    if !map.is_object() {
        *map = Value::Object(Map::new());
    }
    if let Some(map) = map.as_object_mut() {
        map.insert(key.to_string(), Value::String(value));
    }
}

/// The tracking annotation of an object, if any.
pub fn annotation_of(object: &Value) -> Option<&str> {
    object
        .get("metadata")?
        .get("annotations")?
        .get(TRACKING_ANNOTATION)?
        .as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn same_name_other_namespace_is_another_application() {
        let a = AppId::new("team-a", "web");
        let b = AppId::new("team-b", "web");
        assert_ne!(a.label_value(), b.label_value());
        assert!(a.label_value().len() <= 63);
        let mut obj = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "prod"}});
        a.stamp(&mut obj);
        assert_eq!(
            obj["metadata"]["annotations"][TRACKING_ANNOTATION],
            "team-a_web:apps/Deployment:prod/web"
        );
        assert!(a.owns(&obj));
        assert!(!b.owns(&obj));
    }

    #[test]
    fn a_copy_under_another_name_is_not_owned() {
        let a = AppId::new("", "web");
        let mut obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "n"}});
        a.stamp(&mut obj);
        obj["metadata"]["name"] = json!("copy");
        assert!(!a.owns(&obj));
    }
}
