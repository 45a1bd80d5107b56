//! `trellis render`: an application's manifests.

use std::io::Write;

use anyhow::Result;
use serde_json::json;
use trellis_model::{Application, ApplicationDestination, ApplicationSource, ApplicationSpec};
use trellis_render::AppRenderer;
use trellis_render::tree::{AppNode, Root, TreeOptions, expand, render_single};

use crate::Outcome;
use crate::cli::{ManifestFormat, RenderArgs};
use crate::commands::{app_label, load_roots};
use crate::output::{list_of, write_json, write_yaml_stream};

/// Renders the application(s) of a file, or an ad-hoc directory source.
///
/// Nothing is printed when any application fails: partial output must never
/// pass for a complete render.
pub fn run(args: &RenderArgs, renderer: &AppRenderer, out: &mut dyn Write) -> Result<Outcome> {
    let roots = match &args.app {
        Some(path) => load_roots(path)?,
        None => vec![adhoc_root(args)],
    };
    let nodes: Vec<AppNode> = if args.recursive {
        let options = TreeOptions {
            max_depth: args.max_depth,
        };
        expand(renderer, roots, &options)
    } else {
        roots
            .into_iter()
            .map(|root| render_single(renderer, root))
            .collect()
    };
    crate::commands::print_warnings(&nodes);
    if crate::commands::report_failures(&nodes) {
        return Ok(Outcome::Failed);
    }
    let all: Vec<&AppNode> = nodes
        .iter()
        .flat_map(|n| n.walk())
        .map(|(_, n)| n)
        .collect();
    match args.output {
        ManifestFormat::Yaml => {
            for node in &all {
                let app = args.recursive.then(|| app_label(node));
                write_yaml_stream(out, &node.manifests, app.as_deref())?;
            }
        }
        ManifestFormat::Json if args.recursive => {
            let apps: Vec<_> = all
                .iter()
                .map(|n| {
                    json!({
                        "application": app_label(n),
                        "manifests": list_of(n.manifests.iter().map(|m| m.object.clone())),
                    })
                })
                .collect();
            write_json(out, &json!({"applications": apps}))?;
        }
        ManifestFormat::Json => {
            let objects = all
                .iter()
                .flat_map(|n| n.manifests.iter().map(|m| m.object.clone()));
            write_json(out, &list_of(objects))?;
        }
    }
    Ok(Outcome::Clean)
}

/// An Application standing for `--repo/--path/--revision`.
fn adhoc_root(args: &RenderArgs) -> Root {
    let app = Application::new(
        "adhoc",
        ApplicationSpec {
            source: Some(ApplicationSource {
                repo_url: args.repo.clone().unwrap_or_default(),
                path: Some(args.path.clone()),
                target_revision: Some(args.revision.clone()),
                ..Default::default()
            }),
            destination: ApplicationDestination::default(),
            ..Default::default()
        },
    );
    Root {
        app,
        origin: None,
        warnings: Vec::new(),
    }
}
