//! `generate` against real git repositories: every generator, both template
//! modes, and the errors that name generator, file and cause.

use serde_json::json;
use trellis_appset::{AppSetError, GeneratorError, RESOURCES_FINALIZER, generate};
use trellis_testkit::GitRepo;

use crate::support::{names, set_from_yaml, sources};

const LIST_SET: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: guestbook, namespace: argocd, uid: 1234-abcd}
spec:
  generators:
  - list:
      elements:
      - cluster: engineering-dev
        url: https://1.2.3.4
      - cluster: engineering-prod
        url: https://2.4.6.8
        values: {revision: v2}
  template:
    metadata:
      name: '{{cluster}}-guestbook'
      labels: {cluster: '{{ cluster }}', untouched: '{{nope}}'}
    spec:
      project: default
      source:
        repoURL: https://github.com/argoproj/argo-cd.git
        targetRevision: '{{values.revision}}'
        path: applicationset/examples/list-generator/guestbook/{{cluster}}
      destination:
        server: '{{url}}'
        namespace: guestbook
"#;

#[test]
fn list_generator_makes_one_application_per_element() {
    let (sources, _dir) = sources();
    let set = set_from_yaml(LIST_SET);
    let apps = generate(&set, &sources).unwrap();
    assert_eq!(
        names(&apps),
        ["engineering-dev-guestbook", "engineering-prod-guestbook"]
    );
    let prod = &apps[1];
    assert_eq!(prod["apiVersion"], "argoproj.io/v1alpha1");
    assert_eq!(prod["kind"], "Application");
    assert_eq!(prod["metadata"]["namespace"], "argocd");
    assert_eq!(
        prod["metadata"]["labels"],
        json!({"cluster": "engineering-prod", "untouched": "{{nope}}"})
    );
    assert_eq!(prod["metadata"]["finalizers"], json!([RESOURCES_FINALIZER]));
    assert_eq!(
        prod["metadata"]["ownerReferences"],
        json!([{
            "apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
            "name": "guestbook", "uid": "1234-abcd",
            "controller": true, "blockOwnerDeletion": true
        }])
    );
    assert_eq!(
        prod["spec"]["source"]["path"],
        "applicationset/examples/list-generator/guestbook/engineering-prod"
    );
    assert_eq!(prod["spec"]["source"]["targetRevision"], "v2");
    assert_eq!(prod["spec"]["destination"]["server"], "https://2.4.6.8");
    // An element without the value leaves the tag as written.
    assert_eq!(
        apps[0]["spec"]["source"]["targetRevision"],
        "{{values.revision}}"
    );
}

#[test]
fn trellis_sets_generate_trellis_applications_without_finalizer_when_preserving() {
    let (sources, _dir) = sources();
    let yaml = LIST_SET
        .replace("argoproj.io/v1alpha1", "trellis.dev/v1alpha1")
        .replace(
            "spec:\n  generators:",
            "spec:\n  syncPolicy: {preserveResourcesOnDeletion: true}\n  generators:",
        );
    let apps = generate(&set_from_yaml(&yaml), &sources).unwrap();
    assert_eq!(apps[0]["apiVersion"], "trellis.dev/v1alpha1");
    assert_eq!(
        apps[0]["metadata"]["ownerReferences"][0]["apiVersion"],
        "trellis.dev/v1alpha1"
    );
    assert!(apps[0]["metadata"].get("finalizers").is_none());
}

#[test]
fn fasttemplate_rejects_non_string_elements() {
    let (sources, _dir) = sources();
    let yaml = LIST_SET.replace("url: https://1.2.3.4", "url: 42");
    let err = generate(&set_from_yaml(&yaml), &sources).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("generator 0 (list): elements[0].url: expected a string"),
        "{text}"
    );
}

