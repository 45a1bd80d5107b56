//! The generated CRDs: structural schemas, names and versions of both groups.

use crate::crds;
use serde_json::{Value, json};
use trellis_model::crd::structural_violations;
use trellis_model::manifest::parse_file;
use trellis_model::{AppProject, Application, ApplicationSet};

fn schema(crd: &Value) -> &Value {
    &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
}

#[test]
fn six_crds_in_a_stable_order() {
    let names: Vec<String> = crds()
        .iter()
        .map(|c| c["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "applications.trellis.dev",
            "appprojects.trellis.dev",
            "applicationsets.trellis.dev",
            "applications.argoproj.io",
            "appprojects.argoproj.io",
            "applicationsets.argoproj.io",
        ]
    );
    assert_eq!(crds(), trellis_model::crd::crds().as_slice());
}

#[test]
fn every_schema_is_structural() {
    for crd in crds() {
        let violations = structural_violations(schema(crd));
        assert!(
            violations.is_empty(),
            "{}:\n{}",
            crd["metadata"]["name"],
            violations.join("\n")
        );
        let text = crd.to_string();
        for forbidden in [
            "\"$ref\"",
            "\"$defs\"",
            "\"definitions\"",
            "\"$schema\"",
            "\"const\"",
        ] {
            assert!(
                !text.contains(forbidden),
                "{} has {forbidden}",
                crd["metadata"]["name"]
            );
        }
    }
}

#[test]
fn every_crd_fits_in_etcd() {
    // etcd refuses values over 1.5 MiB; the ApplicationSet CRD is the large one
    // because every generator carries a full Application template.
    for crd in crds() {
        let size = serde_json::to_vec(crd).unwrap().len();
        assert!(
            size < 1_000_000,
            "{} is {size} bytes",
            crd["metadata"]["name"]
        );
    }
}

#[test]
fn names_versions_and_subresources() {
    let expected = [
        (
            "Application",
            "applications",
            "application",
            json!(["app", "apps"]),
        ),
        (
            "AppProject",
            "appprojects",
            "appproject",
            json!(["appproj", "appprojs"]),
        ),
        (
            "ApplicationSet",
            "applicationsets",
            "applicationset",
            json!(["appset", "appsets"]),
        ),
    ];
    for (i, crd) in crds().iter().enumerate() {
        let (kind, plural, singular, short) = &expected[i % 3];
        let group = if i < 3 { "trellis.dev" } else { "argoproj.io" };
        assert_eq!(crd["apiVersion"], "apiextensions.k8s.io/v1");
        assert_eq!(crd["kind"], "CustomResourceDefinition");
        assert_eq!(crd["metadata"]["name"], format!("{plural}.{group}"));
        let spec = &crd["spec"];
        assert_eq!(spec["group"], group);
        assert_eq!(spec["scope"], "Namespaced");
        assert_eq!(spec["names"]["kind"], *kind);
        assert_eq!(spec["names"]["listKind"], format!("{kind}List"));
        assert_eq!(spec["names"]["plural"], *plural);
        assert_eq!(spec["names"]["singular"], *singular);
        assert_eq!(spec["names"]["shortNames"], *short);
        assert_eq!(spec["names"]["categories"], json!(["trellis"]));
        let versions = spec["versions"].as_array().unwrap();
        assert_eq!(versions.len(), 1);
        assert_eq!(versions[0]["name"], "v1alpha1");
        assert_eq!(versions[0]["served"], true);
        assert_eq!(versions[0]["storage"], true);
        assert_eq!(versions[0]["subresources"], json!({"status": {}}));
        let root = schema(crd);
        assert_eq!(root["type"], "object");
        assert_eq!(root["required"], json!(["metadata", "spec"]));
        assert_eq!(root["properties"]["metadata"], json!({"type": "object"}));
    }
}

