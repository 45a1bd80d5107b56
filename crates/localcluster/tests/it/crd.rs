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

#[test]
fn crd_value_validations_answer_422_with_field_paths() {
    let env = Env::new();
    let crd = env.write(
        "crd.yaml",
        r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [mode]
            properties:
              mode: {type: string, enum: [fast, slow]}
              replicas: {type: integer, minimum: 1, maximum: 10, default: 1}
              name: {type: string, pattern: '^[a-z]+$'}
"#,
    );
    assert!(env.apply_file(&crd, &[]).status.success());
    env.ok(&[
        "wait",
        "--for=condition=Established",
        "crd/gadgets.example.com",
        "--timeout=2s",
    ]);
    let bad = env.write(
        "bad.yaml",
        "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\nspec: {mode: warp, replicas: 0, name: X1}\n",
    );
    let out = eventually(|| {
        let o = env.apply_file(&bad, &[]);
        let e = String::from_utf8_lossy(&o.stderr).to_string();
        (!o.status.success() && e.contains("is invalid")).then_some(e)
    });
    for want in [
        "The Gadget \"g\" is invalid",
        "spec.mode: Unsupported value: \"warp\": supported values: \"fast\", \"slow\"",
        "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1",
        "spec.name: Invalid value: \"X1\": spec.name in body should match '^[a-z]+$'",
    ] {
        assert!(out.contains(want), "missing {want:?} in {out}");
    }
    let missing = env.write(
        "missing.yaml",
        "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\nspec: {replicas: 2}\n",
    );
    let o = env.apply_file(&missing, &[]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("spec.mode: Required value"));
    let good = env.write(
        "good.yaml",
        "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\nspec: {mode: fast}\n",
    );
    assert!(env.apply_file(&good, &[]).status.success());
    assert_eq!(env.json(&["get", "gadget", "g"])["spec"]["replicas"], 1);
}
