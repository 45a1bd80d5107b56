//! Every Application, AppProject and ApplicationSet found in the shared corpus
//! of real repositories parses without error.

use std::path::Path;

use trellis_model::manifest::parse_file;
use trellis_model::{
    AppProject, Application, ApplicationSet, is_app_project, is_application, is_application_set,
};

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        {
            out.push(path);
        }
    }
}

#[test]
fn corpus_resources_parse_without_errors() {
    let root = crate::shared("corpus");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    assert!(!files.is_empty(), "no corpus at {}", root.display());
    let mut seen = 0;
    let mut failures = Vec::new();
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        if !text.contains("kind: Application")
            && !text.contains("kind: AppProject")
            && !text.contains("\"kind\": \"Application")
        {
            continue;
        }
        // Argo CD's own CRDs mention the kinds but are not resources of them.
        if text.contains("kind: CustomResourceDefinition") {
            continue;
        }
        let name = file
            .strip_prefix(&root)
            .unwrap_or(file)
            .display()
            .to_string();
        // Templates (Helm charts, Jsonnet inputs) are not manifests yet.
        let Ok(manifests) = parse_file(&text, &name) else {
            continue;
        };
        for m in &manifests {
            let result = if is_application(&m.object) {
                Application::from_manifest(m).map(|p| p.warnings)
            } else if is_app_project(&m.object) {
                AppProject::from_manifest(m).map(|p| p.warnings)
            } else if is_application_set(&m.object) {
                ApplicationSet::from_manifest(m).map(|p| p.warnings)
            } else {
                continue;
            };
            seen += 1;
            match result {
                Ok(warnings) => {
                    for w in warnings {
                        eprintln!("warning: {w}");
                    }
                }
                Err(e) => failures.push(e.to_string()),
            }
        }
    }
    eprintln!("{seen} Argo CD resources found in the corpus");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
