//! The `ApplicationSet` resource: generators produce parameter sets, and a
//! template turns each set into an `Application`.
//!
//! The generators Trellis runs itself (list, clusters, git, matrix, merge) are
//! typed fully. The ones that call out to hosted services (SCM providers, pull
//! requests, cluster decision resources, plugins) are typed with their fields
//! so manifests validate and round-trip. Matrix and merge generators nested
//! inside another matrix or merge are kept as free-form JSON, as Argo CD's own
//! schema does (a CRD schema cannot be recursive); [`ApplicationSetNestedGenerator::nested_matrix`]
//! and [`ApplicationSetNestedGenerator::nested_merge`] decode them.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::application::ApplicationSpec;
use crate::serde_util::{is_false, is_zero, nullable};
use crate::status::{HealthStatus, ResourceStatus};

/// Generates Applications from a template and parameter generators.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSet {
    /// `trellis.dev/v1alpha1` or `argoproj.io/v1alpha1`, kept as read.
    pub api_version: String,
    /// Always `ApplicationSet`.
    pub kind: String,
    /// Standard object metadata.
    pub metadata: ObjectMeta,
    /// Generators and template.
    pub spec: ApplicationSetSpec,
    /// Observed state, written by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ApplicationSetStatus>,
}

/// Generators, template and policies of an ApplicationSet.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetSpec {
    /// Render the template with Go templates instead of `{{param}}` substitution.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub go_template: bool,
    /// Parameter generators; each yields a list of parameter sets.
    #[serde(deserialize_with = "nullable")]
    pub generators: Vec<ApplicationSetGenerator>,
    /// The Application template.
    pub template: ApplicationSetTemplate,
    /// How generated Applications are created, updated and deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_policy: Option<ApplicationSetSyncPolicy>,
    /// Order in which generated Applications are updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<ApplicationSetStrategy>,
    /// Labels and annotations of generated Applications left as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserved_fields: Option<ApplicationPreservedFields>,
    /// Go template options, such as `missingkey=error`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub go_template_options: Vec<String>,
    /// Apply `selector`s of generators nested two levels deep.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub apply_nested_selectors: bool,
    /// Parts of generated Applications that are not overwritten.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ignore_application_differences: Vec<ApplicationSetResourceIgnoreDifferences>,
    /// A templated strategic-merge patch applied to each generated Application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_patch: Option<String>,
}

/// Labels and annotations preserved on generated Applications.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationPreservedFields {
    /// Annotation keys.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub annotations: Vec<String>,
    /// Label keys.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub labels: Vec<String>,
}

/// How generated Applications are rolled out.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetStrategy {
    /// `AllAtOnce` (the default) or `RollingSync`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Steps of a `RollingSync`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_sync: Option<ApplicationSetRolloutStrategy>,
    /// `AllAtOnce` (the default) or `Reverse` (reverse rollout order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_order: Option<String>,
}

/// Steps of a rolling sync.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetRolloutStrategy {
    /// The steps, in order.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub steps: Vec<ApplicationSetRolloutStep>,
}

/// One step of a rolling sync: the Applications whose labels match.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetRolloutStep {
    /// Label requirements selecting the step's Applications.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub match_expressions: Vec<ApplicationMatchExpression>,
    /// How many (or what percentage) may sync at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_update: Option<IntOrString>,
}

/// A label requirement.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationMatchExpression {
    /// Label key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// `In` or `NotIn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// Values.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub values: Vec<String>,
}

/// What the controller may do to generated Applications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ApplicationsSyncPolicy {
    /// Create only; never update or delete.
    #[serde(rename = "create-only")]
    CreateOnly,
    /// Create and update; never delete.
    #[serde(rename = "create-update")]
    CreateUpdate,
    /// Create and delete; never update.
    #[serde(rename = "create-delete")]
    CreateDelete,
    /// Create, update and delete (the default).
    #[serde(rename = "sync")]
    Sync,
}

/// How generated Applications relate to their ApplicationSet.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetSyncPolicy {
    /// Keep generated Applications when the ApplicationSet is deleted.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub preserve_resources_on_deletion: bool,
    /// What the controller may do to generated Applications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applications_sync: Option<ApplicationsSyncPolicy>,
}

/// Fields of generated Applications the controller does not overwrite.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetResourceIgnoreDifferences {
    /// Application name; all when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// JSON pointers.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub json_pointers: Vec<String>,
    /// jq path expressions.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub jq_path_expressions: Vec<String>,
}

