//! Errors: [`ServerError`] for the library's own calls, [`ApiError`] for
//! HTTP answers.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A module-local result.
pub type Result<T, E = ServerError> = std::result::Result<T, E>;

/// Why the server, or an account operation, failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: String,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// Serving HTTP failed.
    #[error("serving HTTP: {0}")]
    Serve(#[source] std::io::Error),
    /// The cluster failed.
    #[error(transparent)]
    Kube(#[from] trellis_kube::Error),
    /// The accounts Secret holds something unreadable.
    #[error("Secret {namespace}/{name}: {message}")]
    Secret {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A password could not be hashed, or a stored hash is unreadable.
    #[error("password hash: {0}")]
    Hash(String),
    /// A request to create a token or set a password was invalid.
    #[error("{0}")]
    Invalid(String),
    /// The accounts Secret kept changing under concurrent writers.
    #[error("Secret {0} changed concurrently too often; try again")]
    Contended(String),
    /// A blocking task panicked or was cancelled.
    #[error("background task: {0}")]
    Task(String),
}

/// An HTTP error answer: a status and a message, sent as
/// `{"error": message, "code": status}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed or invalid.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such thing (or the caller may not know of it).
    #[error("{0}")]
    NotFound(String),
    /// 405: the path does not take this method.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 409: the object changed since it was read, or is busy.
    #[error("{0}")]
    Conflict(String),
    /// 429: too many failed logins; try again after this many seconds.
    #[error("{0}")]
    TooManyRequests(String, u64),
    /// 415: a body in a format not understood.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 500: the server failed.
    #[error("{0}")]
    Internal(String),
    /// 502: the cluster failed to answer.
    #[error("{0}")]
    BadGateway(String),
    /// 503: not ready yet.
    #[error("{0}")]
    Unavailable(String),
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests(..) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The error of a failed cluster call: the cluster's own 404 and 409
    /// keep their meaning, a refused request is the cluster's fault (502).
    pub(crate) fn from_kube(error: trellis_kube::Error) -> Self {
        match error.code() {
            Some(404) => ApiError::NotFound(error.to_string()),
            Some(409) => ApiError::Conflict(error.to_string()),
            Some(400 | 422) => ApiError::BadRequest(error.to_string()),
            _ => ApiError::BadGateway(error.to_string()),
        }
    }
}

impl From<ServerError> for ApiError {
    fn from(error: ServerError) -> Self {
        match error {
            ServerError::Kube(e) => ApiError::from_kube(e),
            ServerError::Invalid(m) => ApiError::BadRequest(m),
            ServerError::Contended(_) => ApiError::Conflict(error.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = json!({"error": self.to_string(), "code": status.as_u16()});
        let mut response = (status, Json(body)).into_response();
        if let ApiError::TooManyRequests(_, seconds) = &self
            && let Ok(value) = axum::http::HeaderValue::from_str(&seconds.to_string())
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
        response
    }
}
