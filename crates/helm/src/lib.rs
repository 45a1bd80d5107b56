//! Helm charts rendered the way Helm renders them, without the `helm` binary.
//!
//! This crate holds the parts of Helm that do not execute templates: YAML
//! read and written exactly as Helm's Go libraries do (go-yaml v2 through
//! `sigs.k8s.io/yaml`), chart loading, values coalescing, `--set` parsing and
//! the ordering of rendered manifests. Template execution lives in
//! `trellis-template`; values cross the boundary as [`trellis_template::Value`].

#![warn(missing_docs)]

pub mod chart;
pub mod files;
pub mod ignore;
pub mod manifests;
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
pub use manifests::{
    Hook, Manifest, ManifestError, crd_objects, release_manifest, sort_manifests, split_manifests,
    template_output,
};
pub use strvals::{SetError, parse_set, parse_set_file};
pub use values::{
    ValuesError, coalesce_values, merge_user_values, process_dependencies, to_render_values,
};
