//! Integration tests: a real cluster on a random port, driven by the real `kubectl`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod crd;
mod durability;
mod faults;
mod gc;
mod http;
mod input;
mod ssa;
mod support;
mod watch;
mod workloads;
