//! Git sources for Trellis: repositories fetched into a cache directory, revisions resolved to
//! commits, and read-only [`Snapshot`]s of a commit's tree shared by every application that
//! renders from it.
//!
//! The split of work: the git command-line program does the network operations (`ls-remote`,
//! `fetch`), because its transports, proxies, credential and ssh handling are what users already
//! have configured; gix, without any network features, reads commits, trees and files straight
//! from the cached object database, so a render needs no worktree checkout and takes no lock.
//!
//! ```no_run
//! use trellis_source::{SourceConfig, Sources};
//!
//! # fn main() -> Result<(), trellis_source::SourceError> {
//! let sources = Sources::new(SourceConfig::from_env("/var/cache/trellis"))?;
//! let snapshot = sources.snapshot("https://github.com/acme/infra.git", "main")?;
//! let manifest = snapshot.read_file("apps/web/deployment.yaml")?;
//! # let _ = manifest;
//! # Ok(()) }
//! ```
//!
//! # Layout of the cache
//!
//! `<cache_dir>/repos/<16 hex digits of sha256(normalized URL)>-<last URL segment>/` is a bare
//! repository mirroring the remote's branches and tags; `<same name>.lock` beside it serializes
//! fetches across threads and processes (it sits beside the repository so that creating the
//! repository is serialized too). Readers never lock: git writes objects before it moves refs,
//! and objects never change.
//!
//! # Paths
//!
//! - An absolute path is rejected with [`SourceError::PathEscape`], like a `..` above the root,
//!   rather than read relative to the root; a caller that accepts `/`-prefixed application paths
//!   strips the slash before asking.
//! - A location that is a plain directory (no repository at its root) is read from disk as a
//!   snapshot without a commit, so a folder of a checkout can be rendered without committing.
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod cache;
mod config;
mod error;
mod git_cli;
mod repo_map;
mod snapshot;
mod sources;
mod url;

pub use config::{
    ENV_PASSWORD, ENV_SSH_KEY_FILE, ENV_USERNAME, Observer, RepoCredentials, SourceConfig,
    SourceEvent, Stats,
};
pub use error::{BoxError, Result, SourceError};
pub use repo_map::RepoMap;
pub use snapshot::{DirEntry, EntryKind, Snapshot};
pub use sources::Sources;
pub use url::{is_remote_url, normalize_url, redact};
