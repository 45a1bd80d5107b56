//! Reading resources from manifest objects: typed decoding with unknown
//! fields reported as warnings and invalid values as errors, both naming the
//! field path, followed by semantic validation.
//!
//! Decoding goes through `serde_ignored` (to see every field the types do not
//! know) wrapped in `serde_path_to_error` (to know where a value failed), so
//! the paths come from the decoder itself rather than a second walk over the
//! object.

use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::identity::group_of;
use crate::manifest::{Manifest, Origin};

/// Trellis's own API group.
pub const TRELLIS_GROUP: &str = "trellis.dev";
/// Argo CD's API group, read as the same types.
pub const ARGO_GROUP: &str = "argoproj.io";
/// The API version of every kind in both groups.
pub const VERSION: &str = "v1alpha1";
/// The groups whose resources this crate reads, Trellis's first.
pub const GROUPS: [&str; 2] = [TRELLIS_GROUP, ARGO_GROUP];

/// True when the object is an Application of either group (`apiVersion`
/// `<group>/v1alpha1`, kind `Application`).
pub fn is_application(object: &Value) -> bool {
    is_kind(object, "Application")
}

/// True when the object is an AppProject of either group.
pub fn is_app_project(object: &Value) -> bool {
    is_kind(object, "AppProject")
}

/// True when the object is an ApplicationSet of either group.
pub fn is_application_set(object: &Value) -> bool {
    is_kind(object, "ApplicationSet")
}

fn is_kind(object: &Value, kind: &str) -> bool {
    object.get("kind").and_then(Value::as_str) == Some(kind)
        && object
            .get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(is_supported_api_version)
}

/// Whether an `apiVersion` is `v1alpha1` of one of the groups read here.
pub fn is_supported_api_version(api_version: &str) -> bool {
    match api_version.split_once('/') {
        Some((group, version)) => GROUPS.contains(&group) && version == VERSION,
        None => false,
    }
}

/// A decoded value together with the warnings found while reading it.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed<T> {
    /// The value.
    pub value: T,
    /// Things that were accepted but are probably mistakes, such as unknown
    /// fields.
    pub warnings: Vec<Warning>,
}

/// Something accepted in a manifest that is probably a mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Where the object came from.
    pub origin: Origin,
    /// Dotted field path, with list indices as `[i]` (`spec.sources[1].helmm`).
    pub path: String,
    /// What is wrong (`unknown field`).
    pub message: String,
    /// What sort of warning this is.
    pub kind: WarningKind,
}

/// The sorts of warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WarningKind {
    /// A field the types do not know; it is dropped.
    UnknownField,
    /// A known field whose value is accepted but has no effect or is dubious.
    Dubious,
}

impl fmt::Display for Warning {
    /// `<file>:<line> (document N): unknown field spec.source.helmm`, or
    /// `<file>:<line> (document N): <path>: <message>` for other warnings.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            WarningKind::UnknownField => {
                write!(f, "{}: {} {}", self.origin, self.message, self.path)
            }
            WarningKind::Dubious => write!(f, "{}: {}: {}", self.origin, self.path, self.message),
        }
    }
}

/// The message of unknown-field warnings.
pub(crate) const UNKNOWN_FIELD: &str = "unknown field";

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted field path, with list indices as `[i]`; empty for the object itself.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl FieldError {
    /// Builds a field error.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Why a manifest object could not be read as a resource.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// A field has a value of the wrong type or shape, or a required field is
    /// missing.
    #[error("{origin}: {error}")]
    Decode {
        /// Where the object came from.
        origin: Origin,
        /// The field and the decoder's message.
        error: FieldError,
    },
    /// The object decoded but breaks a rule (every broken rule is listed).
    #[error("{origin}: {}", join(errors))]
    Invalid {
        /// Where the object came from.
        origin: Origin,
        /// Every problem found, in field order.
        errors: Vec<FieldError>,
    },
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl ModelError {
    /// Where the object came from.
    pub fn origin(&self) -> &Origin {
        match self {
            ModelError::Decode { origin, .. } | ModelError::Invalid { origin, .. } => origin,
        }
    }

    /// The field problems, one or more.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            ModelError::Decode { error, .. } => std::slice::from_ref(error),
            ModelError::Invalid { errors, .. } => errors,
        }
    }
}

