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
#![warn(missing_docs)]

pub mod identity;
pub mod manifest;

pub use identity::ResourceKey;
pub use manifest::{Manifest, ManifestError, Origin};
