//! Helpers shared by the integration tests.

use trellis_helm::{Map, Value};

/// A JSON value as Helm holds it after Go's `encoding/json` read it:
/// every number a float64.
pub fn go_json_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap()),
        serde_json::Value::String(s) => Value::str(s),
        serde_json::Value::Array(a) => Value::list(a.iter().map(go_json_value).collect()),
        serde_json::Value::Object(o) => {
            let mut m = Map::new();
            for (k, v) in o {
                m.insert(k.clone(), go_json_value(v));
            }
            Value::map(m)
        }
    }
}

/// The directory holding this crate's test data.
pub fn data_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}
