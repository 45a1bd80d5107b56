//! [`Sources`]: the entry point. Maps repository URLs to locations, keeps the cache repositories,
//! resolves revisions (with as little network traffic as possible) and hands out shared snapshots.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use gix::ObjectId;

use crate::cache::{CachedRepo, RemoteRefs};
use crate::config::{SourceConfig, SourceEvent, Stats};
use crate::error::{Result, SourceError};
use crate::git_cli::Git;
use crate::snapshot::Snapshot;
use crate::url::{Location, cache_dir_name, classify, redact};

/// Snapshots kept for reuse; each is small (the trees it reads are cached per repository).
const SNAPSHOT_CACHE_MAX: usize = 1024;

/// Git sources: fetches repositories into a cache directory, resolves revisions to commits and
/// hands out read-only [`Snapshot`]s keyed by commit.
///
/// Cheap to clone (all clones share one cache and one memo); `Send + Sync`, so renders on many
/// threads can share it. Network use is minimal: the remote's refs are listed once per `(URL)`
/// until [`Sources::refresh`], a fetch happens only when a commit is missing from the cache, and
/// a full commit id already in the cache needs no network at all.
#[derive(Clone)]
pub struct Sources {
    inner: Arc<Inner>,
}

struct Inner {
    config: SourceConfig,
    repos_dir: PathBuf,
    repos: Mutex<HashMap<String, Arc<CachedRepo>>>,
    /// `(repo URL as named, revision)` → commit.
    resolved: Mutex<HashMap<(String, String), ObjectId>>,
    /// `(repo URL as named, revision)` found to name nothing; not asked again until refresh.
    unknown: Mutex<HashSet<(String, String)>>,
    snapshots: Mutex<SnapshotCache>,
    fetches: AtomicU64,
    ls_remotes: AtomicU64,
}