#[test]
fn go_templates_render_with_sprig_and_fail_on_missing_keys() {
    let (sources, _dir) = sources();
    let yaml = r#"
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: go, namespace: argocd}
spec:
  goTemplate: true
  goTemplateOptions: ["missingkey=error"]
  generators:
  - list:
      elements:
      - {cluster: Prod_EU, replicas: 3, tags: [web, eu]}
  template:
    metadata:
      name: '{{ .cluster | normalize }}-{{ .replicas }}'
      annotations:
        tags: '{{ join "," .tags }}'
        upper: '{{ .cluster | upper | quote }}'
    spec:
      project: default
      source: {repoURL: 'https://example.com/{{ .cluster | lower }}.git', path: '{{ index .tags 0 }}'}
      destination: {server: https://kubernetes.default.svc, namespace: '{{ printf "%s-%d" "ns" 7 }}'}
"#;
    let apps = generate(&set_from_yaml(yaml), &sources).unwrap();
    assert_eq!(names(&apps), ["prod-eu-3"]);
    assert_eq!(
        apps[0]["metadata"]["annotations"],
        json!({"tags": "web,eu", "upper": "\"PROD_EU\""})
    );
    assert_eq!(
        apps[0]["spec"]["source"]["repoURL"],
        "https://example.com/prod_eu.git"
    );
    assert_eq!(apps[0]["spec"]["source"]["path"], "web");
    assert_eq!(apps[0]["spec"]["destination"]["namespace"], "ns-7");
    // No owner reference without a uid (a set not read from a cluster).
    assert!(apps[0]["metadata"].get("ownerReferences").is_none());

    let broken = yaml.replace("path: '{{ index .tags 0 }}'", "path: '{{ .nope }}'");
    let err = generate(&set_from_yaml(&broken), &sources).unwrap_err();
    assert!(matches!(
        err,
        AppSetError::Template {
            index: 0,
            set: 0,
            ..
        }
    ));
    let text = err.to_string();
    assert!(
        text.contains("generator 0 (list), parameter set 0: spec.template.spec.source.path"),
        "{text}"
    );
    assert!(text.contains("map has no entry for key \"nope\""), "{text}");
}

fn directories_repo() -> GitRepo {
    let repo = GitRepo::new();
    for dir in [
        "apps/guestbook",
        "apps/Helm_Guestbook",
        "apps/excluded",
        "apps/.hidden",
        "apps/guestbook/overlay",
        "other/x",
    ] {
        repo.write(&format!("{dir}/kustomization.yaml"), "resources: []\n");
    }
    repo.commit_all("apps");
    repo
}

