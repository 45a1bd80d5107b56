//! Manifest splitting and ordering compared with Helm: Helm's raw
//! per-template output of every deterministic corpus case is split and
//! sorted by Trellis and must reproduce Helm's release manifest byte for
//! byte.

use trellis_helm::{release_manifest, sort_manifests};

use crate::corpus;
use crate::reference::helm_render;

#[test]
fn manifest_order_matches_helm_for_every_corpus_case() {
    let cases = corpus::cases();
    let tmp = tempfile::tempdir().unwrap();
    let jobs: Vec<_> = cases
        .iter()
        .map(|case| {
            serde_json::json!({
                "chart": corpus::root().join("charts").join(&case.chart),
                "values": case.values_file.iter().collect::<Vec<_>>(),
                "kube_version": case.kube_version,
                "api_versions": case.api_versions,
                "is_upgrade": case.is_upgrade,
            })
        })
        .collect();
    let batch = tmp.path().join("jobs.json");
    std::fs::write(&batch, serde_json::to_vec(&jobs).unwrap()).unwrap();
    let results = helm_render(&["--render-batch", batch.to_str().unwrap()]);
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), cases.len());
    let mut compared = 0;
    let mut skipped = Vec::new();
    let mut failures = Vec::new();
    for (case, result) in cases.iter().zip(results) {
        let label = format!("{}/{}", case.chart, case.name);
        if result["ok"] != true {
            skipped.push(format!("{label} (Helm fails)"));
            continue;
        }
        if case.flags.iter().any(|f| f == "nondeterministic") {
            skipped.push(format!("{label} (nondeterministic)"));
            continue;
        }
        let rendered: Vec<(String, String)> = result["templates"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| !k.ends_with("NOTES.txt"))
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let (_hooks, manifests) = match sort_manifests(&rendered) {
            Ok(x) => x,
            Err(e) => {
                failures.push(format!("{label}: {e}"));
                continue;
            }
        };
        let ours = release_manifest(&[], &manifests);
        let theirs = result["manifest"].as_str().unwrap();
        if ours != theirs {
            let first = ours
                .lines()
                .zip(theirs.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(ours.lines().count().min(theirs.lines().count()));
            failures.push(format!(
                "{label}: first difference at line {}:\n  helm:    {:?}\n  trellis: {:?}",
                first + 1,
                theirs.lines().nth(first),
                ours.lines().nth(first)
            ));
        }
        compared += 1;
    }
    println!(
        "manifests: {compared}/{} cases byte-identical to Helm; skipped {skipped:?}",
        cases.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
