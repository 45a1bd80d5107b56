//! Revision resolution: branches, tags, commit ids and HEAD.

use trellis_source::SourceError;

use crate::support::{WorkRepo, git, sources};

/// A repository with two commits on `main`, a lightweight and an annotated tag on the first, and
/// a branch `feature` with a third commit.
struct Fixture {
    _tmp: tempfile::TempDir,
    repo: WorkRepo,
    first: String,
    second: String,
    feature: String,
    cache: std::path::PathBuf,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let repo = WorkRepo::init(&tmp.path().join("origin"));
    let first = repo.commit(&[("app/config.yaml", "version: 1\n")], "first");
    repo.git(&["tag", "v1-light"]);
    repo.git(&["tag", "-a", "v1", "-m", "release 1"]);
    let second = repo.commit(&[("app/config.yaml", "version: 2\n")], "second");
    repo.git(&["checkout", "--quiet", "-b", "feature"]);
    let feature = repo.commit(&[("app/feature.yaml", "on: true\n")], "feature");
    repo.git(&["checkout", "--quiet", "main"]);
    let cache = tmp.path().join("cache");
    Fixture {
        _tmp: tmp,
        repo,
        first,
        second,
        feature,
        cache,
    }
}

#[test]
fn resolves_branches_tags_and_head() {
    let f = fixture();
    let s = sources(&f.cache);
    let url = f.repo.url();
    assert_eq!(s.resolve(&url, "main").unwrap(), f.second);
    assert_eq!(s.resolve(&url, "feature").unwrap(), f.feature);
    assert_eq!(s.resolve(&url, "HEAD").unwrap(), f.second);
    assert_eq!(s.resolve(&url, "").unwrap(), f.second);
    assert_eq!(s.resolve(&url, "v1-light").unwrap(), f.first);
    // The annotated tag resolves to the commit, not to the tag object.
    let tag_object = f.repo.git(&["rev-parse", "v1"]);
    assert_ne!(tag_object, f.first);
    assert_eq!(s.resolve(&url, "v1").unwrap(), f.first);
    assert_eq!(s.resolve(&url, "refs/tags/v1").unwrap(), f.first);
}

#[test]
fn resolves_full_and_short_commit_ids() {
    let f = fixture();
    let s = sources(&f.cache);
    let url = f.repo.url();
    assert_eq!(s.resolve(&url, &f.first).unwrap(), f.first);
    assert_eq!(s.resolve(&url, &f.first.to_uppercase()).unwrap(), f.first);
    assert_eq!(s.resolve(&url, &f.feature[..7]).unwrap(), f.feature);
    let short = git(&f.repo.dir, &["rev-parse", "--short=4", &f.second]);
    assert_eq!(s.resolve(&url, &short).unwrap(), f.second);
}

#[test]
fn unknown_revision_is_one_clear_error() {
    let f = fixture();
    let s = sources(&f.cache);
    let url = f.repo.url();
    for revision in ["no-such-branch", "deadbeef", &"d".repeat(40)] {
        let err = s.resolve(&url, revision).unwrap_err();
        assert!(
            matches!(err, SourceError::UnknownRevision { .. }),
            "{revision}: {err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains(revision) && msg.contains("origin"), "{msg}");
    }
}

#[test]
fn snapshot_reads_the_resolved_commit() {
    let f = fixture();
    let s = sources(&f.cache);
    let url = f.repo.url();
    let v1 = s.snapshot(&url, "v1").unwrap();
    assert_eq!(v1.commit(), Some(f.first.as_str()));
    assert_eq!(v1.repo_url(), url);
    assert_eq!(v1.read_file("app/config.yaml").unwrap(), b"version: 1\n");
    let main = s.snapshot(&url, "main").unwrap();
    assert_eq!(
        main.read_file("./app/config.yaml").unwrap(),
        b"version: 2\n"
    );
    // The same commit under another name is the same shared snapshot.
    let again = s.snapshot(&url, &f.second).unwrap();
    assert!(std::sync::Arc::ptr_eq(&main, &again));
}

#[test]
fn an_unknown_revision_is_not_looked_up_again_until_refresh() {
    let f = fixture();
    let s = sources(&f.cache);
    let url = f.repo.url();
    s.resolve(&url, "main").unwrap();
    let before = s.stats();
    for _ in 0..3 {
        assert!(matches!(
            s.resolve(&url, "cafe1234"),
            Err(SourceError::UnknownRevision { .. })
        ));
    }
    // The cache held every branch and tag, so finding nothing cost no fetch, and asking again
    // cost nothing at all.
    assert_eq!(s.stats(), before);
    // After a refresh a revision that now exists is found.
    f.repo.git(&["branch", "cafe1234"]);
    s.refresh();
    assert_eq!(s.resolve(&url, "cafe1234").unwrap(), f.second);
}
