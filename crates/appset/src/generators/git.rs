//! The git generator: one parameter set per matching directory, or per
//! matching JSON/YAML file (per element when the file holds a list).
//!
//! Directories are every directory of the tree except the root, not
//! descending into (or listing) directories whose name starts with `.` and
//! not following symbolic links, as Argo CD's repository server walks a
//! checkout. A directory is kept when an include pattern matches it and no
//! `exclude: true` pattern does, whatever the order of the patterns.
//!
//! Path parameters, for directory `apps/web` (files: the file's directory):
//! fasttemplate gets `path`, `path.basename`, `path.basenameNormalized` and
//! `path[0]`, `path[1]`...; Go templates get a `path` map with `path`,
//! `basename`, `basenameNormalized` and `segments`. Files add `filename` and
//! `filenameNormalized`. `pathParamPrefix: p` moves them under `p.path`.

use std::collections::BTreeSet;

use trellis_model::appset::GitGenerator;
use trellis_source::{EntryKind, Snapshot};
use trellis_template::Value;

use super::{Context, GeneratorError, add_values};
use crate::glob::Pattern;
use crate::params::{Params, flatten_into, sanitize_name};

pub(super) fn params(git: &GitGenerator, cx: &Context<'_>) -> Result<Vec<Params>, GeneratorError> {
    if git.directories.is_empty() && git.files.is_empty() {
        return Err(GeneratorError::Spec(
            "a git generator needs directories or files".into(),
        ));
    }
    let snapshot = cx
        .sources
        .snapshot(&git.repo_url, &git.revision)
        .map_err(|source| GeneratorError::Source {
            repo: git.repo_url.clone(),
            revision: git.revision.clone(),
            source,
        })?;
    let source_error = |source| GeneratorError::Source {
        repo: git.repo_url.clone(),
        revision: git.revision.clone(),
        source,
    };
    let prefix = git.path_param_prefix.as_deref().unwrap_or_default();
    let mut out = Vec::new();
    if !git.directories.is_empty() {
        let mut patterns = Vec::with_capacity(git.directories.len());
        for (i, item) in git.directories.iter().enumerate() {
            let pattern =
                Pattern::go_path(&item.path).map_err(|source| GeneratorError::Pattern {
                    field: format!("directories[{i}].path"),
                    source,
                })?;
            patterns.push((pattern, item.exclude));
        }
        let mut all = Vec::new();
        list_directories(&snapshot, "", &mut all).map_err(source_error)?;
        for dir in all {
            let included = patterns
                .iter()
                .any(|(p, exclude)| !exclude && p.matches(&dir));
            let excluded = patterns
                .iter()
                .any(|(p, exclude)| *exclude && p.matches(&dir));
            if included && !excluded {
                let mut params = Params::new();
                add_path_params(&mut params, &dir, None, prefix, cx.go());
                add_values(&mut params, &git.values, cx)?;
                out.push(params);
            }
        }
    } else {
        let mut include = Vec::new();
        let mut exclude = Vec::new();
        for (i, item) in git.files.iter().enumerate() {
            let pattern =
                Pattern::git_pathspec(&item.path).map_err(|source| GeneratorError::Pattern {
                    field: format!("files[{i}].path"),
                    source,
                })?;
            if item.exclude {
                exclude.push(pattern);
            } else {
                include.push(pattern);
            }
        }
        let files: BTreeSet<String> = snapshot
            .files_under("")
            .map_err(source_error)?
            .into_iter()
            .filter(|f| {
                include.iter().any(|p| p.matches(f)) && !exclude.iter().any(|p| p.matches(f))
            })
            .collect();
        for path in files {
            let file_error = |message: String| GeneratorError::File {
                repo: git.repo_url.clone(),
                revision: git.revision.clone(),
                path: path.clone(),
                message,
            };
            let bytes = snapshot
                .read_file(&path)
                .map_err(|e| file_error(e.to_string()))?;
            let text =
                String::from_utf8(bytes).map_err(|e| file_error(format!("not UTF-8 text: {e}")))?;
            let parsed =
                trellis_helm::from_yaml_value(&text).map_err(|e| file_error(e.to_string()))?;
            let objects: Vec<Params> = match parsed {
                Value::Nil => vec![Params::new()],
                Value::Map(map) => vec![map.snapshot()],
                Value::List(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| match item {
                        Value::Map(map) => Ok(map.snapshot()),
                        Value::Nil => Ok(Params::new()),
                        other => Err(file_error(format!(
                            "item {i} of the list is {}, not a map",
                            other.kind_name()
                        ))),
                    })
                    .collect::<Result<_, _>>()?,
                other => {
                    return Err(file_error(format!(
                        "expected a map or a list of maps, found {}",
                        other.kind_name()
                    )));
                }
            };
            for object in objects {
                let mut params = if cx.go() {
                    object
                } else {
                    let mut flat = Params::new();
                    flatten_into("", &Value::map(object), &mut flat);
                    flat
                };
                add_path_params(&mut params, &parent(&path), Some(&path), prefix, cx.go());
                add_values(&mut params, &git.values, cx)?;
                out.push(params);
            }
        }
    }
    Ok(out)
}