/// The template of generated Applications.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetTemplate {
    /// Metadata of generated Applications.
    pub metadata: ApplicationSetTemplateMeta,
    /// Spec of generated Applications.
    pub spec: ApplicationSpec,
}

/// The metadata a template may set.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetTemplateMeta {
    /// Name (usually templated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
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
    /// Finalizers.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub finalizers: Vec<String>,
}

/// A top-level generator: exactly one of the generator fields is normally set.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetGenerator {
    /// Fixed parameter sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<ListGenerator>,
    /// One parameter set per registered cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<ClusterGenerator>,
    /// Parameter sets from directories or files in a git repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitGenerator>,
    /// Repositories found at an SCM provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scm_provider: Option<ScmProviderGenerator>,
    /// Clusters listed by a custom resource's status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_decision_resource: Option<DuckTypeGenerator>,
    /// Open pull requests of a repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<PullRequestGenerator>,
    /// Cartesian product of two generators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix: Option<MatrixGenerator>,
    /// Parameter sets of several generators merged by keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<MergeGenerator>,
    /// Keeps only parameter sets whose values match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Parameter sets returned by an HTTP plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<PluginGenerator>,
}

/// A generator inside a matrix or merge generator.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetNestedGenerator {
    /// Fixed parameter sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<ListGenerator>,
    /// One parameter set per registered cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<ClusterGenerator>,
    /// Parameter sets from a git repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitGenerator>,
    /// Repositories found at an SCM provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scm_provider: Option<ScmProviderGenerator>,
    /// Clusters listed by a custom resource's status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_decision_resource: Option<DuckTypeGenerator>,
    /// Open pull requests of a repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<PullRequestGenerator>,
    /// A nested matrix generator, kept as free-form JSON (decoded by `nested_matrix`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix: Option<serde_json::Value>,
    /// A nested merge generator, kept as free-form JSON (decoded by `nested_merge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<serde_json::Value>,
    /// Keeps only parameter sets whose values match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Parameter sets returned by an HTTP plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<PluginGenerator>,
}

impl ApplicationSetNestedGenerator {
    /// Decodes the nested matrix generator, if there is one.
    pub fn nested_matrix(&self) -> Option<Result<NestedMatrixGenerator, serde_json::Error>> {
        self.matrix
            .as_ref()
            .map(|v| serde_json::from_value(v.clone()))
    }

    /// Decodes the nested merge generator, if there is one.
    pub fn nested_merge(&self) -> Option<Result<NestedMergeGenerator, serde_json::Error>> {
        self.merge
            .as_ref()
            .map(|v| serde_json::from_value(v.clone()))
    }
}

/// A generator at the innermost level, which cannot combine others.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetTerminalGenerator {
    /// Fixed parameter sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<ListGenerator>,
    /// One parameter set per registered cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<ClusterGenerator>,
    /// Parameter sets from a git repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitGenerator>,
    /// Repositories found at an SCM provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scm_provider: Option<ScmProviderGenerator>,
    /// Clusters listed by a custom resource's status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_decision_resource: Option<DuckTypeGenerator>,
    /// Open pull requests of a repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<PullRequestGenerator>,
    /// Parameter sets returned by an HTTP plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<PluginGenerator>,
    /// Keeps only parameter sets whose values match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

/// A matrix generator nested in another matrix or merge generator.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NestedMatrixGenerator {
    /// The two generators to combine.
    #[serde(deserialize_with = "nullable")]
    pub generators: Vec<ApplicationSetTerminalGenerator>,
}

/// A merge generator nested in another matrix or merge generator.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NestedMergeGenerator {
    /// The generators to merge; the first is the base.
    #[serde(deserialize_with = "nullable")]
    pub generators: Vec<ApplicationSetTerminalGenerator>,
    /// Parameters whose values must be equal for sets to merge.
    #[serde(deserialize_with = "nullable")]
    pub merge_keys: Vec<String>,
}

/// Fixed parameter sets.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListGenerator {
    /// The parameter sets; each is any JSON object.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    #[schemars(schema_with = "crate::crd::preserve_list")]
    pub elements: Vec<serde_json::Value>,
    /// Template override for this generator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ApplicationSetTemplate>,
    /// The parameter sets as a (usually templated) YAML list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elements_yaml: Option<String>,
}

/// One parameter set per registered cluster whose labels match.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterGenerator {
    /// Label selector over cluster registrations; all when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Template override for this generator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ApplicationSetTemplate>,
    /// Extra parameters, available as `values.<key>`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub values: BTreeMap<String, String>,
    /// Yield a single parameter set listing all clusters.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub flat_list: bool,
}

