//! The generated CRDs checked against Kubernetes's own OpenAPI definition of
//! `CustomResourceDefinition` (shared/k8s-openapi/swagger.json): every field
//! is one the API server knows, of the right type, with required fields set.

use serde_json::Value;

use crate::crds;

const CRD: &str =
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition";

fn swagger() -> Value {
    let text = std::fs::read_to_string(crate::shared("k8s-openapi/swagger.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Follows `$ref` (directly or through a one-element `allOf`).
fn resolve<'a>(schema: &'a Value, definitions: &'a Value) -> &'a Value {
    let reference = schema["$ref"]
        .as_str()
        .or_else(|| schema["allOf"][0]["$ref"].as_str());
    match reference {
        Some(r) => {
            let name = r.trim_start_matches("#/definitions/");
            resolve(&definitions[name], definitions)
        }
        None => schema,
    }
}

fn check(schema: &Value, value: &Value, path: &str, definitions: &Value, out: &mut Vec<String>) {
    let schema = resolve(schema, definitions);
    let Some(ty) = schema["type"].as_str() else {
        // JSONSchemaPropsOrArray and friends: any value.
        return;
    };
    let ok = match ty {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        _ => true,
    };
    if !ok {
        out.push(format!("{path}: expected {ty}, found {value}"));
        return;
    }
    if let Some(items) = value.as_array() {
        for (i, item) in items.iter().enumerate() {
            check(
                &schema["items"],
                item,
                &format!("{path}[{i}]"),
                definitions,
                out,
            );
        }
    }
    if let Some(map) = value.as_object() {
        for r in schema["required"].as_array().into_iter().flatten() {
            if !map.contains_key(r.as_str().unwrap()) {
                out.push(format!("{path}: missing required field {r}"));
            }
        }
        for (key, child) in map {
            let child_path = format!("{path}.{key}");
            if let Some(property) = schema["properties"].get(key) {
                check(property, child, &child_path, definitions, out);
            } else if let Some(additional) = schema.get("additionalProperties") {
                check(additional, child, &child_path, definitions, out);
            } else if schema.get("properties").is_some() {
                out.push(format!("{child_path}: not a field of the API"));
            }
        }
    }
}

#[test]
fn crds_conform_to_the_kubernetes_api_definition() {
    let swagger = swagger();
    let definitions = &swagger["definitions"];
    assert!(definitions.get(CRD).is_some());
    for crd in crds() {
        let mut out = Vec::new();
        check(&definitions[CRD], crd, "", definitions, &mut out);
        assert!(
            out.is_empty(),
            "{}:\n{}",
            crd["metadata"]["name"],
            out.join("\n")
        );
    }
}

/// Walks every schema node of a CRD and collects the keywords used.
fn keywords(node: &Value, out: &mut std::collections::BTreeSet<String>) {
    let Some(object) = node.as_object() else {
        return;
    };
    for (key, child) in object {
        out.insert(key.clone());
        match key.as_str() {
            "properties" => child
                .as_object()
                .into_iter()
                .flatten()
                .for_each(|(_, c)| keywords(c, out)),
            "items" | "additionalProperties" | "not" => keywords(child, out),
            "allOf" | "anyOf" | "oneOf" => child
                .as_array()
                .into_iter()
                .flatten()
                .for_each(|c| keywords(c, out)),
            _ => {}
        }
    }
}

#[test]
fn schema_keywords_are_ones_the_api_server_knows() {
    let swagger = swagger();
    let known = swagger["definitions"]
        ["io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps"]["properties"]
        .as_object()
        .unwrap()
        .clone();
    let mut used = std::collections::BTreeSet::new();
    for crd in crds() {
        keywords(
            &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"],
            &mut used,
        );
    }
    for keyword in &used {
        assert!(
            known.contains_key(keyword),
            "{keyword} is not a JSONSchemaProps field"
        );
    }
    assert!(used.contains("x-kubernetes-preserve-unknown-fields"));
    assert!(used.contains("x-kubernetes-int-or-string"));
}

#[test]
fn the_check_notices_unknown_and_mistyped_fields() {
    let swagger = swagger();
    let definitions = &swagger["definitions"];
    let mut crd = crds()[0].clone();
    crd["spec"]["versions"][0]["servd"] = true.into();
    crd["spec"]["names"]["shortNames"] = "app".into();
    crd["spec"].as_object_mut().unwrap().remove("scope");
    let mut out = Vec::new();
    check(&definitions[CRD], &crd, "", definitions, &mut out);
    out.sort();
    assert_eq!(
        out,
        [
            ".spec.names.shortNames: expected array, found \"app\"",
            ".spec.versions[0].servd: not a field of the API",
            ".spec: missing required field \"scope\"",
        ]
    );
}
