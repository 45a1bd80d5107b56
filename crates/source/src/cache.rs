//! One cached repository: a bare git repository under `<cache_dir>/repos/`, written only by
//! `git fetch` while holding its lock, and read through gix straight from the object database by
//! any number of threads without a lock (git writes objects before it moves refs, and objects are
//! immutable, so a reader never sees a half-written commit).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use gix::ObjectId;

use crate::config::{RepoCredentials, SourceConfig};
use crate::error::{BoxError, Result, SourceError};
use crate::git_cli::Git;
use crate::url::{cache_dir_name, redact, split_http_userinfo};

/// Parsed tree objects kept per repository; trees are content-addressed, so one entry serves
/// every commit that shares the directory. The bound is on the total number of entries.
const TREE_CACHE_MAX_ENTRIES: usize = 250_000;
/// Thread-local gix handles kept for reuse; more concurrent readers simply open more.
const POOL_MAX: usize = 32;

/// What a tree entry is, after git's file modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Tree,
    Blob,
    Link,
    /// A submodule (gitlink): a commit of another repository, not readable here.
    Commit,
}

/// One entry of a tree object.
#[derive(Debug, Clone)]
pub(crate) struct TreeEntry {
    pub name: Vec<u8>,
    pub mode: Mode,
    pub oid: ObjectId,
}

/// A decoded tree, entries sorted by name bytes.
#[derive(Debug)]
pub(crate) struct Listing {
    pub entries: Vec<TreeEntry>,
}

impl Listing {
    pub fn get(&self, name: &[u8]) -> Option<&TreeEntry> {
        self.entries
            .binary_search_by(|e| e.name.as_slice().cmp(name))
            .ok()
            .map(|i| &self.entries[i])
    }
}

/// The refs a remote advertised at its last `ls-remote`.
#[derive(Debug, Default)]
pub(crate) struct RemoteRefs {
    refs: HashMap<String, ObjectId>,
    /// `refs/tags/x` → the commit an annotated tag points to (`refs/tags/x^{}`).
    peeled: HashMap<String, ObjectId>,
}

impl RemoteRefs {
    pub fn parse(out: &[u8]) -> Self {
        let mut refs = RemoteRefs::default();
        for line in String::from_utf8_lossy(out).lines() {
            let Some((sha, name)) = line.split_once('\t') else {
                continue;
            };
            let Ok(oid) = ObjectId::from_hex(sha.trim().as_bytes()) else {
                continue;
            };
            let name = name.trim();
            match name.strip_suffix("^{}") {
                Some(base) => refs.peeled.insert(base.to_string(), oid),
                None => refs.refs.insert(name.to_string(), oid),
            };
        }
        refs
    }

    /// True when `has` holds for every advertised branch and tag: a fetch would bring nothing.
    pub fn all_present(&self, has: impl Fn(&ObjectId) -> bool) -> bool {
        self.refs
            .iter()
            .filter(|(name, _)| name.starts_with("refs/heads/") || name.starts_with("refs/tags/"))
            .all(|(_, oid)| has(oid))
    }

    /// The ref `revision` names and the commit-ish it points to: `""`/`HEAD` is the remote's
    /// default branch; otherwise a full ref name, then a branch, then a tag (git's and Argo CD's
    /// precedence).
    pub fn lookup(&self, revision: &str) -> Option<(String, ObjectId)> {
        let candidates: Vec<String> = if revision.is_empty() || revision == "HEAD" {
            vec!["HEAD".to_string()]
        } else {
            let mut c = Vec::new();
            if revision.starts_with("refs/") {
                c.push(revision.to_string());
            }
            c.push(format!("refs/heads/{revision}"));
            c.push(format!("refs/tags/{revision}"));
            c
        };
        candidates.into_iter().find_map(|name| {
            let oid = self.peeled.get(&name).or_else(|| self.refs.get(&name))?;
            Some((name, *oid))
        })
    }
}

/// A cached bare repository and its per-repository state.
pub(crate) struct CachedRepo {
    /// What git fetches from (URL or absolute path); credentials of an http(s) URL are moved to
    /// `embedded` so they never reach a command line.
    pub location: String,
    /// Credentials that were written into the location's URL; they win over configured ones.
    pub embedded: Option<RepoCredentials>,
    /// `location` without credentials, for messages.
    pub display: String,
    pub dir: PathBuf,
    lock_path: PathBuf,
    /// Serializes network operations (ls-remote, fetch) on this repository within the process;
    /// the file lock extends that to other processes sharing the cache.
    op_lock: Mutex<()>,
    gix: gix::ThreadSafeRepository,
    pool: Mutex<Vec<gix::Repository>>,
    trees: Mutex<HashMap<ObjectId, Arc<Listing>>>,
    tree_entries: Mutex<usize>,
    pub remote_refs: Mutex<Option<Arc<RemoteRefs>>>,
}

/// Holds the repository's network lock: the in-process mutex and the lock file (closing the
/// file releases the file lock).
pub(crate) struct OpGuard<'a> {
    mutex: MutexGuard<'a, ()>,
    file: File,
}