/// Clusters listed in the status of a custom resource.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DuckTypeGenerator {
    /// ConfigMap describing the resource kind and where its cluster list is.
    pub config_map_ref: String,
    /// Name of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Seconds between re-reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requeue_after_seconds: Option<i64>,
    /// Label selector over resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<LabelSelector>,
    /// Template override for this generator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ApplicationSetTemplate>,
    /// Extra parameters, available as `values.<key>`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub values: BTreeMap<String, String>,
}

/// Parameter sets from directories or files in a git repository.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitGenerator {
    /// Repository URL.
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// Directory globs; one parameter set per matching directory.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub directories: Vec<GitDirectoryGeneratorItem>,
    /// File globs; parameter sets read from each matching JSON/YAML file.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub files: Vec<GitFileGeneratorItem>,
    /// Branch, tag or commit.
    pub revision: String,
    /// Seconds between polls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requeue_after_seconds: Option<i64>,
    /// Template override for this generator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ApplicationSetTemplate>,
    /// Prefix for the `path` parameters, to tell generators apart in a matrix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_param_prefix: Option<String>,
    /// Extra parameters, available as `values.<key>`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub values: BTreeMap<String, String>,
}

/// A directory glob of a git generator.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitDirectoryGeneratorItem {
    /// Glob of directories.
    pub path: String,
    /// Remove matching directories instead of adding them.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub exclude: bool,
}

/// A file glob of a git generator.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitFileGeneratorItem {
    /// Glob of files.
    pub path: String,
    /// Remove matching files instead of adding them.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub exclude: bool,
}

/// The cartesian product of two generators' parameter sets.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MatrixGenerator {
    /// The two generators.
    #[serde(deserialize_with = "nullable")]
    pub generators: Vec<ApplicationSetNestedGenerator>,
    /// Template override for this generator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ApplicationSetTemplate>,
}

/// Parameter sets of several generators merged where their keys agree.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MergeGenerator {
    /// The generators; the first is the base.
    #[serde(deserialize_with = "nullable")]
    pub generators: Vec<ApplicationSetNestedGenerator>,
    /// Parameters whose values must be equal for sets to merge.
    #[serde(deserialize_with = "nullable")]
    pub merge_keys: Vec<String>,
    /// Template override for this generator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ApplicationSetTemplate>,
}

/// A key in a Secret.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretRef {
    /// Secret name.
    pub secret_name: String,
    /// Key in the Secret.
    pub key: String,
}

/// A key in a ConfigMap.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapKeyRef {
    /// ConfigMap name.
    pub config_map_name: String,
    /// Key in the ConfigMap.
    pub key: String,
}

/// Repositories found at an SCM provider.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScmProviderGenerator {
    /// GitHub organization to scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github: Option<ScmProviderGithub>,
    /// GitLab group to scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gitlab: Option<ScmProviderGitlab>,
    /// Bitbucket Cloud workspace to scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitbucket: Option<ScmProviderBitbucket>,
    /// Bitbucket Server project to scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitbucket_server: Option<ScmProviderBitbucketServer>,
    /// Gitea owner to scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gitea: Option<ScmProviderGitea>,
    /// Azure DevOps project to scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_dev_ops: Option<ScmProviderAzureDevOps>,
    /// AWS CodeCommit repositories to scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_code_commit: Option<ScmProviderAwsCodeCommit>,
    /// Repository filters; a repository passes if any filter passes.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub filters: Vec<ScmProviderGeneratorFilter>,
    /// `https` or `ssh` clone URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clone_protocol: Option<String>,
    /// Seconds between polls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requeue_after_seconds: Option<i64>,
    /// Template override for this generator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ApplicationSetTemplate>,
    /// Extra parameters, available as `values.<key>`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub values: BTreeMap<String, String>,
}

/// GitHub settings of an SCM provider generator.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScmProviderGithub {
    /// Organization.
    pub organization: String,
    /// API URL; github.com's when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ref: Option<SecretRef>,
    /// Secret of a GitHub App to authenticate as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_secret_name: Option<String>,
    /// Every branch instead of the default branch only.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub all_branches: bool,
    /// Leave archived repositories out.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub exclude_archived_repos: bool,
}

