//! The one error type of this crate.
//!
//! Every message is a single line that names the repository (with any credentials removed from
//! its URL), the revision or path involved, and the cause.

use std::path::PathBuf;
use std::time::Duration;

/// A `Result` whose error is [`SourceError`].
pub type Result<T, E = SourceError> = std::result::Result<T, E>;

/// Boxed cause of an error raised inside the object database reader.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong while locating, fetching, resolving or reading a repository.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The repository could not be reached: the host refused or timed out, the path does not
    /// exist, or the server is not a git server.
    #[error("repository {url} is unreachable: {message}")]
    Unreachable {
        /// The location that was contacted, without credentials.
        url: String,
        /// What git reported, without credentials.
        message: String,
    },

    /// The server rejected the credentials, or asked for credentials and none were configured.
    #[error("authentication to repository {url} failed: {message}")]
    Authentication {
        /// The location that was contacted, without credentials.
        url: String,
        /// What git reported, without credentials.
        message: String,
    },

    /// The revision names no branch, tag or commit of the repository.
    #[error("repository {url} has no branch, tag or commit named {revision:?}")]
    UnknownRevision {
        /// The repository as the application names it, without credentials.
        url: String,
        /// The revision as given.
        revision: String,
    },

    /// A short commit id matches more than one commit.
    #[error(
        "revision {revision:?} is ambiguous in repository {url}: it is a prefix of several commits"
    )]
    AmbiguousRevision {
        /// The repository as the application names it, without credentials.
        url: String,
        /// The revision as given.
        revision: String,
    },

    /// The location is a plain directory, which has no history, and a revision of it was asked
    /// for.
    #[error(
        "repository {url} is the plain directory {}, which has no revisions (asked for {revision:?})",
        .path.display()
    )]
    DirectoryRevision {
        /// The repository as the application names it.
        url: String,
        /// The directory it maps to.
        path: PathBuf,
        /// The revision that was asked for.
        revision: String,
    },

    /// The location is a plain directory, so there is no commit to resolve to.
    #[error("repository {url} is the plain directory {}, which has no commits", .path.display())]
    NoCommit {
        /// The repository as the application names it.
        url: String,
        /// The directory it maps to.
        path: PathBuf,
    },

    /// A path leaves the snapshot: a `..` above the root, an absolute path, or a symbolic link
    /// whose target lies outside the snapshot. Nothing outside is ever read.
    #[error("path {path:?} escapes the repository root")]
    PathEscape {
        /// The path as asked for.
        path: String,
    },

    /// Nothing exists at the path.
    #[error("path {path:?} does not exist in the repository")]
    NotFound {
        /// The path as asked for.
        path: String,
    },

    /// A file was asked for and the path is a directory.
    #[error("path {path:?} is a directory, not a file")]
    NotAFile {
        /// The path as asked for.
        path: String,
    },

    /// A directory was asked for and the path is a file.
    #[error("path {path:?} is a file, not a directory")]
    NotADirectory {
        /// The path as asked for.
        path: String,
    },

    /// Symbolic links refer to each other in a loop, or too many of them are chained.
    #[error("path {path:?} has too many levels of symbolic links")]
    SymlinkLoop {
        /// The path as asked for.
        path: String,
    },

    /// A git command failed for a reason other than reachability or authentication.
    #[error("git {operation} for repository {url} failed: {message}")]
    Git {
        /// The git subcommand (`fetch`, `ls-remote`, `init`).
        operation: &'static str,
        /// The location, without credentials.
        url: String,
        /// What git reported, without credentials.
        message: String,
    },

    /// The git program could not be started (is it installed and on `PATH`?).
    #[error("cannot run git (is it installed and on PATH?): {source}")]
    GitNotFound {
        /// The error from starting the process.
        #[source]
        source: std::io::Error,
    },

    /// A git command ran longer than the configured timeout and was stopped.
    #[error("git {operation} for repository {url} timed out after {}s", .after.as_secs_f64())]
    Timeout {
        /// The git subcommand.
        operation: &'static str,
        /// The location, without credentials.
        url: String,
        /// The timeout that was exceeded.
        after: Duration,
    },

    /// The cached object database could not be read or is corrupt.
    #[error("cannot read {what} from the cache of repository {url}: {source}")]
    Object {
        /// What was being read (a commit id, a tree, a file path).
        what: String,
        /// The repository, without credentials.
        url: String,
        /// The reader's error.
        #[source]
        source: BoxError,
    },

    /// A file-system operation failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A `--repo-map` entry or a repository URL is malformed.
    #[error("invalid repository mapping {0}")]
    InvalidRepoMap(String),
}

impl SourceError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SourceError::Io {
            path: path.into(),
            source,
        }
    }

    /// True when the error is transient from the caller's point of view: the repository could
    /// not be contacted, so the last good state should be kept and the operation retried later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SourceError::Unreachable { .. } | SourceError::Timeout { .. } | SourceError::Git { .. }
        )
    }
}
