//! Chart loading compared with Helm's loader: every corpus chart as a
//! directory, and some as `.tgz` archives made by `helm package`.

use std::path::Path;

use trellis_helm::{Chart, FsChartFiles, crd_objects, load_chart};

use crate::corpus;
use crate::reference::helm_render;
use crate::support::go_json_value;

fn strs(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn compare(label: &str, ours: &Chart, helm: &serde_json::Value, failures: &mut Vec<String>) {
    let md = &helm["metadata"];
    let check = |what: &str, a: String, b: String, failures: &mut Vec<String>| {
        if a != b {
            failures.push(format!("{label}: {what}: helm {b:?}, trellis {a:?}"));
        }
    };
    let field = |k: &str| md[k].as_str().unwrap_or("").to_string();
    check("name", ours.metadata.name.clone(), field("name"), failures);
    check(
        "version",
        ours.metadata.version.clone(),
        field("version"),
        failures,
    );
    check(
        "apiVersion",
        ours.metadata.api_version.clone(),
        field("apiVersion"),
        failures,
    );
    check(
        "appVersion",
        ours.metadata.app_version.clone(),
        field("appVersion"),
        failures,
    );
    check(
        "type",
        ours.metadata.chart_type.clone(),
        field("type"),
        failures,
    );
    let deps: Vec<String> = ours
        .metadata
        .dependencies
        .iter()
        .flatten()
        .map(|d| {
            format!(
                "{}|{}|{}|{}",
                d.name,
                d.alias,
                d.condition,
                d.tags.join(",")
            )
        })
        .collect();
    let helm_deps: Vec<String> = md["dependencies"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| {
                    let tags = d["tags"]
                        .as_array()
                        .map(|t| strs(&serde_json::json!(t)).join(","))
                        .unwrap_or_default();
                    format!(
                        "{}|{}|{}|{tags}",
                        d["name"].as_str().unwrap_or(""),
                        d["alias"].as_str().unwrap_or(""),
                        d["condition"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    check(
        "dependencies",
        format!("{deps:?}"),
        format!("{helm_deps:?}"),
        failures,
    );
    // Helm keeps a missing values.yaml as nil; Trellis as an empty map.
    let helm_values = match &helm["values"] {
        serde_json::Value::Null => serde_json::json!({}),
        v => v.clone(),
    };
    if ours.values != go_json_value(&helm_values) {
        failures.push(format!("{label}: values.yaml differs"));
    }
    let mut templates: Vec<String> = ours.templates.iter().map(|t| t.name.clone()).collect();
    templates.sort();
    check(
        "templates",
        format!("{templates:?}"),
        format!("{:?}", strs(&helm["templates"])),
        failures,
    );
    let mut files: Vec<String> = ours.files.iter().map(|t| t.name.clone()).collect();
    files.sort();
    check(
        "files",
        format!("{files:?}"),
        format!("{:?}", strs(&helm["files"])),
        failures,
    );
    let mut crds: Vec<String> = crd_objects(ours).into_iter().map(|(p, _)| p).collect();
    crds.sort();
    let mut helm_crds = strs(&helm["crds"]);
    helm_crds.sort();
    check(
        "crds",
        format!("{crds:?}"),
        format!("{helm_crds:?}"),
        failures,
    );
    let mut subs: Vec<String> = ours
        .dependencies
        .iter()
        .map(|d| d.name().to_string())
        .collect();
    subs.sort();
    check(
        "subcharts",
        format!("{subs:?}"),
        format!("{:?}", strs(&helm["dependencies"])),
        failures,
    );
    check(
        "schema",
        ours.schema.is_some().to_string(),
        helm["has_schema"].as_bool().unwrap().to_string(),
        failures,
    );
}

#[test]
fn loading_matches_helm_for_every_corpus_chart() {
    let mut charts: Vec<String> = corpus::cases().into_iter().map(|c| c.chart).collect();
    charts.dedup();
    let tmp = tempfile::tempdir().unwrap();
    // Some charts also as archives made by Helm.
    let mut archives = Vec::new();
    for name in ["prometheus", "helm-testchart-subchart", "argo-cd"] {
        let out = helm_render(&[
            "--package",
            corpus::root().join("charts").join(name).to_str().unwrap(),
            tmp.path().to_str().unwrap(),
        ]);
        archives.push(out["path"].as_str().unwrap().to_string());
    }
    let mut paths: Vec<String> = charts
        .iter()
        .map(|c| {
            corpus::root()
                .join("charts")
                .join(c)
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    paths.extend(archives.iter().cloned());
    let batch = tmp.path().join("inspect.json");
    std::fs::write(&batch, serde_json::to_vec(&paths).unwrap()).unwrap();
    let results = helm_render(&["--inspect-batch", batch.to_str().unwrap()]);
    let results = results.as_array().unwrap();
    let mut failures = Vec::new();
    for (path, helm) in paths.iter().zip(results) {
        let p = Path::new(path);
        let files = FsChartFiles::new(p.parent().unwrap());
        let label = p.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            helm["ok"], true,
            "{label}: helm failed to load: {}",
            helm["error"]
        );
        match load_chart(&files, &label) {
            Ok(chart) => compare(&label, &chart, helm, &mut failures),
            Err(e) => failures.push(format!("{label}: {e}")),
        }
    }
    println!(
        "loading: {}/{} charts load as Helm loads them",
        paths.len() - failures.len(),
        paths.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
