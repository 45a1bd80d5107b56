//! YAML as Helm reads and writes it.
//!
//! Helm's `toYaml` is `sigs.k8s.io/yaml.Marshal`: the value is written as
//! JSON by Go's `encoding/json`, read back by go-yaml v2, and emitted by
//! go-yaml v2. Every step leaves a mark on the output (integers that were
//! floats print as integers, keys sort "naturally", strings that YAML 1.1
//! would read as something else are double-quoted, long plain strings fold
//! at column 80), so each step is reproduced here rather than using a
//! general-purpose YAML writer. Reading goes the other way (go-yaml v2, then
//! JSON), which is why every number read from YAML is a float64.

mod emit;
mod node;
mod read;
mod resolve;

use trellis_template::Value;

#[allow(unused_imports)]
pub(crate) use node::{key_less, merge_sort};

pub use read::from_yaml_value;
pub(crate) use read::{GoValue, decode_first_document, go_as_string, to_json_value};

/// Errors reading or writing YAML.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum YamlError {
    /// The text is not valid YAML.
    #[error("yaml: line {line}: column {column}: {message}")]
    Syntax {
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A collection was used as a mapping key.
    #[error("yaml: line {line}: invalid map key: a collection")]
    InvalidKey {
        /// 1-based line of the key.
        line: usize,
    },
    /// A `<<` merge key's value is not a mapping or a list of mappings.
    #[error("yaml: line {line}: map merge requires map or sequence of maps as the value")]
    BadMerge {
        /// 1-based line of the merge.
        line: usize,
    },
    /// An explicit tag disagrees with the scalar (`!!int abc`).
    #[error("yaml: line {line}: cannot decode !!{resolved} `{value}` as a !!{tag}")]
    TagMismatch {
        /// 1-based line of the scalar.
        line: usize,
        /// The scalar text.
        value: String,
        /// What the text resolves to.
        resolved: String,
        /// The tag it carries.
        tag: String,
    },
    /// The document expands mostly from aliases (an alias bomb).
    #[error("yaml: document contains excessive aliasing")]
    ExcessiveAliasing,
    /// A mapping key JSON cannot represent (null, huge integers).
    #[error("unsupported map key: {0}")]
    UnsupportedKey(String),
    /// A value JSON cannot represent (infinities, NaN), named as Go names it.
    #[error("json: unsupported value: {0}")]
    UnsupportedValue(String),
    /// A character go-yaml's reader rejects, met while converting through
    /// JSON (`control characters are not allowed`).
    #[error("yaml: control characters are not allowed (U+{0:04X})")]
    ControlCharacter(u32),
    /// A value of a type that cannot be marshalled (functions, host objects).
    #[error("json: unsupported type: {0}")]
    UnsupportedType(String),
}

/// `sigs.k8s.io/yaml.Marshal(v)`: the complete document, ending in a line
/// break.
pub fn marshal_yaml(v: &Value) -> Result<String, YamlError> {
    let node = node::json_roundtrip_node(v)?;
    Ok(emit::emit_document(&node, emit::Flavor::V2))
}

/// Helm's `toYaml`: [`marshal_yaml`] without its final line break, or the
/// empty string when the value cannot be marshalled (Helm swallows the
/// error inside templates).
pub fn to_yaml(v: &Value) -> String {
    match marshal_yaml(v) {
        Ok(mut s) => {
            if s.ends_with('\n') {
                s.pop();
            }
            s
        }
        Err(_) => String::new(),
    }
}

/// Helm's `mustToYaml`: like [`to_yaml`] but the error is reported.
pub fn must_to_yaml(v: &Value) -> Result<String, YamlError> {
    let mut s = marshal_yaml(v)?;
    if s.ends_with('\n') {
        s.pop();
    }
    Ok(s)
}

/// Helm's `toYamlPretty`: go-yaml v3 with a 2-space indent applied to the
/// value directly (no JSON round trip), so sequences are indented under
/// their key, floats keep float formatting and lines are never folded.
pub fn to_yaml_pretty(v: &Value) -> String {
    match node::direct_node(v) {
        Ok(node) => {
            let mut s = emit::emit_document(&node, emit::Flavor::V3);
            if s.ends_with('\n') {
                s.pop();
            }
            s
        }
        Err(_) => String::new(),
    }
}

/// Reads `text` as Helm reads a values file or `fromYaml` input (see
/// [`from_yaml_value`]); the result is a map, and an empty document is an
/// empty map.
pub fn from_yaml(text: &str) -> Result<Value, YamlError> {
    match from_yaml_value(text)? {
        Value::Nil => Ok(Value::map(Default::default())),
        v => Ok(v),
    }
}
