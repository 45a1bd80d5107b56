//! Chart-loading features on charts built by the tests: `.helmignore`,
//! `requirements.yaml` (apiVersion v1), a subchart archive in `charts/`,
//! ignored `charts/_x` directories, missing and `file://` dependencies.
//! Where Helm can load the same chart, its view is the expectation.

use std::path::Path;

use trellis_helm::{ChartError, FsChartFiles, load_chart};

use crate::reference::helm_render;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn helmignore_requirements_and_archives_match_helm() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // A subchart that Helm itself packages into the parent's charts/.
    write(
        root,
        "sub/Chart.yaml",
        "apiVersion: v1\nname: sub\nversion: 1.2.3\n",
    );
    write(root, "sub/values.yaml", "x: 1\n");
    write(root, "sub/templates/cm.yaml", "kind: ConfigMap\n");
    write(
        root,
        "sub/crds/crd.YAML",
        "kind: CustomResourceDefinition\n",
    );
    let pkg = helm_render(&[
        "--package",
        root.join("sub").to_str().unwrap(),
        root.join("parent/charts").to_str().unwrap(),
    ]);
    assert_eq!(pkg["ok"], true, "{pkg}");

    write(
        root,
        "parent/Chart.yaml",
        "apiVersion: v1\nname: parent\nversion: 0.1\nappVersion: 1.10\n",
    );
    write(
        root,
        "parent/requirements.yaml",
        "dependencies:\n- name: sub\n  version: ~1.2.0\n  condition: sub.enabled\n  import-values: [data]\n",
    );
    write(root, "parent/values.yaml", "a: yes\n");
    write(
        root,
        "parent/.helmignore",
        "# comment\n*.md\n/secret.txt\nbuild/\n",
    );
    write(root, "parent/README.md", "x");
    write(root, "parent/docs/guide.md", "x");
    write(root, "parent/secret.txt", "x");
    write(root, "parent/other/secret.txt", "x");
    write(root, "parent/build/out.txt", "x");
    write(root, "parent/keep-me.txt", "x");
    write(root, "parent/templates/.hidden.yaml", "x");
    write(root, "parent/templates/deploy.yaml", "kind: Deployment\n");
    write(root, "parent/templates/_helpers.tpl", "{{/* */}}");
    write(
        root,
        "parent/charts/_skipped/Chart.yaml",
        "apiVersion: v2\nname: skipped\nversion: 1.0.0\n",
    );
    write(root, "parent/files/conf.ini", "k=v\n");

    let batch = root.join("inspect.json");
    std::fs::write(&batch, serde_json::to_vec(&[root.join("parent")]).unwrap()).unwrap();
    let helm = helm_render(&["--inspect-batch", batch.to_str().unwrap()]);
    let helm = &helm[0];
    assert_eq!(helm["ok"], true, "{helm}");

    let files = FsChartFiles::new(root);
    let chart = load_chart(&files, "parent").unwrap();
    let strs = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        chart.metadata.version,
        helm["metadata"]["version"].as_str().unwrap()
    );
    assert_eq!(
        chart.metadata.app_version,
        helm["metadata"]["appVersion"].as_str().unwrap()
    );
    assert_eq!(
        sorted(chart.templates.iter().map(|f| f.name.clone()).collect()),
        strs(&helm["templates"])
    );
    assert_eq!(
        sorted(chart.files.iter().map(|f| f.name.clone()).collect()),
        strs(&helm["files"])
    );
    assert_eq!(
        chart
            .dependencies
            .iter()
            .map(|d| d.name().to_string())
            .collect::<Vec<_>>(),
        strs(&helm["dependencies"])
    );
    let crds: Vec<String> = trellis_helm::crd_objects(&chart)
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(crds, strs(&helm["crds"]));
    let deps = chart.metadata.dependencies.as_ref().unwrap();
    assert_eq!(deps[0].condition, "sub.enabled");

    // Helm's negated rules ignore everything that does not match, including
    // Chart.yaml; both loaders then fail the same way.
    write(root, "parent/.helmignore", "!keep-*.txt\n");
    let helm = helm_render(&["--inspect-batch", batch.to_str().unwrap()]);
    assert_eq!(helm[0]["error"], "Chart.yaml file is missing");
    let err = load_chart(&files, "parent").unwrap_err();
    assert_eq!(err.to_string(), "parent: Chart.yaml file is missing");
}

#[test]
fn missing_dependency_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "app/Chart.yaml",
        "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: redis\n  version: 1.x\n  repository: https://example.invalid\n- name: common\n  version: 2.x\n  repository: https://example.invalid\n",
    );
    let err = load_chart(&FsChartFiles::new(root), "app").unwrap_err();
    assert!(
        matches!(&err, ChartError::MissingDependencies { names, .. } if names == &["redis", "common"])
    );
    assert_eq!(
        err.to_string(),
        "app: found in Chart.yaml, but missing in charts/ directory: redis, common"
    );
}

