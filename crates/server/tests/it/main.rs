//! Integration tests of the HTTP API: a server against the embedded
//! cluster, called over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod actions;
mod apps;
mod auth;
mod destinations;

mod openapi;
mod resources;
mod stream;
mod support;
mod ui;
