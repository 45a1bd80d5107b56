//! Request bodies: small JSON requests, and Application documents sent as
//! JSON (a form) or YAML (pasted), read with errors that name the line.

use axum::body::Bytes;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;
use serde_json::Value;
use trellis_model::{Application, Manifest, Parsed};

use crate::error::ApiError;

/// The name request bodies go by in error messages.
const BODY: &str = "request body";

/// Reads a JSON request; an empty body is `T::default()`.
pub(crate) fn json<T: DeserializeOwned + Default>(body: &Bytes) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("{BODY}: {e}")))
}

/// Whether the body is YAML, by its content type.
fn is_yaml(headers: &HeaderMap) -> Result<bool, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" | "" => Ok(false),
        "application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml" | "text/plain" => {
            Ok(true)
        }
        other => Err(ApiError::UnsupportedMediaType(format!(
            "content type '{other}': send application/json or application/yaml"
        ))),
    }
}

/// An Application document, read and validated.
pub(crate) struct AppDocument {
    /// The object as sent (unknown fields and all).
    pub object: Value,
    /// The typed Application.
    pub app: Application,
    /// Unknown fields and other warnings, in words.
    pub warnings: Vec<String>,
}

/// Reads one Application from a JSON or YAML body.
pub(crate) fn application(headers: &HeaderMap, body: &Bytes) -> Result<AppDocument, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::BadRequest(format!("{BODY}: not UTF-8: {e}")))?;
    if text.trim().is_empty() {
        return Err(ApiError::BadRequest(format!(
            "{BODY} is empty: send an Application"
        )));
    }
    let manifests: Vec<Manifest> = if is_yaml(headers)? {
        trellis_model::parse_yaml_stream(text, BODY)
    } else {
        trellis_model::parse_json(text, BODY)
    }
    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let manifest = match manifests.as_slice() {
        [one] => one,
        [] => {
            return Err(ApiError::BadRequest(format!(
                "{BODY} holds no object: send one Application"
            )));
        }
        [_, second, ..] => {
            return Err(ApiError::BadRequest(format!(
                "{}: a second document; send one Application at a time",
                second.origin
            )));
        }
    };
    let Parsed { value, warnings } =
        Application::from_manifest(manifest).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(AppDocument {
        object: manifest.object.clone(),
        app: value,
        warnings: warnings.iter().map(ToString::to_string).collect(),
    })
}