#[test]
fn file_dependencies_load_from_the_source_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "apps/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 1.0.0\ndependencies:\n- name: lib\n  version: 0.1.0\n  repository: file://../../libs/lib\n",
    );
    write(
        root,
        "libs/lib/Chart.yaml",
        "apiVersion: v2\nname: lib\nversion: 0.1.0\ntype: library\n",
    );
    write(root, "libs/lib/.helmignore", "*.md\n");
    write(root, "libs/lib/README.md", "x");
    write(
        root,
        "libs/lib/templates/_lib.tpl",
        "{{ define \"lib.x\" }}x{{ end }}",
    );
    let chart = load_chart(&FsChartFiles::new(root), "apps/web").unwrap();
    assert_eq!(chart.dependencies.len(), 1);
    let lib = &chart.dependencies[0];
    assert!(lib.metadata.is_library());
    let names: Vec<&str> = lib.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, vec![".helmignore"], "lib's .helmignore applies");

    write(
        root,
        "apps/bad/Chart.yaml",
        "apiVersion: v2\nname: bad\nversion: 1.0.0\ndependencies:\n- name: x\n  version: 0.1.0\n  repository: file://../../../outside\n",
    );
    let err = load_chart(&FsChartFiles::new(root), "apps/bad").unwrap_err();
    assert!(matches!(err, ChartError::DependencyOutside { .. }), "{err}");
}

#[test]
fn chart_yaml_errors_name_the_chart() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "c/Chart.yaml",
        "apiVersion: v2\nname: c\nversion: not-a-version\n",
    );
    let err = load_chart(&FsChartFiles::new(root), "c").unwrap_err();
    assert_eq!(
        err.to_string(),
        "c: validation: chart.metadata.version \"not-a-version\" is invalid"
    );
    write(root, "d/values.yaml", "a: 1\n");
    let err = load_chart(&FsChartFiles::new(root), "d").unwrap_err();
    assert_eq!(err.to_string(), "d: Chart.yaml file is missing");
    write(
        root,
        "e/Chart.yaml",
        "apiVersion: v2\nname: e\nversion: 1.0.0\n",
    );
    write(root, "e/values.yaml", "a: [1\n");
    let err = load_chart(&FsChartFiles::new(root), "e").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("e: cannot load values.yaml: yaml: line "),
        "{err}"
    );
}

/// The chart paths whose templates Helm renders, versus the charts left
/// after Trellis processes dependencies, for version, alias, condition and
/// tag corner cases.
#[test]
fn dependency_processing_matches_helm() {
    let cases: &[(&str, &str)] = &[
        // No version: the chart in charts/ is kept as is, unaliased, its
        // condition ignored.
        (
            "- name: s\n  condition: s.enabled\n  alias: t\n",
            "s:\n  enabled: false\nt:\n  enabled: false\n",
        ),
        // A version that does not match: the same.
        (
            "- name: s\n  version: 9.x\n  condition: s.enabled\n",
            "s:\n  enabled: false\n",
        ),
        // Aliased twice, one disabled by condition.
        (
            "- name: s\n  version: 0.1.0\n  alias: a\n  condition: a.on\n- name: s\n  version: ^0.1\n  alias: b\n  condition: b.on\n",
            "a:\n  on: false\nb:\n  on: true\n",
        ),
        // Tags: one false tag disables unless another tag is true.
        (
            "- name: s\n  version: 0.1.0\n  tags: [x, y]\n- name: u\n  version: 0.1.0\n  tags: [x]\n",
            "tags:\n  x: false\n  y: true\n",
        ),
        // A condition list: the first path that resolves to a bool wins.
        (
            "- name: s\n  version: 0.1.0\n  condition: nope.enabled,s.enabled,u.x\n",
            "s:\n  enabled: false\n",
        ),
        // A condition that is not a bool is ignored.
        (
            "- name: s\n  version: 0.1.0\n  condition: s.enabled\n",
            "s:\n  enabled: \"false\"\n",
        ),
    ];
    let tmp = tempfile::tempdir().unwrap();
    let mut jobs = Vec::new();
    for (i, (deps, values)) in cases.iter().enumerate() {
        let root = tmp.path().join(format!("c{i}"));
        write(
            &root,
            "p/Chart.yaml",
            &format!("apiVersion: v2\nname: p\nversion: 0.1.0\ndependencies:\n{deps}"),
        );
        write(&root, "p/values.yaml", values);
        write(&root, "p/templates/x.txt", "p");
        for sub in ["s", "u"] {
            write(
                &root,
                &format!("p/charts/{sub}/Chart.yaml"),
                &format!("apiVersion: v2\nname: {sub}\nversion: 0.1.0\n"),
            );
            write(&root, &format!("p/charts/{sub}/templates/x.txt"), sub);
        }
        jobs.push(serde_json::json!({"chart": root.join("p"), "templates_only": true}));
    }
    let batch = tmp.path().join("jobs.json");
    std::fs::write(&batch, serde_json::to_vec(&jobs).unwrap()).unwrap();
    let results = helm_render(&["--render-batch", batch.to_str().unwrap()]);
    for (i, result) in results.as_array().unwrap().iter().enumerate() {
        assert_eq!(result["ok"], true, "case {i}: {result}");
        let helm: Vec<String> = sorted(
            result["templates"]
                .as_object()
                .unwrap()
                .keys()
                .map(|k| k.trim_end_matches("/templates/x.txt").to_string())
                .collect(),
        );
        let files = FsChartFiles::new(tmp.path().join(format!("c{i}")));
        let mut chart = trellis_helm::chart::load_dir(&files, "p").unwrap();
        trellis_helm::to_render_values(&mut chart, &trellis_helm::Value::map(Default::default()))
            .unwrap();
        let mut ours = vec!["p".to_string()];
        ours.extend(
            chart
                .dependencies
                .iter()
                .map(|d| format!("p/charts/{}", d.name())),
        );
        assert_eq!(sorted(ours), helm, "case {i}: {}", cases[i].0);
    }
}
