//! Rendering: from an application's sources to the Kubernetes manifests it
//! declares.
//!
//! A [`Renderer`] turns one source, read from a [`Snapshot`], into manifests.
//! [`AppRenderer`] picks the renderer for each of an application's sources the
//! way Argo CD does (an explicit `helm`/`kustomize`/`directory`/`plugin` block,
//! else what the directory holds) and concatenates their output. [`tree`]
//! expands an app of apps recursively, and [`preview`] compares two trees.
//!
//! Nothing here talks to a cluster: rendering is a pure function of the
//! repository content and the application's parameters.
#![warn(missing_docs)]

mod app;
pub mod directory;
mod error;
pub mod helm;
pub mod preview;
pub mod tree;

pub use app::{AppRenderer, RenderedApp, ResolvedSource, SourceKind};
pub use error::RenderError;

use std::collections::BTreeMap;
use std::sync::Arc;

use trellis_model::Manifest;
use trellis_model::{Application, ApplicationSource};
use trellis_source::Snapshot;

/// What a renderer is given: the application, the one source being rendered,
/// the snapshot of that source's repository at the resolved commit, and the
/// source path normalized relative to the repository root (`""` is the root).
pub struct RenderInput<'a> {
    /// The application being rendered.
    pub app: &'a Application,
    /// The source within the application.
    pub source: &'a ApplicationSource,
    /// The repository content at the resolved revision.
    pub snapshot: &'a Snapshot,
    /// The source's `path`, normalized (no leading `./`, no trailing `/`).
    pub path: &'a str,
    /// Snapshots of the application's sources that have a `ref` name, by
    /// name: where `$name/...` value files are read.
    pub refs: &'a BTreeMap<String, Arc<Snapshot>>,
    /// The revision the source was asked at (its `targetRevision`, or an
    /// override), for `$ARGOCD_APP_SOURCE_TARGET_REVISION`.
    pub revision: &'a str,
    /// What the destination cluster serves (Helm's `.Capabilities`).
    pub capabilities: &'a Capabilities,
}

/// What a destination cluster serves, as templates see it: Helm's
/// `.Capabilities.KubeVersion` and `.Capabilities.APIVersions`. Empty (the
/// default) means "no cluster known": Helm's own defaults apply. An
/// application's `helm.kubeVersion` and `helm.apiVersions` override these,
/// as in Argo CD.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Capabilities {
    /// The server's version (`v1.32.4` or `1.32.4`).
    pub kube_version: Option<String>,
    /// Every `group/version` and `group/version/Kind` served (`v1`,
    /// `apps/v1`, `apps/v1/Deployment`, ...).
    pub api_versions: Vec<String>,
}

/// Turns one application source into manifests.
///
/// Implementations are pure functions of their input and must be safe to call
/// from many threads at once.
pub trait Renderer: Send + Sync {
    /// Renders the source. An error names the file and cause; an empty `Vec`
    /// is a legitimate result (the caller decides whether empty is allowed).
    fn render(&self, input: &RenderInput<'_>) -> Result<Vec<Manifest>, RenderError>;
}
