//! The controller's errors.

/// Why a reconcile, a sync or the controller itself failed.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    /// The cluster refused or failed a request.
    #[error(transparent)]
    Kube(#[from] trellis_kube::Error),
    /// The sync engine failed (not a failed sync: those are recorded in the
    /// Application's status).
    #[error(transparent)]
    Engine(Box<trellis_engine::EngineError>),
    /// An object could not be turned into JSON or back.
    #[error("{what}: {source}")]
    Json {
        /// What was being encoded or decoded.
        what: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The HTTP listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The repository cache could not be set up.
    #[error(transparent)]
    Source(Box<trellis_source::SourceError>),
    /// A blocking task panicked or was cancelled.
    #[error("background task failed: {0}")]
    Task(String),
}

// Boxed: these errors are large, and a reconcile's result is passed around
// on every call.
impl From<trellis_engine::EngineError> for ControllerError {
    fn from(e: trellis_engine::EngineError) -> Self {
        Self::Engine(Box::new(e))
    }
}

impl From<trellis_source::SourceError> for ControllerError {
    fn from(e: trellis_source::SourceError) -> Self {
        Self::Source(Box::new(e))
    }
}

/// The controller's result type.
pub type Result<T, E = ControllerError> = std::result::Result<T, E>;

pub(crate) fn json(what: impl Into<String>) -> impl FnOnce(serde_json::Error) -> ControllerError {
    let what = what.into();
    move |source| ControllerError::Json { what, source }
}
