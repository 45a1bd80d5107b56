//! Many threads and several instances rendering one repository at once.

use std::sync::Arc;

use crate::support::{WorkRepo, sources};

#[test]
fn many_threads_share_one_snapshot_and_fetch_once() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = WorkRepo::init(&tmp.path().join("origin"));
    let files: Vec<(String, String)> = (0..50)
        .map(|i| (format!("apps/app-{i}/config.yaml"), format!("id: {i}\n")))
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    let commit = repo.commit(&refs, "apps");
    let url = repo.url();
    let cache = tmp.path().join("cache");
    let a = sources(&cache);
    let b = sources(&cache);

    let snapshots: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|t| {
                let s = if t % 2 == 0 { a.clone() } else { b.clone() };
                let url = &url;
                scope.spawn(move || {
                    let snap = s.snapshot(url, "main").unwrap();
                    for i in 0..50 {
                        let content = snap
                            .read_file(&format!("apps/app-{i}/config.yaml"))
                            .unwrap();
                        assert_eq!(content, format!("id: {i}\n").into_bytes());
                    }
                    assert_eq!(snap.read_dir("apps").unwrap().len(), 50);
                    snap
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    for snap in &snapshots {
        assert_eq!(snap.commit(), Some(commit.as_str()));
    }
    // Within one instance every thread got the same snapshot, after one ls-remote.
    assert!(Arc::ptr_eq(&snapshots[0], &snapshots[2]));
    assert_eq!(a.stats().ls_remotes, 1);
    assert_eq!(b.stats().ls_remotes, 1);
    // The two instances share the cache directory: between them the commit was fetched once.
    assert_eq!(a.stats().fetches + b.stats().fetches, 1);
}

#[test]
fn reads_of_an_old_snapshot_continue_while_new_commits_are_fetched() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = WorkRepo::init(&tmp.path().join("origin"));
    let first = repo.commit(&[("apps/web.yaml", "v0\n")], "v0");
    let s = sources(&tmp.path().join("cache"));
    let old = s.snapshot(&repo.url(), "main").unwrap();
    let done = std::sync::atomic::AtomicBool::new(false);

    std::thread::scope(|scope| {
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let (old, done) = (&old, &done);
                scope.spawn(move || {
                    let mut reads = 0;
                    while !done.load(std::sync::atomic::Ordering::Relaxed) || reads == 0 {
                        assert_eq!(old.read_file("apps/web.yaml").unwrap(), b"v0\n");
                        assert_eq!(old.read_dir("apps").unwrap().len(), 1);
                        reads += 1;
                    }
                    reads
                })
            })
            .collect();
        for i in 1..=10 {
            let content = format!("v{i}\n");
            let commit = repo.commit(&[("apps/web.yaml", &content)], &content);
            s.refresh();
            let snap = s.snapshot(&repo.url(), "main").unwrap();
            assert_eq!(snap.commit(), Some(commit.as_str()));
            assert_eq!(snap.read_file("apps/web.yaml").unwrap(), content.as_bytes());
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        for reader in readers {
            assert!(reader.join().unwrap() > 0);
        }
    });
    assert_eq!(old.commit(), Some(first.as_str()));
    assert_eq!(s.stats().fetches, 11);
}
