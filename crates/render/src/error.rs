//! Render errors.

use trellis_model::ManifestError;
use trellis_source::SourceError;

use crate::SourceKind;

/// Why an application source could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The repository could not be fetched or read.
    #[error("{0}")]
    Source(#[from] SourceError),
    /// A manifest file is malformed.
    #[error("{0}")]
    Manifest(#[from] ManifestError),
    /// A manifest file is not valid UTF-8.
    #[error("{path}: not valid UTF-8 text")]
    NotText {
        /// The file, relative to the repository root.
        path: String,
    },
    /// The source's path does not exist at this revision.
    #[error("path {path:?} does not exist in {repo_url} at {revision}")]
    PathNotFound {
        /// The missing path.
        path: String,
        /// The repository.
        repo_url: String,
        /// The commit (or `local directory`).
        revision: String,
    },
    /// The source's path names a file, not a directory.
    #[error("path {path:?} is a file, not a directory")]
    NotADirectory {
        /// The path.
        path: String,
    },
    /// An include or exclude glob is malformed.
    #[error("invalid {field} pattern {pattern:?}: {message}")]
    InvalidPattern {
        /// `include` or `exclude`.
        field: &'static str,
        /// The pattern as written.
        pattern: String,
        /// What is wrong with it.
        message: String,
    },
    /// A specific revision was asked of a repository mapped to a plain
    /// directory, which has none.
    #[error(
        "cannot render {repo_url} at {revision}: it is mapped to a plain directory, which has no revisions (map it to a git repository)"
    )]
    DirectoryRevision {
        /// The repository.
        repo_url: String,
        /// The revision asked for.
        revision: String,
    },
    /// A Helm chart could not be loaded or rendered; the message names the
    /// chart, template, line and column as Helm does.
    #[error("{message}")]
    Helm {
        /// Helm's account of the failure.
        message: String,
    },
    /// The application has no source to render.
    #[error("application has no source (spec.source or spec.sources)")]
    NoSource,
    /// A source kind Trellis cannot render yet.
    #[error("{kind} sources are not supported yet (source {repo_url} path {path:?})")]
    Unsupported {
        /// The detected kind.
        kind: SourceKind,
        /// The repository.
        repo_url: String,
        /// The path in it.
        path: String,
    },
}
