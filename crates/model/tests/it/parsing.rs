//! Reading realistic Argo CD manifests of both API groups, and the warnings
//! and errors produced for bad ones.

use serde_json::{Value, json};
use trellis_model::application::ApplicationSourceType;
use trellis_model::manifest::{Manifest, Origin, parse_file};
use trellis_model::{
    AppProject, Application, ApplicationSet, ModelError, TRELLIS_GROUP, WarningKind, is_application,
};

fn data(name: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/data/");
    std::fs::read_to_string(format!("{path}{name}")).unwrap()
}

fn manifests(name: &str) -> Vec<Manifest> {
    parse_file(&data(name), name).unwrap()
}

/// The same text with the other API group.
fn swap_group(text: &str) -> String {
    if text.contains("argoproj.io/v1alpha1") {
        text.replace("argoproj.io/v1alpha1", "trellis.dev/v1alpha1")
    } else {
        text.replace("trellis.dev/v1alpha1", "argoproj.io/v1alpha1")
    }
}

fn app(name: &str) -> Vec<Application> {
    manifests(name)
        .iter()
        .map(|m| {
            let parsed = Application::from_manifest(m).unwrap();
            assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
            parsed.value
        })
        .collect()
}

fn origin() -> Origin {
    Origin {
        file: "apps/web.yaml".into(),
        document: 2,
        line: 3,
    }
}

fn minimal() -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "web", "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://github.com/example/web.git", "path": "deploy"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"},
        },
    })
}

fn error_of(object: Value) -> ModelError {
    Application::from_value(&object, &origin()).unwrap_err()
}

#[test]
fn app_of_apps_root() {
    let apps = app("app-of-apps.yaml");
    let root = &apps[0];
    assert_eq!(root.api_version, "argoproj.io/v1alpha1");
    assert_eq!(root.metadata.name.as_deref(), Some("root"));
    let source = root.spec.source.as_ref().unwrap();
    let directory = source.directory.as_ref().unwrap();
    assert!(directory.recurse);
    assert_eq!(directory.include.as_deref(), Some("*.yaml"));
    assert_eq!(
        source.explicit_type(),
        Some(ApplicationSourceType::Directory)
    );
    let policy = root.spec.sync_policy.as_ref().unwrap();
    assert!(policy.is_automated());
    let automated = policy.automated.as_ref().unwrap();
    assert!(automated.prune && automated.self_heal && !automated.allow_empty);
    assert_eq!(policy.option("CreateNamespace"), Some("true"));
    let retry = policy.retry.as_ref().unwrap();
    assert_eq!(retry.limit, 5);
    assert_eq!(
        retry.backoff.as_ref().unwrap().max_duration.as_deref(),
        Some("3m")
    );
    assert_eq!(root.spec.revision_history_limit, Some(5));
    assert_eq!(root.spec.info[0].name, "Owner");
    assert_eq!(root.spec.all_sources(), vec![source]);
}

#[test]
fn several_applications_per_file_keep_their_documents() {
    let docs = manifests("children.yaml");
    assert_eq!(docs.len(), 2);
    assert!(docs.iter().all(|m| is_application(&m.object)));
    assert_eq!(docs[1].origin.document, 2);
    let apps = app("children.yaml");
    let helm = apps[0].spec.source.as_ref().unwrap().helm.as_ref().unwrap();
    assert!(apps[0].spec.source.as_ref().unwrap().is_helm_chart());
    assert!(helm.parameters[1].force_string);
    assert_eq!(
        helm.values_object.as_ref().unwrap()["resources"]["requests"]["cpu"],
        "10m"
    );
    assert_eq!(apps[0].spec.destination.name.as_deref(), Some("in-cluster"));
    assert_eq!(apps[1].spec.ignore_differences.len(), 2);
    assert_eq!(
        apps[1].spec.ignore_differences[1].jq_path_expressions,
        [".data.token"]
    );
}

