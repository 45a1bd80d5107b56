//! Integration tests of ApplicationSet generation and reconciliation, against
//! real git repositories and the embedded cluster.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod generate;
mod reconcile;
mod support;
