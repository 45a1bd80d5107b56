//! Integration tests of trellis-helm; expectations come from real Helm.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod corpus;
mod fixtures;
mod loading_vs_helm;
mod manifests_vs_helm;
mod reference;
mod strvals;
mod support;
mod values_vs_helm;
mod yaml_goldens;