/// Every directory below `dir`, depth first in name order, skipping hidden
/// directories (and what is below them) and symbolic links.
fn list_directories(
    snapshot: &Snapshot,
    dir: &str,
    out: &mut Vec<String>,
) -> Result<(), trellis_source::SourceError> {
    for entry in snapshot.read_dir(dir)? {
        if entry.kind != EntryKind::Dir || entry.is_symlink || entry.name.starts_with('.') {
            continue;
        }
        let path = if dir.is_empty() {
            entry.name.clone()
        } else {
            format!("{dir}/{}", entry.name)
        };
        out.push(path.clone());
        list_directories(snapshot, &path, out)?;
    }
    Ok(())
}

/// Go's `path.Dir` for a relative path: `.` for a top-level file.
fn parent(path: &str) -> String {
    match path.rsplit_once('/') {
        Some((dir, _)) if !dir.is_empty() => dir.to_string(),
        _ => ".".to_string(),
    }
}

/// Go's `path.Base`.
fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn add_path_params(params: &mut Params, dir: &str, file: Option<&str>, prefix: &str, go: bool) {
    let basename = base(dir);
    if go {
        let mut fields = Params::new();
        fields.insert("path".into(), Value::str(dir));
        fields.insert("basename".into(), Value::str(basename));
        fields.insert(
            "basenameNormalized".into(),
            Value::str(sanitize_name(basename)),
        );
        if let Some(file) = file {
            let filename = base(file);
            fields.insert("filename".into(), Value::str(filename));
            fields.insert(
                "filenameNormalized".into(),
                Value::str(sanitize_name(filename)),
            );
        }
        fields.insert(
            "segments".into(),
            Value::list(dir.split('/').map(Value::str).collect()),
        );
        let path = Value::map(fields);
        if prefix.is_empty() {
            params.insert("path".into(), path);
        } else {
            let mut outer = Params::new();
            outer.insert("path".into(), path);
            params.insert(prefix.to_string(), Value::map(outer));
        }
    } else {
        let name = if prefix.is_empty() {
            "path".to_string()
        } else {
            format!("{prefix}.path")
        };
        params.insert(name.clone(), Value::str(dir));
        params.insert(format!("{name}.basename"), Value::str(basename));
        params.insert(
            format!("{name}.basenameNormalized"),
            Value::str(sanitize_name(basename)),
        );
        if let Some(file) = file {
            let filename = base(file);
            params.insert(format!("{name}.filename"), Value::str(filename));
            params.insert(
                format!("{name}.filenameNormalized"),
                Value::str(sanitize_name(filename)),
            );
        }
        for (i, segment) in dir.split('/').enumerate() {
            if !segment.is_empty() {
                params.insert(format!("{name}[{i}]"), Value::str(segment));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(params: &Params) -> Vec<(String, String)> {
        params
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("?").to_string()))
            .collect()
    }

    #[test]
    fn fasttemplate_path_params() {
        let mut p = Params::new();
        add_path_params(&mut p, "apps/My_Web", None, "", false);
        let want = [
            ("path", "apps/My_Web"),
            ("path.basename", "My_Web"),
            ("path.basenameNormalized", "my-web"),
            ("path[0]", "apps"),
            ("path[1]", "My_Web"),
        ];
        assert_eq!(
            strings(&p),
            want.map(|(k, v)| (k.to_string(), v.to_string())).to_vec()
        );
    }

    #[test]
    fn file_path_params_with_prefix() {
        let mut p = Params::new();
        add_path_params(&mut p, ".", Some("config.json"), "cfg", false);
        let want = [
            ("cfg.path", "."),
            ("cfg.path.basename", "."),
            ("cfg.path.basenameNormalized", ""),
            ("cfg.path.filename", "config.json"),
            ("cfg.path.filenameNormalized", "config.json"),
            ("cfg.path[0]", "."),
        ];
        assert_eq!(
            strings(&p),
            want.map(|(k, v)| (k.to_string(), v.to_string())).to_vec()
        );
    }

    #[test]
    fn go_path_params_are_a_map() {
        let mut p = Params::new();
        add_path_params(&mut p, "a/b", Some("a/b/c.yaml"), "", true);
        let json = crate::params::to_json(&p["path"]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "path": "a/b", "basename": "b", "basenameNormalized": "b",
                "filename": "c.yaml", "filenameNormalized": "c.yaml",
                "segments": ["a", "b"]
            })
        );
    }

    #[test]
    fn parents_and_bases_follow_go() {
        assert_eq!(parent("config.json"), ".");
        assert_eq!(parent("a/b/c.json"), "a/b");
        assert_eq!(base("a/b"), "b");
        assert_eq!(base("a"), "a");
    }
}
