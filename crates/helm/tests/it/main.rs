//! Integration tests of trellis-helm; expectations come from real Helm.

mod corpus;
mod manifests_vs_helm;
mod reference;
mod strvals;
mod support;
mod values_vs_helm;
mod yaml_goldens;
