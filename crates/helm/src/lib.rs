//! Helm charts rendered the way Helm renders them, without the `helm` binary.
//!
//! This crate holds the parts of Helm that do not execute templates (that is
//! `trellis-template`'s job; values cross the boundary as
//! [`trellis_template::Value`]):
//!
//! - [`yaml`]: YAML read and written byte for byte as Helm's Go libraries do
//!   ([`to_yaml`], [`to_yaml_pretty`], [`from_yaml`]).
//! - [`chart`]: loading charts from directories (with `.helmignore`) and
//!   `.tgz` archives through the [`ChartFiles`] seam ([`load_chart`]).
//! - [`values`] and [`strvals`]: coalescing values as Helm does (subcharts,
//!   globals, conditions, tags, aliases, import-values, `null` deletion) and
//!   the `--set` family.
//! - [`manifests`]: splitting rendered templates into documents, hooks and
//!   Helm's install order, and the exact `helm template` output.
//!
//! - [`render`]: the whole render ([`render_chart`]): Helm's built-in
//!   objects ([`objects`]) and functions, `values.schema.json` validation
//!   ([`schema`]), and `helm template`'s output
//!   ([`RenderOutput::template_output`]).
//!
//! A render is: [`load_chart`] → [`render_chart`] (values coalesced with
//! [`to_render_values`], validated, templates executed, then
//! [`sort_manifests`] and [`template_output`]).
//!
//! Every behaviour here is checked against Helm v4.2.3 itself (see
//! `tests/reference/helm_render.py`).

#![warn(missing_docs)]

mod cache;
pub mod chart;
pub mod files;
mod funcs;
pub mod ignore;
pub mod manifests;
pub mod objects;
pub mod render;
pub mod schema;
pub mod semver;
pub mod yaml;

pub use trellis_template::{Map, Value};
pub use yaml::{
    YamlError, from_yaml, from_yaml_value, marshal_yaml, must_to_yaml, to_yaml, to_yaml_pretty,
};
pub mod strvals;
pub mod values;

pub use chart::{
    Chart, ChartError, ChartFile, Dependency, ImportValue, Metadata, load_archive, load_chart,
};
pub use files::{ChartFiles, Entry, FsChartFiles};
pub use funcs::to_toml;
pub use manifests::{
    Hook, Manifest, ManifestError, crd_objects, release_manifest, sort_manifests, split_manifests,
    template_output,
};
pub use objects::{Capabilities, DEFAULT_API_VERSIONS, DEFAULT_KUBE_VERSION, KubeVersion};
pub use render::{
    HelmError, Limits, Lookup, RenderOutput, RenderRequest, helm_template, render_chart,
    render_on_this_thread,
};
pub use strvals::{SetError, parse_set, parse_set_file};
pub use values::{
    UserValues, ValuesError, coalesce_values, merge_user_values, process_dependencies,
    to_render_values,
};
