//! The sync engine: compare desired manifests with another state, and (as it
//! grows) plan and execute syncs and assess health.
//!
//! Everything here is pure: it takes manifests and returns results, and knows
//! nothing of where the manifests came from (git, Helm, a cluster).
#![warn(missing_docs)]

pub mod diff;
