//! CustomResourceDefinition schemas: conversion to the compact schema model, pruning of unknown
//! fields, schema defaults and structural validation of custom objects.

use serde_json::{Map, Value};

use crate::schema::Node;

/// Converts a CRD version's `openAPIV3Schema` into the compact schema model.
pub fn convert_schema(s: &Value) -> Node {
    let mut node = Node::default();
    let str_of = |k: &str| s.get(k).and_then(Value::as_str).map(str::to_owned);
    node.ty = str_of("type");
    node.format = str_of("format");
    if s.get("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true) {
        node.format = Some("int-or-string".into());
    }
    for (k, v) in s
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        node.props.insert(k.clone(), convert_schema(v));
    }
    if let Some(items) = s.get("items").filter(|v| v.is_object()) {
        node.items = Some(Box::new(convert_schema(items)));
    }
    match s.get("additionalProperties") {
        Some(Value::Bool(true)) => node.values = Some(Box::default()),
        Some(v @ Value::Object(_)) => node.values = Some(Box::new(convert_schema(v))),
        _ => {}
    }
    node.list_type = str_of("x-kubernetes-list-type");
    node.list_map_keys = s
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    node.map_type = str_of("x-kubernetes-map-type");
    if s.get("x-kubernetes-embedded-resource")
        .and_then(Value::as_bool)
        == Some(true)
        && !node.props.is_empty()
    {
        // An embedded object always may carry its own type and metadata.
        for k in ["apiVersion", "kind"] {
            node.props.entry(k.into()).or_insert_with(|| Node {
                ty: Some("string".into()),
                ..Node::default()
            });
        }
        node.props.entry("metadata".into()).or_insert_with(|| Node {
            ty: Some("object".into()),
            preserve_unknown: true,
            ..Node::default()
        });
    }
    node.preserve_unknown = s
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        .unwrap_or(false)
        || s.get("x-kubernetes-embedded-resource")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            && node.props.is_empty();
    node.default = s.get("default").cloned();
    node
}

/// Removes fields the schema does not declare, as the API server prunes custom objects.
/// `metadata`, `apiVersion` and `kind` at the root are kept.
pub fn prune(obj: &mut Value, root: &Node) {
    if let Value::Object(map) = obj {
        for (k, v) in map.iter_mut() {
            if matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            if let Some(child) = root.props.get(k) {
                prune_node(v, child);
            }
        }
        map.retain(|k, _| {
            matches!(k.as_str(), "apiVersion" | "kind" | "metadata")
                || root.props.contains_key(k)
                || root.preserve_unknown
        });
    }
}

fn prune_node(v: &mut Value, node: &Node) {
    match v {
        Value::Object(map) => {
            if !node.props.is_empty() {
                for (k, child) in map.iter_mut() {
                    if let Some(s) = node.props.get(k) {
                        prune_node(child, s);
                    }
                }
                if !node.preserve_unknown {
                    map.retain(|k, _| node.props.contains_key(k));
                }
            } else if let Some(values) = node.values.as_deref() {
                for child in map.values_mut() {
                    prune_node(child, values);
                }
            } else if !node.preserve_unknown && node.ty.as_deref() == Some("object") {
                map.clear();
            }
        }
        Value::Array(items) => {
            if let Some(item) = node.items.as_deref() {
                for child in items {
                    prune_node(child, item);
                }
            }
        }
        _ => {}
    }
}