#[test]
fn helm_multi_source_with_values_ref() {
    let apps = app("helm-multi-source.yaml");
    let spec = &apps[0].spec;
    assert!(spec.has_multiple_sources());
    let sources = spec.all_sources();
    assert_eq!(sources.len(), 2);
    assert!(sources[1].is_ref());
    assert_eq!(sources[1].r#ref.as_deref(), Some("values"));
    let helm = sources[0].helm.as_ref().unwrap();
    assert_eq!(
        helm.value_files[0],
        "$values/monitoring/prometheus/values.yaml"
    );
    assert!(helm.ignore_missing_value_files && helm.skip_crds);
    assert_eq!(helm.kube_version.as_deref(), Some("1.30.0"));
    assert_eq!(helm.api_versions.len(), 2);
    assert_eq!(
        helm.file_parameters[0].name.as_deref(),
        Some("alertmanager.config")
    );
    assert!(helm.values.as_deref().unwrap().contains("grafana"));
    assert_eq!(
        spec.sync_policy
            .as_ref()
            .unwrap()
            .retry
            .as_ref()
            .unwrap()
            .limit,
        -1
    );
}

#[test]
fn kustomize_source_of_trellis_group() {
    let apps = app("kustomize.yaml");
    assert_eq!(apps[0].api_version, "trellis.dev/v1alpha1");
    let kustomize = apps[0]
        .spec
        .source
        .as_ref()
        .unwrap()
        .kustomize
        .as_ref()
        .unwrap();
    assert_eq!(kustomize.images.len(), 2);
    assert_eq!(kustomize.common_labels["env"], "staging");
    assert_eq!(kustomize.replicas.len(), 2);
    assert_eq!(
        kustomize.patches[0]
            .target
            .as_ref()
            .unwrap()
            .kind
            .as_deref(),
        Some("Deployment")
    );
    assert_eq!(kustomize.components, ["../../components/tracing"]);
}

#[test]
fn directory_jsonnet_and_plugin_sources() {
    let apps = app("jsonnet.yaml");
    let directory = apps[0]
        .spec
        .source
        .as_ref()
        .unwrap()
        .directory
        .as_ref()
        .unwrap();
    let jsonnet = directory.jsonnet.as_ref().unwrap();
    assert_eq!(jsonnet.libs, ["vendor"]);
    assert_eq!(jsonnet.ext_vars[0].value, "prod-eu-1");
    assert!(jsonnet.tlas[0].code);
    let plugin = apps[1]
        .spec
        .source
        .as_ref()
        .unwrap()
        .plugin
        .as_ref()
        .unwrap();
    assert_eq!(plugin.env[0].name, "TK_ENV");
    assert_eq!(
        plugin.parameters[0].array.as_deref(),
        Some(&["--dangerous-allow-redirect".to_string()][..])
    );
    assert_eq!(plugin.parameters[2].string.as_deref(), Some("strict"));
}

#[test]
fn both_groups_read_as_the_same_type() {
    for file in [
        "app-of-apps.yaml",
        "children.yaml",
        "helm-multi-source.yaml",
        "kustomize.yaml",
        "jsonnet.yaml",
    ] {
        let text = data(file);
        let other = parse_file(&swap_group(&text), file).unwrap();
        for (a, b) in manifests(file).iter().zip(&other) {
            let a = Application::from_manifest(a).unwrap().value;
            let mut b = Application::from_manifest(b).unwrap().value;
            assert_ne!(a.api_version, b.api_version);
            b.api_version = a.api_version.clone();
            assert_eq!(a, b, "{file}");
        }
    }
}

#[test]
fn projects_and_application_sets() {
    let project = AppProject::from_manifest(&manifests("project.yaml")[0]).unwrap();
    assert!(project.warnings.is_empty(), "{:?}", project.warnings);
    let spec = &project.value.spec;
    assert_eq!(spec.source_repos.len(), 2);
    assert_eq!(spec.namespace_resource_whitelist, Some(vec![]));
    assert_eq!(spec.roles[0].policies.len(), 2);
    assert_eq!(spec.sync_windows[0].duration.as_deref(), Some("8h"));
    assert_eq!(spec.signature_keys[0].key_id, "4AEE18F83AFDEB23");
    assert_eq!(spec.orphaned_resources.as_ref().unwrap().warn, Some(true));

    let set = ApplicationSet::from_manifest(&manifests("appset.yaml")[0]).unwrap();
    assert!(set.warnings.is_empty(), "{:?}", set.warnings);
    let spec = &set.value.spec;
    assert!(spec.go_template);
    assert_eq!(spec.generators.len(), 3);
    let matrix = spec.generators[0].matrix.as_ref().unwrap();
    let git = matrix.generators[0].git.as_ref().unwrap();
    assert!(git.directories[1].exclude);
    let list = spec.generators[1].list.as_ref().unwrap();
    assert_eq!(list.elements[0]["replicas"], 2);
    let merge = spec.generators[2].merge.as_ref().unwrap();
    let nested = merge.generators[2].nested_matrix().unwrap().unwrap();
    assert_eq!(
        nested.generators[0].git.as_ref().unwrap().files[0].path,
        "clusters/*/config.json"
    );
    assert_eq!(spec.template.spec.project, "addons");
    assert!(
        spec.template_patch
            .as_deref()
            .unwrap()
            .contains("automated")
    );
    assert_eq!(
        spec.strategy
            .as_ref()
            .unwrap()
            .rolling_sync
            .as_ref()
            .unwrap()
            .steps
            .len(),
        2
    );
}

#[test]
fn unknown_fields_are_warnings_naming_their_path() {
    let mut object = minimal();
    object["spec"]["source"]["helmm"] = json!({"valueFiles": ["a.yaml"]});
    object["spec"]["sources"] = json!([
        {"repoURL": "https://a"},
        {"repoURL": "https://b", "helm": {"valueFile": "x"}},
    ]);
    object["metadata"]["labelz"] = json!({"a": "b"});
    object["spec"]["syncPolicy"] = json!({"automated": {"selfheal": true}});
    let parsed = Application::from_value(&object, &origin()).unwrap();
    let mut paths: Vec<&str> = parsed
        .warnings
        .iter()
        .filter(|w| w.kind == WarningKind::UnknownField)
        .map(|w| w.path.as_str())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "metadata.labelz",
            "spec.source.helmm",
            "spec.sources[1].helm.valueFile",
            "spec.syncPolicy.automated.selfheal",
        ]
    );
    let shown: Vec<String> = parsed.warnings.iter().map(ToString::to_string).collect();
    assert!(
        shown
            .contains(&"apps/web.yaml:3 (document 2): unknown field spec.source.helmm".to_string()),
        "{shown:?}"
    );
    // `source` next to `sources` is accepted but ignored, which is worth a warning.
    assert!(
        parsed
            .warnings
            .iter()
            .any(|w| w.kind == WarningKind::Dubious && w.path == "spec.source"),
        "{shown:?}"
    );
}

