//! Read-only snapshots of a repository tree, and the path resolution that confines every read to
//! the snapshot.
//!
//! Paths are resolved one component at a time against the snapshot itself, never against the
//! host file system: `.` is skipped, `..` pops one level (popping above the root is an escape),
//! and a symbolic link is replaced by its target's components and resolution continues, so a
//! link is judged by where it actually leads. An absolute path or absolute link target is an
//! escape. Nothing outside the snapshot is ever opened.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

use gix::ObjectId;

use crate::cache::{CachedRepo, Mode};
use crate::error::{Result, SourceError};

/// Symbolic links followed while resolving one path, as Linux's `MAXSYMLINKS`.
const MAX_SYMLINK_HOPS: usize = 40;

/// What a path names, after following symbolic links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DirEntry {
    /// The entry's name within its directory.
    pub name: String,
    /// What it is after following symbolic links.
    pub kind: EntryKind,
    /// True when the entry itself is a symbolic link (to a target inside the snapshot).
    pub is_symlink: bool,
}

/// An immutable view of a repository's tree at one commit (or of a plain directory), shared by
/// every application that renders from it.
///
/// All paths are relative to the repository root (`"a/b.yaml"`, `"./a"`, `""` for the root) and
/// confined to it: see [`SourceError::PathEscape`].
pub struct Snapshot {
    repo_url: String,
    inner: Inner,
}

enum Inner {
    Git {
        repo: Arc<CachedRepo>,
        commit: String,
        root: ObjectId,
    },
    Directory {
        root: PathBuf,
    },
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = f.debug_struct("Snapshot");
        s.field("repo_url", &crate::url::redact(&self.repo_url));
        match &self.inner {
            Inner::Git { commit, .. } => s.field("commit", commit),
            Inner::Directory { root } => s.field("directory", root),
        };
        s.finish()
    }
}

/// What resolution found at a path.
#[derive(Debug, Clone)]
enum Found<N> {
    File(N),
    Dir(N),
    /// Something that is neither (a submodule, a device): treated as absent.
    Other,
}

/// The minimal tree operations the resolver needs, for git trees and for directories on disk.
trait Tree {
    type Node: Clone;
    fn root(&self) -> Self::Node;
    /// The child `name` of directory `dir` and what it is, without following a link.
    fn child(&self, dir: &Self::Node, name: &str, path: &str)
    -> Result<Option<(Kind, Self::Node)>>;
    /// The target of a symbolic link.
    fn link_target(&self, link: &Self::Node, path: &str) -> Result<String>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
    Link,
    Other,
}

fn resolve<T: Tree>(tree: &T, path: &str) -> Result<Option<Found<T::Node>>> {
    let escape = || SourceError::PathEscape {
        path: path.to_string(),
    };
    if path.starts_with('/') || path.starts_with('\\') {
        return Err(escape());
    }
    let mut pending: VecDeque<String> = components(path).collect();
    let mut dirs: Vec<T::Node> = vec![tree.root()];
    let mut hops = 0;
    // Set when the last resolved component is a file: only the end of the path may be a file.
    let mut leaf: Option<Found<T::Node>> = None;
    while let Some(component) = pending.pop_front() {
        if leaf.is_some() {
            // `file/x` and `file/..` name nothing, as on a file system (ENOTDIR).
            return Ok(None);
        }
        if component == ".." {
            if dirs.len() == 1 {
                return Err(escape());
            }
            dirs.pop();
            continue;
        }
        let Some(dir) = dirs.last() else {
            return Err(escape());
        };
        match tree.child(dir, &component, path)? {
            None => return Ok(None),
            Some((Kind::Dir, node)) => dirs.push(node),
            Some((Kind::File, node)) => leaf = Some(Found::File(node)),
            Some((Kind::Other, _)) => leaf = Some(Found::Other),
            Some((Kind::Link, node)) => {
                hops += 1;
                if hops > MAX_SYMLINK_HOPS {
                    return Err(SourceError::SymlinkLoop {
                        path: path.to_string(),
                    });
                }
                let target = tree.link_target(&node, path)?;
                if target.starts_with('/') || target.starts_with('\\') {
                    return Err(escape());
                }
                for (i, c) in components(&target).enumerate() {
                    pending.insert(i, c);
                }
            }
        }
    }
    match leaf {
        Some(found) => Ok(Some(found)),
        None => Ok(dirs.pop().map(Found::Dir)),
    }
}

