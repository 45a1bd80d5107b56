//! Who may do what: built-in roles, project roles and their policy lines.
//!
//! Pure functions of a grant, an action, an application's project and name
//! and the AppProject's roles; see the crate docs for the model.

use std::fmt;

use serde::{Deserialize, Serialize};
use trellis_model::project::ProjectRole;

/// Something done to an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Read it, its resources, diff, events, history, live updates.
    Get,
    /// Refresh, sync, roll back.
    Sync,
    /// Create it.
    Create,
    /// Change its spec, labels or annotations.
    Update,
    /// Delete it.
    Delete,
}

impl Action {
    /// The action's name in policy lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Get => "get",
            Action::Sync => "sync",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A built-in role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// `get` only.
    Read,
    /// `get` and `sync`.
    Sync,
    /// Every action.
    Admin,
}

impl Role {
    /// Whether the role includes the action.
    pub fn allows(self, action: Action) -> bool {
        match self {
            Role::Read => action == Action::Get,
            Role::Sync => matches!(action, Action::Get | Action::Sync),
            Role::Admin => true,
        }
    }
}

/// What a caller was granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Grant {
    /// A built-in role, everywhere or in one project.
    Builtin {
        /// The role.
        role: Role,
        /// The only project it applies to; every project when `None`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        project: Option<String>,
    },
    /// A role defined in an AppProject's `spec.roles`.
    ProjectRole {
        /// The project.
        project: String,
        /// The role's name in it.
        role: String,
    },
}

impl Grant {
    /// Reads a role as written in a token request: `read`, `sync`, `admin`
    /// (with an optional project scope) or `proj:<project>:<role>`.
    pub fn parse(role: &str, project: Option<&str>) -> Result<Self, String> {
        let project = project.map(str::trim).filter(|p| !p.is_empty());
        if let Some(rest) = role.strip_prefix("proj:") {
            let Some((proj, name)) = rest.split_once(':') else {
                return Err(format!(
                    "role '{role}': a project role is written proj:<project>:<role>"
                ));
            };
            if proj.is_empty() || name.is_empty() {
                return Err(format!(
                    "role '{role}': a project role is written proj:<project>:<role>"
                ));
            }
            if project.is_some_and(|p| p != proj) {
                return Err(format!(
                    "role '{role}' belongs to project '{proj}', not '{}'",
                    project.unwrap_or_default()
                ));
            }
            return Ok(Grant::ProjectRole {
                project: proj.to_string(),
                role: name.to_string(),
            });
        }
        let role = match role {
            "read" => Role::Read,
            "sync" => Role::Sync,
            "admin" => Role::Admin,
            other => {
                return Err(format!(
                    "unknown role '{other}': expected read, sync, admin or proj:<project>:<role>"
                ));
            }
        };
        Ok(Grant::Builtin {
            role,
            project: project.map(str::to_string),
        })
    }

    /// The one project the grant is limited to, if any.
    pub fn project(&self) -> Option<&str> {
        match self {
            Grant::Builtin { project, .. } => project.as_deref(),
            Grant::ProjectRole { project, .. } => Some(project),
        }
    }

    /// Whether the grant is an admin role over every project.
    pub fn is_global_admin(&self) -> bool {
        matches!(
            self,
            Grant::Builtin {
                role: Role::Admin,
                project: None
            }
        )
    }

    /// Whether the grant allows `action` on application `namespace/name`
    /// of `project`. `roles` are the project's `spec.roles` (read only for a
    /// project-role grant).
    pub fn allows(
        &self,
        action: Action,
        project: &str,
        namespace: &str,
        name: &str,
        roles: &[ProjectRole],
    ) -> bool {
        match self {
            Grant::Builtin {
                role,
                project: scope,
            } => scope.as_deref().is_none_or(|s| s == project) && role.allows(action),
            Grant::ProjectRole { project: own, role } => {
                own == project
                    && roles
                        .iter()
                        .find(|r| &r.name == role)
                        .is_some_and(|r| role_allows(r, project, action, namespace, name))
            }
        }
    }
}

/// One parsed policy line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `proj:<project>:<role>`.
    pub subject: String,
    /// The resource type (`applications`, or `*`).
    pub resource: String,
    /// The action (a glob).
    pub action: String,
    /// `<project>/<app>` or `<project>/<namespace>/<app>` (globs).
    pub object: String,
    /// `true` for `allow` (or no effect given), `false` for `deny`.
    pub allow: bool,
}

impl Policy {
    /// Reads `p, <subject>, <resource>, <action>, <object>[, allow|deny]`.
    pub fn parse(line: &str) -> Result<Self, String> {
        let parts: Vec<&str> = line.split(',').map(str::trim).collect();
        if parts.len() < 5 || parts.len() > 6 || parts[0] != "p" {
            return Err(format!(
                "policy '{line}': expected p, <subject>, <resource>, <action>, <object>, allow|deny"
            ));
        }
        let allow = match parts.get(5).copied().unwrap_or("allow") {
            "allow" => true,
            "deny" => false,
            other => return Err(format!("policy '{line}': unknown effect '{other}'")),
        };
        Ok(Self {
            subject: parts[1].to_string(),
            resource: parts[2].to_string(),
            action: parts[3].to_string(),
            object: parts[4].to_string(),
            allow,
        })
    }