#[test]
fn unknown_fields_in_nested_generators_are_warnings() {
    let text = data("appset.yaml").replace("files:\n", "filez: []\n                    files:\n");
    let manifests = parse_file(&text, "appset.yaml").unwrap();
    let set = ApplicationSet::from_manifest(&manifests[0]).unwrap();
    let paths: Vec<&str> = set.warnings.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(
        paths,
        ["spec.generators[2].merge.generators[2].matrix.generators[0].git.filez"]
    );
}

#[test]
fn invalid_values_are_errors_naming_file_document_and_path() {
    let mut object = minimal();
    object["spec"]["syncPolicy"] = json!({"retry": {"limit": "x"}});
    let error = error_of(object);
    assert_eq!(
        error.to_string(),
        "apps/web.yaml:3 (document 2): spec.syncPolicy.retry.limit: invalid type: string \"x\", expected i64"
    );
    assert_eq!(error.field_errors()[0].path, "spec.syncPolicy.retry.limit");

    let mut object = minimal();
    object["spec"]["sources"] = json!([{"repoURL": "https://a"}, {"repoURL": "https://b", "helm": {"valueFiles": "x.yaml"}}]);
    let error = error_of(object);
    assert_eq!(
        error.field_errors()[0].path,
        "spec.sources[1].helm.valueFiles"
    );

    let mut object = minimal();
    object["spec"].as_object_mut().unwrap().remove("project");
    let error = error_of(object);
    assert_eq!(
        error.to_string(),
        "apps/web.yaml:3 (document 2): spec.project: required field is missing"
    );
}

