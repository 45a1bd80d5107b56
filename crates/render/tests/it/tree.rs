use trellis_render::preview::{Change, compare};
use trellis_render::tree::{Root, TreeOptions, expand};
use trellis_testkit::GitRepo;

use crate::{app, cm, renderer};

fn child(name: &str, url: &str, path: &str) -> String {
    format!(
        "apiVersion: trellis.dev/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: trellis\nspec:\n  project: default\n  source:\n    repoURL: {url}\n    path: {path}\n  destination:\n    server: https://kubernetes.default.svc\n"
    )
}

fn root(url: &str) -> Root {
    Root {
        app: app("root", url, "apps", ""),
        origin: None,
        warnings: Vec::new(),
    }
}

#[test]
fn an_invalid_child_manifest_fails_alone() {
    let repo = GitRepo::new();
    let url = repo.url();
    repo.write("apps/a.yaml", &child("a", &url, "svc/a"));
    repo.write(
        "apps/b.yaml",
        &child("b", &url, "svc/b").replace(
            "  project: default\n",
            "  project: default\n  revisionHistoryLimit: many\n",
        ),
    );
    repo.write(
        "apps/c.yaml",
        &child("c", &url, "svc/c").replace("  source:\n", "  sourcez: {}\n  source:\n"),
    );
    for s in ["a", "b", "c"] {
        repo.write(&format!("svc/{s}/cm.yaml"), &cm(s));
    }
    repo.commit_all("apps");
    let (renderer, _cache) = renderer();
    let tree = expand(&renderer, vec![root(&url)], &TreeOptions::default());
    let children = &tree[0].children;
    assert_eq!(children.len(), 3);
    assert!(children[0].error.is_none() && children[0].manifests.len() == 1);
    let error = children[1].error.as_deref().unwrap();
    assert!(error.contains("apps/b.yaml"), "{error}");
    assert!(error.contains("spec.revisionHistoryLimit"), "{error}");
    // An unknown field is a warning, not an error: c still renders.
    assert!(children[2].error.is_none());
    assert!(
        children[2]
            .warnings
            .iter()
            .any(|w| w.contains("spec.sourcez")),
        "{:?}",
        children[2].warnings
    );
    assert!(tree[0].any_failed());
}

#[test]
fn an_application_declared_twice_is_rendered_under_each_parent() {
    let repo = GitRepo::new();
    let url = repo.url();
    repo.write("apps/left.yaml", &child("left", &url, "mid"));
    repo.write("apps/right.yaml", &child("right", &url, "mid"));
    repo.write("mid/leaf.yaml", &child("leaf", &url, "leaf"));
    repo.write("leaf/cm.yaml", &cm("leaf"));
    repo.commit_all("diamond");
    let (renderer, _cache) = renderer();
    let tree = expand(&renderer, vec![root(&url)], &TreeOptions::default());
    // A diamond is not a cycle.
    assert!(!tree[0].any_failed(), "{tree:#?}");
    assert_eq!(tree[0].walk().len(), 5);
}

#[test]
fn preview_pairs_resources_across_revisions() {
    let repo = GitRepo::new();
    let url = repo.url();
    repo.write("apps/a.yaml", &child("a", &url, "svc/a"));
    repo.write("svc/a/cm.yaml", &format!("{}data:\n  k: v1\n", cm("one")));
    repo.write("svc/a/gone.yaml", &cm("gone"));
    let base = repo.commit_all("base");
    repo.write("svc/a/cm.yaml", &format!("{}data:\n  k: v2\n", cm("one")));
    repo.remove("svc/a/gone.yaml");
    repo.write("svc/a/new.yaml", &cm("new"));
    let head = repo.commit_all("head");
    let (renderer, _cache) = renderer();
    let b = expand(
        &renderer.clone().with_revision_override(&url, &base),
        vec![root(&url)],
        &TreeOptions::default(),
    );
    let h = expand(
        &renderer.with_revision_override(&url, &head),
        vec![root(&url)],
        &TreeOptions::default(),
    );
    let preview = compare(&b, &h);
    assert_eq!(preview.unchanged, 1, "root is unchanged");
    assert_eq!(preview.applications.len(), 1);
    let changes: Vec<(String, Change)> = preview.applications[0]
        .resources
        .iter()
        .map(|r| (r.resource.clone(), r.change))
        .collect();
    assert_eq!(
        changes,
        [
            ("ConfigMap gone".to_string(), Change::Removed),
            ("ConfigMap new".to_string(), Change::Added),
            ("ConfigMap one".to_string(), Change::Modified),
        ]
    );
    assert!(
        preview.applications[0].resources[2]
            .diff
            .contains("-  k: v1\n+  k: v2\n")
    );
}
