//! Sync-engine scenarios against the embedded cluster, reached through a
//! kubeconfig over HTTP; assertions on cluster content and on the cluster's
//! request audit log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod compare;
mod support;
mod sync;
mod workloads;
