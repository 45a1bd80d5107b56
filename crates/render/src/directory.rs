//! The directory renderer: plain YAML and JSON manifests.
//!
//! Files are read straight from the snapshot (no checkout), in sorted path
//! order so output is deterministic; `recurse` descends into subdirectories and
//! `include`/`exclude` globs are matched against the path relative to the
//! source path, with `*` crossing `/` and `{a,b}` alternatives, as Argo CD
//! matches them.

use globset::{Glob, GlobMatcher};
use trellis_model::{Manifest, parse_file};
use trellis_source::{EntryKind, Snapshot};

use crate::{RenderError, RenderInput, Renderer};

/// File extensions read as manifests; anything else in the directory is
/// ignored (READMEs, scripts, charts' templates are not manifests).
const MANIFEST_EXTENSIONS: [&str; 3] = [".yaml", ".yml", ".json"];

/// Renders plain manifest files of a directory.
#[derive(Debug, Default, Clone, Copy)]
pub struct DirectoryRenderer;

impl Renderer for DirectoryRenderer {
    fn render(&self, input: &RenderInput<'_>) -> Result<Vec<Manifest>, RenderError> {
        let directory = input.source.directory.as_ref();
        let recurse = directory.is_some_and(|d| d.recurse);
        let include = pattern("include", directory.and_then(|d| d.include.as_deref()))?;
        let exclude = pattern("exclude", directory.and_then(|d| d.exclude.as_deref()))?;
        let files = manifest_files(input.snapshot, input.path, recurse)?;
        let mut out = Vec::new();
        for relative in files {
            if include.as_ref().is_some_and(|m| !m.is_match(&relative)) {
                continue;
            }
            if exclude.as_ref().is_some_and(|m| m.is_match(&relative)) {
                continue;
            }
            let full = join(input.path, &relative);
            let bytes = input.snapshot.read_file(&full)?;
            let text = String::from_utf8(bytes)
                .map_err(|_| RenderError::NotText { path: full.clone() })?;
            out.extend(parse_file(&text, &full)?);
        }
        Ok(out)
    }
}

/// Compiles a glob, or several separated by commas inside braces.
///
/// Argo CD documents `{a.yaml,b.yaml}` for several files; globset reads that
/// natively. A bare comma list without braces is accepted too by wrapping it.
fn pattern(field: &'static str, pattern: Option<&str>) -> Result<Option<GlobMatcher>, RenderError> {
    let Some(raw) = pattern.map(str::trim).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let text = if raw.contains(',') && !raw.contains('{') {
        format!("{{{raw}}}")
    } else {
        raw.to_string()
    };
    let glob = globset::GlobBuilder::new(&text)
        .literal_separator(false)
        .build()
        .map_err(|e| RenderError::InvalidPattern {
            field,
            pattern: raw.to_string(),
            message: e.kind().to_string(),
        })?;
    Ok(Some(Glob::compile_matcher(&glob)))
}

/// Lists manifest files under `root` (paths relative to it), sorted.
fn manifest_files(
    snapshot: &Snapshot,
    root: &str,
    recurse: bool,
) -> Result<Vec<String>, RenderError> {
    match snapshot.entry(root)? {
        Some(EntryKind::Dir) => {}
        Some(EntryKind::File) => {
            return Err(RenderError::NotADirectory {
                path: root.to_string(),
            });
        }
        None => {
            return Err(RenderError::PathNotFound {
                path: display_path(root),
                repo_url: snapshot.repo_url().to_string(),
                revision: snapshot.commit().unwrap_or("local directory").to_string(),
            });
        }
    }
    let mut files = Vec::new();
    let mut pending = vec![String::new()];
    while let Some(relative) = pending.pop() {
        for entry in snapshot.read_dir(&join(root, &relative))? {
            let path = join(&relative, &entry.name);
            match entry.kind {
                EntryKind::Dir => {
                    // Hidden directories (.git, .github) hold no manifests of the app.
                    if recurse && !entry.name.starts_with('.') {
                        pending.push(path);
                    }
                }
                EntryKind::File => {
                    let lower = entry.name.to_ascii_lowercase();
                    if MANIFEST_EXTENSIONS.iter().any(|ext| lower.ends_with(ext)) {
                        files.push(path);
                    }
                }
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Joins two relative paths, either of which may be empty.
pub(crate) fn join(base: &str, name: &str) -> String {
    match (base.is_empty(), name.is_empty()) {
        (true, _) => name.to_string(),
        (_, true) => base.to_string(),
        _ => format!("{base}/{name}"),
    }
}

fn display_path(path: &str) -> String {
    if path.is_empty() {
        ".".to_string()
    } else {
        path.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_cross_directories_and_take_alternatives() {
        let m = pattern("include", Some("*.yaml")).unwrap().unwrap();
        assert!(m.is_match("a.yaml"));
        assert!(m.is_match("sub/b.yaml"));
        assert!(!m.is_match("c.json"));
        let m = pattern("include", Some("{a.yaml,b.yaml}"))
            .unwrap()
            .unwrap();
        assert!(m.is_match("b.yaml") && !m.is_match("c.yaml"));
        let m = pattern("exclude", Some("a.yaml,b.yaml")).unwrap().unwrap();
        assert!(m.is_match("a.yaml") && !m.is_match("c.yaml"));
    }

    #[test]
    fn bad_glob_is_an_error_naming_the_field() {
        let err = pattern("exclude", Some("[oops")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid exclude pattern \"[oops\""),
            "{err}"
        );
    }

    #[test]
    fn empty_pattern_means_no_filter() {
        assert!(pattern("include", Some("  ")).unwrap().is_none());
        assert!(pattern("include", None).unwrap().is_none());
    }

    #[test]
    fn join_handles_empty_parts() {
        assert_eq!(join("", "a"), "a");
        assert_eq!(join("a", ""), "a");
        assert_eq!(join("a", "b"), "a/b");
    }
}
