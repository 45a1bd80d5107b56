//! Errors of the engine's IO parts.

use trellis_model::ResourceKey;

/// Why a comparison or sync could not be done at all (per-resource failures
/// are results, not errors).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The cluster failed.
    #[error(transparent)]
    Kube(#[from] trellis_kube::Error),
    /// An `ignoreDifferences` rule is invalid.
    #[error(transparent)]
    Ignore(#[from] crate::normalize::NormalizeError),
    /// There is no plan (the render failed, or an annotation is invalid).
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    /// A desired manifest cannot be used.
    #[error("{origin}: {message}")]
    Manifest {
        /// Where the manifest came from.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// Two desired manifests name the same resource.
    #[error("{key} is declared twice ({first} and {second})")]
    Duplicate {
        /// The resource.
        key: ResourceKey,
        /// The first manifest's origin.
        first: String,
        /// The second manifest's origin.
        second: String,
    },
}

/// A module-local result.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