#[test]
fn yaml_errors_point_at_the_document_in_the_file() {
    let text = format!(
        "{}---\n{}",
        data("kustomize.yaml"),
        data("app-of-apps.yaml").replace("limit: 5", "limit: five")
    );
    let manifests = parse_file(&text, "apps/all.yaml").unwrap();
    assert!(Application::from_manifest(&manifests[0]).is_ok());
    let error = Application::from_manifest(&manifests[1]).unwrap_err();
    let line = text
        .lines()
        .position(|l| {
            l == "# The root of an app-of-apps repository: one Application that renders the"
        })
        .unwrap()
        + 1;
    assert_eq!(
        error.to_string(),
        format!(
            "apps/all.yaml:{line} (document 2): spec.syncPolicy.retry.limit: invalid type: string \"five\", expected i64"
        )
    );
}

#[test]
fn semantic_rules_are_errors_with_paths() {
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(Mutation, &str)> = vec![
        (
            Box::new(|o| o["spec"]["destination"]["name"] = json!("prod")),
            "spec.destination: set either server or name, not both",
        ),
        (
            Box::new(|o| o["spec"]["destination"] = json!({"namespace": "x"})),
            "spec.destination: one of server or name is required",
        ),
        (
            Box::new(|o| o["spec"]["source"]["repoURL"] = json!("")),
            "spec.source.repoURL: required field is empty",
        ),
        (
            Box::new(|o| {
                o["spec"]["source"]["helm"] = json!({});
                o["spec"]["source"]["kustomize"] = json!({});
            }),
            "spec.source: a source may set only one of helm, kustomize, directory and plugin; found helm, kustomize",
        ),
        (
            Box::new(|o| {
                o["spec"]["syncPolicy"] = json!({"retry": {"backoff": {"duration": "5 minutes"}}})
            }),
            "spec.syncPolicy.retry.backoff.duration: invalid duration \"5 minutes\"",
        ),
        (
            Box::new(|o| o["metadata"]["name"] = json!("Web_App")),
            "metadata.name: \"Web_App\" is not a valid name",
        ),
        (
            Box::new(|o| o["apiVersion"] = json!("example.com/v1alpha1")),
            "apiVersion: unsupported group in \"example.com/v1alpha1\"",
        ),
        (
            Box::new(|o| o["apiVersion"] = json!("argoproj.io/v1beta1")),
            "apiVersion: unsupported version in \"argoproj.io/v1beta1\"; expected argoproj.io/v1alpha1",
        ),
        (
            Box::new(|o| o["kind"] = json!("AppProject")),
            "kind: expected Application, found \"AppProject\"",
        ),
        (
            Box::new(|o| {
                o["spec"]["sources"] = json!([
                    {"repoURL": "https://charts", "chart": "x", "helm": {"valueFiles": ["$vals/x.yaml"]}},
                    {"repoURL": "https://git", "ref": "values"},
                ]);
            }),
            "spec.sources[0].helm.valueFiles[0]: \"$vals/x.yaml\" refers to $vals, but no source has ref: vals",
        ),
        (
            Box::new(|o| {
                o["spec"]["source"]["kustomize"] =
                    json!({"replicas": [{"name": "a", "count": "three"}]});
            }),
            "spec.source.kustomize.replicas[0].count: expected an integer, found \"three\"",
        ),
        (
            Box::new(|o| {
                o["spec"]["ignoreDifferences"] =
                    json!([{"kind": "Deployment", "jsonPointers": ["spec/replicas"]}]);
            }),
            "spec.ignoreDifferences[0].jsonPointers[0]: \"spec/replicas\" is not a JSON pointer",
        ),
        (
            Box::new(|o| {
                o["spec"].as_object_mut().unwrap().remove("source");
                o["spec"]["sourceHydrator"] = json!({
                    "drySource": {"repoURL": "https://git", "targetRevision": "main", "path": "env"},
                    "syncSource": {"targetBranch": "env/prod", "path": "."},
                });
            }),
            "spec.sourceHydrator.syncSource.path: \".\" is not allowed",
        ),
        (
            Box::new(|o| o["spec"]["revisionHistoryLimit"] = json!(-3)),
            "spec.revisionHistoryLimit: must not be negative, found -3",
        ),
        (
            Box::new(|o| {
                o["spec"].as_object_mut().unwrap().remove("source");
            }),
            "spec: one of source, sources or sourceHydrator is required",
        ),
    ];
    for (mutate, expected) in cases {
        let mut object = minimal();
        mutate(&mut object);
        let error = error_of(object);
        let text = error.to_string();
        assert!(
            text.starts_with("apps/web.yaml:3 (document 2): ") && text.contains(expected),
            "expected {expected:?} in {text:?}"
        );
        assert!(matches!(error, ModelError::Invalid { .. }));
    }
}

