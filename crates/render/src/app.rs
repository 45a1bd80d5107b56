//! Rendering one application: resolve each source, pick its renderer, collect
//! the manifests.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use trellis_model::{Application, ApplicationSource, Manifest};
use trellis_source::{Snapshot, Sources, normalize_url};

use crate::directory::DirectoryRenderer;
use crate::{Capabilities, RenderError, RenderInput, Renderer};

/// The kind of tool that renders a source, chosen as Argo CD chooses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum SourceKind {
    /// Plain YAML/JSON manifests (and later jsonnet).
    Directory,
    /// A Helm chart (a `chart` name, a `helm` block, or a `Chart.yaml`).
    Helm,
    /// A kustomization (a `kustomize` block or a `kustomization.yaml`).
    Kustomize,
    /// A config-management plugin.
    Plugin,
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceKind::Directory => "Directory",
            SourceKind::Helm => "Helm",
            SourceKind::Kustomize => "Kustomize",
            SourceKind::Plugin => "Plugin",
        })
    }
}

/// One source of an application as it was rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedSource {
    /// The repository URL as the application names it.
    pub repo_url: String,
    /// The path within the repository (`""` for the root).
    pub path: String,
    /// The revision asked for (after any override).
    pub target_revision: String,
    /// The commit it resolved to; `None` for a local directory.
    pub commit: Option<String>,
    /// How the source was rendered; `None` for a values-only (`ref`) source.
    pub kind: Option<SourceKind>,
    /// The source's `ref` name, by which other sources read its files.
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub ref_name: Option<String>,
}

/// An application's rendered manifests and the sources they came from.
#[derive(Debug, Clone)]
pub struct RenderedApp {
    /// Every manifest of every source, in source order then file order.
    pub manifests: Vec<Manifest>,
    /// The sources, resolved.
    pub sources: Vec<ResolvedSource>,
}

/// Renders applications: resolves their sources through [`Sources`] and
/// dispatches each to the renderer for its kind.
///
/// Cheap to share across threads; every method takes `&self`.
#[derive(Clone)]
pub struct AppRenderer {
    sources: Sources,
    renderers: HashMap<SourceKind, Arc<dyn Renderer>>,
    overrides: Vec<(String, String)>,
}

impl AppRenderer {
    /// A renderer over the given repository cache, with the directory and
    /// Helm renderers registered. Other kinds are registered with [`AppRenderer::with_renderer`].
    pub fn new(sources: Sources) -> Self {
        let mut renderers: HashMap<SourceKind, Arc<dyn Renderer>> = HashMap::new();
        renderers.insert(SourceKind::Directory, Arc::new(DirectoryRenderer));
        renderers.insert(
            SourceKind::Helm,
            Arc::new(crate::helm::HelmRenderer::default()),
        );
        Self {
            sources,
            renderers,
            overrides: Vec::new(),
        }
    }

    /// Registers (or replaces) the renderer for a source kind.
    pub fn with_renderer(mut self, kind: SourceKind, renderer: Arc<dyn Renderer>) -> Self {
        self.renderers.insert(kind, renderer);
        self
    }

    /// Renders every source of `repo_url` at `revision` instead of its
    /// `targetRevision`: how a preview renders a whole tree as it would be
    /// after a change to one repository.
    pub fn with_revision_override(mut self, repo_url: &str, revision: &str) -> Self {
        self.overrides
            .push((normalize_url(repo_url), revision.to_string()));
        self
    }

    /// The repository cache this renderer reads from.
    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    /// Renders all of an application's sources.
    ///
    /// Every source is resolved first, so a source can read files of another
    /// through its `ref` name (`$values/envs/prod.yaml`), whatever their order.
    pub fn render(&self, app: &Application) -> Result<RenderedApp, RenderError> {
        self.render_for(app, &Capabilities::default())
    }

