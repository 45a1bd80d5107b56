//! THE corpus test: every chart and values case of ../shared/corpus/helm,
//! rendered by Trellis and by real Helm, compared template by template and
//! as `helm template`'s release manifest, byte for byte.

use std::collections::BTreeMap;

use trellis_helm::{FsChartFiles, RenderOutput, load_chart, render_chart};

use crate::corpus::{self, Case};
use crate::reference::helm_render;

/// Cases that cannot pass until the template engine (trellis-template)
/// has what is named; each is reported as pending, and any other failure
/// fails the test.
const PENDING: &[(&str, &str)] = &[];

fn helm_batch(jobs: &[serde_json::Value]) -> Vec<serde_json::Value> {
    let tmp = tempfile::tempdir().unwrap();
    let batch = tmp.path().join("jobs.json");
    std::fs::write(&batch, serde_json::to_vec(jobs).unwrap()).unwrap();
    let out = helm_render(&["--render-batch", batch.to_str().unwrap()]);
    out.as_array().unwrap().clone()
}

fn helm_templates(result: &serde_json::Value) -> BTreeMap<String, String> {
    result["templates"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| {
            let base = k.rsplit('/').next().unwrap();
            !k.ends_with("NOTES.txt") && !base.starts_with('_')
        })
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

/// Compares `ours` with Helm's text; with `again` (a second Helm render),
/// lines that differ between the two Helm renders are not compared, but
/// line counts must agree.
fn compare_text(label: &str, ours: &str, helm: &str, again: Option<&str>) -> Option<String> {
    if ours == helm {
        return None;
    }
    let (o, h): (Vec<&str>, Vec<&str>) = (ours.split('\n').collect(), helm.split('\n').collect());
    if let Some(again) = again {
        let a: Vec<&str> = again.split('\n').collect();
        if o.len() == h.len() && a.len() == h.len() {
            let bad = (0..h.len()).find(|&i| h[i] == a[i] && o[i] != h[i]);
            match bad {
                None => return None,
                Some(i) => {
                    return Some(format!(
                        "{label}: line {}:\n  helm:    {:?}\n  trellis: {:?}",
                        i + 1,
                        h[i],
                        o[i]
                    ));
                }
            }
        }
    }
    let first = o
        .iter()
        .zip(&h)
        .position(|(a, b)| a != b)
        .unwrap_or(o.len().min(h.len()));
    Some(format!(
        "{label}: first difference at line {} ({} vs {} lines):\n  helm:    {:?}\n  trellis: {:?}",
        first + 1,
        h.len(),
        o.len(),
        h.get(first),
        o.get(first)
    ))
}

fn compare_case(
    case: &Case,
    ours: Result<RenderOutput, trellis_helm::HelmError>,
    helm: &serde_json::Value,
    again: Option<&serde_json::Value>,
) -> Result<(), String> {
    let label = format!("{}/{}", case.chart, case.name);
    let expect_error = case.flags.iter().any(|f| f == "expect-error");
    if helm["ok"] != true {
        let want = helm["error"].as_str().unwrap_or_default();
        if !expect_error {
            return Err(format!(
                "{label}: Helm failed but the case is not expect-error: {want}"
            ));
        }
        return match ours {
            Ok(_) => Err(format!(
                "{label}: Trellis rendered, Helm failed with: {want}"
            )),
            Err(e) if e.to_string() == want => Ok(()),
            Err(e) => Err(format!(
                "{label}: error differs:\n  helm:    {want:?}\n  trellis: {:?}",
                e.to_string()
            )),
        };
    }
    if expect_error {
        return Err(format!(
            "{label}: flagged expect-error but Helm rendered it"
        ));
    }
    let ours = ours.map_err(|e| format!("{label}: Trellis failed: {e}"))?;
    let theirs = helm_templates(helm);
    let again_t = again.map(helm_templates);
    let mut problems = Vec::new();
    let names: std::collections::BTreeSet<&String> =
        theirs.keys().chain(ours.templates.keys()).collect();
    for name in names {
        match (ours.templates.get(name), theirs.get(name)) {
            (Some(o), Some(h)) => {
                let a = again_t
                    .as_ref()
                    .and_then(|a| a.get(name))
                    .map(String::as_str);
                if let Some(p) = compare_text(&format!("{label}: {name}"), o, h, a) {
                    problems.push(p);
                }
            }
            (o, _) => problems.push(format!(
                "{label}: template {name} {}",
                if o.is_some() {
                    "only rendered by Trellis"
                } else {
                    "not rendered by Trellis"
                }
            )),
        }
    }
    // The harness's release manifest comes from an install, never an
    // upgrade; for `--is-upgrade` cases the templates above are compared.
    let manifest = if case.is_upgrade {
        helm["manifest"].as_str().unwrap().to_string()
    } else {
        ours.release_manifest()
    };
    let want = helm["manifest"].as_str().unwrap();
    let again_m = again.and_then(|a| a["manifest"].as_str());
    if let Some(p) = compare_text(
        &format!("{label}: release manifest"),
        &manifest,
        want,
        again_m,
    ) {
        problems.push(p);
    }
    let top_notes = format!("{}/templates/NOTES.txt", ours_chart_name(helm, case));
    if let Some(n) = helm["templates"].get(&top_notes).and_then(|n| n.as_str()) {
        let a = again
            .and_then(|a| a["templates"].get(&top_notes))
            .and_then(|n| n.as_str());
        if let Some(p) = compare_text(&format!("{label}: NOTES.txt"), &ours.notes, n, a) {
            problems.push(p);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

fn ours_chart_name(helm: &serde_json::Value, case: &Case) -> String {
    helm["templates"]
        .as_object()
        .and_then(|t| t.keys().next())
        .map(|k| k.split('/').next().unwrap().to_string())
        .unwrap_or_else(|| case.chart.clone())
}

#[test]
fn corpus_renders_byte_identical_to_helm() {
    let cases = corpus::cases();
    assert!(!cases.is_empty(), "no corpus cases in MANIFEST.tsv");
    let nondet = |c: &Case| c.flags.iter().any(|f| f == "nondeterministic");
    let mut jobs = Vec::new();
    for c in &cases {
        jobs.push(corpus::helm_job(c));
        if nondet(c) {
            jobs.push(corpus::helm_job(c));
        }
    }
    let results = helm_batch(&jobs);
    assert_eq!(results.len(), jobs.len());
    let mut results = results.into_iter();
    let mut passed = 0;
    let mut failures = Vec::new();
    let mut pending = Vec::new();
    for case in &cases {
        let helm = results.next().unwrap();
        let again = if nondet(case) { results.next() } else { None };
        let files = FsChartFiles::new(corpus::root().join("charts"));
        let chart = load_chart(&files, &case.chart).unwrap();
        let ours = render_chart(&chart, &corpus::request(case));
        let label = format!("{}/{}", case.chart, case.name);
        match compare_case(case, ours, &helm, again.as_ref()) {
            Ok(()) => passed += 1,
            Err(e) => match PENDING.iter().find(|(c, _)| *c == label) {
                Some((_, why)) => pending.push(format!(
                    "pending: {label} (needs {why}): {}",
                    e.lines().next().unwrap_or_default()
                )),
                None => failures.push(e),
            },
        }
    }
    for p in &pending {
        println!("{p}");
    }
    println!(
        "corpus: {passed}/{} cases identical to Helm ({} pending)",
        cases.len(),
        pending.len()
    );
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
