//! Field-for-field comparison of the generated CRD schemas with Argo CD's own
//! CRDs (kept in the shared corpus as part of an Argo CD install kustomization).

use crate::crds;
use serde_json::Value;
use trellis_model::manifest::parse_file;

const ARGO_CRDS: &str = "corpus/kustomize/argocd-cluster-install/crds";

fn argo_schema(file: &str) -> Value {
    let path = crate::shared(&format!("{ARGO_CRDS}/{file}"));
    let text = std::fs::read_to_string(&path).unwrap();
    let manifests = parse_file(&text, file).unwrap();
    manifests[0].object["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

fn our_schema(name: &str) -> Value {
    crds()
        .iter()
        .find(|c| c["metadata"]["name"] == name)
        .unwrap()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        .clone()
}

/// A node's shape for comparison: its type, or a marker for the special
/// free-form and int-or-string nodes.
fn shape(node: &Value) -> String {
    if node["x-kubernetes-int-or-string"] == true {
        return "int-or-string".into();
    }
    match node.get("type").and_then(Value::as_str) {
        Some(t) => t.to_string(),
        None if node["x-kubernetes-preserve-unknown-fields"] == true => "any".into(),
        None => "?".into(),
    }
}

/// Walks `theirs` and reports every path missing from `ours` or of another
/// shape; `required` lists are compared too.
fn compare(theirs: &Value, ours: &Value, path: &str, out: &mut Vec<String>) {
    let (a, b) = (shape(theirs), shape(ours));
    if a != b && !(a == "object" && b == "any") {
        out.push(format!("{path}: Argo CD has {a}, Trellis has {b}"));
        return;
    }
    let required = |n: &Value| -> Vec<String> {
        let mut r: Vec<String> = n["required"]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        r.sort();
        r
    };
    if required(theirs) != required(ours) {
        out.push(format!(
            "{path}: required {:?} in Argo CD, {:?} in Trellis",
            required(theirs),
            required(ours)
        ));
    }
    if let Some(props) = theirs["properties"].as_object() {
        for (name, child) in props {
            match ours["properties"].get(name) {
                Some(mine) => compare(child, mine, &format!("{path}.{name}"), out),
                None => out.push(format!("{path}.{name}: missing in Trellis")),
            }
        }
        if let Some(mine) = ours["properties"].as_object() {
            for name in mine.keys() {
                if !props.contains_key(name) {
                    out.push(format!("{path}.{name}: not in Argo CD"));
                }
            }
        }
    }
    if theirs.get("items").is_some() {
        compare(&theirs["items"], &ours["items"], &format!("{path}[]"), out);
    }
    if let Some(inner) = theirs.get("additionalProperties").filter(|v| v.is_object()) {
        compare(
            inner,
            &ours["additionalProperties"],
            &format!("{path}{{}}"),
            out,
        );
    }
}

fn differences(file: &str, ours: &str) -> Vec<String> {
    let mut out = Vec::new();
    compare(&argo_schema(file), &our_schema(ours), "", &mut out);
    out
}

#[test]
fn application_schema_matches_argo_cd_field_for_field() {
    let diffs = differences("application-crd.yaml", "applications.argoproj.io");
    // The one extension: the controller's resumable sync state.
    assert_eq!(
        diffs,
        [".status.operationState.syncState: not in Argo CD"],
        "{}",
        diffs.join("\n")
    );
}

#[test]
fn app_project_schema_matches_argo_cd_field_for_field() {
    let diffs = differences("appproject-crd.yaml", "appprojects.argoproj.io");
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

#[test]
fn application_set_schema_matches_argo_cd_field_for_field() {
    let diffs = differences("applicationset-crd.yaml", "applicationsets.argoproj.io");
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

#[test]
fn comparison_notices_missing_and_extra_fields() {
    let mut theirs = argo_schema("appproject-crd.yaml");
    theirs["properties"]["spec"]["properties"]["extra"] = serde_json::json!({"type": "string"});
    theirs["properties"]["spec"]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("description");
    theirs["properties"]["spec"]["properties"]["roles"]["items"]["properties"]["name"]["type"] =
        "integer".into();
    let mut out = Vec::new();
    compare(
        &theirs,
        &our_schema("appprojects.argoproj.io"),
        "",
        &mut out,
    );
    out.sort();
    assert_eq!(
        out,
        [
            ".spec.description: not in Argo CD",
            ".spec.extra: missing in Trellis",
            ".spec.roles[].name: Argo CD has integer, Trellis has string",
        ]
    );
}
