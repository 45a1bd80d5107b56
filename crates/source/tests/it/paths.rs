//! Path confinement: nothing outside the snapshot is ever read, in git snapshots and in plain
//! directory snapshots alike.

use trellis_source::{EntryKind, SourceError};

use crate::support::{WorkRepo, sources};

/// Files and links for the confinement checks, written into `dir`.
fn write_tree(dir: &std::path::Path) {
    let link = |path: &str, target: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, path).unwrap();
    };
    link("apps/web/escape", "../../../etc");
    link("apps/web/absolute", "/etc/passwd");
    link("apps/web/shared", "../shared");
    link("apps/web/values.yaml", "../shared/values.yaml");
    link("apps/web/dangling", "nowhere.yaml");
    std::fs::create_dir_all(dir.join("apps/shared")).unwrap();
    std::fs::write(dir.join("apps/shared/values.yaml"), "replicas: 3\n").unwrap();
    std::fs::write(dir.join("apps/web/deployment.yaml"), "kind: Deployment\n").unwrap();
}

fn assert_escape<T: std::fmt::Debug>(result: Result<T, SourceError>, path: &str) {
    match result {
        Err(SourceError::PathEscape { path: p }) => assert_eq!(p, path),
        other => panic!("{path}: expected PathEscape, got {other:?}"),
    }
}

fn check_confinement(snap: &trellis_source::Snapshot) {
    for path in [
        "..",
        "../etc/passwd",
        "apps/../../etc/passwd",
        "/etc/passwd",
        "apps/web/escape/passwd",
        "apps/web/escape",
        "apps/web/absolute",
    ] {
        assert_escape(snap.read_file(path), path);
        assert_escape(snap.entry(path), path);
    }
    assert_escape(snap.read_dir("apps/web/escape"), "apps/web/escape");
    // A listing that would have to follow an escaping link fails rather than hide it.
    assert!(matches!(
        snap.read_dir("apps/web"),
        Err(SourceError::PathEscape { .. })
    ));

    // Links inside are followed.
    assert_eq!(
        snap.read_file("apps/web/values.yaml").unwrap(),
        b"replicas: 3\n"
    );
    assert_eq!(
        snap.read_file("apps/web/shared/values.yaml").unwrap(),
        b"replicas: 3\n"
    );
    assert_eq!(snap.entry("apps/web/shared").unwrap(), Some(EntryKind::Dir));
    assert_eq!(
        snap.read_file("apps/web/../shared/values.yaml").unwrap(),
        b"replicas: 3\n"
    );
    assert_eq!(snap.entry("apps/web/dangling").unwrap(), None);
    assert!(matches!(
        snap.read_file("apps/web/dangling"),
        Err(SourceError::NotFound { .. })
    ));
    let names: Vec<_> = snap
        .read_dir("apps/shared")
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["values.yaml"]);
    assert_eq!(snap.entry("").unwrap(), Some(EntryKind::Dir));
}

#[test]
fn git_snapshots_are_confined() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = WorkRepo::init(&tmp.path().join("origin"));
    write_tree(&repo.dir);
    repo.commit(&[], "links");
    let s = sources(&tmp.path().join("cache"));
    let snap = s.snapshot(&repo.url(), "main").unwrap();
    check_confinement(&snap);
    // The content key of a link is the key of what it points to.
    assert_eq!(
        snap.tree_id("apps/web/shared").unwrap(),
        snap.tree_id("apps/shared").unwrap()
    );
}

#[test]
fn directory_snapshots_are_confined() {
    let tmp = tempfile::tempdir().unwrap();
    // A subdirectory of a checkout is a plain directory: read from disk, no commit.
    let repo = WorkRepo::init(&tmp.path().join("checkout"));
    let plain = repo.dir.join("sub");
    write_tree(&plain);
    repo.commit(&[], "links");
    let s = sources(&tmp.path().join("cache"));
    let snap = s.snapshot(plain.to_str().unwrap(), "HEAD").unwrap();
    assert_eq!(snap.commit(), None);
    assert_eq!(snap.tree_id("apps").unwrap(), None);
    check_confinement(&snap);
}

#[test]
fn walking_files_does_not_loop_through_directory_links() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = WorkRepo::init(&tmp.path().join("origin"));
    std::fs::create_dir_all(repo.dir.join("apps/web")).unwrap();
    std::os::unix::fs::symlink("..", repo.dir.join("apps/web/parent")).unwrap();
    std::os::unix::fs::symlink("web/a.yaml", repo.dir.join("apps/alias.yaml")).unwrap();
    repo.commit(
        &[("apps/web/a.yaml", "a\n"), ("apps/web/b/c.yaml", "c\n")],
        "files",
    );
    let s = sources(&tmp.path().join("cache"));
    let snap = s.snapshot(&repo.url(), "main").unwrap();
    assert_eq!(
        snap.files_under("apps").unwrap(),
        ["alias.yaml", "web/a.yaml", "web/b/c.yaml"]
    );
    let web = snap.read_dir("apps/web").unwrap();
    let parent = web.iter().find(|e| e.name == "parent").unwrap();
    assert!(parent.is_symlink && parent.kind == EntryKind::Dir);
    assert_eq!(
        snap.read_file("apps/web/parent/web/parent/alias.yaml")
            .unwrap(),
        b"a\n"
    );
}
