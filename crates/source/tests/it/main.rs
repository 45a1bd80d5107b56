//! Integration tests of `trellis-source` against real git repositories.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod concurrency;
mod errors;
mod fetch;
mod http;
mod paths;
mod repo_map;
mod resolve;
mod ssh;
