//! CustomResourceDefinitions for `Application`, `AppProject` and
//! `ApplicationSet`, in both `trellis.dev` and `argoproj.io`, generated from
//! the Rust types.
//!
//! The schemas come from `schemars` and are then rewritten into Kubernetes
//! *structural* schemas: every subschema inlined, `Option` expressed by
//! leaving a field out of `required` (never `anyOf` with `null`), free-form
//! values marked `x-kubernetes-preserve-unknown-fields`, and only the
//! keywords the API server accepts. [`structural_violations`] checks the
//! result, so a type change that produces something the API server would
//! reject fails the tests rather than a cluster install.
//!
//! # Deviation
//! Argo CD's Application CRD has no status subresource (its controller writes
//! status with the main object). Trellis enables it for all three kinds, so a
//! `kubectl apply` of an Application never clobbers its status and the
//! controller writes status through `/status`.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value, json};

use crate::application::Application;
use crate::appset::ApplicationSet;
use crate::parse::{GROUPS, Resource, VERSION};
use crate::project::AppProject;

/// The CRDs of every kind in both groups (6 objects): Trellis's group first,
/// then Argo CD's, each in the order Application, AppProject, ApplicationSet.
pub fn crds() -> Vec<Value> {
    let mut out = Vec::with_capacity(6);
    for group in GROUPS {
        out.push(crd::<Application>(group));
        out.push(crd::<AppProject>(group));
        out.push(crd::<ApplicationSet>(group));
    }
    out
}

/// The `apiextensions.k8s.io/v1` CRD of resource `T` in `group`.
pub fn crd<T: Resource>(group: &str) -> Value {
    let mut version = json!({
        "name": VERSION,
        "served": true,
        "storage": true,
        "schema": {"openAPIV3Schema": schema_for::<T>()},
        "subresources": {"status": {}},
    });
    let columns = printer_columns(T::KIND);
    if !columns.is_empty() {
        version["additionalPrinterColumns"] = Value::Array(columns);
    }
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": format!("{}.{group}", T::PLURAL),
            "labels": {
                "app.kubernetes.io/name": format!("{}.{group}", T::PLURAL),
                "app.kubernetes.io/part-of": "trellis",
            },
        },
        "spec": {
            "group": group,
            "names": {
                "kind": T::KIND,
                "listKind": format!("{}List", T::KIND),
                "plural": T::PLURAL,
                "singular": T::SINGULAR,
                "shortNames": T::SHORT_NAMES,
                "categories": ["trellis"],
            },
            "scope": "Namespaced",
            "versions": [version],
        },
    })
}

fn printer_columns(kind: &str) -> Vec<Value> {
    match kind {
        "Application" => vec![
            json!({"name": "Sync Status", "type": "string", "jsonPath": ".status.sync.status"}),
            json!({"name": "Health Status", "type": "string", "jsonPath": ".status.health.status"}),
            json!({"name": "Revision", "type": "string", "jsonPath": ".status.sync.revision", "priority": 10}),
            json!({"name": "Project", "type": "string", "jsonPath": ".spec.project", "priority": 10}),
            json!({"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}),
        ],
        _ => Vec::new(),
    }
}

/// The structural OpenAPI v3 schema of resource `T`, as it appears under
/// `openAPIV3Schema`.
pub fn schema_for<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft2020_12()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator();
    let mut root = generator.into_root_schema_for::<T>().to_value();
    make_structural(&mut root);
    if let Some(object) = root.as_object_mut() {
        object.remove("title");
        // The API server fills in apiVersion and kind; only metadata and spec
        // are required of a stored object (as in Argo CD's CRDs).
        if let Some(Value::Array(required)) = object.get_mut("required") {
            required.retain(|r| r != "apiVersion" && r != "kind");
        }
        if let Some(Value::Object(properties)) = object.get_mut("properties") {
            // Object metadata is validated by the API server itself; a CRD
            // may only say that it is an object.
            properties.insert("metadata".to_string(), json!({"type": "object"}));
        }
    }
    root
}

/// Schema of a free-form JSON object (Helm `valuesObject`).
pub(crate) fn preserve_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// Schema of a list of free-form JSON values (list generator `elements`).
pub(crate) fn preserve_list(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": {"x-kubernetes-preserve-unknown-fields": true},
    })
}

/// Keywords a CRD schema node may carry (those of `JSONSchemaProps`, less the
/// `$ref`/`definitions` machinery that structural schemas forbid).
const ALLOWED_KEYWORDS: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "properties",
    "additionalProperties",
    "items",
    "required",
    "enum",
    "maximum",
    "minimum",
    "exclusiveMaximum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "multipleOf",
    "maxProperties",
    "minProperties",
    "nullable",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "default",
    "example",
    "externalDocs",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-int-or-string",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-validations",
];

/// Formats the API server knows; schemars' others (`uint32`, ...) are dropped.
const KNOWN_FORMATS: &[&str] = &[
    "int32",
    "int64",
    "float",
    "double",
    "byte",
    "binary",
    "date",
    "date-time",
    "password",
];

