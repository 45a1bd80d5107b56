//! The `Application` resource: what to deploy (one or more sources), where to
//! deploy it (a destination cluster and namespace) and how to keep it in sync.
//!
//! The field names, JSON names and nesting follow Argo CD's
//! `argoproj.io/v1alpha1` `Application` so that existing manifests read
//! unchanged. Optional strings are `Option<String>` so a manifest round-trips
//! with the fields it had; lists, maps and flags default to empty/false and are
//! left out of the output when they are.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::serde_util::{is_false, is_zero, nullable};
use crate::status::{ApplicationStatus, Operation};

/// A set of Kubernetes manifests taken from one or more sources and kept in
/// sync with one destination.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// `trellis.dev/v1alpha1` or `argoproj.io/v1alpha1`, kept as read.
    pub api_version: String,
    /// Always `Application`.
    pub kind: String,
    /// Standard object metadata.
    pub metadata: ObjectMeta,
    /// The desired state.
    pub spec: ApplicationSpec,
    /// The observed state, written by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ApplicationStatus>,
    /// A requested operation (a sync); the controller clears it when done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
}

impl Application {
    /// A new Application in Trellis's group with the given name and spec.
    pub fn new(name: impl Into<String>, spec: ApplicationSpec) -> Self {
        Self {
            api_version: format!("{}/{}", crate::parse::TRELLIS_GROUP, crate::parse::VERSION),
            kind: "Application".to_string(),
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..ObjectMeta::default()
            },
            spec,
            status: None,
            operation: None,
        }
    }

    /// The object name (empty if unset, which validation rejects).
    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }

    /// The object namespace (empty if unset).
    pub fn namespace(&self) -> &str {
        self.metadata.namespace.as_deref().unwrap_or_default()
    }
}

/// The desired state of an application.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSpec {
    /// The single source of manifests; ignored when `sources` is non-empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// Several sources whose manifests are combined; takes precedence over
    /// `source`. A source with `ref` set only lends its files to the others.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub sources: Vec<ApplicationSource>,
    /// The cluster and namespace the manifests are applied to.
    pub destination: ApplicationDestination,
    /// The AppProject this application belongs to; empty means `default`.
    pub project: String,
    /// When and how syncs happen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_policy: Option<SyncPolicy>,
    /// Parts of live resources that are not compared with the desired state.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ignore_differences: Vec<ResourceIgnoreDifferences>,
    /// Free-form name/value pairs shown with the application (links, owners).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub info: Vec<Info>,
    /// How many entries of sync history to keep (10 when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<i64>,
    /// Renders manifests from a "dry" source and commits them to a branch that
    /// is then synced; an alternative to `source`/`sources`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_hydrator: Option<SourceHydrator>,
}

impl ApplicationSpec {
    /// The sources to render: `sources` when non-empty (as Argo CD does), else
    /// `source`, else nothing.
    ///
    /// A source hydrator's sources are not included: they are read from the
    /// hydrator's own fields.
    pub fn all_sources(&self) -> Vec<&ApplicationSource> {
        if !self.sources.is_empty() {
            self.sources.iter().collect()
        } else {
            self.source.iter().collect()
        }
    }

    /// Whether the application uses the multi-source `sources` list.
    pub fn has_multiple_sources(&self) -> bool {
        !self.sources.is_empty()
    }

    /// The project name, with `default` standing in for an empty one.
    pub fn project_or_default(&self) -> &str {
        if self.project.is_empty() {
            "default"
        } else {
            &self.project
        }
    }
}

/// Where an application's manifests come from: a git repository path, or a
/// Helm chart from a chart repository, with tool-specific options.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSource {
    /// URL of the git or Helm repository.
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// Directory within a git repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Git branch, tag or commit, or a Helm chart version (constraint); `HEAD`
    /// when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_revision: Option<String>,
    /// Chart name, for a source that is a Helm chart repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<String>,
    /// Names this source so others in `sources` can use its files as
    /// `$<ref>/path` (for example Helm value files).
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub r#ref: Option<String>,
    /// A display name for the source, used in multi-source applications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Only tags with this prefix are considered when resolving a semver
    /// constraint in `targetRevision`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_prefix: Option<String>,
    /// Helm options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm: Option<ApplicationSourceHelm>,
    /// Kustomize options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<ApplicationSourceKustomize>,
    /// Options for a directory of plain manifests or Jsonnet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<ApplicationSourceDirectory>,
    /// Config management plugin options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<ApplicationSourcePlugin>,
}

/// The tool a source is rendered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ApplicationSourceType {
    /// A Helm chart.
    Helm,
    /// A kustomization.
    Kustomize,
    /// Plain YAML/JSON manifests or Jsonnet.
    Directory,
    /// A config management plugin.
    Plugin,
}