#[test]
fn every_broken_rule_is_reported() {
    let mut object = minimal();
    object["metadata"]["name"] = json!("Bad Name");
    object["spec"]["destination"] = json!({});
    let error = error_of(object);
    let paths: Vec<&str> = error
        .field_errors()
        .iter()
        .map(|e| e.path.as_str())
        .collect();
    assert_eq!(paths, ["metadata.name", "spec.destination"]);
}

#[test]
fn nulls_read_as_absent() {
    let mut object = minimal();
    object["spec"]["syncPolicy"] = json!({"syncOptions": null, "automated": {"prune": null}});
    object["spec"]["sources"] = Value::Null;
    object["status"] = Value::Null;
    let app = Application::from_value(&object, &origin()).unwrap().value;
    let policy = app.spec.sync_policy.unwrap();
    assert!(policy.sync_options.is_empty());
    assert!(!policy.automated.unwrap().prune);
    assert!(app.spec.sources.is_empty());
}

#[test]
fn project_rules_are_checked() {
    let text = data("project.yaml")
        .replace("kind: deny", "kind: block")
        .replace("duration: 8h", "duration: 8 hours")
        .replace(
            "p, proj:platform:ci, applications, get",
            "p, proj:other:ci, applications, get",
        );
    let manifests = parse_file(&text, "project.yaml").unwrap();
    let error = AppProject::from_manifest(&manifests[0]).unwrap_err();
    let paths: Vec<&str> = error
        .field_errors()
        .iter()
        .map(|e| e.path.as_str())
        .collect();
    assert_eq!(
        paths,
        [
            "spec.roles[0].policies[1]",
            "spec.syncWindows[0].kind",
            "spec.syncWindows[0].duration",
        ],
        "{error}"
    );
}

#[test]
fn application_set_rules_are_checked() {
    let text = data("appset.yaml")
        .replace("mergeKeys: [server]", "mergeKeys: []")
        .replace(
            "applicationsSync: create-update",
            "applicationsSync: create-everything",
        );
    let manifests = parse_file(&text, "appset.yaml").unwrap();
    let error = ApplicationSet::from_manifest(&manifests[0]).unwrap_err();
    assert_eq!(
        error.field_errors()[0].path,
        "spec.syncPolicy.applicationsSync",
        "{error}"
    );
    let text = data("appset.yaml").replace(
        "                    files:\n                      - path: clusters/*/config.json\n",
        "",
    );
    let manifests = parse_file(&text, "appset.yaml").unwrap();
    let error = ApplicationSet::from_manifest(&manifests[0]).unwrap_err();
    assert_eq!(
        error.field_errors()[0].to_string(),
        "spec.generators[2].merge.generators[2].matrix.generators[0].git: one of directories or files is required"
    );
    let text = data("appset.yaml").replace("mergeKeys: [server]", "mergeKeys: []");
    let manifests = parse_file(&text, "appset.yaml").unwrap();
    let error = ApplicationSet::from_manifest(&manifests[0]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "appset.yaml:1 (document 1): spec.generators[2].merge.mergeKeys: at least one merge key is required"
    );
}

#[test]
fn trellis_group_constant_is_accepted() {
    let mut object = minimal();
    object["apiVersion"] = json!(format!("{TRELLIS_GROUP}/v1alpha1"));
    assert!(Application::from_value(&object, &origin()).is_ok());
}
