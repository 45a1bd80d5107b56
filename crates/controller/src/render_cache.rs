//! Renders cached by the content of their inputs.
//!
//! The key of an application's render is a hash of what the render reads:
//! the git tree id of each source's path, the blob id of each value file it
//! takes from another source (`$ref/...`), the source and destination
//! settings, and the application's name and namespace (Helm's release
//! defaults). Not the commit: a commit elsewhere in a monorepo leaves the
//! key, and so the render, as it was. Sources read from a plain directory
//! have no object ids and are rendered every time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use trellis_model::{Application, ApplicationSource, Manifest};
use trellis_render::{AppRenderer, Capabilities, ResolvedSource};

use crate::AppKey;

/// One render's outcome: manifests and resolved sources, or the error.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The manifests, or the render error in words.
    pub manifests: Result<Arc<Vec<Manifest>>, String>,
    /// The sources with their resolved commits (empty when resolving failed).
    pub sources: Vec<ResolvedSource>,
}

impl Rendered {
    /// A render's outcome, with its error in words.
    pub fn from_result(
        result: Result<trellis_render::RenderedApp, trellis_render::RenderError>,
    ) -> Self {
        match result {
            Ok(r) => Self {
                manifests: Ok(Arc::new(r.manifests)),
                sources: r.sources,
            },
            Err(e) => Self {
                manifests: Err(e.to_string()),
                sources: Vec::new(),
            },
        }
    }

    /// The manifests as the engine takes them.
    pub fn as_input(&self) -> Result<&[Manifest], &str> {
        match &self.manifests {
            Ok(m) => Ok(m.as_slice()),
            Err(e) => Err(e.as_str()),
        }
    }

    /// The resolved revision of each source (commit, or the requested
    /// revision of a plain directory).
    pub fn revisions(&self) -> Vec<String> {
        self.sources
            .iter()
            .map(|s| {
                s.commit
                    .clone()
                    .unwrap_or_else(|| s.target_revision.clone())
            })
            .collect()
    }
}

/// The last render of each application, with its content key.
#[derive(Default)]
pub struct RenderCache {
    entries: Mutex<HashMap<AppKey, (String, Rendered)>>,
}

impl RenderCache {
    /// Renders `app` unless its inputs are unchanged since the last render;
    /// returns the render and whether it came from the cache.
    pub fn render(
        &self,
        key: &AppKey,
        app: &Application,
        renderer: &AppRenderer,
        capabilities: &Capabilities,
    ) -> (Rendered, bool) {
        let content = content_key(app, renderer, capabilities);
        if let Some(content) = &content {
            let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((k, rendered)) = entries.get(key)
                && k == content
            {
                return (rendered.clone(), true);
            }
        }
        let rendered = Rendered::from_result(renderer.render_for(app, capabilities));
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match content {
            // A failed render is not cached: the cause may be transient.
            Some(content) if rendered.manifests.is_ok() => {
                entries.insert(key.clone(), (content, rendered.clone()));
            }
            _ => {
                entries.remove(key);
            }
        }
        (rendered, false)
    }

    /// The content key of an application's cached render, if any.
    pub fn key_of(&self, key: &AppKey) -> Option<String> {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .map(|(k, _)| k.clone())
    }

    /// Forgets an application's render (a hard refresh, or a deleted app).
    pub fn forget(&self, key: &AppKey) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

/// The content key of an application's render; `None` when an input has
/// no content id (a plain directory) or cannot be resolved (the render
/// will report why).
pub fn content_key(
    app: &Application,
    renderer: &AppRenderer,
    capabilities: &Capabilities,
) -> Option<String> {
    let sources = renderer.sources();
    let mut hash = Sha256::new();
    // A chart gated on an API (a CRD) renders anew when the API appears.
    hash.update(format!("{capabilities:?}").as_bytes());
    let settings = serde_json::json!({
        "name": app.name(),
        "namespace": app.namespace(),
        "project": app.spec.project,
        "destination": app.spec.destination,
        "sources": app.spec.all_sources(),
    });
    hash.update(settings.to_string().as_bytes());
    let all = app.spec.all_sources();
    let mut snapshots = HashMap::new();
    for source in &all {
        let snapshot = sources.snapshot(&source.repo_url, revision(source)).ok()?;
        if let Some(name) = source.r#ref.as_deref().filter(|n| !n.is_empty()) {
            snapshots.insert(name.to_string(), snapshot.clone());
        }
        if source.is_ref() {
            // Only the files other sources take from it count (below).
            continue;
        }
        let path = source.path.as_deref().unwrap_or("").trim_matches('/');
        let path = if path == "." { "" } else { path };
        hash.update(snapshot.tree_id(path).ok()??.as_bytes());
        // Charts that pull in directories outside their path, and sources
        // that put the commit into the render, depend on more than the path.
        let chart = snapshot
            .read_file(&join(path, "Chart.yaml"))
            .ok()
            .map(|b| String::from_utf8_lossy(&b).contains("file://"));
        let uses_revision = serde_json::to_string(source)
            .map(|s| s.contains("ARGOCD_APP_REVISION"))
            .unwrap_or(true);
        if chart == Some(true) {
            hash.update(snapshot.tree_id("").ok()??.as_bytes());
        }
        if uses_revision {
            hash.update(snapshot.commit()?.as_bytes());
        }
    }
    for source in &all {
        for file in referenced_files(source) {
            let (name, path) = file.split_once('/')?;
            let snapshot = snapshots.get(name)?;
            match snapshot.tree_id(path.trim_matches('/')).ok()? {
                Some(id) => hash.update(id.as_bytes()),
                None => hash.update(b"-"),
            }
        }
    }
    Some(format!("{:x}", hash.finalize()))
}

fn revision(source: &ApplicationSource) -> &str {
    match source.target_revision.as_deref().map(str::trim) {
        Some(r) if !r.is_empty() => r,
        _ => "HEAD",
    }
}

/// Value files a source takes from other sources (`$ref/path`), without `$`.
fn referenced_files(source: &ApplicationSource) -> Vec<&str> {
    source
        .helm
        .as_ref()
        .map(|h| {
            h.value_files
                .iter()
                .filter_map(|f| f.strip_prefix('$'))
                .collect()
        })
        .unwrap_or_default()
}

fn join(dir: &str, file: &str) -> String {
    if dir.is_empty() || dir == "." {
        file.to_string()
    } else {
        format!("{dir}/{file}")
    }
}
