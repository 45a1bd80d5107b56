//! ApplicationSets: generators produce parameter sets, the template turns
//! each into an Application.
//!
//! Two entry points:
//!
//! - [`generate`]: the Applications a set stands for, as complete objects
//!   (pure but for reading git through [`trellis_source::Sources`]); what a
//!   preview or a dry run shows.
//! - [`reconcile`]: makes a cluster's Applications match a set (create,
//!   update, delete as its sync policy allows) and records the result in the
//!   set's status. A failing generation never changes or deletes anything.
//!
//! Semantics follow Argo CD's ApplicationSet controller, for sets of both API
//! groups (`argoproj.io/v1alpha1`, `trellis.dev/v1alpha1`; generated
//! Applications take their set's group):
//!
//! - generators `list` (`elements`, `elementsYaml`), `git` (`directories`
//!   with `exclude`, `files` in JSON or YAML, one parameter set per file or
//!   per element of a file holding a list; `values`; `pathParamPrefix`),
//!   `matrix` and `merge`, each with an optional `selector`;
//! - templates: fasttemplate `{{param}}` substitution (unknown parameters
//!   left as written), or Go `text/template` with Sprig and Argo CD's extra
//!   functions (`normalize`, `slugify`, `toYaml`, `fromYaml`,
//!   `fromYamlArray`) with `goTemplate: true` and `goTemplateOptions`; a
//!   generator's own `template` merged over the set's; `templatePatch`.
//!
//! ```no_run
//! # async fn demo(cluster: &trellis_kube::Cluster, set: &serde_json::Value) -> Result<(), Box<dyn std::error::Error>> {
//! use trellis_source::{SourceConfig, Sources};
//! let sources = Sources::new(SourceConfig::new("/var/cache/trellis"))?;
//! let outcome = trellis_appset::reconcile(cluster, set, &sources).await?;
//! println!("created {:?}, deleted {:?}", outcome.created, outcome.deleted);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod error;
mod fasttemplate;
mod generate;
mod generators;
mod glob;
mod params;
mod reconcile;
mod render;
mod status;

pub use error::AppSetError;
pub use generate::{RESOURCES_FINALIZER, generate};
pub use generators::GeneratorError;
pub use glob::BadPattern;
pub use reconcile::{FIELD_MANAGER, Outcome, reconcile};
pub use render::RenderError;
