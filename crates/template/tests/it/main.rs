//! Integration tests of trellis-template.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod exec;
mod golden;
mod robust;
