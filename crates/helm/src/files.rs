//! Where chart files come from.
//!
//! Charts are read through [`ChartFiles`] so the same loader serves a
//! directory on disk (tests, local use) and, later, an immutable git
//! snapshot. Paths are relative, `/`-separated and never start with `/`.

use std::io;
use std::path::{Path, PathBuf};

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The entry's name within its directory (no `/`).
    pub name: String,
    /// Whether the entry is a directory (after following symlinks).
    pub is_dir: bool,
}

/// Read-only access to a tree of files holding one or more charts.
pub trait ChartFiles {
    /// The contents of the file at `path`.
    fn read(&self, path: &str) -> io::Result<Vec<u8>>;
    /// The entries of the directory at `dir` (`""` is the root), in any
    /// order. A path that is not a directory is an error.
    fn list(&self, dir: &str) -> io::Result<Vec<Entry>>;
    /// Whether `path` is a directory; `false` when it does not exist.
    fn is_dir(&self, path: &str) -> bool;
    /// Whether a file or directory exists at `path`.
    fn exists(&self, path: &str) -> bool;
}

/// [`ChartFiles`] over a directory of the local file system. Symlinks are
/// followed, as Helm follows them; confining them is the caller's concern.
#[derive(Debug, Clone)]
pub struct FsChartFiles {
    root: PathBuf,
}

impl FsChartFiles {
    /// Files under `root`.
    pub fn new(root: impl Into<PathBuf>) -> FsChartFiles {
        FsChartFiles { root: root.into() }
    }

    fn path(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(Path::new(rel))
        }
    }
}

impl ChartFiles for FsChartFiles {
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        std::fs::read(self.path(path))
    }

    fn list(&self, dir: &str) -> io::Result<Vec<Entry>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(self.path(dir))? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            let is_dir = std::fs::metadata(e.path())
                .map(|m| m.is_dir())
                .unwrap_or(false);
            out.push(Entry { name, is_dir });
        }
        Ok(out)
    }

    fn is_dir(&self, path: &str) -> bool {
        std::fs::metadata(self.path(path)).is_ok_and(|m| m.is_dir())
    }

    fn exists(&self, path: &str) -> bool {
        std::fs::metadata(self.path(path)).is_ok()
    }
}

/// Joins `/`-separated relative paths, resolving `.` and `..` lexically.
/// Returns `None` when the result would leave the root.
pub fn join_path(base: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for p in base.split('/').chain(rel.split('/')) {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_paths() {
        assert_eq!(
            join_path("apps/web", "../common").as_deref(),
            Some("apps/common")
        );
        assert_eq!(join_path("", "a/./b").as_deref(), Some("a/b"));
        assert_eq!(join_path("a", "../../x"), None);
    }
}