impl<'a> OpGuard<'a> {
    /// Unlocks the lock file and hands back the in-process guard.
    pub fn release(self) -> MutexGuard<'a, ()> {
        let _ = self.file.unlock();
        self.mutex
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks cannot leave the data inconsistent (they guard
    // caches and serialization tokens), so poisoning is ignored.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl CachedRepo {
    /// Opens the cache of `location` under `repos_dir`, creating the bare repository on first use.
    pub fn open(config: &SourceConfig, repos_dir: &Path, location: &str) -> Result<Self> {
        let name = cache_dir_name(location);
        let dir = repos_dir.join(&name);
        let lock_path = repos_dir.join(format!("{name}.lock"));
        let display = redact(location);
        let (location, embedded) = split_http_userinfo(location);
        let embedded = embedded.map(|(username, password)| RepoCredentials {
            url_prefix: location.clone(),
            username: Some(username),
            password,
            ssh_private_key_file: None,
        });
        let location = location.as_str();
        if !dir.join("HEAD").is_file() {
            let file = lock_file(&lock_path)?;
            let result = init_bare(config, &dir, location);
            let _ = file.unlock();
            result?;
        }
        let gix = gix::open_opts(&dir, gix::open::Options::isolated())
            .map_err(|e| SourceError::Object {
                what: format!("the cache repository {}", dir.display()),
                url: display.clone(),
                source: Box::new(e),
            })?
            .into_sync();
        Ok(Self {
            location: location.to_string(),
            embedded,
            display,
            dir,
            lock_path,
            op_lock: Mutex::new(()),
            gix,
            pool: Mutex::new(Vec::new()),
            trees: Mutex::new(HashMap::new()),
            tree_entries: Mutex::new(0),
            remote_refs: Mutex::new(None),
        })
    }

    /// Takes the in-process network lock only (enough for `ls-remote`, which writes nothing).
    pub fn lock_ops(&self) -> MutexGuard<'_, ()> {
        lock(&self.op_lock)
    }

    /// Takes the cross-process write lock too; call with the in-process guard held.
    ///
    /// Holding it, no git runs in this repository, so any git lock file left in it belongs to a
    /// git that was stopped (timed out, or its process killed) and is removed; otherwise every
    /// later fetch would fail on it.
    pub fn lock_for_write<'a>(&'a self, ops: MutexGuard<'a, ()>) -> Result<OpGuard<'a>> {
        let file = lock_file(&self.lock_path)?;
        remove_stale_git_locks(&self.dir);
        Ok(OpGuard { mutex: ops, file })
    }

    /// Runs `f` with a thread-local gix handle taken from (and returned to) the pool.
    pub fn with_repo<T>(&self, f: impl FnOnce(&gix::Repository) -> T) -> T {
        let repo = lock(&self.pool)
            .pop()
            .unwrap_or_else(|| self.gix.to_thread_local());
        let out = f(&repo);
        let mut pool = lock(&self.pool);
        if pool.len() < POOL_MAX {
            pool.push(repo);
        }
        out
    }

    fn object_error(&self, what: impl Into<String>, source: impl Into<BoxError>) -> SourceError {
        SourceError::Object {
            what: what.into(),
            url: self.display.clone(),
            source: source.into(),
        }
    }

    /// True when the object is in the cache.
    pub fn has_object(&self, oid: &ObjectId) -> bool {
        self.with_repo(|repo| repo.has_object(oid))
    }

    /// The commit `oid` peels to (following annotated tags), `None` if the object is absent or
    /// is not a commit.
    pub fn peel_to_commit(&self, oid: ObjectId) -> Result<Option<ObjectId>> {
        self.with_repo(|repo| {
            let Some(object) = repo
                .try_find_object(oid)
                .map_err(|e| self.object_error(oid.to_string(), e))?
            else {
                return Ok(None);
            };
            match object.peel_tags_to_end() {
                Ok(object) if object.kind == gix::object::Kind::Commit => Ok(Some(object.id)),
                Ok(_) => Ok(None),
                Err(e) => Err(self.object_error(oid.to_string(), e)),
            }
        })
    }

    /// The commits whose id starts with `prefix` (hex, at least 4 digits).
    pub fn commits_with_prefix(&self, prefix: &str) -> Result<Vec<ObjectId>> {
        let Ok(prefix) = gix::hash::Prefix::from_hex(prefix) else {
            return Ok(Vec::new());
        };
        self.with_repo(|repo| {
            let mut candidates = HashSet::new();
            repo.objects
                .lookup_prefix(prefix, Some(&mut candidates))
                .map_err(|e| self.object_error(format!("objects starting with {prefix}"), e))?;
            let mut commits = Vec::new();
            for oid in candidates {
                if let Ok(header) = repo.find_header(oid)
                    && header.kind() == gix::object::Kind::Commit
                {
                    commits.push(oid);
                }
            }
            commits.sort();
            Ok(commits)
        })
    }

