//! Rendering against real git repositories made by the tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod directory;
mod helm;
mod tree;

use trellis_model::{Application, parse_yaml_stream};
use trellis_render::AppRenderer;
use trellis_source::{SourceConfig, Sources};

/// A renderer over a fresh cache.
pub fn renderer() -> (AppRenderer, tempfile::TempDir) {
    let cache = tempfile::tempdir().unwrap();
    let sources = Sources::new(SourceConfig::new(cache.path().to_path_buf())).unwrap();
    (AppRenderer::new(sources), cache)
}

/// An Application for a directory source; `directory` is YAML for the
/// `directory:` block (indented by the caller), or empty.
pub fn app(name: &str, url: &str, path: &str, directory: &str) -> Application {
    let mut text = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: trellis\nspec:\n  project: default\n  source:\n    repoURL: {url}\n    path: {path}\n    targetRevision: HEAD\n"
    );
    if !directory.is_empty() {
        text.push_str("    directory:\n");
        for line in directory.lines() {
            text.push_str(&format!("      {line}\n"));
        }
    }
    text.push_str(
        "  destination:\n    server: https://kubernetes.default.svc\n    namespace: default\n",
    );
    let manifest = parse_yaml_stream(&text, "app.yaml").unwrap().remove(0);
    Application::from_manifest(&manifest).unwrap().value
}

/// Names of rendered objects, in output order.
pub fn names(manifests: &[trellis_model::Manifest]) -> Vec<String> {
    manifests
        .iter()
        .map(|m| m.object["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

/// A ConfigMap manifest.
pub fn cm(name: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n")
}
