//! The Trellis data model.
//!
//! This crate holds the types every other Trellis crate speaks in: the
//! `Application`, `AppProject` and `ApplicationSet` custom resources (read from
//! both `trellis.dev/v1alpha1` and Argo CD's `argoproj.io/v1alpha1`), their
//! CustomResourceDefinitions, the identity of a Kubernetes resource, and the
//! parsing of manifest streams with errors that name file, document and line.
//!
//! It does no I/O: it knows nothing of git, HTTP or the cluster, so render,
//! diff and health logic can depend on it without pulling in a runtime.
//!
//! Reading an Application from a file is two steps: split the file into
//! manifests, then read each manifest as a resource. Unknown fields come back
//! as warnings; invalid values and broken rules as a [`ModelError`] naming
//! file, document and field path.
//!
//! ```
//! use trellis_model::{Application, is_application, manifest::parse_file};
//!
//! let text = "
//! apiVersion: argoproj.io/v1alpha1
//! kind: Application
//! metadata: {name: guestbook}
//! spec:
//!   project: default
//!   source:
//!     repoURL: https://github.com/argoproj/argocd-example-apps.git
//!     path: guestbook
//!     helmm: {}
//!   destination: {server: https://kubernetes.default.svc, namespace: guestbook}
//! ";
//! let manifests = parse_file(text, "apps/guestbook.yaml")?;
//! assert!(is_application(&manifests[0].object));
//! let parsed = Application::from_manifest(&manifests[0])?;
//! assert_eq!(parsed.value.spec.all_sources()[0].path.as_deref(), Some("guestbook"));
//! assert_eq!(
//!     parsed.warnings[0].to_string(),
//!     "apps/guestbook.yaml:1 (document 1): unknown field spec.source.helmm"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`crd::crds`] gives the CustomResourceDefinitions of all three kinds in
//! both groups, generated from these types.
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod application;
pub mod appset;
pub mod crd;
pub mod identity;
pub mod manifest;
pub mod parse;
pub mod project;
pub mod rules;
mod serde_util;
pub mod status;
pub mod validate;

pub use application::{
    Application, ApplicationDestination, ApplicationSource, ApplicationSourceDirectory,
    ApplicationSourceHelm, ApplicationSourceJsonnet, ApplicationSourceKustomize,
    ApplicationSourcePlugin, ApplicationSourceType, ApplicationSpec, Info,
    ResourceIgnoreDifferences, RetryStrategy, SyncPolicy, SyncPolicyAutomated,
};
pub use appset::{ApplicationSet, ApplicationSetSpec, ApplicationSetTemplate};
pub use identity::ResourceKey;
pub use manifest::{
    Manifest, ManifestError, Origin, parse_file, parse_json, parse_yaml_stream, to_yaml,
};
pub use parse::{
    ARGO_GROUP, FieldError, GROUPS, ModelError, Parsed, Resource, TRELLIS_GROUP, VERSION, Warning,
    WarningKind, is_app_project, is_application, is_application_set,
};
pub use project::{AppProject, AppProjectSpec};
pub use status::{ApplicationStatus, HealthStatusCode, Operation, SyncStatusCode};
