//! `trellis preview`: what a change does, before it merges.

use std::fmt::Write as _;
use std::io::Write;

use anyhow::Result;
use trellis_engine::diff::colorize;
use trellis_render::AppRenderer;
use trellis_render::preview::{AppChange, Change, Preview, Side, compare};
use trellis_render::tree::{TreeOptions, expand};

use crate::Outcome;
use crate::cli::{PreviewArgs, PreviewFormat};
use crate::commands::load_roots;
use crate::output::{color_stdout, write_json};

/// Renders the tree at base and head and reports the difference: exit 1 when
/// anything changed, 3 when an application failed to render on either side.
pub fn run(args: &PreviewArgs, renderer: &AppRenderer, out: &mut dyn Write) -> Result<Outcome> {
    let roots = load_roots(&args.app)?;
    let repo = match &args.repo {
        Some(repo) => repo.clone(),
        None => roots
            .first()
            .and_then(|r| r.app.spec.all_sources().first().map(|s| s.repo_url.clone()))
            .unwrap_or_default(),
    };
    let options = TreeOptions {
        max_depth: args.max_depth,
    };
    let base_renderer = renderer.clone().with_revision_override(&repo, &args.base);
    let head_renderer = renderer.clone().with_revision_override(&repo, &args.head);
    let (base, head) = rayon::join(
        || expand(&base_renderer, roots.clone(), &options),
        || expand(&head_renderer, roots.clone(), &options),
    );
    let preview = compare(&base, &head);
    crate::commands::print_warnings(&head);
    match args.output {
        PreviewFormat::Text => out.write_all(text(&preview, color_stdout()).as_bytes())?,
        PreviewFormat::Markdown => {
            out.write_all(markdown(&preview, &args.base, &args.head).as_bytes())?
        }
        PreviewFormat::Json => write_json(out, &preview)?,
    }
    for error in &preview.errors {
        eprintln!(
            "error: application {} at {}: {}",
            error.app,
            side_name(error.side, args),
            error.message
        );
    }
    Ok(if !preview.errors.is_empty() {
        Outcome::Failed
    } else if preview.has_changes() {
        Outcome::Differences
    } else {
        Outcome::Clean
    })
}

fn side_name(side: Side, args: &PreviewArgs) -> String {
    match side {
        Side::Base => format!("base {}", args.base),
        Side::Head => format!("head {}", args.head),
    }
}

fn change_word(change: Change) -> &'static str {
    match change {
        Change::Added => "added",
        Change::Removed => "removed",
        Change::Modified => "changed",
    }
}

fn summary(preview: &Preview) -> String {
    format!(
        "{} added, {} removed, {} changed, {} unchanged applications",
        preview.count(Change::Added),
        preview.count(Change::Removed),
        preview.count(Change::Modified),
        preview.unchanged
    )
}

/// The terminal report: a summary, then each application's resource changes
/// with their diffs.
pub fn text(preview: &Preview, color: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", summary(preview));
    if !preview.errors.is_empty() {
        let _ = writeln!(
            out,
            "{} applications failed to render",
            preview.errors.len()
        );
    }
    for app in &preview.applications {
        let _ = writeln!(
            out,
            "\n=== Application {} ({})",
            app.app,
            change_word(app.change)
        );
        for resource in &app.resources {
            let _ = writeln!(
                out,
                "  {} {}",
                change_word(resource.change),
                resource.resource
            );
        }
        for resource in &app.resources {
            out.push('\n');
            out.push_str(&if color {
                colorize(&resource.diff)
            } else {
                resource.diff.clone()
            });
        }
    }
    out
}

/// A pull-request comment: a summary table and a collapsible diff per
/// application.
pub fn markdown(preview: &Preview, base: &str, head: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Trellis preview: `{base}` → `{head}`\n");
    let _ = writeln!(out, "{}\n", summary(preview));
    if !preview.errors.is_empty() {
        let _ = writeln!(out, "### Failed to render\n");
        for error in &preview.errors {
            let side = match error.side {
                Side::Base => base,
                Side::Head => head,
            };
            let _ = writeln!(
                out,
                "- **{}** at `{side}`: {}",
                error.app,
                error.message.replace('\n', " ")
            );
        }
        out.push('\n');
    }
    if preview.applications.is_empty() {
        return out;
    }
    let _ = writeln!(out, "| Application | Change | Resources |\n|---|---|---|");
    for app in &preview.applications {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            app.app,
            change_word(app.change),
            resource_summary(app)
        );
    }
    for app in &preview.applications {
        let _ = writeln!(
            out,
            "\n<details><summary>{} ({})</summary>\n\n```diff",
            app.app,
            change_word(app.change)
        );
        for resource in &app.resources {
            out.push_str(&resource.diff.replace("```", "`\u{200b}``"));
        }
        let _ = writeln!(out, "```\n</details>");
    }
    out
}

fn resource_summary(app: &AppChange) -> String {
    let count = |c: Change| app.resources.iter().filter(|r| r.change == c).count();
    format!(
        "+{} −{} ~{}",
        count(Change::Added),
        count(Change::Removed),
        count(Change::Modified)
    )
}