#[test]
fn git_directories_with_exclude() {
    let repo = directories_repo();
    let (sources, _dir) = sources();
    let yaml = format!(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {{name: dirs, namespace: argocd}}
spec:
  generators:
  - git:
      repoURL: {url}
      revision: main
      directories:
      - path: apps/excluded
        exclude: true
      - path: apps/*
      values: {{owner: 'team-{{{{path[1]}}}}'}}
  template:
    metadata:
      name: '{{{{path.basenameNormalized}}}}'
      annotations: {{path: '{{{{path}}}}', first: '{{{{path[0]}}}}', base: '{{{{path.basename}}}}', owner: '{{{{values.owner}}}}'}}
    spec:
      project: default
      source: {{repoURL: {url}, targetRevision: main, path: '{{{{path}}}}'}}
      destination: {{server: https://kubernetes.default.svc, namespace: '{{{{path.basename}}}}'}}
"#,
        url = repo.url()
    );
    let apps = generate(&set_from_yaml(&yaml), &sources).unwrap();
    // Sorted as the tree is walked; hidden and excluded directories and
    // deeper levels are not matched by `apps/*`.
    assert_eq!(names(&apps), ["helm-guestbook", "guestbook"]);
    assert_eq!(
        apps[0]["metadata"]["annotations"],
        json!({
            "path": "apps/Helm_Guestbook", "first": "apps",
            "base": "Helm_Guestbook", "owner": "team-Helm_Guestbook"
        })
    );
}

#[test]
fn git_directories_in_go_template_mode_expose_segments() {
    let repo = directories_repo();
    let (sources, _dir) = sources();
    let yaml = format!(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {{name: dirs, namespace: argocd}}
spec:
  goTemplate: true
  goTemplateOptions: ["missingkey=error"]
  generators:
  - git:
      repoURL: {url}
      revision: main
      pathParamPrefix: app
      directories:
      - path: 'apps/*/*'
  template:
    metadata:
      name: '{{{{ index .app.path.segments 1 }}}}-{{{{ .app.path.basename }}}}'
    spec:
      project: default
      source: {{repoURL: {url}, path: '{{{{ .app.path.path }}}}'}}
      destination: {{server: https://kubernetes.default.svc, namespace: default}}
"#,
        url = repo.url()
    );
    let apps = generate(&set_from_yaml(&yaml), &sources).unwrap();
    assert_eq!(names(&apps), ["guestbook-overlay"]);
    assert_eq!(apps[0]["spec"]["source"]["path"], "apps/guestbook/overlay");
}

fn files_repo() -> GitRepo {
    let repo = GitRepo::new();
    repo.write(
        "clusters/prod/config.yaml",
        "cluster:\n  name: prod\n  address: https://prod.example.com\n  replicas: 1234567\nenv: production\n",
    );
    repo.write(
        "clusters/dev/config.json",
        r#"{"cluster": {"name": "dev", "address": "https://dev.example.com"}, "env": "development"}"#,
    );
    repo.write(
        "clusters/many/config.yaml",
        "- cluster: {name: a, address: https://a}\n  env: qa\n- cluster: {name: b, address: https://b}\n  env: qa\n",
    );
    repo.write("clusters/skip/config.yaml", "cluster: {name: skipped}\n");
    repo.write("README.md", "not a config\n");
    repo.commit_all("configs");
    repo
}

fn files_set(url: &str, go: bool) -> String {
    let (name, server, annotations) = if go {
        (
            "'{{ .cluster.name }}-{{ .path.basename }}'",
            "'{{ .cluster.address }}'",
            "{file: '{{ .path.filename }}', env: '{{ .env }}'}",
        )
    } else {
        (
            "'{{cluster.name}}-{{path.basename}}'",
            "'{{cluster.address}}'",
            "{file: '{{path.filename}}', replicas: '{{cluster.replicas}}', env: '{{env}}'}",
        )
    };
    format!(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {{name: files, namespace: argocd}}
spec:
  goTemplate: {go}
  generators:
  - git:
      repoURL: {url}
      revision: main
      files:
      - path: 'clusters/*/config.*'
      - path: clusters/skip/config.yaml
        exclude: true
  template:
    metadata:
      name: {name}
      annotations: {annotations}
    spec:
      project: default
      source: {{repoURL: {url}, path: guestbook}}
      destination: {{server: {server}, namespace: default}}
"#
    )
}

#[test]
fn git_files_yaml_json_and_lists_flattened() {
    let repo = files_repo();
    let (sources, _dir) = sources();
    let apps = generate(&set_from_yaml(&files_set(&repo.url(), false)), &sources).unwrap();
    // Files in path order; a file holding a list yields one set per item.
    assert_eq!(names(&apps), ["dev-dev", "a-many", "b-many", "prod-prod"]);
    assert_eq!(
        apps[0]["spec"]["destination"]["server"],
        "https://dev.example.com"
    );
    assert_eq!(
        apps[3]["metadata"]["annotations"],
        json!({"file": "config.yaml", "replicas": "1.234567e+06", "env": "production"})
    );
    assert_eq!(
        apps[1]["metadata"]["annotations"]["replicas"],
        "{{cluster.replicas}}"
    );
}

#[test]
fn git_files_in_go_template_mode_keep_structure() {
    let repo = files_repo();
    let (sources, _dir) = sources();
    let apps = generate(&set_from_yaml(&files_set(&repo.url(), true)), &sources).unwrap();
    assert_eq!(names(&apps), ["dev-dev", "a-many", "b-many", "prod-prod"]);
    assert_eq!(apps[2]["spec"]["destination"]["server"], "https://b");
    assert_eq!(
        apps[0]["metadata"]["annotations"],
        json!({"file": "config.json", "env": "development"})
    );
}

#[test]
fn a_malformed_file_names_generator_file_and_line() {
    let repo = files_repo();
    repo.write(
        "clusters/broken/config.yaml",
        "cluster:\n  name: [unclosed\n",
    );
    repo.commit_all("broken");
    let (sources, _dir) = sources();
    let err = generate(&set_from_yaml(&files_set(&repo.url(), false)), &sources).unwrap_err();
    assert!(err.is_generation_error());
    let AppSetError::Generator {
        index: 0,
        kind: "git",
        source,
    } = &err
    else {
        panic!("unexpected error {err:?}");
    };
    let GeneratorError::File { path, message, .. } = source.as_ref() else {
        panic!("unexpected error {err:?}");
    };
    assert_eq!(path, "clusters/broken/config.yaml");
    assert!(message.contains("line"), "{message}");
    let text = err.to_string();
    assert!(
        text.starts_with("generator 0 (git): file clusters/broken/config.yaml in file://"),
        "{text}"
    );
}

#[test]
fn an_unreachable_repository_is_a_generator_error() {
    let (sources, dir) = sources();
    let missing = format!("file://{}/no-such-repo", dir.path().display());
    let err = generate(&set_from_yaml(&files_set(&missing, false)), &sources).unwrap_err();
    assert!(
        matches!(
            &err,
            AppSetError::Generator { kind: "git", source, .. }
                if matches!(source.as_ref(), GeneratorError::Source { .. })
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("no-such-repo"), "{err}");
}

#[test]
fn a_duplicate_name_is_an_error() {
    let (sources, _dir) = sources();
    let yaml = LIST_SET.replace("name: '{{cluster}}-guestbook'", "name: same-name");
    let err = generate(&set_from_yaml(&yaml), &sources).unwrap_err();
    assert!(
        matches!(&err, AppSetError::DuplicateName { name, first: 0, second: 0, .. } if name == "same-name"),
        "{err:?}"
    );
}

#[test]
fn an_invalid_generated_name_is_an_error() {
    let (sources, _dir) = sources();
    let yaml = LIST_SET.replace(
        "name: '{{cluster}}-guestbook'",
        "name: '{{cluster}}_Guestbook'",
    );
    let err = generate(&set_from_yaml(&yaml), &sources).unwrap_err();
    assert!(
        matches!(err, AppSetError::InvalidApplication { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("engineering-dev_Guestbook"),
        "{err}"
    );
}

#[test]
fn generator_templates_override_the_sets_and_template_patch_applies() {
    let (sources, _dir) = sources();
    let yaml = r#"
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: override, namespace: argocd}
spec:
  generators:
  - list:
      elements: [{name: a}]
      template:
        metadata: {labels: {from: generator}}
        spec:
          project: special
          destination: {}
  - list:
      elements: [{name: b}]
  templatePatch: |
    spec:
      syncPolicy:
        automated: {prune: true}
      project: hijacked
    metadata:
      annotations:
        patched: '{{name}}'
  template:
    metadata:
      name: '{{name}}'
      labels: {from: set, app: '{{name}}'}
    spec:
      project: default
      source: {repoURL: https://example.com/repo.git, path: '{{name}}'}
      destination: {server: https://kubernetes.default.svc, namespace: '{{name}}'}
"#;
    let apps = generate(&set_from_yaml(yaml), &sources).unwrap();
    assert_eq!(names(&apps), ["a", "b"]);
    assert_eq!(
        apps[0]["metadata"]["labels"],
        json!({"from": "generator", "app": "a"})
    );
    assert_eq!(apps[0]["spec"]["project"], "special");
    assert_eq!(apps[0]["spec"]["destination"]["namespace"], "a");
    assert_eq!(
        apps[1]["metadata"]["labels"],
        json!({"from": "set", "app": "b"})
    );
    assert_eq!(
        apps[1]["spec"]["project"], "default",
        "the project cannot be patched"
    );
    assert_eq!(apps[1]["metadata"]["annotations"], json!({"patched": "b"}));
    assert_eq!(
        apps[1]["spec"]["syncPolicy"],
        json!({"automated": {"prune": true}})
    );
}

#[test]
fn matrix_of_git_directories_and_a_list() {
    let repo = directories_repo();
    let (sources, _dir) = sources();
    let yaml = format!(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {{name: matrix, namespace: argocd}}
spec:
  generators:
  - matrix:
      generators:
      - list:
          elements:
          - {{cluster: dev, revision: main}}
          - {{cluster: prod, revision: main}}
      - git:
          repoURL: {url}
          revision: '{{{{revision}}}}'
          directories: [{{path: 'apps/g*'}}]
  template:
    metadata: {{name: '{{{{cluster}}}}-{{{{path.basename}}}}'}}
    spec:
      project: default
      source: {{repoURL: {url}, path: '{{{{path}}}}'}}
      destination: {{server: https://kubernetes.default.svc, namespace: '{{{{cluster}}}}'}}
"#,
        url = repo.url()
    );
    let apps = generate(&set_from_yaml(&yaml), &sources).unwrap();
    assert_eq!(names(&apps), ["dev-guestbook", "prod-guestbook"]);
}

#[test]
fn merge_overrides_the_base_by_keys() {
    let (sources, _dir) = sources();
    let yaml = r#"
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: merge, namespace: argocd}
spec:
  generators:
  - merge:
      mergeKeys: [cluster]
      generators:
      - list:
          elements:
          - {cluster: a, size: small}
          - {cluster: b, size: small}
      - list:
          elements:
          - {cluster: b, size: large}
          - {cluster: c, size: huge}
  template:
    metadata: {name: '{{cluster}}-{{size}}'}
    spec:
      project: default
      source: {repoURL: https://example.com/repo.git, path: x}
      destination: {server: https://kubernetes.default.svc, namespace: x}
"#;
    let apps = generate(&set_from_yaml(yaml), &sources).unwrap();
    assert_eq!(names(&apps), ["a-small", "b-large"]);
}

#[test]
fn selectors_filter_parameter_sets() {
    let (sources, _dir) = sources();
    let yaml = LIST_SET.replace(
        "  - list:\n",
        "  - selector: {matchLabels: {cluster: engineering-prod}}\n    list:\n",
    );
    let apps = generate(&set_from_yaml(&yaml), &sources).unwrap();
    assert_eq!(names(&apps), ["engineering-prod-guestbook"]);
}

#[test]
fn an_unsupported_generator_is_an_error() {
    let (sources, _dir) = sources();
    let yaml = LIST_SET.replace("  - list:\n", "  - clusters: {}\n  - list:\n");
    let err = generate(&set_from_yaml(&yaml), &sources).unwrap_err();
    assert_eq!(
        err.to_string(),
        "generator 0 (clusters): the clusters generator is not supported"
    );
}