/// The meaningful components of a relative path: empty ones and `.` are dropped.
fn components(path: &str) -> impl Iterator<Item = String> + '_ {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_string)
}

fn join(dir: &str, name: &str) -> String {
    let dir = dir.trim_end_matches('/');
    if dir.is_empty() || dir == "." {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

struct GitTree<'a> {
    repo: &'a CachedRepo,
    root: ObjectId,
}

impl Tree for GitTree<'_> {
    type Node = ObjectId;

    fn root(&self) -> ObjectId {
        self.root
    }

    fn child(&self, dir: &ObjectId, name: &str, _path: &str) -> Result<Option<(Kind, ObjectId)>> {
        let listing = self.repo.listing(*dir)?;
        Ok(listing
            .get(name.as_bytes())
            .map(|e| (kind_of(e.mode), e.oid)))
    }

    fn link_target(&self, link: &ObjectId, path: &str) -> Result<String> {
        let bytes = self.repo.blob(*link, path)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

fn kind_of(mode: Mode) -> Kind {
    match mode {
        Mode::Tree => Kind::Dir,
        Mode::Blob => Kind::File,
        Mode::Link => Kind::Link,
        Mode::Commit => Kind::Other,
    }
}

struct DiskTree<'a> {
    root: &'a PathBuf,
}

impl Tree for DiskTree<'_> {
    type Node = PathBuf;

    fn root(&self) -> PathBuf {
        self.root.clone()
    }

    fn child(&self, dir: &PathBuf, name: &str, _path: &str) -> Result<Option<(Kind, PathBuf)>> {
        let child = dir.join(name);
        match std::fs::symlink_metadata(&child) {
            Ok(meta) => {
                let ft = meta.file_type();
                let kind = if ft.is_symlink() {
                    Kind::Link
                } else if ft.is_dir() {
                    Kind::Dir
                } else if ft.is_file() {
                    Kind::File
                } else {
                    Kind::Other
                };
                Ok(Some((kind, child)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) if e.raw_os_error() == Some(20) => Ok(None), // ENOTDIR
            Err(e) => Err(SourceError::io(child, e)),
        }
    }

    fn link_target(&self, link: &PathBuf, _path: &str) -> Result<String> {
        let target = std::fs::read_link(link).map_err(|e| SourceError::io(link, e))?;
        Ok(target.to_string_lossy().into_owned())
    }
}

impl Snapshot {
    pub(crate) fn git(
        repo_url: &str,
        repo: Arc<CachedRepo>,
        commit: ObjectId,
        root: ObjectId,
    ) -> Self {
        Self {
            repo_url: repo_url.to_string(),
            inner: Inner::Git {
                repo,
                commit: commit.to_string(),
                root,
            },
        }
    }

    pub(crate) fn directory(repo_url: &str, root: PathBuf) -> Self {
        Self {
            repo_url: repo_url.to_string(),
            inner: Inner::Directory { root },
        }
    }

    /// The repository URL as the application names it (before the repository map).
    pub fn repo_url(&self) -> &str {
        &self.repo_url
    }

    /// The commit id (40 hex digits) of this snapshot; `None` for a plain directory.
    pub fn commit(&self) -> Option<&str> {
        match &self.inner {
            Inner::Git { commit, .. } => Some(commit),
            Inner::Directory { .. } => None,
        }
    }

    /// The local directory of a plain-directory snapshot; `None` for git snapshots.
    pub fn directory_path(&self) -> Option<&std::path::Path> {
        match &self.inner {
            Inner::Git { .. } => None,
            Inner::Directory { root } => Some(root),
        }
    }

    /// The content of the file at `path`, following symbolic links inside the snapshot.
    pub fn read_file(&self, path: &str) -> Result<Vec<u8>> {
        match &self.inner {
            Inner::Git { repo, root, .. } => match resolve(&GitTree { repo, root: *root }, path)? {
                Some(Found::File(oid)) => repo.blob(oid, path),
                Some(Found::Dir(_)) => Err(not_a_file(path)),
                Some(Found::Other) | None => Err(not_found(path)),
            },
            Inner::Directory { root } => match resolve(&DiskTree { root }, path)? {
                Some(Found::File(file)) => {
                    std::fs::read(&file).map_err(|e| SourceError::io(file, e))
                }
                Some(Found::Dir(_)) => Err(not_a_file(path)),
                Some(Found::Other) | None => Err(not_found(path)),
            },
        }
    }

    /// What is at `path` after following symbolic links; `None` when nothing is.
    pub fn entry(&self, path: &str) -> Result<Option<EntryKind>> {
        let kind = |found: Option<Found<()>>| match found {
            Some(Found::File(())) => Some(EntryKind::File),
            Some(Found::Dir(())) => Some(EntryKind::Dir),
            Some(Found::Other) | None => None,
        };
        Ok(kind(match &self.inner {
            Inner::Git { repo, root, .. } => {
                resolve(&GitTree { repo, root: *root }, path)?.map(erase)
            }
            Inner::Directory { root } => resolve(&DiskTree { root }, path)?.map(erase),
        }))
    }

    /// The entries of the directory at `path`, sorted by name, with symbolic links resolved to
    /// what they point to. Links that point nowhere and submodules are left out; a link that
    /// leaves the snapshot is an error.
    pub fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>> {
        let mut entries = Vec::new();
        match &self.inner {
            Inner::Git { repo, root, .. } => {
                let tree = GitTree { repo, root: *root };
                let dir = match resolve(&tree, path)? {
                    Some(Found::Dir(oid)) => oid,
                    Some(Found::File(_)) => return Err(not_a_dir(path)),
                    Some(Found::Other) | None => return Err(not_found(path)),
                };
                let listing = repo.listing(dir)?;
                for e in &listing.entries {
                    let name = String::from_utf8_lossy(&e.name).into_owned();
                    let kind = match e.mode {
                        Mode::Tree => Some(EntryKind::Dir),
                        Mode::Blob => Some(EntryKind::File),
                        Mode::Commit => None,
                        Mode::Link => self.entry(&join(path, &name))?,
                    };
                    if let Some(kind) = kind {
                        let is_symlink = e.mode == Mode::Link;
                        entries.push(DirEntry {
                            name,
                            kind,
                            is_symlink,
                        });
                    }
                }
            }
            Inner::Directory { root } => {
                let tree = DiskTree { root };
                let dir = match resolve(&tree, path)? {
                    Some(Found::Dir(dir)) => dir,
                    Some(Found::File(_)) => return Err(not_a_dir(path)),
                    Some(Found::Other) | None => return Err(not_found(path)),
                };
                let read = std::fs::read_dir(&dir).map_err(|e| SourceError::io(&dir, e))?;
                for item in read {
                    let item = item.map_err(|e| SourceError::io(&dir, e))?;
                    let Ok(name) = item.file_name().into_string() else {
                        // Names that are not UTF-8 cannot be named by a `&str` path either.
                        continue;
                    };
                    let file_type = item
                        .file_type()
                        .map_err(|e| SourceError::io(item.path(), e))?;
                    let kind = if file_type.is_dir() {
                        Some(EntryKind::Dir)
                    } else if file_type.is_file() {
                        Some(EntryKind::File)
                    } else if file_type.is_symlink() {
                        self.entry(&join(path, &name))?
                    } else {
                        None
                    };
                    if let Some(kind) = kind {
                        entries.push(DirEntry {
                            name,
                            kind,
                            is_symlink: file_type.is_symlink(),
                        });
                    }
                }
            }
        }
        entries.sort();
        Ok(entries)
    }

    /// Every file below the directory at `path`, as paths relative to it (`"sub/file.yaml"`),
    /// sorted. Symbolic links to files are included; symbolic links to directories are not
    /// descended (as `find` without `-L`), which also keeps link cycles from looping.
    pub fn files_under(&self, path: &str) -> Result<Vec<String>> {
        let mut files = Vec::new();
        let mut pending = vec![String::new()];
        while let Some(relative) = pending.pop() {
            let dir = if relative.is_empty() {
                path.to_string()
            } else {
                join(path, &relative)
            };
            for entry in self.read_dir(&dir)? {
                let child = join(&relative, &entry.name);
                match entry.kind {
                    EntryKind::File => files.push(child),
                    EntryKind::Dir if !entry.is_symlink => pending.push(child),
                    EntryKind::Dir => {}
                }
            }
        }
        files.sort();
        Ok(files)
    }

    /// The git object id of the tree or file at `path` (after following symbolic links): a
    /// content key for render caching, equal across commits when the content is equal. `None`
    /// for plain directories, which have no object ids, and when nothing is at `path`.
    pub fn tree_id(&self, path: &str) -> Result<Option<String>> {
        match &self.inner {
            Inner::Git { repo, root, .. } => {
                Ok(match resolve(&GitTree { repo, root: *root }, path)? {
                    Some(Found::File(oid) | Found::Dir(oid)) => Some(oid.to_string()),
                    Some(Found::Other) | None => None,
                })
            }
            Inner::Directory { .. } => Ok(None),
        }
    }
}

fn erase<N>(found: Found<N>) -> Found<()> {
    match found {
        Found::File(_) => Found::File(()),
        Found::Dir(_) => Found::Dir(()),
        Found::Other => Found::Other,
    }
}

fn not_found(path: &str) -> SourceError {
    SourceError::NotFound {
        path: path.to_string(),
    }
}

fn not_a_file(path: &str) -> SourceError {
    SourceError::NotAFile {
        path: path.to_string(),
    }
}

fn not_a_dir(path: &str) -> SourceError {
    SourceError::NotADirectory {
        path: path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// An in-memory tree: paths to kinds, links to targets.
    struct Fake {
        nodes: HashMap<String, (Kind, String)>,
    }

    impl Fake {
        fn new(items: &[(&str, Kind, &str)]) -> Self {
            Self {
                nodes: items
                    .iter()
                    .map(|(p, k, t)| (p.to_string(), (*k, t.to_string())))
                    .collect(),
            }
        }
    }

    impl Tree for Fake {
        type Node = String;
        fn root(&self) -> String {
            String::new()
        }
        fn child(&self, dir: &String, name: &str, _: &str) -> Result<Option<(Kind, String)>> {
            let p = join(dir, name);
            Ok(self.nodes.get(&p).map(|(k, _)| (*k, p.clone())))
        }
        fn link_target(&self, link: &String, _: &str) -> Result<String> {
            Ok(self.nodes[link].1.clone())
        }
    }

    fn fake() -> Fake {
        Fake::new(&[
            ("a", Kind::Dir, ""),
            ("a/f", Kind::File, ""),
            ("a/b", Kind::Dir, ""),
            ("a/b/g", Kind::File, ""),
            ("up", Kind::Link, "a/b/.."),
            ("toa", Kind::Link, "../a"),
            ("a/b/sib", Kind::Link, "../f"),
            ("a/b/out", Kind::Link, "../../../etc"),
            ("abs", Kind::Link, "/etc/passwd"),
            ("loop1", Kind::Link, "loop2"),
            ("loop2", Kind::Link, "loop1"),
            ("dangling", Kind::Link, "nothing"),
        ])
    }

    fn at(path: &str) -> Result<Option<String>> {
        Ok(resolve(&fake(), path)?.map(|f| match f {
            Found::File(n) => format!("file:{n}"),
            Found::Dir(n) => format!("dir:{n}"),
            Found::Other => "other".to_string(),
        }))
    }

    #[test]
    fn plain_paths_resolve() {
        assert_eq!(at("").unwrap().as_deref(), Some("dir:"));
        assert_eq!(at("./a//b/").unwrap().as_deref(), Some("dir:a/b"));
        assert_eq!(at("a/b/../f").unwrap().as_deref(), Some("file:a/f"));
        assert_eq!(at("a/missing").unwrap(), None);
        assert_eq!(at("a/f/x").unwrap(), None);
    }

    #[test]
    fn links_inside_are_followed() {
        assert_eq!(at("up/f").unwrap().as_deref(), Some("file:a/f"));
        assert_eq!(at("a/b/sib").unwrap().as_deref(), Some("file:a/f"));
        assert_eq!(at("dangling").unwrap(), None);
    }

    #[test]
    fn escapes_are_rejected() {
        for path in [
            "..",
            "a/../..",
            "/etc",
            "toa",
            "a/b/out",
            "abs",
            "a/b/out/passwd",
        ] {
            assert!(
                matches!(at(path), Err(SourceError::PathEscape { .. })),
                "{path}: {:?}",
                at(path)
            );
        }
    }

    #[test]
    fn loops_stop() {
        assert!(matches!(at("loop1"), Err(SourceError::SymlinkLoop { .. })));
    }
}