impl ApplicationSource {
    /// The tool named explicitly by the source's option blocks, if exactly one
    /// is set. `None` when none is set (the tool is then detected from the
    /// files); validation rejects more than one.
    pub fn explicit_type(&self) -> Option<ApplicationSourceType> {
        let types = self.explicit_types();
        if types.len() == 1 {
            Some(types[0])
        } else {
            None
        }
    }

    /// Every tool whose option block is set.
    pub fn explicit_types(&self) -> Vec<ApplicationSourceType> {
        let mut out = Vec::new();
        if self.helm.is_some() {
            out.push(ApplicationSourceType::Helm);
        }
        if self.kustomize.is_some() {
            out.push(ApplicationSourceType::Kustomize);
        }
        if self.directory.is_some() {
            out.push(ApplicationSourceType::Directory);
        }
        if self.plugin.is_some() {
            out.push(ApplicationSourceType::Plugin);
        }
        out
    }

    /// Whether the source is a chart from a Helm repository (`chart` set).
    pub fn is_helm_chart(&self) -> bool {
        self.chart.as_deref().is_some_and(|c| !c.is_empty())
    }

    /// Whether the source only provides files to other sources (`ref` set).
    pub fn is_ref(&self) -> bool {
        self.r#ref.as_deref().is_some_and(|r| !r.is_empty())
    }

    /// The target revision, `HEAD` when unset or empty.
    pub fn target_revision_or_head(&self) -> &str {
        match self.target_revision.as_deref() {
            Some(rev) if !rev.is_empty() => rev,
            _ => "HEAD",
        }
    }
}

/// Helm options of a source.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSourceHelm {
    /// Value files, relative to the chart, or `$<ref>/path` into another source.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub value_files: Vec<String>,
    /// `--set` style parameters.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub parameters: Vec<HelmParameter>,
    /// Release name; the application name when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_name: Option<String>,
    /// Values as a YAML string; `valuesObject` wins when both are set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<String>,
    /// Values as a structured object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::crd::preserve_object")]
    pub values_object: Option<serde_json::Map<String, serde_json::Value>>,
    /// `--set-file` style parameters.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub file_parameters: Vec<HelmFileParameter>,
    /// Helm major version to template with (only "3" is meaningful).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Pass repository credentials to every domain (`--pass-credentials`).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub pass_credentials: bool,
    /// Skip value files that do not exist instead of failing.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub ignore_missing_value_files: bool,
    /// Leave out the chart's `crds/` directory (`--skip-crds`).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub skip_crds: bool,
    /// Leave out test hooks (`--skip-tests`).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub skip_tests: bool,
    /// Do not validate values against `values.schema.json`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub skip_schema_validation: bool,
    /// Namespace to template with; the destination namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Kubernetes version reported to the chart; the cluster's when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_version: Option<String>,
    /// API versions reported to the chart (`[group/]version[/kind]`); the
    /// cluster's when empty.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub api_versions: Vec<String>,
}

/// One Helm `--set` parameter.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmParameter {
    /// Dotted value path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The value, parsed like `--set` does unless `forceString`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Keep the value a string (`--set-string`).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub force_string: bool,
}

/// One Helm `--set-file` parameter.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmFileParameter {
    /// Dotted value path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// File whose content becomes the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Kustomize options of a source.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSourceKustomize {
    /// Prefix added to resource names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
    /// Suffix added to resource names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_suffix: Option<String>,
    /// Image overrides, `[old=]name[:tag|@digest]`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub images: Vec<String>,
    /// Labels added to every resource.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub common_labels: BTreeMap<String, String>,
    /// Kustomize version to build with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Annotations added to every resource.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub common_annotations: BTreeMap<String, String>,
    /// Overwrite labels that resources already have.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub force_common_labels: bool,
    /// Overwrite annotations that resources already have.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub force_common_annotations: bool,
    /// Namespace set on every namespaced resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Substitute `${VAR}` from the build environment in annotation values.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub common_annotations_envsubst: bool,
    /// Replica count overrides.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub replicas: Vec<KustomizeReplica>,
    /// Patches added to the kustomization.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub patches: Vec<KustomizePatch>,
    /// Components added to the kustomization.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub components: Vec<String>,
    /// Skip components that do not exist instead of failing.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub ignore_missing_components: bool,
    /// Apply `commonLabels` without adding them to selectors.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub label_without_selector: bool,
    /// Also apply `commonLabels` to pod templates (with `labelWithoutSelector`).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub label_include_templates: bool,
    /// Kubernetes version passed to Helm charts inflated by kustomize.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_version: Option<String>,
    /// API versions passed to Helm charts inflated by kustomize.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub api_versions: Vec<String>,
}