const TYPES: &[&str] = &["object", "array", "string", "integer", "number", "boolean"];

/// Rewrites a schemars schema node (and everything under it) into a
/// structural one.
fn make_structural(node: &mut Value) {
    // `true` (any value) becomes "keep whatever is there".
    if node.as_bool() == Some(true) || node.as_object().is_some_and(Map::is_empty) {
        *node = json!({"x-kubernetes-preserve-unknown-fields": true});
        return;
    }
    let Some(object) = node.as_object_mut() else {
        return;
    };
    collapse_nullable(object);
    collapse_enum_variants(object);
    if let Some(constant) = object.remove("const") {
        object.insert("enum".to_string(), Value::Array(vec![constant]));
    }
    if let Some(Value::Array(types)) = object.get("type") {
        let non_null: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        if non_null.len() == 1 {
            object.insert("type".to_string(), non_null[0].clone());
        }
    }
    if let Some(Value::Array(values)) = object.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    if object.contains_key("enum") && !object.contains_key("type") {
        let ty = enum_type(object.get("enum"));
        if let Some(ty) = ty {
            object.insert("type".to_string(), Value::String(ty.to_string()));
        }
    }
    if let Some(Value::String(format)) = object.get("format")
        && !KNOWN_FORMATS.contains(&format.as_str())
    {
        object.remove("format");
    }
    if object.get("additionalProperties") == Some(&Value::Bool(false)) {
        object.remove("additionalProperties");
    }
    object.retain(|k, _| ALLOWED_KEYWORDS.contains(&k.as_str()) && k != "default");
    // A schema that constrains nothing (only a description left) accepts any
    // value; say so in the form the API server understands.
    const SHAPING: &[&str] = &[
        "type",
        "properties",
        "additionalProperties",
        "items",
        "enum",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-int-or-string",
    ];
    if !object.keys().any(|k| SHAPING.contains(&k.as_str())) {
        object.insert(
            "x-kubernetes-preserve-unknown-fields".to_string(),
            Value::Bool(true),
        );
    }
    if let Some(Value::Object(properties)) = object.get_mut("properties") {
        for child in properties.values_mut() {
            make_structural(child);
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = object.get_mut(key) {
            make_structural(child);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(children)) = object.get_mut(key) {
            for child in children {
                make_structural(child);
            }
        }
    }
}

/// `anyOf: [X, {type: null}]` (how an `Option` may be expressed) becomes X,
/// keeping the outer node's description.
fn collapse_nullable(object: &mut Map<String, Value>) {
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(branches)) = object.get(key) else {
            continue;
        };
        let non_null: Vec<&Value> = branches
            .iter()
            .filter(|b| b.get("type") != Some(&Value::String("null".to_string())))
            .collect();
        if non_null.len() == 1 && branches.len() == 2 {
            let inner = non_null[0].clone();
            object.remove(key);
            if let Value::Object(inner) = inner {
                for (k, v) in inner {
                    object.entry(k).or_insert(v);
                }
            }
        }
    }
}

/// A unit-variant enum with documented variants comes out of schemars as
/// `oneOf: [{const, description}, ...]`; structural schemas want `enum`.
fn collapse_enum_variants(object: &mut Map<String, Value>) {
    let Some(Value::Array(branches)) = object.get("oneOf") else {
        return;
    };
    let mut values = Vec::new();
    for branch in branches {
        let Some(branch) = branch.as_object() else {
            return;
        };
        if let Some(constant) = branch.get("const") {
            values.push(constant.clone());
        } else if let Some(Value::Array(list)) = branch.get("enum") {
            values.extend(list.iter().cloned());
        } else {
            return;
        }
    }
    object.remove("oneOf");
    let ty = enum_type(Some(&Value::Array(values.clone())));
    object.insert("enum".to_string(), Value::Array(values));
    if let Some(ty) = ty {
        object.insert("type".to_string(), Value::String(ty.to_string()));
    }
}

fn enum_type(values: Option<&Value>) -> Option<&'static str> {
    let values = values?.as_array()?;
    if values.iter().all(Value::is_string) {
        Some("string")
    } else if values.iter().all(Value::is_i64) {
        Some("integer")
    } else {
        None
    }
}

/// Every way in which `schema` is not a structural schema, each naming the
/// path of the offending node; empty when it is structural.
pub fn structural_violations(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check_node(schema, "openAPIV3Schema", false, &mut out);
    if let Some(metadata) = schema.pointer("/properties/metadata") {
        let allowed = metadata.as_object().is_some_and(|m| {
            m.keys().all(|k| k == "type" || k == "description")
                && m.get("type") == Some(&Value::String("object".to_string()))
        });
        if !allowed {
            out.push("openAPIV3Schema.properties.metadata: may only be {type: object}".to_string());
        }
    }
    out
}

