//! Integration tests of trellis-template.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod crypto;
mod exec;
mod golden;
mod robust;