/// A replica count override for a Deployment or StatefulSet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KustomizeReplica {
    /// Name of the workload.
    pub name: String,
    /// Replica count; a string must hold an integer.
    pub count: IntOrString,
}

/// A patch added to a kustomization.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KustomizePatch {
    /// File holding the patch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The patch itself (strategic merge or JSON 6902).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    /// Resources the patch applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<KustomizeSelector>,
    /// Patch options such as `allowNameChange`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub options: BTreeMap<String, bool>,
}

/// Selects the resources a kustomize patch applies to.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KustomizeSelector {
    /// API group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name (a regular expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace (a regular expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Annotation selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation_selector: Option<String>,
    /// Label selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
}

/// Options for a directory of plain manifests or Jsonnet.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSourceDirectory {
    /// Read subdirectories too.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub recurse: bool,
    /// Jsonnet options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jsonnet: Option<ApplicationSourceJsonnet>,
    /// Glob of paths to leave out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<String>,
    /// Glob of paths to read; everything when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<String>,
    /// Read files whatever their extension, not only YAML/JSON/Jsonnet.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub disable_extension_filter: bool,
}

/// Jsonnet options of a directory source.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSourceJsonnet {
    /// External variables (`--ext-str` / `--ext-code`).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ext_vars: Vec<JsonnetVar>,
    /// Top-level arguments (`--tla-str` / `--tla-code`).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tlas: Vec<JsonnetVar>,
    /// Extra library search directories.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub libs: Vec<String>,
}

/// A Jsonnet external variable or top-level argument.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JsonnetVar {
    /// Variable name.
    pub name: String,
    /// Value: a string, or Jsonnet code when `code` is true.
    pub value: String,
    /// Evaluate `value` as Jsonnet code.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub code: bool,
}

/// Config management plugin options of a source.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSourcePlugin {
    /// Plugin name; discovered from the files when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Environment passed to the plugin.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub env: Vec<EnvEntry>,
    /// Parameters passed to the plugin.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub parameters: Vec<ApplicationSourcePluginParameter>,
}

/// An environment variable for a plugin.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvEntry {
    /// Variable name.
    pub name: String,
    /// Variable value.
    pub value: String,
}

/// A plugin parameter: a string, a map or a list of strings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSourcePluginParameter {
    /// Parameter name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A string value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string: Option<String>,
    /// A map value; present-but-empty differs from absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map: Option<BTreeMap<String, String>>,
    /// A list value; present-but-empty differs from absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub array: Option<Vec<String>>,
}

/// The cluster and namespace an application deploys to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationDestination {
    /// API server URL of the cluster; exactly one of `server` and `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Namespace for namespaced resources that do not name their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Registered name of the cluster; exactly one of `server` and `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// When and how an application is synced.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncPolicy {
    /// Sync automatically when the desired state changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<SyncPolicyAutomated>,
    /// Options such as `CreateNamespace=true` or `ServerSideApply=true`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub sync_options: Vec<String>,
    /// Retrying of failed syncs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryStrategy>,
    /// Labels and annotations for the namespace created by `CreateNamespace=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_namespace_metadata: Option<ManagedNamespaceMetadata>,
}

impl SyncPolicy {
    /// Whether automated sync is on: `automated` is present and not
    /// explicitly disabled with `enabled: false`.
    pub fn is_automated(&self) -> bool {
        self.automated
            .as_ref()
            .is_some_and(|a| a.enabled != Some(false))
    }

    /// The value of a `Key=value` sync option, if set.
    pub fn option(&self, key: &str) -> Option<&str> {
        self.sync_options.iter().find_map(|o| {
            let (k, v) = o.split_once('=')?;
            (k.trim() == key).then_some(v.trim())
        })
    }
}

/// Automated sync settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncPolicyAutomated {
    /// Delete live resources that are no longer in the desired state.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub prune: bool,
    /// Revert changes made to live resources outside of git.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub self_heal: bool,
    /// Allow a sync (and prune) to an empty set of resources.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub allow_empty: bool,
    /// Turns automated sync off while keeping its settings; on when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// How failed syncs are retried.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryStrategy {
    /// Maximum number of retries; 0 means none, a negative number no limit.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero"
    )]
    pub limit: i64,
    /// Delay between retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
    /// Retry against the latest revision instead of the one that failed.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub refresh: bool,
}

/// Exponential backoff between sync retries.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Backoff {
    /// First delay: a Go duration (`5s`, `3m`) or a number of seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Multiplier applied to the delay after each retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<i64>,
    /// Upper bound of the delay, in the same format as `duration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<String>,
}