    /// The root tree of a commit.
    pub fn commit_tree(&self, commit: ObjectId) -> Result<ObjectId> {
        self.with_repo(|repo| {
            let commit = repo
                .find_commit(commit)
                .map_err(|e| self.object_error(format!("commit {commit}"), e))?;
            commit
                .tree_id()
                .map(|id| id.detach())
                .map_err(|e| self.object_error("the commit's tree", e))
        })
    }

    /// The decoded tree `oid`, from the cache when possible.
    pub fn listing(&self, oid: ObjectId) -> Result<Arc<Listing>> {
        if let Some(listing) = lock(&self.trees).get(&oid) {
            return Ok(Arc::clone(listing));
        }
        let listing = self.with_repo(|repo| -> Result<Listing> {
            let tree = repo
                .find_tree(oid)
                .map_err(|e| self.object_error(format!("tree {oid}"), e))?;
            let decoded = tree
                .decode()
                .map_err(|e| self.object_error(format!("tree {oid}"), e))?;
            let mut entries: Vec<TreeEntry> = decoded
                .entries
                .iter()
                .map(|e| TreeEntry {
                    name: e.filename.to_vec(),
                    mode: if e.mode.is_tree() {
                        Mode::Tree
                    } else if e.mode.is_link() {
                        Mode::Link
                    } else if e.mode.is_commit() {
                        Mode::Commit
                    } else {
                        Mode::Blob
                    },
                    oid: e.oid.to_owned(),
                })
                .collect();
            entries.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(Listing { entries })
        })?;
        let listing = Arc::new(listing);
        let mut trees = lock(&self.trees);
        let mut count = lock(&self.tree_entries);
        if *count + listing.entries.len() > TREE_CACHE_MAX_ENTRIES {
            trees.clear();
            *count = 0;
        }
        *count += listing.entries.len();
        trees.insert(oid, Arc::clone(&listing));
        Ok(listing)
    }

    /// The content of blob `oid`; `path` names it in errors.
    pub fn blob(&self, oid: ObjectId, path: &str) -> Result<Vec<u8>> {
        self.with_repo(|repo| {
            repo.find_blob(oid)
                .map(|mut blob| blob.take_data())
                .map_err(|e| self.object_error(format!("file {path:?}"), e))
        })
    }
}

fn remove_stale_git_locks(dir: &Path) {
    for name in [
        "packed-refs.lock",
        "shallow.lock",
        "config.lock",
        "HEAD.lock",
    ] {
        let _ = std::fs::remove_file(dir.join(name));
    }
    let mut pending = vec![dir.join("refs")];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => pending.push(path),
                Ok(t) if t.is_file() && path.extension().is_some_and(|e| e == "lock") => {
                    tracing::warn!(path = %path.display(), "removing a lock file left by a stopped git");
                    let _ = std::fs::remove_file(&path);
                }
                _ => {}
            }
        }
    }
}

fn lock_file(path: &Path) -> Result<File> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| SourceError::io(path, e))?;
    file.lock().map_err(|e| SourceError::io(path, e))?;
    Ok(file)
}

/// Creates the bare repository in a temporary sibling and renames it into place, so a crash
/// never leaves a half-initialized cache behind. Called with the lock file held.
fn init_bare(config: &SourceConfig, dir: &Path, location: &str) -> Result<()> {
    if dir.join("HEAD").is_file() {
        return Ok(());
    }
    let parent = dir.parent().unwrap_or(Path::new("."));
    let tmp = parent.join(format!(
        ".init-{}-{}",
        std::process::id(),
        dir.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    let git = Git {
        config,
        location,
        embedded: None,
        operation: "init",
    };
    git.run(None, &["init", "--bare", "--quiet", &tmp.to_string_lossy()])?;
    if dir.exists() {
        // Left over from an interrupted run of an older layout: it has no HEAD, so it is unusable.
        std::fs::remove_dir_all(dir).map_err(|e| SourceError::io(dir, e))?;
    }
    std::fs::rename(&tmp, dir).map_err(|e| SourceError::io(dir, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ls_remote_output_resolves_heads_tags_and_peeled_tags() {
        let a = "1111111111111111111111111111111111111111";
        let b = "2222222222222222222222222222222222222222";
        let c = "3333333333333333333333333333333333333333";
        let out = format!(
            "{a}\tHEAD\n{a}\trefs/heads/main\n{b}\trefs/tags/v1\n{c}\trefs/tags/v1^{{}}\n{b}\trefs/heads/v1\n"
        );
        let refs = RemoteRefs::parse(out.as_bytes());
        let hex = |r: &str| refs.lookup(r).map(|(_, oid)| oid.to_string());
        assert_eq!(hex("").as_deref(), Some(a));
        assert_eq!(hex("HEAD").as_deref(), Some(a));
        assert_eq!(hex("main").as_deref(), Some(a));
        // A branch wins over a tag of the same name; the tag is reachable by its full name.
        assert_eq!(hex("v1").as_deref(), Some(b));
        assert_eq!(hex("refs/tags/v1").as_deref(), Some(c));
        assert_eq!(hex("nope"), None);
    }
}
