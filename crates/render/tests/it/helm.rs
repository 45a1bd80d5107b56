//! Helm sources rendered through the pipeline: Argo CD's defaults, value
//! files, parameters, the build environment and multi-source `$values`.

use trellis_model::{Application, parse_yaml_stream};
use trellis_testkit::GitRepo;

use crate::renderer;

const CHART: &str = "apiVersion: v2\nname: web\nversion: 1.2.3\nappVersion: \"4.5\"\n";
const VALUES: &str = "replicas: 1\nimage: {repository: web, tag: \"\"}\nenv: dev\n";
const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
  labels:
    chart: {{ .Chart.Name }}-{{ .Chart.Version }}
spec:
  replicas: {{ .Values.replicas }}
  template:
    spec:
      containers:
        - name: web
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
          env:
            - {name: ENV, value: {{ .Values.env | quote }}}
"#;
const CRD: &str = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  names: {kind: Widget, plural: widgets}\n  scope: Namespaced\n  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]\n";

fn chart_repo() -> GitRepo {
    let repo = GitRepo::new();
    repo.write("chart/Chart.yaml", CHART);
    repo.write("chart/values.yaml", VALUES);
    repo.write("chart/values-prod.yaml", "replicas: 3\nenv: prod\n");
    repo.write("chart/templates/deployment.yaml", DEPLOYMENT);
    repo.write("chart/crds/widget.yaml", CRD);
    repo.commit_all("chart");
    repo
}

fn application(yaml: &str) -> Application {
    let manifest = parse_yaml_stream(yaml, "app.yaml").unwrap().remove(0);
    Application::from_manifest(&manifest).unwrap().value
}

fn helm_app(url: &str, helm: &str) -> Application {
    let mut text = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: shop-web, namespace: trellis}}\nspec:\n  project: default\n  destination: {{server: https://kubernetes.default.svc, namespace: shop}}\n  source:\n    repoURL: {url}\n    path: chart\n    targetRevision: main\n"
    );
    if !helm.is_empty() {
        text.push_str("    helm:\n");
        for line in helm.lines() {
            text.push_str(&format!("      {line}\n"));
        }
    }
    application(&text)
}

#[test]
fn a_chart_renders_with_argo_cd_defaults() {
    let repo = chart_repo();
    let (renderer, _cache) = renderer();
    let out = renderer.render(&helm_app(&repo.url(), "")).unwrap();
    assert_eq!(out.sources[0].kind, Some(trellis_render::SourceKind::Helm));
    let kinds: Vec<&str> = out
        .manifests
        .iter()
        .map(|m| m.object["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["CustomResourceDefinition", "Deployment"],
        "CRDs from crds/ come first"
    );
    let deployment = &out.manifests[1];
    assert_eq!(deployment.origin.file, "web/templates/deployment.yaml");
    assert_eq!(
        deployment.object["metadata"]["name"], "shop-web",
        "release name = application name"
    );
    assert_eq!(
        deployment.object["metadata"]["namespace"], "shop",
        "namespace = destination namespace"
    );
    assert_eq!(
        deployment.object["metadata"]["labels"]["chart"],
        "web-1.2.3"
    );
    assert_eq!(
        deployment.object["spec"]["template"]["spec"]["containers"][0]["image"],
        "web:4.5"
    );
}

#[test]
fn value_files_values_and_parameters_in_argo_cd_order() {
    let repo = chart_repo();
    let (renderer, _cache) = renderer();
    let helm = "releaseName: storefront\nskipCrds: true\nvalueFiles: [values-prod.yaml]\nvalues: |\n  image: {tag: \"9.9\"}\nparameters:\n  - {name: env, value: \"$ARGOCD_APP_NAME-$ARGOCD_APP_SOURCE_TARGET_REVISION\"}\n  - {name: replicas, value: \"5\", forceString: false}\n";
    let out = renderer.render(&helm_app(&repo.url(), helm)).unwrap();
    assert_eq!(out.manifests.len(), 1, "skipCrds leaves crds/ out");
    let d = &out.manifests[0].object;
    assert_eq!(d["metadata"]["name"], "storefront");
    assert_eq!(d["spec"]["replicas"], 5, "parameters win over value files");
    let container = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "web:9.9", "values win over value files");
    assert_eq!(
        container["env"][0]["value"], "shop-web-main",
        "build environment substituted in parameters"
    );
}

