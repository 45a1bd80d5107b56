//! The charts shipped in `examples/` (the fleet app of apps and the service
//! charts, with each environment's values) render exactly as Helm renders
//! them.

use std::path::Path;

use trellis_helm::{FsChartFiles, RenderRequest, UserValues, from_yaml, load_chart, render_chart};

use crate::reference::helm_render;

#[test]
fn example_charts_match_helm() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let infra = examples.join("infrastructure");
    let cases: Vec<(std::path::PathBuf, Vec<std::path::PathBuf>)> = vec![
        (
            infra.join("fleet"),
            vec![infra.join("fleet/values-staging.yaml")],
        ),
        (
            infra.join("fleet"),
            vec![infra.join("fleet/values-production.yaml")],
        ),
        (
            examples.join("services/storefront/chart"),
            vec![infra.join("values/storefront/staging.yaml")],
        ),
        (
            examples.join("services/storefront/chart"),
            vec![infra.join("values/storefront/production.yaml")],
        ),
        (
            examples.join("services/checkout/chart"),
            vec![infra.join("values/checkout/production.yaml")],
        ),
    ];
    let tmp = tempfile::tempdir().unwrap();
    let jobs: Vec<serde_json::Value> = cases
        .iter()
        .map(|(chart, values)| serde_json::json!({"chart": chart, "values": values}))
        .collect();
    let batch = tmp.path().join("jobs.json");
    std::fs::write(&batch, serde_json::to_vec(&jobs).unwrap()).unwrap();
    let results = helm_render(&["--render-batch", batch.to_str().unwrap()]);
    for ((chart_dir, values), helm) in cases.iter().zip(results.as_array().unwrap()) {
        assert_eq!(
            helm["ok"],
            true,
            "helm failed on {}: {helm}",
            chart_dir.display()
        );
        let files = FsChartFiles::new(chart_dir);
        let chart = load_chart(&files, "").unwrap();
        let user = UserValues {
            files: values
                .iter()
                .map(|v| from_yaml(&std::fs::read_to_string(v).unwrap()).unwrap())
                .collect(),
            ..Default::default()
        };
        let request = RenderRequest {
            release_name: "my-release".into(),
            namespace: "test-ns".into(),
            user_values: user.build(&mut |_| Err("no files".into())).unwrap(),
            ..Default::default()
        };
        let ours = render_chart(&chart, &request).unwrap();
        assert_eq!(
            ours.release_manifest(),
            helm["manifest"].as_str().unwrap(),
            "{} with {values:?}",
            chart_dir.display()
        );
    }
}