#[derive(Default)]
struct SnapshotCache {
    map: HashMap<(String, ObjectId), Arc<Snapshot>>,
    order: VecDeque<(String, ObjectId)>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded data are caches whose every state is valid, so poisoning is ignored.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("cache_dir", &self.inner.config.cache_dir)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Sources {
    /// Creates the cache directory if needed. No network access happens here.
    pub fn new(config: SourceConfig) -> Result<Self> {
        let repos_dir = config.cache_dir.join("repos");
        std::fs::create_dir_all(&repos_dir).map_err(|e| SourceError::io(&repos_dir, e))?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                repos_dir,
                repos: Mutex::new(HashMap::new()),
                resolved: Mutex::new(HashMap::new()),
                unknown: Mutex::new(HashSet::new()),
                snapshots: Mutex::new(SnapshotCache::default()),
                fetches: AtomicU64::new(0),
                ls_remotes: AtomicU64::new(0),
            }),
        })
    }

    /// The configuration this instance was created with.
    pub fn config(&self) -> &SourceConfig {
        &self.inner.config
    }

    /// Resolves `revision` of `repo_url` to a full commit id (40 hex digits).
    ///
    /// `revision` may be `""` or `HEAD` (the remote's default branch), a branch, a tag
    /// (annotated tags are peeled to their commit), a full ref name (`refs/...`), a full commit
    /// id or a unique prefix of at least 4 hex digits. Results are remembered until
    /// [`Sources::refresh`].
    pub fn resolve(&self, repo_url: &str, revision: &str) -> Result<String> {
        self.resolve_oid(repo_url, revision.trim())
            .map(|oid| oid.to_string())
    }

    /// The snapshot of `repo_url` at `revision`; the same `Arc` is returned to every caller
    /// asking for the same repository and commit.
    ///
    /// A repository mapped to a plain directory stands in for that repository at every
    /// revision: the snapshot is what is on disk whatever `revision` says, and its
    /// [`Snapshot::commit`] is `None` so callers can tell (a preview between two revisions of
    /// such a repository is meaningless, and the render layer refuses it).
    pub fn snapshot(&self, repo_url: &str, revision: &str) -> Result<Arc<Snapshot>> {
        let revision = revision.trim();
        if let Some(commit) = self.memoized(repo_url, revision)
            && let Some(snapshot) = self.cached_snapshot(repo_url, commit)
        {
            return Ok(snapshot);
        }
        match self.location(repo_url)? {
            Location::Directory { path } => Ok(Arc::new(Snapshot::directory(repo_url, path))),
            Location::Git { url } => {
                let repo = self.repo(&url)?;
                let commit = self.resolve_in(&repo, repo_url, revision)?;
                if let Some(snapshot) = self.cached_snapshot(repo_url, commit) {
                    return Ok(snapshot);
                }
                let root = repo.commit_tree(commit)?;
                let snapshot = Arc::new(Snapshot::git(repo_url, repo, commit, root));
                Ok(self.insert_snapshot(repo_url, commit, snapshot))
            }
        }
    }

    /// Forgets remembered resolutions and remote refs, so the next resolve asks the remotes
    /// again. Snapshots themselves stay valid (they are keyed by commit).
    pub fn refresh(&self) {
        lock(&self.inner.resolved).clear();
        lock(&self.inner.unknown).clear();
        for repo in lock(&self.inner.repos).values() {
            *lock(&repo.remote_refs) = None;
        }
    }

    /// Network operations performed so far.
    pub fn stats(&self) -> Stats {
        Stats {
            fetches: self.inner.fetches.load(Ordering::Relaxed),
            ls_remotes: self.inner.ls_remotes.load(Ordering::Relaxed),
        }
    }

    fn resolve_oid(&self, repo_url: &str, revision: &str) -> Result<ObjectId> {
        if let Some(commit) = self.memoized(repo_url, revision) {
            return Ok(commit);
        }
        match self.location(repo_url)? {
            Location::Directory { path } => Err(if is_head(revision) {
                SourceError::NoCommit {
                    url: redact(repo_url),
                    path,
                }
            } else {
                SourceError::DirectoryRevision {
                    url: redact(repo_url),
                    path,
                    revision: revision.to_string(),
                }
            }),
            Location::Git { url } => {
                let repo = self.repo(&url)?;
                self.resolve_in(&repo, repo_url, revision)
            }
        }
    }

    fn memoized(&self, repo_url: &str, revision: &str) -> Option<ObjectId> {
        lock(&self.inner.resolved)
            .get(&(repo_url.to_string(), revision.to_string()))
            .copied()
    }

    fn remember(&self, repo_url: &str, revision: &str, commit: ObjectId) -> ObjectId {
        lock(&self.inner.resolved).insert((repo_url.to_string(), revision.to_string()), commit);
        commit
    }

    fn location(&self, repo_url: &str) -> Result<Location> {
        let location = self
            .inner
            .config
            .repo_map
            .location_for(repo_url)
            .unwrap_or(repo_url);
        classify(location, repo_url)
    }

    fn repo(&self, location: &str) -> Result<Arc<CachedRepo>> {
        let key = cache_dir_name(location);
        if let Some(repo) = lock(&self.inner.repos).get(&key) {
            return Ok(Arc::clone(repo));
        }
        // Opening may run `git init`; done outside the map lock so other repositories proceed,
        // and a concurrent open of the same repository is harmless (the lock file serializes
        // init, and the first handle inserted wins).
        let repo = Arc::new(CachedRepo::open(
            &self.inner.config,
            &self.inner.repos_dir,
            location,
        )?);
        Ok(Arc::clone(
            lock(&self.inner.repos).entry(key).or_insert(repo),
        ))
    }

    /// Resolves with the negative memo: a revision found to name nothing is not looked up again
    /// (no network) until the next refresh.
    fn resolve_in(&self, repo: &CachedRepo, repo_url: &str, revision: &str) -> Result<ObjectId> {
        let key = (repo_url.to_string(), revision.to_string());
        if lock(&self.inner.unknown).contains(&key) {
            return Err(SourceError::UnknownRevision {
                url: redact(repo_url),
                revision: revision.to_string(),
            });
        }
        let result = self.resolve_uncached(repo, repo_url, revision);
        if let Err(SourceError::UnknownRevision { .. }) = &result {
            lock(&self.inner.unknown).insert(key);
        }
        result
    }

    fn resolve_uncached(
        &self,
        repo: &CachedRepo,
        repo_url: &str,
        revision: &str,
    ) -> Result<ObjectId> {
        let unknown = || SourceError::UnknownRevision {
            url: redact(repo_url),
            revision: revision.to_string(),
        };
        // A full commit id already in the cache needs no network at all.
        let full = full_commit_id(revision);
        if let Some(oid) = full
            && let Some(commit) = repo.peel_to_commit(oid)?
        {
            return Ok(self.remember(repo_url, revision, commit));
        }

        let ops = repo.lock_ops();
        // Another thread may have resolved it while this one waited for the lock.
        if let Some(commit) = self.memoized(repo_url, revision) {
            return Ok(commit);
        }
        let refs = self.remote_refs(repo)?;
        if let Some((refname, oid)) = refs.lookup(revision) {
            if !repo.has_object(&oid) {
                let extra = (!refname.starts_with("refs/heads/")
                    && !refname.starts_with("refs/tags/"))
                .then(|| format!("+{refname}:{refname}"));
                drop(self.fetch(repo, ops, Some(oid), extra.as_deref())?);
                if !repo.has_object(&oid) {
                    *lock(&repo.remote_refs) = None;
                    // The remote advertised the ref but did not send its commit (the ref moved
                    // between ls-remote and fetch); the next refresh will see the new state.
                    return Err(SourceError::Git {
                        operation: "fetch",
                        url: repo.display.clone(),
                        message: format!(
                            "{refname} points to {oid}, which the fetch did not bring; retry after the next refresh"
                        ),
                    });
                }
            }
            // A ref to something other than a commit (a tag of a tree) names no commit.
            let commit = repo.peel_to_commit(oid)?.ok_or_else(unknown)?;
            return Ok(self.remember(repo_url, revision, commit));
        }

        if !is_commit_prefix(revision) {
            return Err(unknown());
        }
        if let Some(commit) = self.unique_prefix(repo, repo_url, revision)? {
            return Ok(self.remember(repo_url, revision, commit));
        }
        // Not on any advertised ref and not cached: bring the cache up to date (unless it already
        // holds every advertised branch and tag), then, for a full id, ask for the commit itself
        // (servers allow that for reachable commits).
        let ops = if refs.all_present(|oid| repo.has_object(oid)) {
            ops
        } else {
            self.fetch(repo, ops, full, None)?
        };
        if let Some(oid) = full
            && !repo.has_object(&oid)
        {
            let pinned = format!("+{oid}:refs/trellis/pinned/{oid}");
            match self.fetch(repo, ops, Some(oid), Some(&pinned)) {
                // Servers that refuse unadvertised commits fail in various words; the commit
                // is then simply unknown.
                Ok(_) | Err(SourceError::Git { .. } | SourceError::Unreachable { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        match self.unique_prefix(repo, repo_url, revision)? {
            Some(commit) => Ok(self.remember(repo_url, revision, commit)),
            None => Err(unknown()),
        }
    }

    fn unique_prefix(
        &self,
        repo: &CachedRepo,
        repo_url: &str,
        revision: &str,
    ) -> Result<Option<ObjectId>> {
        let commits = repo.commits_with_prefix(&revision.to_ascii_lowercase())?;
        match commits.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            _ => Err(SourceError::AmbiguousRevision {
                url: redact(repo_url),
                revision: revision.to_string(),
            }),
        }
    }

    /// The remote's refs, listed once until the next [`Sources::refresh`]. Called with the
    /// repository's network lock held.
    fn remote_refs(&self, repo: &CachedRepo) -> Result<Arc<RemoteRefs>> {
        if let Some(refs) = lock(&repo.remote_refs).as_ref() {
            return Ok(Arc::clone(refs));
        }
        self.inner.ls_remotes.fetch_add(1, Ordering::Relaxed);
        self.emit(&SourceEvent::LsRemote {
            url: repo.display.clone(),
        });
        let git = Git {
            config: &self.inner.config,
            location: &repo.location,
            embedded: repo.embedded.as_ref(),
            operation: "ls-remote",
        };
        let out = git.run(Some(&repo.dir), &["ls-remote", "--", &repo.location])?;
        let refs = Arc::new(RemoteRefs::parse(&out));
        *lock(&repo.remote_refs) = Some(Arc::clone(&refs));
        Ok(refs)
    }

    /// Fetches all branches and tags (plus `extra`, a refspec) into the cache, unless `want` is
    /// already there once the cross-process lock is held (another process fetched it).
    fn fetch<'a>(
        &self,
        repo: &'a CachedRepo,
        ops: MutexGuard<'a, ()>,
        want: Option<ObjectId>,
        extra: Option<&str>,
    ) -> Result<MutexGuard<'a, ()>> {
        let guard = repo.lock_for_write(ops)?;
        if want.is_some_and(|oid| repo.has_object(&oid)) {
            return Ok(guard.release());
        }
        self.inner.fetches.fetch_add(1, Ordering::Relaxed);
        self.emit(&SourceEvent::FetchStarted {
            url: repo.display.clone(),
        });
        let started = Instant::now();
        let git = Git {
            config: &self.inner.config,
            location: &repo.location,
            embedded: repo.embedded.as_ref(),
            operation: "fetch",
        };
        let mut args = vec![
            "fetch",
            "--quiet",
            "--prune",
            "--no-tags",
            "--no-write-fetch-head",
            "--no-recurse-submodules",
            "--",
            &repo.location,
            "+refs/heads/*:refs/heads/*",
            "+refs/tags/*:refs/tags/*",
        ];
        if let Some(extra) = extra {
            if extra.contains("refs/trellis/pinned/") {
                // Only the one commit: the branches were just fetched.
                args.truncate(args.len() - 2);
            }
            args.push(extra);
        }
        let result = git.run(Some(&repo.dir), &args);
        self.emit(&SourceEvent::FetchFinished {
            url: repo.display.clone(),
            elapsed: started.elapsed(),
        });
        tracing::debug!(url = %repo.display, elapsed = ?started.elapsed(), ok = result.is_ok(), "fetched");
        result?;
        Ok(guard.release())
    }

    fn emit(&self, event: &SourceEvent) {
        if let Some(observer) = &self.inner.config.observer {
            observer(event);
        }
    }

    fn cached_snapshot(&self, repo_url: &str, commit: ObjectId) -> Option<Arc<Snapshot>> {
        lock(&self.inner.snapshots)
            .map
            .get(&(repo_url.to_string(), commit))
            .cloned()
    }

    fn insert_snapshot(
        &self,
        repo_url: &str,
        commit: ObjectId,
        snapshot: Arc<Snapshot>,
    ) -> Arc<Snapshot> {
        let mut cache = lock(&self.inner.snapshots);
        let key = (repo_url.to_string(), commit);
        if let Some(existing) = cache.map.get(&key) {
            return Arc::clone(existing);
        }
        while cache.order.len() >= SNAPSHOT_CACHE_MAX {
            if let Some(old) = cache.order.pop_front() {
                cache.map.remove(&old);
            }
        }
        cache.order.push_back(key.clone());
        cache.map.insert(key, Arc::clone(&snapshot));
        snapshot
    }
}

fn is_head(revision: &str) -> bool {
    revision.is_empty() || revision == "HEAD"
}

fn is_commit_prefix(revision: &str) -> bool {
    (4..=40).contains(&revision.len()) && revision.bytes().all(|b| b.is_ascii_hexdigit())
}

fn full_commit_id(revision: &str) -> Option<ObjectId> {
    if revision.len() == 40 && is_commit_prefix(revision) {
        ObjectId::from_hex(revision.to_ascii_lowercase().as_bytes()).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Sources>();
        check::<Snapshot>();
        check::<Arc<Snapshot>>();
    }

    #[test]
    fn commit_ids_are_recognized() {
        assert!(is_commit_prefix("abcd"));
        assert!(!is_commit_prefix("abc"));
        assert!(!is_commit_prefix("main"));
        assert!(full_commit_id(&"A".repeat(40)).is_some());
        assert!(full_commit_id(&"a".repeat(39)).is_none());
    }
}
