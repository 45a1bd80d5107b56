//! The sync engine: compare desired manifests with the cluster, plan and
//! execute syncs, assess health.
//!
//! The pure parts ([`diff`], [`normalize`], [`health`], [`plan`],
//! [`tracking`]) take objects and return results, knowing nothing of where the
//! objects came from. The IO parts ([`compare`], [`sync`]) drive them against a
//! cluster through `trellis-kube`.
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod compare;
mod delete;
pub mod diff;
mod engine;
mod error;
pub mod health;
pub mod normalize;
pub mod plan;
pub mod sync;
pub mod tracking;

pub use delete::AppDeletion;
pub use engine::{Engine, EngineOptions, Prepared, app_id};
pub use error::EngineError;
