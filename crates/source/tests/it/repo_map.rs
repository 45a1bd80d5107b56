//! The repository map redirects a fixed URL to a mirror, a local repository or a plain directory.

use trellis_source::{RepoMap, SourceConfig, SourceError, Sources};

use crate::support::WorkRepo;

const PUBLIC: &str = "https://github.com/acme/infra.git";

fn mapped(cache: &std::path::Path, location: &str) -> Sources {
    let mut config = SourceConfig::new(cache);
    let (url, location) = RepoMap::parse_entry(&format!("{PUBLIC}={location}")).unwrap();
    config.repo_map.insert(&url, &location);
    Sources::new(config).unwrap()
}

#[test]
fn a_public_url_renders_from_a_local_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = WorkRepo::init(&tmp.path().join("infra"));
    let commit = repo.commit(&[("apps/web.yaml", "web\n")], "one");
    let s = mapped(&tmp.path().join("cache"), repo.dir.to_str().unwrap());
    // Any spelling of the URL that normalizes the same is mapped.
    for url in [
        PUBLIC,
        "https://github.com/acme/infra",
        "https://GitHub.com/acme/infra/",
    ] {
        let snap = s.snapshot(url, "main").unwrap();
        assert_eq!(snap.commit(), Some(commit.as_str()));
        assert_eq!(snap.repo_url(), url);
        assert_eq!(snap.read_file("apps/web.yaml").unwrap(), b"web\n");
    }
    // A file:// location works the same.
    let s = mapped(&tmp.path().join("cache2"), &repo.url());
    assert_eq!(s.resolve(PUBLIC, "HEAD").unwrap(), commit);
}

#[test]
fn a_public_url_renders_from_a_plain_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("examples/infrastructure");
    std::fs::create_dir_all(dir.join("apps")).unwrap();
    std::fs::write(dir.join("apps/web.yaml"), "web\n").unwrap();
    let s = mapped(&tmp.path().join("cache"), dir.to_str().unwrap());

    let snap = s.snapshot(PUBLIC, "HEAD").unwrap();
    assert_eq!(snap.commit(), None);
    assert_eq!(snap.read_file("apps/web.yaml").unwrap(), b"web\n");
    assert_eq!(
        s.snapshot(PUBLIC, "").unwrap().read_dir("").unwrap().len(),
        1
    );

    // A plain directory stands in for every revision when rendering...
    let any = s.snapshot(PUBLIC, "main").unwrap();
    assert_eq!(any.commit(), None);
    assert_eq!(any.read_file("apps/web.yaml").unwrap(), b"web\n");
    // ...but it has no history to resolve a revision in.
    let err = s.resolve(PUBLIC, "v1.2.3").unwrap_err();
    assert!(
        matches!(err, SourceError::DirectoryRevision { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("v1.2.3") && msg.contains("plain directory"),
        "{msg}"
    );
    assert!(matches!(
        s.resolve(PUBLIC, "HEAD"),
        Err(SourceError::NoCommit { .. })
    ));
    assert_eq!(s.stats().fetches + s.stats().ls_remotes, 0);
}
