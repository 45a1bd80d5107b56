//! Fetching: bare remotes, incremental fetches and the network operations they cost.

use std::sync::{Arc, Mutex};

use trellis_source::{EntryKind, SourceConfig, SourceError, SourceEvent, Sources, Stats};

use crate::support::{WorkRepo, git, sources};

#[test]
fn renders_a_tag_never_checked_out_from_a_bare_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = tmp.path().join("infra.git");
    std::fs::create_dir_all(&bare).unwrap();
    git(&bare, &["init", "--bare", "--quiet"]);
    {
        let work = WorkRepo::init(&tmp.path().join("work"));
        work.commit(
            &[
                ("apps/web/deployment.yaml", "kind: Deployment\n"),
                ("apps/web/service.yaml", "kind: Service\n"),
                ("README.md", "old\n"),
            ],
            "release",
        );
        work.git(&["tag", "-a", "v1.0.0", "-m", "v1.0.0"]);
        work.commit(
            &[
                ("README.md", "new\n"),
                ("apps/db/sts.yaml", "kind: StatefulSet\n"),
            ],
            "later",
        );
        work.git(&["push", "--quiet", bare.to_str().unwrap(), "main", "v1.0.0"]);
        std::fs::remove_dir_all(&work.dir).unwrap();
    }
    let s = sources(&tmp.path().join("cache"));
    let url = bare.to_str().unwrap();
    let snap = s.snapshot(url, "v1.0.0").unwrap();
    assert_eq!(snap.read_file("README.md").unwrap(), b"old\n");
    assert_eq!(snap.entry("apps/db").unwrap(), None);
    let names: Vec<_> = snap
        .read_dir("apps/web")
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.kind))
        .collect();
    assert_eq!(
        names,
        vec![
            ("deployment.yaml".to_string(), EntryKind::File),
            ("service.yaml".to_string(), EntryKind::File)
        ]
    );
    assert_eq!(snap.entry("apps").unwrap(), Some(EntryKind::Dir));
    assert!(
        snap.tree_id("apps/web")
            .unwrap()
            .is_some_and(|id| id.len() == 40)
    );
    assert!(matches!(
        snap.read_file("apps"),
        Err(SourceError::NotAFile { .. })
    ));
    assert!(matches!(
        snap.read_file("apps/web/missing.yaml"),
        Err(SourceError::NotFound { .. })
    ));
    assert!(matches!(
        snap.read_dir("README.md"),
        Err(SourceError::NotADirectory { .. })
    ));
    assert_eq!(
        snap.files_under("").unwrap(),
        [
            "README.md",
            "apps/web/deployment.yaml",
            "apps/web/service.yaml"
        ]
    );
    assert_eq!(
        snap.files_under("apps").unwrap(),
        ["web/deployment.yaml", "web/service.yaml"]
    );
    let head = s.snapshot(url, "HEAD").unwrap();
    assert_eq!(head.read_file("README.md").unwrap(), b"new\n");
}

#[test]
fn fetches_only_when_the_commit_is_new() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = WorkRepo::init(&tmp.path().join("origin"));
    let first = repo.commit(&[("a.yaml", "1\n")], "one");
    let s = sources(&tmp.path().join("cache"));
    let url = repo.url();

    assert_eq!(
        s.snapshot(&url, "main").unwrap().commit(),
        Some(first.as_str())
    );
    assert_eq!(
        s.stats(),
        Stats {
            fetches: 1,
            ls_remotes: 1
        }
    );

    // Remembered: no network at all until refresh.
    s.snapshot(&url, "main").unwrap();
    assert_eq!(
        s.stats(),
        Stats {
            fetches: 1,
            ls_remotes: 1
        }
    );

    // Unchanged remote: one ls-remote, no fetch.
    s.refresh();
    assert_eq!(s.resolve(&url, "main").unwrap(), first);
    assert_eq!(
        s.stats(),
        Stats {
            fetches: 1,
            ls_remotes: 2
        }
    );

    // A new commit: one more fetch, and the snapshot shows it.
    let second = repo.commit(&[("a.yaml", "2\n")], "two");
    s.refresh();
    let snap = s.snapshot(&url, "main").unwrap();
    assert_eq!(snap.commit(), Some(second.as_str()));
    assert_eq!(snap.read_file("a.yaml").unwrap(), b"2\n");
    assert_eq!(
        s.stats(),
        Stats {
            fetches: 2,
            ls_remotes: 3
        }
    );

    // A full commit id already in the cache needs no network, even after a refresh.
    s.refresh();
    assert_eq!(s.resolve(&url, &first).unwrap(), first);
    assert_eq!(
        s.snapshot(&url, &second).unwrap().commit(),
        Some(second.as_str())
    );
    assert_eq!(
        s.stats(),
        Stats {
            fetches: 2,
            ls_remotes: 3
        }
    );

    // A second instance on the same cache directory finds the commits already fetched.
    let other = sources(&tmp.path().join("cache"));
    assert_eq!(other.resolve(&url, "main").unwrap(), second);
    assert_eq!(
        other.stats(),
        Stats {
            fetches: 0,
            ls_remotes: 1
        }
    );
}