#[test]
fn application_printer_columns_follow_argo_cd() {
    let app = &crds()[0];
    let columns: Vec<(&str, &str)> = app["spec"]["versions"][0]["additionalPrinterColumns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["jsonPath"].as_str().unwrap()))
        .collect();
    assert_eq!(
        columns,
        [
            ("Sync Status", ".status.sync.status"),
            ("Health Status", ".status.health.status"),
            ("Revision", ".status.sync.revision"),
            ("Project", ".spec.project"),
            ("Age", ".metadata.creationTimestamp"),
        ]
    );
}

#[test]
fn free_form_and_int_or_string_fields_are_marked() {
    let app = schema(&crds()[0]).clone();
    let source = &app["properties"]["spec"]["properties"]["source"]["properties"];
    assert_eq!(
        source["helm"]["properties"]["valuesObject"]["x-kubernetes-preserve-unknown-fields"],
        true
    );
    assert_eq!(
        source["kustomize"]["properties"]["replicas"]["items"]["properties"]["count"]["x-kubernetes-int-or-string"],
        true
    );
    let set = schema(&crds()[2]).clone();
    let generator = &set["properties"]["spec"]["properties"]["generators"]["items"]["properties"];
    assert_eq!(
        generator["list"]["properties"]["elements"]["items"]["x-kubernetes-preserve-unknown-fields"],
        true
    );
    assert_eq!(
        generator["matrix"]["properties"]["generators"]["items"]["properties"]["matrix"]["x-kubernetes-preserve-unknown-fields"],
        true
    );
}

/// A minimal validator for the parts of OpenAPI that the CRD schemas use:
/// enough to check that every fixture is accepted by its CRD as the API
/// server would see it (types, required fields, enums, no unknown fields).
fn accepts(schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    if schema["x-kubernetes-preserve-unknown-fields"] == true && schema.get("type").is_none() {
        return;
    }
    if schema["x-kubernetes-int-or-string"] == true {
        if !(value.is_i64() || value.is_string()) {
            out.push(format!("{path}: expected int or string"));
        }
        return;
    }
    let ok = match schema["type"].as_str().unwrap_or_default() {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        _ => true,
    };
    if !ok {
        out.push(format!(
            "{path}: expected {}, found {value}",
            schema["type"]
        ));
        return;
    }
    if let Some(values) = schema["enum"].as_array()
        && !values.contains(value)
    {
        out.push(format!("{path}: {value} not in {values:?}"));
    }
    if let Some(items) = value.as_array() {
        for (i, item) in items.iter().enumerate() {
            accepts(&schema["items"], item, &format!("{path}[{i}]"), out);
        }
    }
    if let Some(map) = value.as_object() {
        if schema["x-kubernetes-preserve-unknown-fields"] == true || path == ".metadata" {
            return;
        }
        for r in schema["required"].as_array().into_iter().flatten() {
            if !map.contains_key(r.as_str().unwrap()) {
                out.push(format!("{path}: missing required {r}"));
            }
        }
        for (k, v) in map {
            if let Some(props) = schema["properties"].as_object() {
                match props.get(k) {
                    Some(s) => accepts(s, v, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k}: unknown field")),
                }
            } else if let Some(additional) = schema.get("additionalProperties") {
                accepts(additional, v, &format!("{path}.{k}"), out);
            }
        }
    }
}

#[test]
fn fixtures_validate_against_their_crds() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/data");
    let all = crds();
    let by_kind = |kind: &str| {
        all.iter()
            .find(|c| c["spec"]["names"]["kind"] == kind && c["spec"]["group"] == "argoproj.io")
            .map(|c| schema(c).clone())
            .unwrap()
    };
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for m in parse_file(&text, "fixture.yaml").unwrap() {
            // Serialized output, which is what Trellis writes to a cluster.
            let kind = m.object["kind"].as_str().unwrap().to_string();
            let written = match kind.as_str() {
                "Application" => Application::from_manifest(&m).unwrap().value.to_value(),
                "AppProject" => AppProject::from_manifest(&m).unwrap().value.to_value(),
                _ => ApplicationSet::from_manifest(&m).unwrap().value.to_value(),
            }
            .unwrap();
            let mut out = Vec::new();
            accepts(&by_kind(&kind), &written, "", &mut out);
            assert!(out.is_empty(), "{}: {}", path.display(), out.join("\n"));
            checked += 1;
        }
    }
    assert!(checked >= 9);
}
