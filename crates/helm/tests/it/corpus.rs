//! The chart corpus in ../shared/corpus/helm, enumerated from MANIFEST.tsv.

use std::path::{Path, PathBuf};

/// One values case of one corpus chart.
#[derive(Debug, Clone)]
pub struct Case {
    /// The chart's directory name under charts/.
    pub chart: String,
    /// `default` or the values file name (`values-x.yaml`).
    pub name: String,
    /// The values file, when not the default case.
    pub values_file: Option<PathBuf>,
    /// Flags from the manifest (`expect-error`, `nondeterministic`, `options`).
    pub flags: Vec<String>,
    /// `--kube-version` from the options file.
    pub kube_version: Option<String>,
    /// `--api-versions` from the options file.
    pub api_versions: Vec<String>,
    /// `--is-upgrade` from the options file.
    pub is_upgrade: bool,
}

/// The corpus root: ../shared/corpus/helm, or `$TRELLIS_HELM_CORPUS` (a
/// directory of the same layout, for trying changed charts).
pub fn root() -> PathBuf {
    if let Some(p) = std::env::var_os("TRELLIS_HELM_CORPUS") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/helm")
}

/// Every case listed in MANIFEST.tsv.
pub fn cases() -> Vec<Case> {
    let manifest = std::fs::read_to_string(root().join("MANIFEST.tsv")).unwrap();
    let mut out = Vec::new();
    for line in manifest.lines() {
        if line.starts_with('#') || line.starts_with("chart\t") || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let chart = cols[0].to_string();
        for spec in cols[6].split(',') {
            let (name, flags) = match spec.split_once('[') {
                Some((n, f)) => (
                    n.to_string(),
                    f.trim_end_matches(']')
                        .split('|')
                        .map(str::to_string)
                        .collect(),
                ),
                None => (spec.to_string(), Vec::new()),
            };
            let mut case = Case {
                chart: chart.clone(),
                values_file: (name != "default")
                    .then(|| root().join("cases").join(&chart).join(&name)),
                name,
                flags,
                kube_version: None,
                api_versions: Vec::new(),
                is_upgrade: false,
            };
            if let Some(vf) = &case.values_file {
                let opts = vf.with_file_name(
                    vf.file_name()
                        .unwrap()
                        .to_string_lossy()
                        .replace(".yaml", ".options.yaml"),
                );
                if let Ok(text) = std::fs::read_to_string(&opts) {
                    let v = trellis_helm::from_yaml(&text).unwrap();
                    let trellis_helm::Value::Map(m) = v else {
                        panic!()
                    };
                    case.kube_version = m
                        .get("kube_version")
                        .and_then(|v| v.as_str().map(str::to_string));
                    if let Some(trellis_helm::Value::List(l)) = m.get("api_versions") {
                        case.api_versions = l
                            .iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect();
                    } else if let Some(s) = m
                        .get("api_versions")
                        .and_then(|v| v.as_str().map(str::to_string))
                    {
                        case.api_versions = s.split(',').map(str::to_string).collect();
                    }
                    case.is_upgrade =
                        matches!(m.get("is_upgrade"), Some(trellis_helm::Value::Bool(true)));
                }
            }
            out.push(case);
        }
    }
    out
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        let t = to.join(e.file_name());
        if std::fs::metadata(&p).unwrap().is_dir() {
            copy_dir(&p, &t);
        } else {
            std::fs::copy(&p, &t).unwrap();
        }
    }
}

/// The user values of a case, combined as the helm CLI combines `-f`.
pub fn user_values(case: &Case) -> trellis_helm::Value {
    let mut uv = trellis_helm::UserValues::default();
    if let Some(vf) = &case.values_file {
        let text = std::fs::read_to_string(vf).unwrap();
        uv.files.push(trellis_helm::from_yaml(&text).unwrap());
    }
    uv.build(&mut |p| Err(format!("no files: {p}"))).unwrap()
}

/// The render request of a case with the corpus settings.
pub fn request(case: &Case) -> trellis_helm::RenderRequest {
    trellis_helm::RenderRequest {
        release_name: "my-release".into(),
        namespace: "test-ns".into(),
        user_values: user_values(case),
        kube_version: case.kube_version.clone(),
        api_versions: case.api_versions.clone(),
        is_upgrade: case.is_upgrade,
        ..Default::default()
    }
}

/// The harness job of a case.
pub fn helm_job(case: &Case) -> serde_json::Value {
    serde_json::json!({
        "chart": root().join("charts").join(&case.chart),
        "values": case.values_file.iter().collect::<Vec<_>>(),
        "kube_version": case.kube_version,
        "api_versions": case.api_versions,
        "is_upgrade": case.is_upgrade,
    })
}