fn check_node(node: &Value, path: &str, in_junctor: bool, out: &mut Vec<String>) {
    let Some(object) = node.as_object() else {
        out.push(format!("{path}: a schema must be an object, found {node}"));
        return;
    };
    for key in object.keys() {
        if !ALLOWED_KEYWORDS.contains(&key.as_str()) {
            out.push(format!("{path}: keyword {key:?} is not allowed"));
        }
    }
    let flag = |k: &str| object.get(k) == Some(&Value::Bool(true));
    for k in [
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-int-or-string",
    ] {
        if object.get(k).is_some_and(|v| v != &Value::Bool(true)) {
            out.push(format!("{path}: {k} must be true when present"));
        }
    }
    if in_junctor {
        for k in [
            "type",
            "description",
            "default",
            "additionalProperties",
            "nullable",
        ] {
            if object.contains_key(k) {
                out.push(format!(
                    "{path}: {k:?} is not allowed inside allOf/anyOf/oneOf/not"
                ));
            }
        }
        if object.keys().any(|k| k.starts_with("x-kubernetes-")) {
            out.push(format!(
                "{path}: x-kubernetes-* is not allowed inside allOf/anyOf/oneOf/not"
            ));
        }
    } else {
        match object.get("type") {
            Some(Value::String(ty)) if TYPES.contains(&ty.as_str()) => {
                if ty == "array" && !object.contains_key("items") {
                    out.push(format!("{path}: an array must specify items"));
                }
            }
            Some(other) => out.push(format!("{path}: invalid type {other}")),
            None => {
                if !flag("x-kubernetes-preserve-unknown-fields")
                    && !flag("x-kubernetes-int-or-string")
                {
                    out.push(format!(
                        "{path}: type is required (unless x-kubernetes-preserve-unknown-fields or x-kubernetes-int-or-string)"
                    ));
                }
            }
        }
    }
    if object.contains_key("properties") && object.contains_key("additionalProperties") {
        out.push(format!(
            "{path}: properties and additionalProperties are mutually exclusive"
        ));
    }
    if let Some(Value::Array(required)) = object.get("required") {
        let properties = object.get("properties").and_then(Value::as_object);
        for r in required {
            let name = r.as_str().unwrap_or_default();
            if !properties.is_some_and(|p| p.contains_key(name)) {
                out.push(format!("{path}: required field {r} has no property"));
            }
        }
    }
    if let Some(Value::Object(properties)) = object.get("properties") {
        for (name, child) in properties {
            check_node(child, &format!("{path}.properties.{name}"), in_junctor, out);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child) = object.get(key) {
            if child.is_boolean() && key == "additionalProperties" {
                out.push(format!("{path}.{key}: must be a schema, not a boolean"));
            } else {
                check_node(child, &format!("{path}.{key}"), in_junctor, out);
            }
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(children)) = object.get(key) {
            for (i, child) in children.iter().enumerate() {
                check_node(child, &format!("{path}.{key}[{i}]"), true, out);
            }
        }
    }
    if let Some(child) = object.get("not") {
        check_node(child, &format!("{path}.not"), true, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_any_of_collapses_into_the_inner_schema() {
        let mut node = json!({
            "description": "outer",
            "anyOf": [{"type": "object", "properties": {"a": {"type": "string"}}}, {"type": "null"}],
        });
        make_structural(&mut node);
        assert_eq!(
            node,
            json!({"description": "outer", "type": "object", "properties": {"a": {"type": "string"}}})
        );
    }

    #[test]
    fn documented_enums_become_string_enums() {
        let mut node = json!({"oneOf": [
            {"const": "A", "description": "a", "type": "string"},
            {"const": "B", "description": "b", "type": "string"},
        ]});
        make_structural(&mut node);
        assert_eq!(node, json!({"type": "string", "enum": ["A", "B"]}));
    }

    #[test]
    fn any_value_is_preserved_and_unknown_formats_dropped() {
        let mut node = json!({"type": "object", "properties": {
            "free": true,
            "n": {"type": "integer", "format": "uint32", "minimum": 0},
            "m": {"type": "object", "additionalProperties": true},
        }});
        make_structural(&mut node);
        assert_eq!(
            node["properties"]["free"],
            json!({"x-kubernetes-preserve-unknown-fields": true})
        );
        assert_eq!(
            node["properties"]["n"],
            json!({"type": "integer", "minimum": 0})
        );
        assert_eq!(
            node["properties"]["m"]["additionalProperties"],
            json!({"x-kubernetes-preserve-unknown-fields": true})
        );
    }

    #[test]
    fn violations_are_reported_with_paths() {
        let schema = json!({"type": "object", "properties": {
            "a": {"$ref": "#/$defs/A"},
            "b": {"type": "array"},
            "c": {"anyOf": [{"type": "string"}]},
        }});
        let violations = structural_violations(&schema);
        assert!(
            violations
                .iter()
                .any(|v| v.contains("properties.a") && v.contains("$ref")),
            "{violations:?}"
        );
        assert!(
            violations
                .iter()
                .any(|v| v.contains("properties.b") && v.contains("items")),
            "{violations:?}"
        );
        assert!(
            violations
                .iter()
                .any(|v| v.contains("properties.c.anyOf[0]")),
            "{violations:?}"
        );
    }
}
