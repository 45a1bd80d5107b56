//! One module per command; each returns the process outcome.

pub mod cluster;
pub mod controller;
pub mod crds;
pub mod diff;
pub mod install;
pub mod preview;
pub mod remote;
pub mod render;
pub mod server;
pub mod status;
pub mod sync;
pub mod tree;
pub mod up;
pub mod wait;

use std::path::Path;

use anyhow::{Context, Result, bail};
use trellis_model::{Application, is_application, parse_file};
use trellis_render::tree::{AppNode, Root};

/// Reads the Applications of a local manifest file: the roots of a render,
/// tree or preview. Unknown fields are printed as warnings on stderr.
pub fn load_roots(path: &Path) -> Result<Vec<Root>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading application file {}", path.display()))?;
    let file = path.to_string_lossy();
    let manifests = parse_file(&text, &file)?;
    let mut roots = Vec::new();
    for manifest in manifests.iter().filter(|m| is_application(&m.object)) {
        let parsed = Application::from_manifest(manifest)?;
        roots.push(Root {
            app: parsed.value,
            origin: Some(manifest.origin.clone()),
            warnings: parsed.warnings.iter().map(ToString::to_string).collect(),
        });
    }
    if roots.is_empty() {
        bail!(
            "{file}: no Application found (expected kind: Application with apiVersion trellis.dev/v1alpha1 or argoproj.io/v1alpha1)"
        );
    }
    Ok(roots)
}

/// Prints every node's warnings (unknown fields in Application manifests) on
/// stderr, once per node.
pub fn print_warnings(nodes: &[AppNode]) {
    for (_, node) in nodes.iter().flat_map(AppNode::walk) {
        for warning in &node.warnings {
            eprintln!("warning: application {}: {warning}", node.id());
        }
    }
}

/// How an application is named in output: `namespace/name`, or `<unnamed>`
/// for a manifest too broken to carry a name.
pub fn app_label(node: &AppNode) -> String {
    if node.name.is_empty() {
        "<unnamed>".to_string()
    } else {
        node.id()
    }
}

/// Prints one `error:` line on stderr for every application of the trees
/// that failed; true when there was any.
pub fn report_failures(nodes: &[AppNode]) -> bool {
    let mut any = false;
    for (_, node) in nodes.iter().flat_map(AppNode::walk) {
        if let Some(error) = &node.error {
            eprintln!("error: application {}: {error}", app_label(node));
            any = true;
        }
    }
    any
}
