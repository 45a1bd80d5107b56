//! Integration tests of the model crate: parsing real-world manifests of
//! both API groups, warnings and errors with paths, round trips, and the
//! generated CRDs (structural, and field-for-field against Argo CD's own).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod argo_schema;
mod corpus;
mod crds;
mod k8s_spec;
mod parsing;
mod roundtrip;

/// Path of a file under the shared test data folder.
pub fn shared(path: &str) -> std::path::PathBuf {
    std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")).join(path)
}

/// The generated CRDs, built once for all tests.
pub fn crds() -> &'static [serde_json::Value] {
    static CRDS: std::sync::OnceLock<Vec<serde_json::Value>> = std::sync::OnceLock::new();
    CRDS.get_or_init(trellis_model::crd::crds)
}
