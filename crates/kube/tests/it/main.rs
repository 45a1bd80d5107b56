//! Integration tests of the cluster seam against the embedded cluster,
//! reached through a kubeconfig over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cache;
mod lease;
mod ops;
mod support;
