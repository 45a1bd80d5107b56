//! End-to-end tests of the `trellis` command: the real binary over real git
//! repositories made by the tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod cluster;
mod cluster_sync;
mod controller;
mod controller_flows;
mod crds;
mod install;
mod preview;
mod remote;
mod render;
mod server;
mod support;
mod tree;
mod up;
