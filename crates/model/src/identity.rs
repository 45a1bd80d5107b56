//! The identity of a Kubernetes resource: group, kind, namespace and name.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Identifies one resource in a cluster, independent of its API version.
///
/// Two manifests with the same key describe the same live object, so a render
/// that yields the same key twice is an error and a diff pairs desired and live
/// objects by this key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ResourceKey {
    /// API group; empty for the core group (`v1`).
    pub group: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Namespace; empty for cluster-scoped resources and for namespaced
    /// resources that leave it to the destination default.
    pub namespace: String,
    /// Object name.
    pub name: String,
}

/// Why an object has no resource identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The object has no string `apiVersion`.
    #[error("missing apiVersion")]
    MissingApiVersion,
    /// The object has no string `kind`.
    #[error("missing kind")]
    MissingKind,
    /// The object has neither `metadata.name` nor `metadata.generateName`.
    #[error("missing metadata.name")]
    MissingName,
}

impl ResourceKey {
    /// Builds the key of a manifest object.
    ///
    /// An object with only `metadata.generateName` (such as a hook Job) is keyed
    /// by that prefix, since it has no name until the server gives it one.
    pub fn from_object(object: &Value) -> Result<Self, IdentityError> {
        let api_version = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or(IdentityError::MissingApiVersion)?;
        let kind = object
            .get("kind")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or(IdentityError::MissingKind)?;
        let metadata = object.get("metadata");
        let field = |name: &str| {
            metadata
                .and_then(|m| m.get(name))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let mut name = field("name");
        if name.is_empty() {
            name = field("generateName");
        }
        if name.is_empty() {
            return Err(IdentityError::MissingName);
        }
        Ok(Self {
            group: group_of(api_version).to_string(),
            kind: kind.to_string(),
            namespace: field("namespace"),
            name,
        })
    }
}

/// The group part of an `apiVersion` (`apps/v1` → `apps`, `v1` → ``).
pub fn group_of(api_version: &str) -> &str {
    match api_version.rsplit_once('/') {
        Some((group, _)) => group,
        None => "",
    }
}

impl fmt::Display for ResourceKey {
    /// Formats as `group/Kind namespace/name`, the way kubectl names objects
    /// (`Deployment.apps`), omitting empty parts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if !self.group.is_empty() {
            write!(f, ".{}", self.group)?;
        }
        write!(f, " ")?;
        if !self.namespace.is_empty() {
            write!(f, "{}/", self.namespace)?;
        }
        write!(f, "{}", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_core_and_grouped_objects() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "ns"}});
        let key = ResourceKey::from_object(&cm).unwrap();
        assert_eq!(key.group, "");
        assert_eq!(key.to_string(), "ConfigMap ns/a");
        let dep =
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}});
        assert_eq!(
            ResourceKey::from_object(&dep).unwrap().to_string(),
            "Deployment.apps web"
        );
    }

    #[test]
    fn generate_name_stands_in_for_name() {
        let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"generateName": "migrate-"}});
        assert_eq!(ResourceKey::from_object(&job).unwrap().name, "migrate-");
    }

    #[test]
    fn missing_parts_are_named() {
        assert_eq!(
            ResourceKey::from_object(&json!({"kind": "X"})),
            Err(IdentityError::MissingApiVersion)
        );
        assert_eq!(
            ResourceKey::from_object(&json!({"apiVersion": "v1"})),
            Err(IdentityError::MissingKind)
        );
        assert_eq!(
            ResourceKey::from_object(&json!({"apiVersion": "v1", "kind": "X", "metadata": {}})),
            Err(IdentityError::MissingName)
        );
    }
}