/// A custom resource kind this crate reads and serves a CRD for.
pub trait Resource: DeserializeOwned + serde::Serialize + schemars::JsonSchema {
    /// The kind, e.g. `Application`.
    const KIND: &'static str;
    /// Lower-case plural used in URLs, e.g. `applications`.
    const PLURAL: &'static str;
    /// Lower-case singular, e.g. `application`.
    const SINGULAR: &'static str;
    /// kubectl short names.
    const SHORT_NAMES: &'static [&'static str];

    /// Semantic checks beyond what decoding enforces; empty when valid.
    fn validate(&self) -> Vec<FieldError>;

    /// Extra warnings beyond unknown fields.
    fn lint(&self) -> Vec<FieldError> {
        Vec::new()
    }
}

/// Reads a manifest object as resource `T`: checks `apiVersion` and `kind`,
/// decodes (unknown fields become warnings), then validates.
pub fn parse<T: Resource>(object: &Value, origin: &Origin) -> Result<Parsed<T>, ModelError> {
    check_type_meta(object, T::KIND).map_err(|errors| ModelError::Invalid {
        origin: origin.clone(),
        errors,
    })?;
    let (value, unknown) = decode::<T>(object).map_err(|error| ModelError::Decode {
        origin: origin.clone(),
        error,
    })?;
    let errors = value.validate();
    if !errors.is_empty() {
        return Err(ModelError::Invalid {
            origin: origin.clone(),
            errors,
        });
    }
    let mut warnings: Vec<Warning> = unknown
        .into_iter()
        .map(|path| Warning {
            origin: origin.clone(),
            path,
            message: UNKNOWN_FIELD.to_string(),
            kind: WarningKind::UnknownField,
        })
        .collect();
    warnings.extend(value.lint().into_iter().map(|e| Warning {
        origin: origin.clone(),
        kind: if e.message == UNKNOWN_FIELD {
            WarningKind::UnknownField
        } else {
            WarningKind::Dubious
        },
        path: e.path,
        message: e.message,
    }));
    Ok(Parsed { value, warnings })
}

/// Reads a [`Manifest`] as resource `T`; see [`parse`].
pub fn parse_manifest<T: Resource>(manifest: &Manifest) -> Result<Parsed<T>, ModelError> {
    parse(&manifest.object, &manifest.origin)
}

fn check_type_meta(object: &Value, kind: &str) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if !object.is_object() {
        return Err(vec![FieldError::new("", "expected an object")]);
    }
    match object.get("apiVersion").and_then(Value::as_str) {
        None => errors.push(FieldError::new("apiVersion", "missing")),
        Some(api_version) if !is_supported_api_version(api_version) => {
            let group = group_of(api_version);
            let message = if GROUPS.contains(&group) {
                format!("unsupported version in {api_version:?}; expected {group}/{VERSION}")
            } else {
                format!(
                    "unsupported group in {api_version:?}; expected {TRELLIS_GROUP}/{VERSION} or {ARGO_GROUP}/{VERSION}"
                )
            };
            errors.push(FieldError::new("apiVersion", message));
        }
        Some(_) => {}
    }
    match object.get("kind").and_then(Value::as_str) {
        Some(k) if k == kind => {}
        Some(other) => errors.push(FieldError::new(
            "kind",
            format!("expected {kind}, found {other:?}"),
        )),
        None => errors.push(FieldError::new("kind", "missing")),
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Decodes `T` from a JSON value, returning it with the paths of every field
/// it did not know.
pub fn decode<T: DeserializeOwned>(object: &Value) -> Result<(T, Vec<String>), FieldError> {
    decode_at(object, "")
}

/// Like [`decode`], for a value found at `prefix` inside a larger object, so
/// paths in warnings and errors are complete.
pub fn decode_at<T: DeserializeOwned>(
    object: &Value,
    prefix: &str,
) -> Result<(T, Vec<String>), FieldError> {
    let mut unknown = Vec::new();
    let mut track = serde_path_to_error::Track::new();
    let result = {
        let mut on_ignored = |path: serde_ignored::Path<'_>| {
            unknown.push(join_path(prefix, &ignored_path(&path)));
        };
        let ignored = serde_ignored::Deserializer::new(object, &mut on_ignored);
        let tracked = serde_path_to_error::Deserializer::new(ignored, &mut track);
        T::deserialize(tracked)
    };
    match result {
        Ok(value) => Ok((value, unknown)),
        Err(error) => {
            let path = track.path();
            let mut path = join_path(prefix, &error_path(&path));
            let mut message = error.to_string();
            // serde reports a missing field at the object that lacks it; name
            // the field itself, which is what a user looks for.
            if let Some(field) = missing_field(&message) {
                path = join_path(&path, &field);
                message = "required field is missing".to_string();
            }
            Err(FieldError::new(path, message))
        }
    }
}

fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    let (field, _) = rest.split_once('`')?;
    Some(field.to_string())
}

/// Appends a relative path (which may start with `[i]`) to a prefix.
pub(crate) fn join_path(prefix: &str, rest: &str) -> String {
    match (prefix.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_string(),
        (false, true) => prefix.to_string(),
        (false, false) if rest.starts_with('[') => format!("{prefix}{rest}"),
        (false, false) => format!("{prefix}.{rest}"),
    }
}

fn error_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            serde_path_to_error::Segment::Map { key } => push_key(&mut out, key),
            serde_path_to_error::Segment::Enum { variant } => push_key(&mut out, variant),
            serde_path_to_error::Segment::Unknown => push_key(&mut out, "?"),
        }
    }
    out
}

fn ignored_path(path: &serde_ignored::Path<'_>) -> String {
    match path {
        serde_ignored::Path::Root => String::new(),
        serde_ignored::Path::Seq { parent, index } => {
            format!("{}[{index}]", ignored_path(parent))
        }
        serde_ignored::Path::Map { parent, key } => {
            let mut out = ignored_path(parent);
            push_key(&mut out, key);
            out
        }
        serde_ignored::Path::Some { parent }
        | serde_ignored::Path::NewtypeStruct { parent }
        | serde_ignored::Path::NewtypeVariant { parent } => ignored_path(parent),
    }
}

fn push_key(out: &mut String, key: &str) {
    if !out.is_empty() {
        out.push('.');
    }
    out.push_str(key);
}

/// `from_manifest`/`from_value` constructors for a resource type.
macro_rules! resource_constructors {
    ($($ty:ty),*) => {$(
        impl $ty {
            /// Reads a manifest as this kind; unknown fields become warnings,
            /// invalid values errors naming file, document and field path.
            pub fn from_manifest(manifest: &Manifest) -> Result<Parsed<Self>, ModelError> {
                parse(&manifest.object, &manifest.origin)
            }

            /// Reads an object as this kind; `origin` is used in messages.
            pub fn from_value(object: &Value, origin: &Origin) -> Result<Parsed<Self>, ModelError> {
                parse(object, origin)
            }

            /// The object as JSON, omitting empty optional fields.
            pub fn to_value(&self) -> Result<Value, serde_json::Error> {
                serde_json::to_value(self)
            }
        }
    )*};
}

resource_constructors!(
    crate::application::Application,
    crate::project::AppProject,
    crate::appset::ApplicationSet
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recognises_applications_of_both_groups() {
        for group in GROUPS {
            let app = json!({"apiVersion": format!("{group}/v1alpha1"), "kind": "Application"});
            assert!(is_application(&app));
        }
        assert!(!is_application(
            &json!({"apiVersion": "argoproj.io/v1beta1", "kind": "Application"})
        ));
        assert!(!is_application(
            &json!({"apiVersion": "example.com/v1alpha1", "kind": "Application"})
        ));
        assert!(!is_application(
            &json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject"})
        ));
    }

    #[test]
    fn paths_join_with_dots_and_brackets() {
        assert_eq!(join_path("", "a.b"), "a.b");
        assert_eq!(join_path("spec", "[0].x"), "spec[0].x");
        assert_eq!(join_path("spec", "x"), "spec.x");
        assert_eq!(join_path("spec", ""), "spec");
    }

    #[test]
    fn warning_display_names_origin_and_path() {
        let warning = Warning {
            origin: Origin {
                file: "apps/web.yaml".into(),
                document: 2,
                line: 3,
            },
            path: "spec.source.helmm".into(),
            message: "unknown field".into(),
            kind: WarningKind::UnknownField,
        };
        assert_eq!(
            warning.to_string(),
            "apps/web.yaml:3 (document 2): unknown field spec.source.helmm"
        );
    }
}
