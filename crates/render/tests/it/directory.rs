use trellis_render::RenderError;
use trellis_testkit::GitRepo;

use crate::{app, cm, names, renderer};

fn layered_repo() -> GitRepo {
    let repo = GitRepo::new();
    repo.write("deploy/b.yaml", &format!("{}---\n{}", cm("b1"), cm("b2")));
    repo.write("deploy/a.yml", &cm("a"));
    repo.write(
        "deploy/c.json",
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}"#,
    );
    repo.write("deploy/notes.txt", "not a manifest");
    repo.write("deploy/README.md", "# not a manifest");
    repo.write("deploy/sub/d.yaml", &cm("d"));
    repo.write("deploy/sub/deeper/e.yaml", &cm("e"));
    repo.write("deploy/.hidden/f.yaml", &cm("f"));
    repo.write(
        "deploy/list.yaml",
        &format!(
            "apiVersion: v1\nkind: List\nitems:\n- {}\n- {}\n",
            r#"{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "l1"}}"#,
            r#"{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "l2"}}"#
        ),
    );
    repo.commit_all("layout");
    repo
}

#[test]
fn top_level_files_in_path_order_documents_in_file_order() {
    let repo = layered_repo();
    let (renderer, _cache) = renderer();
    let out = renderer
        .render(&app("x", &repo.url(), "deploy", ""))
        .unwrap();
    assert_eq!(names(&out.manifests), ["a", "b1", "b2", "c", "l1", "l2"]);
    assert_eq!(out.manifests[2].origin.file, "deploy/b.yaml");
    assert_eq!(out.manifests[2].origin.document, 2);
    assert_eq!(out.sources[0].commit.as_deref(), Some(repo.head().as_str()));
}

#[test]
fn recurse_descends_but_skips_hidden_directories() {
    let repo = layered_repo();
    let (renderer, _cache) = renderer();
    let out = renderer
        .render(&app("x", &repo.url(), "deploy", "recurse: true"))
        .unwrap();
    assert_eq!(
        names(&out.manifests),
        ["a", "b1", "b2", "c", "l1", "l2", "d", "e"]
    );
}

#[test]
fn include_and_exclude_globs() {
    let repo = layered_repo();
    let (renderer, _cache) = renderer();
    let only_yaml = renderer
        .render(&app(
            "x",
            &repo.url(),
            "deploy",
            "recurse: true\ninclude: '*.yaml'",
        ))
        .unwrap();
    assert_eq!(
        names(&only_yaml.manifests),
        ["b1", "b2", "l1", "l2", "d", "e"]
    );
    let not_sub = renderer
        .render(&app(
            "x",
            &repo.url(),
            "deploy",
            "recurse: true\nexclude: 'sub/*'",
        ))
        .unwrap();
    assert_eq!(
        names(&not_sub.manifests),
        ["a", "b1", "b2", "c", "l1", "l2"]
    );
    let alternatives = renderer
        .render(&app(
            "x",
            &repo.url(),
            "deploy",
            "include: '{a.yml,c.json}'",
        ))
        .unwrap();
    assert_eq!(names(&alternatives.manifests), ["a", "c"]);
}

#[test]
fn root_path_and_dot_render_the_repository_root() {
    let repo = GitRepo::new();
    repo.write("cm.yaml", &cm("root"));
    repo.commit_all("root");
    let (renderer, _cache) = renderer();
    for path in [".", "./", ""] {
        let out = renderer.render(&app("x", &repo.url(), path, "")).unwrap();
        assert_eq!(names(&out.manifests), ["root"], "path {path:?}");
    }
}

#[test]
fn empty_directory_renders_nothing_without_error() {
    let repo = GitRepo::new();
    repo.write("empty/README.md", "nothing to deploy yet");
    repo.commit_all("empty");
    let (renderer, _cache) = renderer();
    let out = renderer
        .render(&app("x", &repo.url(), "empty", ""))
        .unwrap();
    assert!(out.manifests.is_empty());
}

#[test]
fn errors_name_file_and_line() {
    let repo = GitRepo::new();
    repo.write(
        "bad/x.yaml",
        &format!("{}---\nmetadata: {{name: [\n", cm("fine")),
    );
    repo.write("notobj/x.yaml", "- just\n- a list\n");
    repo.write("bin/x.yaml", "");
    std::fs::write(repo.path().join("bin/x.yaml"), [0xff, 0xfe, 0x00, 0x41]).unwrap();
    repo.commit_all("bad");
    let (renderer, _cache) = renderer();
    let err = renderer
        .render(&app("x", &repo.url(), "bad", ""))
        .unwrap_err();
    assert!(
        matches!(err, RenderError::Manifest(ref e) if e.file == "bad/x.yaml" && e.document == 2 && e.line == 6),
        "{err}"
    );
    let err = renderer
        .render(&app("x", &repo.url(), "notobj", ""))
        .unwrap_err();
    assert!(err.to_string().contains("notobj/x.yaml:1:"), "{err}");
    let err = renderer
        .render(&app("x", &repo.url(), "bin", ""))
        .unwrap_err();
    assert_eq!(err.to_string(), "bin/x.yaml: not valid UTF-8 text");
}

#[test]
fn a_path_that_is_a_file_or_missing_is_an_error() {
    let repo = GitRepo::new();
    repo.write("deploy/cm.yaml", &cm("a"));
    repo.commit_all("one");
    let (renderer, _cache) = renderer();
    let err = renderer
        .render(&app("x", &repo.url(), "deploy/cm.yaml", ""))
        .unwrap_err();
    assert!(matches!(err, RenderError::NotADirectory { .. }), "{err}");
    let err = renderer
        .render(&app("x", &repo.url(), "nope", ""))
        .unwrap_err();
    assert!(matches!(err, RenderError::PathNotFound { .. }), "{err}");
    assert!(err.to_string().contains(&repo.head()), "{err}");
}

#[test]
fn symlinks_inside_are_followed_and_outside_rejected() {
    let repo = GitRepo::new();
    repo.write("shared/common.yaml", &cm("common"));
    repo.symlink("app/common.yaml", "../shared/common.yaml");
    repo.symlink("app/linked-dir", "../shared");
    repo.write("app/own.yaml", &cm("own"));
    repo.symlink("evil/passwd.yaml", "/etc/passwd");
    repo.symlink("evil2/up.yaml", "../../outside.yaml");
    repo.commit_all("links");
    let (renderer, _cache) = renderer();
    let out = renderer
        .render(&app("x", &repo.url(), "app", "recurse: true"))
        .unwrap();
    assert_eq!(names(&out.manifests), ["common", "common", "own"]);
    for path in ["evil", "evil2"] {
        let err = renderer
            .render(&app("x", &repo.url(), path, ""))
            .unwrap_err();
        assert!(
            matches!(
                err,
                RenderError::Source(trellis_source::SourceError::PathEscape { .. })
            ),
            "{path}: {err}"
        );
    }
    let err = renderer
        .render(&app("x", &repo.url(), "../..", ""))
        .unwrap_err();
    assert!(
        matches!(
            err,
            RenderError::Source(trellis_source::SourceError::PathEscape { .. })
        ),
        "{err}"
    );
}

#[test]
fn kustomize_is_reported_unsupported_for_now() {
    let repo = GitRepo::new();
    repo.write("kust/kustomization.yaml", "resources: []\n");
    repo.commit_all("kinds");
    let (renderer, _cache) = renderer();
    let err = renderer
        .render(&app("x", &repo.url(), "kust", ""))
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Kustomize sources are not supported yet"),
        "{err}"
    );
}