/// Labels and annotations applied to a namespace the sync creates.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedNamespaceMetadata {
    /// Labels.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
}

/// Selects resources and the fields of them to leave out of comparison.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceIgnoreDifferences {
    /// API group; empty for the core group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind.
    pub kind: String,
    /// Resource name; all names when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Resource namespace; all namespaces when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// RFC 6901 JSON pointers to ignore.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub json_pointers: Vec<String>,
    /// jq path expressions to ignore.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub jq_path_expressions: Vec<String>,
    /// Field managers whose changes are ignored.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub managed_fields_managers: Vec<String>,
}

/// A name/value pair of information about an application.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Info {
    /// Title.
    pub name: String,
    /// Content (text or URL).
    pub value: String,
}

/// Renders from a "dry" source, commits the result to a branch and syncs
/// from that branch.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceHydrator {
    /// Where the unrendered manifests live.
    pub dry_source: DrySource,
    /// Where rendered manifests are committed and synced from.
    pub sync_source: SyncSource,
    /// An optional staging branch to push rendered manifests to first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hydrate_to: Option<HydrateTo>,
}

/// The unrendered source of a source hydrator.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DrySource {
    /// Git repository URL.
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// Revision to render.
    pub target_revision: String,
    /// Directory within the repository.
    pub path: String,
    /// Helm options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm: Option<ApplicationSourceHelm>,
    /// Kustomize options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<ApplicationSourceKustomize>,
    /// Directory options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<ApplicationSourceDirectory>,
    /// Plugin options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<ApplicationSourcePlugin>,
}

/// Where a source hydrator commits rendered manifests and syncs from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncSource {
    /// Branch receiving rendered manifests.
    pub target_branch: String,
    /// Directory within the branch.
    pub path: String,
    /// Repository; the dry source's when unset.
    #[serde(default, rename = "repoURL", skip_serializing_if = "Option::is_none")]
    pub repo_url: Option<String>,
}

/// A staging branch for rendered manifests.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HydrateTo {
    /// Branch receiving rendered manifests.
    pub target_branch: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(url: &str) -> ApplicationSource {
        ApplicationSource {
            repo_url: url.to_string(),
            ..ApplicationSource::default()
        }
    }

    #[test]
    fn sources_take_precedence_over_source() {
        let mut spec = ApplicationSpec {
            source: Some(source("https://single")),
            ..ApplicationSpec::default()
        };
        assert_eq!(spec.all_sources(), vec![&source("https://single")]);
        assert!(!spec.has_multiple_sources());
        spec.sources = vec![source("https://a"), source("https://b")];
        let urls: Vec<&str> = spec
            .all_sources()
            .iter()
            .map(|s| s.repo_url.as_str())
            .collect();
        assert_eq!(urls, ["https://a", "https://b"]);
        spec.source = None;
        spec.sources.clear();
        assert!(spec.all_sources().is_empty());
        assert_eq!(spec.project_or_default(), "default");
    }

    #[test]
    fn automated_sync_can_be_disabled_explicitly() {
        let mut policy = SyncPolicy {
            automated: Some(SyncPolicyAutomated::default()),
            sync_options: vec!["CreateNamespace=true".into(), "Prune = false".into()],
            ..SyncPolicy::default()
        };
        assert!(policy.is_automated());
        assert_eq!(policy.option("Prune"), Some("false"));
        assert_eq!(policy.option("Replace"), None);
        if let Some(a) = policy.automated.as_mut() {
            a.enabled = Some(false);
        }
        assert!(!policy.is_automated());
        assert!(!SyncPolicy::default().is_automated());
    }

    #[test]
    fn source_types_and_revisions() {
        let mut s = source("https://charts");
        assert_eq!(s.explicit_type(), None);
        assert_eq!(s.target_revision_or_head(), "HEAD");
        s.helm = Some(ApplicationSourceHelm::default());
        s.chart = Some("nginx".into());
        s.target_revision = Some("1.2.3".into());
        assert_eq!(s.explicit_type(), Some(ApplicationSourceType::Helm));
        assert!(s.is_helm_chart());
        assert_eq!(s.target_revision_or_head(), "1.2.3");
        s.directory = Some(ApplicationSourceDirectory::default());
        assert_eq!(s.explicit_type(), None);
        assert_eq!(s.explicit_types().len(), 2);
    }

    #[test]
    fn new_application_is_in_the_trellis_group() {
        let app = Application::new("web", ApplicationSpec::default());
        assert_eq!(app.api_version, "trellis.dev/v1alpha1");
        assert_eq!(app.name(), "web");
        assert_eq!(app.namespace(), "");
    }
}