/// Applies schema defaults: a missing property with a default gets it, recursively through
/// present objects and list elements.
pub fn apply_defaults(v: &mut Value, node: &Node) {
    match v {
        Value::Object(map) => {
            for (k, s) in &node.props {
                if !map.contains_key(k)
                    && let Some(d) = &s.default
                {
                    map.insert(k.clone(), d.clone());
                }
            }
            for (k, child) in map.iter_mut() {
                if let Some(s) = node.props.get(k).or(node.values.as_deref()) {
                    apply_defaults(child, s);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = node.items.as_deref() {
                for child in items {
                    apply_defaults(child, item);
                }
            }
        }
        _ => {}
    }
}

/// Checks values against declared types; returns `(field path, message)` for each violation.
pub fn validate(v: &Value, node: &Node, path: &str, out: &mut Vec<(String, String)>) {
    if v.is_null() {
        return;
    }
    let ty = node.ty.as_deref();
    let ok = match (ty, node.format.as_deref()) {
        (_, Some("int-or-string")) => v.is_string() || v.is_i64() || v.is_u64(),
        (Some("object"), _) => v.is_object(),
        (Some("array"), _) => v.is_array(),
        (Some("string"), _) => v.is_string(),
        (Some("integer"), _) => v.is_i64() || v.is_u64(),
        (Some("number"), _) => v.is_number(),
        (Some("boolean"), _) => v.is_boolean(),
        _ => true,
    };
    if !ok {
        let got = match v {
            Value::Object(_) => "object",
            Value::Array(_) => "array",
            Value::String(_) => "string",
            Value::Number(_) => "number",
            Value::Bool(_) => "boolean",
            Value::Null => "null",
        };
        out.push((
            path.to_owned(),
            format!(
                "Invalid value: \"{got}\": {path} in body must be of type {}: \"{got}\"",
                ty.unwrap_or("?")
            ),
        ));
        return;
    }
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if path.is_empty() && matches!(k.as_str(), "metadata" | "apiVersion" | "kind") {
                    continue;
                }
                if let Some(s) = node.props.get(k).or(node.values.as_deref()) {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    validate(child, s, &p, out);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = node.items.as_deref() {
                for (i, child) in items.iter().enumerate() {
                    validate(child, item, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

/// The schema of a child: a property's, a list element's or a map value's.
fn child_schema<'a>(schema: &'a Value, key: Option<&str>) -> Option<&'a Value> {
    match key {
        Some(k) => schema["properties"]
            .get(k)
            .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object())),
        None => schema.get("items").filter(|i| i.is_object()),
    }
}

/// Removes `null` values of fields that are not `nullable`, as the server does before
/// defaulting (so a default then applies).
pub fn drop_nulls(v: &mut Value, schema: &Value) {
    match v {
        Value::Object(map) => {
            map.retain(|k, child| {
                let nullable = child_schema(schema, Some(k))
                    .is_some_and(|s| s["nullable"].as_bool() == Some(true));
                !child.is_null() || nullable || child_schema(schema, Some(k)).is_none()
            });
            for (k, child) in map.iter_mut() {
                if let Some(s) = child_schema(schema, Some(k)) {
                    drop_nulls(child, s);
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = child_schema(schema, None) {
                for child in items {
                    drop_nulls(child, s);
                }
            }
        }
        _ => {}
    }
}

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    }
}

fn join(path: &str, k: &str) -> String {
    if path.is_empty() {
        k.to_owned()
    } else {
        format!("{path}.{k}")
    }
}

/// Checks the value validations of a CustomResourceDefinition's schema — `required`, `enum`,
/// `pattern`, `minimum`/`maximum` (and exclusive forms), `multipleOf`, lengths, item and
/// property counts, `nullable`, embedded resources — on a pruned and defaulted object, with the
/// real server's messages: `(field path, message)`.
pub fn validate_values(v: &Value, schema: &Value, path: &str, out: &mut Vec<(String, String)>) {
    if out.len() > 50 {
        return;
    }
    let root = path.is_empty();
    if v.is_null() {
        if !root && schema["nullable"].as_bool() != Some(true) && schema.get("type").is_some() {
            out.push((
                path.to_owned(),
                format!(
                    "Invalid value: \"null\": {path} in body must be of type {}: \"null\"",
                    schema["type"].as_str().unwrap_or("object")
                ),
            ));
        }
        return;
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(v)
    {
        let list: Vec<String> = allowed.iter().map(shown).collect();
        out.push((
            path.to_owned(),
            format!(
                "Unsupported value: {}: supported values: {}",
                shown(v),
                list.join(", ")
            ),
        ));
    }
    match v {
        Value::String(text) => {
            let len = text.chars().count() as u64;
            if let Some(min) = schema["minLength"].as_u64()
                && len < min
            {
                out.push((
                    path.to_owned(),
                    format!("Invalid value: \"{text}\": {path} in body should be at least {min} chars long"),
                ));
            }
            if let Some(max) = schema["maxLength"].as_u64()
                && len > max
            {
                out.push((
                    path.to_owned(),
                    format!("Too long: may not be more than {max} bytes"),
                ));
            }
            if let Some(p) = schema["pattern"].as_str() {
                match regex::Regex::new(p) {
                    Ok(re) if !re.is_match(text) => out.push((
                        path.to_owned(),
                        format!("Invalid value: \"{text}\": {path} in body should match '{p}'"),
                    )),
                    _ => {}
                }
            }
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            let excl_min = schema["exclusiveMinimum"].as_bool() == Some(true);
            let excl_max = schema["exclusiveMaximum"].as_bool() == Some(true);
            if let Some(min) = schema["minimum"].as_f64()
                && (x < min || (excl_min && x == min))
            {
                let how = if excl_min {
                    "greater than"
                } else {
                    "greater than or equal to"
                };
                out.push((
                    path.to_owned(),
                    format!(
                        "Invalid value: {n}: {path} in body should be {how} {}",
                        schema["minimum"]
                    ),
                ));
            }
            if let Some(max) = schema["maximum"].as_f64()
                && (x > max || (excl_max && x == max))
            {
                let how = if excl_max {
                    "less than"
                } else {
                    "less than or equal to"
                };
                out.push((
                    path.to_owned(),
                    format!(
                        "Invalid value: {n}: {path} in body should be {how} {}",
                        schema["maximum"]
                    ),
                ));
            }
            if let Some(m) = schema["multipleOf"].as_f64()
                && m > 0.0
                && (x / m).fract().abs() > 1e-9
            {
                out.push((
                    path.to_owned(),
                    format!(
                        "Invalid value: {n}: {path} in body should be a multiple of {}",
                        schema["multipleOf"]
                    ),
                ));
            }
        }
        Value::Array(items) => {
            let len = items.len() as u64;
            if let Some(min) = schema["minItems"].as_u64()
                && len < min
            {
                out.push((
                    path.to_owned(),
                    format!(
                        "Invalid value: {len}: {path} in body should have at least {min} items"
                    ),
                ));
            }
            if let Some(max) = schema["maxItems"].as_u64()
                && len > max
            {
                out.push((
                    path.to_owned(),
                    format!("Too many: {len}: must have at most {max} items"),
                ));
            }
            if schema["x-kubernetes-list-type"] == "set" {
                for (i, x) in items.iter().enumerate() {
                    if items[..i].contains(x) {
                        out.push((
                            format!("{path}[{i}]"),
                            format!("Duplicate value: {}", shown(x)),
                        ));
                    }
                }
            }
            if let Some(s) = child_schema(schema, None) {
                for (i, child) in items.iter().enumerate() {
                    validate_values(child, s, &format!("{path}[{i}]"), out);
                }
            }
        }
        Value::Object(map) => {
            for r in schema["required"].as_array().into_iter().flatten() {
                if let Some(k) = r.as_str()
                    && !map.contains_key(k)
                {
                    out.push((join(path, k), "Required value".into()));
                }
            }
            let count = map.len() as u64;
            if let Some(min) = schema["minProperties"].as_u64()
                && count < min
            {
                out.push((
                    path.to_owned(),
                    format!("Invalid value: {count}: {path} in body should have at least {min} properties"),
                ));
            }
            if let Some(max) = schema["maxProperties"].as_u64()
                && count > max
            {
                out.push((
                    path.to_owned(),
                    format!("Too many: {count}: must have at most {max} items"),
                ));
            }
            if schema["x-kubernetes-embedded-resource"].as_bool() == Some(true) {
                for k in ["apiVersion", "kind"] {
                    if map.get(k).and_then(Value::as_str).is_none_or(str::is_empty) {
                        out.push((join(path, k), "Required value: must not be empty".into()));
                    }
                }
            }
            for (k, child) in map {
                if root && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                if let Some(s) = child_schema(schema, Some(k)) {
                    validate_values(child, s, &join(path, k), out);
                }
            }
        }
        Value::Bool(_) | Value::Null => {}
    }
}

/// Checks what the real server requires of a CustomResourceDefinition before serving it: the
/// name is `<plural>.<group>`, names and scope are set, and exactly one version is stored.
pub fn check_definition(crd: &Value, name: &str) -> Result<(), Vec<(String, String)>> {
    let spec = &crd["spec"];
    let mut errs = Vec::new();
    let group = spec["group"].as_str().unwrap_or("");
    let plural = spec["names"]["plural"].as_str().unwrap_or("");
    if group.is_empty() {
        errs.push(("spec.group".into(), "Required value".into()));
    } else if !group.contains('.') {
        errs.push((
            "spec.group".into(),
            format!("Invalid value: \"{group}\": should be a domain with at least one dot"),
        ));
    }
    if plural.is_empty() {
        errs.push(("spec.names.plural".into(), "Required value".into()));
    }
    if spec["names"]["kind"].as_str().unwrap_or("").is_empty() {
        errs.push(("spec.names.kind".into(), "Required value".into()));
    }
    if !group.is_empty() && !plural.is_empty() && name != format!("{plural}.{group}") {
        errs.push((
            "metadata.name".into(),
            format!("Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    match spec["scope"].as_str() {
        Some("Namespaced" | "Cluster") => {}
        _ => errs.push((
            "spec.scope".into(),
            "Unsupported value: must be \"Cluster\" or \"Namespaced\"".into(),
        )),
    }
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    let storage = versions
        .iter()
        .filter(|v| v["storage"].as_bool() == Some(true))
        .count();
    if versions.is_empty() {
        errs.push((
            "spec.versions".into(),
            "Invalid value: must have exactly one version marked as storage version".into(),
        ));
    } else if storage != 1 {
        errs.push(("spec.versions".into(), format!("Invalid value: must have exactly one version marked as storage version, status.storedVersions[{storage}]")));
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

/// Marks a CustomResourceDefinition as accepted and established, as the API server's CRD
/// controllers do shortly after creation.
pub fn establish(crd: &mut Value, now: &str) {
    let names = crd["spec"]["names"].clone();
    let cond = |t: &str, reason: &str, msg: &str| {
        let mut m = Map::new();
        m.insert("type".into(), t.into());
        m.insert("status".into(), "True".into());
        m.insert("lastTransitionTime".into(), now.into());
        m.insert("reason".into(), reason.into());
        m.insert("message".into(), msg.into());
        Value::Object(m)
    };
    let stored: Vec<Value> = crd["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["storage"].as_bool() == Some(true))
        .filter_map(|v| v["name"].as_str().map(|s| Value::String(s.to_owned())))
        .collect();
    crd["status"] = serde_json::json!({
        "acceptedNames": names,
        "conditions": [
            cond("NamesAccepted", "NoConflicts", "no conflicts found"),
            cond("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "storedVersions": stored,
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prunes_defaults_and_validates() {
        let schema = convert_schema(&json!({
            "type": "object",
            "properties": {
                "spec": {"type": "object", "properties": {
                    "size": {"type": "integer", "default": 3},
                    "color": {"type": "string"},
                    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                }}
            }
        }));
        let mut obj = json!({"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "a"},
            "spec": {"color": "red", "junk": 1, "free": {"any": {"thing": 1}}}, "extra": true});
        prune(&mut obj, &schema);
        apply_defaults(&mut obj, &schema);
        assert_eq!(
            obj,
            json!({"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "a"},
            "spec": {"color": "red", "size": 3, "free": {"any": {"thing": 1}}}})
        );
        let mut errs = Vec::new();
        validate(&json!({"spec": {"size": "big"}}), &schema, "", &mut errs);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].0, "spec.size");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod value_tests {
    use super::*;
    use serde_json::json;

    fn errors(schema: &Value, obj: &Value) -> Vec<(String, String)> {
        let mut obj = obj.clone();
        drop_nulls(&mut obj, schema);
        let mut out = Vec::new();
        validate_values(&obj, schema, "", &mut out);
        out
    }

    #[test]
    fn value_validations_name_field_paths() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object",
        "required": ["size"],
        "properties": {
            "size": {"type": "integer", "minimum": 1, "maximum": 5},
            "color": {"type": "string", "enum": ["red", "blue"]},
            "name": {"type": "string", "pattern": "^[a-z]+$", "minLength": 2, "maxLength": 4},
            "tags": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "string"}},
            "note": {"type": "string", "nullable": true},
            "port": {"x-kubernetes-int-or-string": true},
            "inner": {"type": "object", "x-kubernetes-embedded-resource": true,
                "x-kubernetes-preserve-unknown-fields": true}
        }}}});
        let ok = json!({"spec": {"size": 3, "color": "red", "name": "abc", "tags": ["a"],
            "note": null, "port": "http", "inner": {"apiVersion": "v1", "kind": "ConfigMap"}}});
        assert_eq!(errors(&schema, &ok), vec![]);
        let bad = json!({"spec": {"size": 9, "color": "green", "name": "ABCDEF", "tags": [],
            "inner": {"kind": "ConfigMap"}}});
        let e = errors(&schema, &bad);
        let text: Vec<String> = e.iter().map(|(f, m)| format!("{f}: {m}")).collect();
        for want in [
            "spec.size: Invalid value: 9: spec.size in body should be less than or equal to 5",
            "spec.color: Unsupported value: \"green\": supported values: \"red\", \"blue\"",
            "spec.name: Too long: may not be more than 4 bytes",
            "spec.name: Invalid value: \"ABCDEF\": spec.name in body should match '^[a-z]+$'",
            "spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items",
            "spec.inner.apiVersion: Required value: must not be empty",
        ] {
            assert!(
                text.iter().any(|t| t == want),
                "missing {want:?} in {text:#?}"
            );
        }
        let missing = errors(&schema, &json!({"spec": {"size": null}}));
        assert_eq!(
            missing,
            vec![("spec.size".to_owned(), "Required value".to_owned())]
        );
    }
}
