//! Integration tests of trellis-helm; expectations come from real Helm.

mod reference;
mod strvals;
mod support;
mod yaml_goldens;
