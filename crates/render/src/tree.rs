//! App of apps: render an application, find the Applications among its
//! output, render those the same way, recursively.
//!
//! Siblings render in parallel. A failing application becomes a node carrying
//! its error while its siblings carry on, so one broken service never hides
//! the state of the others. Cycles (an application reachable from itself) and
//! runaway depth are errors on the node where they are detected.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;
use trellis_model::{Application, Manifest, Origin, is_application};

use crate::{AppRenderer, ResolvedSource};

/// Limits for tree expansion.
#[derive(Debug, Clone)]
pub struct TreeOptions {
    /// How many levels of applications below a root are expanded; deeper
    /// applications are reported as errors.
    pub max_depth: usize,
}

impl Default for TreeOptions {
    fn default() -> Self {
        Self { max_depth: 16 }
    }
}

/// One application in a rendered tree.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppNode {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`; empty when the manifest leaves it to the
    /// controller's namespace.
    pub namespace: String,
    /// Where the Application manifest was read; `None` for an ad-hoc root.
    #[serde(skip)]
    pub origin: Option<Origin>,
    /// The sources as resolved (commit per source).
    pub sources: Vec<ResolvedSource>,
    /// The rendered manifests; empty when rendering failed.
    #[serde(skip)]
    pub manifests: Vec<Manifest>,
    /// Why this application could not be rendered, in one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Non-fatal findings (unknown fields in the Application manifest).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Applications found among this one's manifests.
    pub children: Vec<AppNode>,
}

impl AppNode {
    /// `namespace/name`, or `name` when the namespace is unset: the identity
    /// used for cycle detection and for pairing applications in a preview.
    pub fn id(&self) -> String {
        app_id(&self.namespace, &self.name)
    }

    /// True when this node or any node below it failed.
    pub fn any_failed(&self) -> bool {
        self.error.is_some() || self.children.iter().any(AppNode::any_failed)
    }

    /// Every node of the subtree, depth first, with its depth (this node is 0).
    pub fn walk(&self) -> Vec<(usize, &AppNode)> {
        let mut out = Vec::new();
        let mut stack = vec![(0usize, self)];
        while let Some((depth, node)) = stack.pop() {
            out.push((depth, node));
            for child in node.children.iter().rev() {
                stack.push((depth + 1, child));
            }
        }
        out
    }

    /// How many rendered resources there are of each kind.
    pub fn kind_counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for manifest in &self.manifests {
            let kind = manifest
                .object
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("<no kind>");
            *counts.entry(kind.to_string()).or_insert(0) += 1;
        }
        counts
    }
}

fn app_id(namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        name.to_string()
    } else {
        format!("{namespace}/{name}")
    }
}

/// A root of a tree: a parsed Application and where it was read.
#[derive(Debug, Clone)]
pub struct Root {
    /// The application.
    pub app: Application,
    /// Where it was read, if from a file.
    pub origin: Option<Origin>,
    /// Warnings found while parsing it.
    pub warnings: Vec<String>,
}

/// Renders each root and everything below it.
pub fn expand(renderer: &AppRenderer, roots: Vec<Root>, options: &TreeOptions) -> Vec<AppNode> {
    roots
        .into_par_iter()
        .map(|root| render_node(renderer, root, &[], options))
        .collect()
}

/// Renders one application without expanding the applications it declares.
pub fn render_single(renderer: &AppRenderer, root: Root) -> AppNode {
    let (mut node, app) = new_node(root);
    if let Err(err) = fill(renderer, &mut node, &app) {
        node.error = Some(err.to_string());
    }
    node
}

fn new_node(root: Root) -> (AppNode, Application) {
    let Root {
        app,
        origin,
        warnings,
    } = root;
    let node = AppNode {
        name: app.metadata.name.clone().unwrap_or_default(),
        namespace: app.metadata.namespace.clone().unwrap_or_default(),
        origin,
        sources: Vec::new(),
        manifests: Vec::new(),
        error: None,
        warnings,
        children: Vec::new(),
    };
    (node, app)
}

fn fill(
    renderer: &AppRenderer,
    node: &mut AppNode,
    app: &Application,
) -> Result<(), crate::RenderError> {
    let rendered = renderer.render(app)?;
    node.sources = rendered.sources;
    node.manifests = rendered.manifests;
    Ok(())
}

fn render_node(
    renderer: &AppRenderer,
    root: Root,
    ancestors: &[String],
    options: &TreeOptions,
) -> AppNode {
    let (mut node, app) = new_node(root);
    let id = node.id();
    if ancestors.contains(&id) {
        let mut path: Vec<&str> = ancestors.iter().map(String::as_str).collect();
        path.push(&id);
        node.error = Some(format!("app-of-apps cycle: {}", path.join(" → ")));
        return node;
    }
    if ancestors.len() > options.max_depth {
        node.error = Some(format!(
            "app-of-apps depth limit of {} reached (raise it with --max-depth)",
            options.max_depth
        ));
        return node;
    }
    if let Err(err) = fill(renderer, &mut node, &app) {
        node.error = Some(err.to_string());
        return node;
    }

    let mut lineage = ancestors.to_vec();
    lineage.push(id);
    let children: Vec<Result<Root, Box<AppNode>>> = node
        .manifests
        .iter()
        .filter(|m| is_application(&m.object))
        .map(child_root)
        .collect();
    node.children = children
        .into_par_iter()
        .map(|child| match child {
            Ok(root) => render_node(renderer, root, &lineage, options),
            Err(failed) => *failed,
        })
        .collect();
    node
}

/// Parses a child Application manifest; a manifest that does not parse
/// becomes a failed node named as well as the manifest allows.
fn child_root(manifest: &Manifest) -> Result<Root, Box<AppNode>> {
    match Application::from_manifest(manifest) {
        Ok(parsed) => Ok(Root {
            app: parsed.value,
            origin: Some(manifest.origin.clone()),
            warnings: parsed.warnings.iter().map(ToString::to_string).collect(),
        }),
        Err(err) => {
            let meta = |field: &str| {
                manifest.object["metadata"][field]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            };
            Err(Box::new(AppNode {
                name: meta("name"),
                namespace: meta("namespace"),
                origin: Some(manifest.origin.clone()),
                sources: Vec::new(),
                manifests: Vec::new(),
                error: Some(err.to_string()),
                warnings: Vec::new(),
                children: Vec::new(),
            }))
        }
    }
}
