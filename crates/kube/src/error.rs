//! Errors of the cluster seam.

use std::path::PathBuf;

/// A module-local result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a cluster operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kubeconfig file could not be read or parsed.
    #[error("kubeconfig {path}: {source}")]
    Kubeconfig {
        /// The file (or `$KUBECONFIG`/`~/.kube/config` when inferred).
        path: PathBuf,
        /// The loader's error.
        #[source]
        source: Box<kube::config::KubeconfigError>,
    },
    /// The in-cluster service-account configuration is unavailable.
    #[error("in-cluster configuration: {0}")]
    InCluster(#[source] Box<kube::config::InClusterError>),
    /// The HTTP client could not be built from the configuration.
    #[error("cannot build a client for {server}: {source}")]
    Client {
        /// The API server URL.
        server: String,
        /// The client error.
        #[source]
        source: Box<kube::Error>,
    },
    /// The server does not serve this kind (after refreshing discovery).
    #[error("the server has no resource for {api_version} {kind}")]
    UnknownKind {
        /// The object's apiVersion (or group when no version was given).
        api_version: String,
        /// The kind.
        kind: String,
    },
    /// An object lacks what an operation needs (apiVersion, kind, name).
    #[error("invalid object: {0}")]
    InvalidObject(String),
    /// The API server answered with an error status.
    #[error("{verb} {what}: {message} ({code} {reason})")]
    Api {
        /// The operation: `apply`, `get`, `delete`, ...
        verb: &'static str,
        /// The object, as `Kind namespace/name`.
        what: String,
        /// HTTP status code.
        code: u16,
        /// The status reason (`Conflict`, `NotFound`, ...).
        reason: String,
        /// The server's message.
        message: String,
    },
    /// The request did not reach the server or its answer was unreadable.
    #[error("{verb} {what}: {source}")]
    Transport {
        /// The operation.
        verb: &'static str,
        /// The object.
        what: String,
        /// The client error.
        #[source]
        source: Box<kube::Error>,
    },
    /// Waiting for the cache exceeded its deadline.
    #[error("live-state cache for {0} not ready in time")]
    CacheTimeout(String),
}

impl Error {
    /// The HTTP status code of an API error, if this is one.
    pub fn code(&self) -> Option<u16> {
        match self {
            Error::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether the server refused because another field manager owns a field.
    pub fn is_conflict(&self) -> bool {
        self.code() == Some(409)
    }

    /// Whether the object does not exist.
    pub fn is_not_found(&self) -> bool {
        self.code() == Some(404)
    }

    /// Whether retrying the same request may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Api { code, .. } => matches!(code, 429 | 500 | 502 | 503 | 504),
            Error::Transport { .. } => true,
            _ => false,
        }
    }

    pub(crate) fn from_kube(verb: &'static str, what: String, err: kube::Error) -> Self {
        match err {
            kube::Error::Api(status) => Error::Api {
                verb,
                what,
                code: status.code,
                reason: status.reason.clone(),
                message: status.message.clone(),
            },
            other => Error::Transport {
                verb,
                what,
                source: Box::new(other),
            },
        }
    }
}
