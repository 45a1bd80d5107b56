//! The observed state of an `Application` and the sync operation record.
//!
//! These are written by the controller, so plain `String`s with Go-style
//! "empty means absent" are used where Argo CD has them; status codes that
//! Trellis itself decides on are enums.
//!
//! # Deviation
//! Argo CD's schema types sync, health, phase and result codes as free
//! strings; here they are enums (and the CRD lists their values), so a
//! misspelt code is rejected instead of stored.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::application::{
    ApplicationDestination, ApplicationSource, ApplicationSourceType, Info,
    ManagedNamespaceMetadata, ResourceIgnoreDifferences, RetryStrategy, SourceHydrator,
};
use crate::serde_util::{is_default, is_false, is_zero, nullable};

/// The observed state of an application.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationStatus {
    /// The resources the application manages, with their sync and health.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub resources: Vec<ResourceStatus>,
    /// Result of the last comparison of desired and live state.
    #[serde(default, skip_serializing_if = "is_default")]
    pub sync: SyncStatus,
    /// Aggregated health of the managed resources.
    #[serde(default, skip_serializing_if = "is_default")]
    pub health: HealthStatus,
    /// Past syncs, oldest first.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub history: Vec<RevisionHistory>,
    /// Current errors and warnings.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub conditions: Vec<ApplicationCondition>,
    /// When the desired state was last compared against the latest revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconciled_at: Option<Time>,
    /// State of the current or last operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_state: Option<OperationState>,
    /// Deprecated: when the state was last observed without a git refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_at: Option<Time>,
    /// Tool of a single-source application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type: Option<ApplicationSourceType>,
    /// Tool of each source of a multi-source application.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub source_types: Vec<ApplicationSourceType>,
    /// URLs and images found in the managed resources.
    #[serde(default, skip_serializing_if = "is_default")]
    pub summary: ApplicationSummary,
    /// Where resource health is kept: inline (empty) or `appTree`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_health_source: String,
    /// Namespace of the controller that reconciles the application.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub controller_namespace: String,
    /// State of source hydration.
    #[serde(default, skip_serializing_if = "is_default")]
    pub source_hydrator: SourceHydratorStatus,
}

/// Whether live state matches desired state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
pub enum SyncStatusCode {
    /// Not yet compared, or the comparison failed.
    #[default]
    Unknown,
    /// Live state matches.
    Synced,
    /// Live state differs.
    OutOfSync,
}

/// Health of an application or resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
pub enum HealthStatusCode {
    /// Health could not be assessed.
    #[default]
    Unknown,
    /// Still converging.
    Progressing,
    /// Working as intended.
    Healthy,
    /// Paused or waiting for an external event.
    Suspended,
    /// Failed or failing.
    Degraded,
    /// Does not exist in the cluster.
    Missing,
}

/// Result of comparing desired and live state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    /// Comparison outcome.
    pub status: SyncStatusCode,
    /// The spec the comparison was made against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared_to: Option<ComparedTo>,
    /// Resolved revision of a single-source application.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub revision: String,
    /// Resolved revision of each source of a multi-source application.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub revisions: Vec<String>,
}

/// The parts of the spec a comparison was made against.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComparedTo {
    /// Source of a single-source application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// Destination.
    pub destination: ApplicationDestination,
    /// Sources of a multi-source application.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub sources: Vec<ApplicationSource>,
    /// Ignored differences in effect.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ignore_differences: Vec<ResourceIgnoreDifferences>,
}

/// Health with an explanation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthStatus {
    /// Health code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<HealthStatusCode>,
    /// Why, in words.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// When the code last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
}

/// Sync and health of one managed resource.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceStatus {
    /// API group.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// API version.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// Kind.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Sync status of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SyncStatusCode>,
    /// Health of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthStatus>,
    /// The resource is a sync hook.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub hook: bool,
    /// The resource would be deleted by a pruning sync.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub requires_pruning: bool,
    /// Sync wave of the resource.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero"
    )]
    pub sync_wave: i64,
    /// Deleting the resource needs explicit confirmation.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub requires_deletion_confirmation: bool,
}

/// One past sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevisionHistory {
    /// Revision of a single-source application.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub revision: String,
    /// When the sync finished.
    pub deployed_at: Time,
    /// Increasing identifier.
    pub id: i64,
    /// Source of a single-source application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// When the sync started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy_started_at: Option<Time>,
    /// Sources of a multi-source application.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub sources: Vec<ApplicationSource>,
    /// Revision of each source of a multi-source application.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub revisions: Vec<String>,
    /// Who started the sync.
    #[serde(default, skip_serializing_if = "is_default")]
    pub initiated_by: OperationInitiator,
}

/// An error, warning or informational condition of an application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationCondition {
    /// Condition type; an `Error` suffix marks errors, `Warning` warnings.
    #[serde(rename = "type")]
    pub type_: String,
    /// What happened.
    pub message: String,
    /// When the condition was last seen to change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
}

/// URLs and images found in an application's resources.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSummary {
    /// External URLs (ingress hosts, link annotations).
    #[serde(
        default,
        rename = "externalURLs",
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub external_urls: Vec<String>,
    /// Container images.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub images: Vec<String>,
    /// The application manages other applications.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub is_app_of_apps: bool,
}

/// State of source hydration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceHydratorStatus {
    /// The last hydration that succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_successful_operation: Option<SuccessfulHydrateOperation>,
    /// The hydration in progress or last attempted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_operation: Option<HydrateOperation>,
    /// Dry revision of the last comparison.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_compared_dry_revision: String,
}

