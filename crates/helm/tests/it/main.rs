//! Integration tests of trellis-helm; expectations come from real Helm.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod builtins_vs_helm;
mod corpus;
mod crds_vs_helm;
mod examples_vs_helm;
mod fixtures;
mod loading_vs_helm;
mod manifests_vs_helm;
mod reference;
mod render_vs_helm;
mod strvals;
mod support;
mod values_vs_helm;
mod yaml_goldens;