    /// Whether the line speaks of this action on this application; its
    /// effect is then [`Policy::allow`].
    pub fn matches(&self, action: Action, project: &str, namespace: &str, name: &str) -> bool {
        (self.resource == "applications" || self.resource == "*")
            && glob(&self.action, action.as_str())
            && (glob(&self.object, &format!("{project}/{name}"))
                || glob(&self.object, &format!("{project}/{namespace}/{name}")))
    }
}

/// Whether a project role's policies allow the action: some line allows
/// and none denies. Lines of other subjects, and unreadable lines, count
/// for nothing.
pub fn role_allows(
    role: &ProjectRole,
    project: &str,
    action: Action,
    namespace: &str,
    name: &str,
) -> bool {
    let subject = format!("proj:{project}:{}", role.name);
    let mut allowed = false;
    for line in &role.policies {
        let Ok(policy) = Policy::parse(line) else {
            continue;
        };
        if policy.subject != subject || !policy.matches(action, project, namespace, name) {
            continue;
        }
        if !policy.allow {
            return false;
        }
        allowed = true;
    }
    allowed
}

/// A glob with `*` (any run of characters) and `?` (one character).
pub fn glob(pattern: &str, text: &str) -> bool {
    // `*` crosses every character, `/` included, as Argo CD's policies do.
    globset::GlobBuilder::new(pattern)
        .literal_separator(false)
        .build()
        .is_ok_and(|g| g.compile_matcher().is_match(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(name: &str, policies: &[&str]) -> ProjectRole {
        ProjectRole {
            name: name.into(),
            policies: policies.iter().map(|s| s.to_string()).collect(),
            ..ProjectRole::default()
        }
    }

    #[test]
    fn globs() {
        assert!(glob("*", ""));
        assert!(glob("shop/*", "shop/web"));
        assert!(!glob("shop/*", "shops/web"));
        assert!(glob("s?op/w*b", "shop/web"));
        assert!(glob("*/*/web", "shop/ns/web"));
        assert!(!glob("web", "webs"));
    }

    #[test]
    fn builtin_roles_and_scopes() {
        let read = Grant::parse("read", None).unwrap();
        assert!(read.allows(Action::Get, "shop", "ns", "web", &[]));
        assert!(!read.allows(Action::Sync, "shop", "ns", "web", &[]));
        let sync = Grant::parse("sync", Some("shop")).unwrap();
        assert!(sync.allows(Action::Sync, "shop", "ns", "web", &[]));
        assert!(!sync.allows(Action::Get, "other", "ns", "web", &[]));
        assert!(!sync.allows(Action::Delete, "shop", "ns", "web", &[]));
        assert!(Grant::parse("admin", None).unwrap().is_global_admin());
        assert!(
            !Grant::parse("admin", Some("shop"))
                .unwrap()
                .is_global_admin()
        );
        assert!(Grant::parse("owner", None).is_err());
        assert!(Grant::parse("proj:shop", None).is_err());
        assert!(Grant::parse("proj:shop:ci", Some("other")).is_err());
    }

    #[test]
    fn project_role_policies_allow_and_deny() {
        let roles = vec![role(
            "ci",
            &[
                "p, proj:shop:ci, applications, get, shop/*, allow",
                "p, proj:shop:ci, applications, sync, shop/web-*, allow",
                "p, proj:shop:ci, applications, sync, shop/web-secret, deny",
                "p, proj:shop:other, applications, *, shop/*, allow",
                "not a policy",
            ],
        )];
        let grant = Grant::parse("proj:shop:ci", None).unwrap();
        assert!(grant.allows(Action::Get, "shop", "ns", "db", &roles));
        assert!(grant.allows(Action::Sync, "shop", "ns", "web-front", &roles));
        assert!(!grant.allows(Action::Sync, "shop", "ns", "web-secret", &roles));
        assert!(!grant.allows(Action::Sync, "shop", "ns", "db", &roles));
        assert!(!grant.allows(Action::Delete, "shop", "ns", "web-front", &roles));
        assert!(!grant.allows(Action::Get, "other", "ns", "db", &roles));
        let missing = Grant::parse("proj:shop:nobody", None).unwrap();
        assert!(!missing.allows(Action::Get, "shop", "ns", "db", &roles));
    }

    #[test]
    fn objects_with_namespaces_and_wildcard_actions() {
        let roles = vec![role(
            "ops",
            &["p, proj:shop:ops, applications, *, shop/prod/*, allow"],
        )];
        let grant = Grant::parse("proj:shop:ops", None).unwrap();
        assert!(grant.allows(Action::Delete, "shop", "prod", "web", &roles));
        assert!(!grant.allows(Action::Delete, "shop", "dev", "web", &roles));
    }

    #[test]
    fn policy_lines_are_checked() {
        assert!(Policy::parse("p, a, b, c").is_err());
        assert!(Policy::parse("g, a, b, c, d").is_err());
        assert!(Policy::parse("p, a, b, c, d, maybe").is_err());
        assert!(Policy::parse("p, a, b, c, d").unwrap().allow);
    }
}
