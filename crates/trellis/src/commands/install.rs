//! `trellis install`: the manifests that run Trellis in a cluster, printed
//! (`deploy/install.yaml` is this command's output with the defaults) or
//! applied server-side.
//!
//! The permissions come in two parts, as Argo CD splits its application
//! controller's:
//!
//! - a namespaced `Role` for what the controller needs for itself in its own
//!   namespace: its Applications, AppProjects and ApplicationSets, the
//!   repository and cluster Secrets it reads, the ConfigMaps that record
//!   each application's inventory, Events and the Leases of leader election
//!   and shard claims;
//! - a `ClusterRole` for what it deploys: any kind, anywhere, since that is
//!   what an Application may hold. An operator who deploys only some kinds
//!   can narrow this one without touching the controller's own.
//!
//! Every verb in both is one the controller was seen using against the
//! API server (the `install` end-to-end test reads the audit log of a
//! controller run and checks both ways), so nothing is granted on the off
//! chance. `deploy/README.md` lists the observed requests.
//!
//! Argo CD's `argoproj.io` CRDs are left out unless `--argocd-compat` asks
//! for them: on a cluster where Argo CD is installed they are Argo CD's, and
//! applying Trellis's schema over them would fight its installer.

use std::io::Write;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use trellis_kube::{ApplyOptions, Cluster};
use trellis_model::{ARGO_GROUP, TRELLIS_GROUP, to_yaml};

use crate::cli::{InstallArgs, ManifestFormat};
use crate::kubeclient::runtime;
use crate::output::{list_of, write_json};
use crate::{Outcome, UsageError};

/// The image repository of the controller; the tag is this build's version.
pub const IMAGE_REPOSITORY: &str = "ghcr.io/trellis-dev/trellis";

/// The field manager of `trellis install --apply`.
pub const FIELD_MANAGER: &str = "trellis-install";

/// Name of the controller's ServiceAccount, Role, ClusterRole, their
/// bindings and its Deployment.
const CONTROLLER: &str = "trellis-controller";

/// Port of `/metrics`, `/healthz` and `/api/webhook` in the pod.
const HTTP_PORT: u16 = 8081;

/// Where the controller caches repositories: an emptyDir, since the root
/// filesystem is read-only.
const CACHE_DIR: &str = "/var/cache/trellis";

/// The user the image runs as (see the Dockerfile).
const UID: u32 = 10001;

/// What `trellis install` produces.
#[derive(Debug, Clone)]
pub struct InstallOptions {
    /// The controller's namespace.
    pub namespace: String,
    /// The controller's image.
    pub image: String,
    /// Also Argo CD's group: its CRDs, permissions and `--argocd-compat`.
    pub argocd_compat: bool,
}

impl InstallOptions {
    /// The defaults: namespace `trellis`, this version's image, Trellis's
    /// group only.
    pub fn new() -> Self {
        Self {
            namespace: "trellis".to_string(),
            image: default_image(),
            argocd_compat: false,
        }
    }
}

impl Default for InstallOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// The image of this version of Trellis.
pub fn default_image() -> String {
    format!("{IMAGE_REPOSITORY}:{}", env!("CARGO_PKG_VERSION"))
}

/// Prints the manifests, or applies them.
pub fn run(args: &InstallArgs, out: &mut dyn Write) -> Result<Outcome> {
    let options = resolve(args)?;
    let objects = manifests(&options);
    if !args.apply {
        match args.output {
            ManifestFormat::Yaml => {
                for object in &objects {
                    writeln!(out, "---")?;
                    out.write_all(to_yaml(object).as_bytes())?;
                }
            }
            ManifestFormat::Json => write_json(out, &list_of(objects))?,
        }
        return Ok(Outcome::Clean);
    }
    let rt = runtime()?;
    rt.block_on(async {
        let cluster = connect(args).await?;
        apply(&cluster, &objects, args, out).await
    })
}

/// Checks the arguments.
fn resolve(args: &InstallArgs) -> Result<InstallOptions> {
    let namespace = args.namespace.trim();
    if !is_dns_label(namespace) {
        return Err(UsageError(format!(
            "--namespace {namespace:?} is not a namespace name (lowercase letters, digits and '-', at most 63)"
        ))
        .into());
    }
    let image = match &args.image {
        Some(image) if image.trim().is_empty() || image.chars().any(char::is_whitespace) => {
            return Err(UsageError(format!("--image {image:?} is not an image reference")).into());
        }
        Some(image) => image.clone(),
        None => default_image(),
    };
    Ok(InstallOptions {
        namespace: namespace.to_string(),
        image,
        argocd_compat: args.argocd_compat,
    })
}

fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// Every object of an install, in the order they are applied: CRDs, the
/// namespace, the identity and its permissions, then the workload.
pub fn manifests(options: &InstallOptions) -> Vec<Value> {
    let mut groups = vec![TRELLIS_GROUP];
    if options.argocd_compat {
        groups.push(ARGO_GROUP);
    }
    let mut objects: Vec<Value> = trellis_model::crd::crds()
        .into_iter()
        .filter(|crd| {
            crd.pointer("/spec/group")
                .and_then(Value::as_str)
                .is_some_and(|g| groups.contains(&g))
        })
        .collect();
    let ns = options.namespace.as_str();
    objects.push(json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": ns, "labels": part_of()},
    }));
    objects.push(json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata(CONTROLLER, Some(ns)),
    }));
    objects.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": metadata(CONTROLLER, Some(ns)),
        "rules": own_rules(&groups),
    }));
    objects.push(binding("RoleBinding", "Role", Some(ns), ns));
    objects.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": metadata(CONTROLLER, None),
        "rules": deploy_rules(),
    }));
    objects.push(binding("ClusterRoleBinding", "ClusterRole", None, ns));
    objects.push(service(ns));
    objects.push(deployment(options, ns));
    objects
}

/// Rules for what the controller needs for itself in its namespace. Each
/// verb is one the controller uses; a server-side apply that creates an
/// object is authorized as both `patch` and `create`.
fn own_rules(groups: &[&str]) -> Value {
    let mut rules = Vec::new();
    for group in groups {
        // Watched; the finalizer, operation and refresh annotation are
        // patched; ApplicationSets create (by apply) and delete theirs.
        rules.push(rule(
            group,
            &["applications"],
            &["list", "watch", "create", "patch", "delete"],
        ));
        rules.push(rule(group, &["applications/status"], &["patch"]));
        // Watched; the `default` project is read, and applied when missing.
        rules.push(rule(
            group,
            &["appprojects"],
            &["get", "list", "watch", "create", "patch"],
        ));
        rules.push(rule(group, &["applicationsets"], &["list", "watch"]));
        rules.push(rule(group, &["applicationsets/status"], &["patch"]));
    }
    // Repository and cluster credentials: watched, never written.
    rules.push(rule("", &["secrets"], &["list", "watch"]));
    // Each application's inventory of kinds: read, and applied.
    rules.push(rule("", &["configmaps"], &["get", "create", "patch"]));
    // Sync events, applied.
    rules.push(rule("", &["events"], &["create", "patch"]));
    // Leader election and shard claims: read, created, and renewed with the
    // resourceVersion read (an update, so two replicas cannot both win).
    rules.push(rule(
        "coordination.k8s.io",
        &["leases"],
        &["get", "create", "update"],
    ));
    Value::Array(rules)
}

/// The rule for what Applications deploy: any kind, anywhere. The live-state
/// cache lists and watches the kinds an application holds; a sync reads,
/// applies (`patch`, and `create` for new objects), replaces (`update`, or
/// `create` when absent: the `Replace=true` option), and prunes or cascades
/// (`delete`).
fn deploy_rules() -> Value {
    json!([{
        "apiGroups": ["*"],
        "resources": ["*"],
        "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"],
    }])
}

fn rule(group: &str, resources: &[&str], verbs: &[&str]) -> Value {
    json!({"apiGroups": [group], "resources": resources, "verbs": verbs})
}

fn binding(kind: &str, role_kind: &str, namespace: Option<&str>, subject_ns: &str) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": metadata(CONTROLLER, namespace),
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": role_kind,
            "name": CONTROLLER,
        },
        "subjects": [{"kind": "ServiceAccount", "name": CONTROLLER, "namespace": subject_ns}],
    })
}

fn part_of() -> Value {
    json!({"app.kubernetes.io/part-of": "trellis"})
}

fn labels() -> Value {
    json!({
        "app.kubernetes.io/name": CONTROLLER,
        "app.kubernetes.io/component": "controller",
        "app.kubernetes.io/part-of": "trellis",
    })
}

fn selector() -> Value {
    json!({"app.kubernetes.io/name": CONTROLLER})
}

fn metadata(name: &str, namespace: Option<&str>) -> Value {
    let mut meta = json!({"name": name, "labels": labels()});
    if let Some(ns) = namespace {
        meta["namespace"] = json!(ns);
    }
    meta
}

fn service(ns: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(&format!("{CONTROLLER}-metrics"), Some(ns)),
        "spec": {
            "selector": selector(),
            "ports": [{"name": "metrics", "port": HTTP_PORT, "targetPort": "metrics", "protocol": "TCP"}],
        },
    })
}

