//! The `AppProject` resource: a group of applications with limits on where
//! they may come from, where they may deploy and what they may deploy.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::application::ApplicationDestination;
use crate::serde_util::{is_false, is_zero, nullable};

/// A project: the repositories, destinations and kinds its applications may
/// use, plus roles and sync windows.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppProject {
    /// `trellis.dev/v1alpha1` or `argoproj.io/v1alpha1`, kept as read.
    pub api_version: String,
    /// Always `AppProject`.
    pub kind: String,
    /// Standard object metadata.
    pub metadata: ObjectMeta,
    /// The project's rules.
    pub spec: AppProjectSpec,
    /// Tokens issued for the project's roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AppProjectStatus>,
}

/// The rules of a project.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppProjectSpec {
    /// Repository URLs (globs) applications may use; `*` allows any.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub source_repos: Vec<String>,
    /// Clusters and namespaces (globs) applications may deploy to.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub destinations: Vec<ApplicationDestination>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Roles bound to groups and tokens, with RBAC policies.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub roles: Vec<ProjectRole>,
    /// Cluster-scoped kinds that may be deployed; none when empty.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub cluster_resource_whitelist: Vec<ClusterResourceRestrictionItem>,
    /// Namespaced kinds that may not be deployed.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub namespace_resource_blacklist: Vec<GroupKind>,
    /// Whether to report live resources that no application manages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orphaned_resources: Option<OrphanedResourcesMonitorSettings>,
    /// Time windows that allow or deny syncs.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub sync_windows: Vec<SyncWindow>,
    /// Namespaced kinds that may be deployed. Unlike the other lists, absent
    /// means "all kinds" while an empty list means "none", so the difference
    /// is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_resource_whitelist: Option<Vec<GroupKind>>,
    /// GnuPG key IDs that synced commits must be signed with.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub signature_keys: Vec<SignatureKey>,
    /// Cluster-scoped kinds that may not be deployed.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub cluster_resource_blacklist: Vec<ClusterResourceRestrictionItem>,
    /// Namespaces (globs) in which Applications of this project may live.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub source_namespaces: Vec<String>,
    /// Only clusters that belong to this project may be destinations.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub permit_only_project_scoped_clusters: bool,
    /// Service accounts to impersonate when syncing to a destination.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub destination_service_accounts: Vec<ApplicationDestinationServiceAccount>,
    /// Commit signature policies per repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_integrity: Option<SourceIntegrity>,
}

/// A group and kind (globs allowed).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupKind {
    /// API group; empty for the core group.
    pub group: String,
    /// Kind.
    pub kind: String,
}

/// A cluster-scoped group and kind, optionally narrowed to one name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterResourceRestrictionItem {
    /// API group; empty for the core group.
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Resource name (glob); all names when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A role in a project.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectRole {
    /// Role name: letters, digits, `-` and `_`, starting and ending with a
    /// letter or digit.
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Casbin policy lines, `p, proj:<project>:<role>, <resource>, <action>, <object>, allow|deny`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub policies: Vec<String>,
    /// Tokens issued for the role (older location; see the status).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub jwt_tokens: Vec<JwtToken>,
    /// OIDC groups bound to the role.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub groups: Vec<String>,
}

/// An issued token.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JwtToken {
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds); never when 0.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero"
    )]
    pub exp: i64,
    /// Token ID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
}

/// A list of tokens.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JwtTokens {
    /// The tokens.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub items: Vec<JwtToken>,
}

/// Status of a project.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppProjectStatus {
    /// Tokens issued, by role name.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub jwt_tokens_by_role: BTreeMap<String, JwtTokens>,
}

/// Orphaned resource reporting.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrphanedResourcesMonitorSettings {
    /// Raise a warning condition on applications with orphaned resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn: Option<bool>,
    /// Resources never reported as orphaned.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ignore: Vec<OrphanedResourceKey>,
}

/// A resource (globs allowed) left out of orphan reporting.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrphanedResourceKey {
    /// API group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A GnuPG key ID.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignatureKey {
    /// Key ID in hexadecimal.
    #[serde(rename = "keyID")]
    pub key_id: String,
}

/// A recurring time window in which syncs are allowed or denied.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncWindow {
    /// `allow` or `deny`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Start times as a five-field cron expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// How long the window stays open (a Go duration such as `1h30m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Application names (globs) the window applies to.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub applications: Vec<String>,
    /// Destination namespaces (globs) the window applies to.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub namespaces: Vec<String>,
    /// Destination clusters (globs) the window applies to.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub clusters: Vec<String>,
    /// Manual syncs are allowed even while the window denies syncs.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub manual_sync: bool,
    /// Time zone of the schedule (IANA name); UTC when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Match applications, namespaces and clusters all together instead of any.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub and_operator: bool,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A sync already running when a deny window opens may finish.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub sync_overrun: bool,
}

/// A service account to impersonate when syncing to matching destinations.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationDestinationServiceAccount {
    /// Cluster API server URL (glob).
    pub server: String,
    /// Namespace (glob).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Service account, `[namespace:]name`.
    pub default_service_account: String,
}

/// Commit signature requirements.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceIntegrity {
    /// Requirements for git sources.
    pub git: SourceIntegrityGit,
}

/// Commit signature requirements for git sources.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceIntegrityGit {
    /// Policies, each for a set of repositories.
    #[serde(deserialize_with = "nullable")]
    pub policies: Vec<SourceIntegrityGitPolicy>,
}

/// A signature policy for a set of repositories.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceIntegrityGitPolicy {
    /// Repositories the policy covers.
    #[serde(deserialize_with = "nullable")]
    pub repos: Vec<SourceIntegrityGitPolicyRepo>,
    /// GnuPG verification settings.
    pub gpg: SourceIntegrityGitPolicyGpg,
}

/// A repository URL (glob) covered by a signature policy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceIntegrityGitPolicyRepo {
    /// Repository URL.
    pub url: String,
}

/// GnuPG verification settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceIntegrityGitPolicyGpg {
    /// Verification mode (for example `none`, `head`, `strict`).
    pub mode: String,
    /// Accepted key IDs.
    #[serde(deserialize_with = "nullable")]
    pub keys: Vec<String>,
}
