//! The Helm renderer: a chart in the source's repository, rendered
//! in-process by `trellis-helm` with the values and defaults Argo CD gives it.

mod env;
mod files;
mod values;

pub use env::{build_env, envsubst};
pub use files::SnapshotFiles;
pub use values::{ValuesContext, user_values};
