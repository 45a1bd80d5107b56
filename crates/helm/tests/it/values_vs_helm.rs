//! `.Values` of every chart and subchart of every corpus case, compared
//! with what Helm's templates see. A probe template printing
//! `{{ toJson .Values }}` is added to each chart of a copy of the corpus
//! chart; Helm renders it, Trellis loads the same copy, processes
//! dependencies and coalesces values.

use std::path::Path;

use trellis_helm::{
    Chart, FsChartFiles, Map, Value, load_chart, merge_user_values, to_render_values,
};

use crate::corpus::{self, copy_dir};
use crate::reference::helm_render;
use crate::support::go_json_value;

/// Deep enough that Helm renders it before every real template (Helm
/// renders the deepest paths first), so no template has mutated `.Values`
/// yet.
const PROBE: &str = "zz/zz/zz/zz/zz/zz/zz/zz/zz/zz/trellis-probe.txt";

fn add_probes(dir: &Path) {
    let chart_yaml = std::fs::read_to_string(dir.join("Chart.yaml")).unwrap_or_default();
    if !chart_yaml.lines().any(|l| l.trim() == "type: library") {
        let probe = dir.join("templates").join(PROBE);
        std::fs::create_dir_all(probe.parent().unwrap()).unwrap();
        std::fs::write(probe, "{{ toJson .Values }}").unwrap();
    }
    if let Ok(rd) = std::fs::read_dir(dir.join("charts")) {
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() && p.join("Chart.yaml").exists() {
                add_probes(&p);
            }
        }
    }
}

fn as_json_numbers(v: &Value) -> Value {
    match v {
        Value::Int(i) | Value::Int64(i) => Value::Float(*i as f64),
        Value::List(l) => Value::list(l.iter().map(as_json_numbers).collect()),
        Value::Map(m) => {
            let mut out = Map::new();
            for (k, v) in m.snapshot() {
                out.insert(k, as_json_numbers(&v));
            }
            Value::map(out)
        }
        other => other.clone(),
    }
}

/// Leaf lines `a.b[0].c = value` of a value tree.
fn flatten(v: &Value) -> Vec<String> {
    fn walk(v: &Value, path: &str, out: &mut Vec<String>) {
        match v {
            Value::Map(m) if !m.is_empty() => {
                for (k, v) in m.snapshot() {
                    walk(&v, &format!("{path}.{k}"), out);
                }
            }
            Value::List(l) if !l.is_empty() => {
                for (i, v) in l.iter().enumerate() {
                    walk(v, &format!("{path}[{i}]"), out);
                }
            }
            other => out.push(format!("{path} = {}", trellis_helm::to_yaml(other))),
        }
    }
    let mut out = Vec::new();
    walk(v, "", &mut out);
    out
}

/// Trellis's `.Values` per template path prefix (`top/charts/sub`).
fn collect(chart: &Chart, values: &Value, path: &str, out: &mut Vec<(String, Value)>) {
    if !chart.metadata.is_library() {
        out.push((path.to_string(), values.clone()));
    }
    for sub in &chart.dependencies {
        let sub_values = match values {
            Value::Map(m) => match m.get(sub.name()) {
                Some(v @ Value::Map(_)) => v,
                _ => Value::map(Map::new()),
            },
            _ => Value::map(Map::new()),
        };
        collect(
            sub,
            &sub_values,
            &format!("{path}/charts/{}", sub.name()),
            out,
        );
    }
}

#[test]
fn values_match_helm_for_every_corpus_case() {
    let cases = corpus::cases();
    assert!(!cases.is_empty(), "no corpus cases found");
    let tmp = tempfile::tempdir().unwrap();
    let mut jobs = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let dir = tmp.path().join(format!("{i:03}")).join(&case.chart);
        copy_dir(&corpus::root().join("charts").join(&case.chart), &dir);
        add_probes(&dir);
        jobs.push(serde_json::json!({
            "chart": dir,
            "values": case.values_file.iter().collect::<Vec<_>>(),
            "kube_version": case.kube_version,
            "api_versions": case.api_versions,
            "is_upgrade": case.is_upgrade,
            "templates_only": true,
        }));
    }
    let batch = tmp.path().join("jobs.json");
    std::fs::write(&batch, serde_json::to_vec(&jobs).unwrap()).unwrap();
    let results = helm_render(&["--render-batch", batch.to_str().unwrap()]);
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), cases.len());

    let mut compared = 0;
    let mut helm_failed = Vec::new();
    let mut failures = Vec::new();
    for (i, (case, result)) in cases.iter().zip(results).enumerate() {
        let label = format!("{}/{}", case.chart, case.name);
        if result["ok"] != true {
            helm_failed.push(format!("{label}: {}", result["error"]));
            continue;
        }
        let files = FsChartFiles::new(tmp.path().join(format!("{i:03}")));
        let mut chart = match load_chart(&files, &case.chart) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{label}: load failed: {e}"));
                continue;
            }
        };
        let mut user = Value::map(Map::new());
        if let Some(vf) = &case.values_file {
            let text = std::fs::read_to_string(vf).unwrap();
            user = merge_user_values(&user, &trellis_helm::from_yaml(&text).unwrap());
        }
        let values = match to_render_values(&mut chart, &user) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{label}: coalescing failed: {e}"));
                continue;
            }
        };
        let mut ours = Vec::new();
        collect(&chart, &values, chart.name(), &mut ours);
        let templates = result["templates"].as_object().unwrap();
        let theirs: Vec<(String, Value)> = templates
            .iter()
            .filter_map(|(k, v)| {
                k.strip_suffix(&format!("/templates/{PROBE}")).map(|p| {
                    let json: serde_json::Value =
                        serde_json::from_str(v.as_str().unwrap()).unwrap();
                    (p.to_string(), go_json_value(&json))
                })
            })
            .collect();
        let mut our_paths: Vec<&String> = ours.iter().map(|(p, _)| p).collect();
        let mut their_paths: Vec<&String> = theirs.iter().map(|(p, _)| p).collect();
        our_paths.sort();
        their_paths.sort();
        if our_paths != their_paths {
            failures.push(format!(
                "{label}: rendered charts differ: helm {their_paths:?}, trellis {our_paths:?}"
            ));
            continue;
        }
        for (path, want) in &theirs {
            let got = &ours.iter().find(|(p, _)| p == path).unwrap().1;
            if as_json_numbers(got) != *want {
                let (w, g) = (flatten(want), flatten(&as_json_numbers(got)));
                let only_helm: Vec<&String> = w.iter().filter(|l| !g.contains(l)).take(8).collect();
                let only_ours: Vec<&String> = g.iter().filter(|l| !w.contains(l)).take(8).collect();
                failures.push(format!(
                    "{label}: .Values of {path} differ:\n  helm only: {only_helm:?}\n  trellis only: {only_ours:?}"
                ));
            }
        }
        compared += 1;
    }
    println!(
        "values: {compared}/{} cases compared with Helm ({} failed in Helm itself)",
        cases.len(),
        helm_failed.len()
    );
    for h in &helm_failed {
        println!("  helm failed: {h}");
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
