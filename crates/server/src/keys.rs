//! Names shared with the controller and Argo CD's clients.

use serde::Serialize;
use trellis_model::ResourceKey;

/// The annotation that asks the controller for a refresh (`normal` or
/// `hard`), as in Argo CD.
pub const REFRESH_ANNOTATION: &str = "argocd.argoproj.io/refresh";

/// The finalizer that makes deleting an Application delete its resources.
pub const RESOURCES_FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";

/// The Secret, in the controller's namespace, holding the admin password
/// hash and the API tokens' hashes.
pub const SECRET_NAME: &str = "trellis-server";

/// An Application's identity: API group, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct AppKey {
    /// `trellis.dev` or `argoproj.io`.
    pub group: String,
    /// The namespace the Application lives in.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

impl AppKey {
    /// A key from its parts.
    pub fn new(group: &str, namespace: &str, name: &str) -> Self {
        Self {
            group: group.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    /// The resource key of the Application object.
    pub fn resource(&self) -> ResourceKey {
        ResourceKey {
            group: self.group.clone(),
            kind: "Application".into(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }
}

impl std::fmt::Display for AppKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}