fn deployment(options: &InstallOptions, ns: &str) -> Value {
    let mut args = vec![
        "controller".to_string(),
        "--namespace".to_string(),
        ns.to_string(),
        "--listen".to_string(),
        format!("0.0.0.0:{HTTP_PORT}"),
        "--cache-dir".to_string(),
        CACHE_DIR.to_string(),
    ];
    if options.argocd_compat {
        args.push("--argocd-compat".to_string());
    }
    let probe = |initial: u32| {
        json!({
            "httpGet": {"path": "/healthz", "port": "metrics"},
            "initialDelaySeconds": initial,
            "periodSeconds": 10,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        })
    };
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(CONTROLLER, Some(ns)),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector()},
            "template": {
                "metadata": {"labels": labels()},
                "spec": {
                    "serviceAccountName": CONTROLLER,
                    "securityContext": {
                        "runAsNonRoot": true,
                        "runAsUser": UID,
                        "runAsGroup": UID,
                        "fsGroup": UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [{
                        "name": "controller",
                        "image": options.image,
                        "imagePullPolicy": "IfNotPresent",
                        "args": args,
                        "env": [{
                            "name": "TRELLIS_WEBHOOK_SECRET",
                            "valueFrom": {"secretKeyRef": {
                                "name": "trellis-webhook",
                                "key": "secret",
                                "optional": true,
                            }},
                        }],
                        "ports": [{"name": "metrics", "containerPort": HTTP_PORT, "protocol": "TCP"}],
                        "livenessProbe": probe(10),
                        "readinessProbe": probe(2),
                        "resources": {
                            "requests": {"cpu": "100m", "memory": "256Mi"},
                            "limits": {"cpu": "2", "memory": "1Gi"},
                        },
                        "securityContext": {
                            "runAsNonRoot": true,
                            "allowPrivilegeEscalation": false,
                            "readOnlyRootFilesystem": true,
                            "capabilities": {"drop": ["ALL"]},
                        },
                        "volumeMounts": [
                            {"name": "cache", "mountPath": CACHE_DIR},
                            {"name": "tmp", "mountPath": "/tmp"},
                        ],
                    }],
                    "volumes": [
                        {"name": "cache", "emptyDir": {}},
                        {"name": "tmp", "emptyDir": {}},
                    ],
                },
            },
        },
    })
}

async fn connect(args: &InstallArgs) -> Result<Cluster> {
    crate::kubeclient::connect_with(args.kubeconfig.as_deref(), args.context.as_deref()).await
}

/// Applies the objects in order, one line each on `out`.
///
/// A dry run cannot check objects of a namespace that does not exist yet
/// (the server refuses them, and the dry-run Namespace is not stored): those
/// are reported as skipped, and a real apply creates the namespace first.
async fn apply(
    cluster: &Cluster,
    objects: &[Value],
    args: &InstallArgs,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let options = ApplyOptions {
        field_manager: FIELD_MANAGER.to_string(),
        force: args.force_conflicts,
        dry_run: args.dry_run,
        validate: true,
    };
    let suffix = if args.dry_run {
        " (server dry run)"
    } else {
        ""
    };
    let mut missing_namespaces: Vec<String> = Vec::new();
    for object in objects {
        let kind = object["kind"].as_str().unwrap_or_default();
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default();
        let what = if namespace.is_empty() {
            format!("{kind} {name}")
        } else {
            format!("{kind} {namespace}/{name}")
        };
        if missing_namespaces.iter().any(|n| n == namespace) {
            writeln!(
                out,
                "{what} skipped: namespace {namespace} does not exist yet{suffix}"
            )?;
            continue;
        }
        cluster
            .apply(object, &options)
            .await
            .with_context(|| format!("applying {what}"))?;
        writeln!(out, "{what} applied{suffix}")?;
        if args.dry_run && kind == "Namespace" {
            let key = trellis_model::ResourceKey {
                group: String::new(),
                kind: "Namespace".into(),
                namespace: String::new(),
                name: name.to_string(),
            };
            if cluster
                .get(&key)
                .await
                .context("reading namespaces")?
                .is_none()
            {
                missing_namespaces.push(name.to_string());
            }
        }
    }
    Ok(Outcome::Clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_names_are_dns_labels() {
        assert!(is_dns_label("trellis"));
        assert!(is_dns_label("team-1"));
        for bad in ["", "-a", "a-", "Trellis", "a_b", &"a".repeat(64)] {
            assert!(!is_dns_label(bad), "{bad:?}");
        }
    }

    #[test]
    fn every_namespaced_object_is_in_the_chosen_namespace() {
        let options = InstallOptions {
            namespace: "gitops".into(),
            ..InstallOptions::new()
        };
        for object in manifests(&options) {
            let kind = object["kind"].as_str().unwrap_or_default();
            let namespace = object.pointer("/metadata/namespace");
            match kind {
                "CustomResourceDefinition" | "Namespace" | "ClusterRole" | "ClusterRoleBinding" => {
                    assert_eq!(namespace, None, "{kind}")
                }
                _ => assert_eq!(namespace, Some(&json!("gitops")), "{kind}"),
            }
        }
    }

    #[test]
    fn argo_cd_crds_only_when_asked() {
        let groups = |argocd_compat| -> Vec<String> {
            let options = InstallOptions {
                argocd_compat,
                ..InstallOptions::new()
            };
            manifests(&options)
                .iter()
                .filter_map(|o| o.pointer("/spec/group").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(groups(false), ["trellis.dev"; 3]);
        assert_eq!(
            groups(true).iter().filter(|g| *g == "argoproj.io").count(),
            3
        );
    }
}
