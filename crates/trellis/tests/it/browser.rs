//! The web UI end to end in a real headless Chromium, over `trellis up`:
//! the scenarios are `tests/browser/*.mjs` (playwright-core and axe-core,
//! see `trellis_testkit::browser`); this side starts Trellis, hands the
//! scripts what they need and checks their report.

use std::path::PathBuf;

use serde_json::Value;

use crate::support::{Env, Up};

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/browser")
        .join(name)
}

/// Runs a browser scenario against `up`; its JSON report.
fn scenario(up: &Up, name: &str) -> Value {
    let kubeconfig = up.data.join("kubeconfig");
    let infra = up.data.join("repos/infrastructure");
    let url = up.url();
    let out = trellis_testkit::browser::node(
        &script(name),
        &[
            ("TRELLIS_URL", url.as_str()),
            ("TRELLIS_PASSWORD", up.password.as_str()),
            ("TRELLIS_KUBECONFIG", kubeconfig.to_str().unwrap()),
            ("TRELLIS_INFRA_REPO", infra.to_str().unwrap()),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("{name} printed no report: {stdout}"));
    assert!(
        out.status.success(),
        "{name} failed: {}\nreport: {report:#}",
        report["error"]
    );
    report
}

#[test]
fn web_ui_in_chromium_by_mouse_and_keyboard() {
    let env = Env::new();
    let up = Up::start(&env);
    let report = scenario(&up, "e2e.mjs");

    // Every page checked by axe-core had no serious or critical violation.
    let axe = report["axe"].as_object().unwrap();
    for page in ["login", "list", "application", "resource", "create"] {
        let violations = axe
            .get(page)
            .unwrap_or_else(|| panic!("axe did not check {page}: {report:#}"));
        assert_eq!(violations, &Value::Array(vec![]), "{page}: {violations:#}");
    }
    // No script error, failed request or script-opened dialog on any page.
    assert_eq!(report["problems"], Value::Array(vec![]), "{report:#}");
    // Screenshots of the main pages are kept as artifacts.
    let shots: Vec<&str> = report["screenshots"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for name in [
        "login",
        "list",
        "application",
        "diff-unified",
        "diff-split",
        "edit-conflict",
    ] {
        let file = shots
            .iter()
            .find(|s| s.ends_with(&format!("/{name}.png")))
            .unwrap_or_else(|| panic!("no {name} screenshot in {shots:?}"));
        let bytes = std::fs::read(file).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{file} is not a PNG");
    }
}
