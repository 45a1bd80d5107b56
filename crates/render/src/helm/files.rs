//! A git snapshot seen as chart files, so charts load straight from the
//! object database with the snapshot's path confinement.

use std::io;

use trellis_helm::{ChartFiles, Entry};
use trellis_source::{EntryKind, Snapshot, SourceError};

/// [`ChartFiles`] over a [`Snapshot`]; paths are relative to the repository
/// root. A path escaping the repository is an error, never read.
pub struct SnapshotFiles<'a> {
    /// The repository content.
    pub snapshot: &'a Snapshot,
}

fn io_error(err: SourceError) -> io::Error {
    let kind = match err {
        SourceError::NotFound { .. } => io::ErrorKind::NotFound,
        SourceError::PathEscape { .. } => io::ErrorKind::PermissionDenied,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, err.to_string())
}

impl ChartFiles for SnapshotFiles<'_> {
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        self.snapshot.read_file(path).map_err(io_error)
    }

    fn list(&self, dir: &str) -> io::Result<Vec<Entry>> {
        let entries = self.snapshot.read_dir(dir).map_err(io_error)?;
        Ok(entries
            .into_iter()
            .map(|e| Entry {
                name: e.name,
                is_dir: e.kind == EntryKind::Dir,
            })
            .collect())
    }

    fn is_dir(&self, path: &str) -> bool {
        matches!(self.snapshot.entry(path), Ok(Some(EntryKind::Dir)))
    }

    fn exists(&self, path: &str) -> bool {
        matches!(self.snapshot.entry(path), Ok(Some(_)))
    }
}