/// GitLab settings of an SCM provider generator.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScmProviderGitlab {
    /// Group ID or path.
    pub group: String,
    /// Include subgroups.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub include_subgroups: bool,
    /// API URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ref: Option<SecretRef>,
    /// Every branch instead of the default branch only.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub all_branches: bool,
    /// Skip TLS verification.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub insecure: bool,
    /// Include projects shared into the group (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_shared_projects: Option<bool>,
    /// Only projects with this topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Trusted CA certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_ref: Option<ConfigMapKeyRef>,
    /// Include archived projects.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub include_archived_repos: bool,
}

/// Bitbucket Cloud settings of an SCM provider generator.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScmProviderBitbucket {
    /// Workspace.
    pub owner: String,
    /// User to authenticate as.
    pub user: String,
    /// App password.
    pub app_password_ref: SecretRef,
    /// Every branch instead of the main branch only.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub all_branches: bool,
}

/// Bitbucket Server settings of an SCM provider generator.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScmProviderBitbucketServer {
    /// Project key.
    pub project: String,
    /// REST API URL.
    pub api: String,
    /// Basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuthBitbucketServer>,
    /// Every branch instead of the default branch only.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub all_branches: bool,
    /// Bearer token authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<BearerTokenBitbucket>,
    /// Skip TLS verification.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub insecure: bool,
    /// Trusted CA certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_ref: Option<ConfigMapKeyRef>,
}

/// Gitea settings of an SCM provider generator.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScmProviderGitea {
    /// Organization or user.
    pub owner: String,
    /// API URL.
    pub api: String,
    /// Token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ref: Option<SecretRef>,
    /// Every branch instead of the default branch only.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub all_branches: bool,
    /// Skip TLS verification.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub insecure: bool,
    /// Leave archived repositories out.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub exclude_archived_repos: bool,
}

/// Azure DevOps settings of an SCM provider generator.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScmProviderAzureDevOps {
    /// Organization.
    pub organization: String,
    /// API URL; dev.azure.com when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Team project.
    pub team_project: String,
    /// Personal access token.
    pub access_token_ref: SecretRef,
    /// Every branch instead of the default branch only.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub all_branches: bool,
}

/// AWS CodeCommit settings of an SCM provider generator.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScmProviderAwsCodeCommit {
    /// Repository tag filters.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tag_filters: Vec<TagFilter>,
    /// IAM role to assume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Every branch instead of the default branch only.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub all_branches: bool,
}

/// A repository tag filter.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TagFilter {
    /// Tag key.
    pub key: String,
    /// Tag value; any when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A repository filter; all set conditions must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScmProviderGeneratorFilter {
    /// Regular expression over repository names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_match: Option<String>,
    /// Paths that must all exist.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub paths_exist: Vec<String>,
    /// Paths that must all be absent.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub paths_do_not_exist: Vec<String>,
    /// Regular expression that at least one label must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_match: Option<String>,
    /// Regular expression over branch names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch_match: Option<String>,
}

/// Open pull requests of a repository.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PullRequestGenerator {
    /// GitHub repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github: Option<PullRequestGithub>,
    /// GitLab project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gitlab: Option<PullRequestGitlab>,
    /// Gitea repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gitea: Option<PullRequestGitea>,
    /// Bitbucket Server repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitbucket_server: Option<PullRequestBitbucketServer>,
    /// Pull request filters.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub filters: Vec<PullRequestGeneratorFilter>,
    /// Seconds between polls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requeue_after_seconds: Option<i64>,
    /// Template override for this generator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ApplicationSetTemplate>,
    /// Bitbucket Cloud repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitbucket: Option<PullRequestBitbucket>,
    /// Azure DevOps repository.
    #[serde(
        default,
        rename = "azuredevops",
        skip_serializing_if = "Option::is_none"
    )]
    pub azure_dev_ops: Option<PullRequestAzureDevOps>,
    /// Yield nothing instead of failing when the repository does not exist.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub continue_on_repo_not_found_error: bool,
    /// Extra parameters, available as `values.<key>`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub values: BTreeMap<String, String>,
}

/// GitHub settings of a pull request generator.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PullRequestGithub {
    /// Owner.
    pub owner: String,
    /// Repository.
    pub repo: String,
    /// API URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ref: Option<SecretRef>,
    /// Secret of a GitHub App to authenticate as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_secret_name: Option<String>,
    /// Only pull requests with all these labels.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub labels: Vec<String>,
}

