//! The OpenAPI description of the API, written by hand beside the routes
//! and served at `/api/openapi.json`.
//!
//! Each operation carries `x-trellis-permission`: `public`,
//! `authenticated`, an application action (`get`, `sync`, `create`,
//! `update`, `delete`) or `admin`. The integration tests walk every
//! operation and check that it refuses callers without that permission, so
//! a route added without a description, or described with the wrong
//! permission, fails them.

use serde_json::Value;

/// The document's text.
pub const DOCUMENT: &str = include_str!("openapi.json");

/// The document, parsed.
pub fn document() -> Value {
    // The text is part of the binary and checked by a test; an unreadable
    // one would be a build defect, answered as an empty document.
    serde_json::from_str(DOCUMENT).unwrap_or(Value::Null)
}

/// Every (method, path template, permission) the document describes.
pub fn operations() -> Vec<(String, String, String)> {
    let doc = document();
    let mut out = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return out;
    };
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, operation) in item {
            if !["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                continue;
            }
            let permission = operation
                .get("x-trellis-permission")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            out.push((method.to_uppercase(), path.clone(), permission));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_names_its_permission() {
        let ops = operations();
        assert!(ops.len() >= 20, "{ops:?}");
        let known = [
            "public",
            "authenticated",
            "get",
            "sync",
            "create",
            "update",
            "delete",
            "admin",
        ];
        for (method, path, permission) in &ops {
            assert!(
                known.contains(&permission.as_str()),
                "{method} {path}: permission '{permission}'"
            );
        }
        let doc = document();
        for (method, path, permission) in &ops {
            let security = doc["paths"][path][method.to_lowercase()].get("security");
            let public = security
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty);
            assert_eq!(public, permission == "public", "{method} {path}");
        }
    }
}
