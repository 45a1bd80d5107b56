//! Integration tests of trellis-helm; expectations come from real Helm.

mod corpus;
mod reference;
mod strvals;
mod support;
mod values_vs_helm;
mod yaml_goldens;