/// A hydration attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HydrateOperation {
    /// When it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
    /// Phase.
    pub phase: HydrateOperationPhase,
    /// What happened.
    pub message: String,
    /// Dry commit rendered.
    #[serde(default, rename = "drySHA", skip_serializing_if = "String::is_empty")]
    pub dry_sha: String,
    /// Commit holding the rendered manifests.
    #[serde(
        default,
        rename = "hydratedSHA",
        skip_serializing_if = "String::is_empty"
    )]
    pub hydrated_sha: String,
    /// Hydrator settings used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_hydrator: Option<SourceHydrator>,
}

/// Phase of a hydration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum HydrateOperationPhase {
    /// Running.
    Hydrating,
    /// Failed.
    Failed,
    /// Done.
    Hydrated,
}

/// The last successful hydration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SuccessfulHydrateOperation {
    /// Dry commit rendered.
    #[serde(default, rename = "drySHA", skip_serializing_if = "String::is_empty")]
    pub dry_sha: String,
    /// Commit holding the rendered manifests.
    #[serde(
        default,
        rename = "hydratedSHA",
        skip_serializing_if = "String::is_empty"
    )]
    pub hydrated_sha: String,
    /// Hydrator settings used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_hydrator: Option<SourceHydrator>,
}

/// A requested operation on an application.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// A sync request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncOperation>,
    /// Who asked for it.
    #[serde(default, skip_serializing_if = "is_default")]
    pub initiated_by: OperationInitiator,
    /// Free-form information attached to the operation.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub info: Vec<Info>,
    /// Retrying if it fails.
    #[serde(default, skip_serializing_if = "is_default")]
    pub retry: RetryStrategy,
}

/// Who started an operation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationInitiator {
    /// The user, for a manual operation.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// Started by the controller (automated sync).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub automated: bool,
}

/// Parameters of a sync.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncOperation {
    /// Revision to sync a single-source application to; the spec's when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub revision: String,
    /// Delete resources no longer in the desired state.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub prune: bool,
    /// Only pretend (server-side dry run).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub dry_run: bool,
    /// How resources are applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_strategy: Option<SyncStrategy>,
    /// Restricts the sync to these resources; all when empty.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub resources: Vec<SyncOperationResource>,
    /// Overrides the spec's source (rollback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// Local manifests to sync instead of the source (development).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub manifests: Vec<String>,
    /// Sync options for this sync only.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub sync_options: Vec<String>,
    /// Overrides the spec's sources (rollback of a multi-source application).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub sources: Vec<ApplicationSource>,
    /// Revision of each source of a multi-source application.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub revisions: Vec<String>,
    /// Number of self-heal attempts so far.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero"
    )]
    pub auto_heal_attempts_count: i64,
}

/// A resource a sync is restricted to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncOperationResource {
    /// API group.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

/// How a sync applies resources.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncStrategy {
    /// Apply only, skipping hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply: Option<SyncStrategyApply>,
    /// Apply with hooks (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook: Option<SyncStrategyApply>,
}

/// Options of an apply.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncStrategyApply {
    /// Replace resources that cannot be patched (delete and re-create).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub force: bool,
}

/// Phase of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum OperationPhase {
    /// In progress.
    Running,
    /// Being cancelled.
    Terminating,
    /// Finished unsuccessfully because of the resources.
    Failed,
    /// Finished unsuccessfully because of an internal error.
    Error,
    /// Finished successfully.
    Succeeded,
}

/// State of a running or finished operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationState {
    /// The operation as requested.
    pub operation: Operation,
    /// Current phase.
    pub phase: OperationPhase,
    /// What happened, typically an error.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Result of a sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_result: Option<SyncOperationResult>,
    /// When the operation started.
    pub started_at: Time,
    /// When it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
    /// Retries made so far.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero"
    )]
    pub retry_count: i64,
    /// Trellis's resumable record of the running sync (its plan, the result
    /// of each task and the group being run), as JSON. Kept here so a
    /// restarted controller resumes the sync instead of re-running hooks.
    /// A Trellis extension: Argo CD's schema has no such field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_state: Option<String>,
}

/// Result of a sync.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncOperationResult {
    /// Outcome per resource.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub resources: Vec<ResourceResult>,
    /// Revision synced (single source).
    pub revision: String,
    /// Source synced (single source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// Sources synced (multi-source).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub sources: Vec<ApplicationSource>,
    /// Revision of each source (multi-source).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub revisions: Vec<String>,
    /// Metadata applied to the managed namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_namespace_metadata: Option<ManagedNamespaceMetadata>,
}

/// Outcome of a sync for one resource.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceResult {
    /// API group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Result; unset until the resource was applied or pruned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ResultCode>,
    /// Details or error.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Hook type, for hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_type: Option<HookType>,
    /// Phase of the hook (or of the resource's apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_phase: Option<OperationPhase>,
    /// Sync phase in which the result was produced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_phase: Option<SyncPhase>,
    /// Images of the resource.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub images: Vec<String>,
}

/// Result of syncing one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ResultCode {
    /// Applied.
    Synced,
    /// Applying failed.
    SyncFailed,
    /// Deleted.
    Pruned,
    /// Would be deleted, but pruning was off.
    PruneSkipped,
}

/// Kind of a sync hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum HookType {
    /// Before the sync phase.
    PreSync,
    /// During the sync phase.
    Sync,
    /// After a successful sync.
    PostSync,
    /// After a failed sync.
    SyncFail,
    /// After the application is deleted.
    PostDelete,
    /// Not applied at all.
    Skip,
}

/// Phase of a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum SyncPhase {
    /// Before the main apply.
    PreSync,
    /// The main apply.
    Sync,
    /// After a successful apply.
    PostSync,
    /// After a failed apply.
    SyncFail,
    /// After deletion of the application.
    PostDelete,
}
