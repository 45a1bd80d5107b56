//! `trellis tree`: the app-of-apps tree with each application's source,
//! commit and resources.

use std::fmt::Write as _;
use std::io::Write;

use anyhow::Result;
use trellis_render::AppRenderer;
use trellis_render::tree::{AppNode, TreeOptions, expand};

use crate::Outcome;
use crate::cli::{TreeArgs, TreeFormat};
use crate::commands::{app_label, load_roots};
use crate::output::{color_stdout, write_json};

/// Renders the tree and prints it; exit 3 when any application failed (after
/// printing everything that did render).
pub fn run(args: &TreeArgs, renderer: &AppRenderer, out: &mut dyn Write) -> Result<Outcome> {
    let roots = load_roots(&args.app)?;
    let options = TreeOptions {
        max_depth: args.max_depth,
    };
    let nodes = expand(renderer, roots, &options);
    crate::commands::print_warnings(&nodes);
    match args.output {
        TreeFormat::Text => out.write_all(format_tree(&nodes, color_stdout()).as_bytes())?,
        TreeFormat::Json => write_json(out, &nodes)?,
        TreeFormat::Yaml => {
            let value = serde_json::to_value(&nodes)?;
            out.write_all(trellis_model::to_yaml(&value).as_bytes())?;
        }
    }
    Ok(if crate::commands::report_failures(&nodes) {
        Outcome::Failed
    } else {
        Outcome::Clean
    })
}

/// Formats the forest as an indented tree with box-drawing branches.
pub fn format_tree(nodes: &[AppNode], color: bool) -> String {
    let mut out = String::new();
    let (mut apps, mut resources, mut failed) = (0usize, 0usize, 0usize);
    for node in nodes {
        write_node(&mut out, node, "", None, None, color);
        for (_, n) in node.walk() {
            apps += 1;
            resources += n.manifests.len();
            failed += usize::from(n.error.is_some());
        }
    }
    let _ = write!(
        out,
        "\n{apps} application{}, {resources} resource{}",
        plural(apps),
        plural(resources)
    );
    if failed > 0 {
        let _ = write!(out, ", {}", paint(&format!("{failed} failed"), "31", color));
    }
    out.push('\n');
    out
}

/// Writes one node and its subtree. A source in the same repository as the
/// parent's first source is shown by path alone, so the tree reads as a
/// layout of one repository and only a different repository stands out.
fn write_node(
    out: &mut String,
    node: &AppNode,
    prefix: &str,
    last: Option<bool>,
    parent_repo: Option<&str>,
    color: bool,
) {
    let (branch, child_prefix) = match last {
        None => (String::new(), String::new()),
        Some(true) => (format!("{prefix}└── "), format!("{prefix}    ")),
        Some(false) => (format!("{prefix}├── "), format!("{prefix}│   ")),
    };
    let _ = write!(out, "{branch}{}", paint(&app_label(node), "1", color));
    let sources: Vec<String> = node
        .sources
        .iter()
        .map(|s| {
            let at = match &s.commit {
                Some(commit) => commit.chars().take(7).collect(),
                None => "local".to_string(),
            };
            let path = if s.path.is_empty() { "." } else { &s.path };
            let place = if parent_repo == Some(s.repo_url.as_str()) {
                format!("{path} @ {at}")
            } else {
                format!("{} {path} @ {at}", s.repo_url)
            };
            match (&s.kind, &s.ref_name) {
                (None, Some(name)) => format!("${name}={place}"),
                _ => place,
            }
        })
        .collect();
    if !sources.is_empty() {
        let _ = write!(out, "  {}", paint(&sources.join(" + "), "2", color));
    }
    match &node.error {
        Some(error) => {
            let _ = write!(out, "  {}", paint(&format!("ERROR: {error}"), "31", color));
        }
        None => {
            let counts: Vec<String> = node
                .kind_counts()
                .iter()
                .map(|(kind, n)| format!("{n} {kind}"))
                .collect();
            let text = if counts.is_empty() {
                "no resources".to_string()
            } else {
                counts.join(", ")
            };
            let _ = write!(out, "  {text}");
        }
    }
    out.push('\n');
    for (i, child) in node.children.iter().enumerate() {
        let is_last = i + 1 == node.children.len();
        let repo = node.sources.first().map(|s| s.repo_url.as_str());
        write_node(out, child, &child_prefix, Some(is_last), repo, color);
    }
}

fn paint(text: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