/// GitLab settings of a pull request generator.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PullRequestGitlab {
    /// Project ID or path.
    pub project: String,
    /// API URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ref: Option<SecretRef>,
    /// Only merge requests with all these labels.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub labels: Vec<String>,
    /// Only merge requests in this state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request_state: Option<String>,
    /// Skip TLS verification.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub insecure: bool,
    /// Trusted CA certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_ref: Option<ConfigMapKeyRef>,
}

/// Gitea settings of a pull request generator.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PullRequestGitea {
    /// Owner.
    pub owner: String,
    /// Repository.
    pub repo: String,
    /// API URL.
    pub api: String,
    /// Token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ref: Option<SecretRef>,
    /// Skip TLS verification.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub insecure: bool,
    /// Only pull requests with all these labels.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub labels: Vec<String>,
}

/// Bitbucket Server settings of a pull request generator.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PullRequestBitbucketServer {
    /// Project key.
    pub project: String,
    /// Repository.
    pub repo: String,
    /// REST API URL.
    pub api: String,
    /// Basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuthBitbucketServer>,
    /// Bearer token authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<BearerTokenBitbucket>,
    /// Skip TLS verification.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub insecure: bool,
    /// Trusted CA certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_ref: Option<ConfigMapKeyRef>,
}

/// Bitbucket Cloud settings of a pull request generator.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PullRequestBitbucket {
    /// Workspace.
    pub owner: String,
    /// Repository.
    pub repo: String,
    /// API URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuthBitbucketServer>,
    /// Bearer token authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<BearerTokenBitbucket>,
}

/// Azure DevOps settings of a pull request generator.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PullRequestAzureDevOps {
    /// Organization.
    pub organization: String,
    /// Project.
    pub project: String,
    /// Repository.
    pub repo: String,
    /// API URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ref: Option<SecretRef>,
    /// Only pull requests with all these labels.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub labels: Vec<String>,
}

/// Bearer token authentication for Bitbucket.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BearerTokenBitbucket {
    /// The token.
    pub token_ref: SecretRef,
}

/// Basic authentication for Bitbucket.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BasicAuthBitbucketServer {
    /// User name.
    pub username: String,
    /// Password or personal access token.
    pub password_ref: SecretRef,
}

/// A pull request filter; all set conditions must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PullRequestGeneratorFilter {
    /// Regular expression over source branch names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch_match: Option<String>,
    /// Regular expression over target branch names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_branch_match: Option<String>,
    /// Regular expression over titles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_match: Option<String>,
}

/// Parameter sets returned by an HTTP plugin service.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginGenerator {
    /// ConfigMap with the plugin's URL and token.
    pub config_map_ref: PluginConfigMapRef,
    /// Input sent to the plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<PluginInput>,
    /// Seconds between calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requeue_after_seconds: Option<i64>,
    /// Template override for this generator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ApplicationSetTemplate>,
    /// Extra parameters, available as `values.<key>`; not sent to the plugin.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub values: BTreeMap<String, String>,
}

/// Reference to a plugin's ConfigMap.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginConfigMapRef {
    /// ConfigMap name.
    pub name: String,
}

/// Input sent to a plugin.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginInput {
    /// Parameters; values may be any JSON.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub parameters: BTreeMap<String, serde_json::Value>,
}

/// Observed state of an ApplicationSet.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetStatus {
    /// Conditions.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub conditions: Vec<ApplicationSetCondition>,
    /// Rollout state of each generated Application.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub application_status: Vec<ApplicationSetApplicationStatus>,
    /// The generated Applications.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub resources: Vec<ResourceStatus>,
    /// Number of generated Applications.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero"
    )]
    pub resources_count: i64,
    /// Aggregated health of the generated Applications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthStatus>,
}

/// A condition of an ApplicationSet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetCondition {
    /// Condition type, such as `ErrorOccurred` or `ResourcesUpToDate`.
    #[serde(rename = "type")]
    pub type_: String,
    /// What happened.
    pub message: String,
    /// When the condition last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// One CamelCase word giving the reason.
    pub reason: String,
}

/// Rollout state of one generated Application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetApplicationStatus {
    /// Application name.
    pub application: String,
    /// When the state last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// Details.
    pub message: String,
    /// `Waiting`, `Pending`, `Progressing` or `Healthy`.
    pub status: String,
    /// Rollout step the Application belongs to.
    pub step: String,
    /// Revisions the Application should sync to.
    #[serde(deserialize_with = "nullable")]
    pub target_revisions: Vec<String>,
}