    /// Renders all of an application's sources for a destination that
    /// serves `capabilities` (what Helm charts see as `.Capabilities`).
    pub fn render_for(
        &self,
        app: &Application,
        capabilities: &Capabilities,
    ) -> Result<RenderedApp, RenderError> {
        let sources = app.spec.all_sources();
        if sources.is_empty() {
            return Err(RenderError::NoSource);
        }
        let mut snapshots = Vec::with_capacity(sources.len());
        let mut refs = BTreeMap::new();
        for source in &sources {
            let (revision, overridden) = self.revision_for(source);
            let snapshot = self.sources.snapshot(&source.repo_url, &revision)?;
            // A plain directory stands in for every revision, so rendering it
            // "at" an override would silently compare a folder with itself.
            if overridden && snapshot.commit().is_none() {
                return Err(RenderError::DirectoryRevision {
                    repo_url: source.repo_url.clone(),
                    revision,
                });
            }
            if let Some(name) = source.r#ref.as_deref().filter(|n| !n.is_empty()) {
                refs.insert(name.to_string(), Arc::clone(&snapshot));
            }
            snapshots.push((revision, snapshot));
        }
        let mut rendered = RenderedApp {
            manifests: Vec::new(),
            sources: Vec::with_capacity(sources.len()),
        };
        for (source, (revision, snapshot)) in sources.into_iter().zip(snapshots) {
            let path = normalize_path(source.path.as_deref().unwrap_or(""));
            let values_only =
                source.r#ref.is_some() && source.path.is_none() && source.chart.is_none();
            let mut resolved = ResolvedSource {
                repo_url: source.repo_url.clone(),
                path: path.clone(),
                target_revision: revision,
                commit: snapshot.commit().map(str::to_string),
                kind: None,
                ref_name: source.r#ref.clone().filter(|r| !r.is_empty()),
            };
            if values_only {
                rendered.sources.push(resolved);
                continue;
            }
            let kind = detect_kind(source, &snapshot, &path)?;
            resolved.kind = Some(kind);
            let renderer = self
                .renderers
                .get(&kind)
                .ok_or_else(|| RenderError::Unsupported {
                    kind,
                    repo_url: source.repo_url.clone(),
                    path: path.clone(),
                })?;
            let input = RenderInput {
                app,
                source,
                snapshot: &snapshot,
                path: &path,
                refs: &refs,
                revision: &resolved.target_revision,
                capabilities,
            };
            rendered.manifests.extend(renderer.render(&input)?);
            rendered.sources.push(resolved);
        }
        Ok(rendered)
    }

    /// The revision to render a source at, and whether it comes from an
    /// override rather than the source's own `targetRevision`.
    fn revision_for(&self, source: &ApplicationSource) -> (String, bool) {
        let url = normalize_url(&source.repo_url);
        if let Some((_, revision)) = self.overrides.iter().find(|(u, _)| *u == url) {
            return (revision.clone(), true);
        }
        let revision = match source.target_revision.as_deref().map(str::trim) {
            Some(r) if !r.is_empty() => r.to_string(),
            _ => "HEAD".to_string(),
        };
        (revision, false)
    }
}

/// Chooses the renderer kind: an explicit block first (more than one is an
/// error in Argo CD too, but model validation rejects that before we get here),
/// then a chart name, then what the directory holds.
fn detect_kind(
    source: &ApplicationSource,
    snapshot: &Snapshot,
    path: &str,
) -> Result<SourceKind, RenderError> {
    if source.plugin.is_some() {
        return Ok(SourceKind::Plugin);
    }
    if source.helm.is_some() || source.chart.is_some() {
        return Ok(SourceKind::Helm);
    }
    if source.kustomize.is_some() {
        return Ok(SourceKind::Kustomize);
    }
    if source.directory.is_some() {
        return Ok(SourceKind::Directory);
    }
    let has = |name: &str| -> Result<bool, RenderError> {
        let file = crate::directory::join(path, name);
        Ok(snapshot.entry(&file)?.is_some())
    };
    if has("Chart.yaml")? {
        return Ok(SourceKind::Helm);
    }
    if has("kustomization.yaml")? || has("kustomization.yml")? || has("Kustomization")? {
        return Ok(SourceKind::Kustomize);
    }
    Ok(SourceKind::Directory)
}

/// Normalizes a source path: `.`, `./x/`, `x//y` → ``, `x`, `x/y`.
pub(crate) fn normalize_path(path: &str) -> String {
    path.split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalize() {
        assert_eq!(normalize_path("."), "");
        assert_eq!(normalize_path("./apps/"), "apps");
        assert_eq!(normalize_path("a//b/./c"), "a/b/c");
    }
}
