use crate::support::Env;

#[test]
fn crds_prints_three_kinds_for_both_groups() {
    let run = Env::new().run(&["crds", "-o", "json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let list: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|crd| crd["metadata"]["name"].as_str().unwrap())
        .collect();
    for expected in [
        "applications.trellis.dev",
        "appprojects.trellis.dev",
        "applicationsets.trellis.dev",
        "applications.argoproj.io",
        "appprojects.argoproj.io",
        "applicationsets.argoproj.io",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    for crd in list["items"].as_array().unwrap() {
        assert_eq!(crd["apiVersion"], "apiextensions.k8s.io/v1");
        assert_eq!(crd["kind"], "CustomResourceDefinition");
    }
}

#[test]
fn crds_yaml_is_a_stream_kubectl_can_read() {
    let run = Env::new().run(&["crds"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout.matches("kind: CustomResourceDefinition").count(),
        6,
        "{}",
        run.stdout
    );
}
