//! CustomResourceDefinitions: serving, pruning, defaults, printer columns, removal.

use crate::support::{Env, eventually};

const CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, default: 3}
              color: {type: string}
          status:
            type: object
            properties:
              ready: {type: boolean}
"#;

#[test]
fn crd_serves_its_kind_with_pruning_defaults_and_columns() {
    let env = Env::new();
    let crd = env.write("crd.yaml", CRD);
    assert!(env.apply_file(&crd, &[]).status.success());
    env.ok(&[
        "wait",
        "--for=condition=Established",
        "crd/widgets.example.com",
        "--timeout=2s",
    ]);
    let res = eventually(|| {
        let r = env.ok(&["api-resources", "--api-group=example.com"]);
        r.contains("widgets").then_some(r)
    });
    assert!(res.contains("wd") && res.contains("Widget"), "{res}");

    let w = env.write("w.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {color: red, junk: 1}\nstatus: {ready: true}\n");
    // Unknown fields are rejected under kubectl's default strict validation...
    let out = env.apply_file(&w, &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field \"spec.junk\""));
    // ...and pruned when validation is off.
    let out = env.apply_file(&w, &["--validate=false"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let obj = env.json(&["get", "widget", "w1"]);
    assert_eq!(obj["spec"], serde_json::json!({"color": "red", "size": 3}));
    assert!(
        obj.get("status").is_none(),
        "status is written through the status subresource only"
    );
    let table = env.ok(&["get", "wd"]);
    assert!(table.lines().next().unwrap().contains("SIZE"), "{table}");
    assert!(table.contains("w1") && table.contains('3'), "{table}");

    env.ok(&["delete", "crd", "widgets.example.com"]);
    let e = env.fails(&["get", "widgets.example.com"]);
    assert!(
        e.contains("the server doesn't have a resource type") || e.contains("could not find"),
        "{e}"
    );
}

#[test]
fn invalid_custom_objects_are_rejected() {
    let env = Env::new();
    let crd = env.write("crd.yaml", CRD);
    assert!(env.apply_file(&crd, &[]).status.success());
    let w = env.write(
        "w.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w2}\nspec: {size: big}\n",
    );
    let out = env.apply_file(&w, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("spec.size"), "{err}");
}

#[test]
fn malformed_definitions_are_refused() {
    let env = Env::new();
    let bad = env.write(
        "crd.yaml",
        &CRD.replace("name: widgets.example.com", "name: gadgets.example.com"),
    );
    let out = env.apply_file(&bad, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("must be spec.names.plural"),
        "{err}"
    );
    assert!(!env.ok(&["api-resources"]).contains("widgets"));
}