#[test]
fn a_commit_off_every_branch_is_fetched_by_id() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = WorkRepo::init(&tmp.path().join("origin"));
    repo.commit(&[("a.yaml", "1\n")], "one");
    let s = sources(&tmp.path().join("cache"));
    s.resolve(&repo.url(), "main").unwrap();
    assert_eq!(s.stats().fetches, 1);

    // A commit that is in the origin's object database but on no ref.
    repo.git(&["checkout", "--quiet", "-b", "topic"]);
    let topic = repo.commit(&[("a.yaml", "topic\n")], "topic");
    repo.git(&["checkout", "--quiet", "main"]);
    repo.git(&["branch", "-D", "topic"]);
    repo.git(&["config", "uploadpack.allowAnySHA1InWant", "true"]);

    s.refresh();
    let snap = s.snapshot(&repo.url(), &topic).unwrap();
    assert_eq!(snap.read_file("a.yaml").unwrap(), b"topic\n");
    // The cache already holds every advertised branch, so the only fetch is of the commit itself.
    assert_eq!(s.stats().fetches, 2);

    // Its short id now resolves from the cache.
    s.refresh();
    assert_eq!(s.resolve(&repo.url(), &topic[..10]).unwrap(), topic);
    assert_eq!(s.stats().fetches, 2);
}

#[test]
fn the_observer_sees_every_network_operation() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = WorkRepo::init(&tmp.path().join("origin"));
    repo.commit(&[("a.yaml", "1\n")], "one");
    let events = Arc::new(Mutex::new(Vec::new()));
    let mut config = SourceConfig::new(tmp.path().join("cache"));
    let sink = Arc::clone(&events);
    config.observer = Some(Arc::new(move |e: &SourceEvent| {
        sink.lock().unwrap().push(e.clone())
    }));
    let s = Sources::new(config).unwrap();
    s.snapshot(&repo.url(), "main").unwrap();
    s.snapshot(&repo.url(), "main").unwrap();

    let events = events.lock().unwrap();
    let url = repo.dir.display().to_string();
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[0], SourceEvent::LsRemote { url: url.clone() });
    assert_eq!(events[1], SourceEvent::FetchStarted { url: url.clone() });
    assert!(matches!(&events[2], SourceEvent::FetchFinished { url: u, .. } if *u == url));
}

#[test]
fn lock_files_left_by_a_stopped_git_do_not_block_fetches() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = WorkRepo::init(&tmp.path().join("origin"));
    repo.commit(&[("a.yaml", "1\n")], "one");
    let cache = tmp.path().join("cache");
    let s = sources(&cache);
    s.resolve(&repo.url(), "main").unwrap();

    // What a git killed in the middle of a fetch leaves behind.
    let cached = std::fs::read_dir(cache.join("repos"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    std::fs::write(cached.join("refs/heads/main.lock"), "").unwrap();
    std::fs::write(cached.join("packed-refs.lock"), "").unwrap();

    let second = repo.commit(&[("a.yaml", "2\n")], "two");
    s.refresh();
    assert_eq!(s.resolve(&repo.url(), "main").unwrap(), second);
    assert!(!cached.join("refs/heads/main.lock").exists());
}
