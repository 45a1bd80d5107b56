//! The reconcile loop: keeps Applications stored in a cluster in sync with
//! git, forever.
//!
//! [`Controller`] watches Applications (Trellis's group, and Argo CD's with
//! `argocd_compat`), AppProjects, ApplicationSets and the repository and
//! cluster Secrets of its namespace. Each Application is reconciled by one
//! worker at a time: rendered (cached by content, see [`render_cache`]),
//! compared with its destination through the sync engine, its status
//! written, and — when its sync policy or an `operation` asks — synced one
//! engine step at a time, with the step state persisted in
//! `status.operationState` so a restarted controller resumes the sync
//! instead of starting it again.
//!
//! App of apps needs no special code: child Applications are resources the
//! parent syncs, and this controller reconciles them in turn; their health
//! rolls up to the parent through the engine's health of `Application`.
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod appsets;
mod controller;
mod error;
mod events;
mod http;
pub mod metrics;
mod operation;
mod options;
pub mod queue;
mod reconcile;
pub mod render_cache;
mod secrets;
mod status;
pub mod webhook;

pub use controller::Controller;
pub use error::{ControllerError, Result};
pub use options::ControllerOptions;

/// The annotation that lists the Applications (names in the same
/// namespace, comma-separated) an Application syncs after.
pub const DEPENDS_ON_ANNOTATION: &str = "trellis.dev/depends-on";

/// The annotation that asks for a refresh (`normal` or `hard`), as in Argo
/// CD; the controller removes it once done.
pub const REFRESH_ANNOTATION: &str = "argocd.argoproj.io/refresh";

/// The finalizer that makes deleting an Application delete its resources.
pub const RESOURCES_FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";

/// An Application's identity in the cluster: API group, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
    pub fn resource(&self) -> trellis_model::ResourceKey {
        trellis_model::ResourceKey {
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