#[test]
fn values_object_wins_over_values() {
    let repo = chart_repo();
    let (renderer, _cache) = renderer();
    let helm = "values: \"env: from-values\"\nvaluesObject:\n  env: from-object\n";
    let out = renderer.render(&helm_app(&repo.url(), helm)).unwrap();
    let container = &out.manifests[1].object["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["env"][0]["value"], "from-object");
}

#[test]
fn missing_value_files_fail_unless_ignored_and_escapes_are_refused() {
    let repo = chart_repo();
    let (renderer, _cache) = renderer();
    let err = renderer
        .render(&helm_app(&repo.url(), "valueFiles: [values-nope.yaml]"))
        .unwrap_err();
    assert!(err.to_string().contains("values-nope.yaml"), "{err}");
    let ok = renderer.render(&helm_app(
        &repo.url(),
        "valueFiles: [values-nope.yaml]\nignoreMissingValueFiles: true",
    ));
    assert!(ok.is_ok(), "{:?}", ok.err());
    let err = renderer
        .render(&helm_app(
            &repo.url(),
            "valueFiles: [../../../../etc/passwd]",
        ))
        .unwrap_err();
    assert!(err.to_string().contains("escapes the repository"), "{err}");
}

#[test]
fn template_errors_name_chart_template_and_line() {
    let repo = chart_repo();
    repo.write(
        "chart/templates/broken.yaml",
        "metadata:\n  name: {{ .Values.missing.deeper }}\n",
    );
    repo.commit_all("broken");
    let (renderer, _cache) = renderer();
    let err = renderer
        .render(&helm_app(&repo.url(), ""))
        .unwrap_err()
        .to_string();
    assert!(err.contains("web/templates/broken.yaml:2:"), "{err}");
    assert!(
        err.contains("nil pointer evaluating interface {}.deeper"),
        "{err}"
    );

    repo.remove("chart/templates/broken.yaml");
    repo.write(
        "chart/templates/required.yaml",
        "{{ required \"image.registry is required\" .Values.image.registry }}\n",
    );
    repo.commit_all("required");
    renderer.sources().refresh();
    let err = renderer
        .render(&helm_app(&repo.url(), ""))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "execution error at (web/templates/required.yaml:1:3): image.registry is required"
    );
}

#[test]
fn multi_source_chart_with_values_from_another_repository() {
    let chart = chart_repo();
    let infra = GitRepo::new();
    infra.write("envs/prod/web.yaml", "replicas: 7\nenv: production\n");
    infra.commit_all("values");
    let app = application(&format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: web-prod, namespace: trellis}}\nspec:\n  project: default\n  destination: {{server: https://kubernetes.default.svc, namespace: prod}}\n  sources:\n    - repoURL: {}\n      path: chart\n      targetRevision: main\n      helm:\n        valueFiles: [$values/envs/prod/web.yaml]\n    - repoURL: {}\n      targetRevision: main\n      ref: values\n",
        chart.url(),
        infra.url()
    ));
    let (renderer, _cache) = renderer();
    let out = renderer.render(&app).unwrap();
    assert_eq!(out.sources.len(), 2);
    assert_eq!(
        out.sources[1].kind, None,
        "a ref-only source renders nothing"
    );
    assert_eq!(
        out.sources[1].commit.as_deref(),
        Some(infra.head().as_str())
    );
    let d = &out.manifests[1].object;
    assert_eq!(d["spec"]["replicas"], 7);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"],
        "production"
    );

    let missing_ref = application(&format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: web-prod, namespace: trellis}}\nspec:\n  project: default\n  destination: {{server: https://kubernetes.default.svc, namespace: prod}}\n  source:\n    repoURL: {}\n    path: chart\n    helm:\n      valueFiles: [$values/envs/prod/web.yaml]\n",
        chart.url()
    ));
    let err = renderer.render(&missing_ref);
    assert!(err.is_err(), "a $ref with no such source is an error");
}
