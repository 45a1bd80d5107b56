//! The Helm renderer: a chart in the source's repository, rendered
//! in-process by `trellis-helm` with the values and defaults Argo CD gives it
//! (release name = the Application's name, namespace = the destination's,
//! CRDs from `crds/` included unless `skipCrds`).

mod env;
mod files;
mod values;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use trellis_helm::{Chart, RenderRequest, helm_template, load_chart};
use trellis_model::{Manifest, parse_yaml_stream};

pub use env::{build_env, envsubst};
pub use files::SnapshotFiles;
pub use values::{ValuesContext, user_values};

use crate::{RenderError, RenderInput, Renderer};

/// How many loaded charts a renderer keeps before starting over.
const CHART_CACHE_LIMIT: usize = 256;

/// Renders Helm charts from a repository snapshot.
///
/// Loaded charts are kept by (repository, commit, path): a commit is
/// immutable, so a chart that several applications share (an app-of-apps
/// chart rendered once per environment) is read from git once. Charts from a
/// plain directory, which can change under us, are always read afresh.
#[derive(Debug, Default)]
pub struct HelmRenderer {
    charts: Mutex<HashMap<(String, String, String), Arc<Chart>>>,
}

impl HelmRenderer {
    fn chart(&self, input: &RenderInput<'_>) -> Result<Arc<Chart>, RenderError> {
        let key = input.snapshot.commit().map(|commit| {
            (
                input.snapshot.repo_url().to_string(),
                commit.to_string(),
                input.path.to_string(),
            )
        });
        let cache = || self.charts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(chart) = key.as_ref().and_then(|k| cache().get(k).cloned()) {
            return Ok(chart);
        }
        let files = SnapshotFiles {
            snapshot: input.snapshot,
        };
        let chart = Arc::new(
            load_chart(&files, input.path).map_err(|e| RenderError::Helm {
                message: format!("chart {}: {e}", display(input.path)),
            })?,
        );
        if let Some(key) = key {
            let mut charts = cache();
            if charts.len() >= CHART_CACHE_LIMIT {
                charts.clear();
            }
            charts.insert(key, Arc::clone(&chart));
        }
        Ok(chart)
    }
}

impl Renderer for HelmRenderer {
    fn render(&self, input: &RenderInput<'_>) -> Result<Vec<Manifest>, RenderError> {
        let helm = input.source.helm.as_ref();
        let chart = self.chart(input)?;
        // The application's settings win over what the destination serves.
        let kube_version = helm
            .and_then(|h| h.kube_version.clone())
            .filter(|v| !v.is_empty())
            .or_else(|| input.capabilities.kube_version.clone());
        let api_versions = helm
            .map(|h| h.api_versions.clone())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| input.capabilities.api_versions.clone());
        let env = build_env(
            input.app,
            input.source,
            input.revision,
            input.snapshot.commit(),
            kube_version
                .as_deref()
                .unwrap_or(trellis_helm::objects::DEFAULT_KUBE_VERSION)
                .trim_start_matches('v'),
            &api_versions,
        );
        let context = ValuesContext {
            snapshot: input.snapshot,
            path: input.path,
            refs: input.refs,
            env: &env,
        };
        let user = user_values(helm, &context)?;
        let release_name = helm
            .and_then(|h| h.release_name.clone())
            .filter(|n| !n.is_empty())
            .or_else(|| input.app.metadata.name.clone())
            .unwrap_or_default();
        let namespace = helm
            .and_then(|h| h.namespace.clone())
            .filter(|n| !n.is_empty())
            .or_else(|| input.app.spec.destination.namespace.clone())
            .unwrap_or_default();
        let request = RenderRequest {
            release_name,
            namespace,
            user_values: user,
            kube_version,
            api_versions,
            include_crds: !helm.is_some_and(|h| h.skip_crds),
            ..RenderRequest::default()
        };
        let output = helm_template(&chart, &request).map_err(|e| RenderError::Helm {
            message: e.to_string(),
        })?;
        parse_template_output(&output)
    }
}

fn display(path: &str) -> &str {
    if path.is_empty() { "." } else { path }
}

/// Splits `helm template` output into manifests, each attributed to the
/// template named by its `# Source:` line, so an error in rendered YAML names
/// the template that produced it.
fn parse_template_output(output: &str) -> Result<Vec<Manifest>, RenderError> {
    let mut manifests = Vec::new();
    let mut documents_per_file: BTreeMap<String, usize> = BTreeMap::new();
    for document in split_documents(output) {
        let source = document
            .lines()
            .find_map(|line| line.strip_prefix("# Source: "))
            .unwrap_or("helm")
            .to_string();
        let index = documents_per_file.entry(source.clone()).or_insert(0);
        *index += 1;
        for mut manifest in parse_yaml_stream(document, &source)? {
            manifest.origin.document = *index;
            manifests.push(manifest);
        }
    }
    Ok(manifests)
}

/// The documents of a stream separated by `---` lines.
fn split_documents(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" {
            out.push(&text[start..offset]);
            start = offset + line.len();
        }
        offset += line.len();
    }
    out.push(&text[start..]);
    out.into_iter().filter(|d| !d.trim().is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_output_is_attributed_to_templates() {
        let out = "---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n---\n# Source: c/templates/b.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: c\n";
        let manifests = parse_template_output(out).unwrap();
        assert_eq!(manifests.len(), 3);
        assert_eq!(manifests[1].origin.file, "c/templates/a.yaml");
        assert_eq!(manifests[1].origin.document, 2);
        assert_eq!(manifests[2].origin.file, "c/templates/b.yaml");
    }

    #[test]
    fn bad_yaml_names_the_template() {
        let out = "---\n# Source: c/templates/bad.yaml\nkind: [\n";
        let err = parse_template_output(out).unwrap_err();
        assert!(
            err.to_string().starts_with("c/templates/bad.yaml:"),
            "{err}"
        );
    }
}
