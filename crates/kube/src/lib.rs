//! The cluster seam: everything Trellis asks of a Kubernetes API server goes
//! through this crate.
//!
//! - [`connect`]: a [`Cluster`] from a kubeconfig (any context) or from the
//!   in-cluster service account, exactly as kubectl would connect.
//! - [`discovery`]: which resource serves a kind, cached per cluster and
//!   refreshed when a kind is not found (a CRD was just created).
//! - [`ops`]: server-side apply (field manager `trellis`), dry-run apply,
//!   replace, get and delete with a propagation policy, retried with backoff on
//!   transient failures.
//! - [`cache`]: a live-state cache fed by watches that select the objects
//!   carrying a tracking label: one writer per kind, many cheap readers, so a
//!   comparison reads memory instead of listing the cluster.
//!
//! - [`argocd_secrets`]: repository and cluster Secrets in Argo CD's format,
//!   read and watched in one namespace, and destinations resolved to a
//!   server by URL or cluster name.
//!
//! Objects cross this seam as `serde_json::Value`: the engine compares
//! arbitrary kinds, custom resources included, and typed structs would only
//! be converted back.
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod argocd_secrets;
pub mod cache;
pub mod connect;
pub mod discovery;
mod error;
pub mod follow;
pub mod lease;
pub mod ops;

pub use cache::{GroupKind, LiveCache, ObjectRef, Store, Writer};
pub use connect::{Cluster, ConnectOptions};
pub use discovery::{Discovery, ResourceInfo};
pub use error::{Error, Result};
pub use ops::{ApplyOptions, DeleteOutcome, Propagation};

/// The field manager Trellis applies with.
pub const FIELD_MANAGER: &str = "trellis";
