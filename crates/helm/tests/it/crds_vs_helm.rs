//! CRDs from `crds/` (`helm template --include-crds`): every corpus chart
//! with CRDs, rendered with CRDs included, lists exactly the CRD objects
//! Helm's loader finds (paths and contents, chart first, then subcharts),
//! printed before the manifests with `# Source:` headers.

use trellis_helm::{FsChartFiles, load_chart, render_chart};

use crate::corpus;
use crate::reference::helm_render;

#[test]
fn included_crds_match_helm() {
    // One case per chart that Helm renders (CRDs are left out of the
    // corpus comparison, as `helm template` leaves them out).
    let mut cases: Vec<corpus::Case> = Vec::new();
    for c in corpus::cases() {
        if c.flags.iter().any(|f| f == "expect-error") || cases.iter().any(|x| x.chart == c.chart) {
            continue;
        }
        cases.push(c);
    }
    let tmp = tempfile::tempdir().unwrap();
    let paths: Vec<_> = cases
        .iter()
        .map(|c| corpus::root().join("charts").join(&c.chart))
        .collect();
    let batch = tmp.path().join("inspect.json");
    std::fs::write(&batch, serde_json::to_vec(&paths).unwrap()).unwrap();
    let helm = helm_render(&["--inspect-batch", batch.to_str().unwrap()]);
    let mut with_crds = 0;
    let mut failures = Vec::new();
    for (case, h) in cases.iter().zip(helm.as_array().unwrap()) {
        let all: Vec<(String, String)> = h["crd_objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["filename"].as_str().unwrap().to_string(),
                    x["data"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        if all.is_empty() {
            continue;
        }
        let want = all;
        let files = FsChartFiles::new(corpus::root().join("charts"));
        let chart = load_chart(&files, &case.chart).unwrap();
        // Subcharts disabled by the case's values contribute no CRDs;
        // Helm's loader lists every subchart's.
        let mut processed = chart.clone();
        trellis_helm::to_render_values(&mut processed, &corpus::user_values(case)).unwrap();
        let mut present = Vec::new();
        chart_paths(&processed, processed.name().to_string(), &mut present);
        let mut want: Vec<(String, String)> = want
            .into_iter()
            .filter(|(p, _)| {
                let dir = p.rsplit_once("/crds/").map(|x| x.0).unwrap_or_default();
                present.iter().any(|c| *c == dir)
            })
            .collect();
        // Helm orders subcharts by Go map iteration (random).
        want.sort();
        let mut req = corpus::request(case);
        req.include_crds = true;
        let out = render_chart(&chart, &req).unwrap();
        let mut got: Vec<(String, String)> = out
            .crds
            .iter()
            .map(|(p, d)| (p.clone(), String::from_utf8(d.clone()).unwrap()))
            .collect();
        got.sort();
        if got != want {
            failures.push(format!(
                "{}/{}: CRDs differ:\n  helm:    {:?}\n  trellis: {:?}",
                case.chart,
                case.name,
                want.iter().map(|x| &x.0).collect::<Vec<_>>(),
                got.iter().map(|x| &x.0).collect::<Vec<_>>()
            ));
            continue;
        }
        if !want.is_empty() {
            with_crds += 1;
            let text = out.template_output();
            let first = format!(
                "---\n# Source: {}\n{}\n",
                out.crds[0].0,
                String::from_utf8_lossy(&out.crds[0].1)
            );
            assert!(
                text.starts_with(&first),
                "{}: CRDs not printed first",
                case.chart
            );
            let mut without = req.clone();
            without.include_crds = false;
            let plain = render_chart(&chart, &without).unwrap();
            assert!(
                !plain
                    .template_output()
                    .contains(&format!("# Source: {}\n", want[0].0))
            );
        }
    }
    fn chart_paths(c: &trellis_helm::Chart, path: String, out: &mut Vec<String>) {
        for d in &c.dependencies {
            chart_paths(d, format!("{path}/charts/{}", d.name()), out);
        }
        out.push(path);
    }
    println!("crds: {with_crds} charts with CRDs match Helm");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(with_crds >= 2, "expected corpus charts with crds/");
}
