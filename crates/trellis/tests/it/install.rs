//! `trellis install`: the manifests pass the API server's dry run (ours and
//! kubectl's), `deploy/install.yaml` is their current output, and the RBAC
//! rules grant exactly what a controller was seen asking for in the audit
//! log of an end-to-end run.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use trellis_kube::{Cluster, ConnectOptions};
use trellis_localcluster::{AuditEntry, RunningCluster, ServeOptions, start};
use trellis_model::ResourceKey;
use trellis_testkit::{kubectl, workspace_root};

use crate::controller::{Harness, URL, app, automated, cm, cm_value, settled};
use crate::support::Env;

/// The user agent of `trellis controller`'s requests.
const CONTROLLER_AGENT: &str = "trellis-controller/";

/// An embedded cluster with nothing installed, and a kubeconfig for it.
struct Bare {
    rt: tokio::runtime::Runtime,
    _cluster: RunningCluster,
    client: Cluster,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl Bare {
    fn new() -> Bare {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        let cluster = rt.block_on(start(ServeOptions::default())).unwrap();
        cluster.write_kubeconfig(&kubeconfig).unwrap();
        let client = rt
            .block_on(Cluster::connect(&ConnectOptions {
                kubeconfig: Some(kubeconfig.clone()),
                context: None,
            }))
            .unwrap();
        Bare {
            rt,
            _cluster: cluster,
            client,
            kubeconfig,
            _dir: dir,
        }
    }

    fn get(&self, group: &str, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        let key = ResourceKey {
            group: group.into(),
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        };
        self.rt.block_on(self.client.get(&key)).unwrap()
    }

    fn create_namespace(&self, name: &str) {
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        let options = trellis_kube::ApplyOptions {
            field_manager: "test".into(),
            ..Default::default()
        };
        self.rt.block_on(self.client.apply(&ns, &options)).unwrap();
    }

    /// Which of the install's objects exist.
    fn installed(&self, objects: &[Value]) -> Vec<String> {
        objects
            .iter()
            .filter(|o| {
                let (group, _) = split_api_version(o["apiVersion"].as_str().unwrap());
                self.get(
                    group,
                    o["kind"].as_str().unwrap(),
                    o["metadata"]["namespace"].as_str().unwrap_or(""),
                    o["metadata"]["name"].as_str().unwrap(),
                )
                .is_some()
            })
            .map(|o| format!("{} {}", o["kind"], o["metadata"]["name"]))
            .collect()
    }
}

fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

/// The install's objects, as `trellis install -o json` prints them.
fn install_objects(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["install", "-o", "json"];
    all.extend_from_slice(args);
    let run = Env::new().run(&all);
    assert_eq!(run.code, 0, "{run:?}");
    let list: Value = serde_json::from_str(&run.stdout).unwrap();
    list["items"].as_array().unwrap().clone()
}

fn kinds(objects: &[Value]) -> Vec<String> {
    objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_default_install_names_its_parts() {
    let objects = install_objects(&[]);
    assert_eq!(
        kinds(&objects),
        [
            "CustomResourceDefinition",
            "CustomResourceDefinition",
            "CustomResourceDefinition",
            "Namespace",
            "ServiceAccount",
            "Role",
            "RoleBinding",
            "ClusterRole",
            "ClusterRoleBinding",
            "Service",
            "Deployment",
        ]
    );
    for crd in &objects[..3] {
        assert_eq!(crd["spec"]["group"], "trellis.dev");
    }
    let deployment = objects.last().unwrap();
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["image"],
        format!("ghcr.io/trellis-dev/trellis:{}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        container["args"],
        json!([
            "controller",
            "--namespace",
            "trellis",
            "--listen",
            "0.0.0.0:8081",
            "--cache-dir",
            "/var/cache/trellis"
        ])
    );
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"],
        true
    );
}

#[test]
fn namespace_image_and_argocd_compat_are_chosen() {
    let objects = install_objects(&[
        "--namespace",
        "gitops",
        "--image",
        "registry.example.com/trellis:dev",
        "--argocd-compat",
    ]);
    let groups: BTreeSet<&str> = objects
        .iter()
        .filter(|o| o["kind"] == "CustomResourceDefinition")
        .map(|o| o["spec"]["group"].as_str().unwrap())
        .collect();
    assert_eq!(groups, BTreeSet::from(["argoproj.io", "trellis.dev"]));
    for o in objects
        .iter()
        .filter(|o| o["kind"] != "CustomResourceDefinition")
    {
        match o["kind"].as_str().unwrap() {
            "Namespace" => assert_eq!(o["metadata"]["name"], "gitops"),
            "ClusterRole" => {}
            _ if o["kind"] == "ClusterRoleBinding" => {
                assert_eq!(o["subjects"][0]["namespace"], "gitops")
            }
            _ => assert_eq!(o["metadata"]["namespace"], "gitops", "{o}"),
        }
    }
    let deployment = objects.last().unwrap();
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "registry.example.com/trellis:dev");
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        args.windows(2).any(|w| w == ["--namespace", "gitops"]),
        "{args:?}"
    );
    assert!(args.contains(&"--argocd-compat"), "{args:?}");
    // Argo CD's kinds get exactly the rules Trellis's own do.
    let role = objects.iter().find(|o| o["kind"] == "Role").unwrap();
    let rules = role["rules"].as_array().unwrap();
    let of_group = |group: &str| -> Vec<Value> {
        rules
            .iter()
            .filter(|r| r["apiGroups"] == json!([group]))
            .map(|r| json!({"resources": r["resources"], "verbs": r["verbs"]}))
            .collect()
    };
    assert!(!of_group("trellis.dev").is_empty());
    assert_eq!(of_group("trellis.dev"), of_group("argoproj.io"));
}

#[test]
fn bad_arguments_are_usage_errors() {
    let env = Env::new();
    let run = env.run(&["install", "--namespace", "Not_A_Namespace"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--namespace"), "{run:?}");
    let run = env.run(&["install", "--dry-run"]);
    assert_eq!(run.code, 2, "{run:?}");
    let run = env.run(&["install", "--image", "has space"]);
    assert_eq!(run.code, 2, "{run:?}");
}

#[test]
fn deploy_install_yaml_is_the_default_output() {
    let run = Env::new().run(&["install"]);
    assert_eq!(run.code, 0, "{run:?}");
    let path = workspace_root().join("deploy/install.yaml");
    let shipped = std::fs::read_to_string(&path).unwrap();
    assert!(
        shipped == run.stdout,
        "{} is out of date: regenerate it with `cargo run -p trellis -- install > deploy/install.yaml`",
        path.display()
    );
}

#[test]
fn a_server_dry_run_accepts_everything_and_stores_nothing() {
    let bare = Bare::new();
    let objects = install_objects(&["--argocd-compat"]);
    let kubeconfig = bare.kubeconfig.display().to_string();
    let env = Env::new();
    // Before the namespace exists, its objects cannot be checked yet.
    let run = env.run(&[
        "install",
        "--argocd-compat",
        "--apply",
        "--dry-run",
        "--kubeconfig",
        &kubeconfig,
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(
            "Deployment trellis/trellis-controller skipped: namespace trellis does not exist yet"
        ),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("ClusterRole trellis-controller applied (server dry run)"),
        "{run:?}"
    );
    assert_eq!(bare.installed(&objects), Vec::<String>::new());

    // With the namespace there, every object is checked, none stored.
    bare.create_namespace("trellis");
    let run = env.run(&[
        "install",
        "--argocd-compat",
        "--apply",
        "--dry-run",
        "--kubeconfig",
        &kubeconfig,
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout.matches("applied (server dry run)").count(),
        objects.len(),
        "{run:?}"
    );
    assert!(!run.stdout.contains("skipped"), "{run:?}");
    assert_eq!(
        bare.installed(&objects),
        ["\"Namespace\" \"trellis\""],
        "only the namespace made by the test exists"
    );

    // kubectl reads the YAML stream from a pipe and agrees.
    let mut install = Command::new(env!("CARGO_BIN_EXE_trellis"))
        .args(["install", "--argocd-compat"])
        .env("HOME", env.home())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let cache = bare.kubeconfig.with_file_name("kubectl-cache");
    let kubectl_run = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&bare.kubeconfig)
        .arg(format!("--cache-dir={}", cache.display()))
        .args(["apply", "--server-side", "--dry-run=server", "-f", "-"])
        .stdin(Stdio::from(install.stdout.take().unwrap()))
        .output()
        .unwrap();
    assert!(install.wait().unwrap().success());
    let stdout = String::from_utf8_lossy(&kubectl_run.stdout);
    assert!(
        kubectl_run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&kubectl_run.stderr)
    );
    assert_eq!(
        stdout.matches("(server dry run)").count(),
        objects.len(),
        "{stdout}"
    );
    assert_eq!(bare.installed(&objects), ["\"Namespace\" \"trellis\""]);
}

#[test]
fn apply_installs_and_a_second_apply_changes_nothing() {
    let bare = Bare::new();
    let objects = install_objects(&[]);
    let kubeconfig = bare.kubeconfig.display().to_string();
    let env = Env::new();
    let run = env.run(&["install", "--apply", "--kubeconfig", &kubeconfig]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(bare.installed(&objects).len(), objects.len());
    let deployment = bare
        .get("apps", "Deployment", "trellis", "trellis-controller")
        .unwrap();
    let managers: Vec<&str> = deployment["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["manager"].as_str().unwrap())
        .collect();
    assert!(managers.contains(&"trellis-install"), "{managers:?}");
    let generation = deployment["metadata"]["generation"].clone();
    let run = env.run(&["install", "--apply", "--kubeconfig", &kubeconfig]);
    assert_eq!(run.code, 0, "{run:?}");
    let again = bare
        .get("apps", "Deployment", "trellis", "trellis-controller")
        .unwrap();
    assert_eq!(again["metadata"]["generation"], generation);
    // kubectl sees the ServiceAccount bound to its ClusterRole.
    let run = kubectl(
        &bare.kubeconfig,
        &[
            "get",
            "clusterrolebinding",
            "trellis-controller",
            "-o",
            "json",
        ],
    );
    assert!(run.ok, "{}", run.stderr);
    let binding: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(binding["subjects"][0]["name"], "trellis-controller");
}

// --- RBAC against the audit log ------------------------------------------

/// A request as RBAC sees it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Request {
    group: String,
    /// `resource` or `resource/subresource`.
    resource: String,
    verb: String,
    /// Empty for cluster-scoped and all-namespace requests.
    namespace: String,
    name: String,
}

impl std::fmt::Display for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let group = if self.group.is_empty() {
            "core"
        } else {
            &self.group
        };
        write!(f, "{} {group}/{}", self.verb, self.resource)?;
        if !self.namespace.is_empty() {
            write!(f, " in {}", self.namespace)?;
        }
        Ok(())
    }
}

/// The authorization checks a logged request passed: its own verb, and
/// `create` too for a server-side apply (PATCH) or PUT that created the
/// object, as the API server authorizes those.
fn requests_of(entry: &AuditEntry) -> Vec<Request> {
    let resource = match &entry.subresource {
        Some(sub) => format!("{}/{sub}", entry.resource),
        None => entry.resource.clone(),
    };
    let request = |verb: &str| Request {
        group: entry.group.clone(),
        resource: resource.clone(),
        verb: verb.to_string(),
        namespace: entry.namespace.clone(),
        name: entry.name.clone(),
    };
    let mut out = vec![request(&entry.verb)];
    if matches!(entry.verb.as_str(), "patch" | "update") && entry.code == 201 {
        out.push(request("create"));
    }
    out
}

/// One rule, with where it applies: a namespace for a Role's rules, empty
/// for a ClusterRole bound cluster-wide.
#[derive(Debug)]
struct Grant {
    namespace: String,
    rule: Value,
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

impl Grant {
    /// Whether this rule allows the request (Kubernetes RBAC semantics,
    /// without non-resource URLs).
    fn allows(&self, r: &Request) -> bool {
        if !self.namespace.is_empty() && self.namespace != r.namespace {
            return false;
        }
        let groups = strings(&self.rule["apiGroups"]);
        let resources = strings(&self.rule["resources"]);
        let verbs = strings(&self.rule["verbs"]);
        let names = strings(&self.rule["resourceNames"]);
        let sub = r.resource.split_once('/').map(|(_, s)| s);
        let resource_ok = resources.iter().any(|res| {
            *res == "*"
                || *res == r.resource
                || sub.is_some_and(|s| res.strip_prefix("*/") == Some(s))
        });
        (groups.contains(&"*") || groups.contains(&r.group.as_str()))
            && resource_ok
            && (verbs.contains(&"*") || verbs.contains(&r.verb.as_str()))
            && (names.is_empty() || (!r.name.is_empty() && names.contains(&r.name.as_str())))
    }
}

/// The rules granted to the controller's ServiceAccount by the install's
/// bindings.
fn grants(objects: &[Value], namespace: &str) -> Vec<Grant> {
    let role = |kind: &str, name: &str, ns: &str| {
        objects
            .iter()
            .find(|o| {
                o["kind"] == kind
                    && o["metadata"]["name"] == name
                    && (kind == "ClusterRole" || o["metadata"]["namespace"] == ns)
            })
            .unwrap_or_else(|| panic!("no {kind} {name}"))
    };
    let mut out = Vec::new();
    for binding in objects
        .iter()
        .filter(|o| o["kind"] == "RoleBinding" || o["kind"] == "ClusterRoleBinding")
    {
        let bound = binding["subjects"].as_array().unwrap().iter().any(|s| {
            s["kind"] == "ServiceAccount"
                && s["name"] == "trellis-controller"
                && s["namespace"] == namespace
        });
        if !bound {
            continue;
        }
        let ns = binding["metadata"]["namespace"].as_str().unwrap_or("");
        let target = role(
            binding["roleRef"]["kind"].as_str().unwrap(),
            binding["roleRef"]["name"].as_str().unwrap(),
            ns,
        );
        for rule in target["rules"].as_array().unwrap() {
            out.push(Grant {
                namespace: ns.to_string(),
                rule: rule.clone(),
            });
        }
    }
    out
}

fn appset(elements: Value) -> Value {
    json!({
        "apiVersion": "trellis.dev/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "sets", "namespace": "trellis"},
        "spec": {
            "generators": [{"list": {"elements": elements}}],
            "template": {
                "metadata": {"name": "set-{{name}}"},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": URL, "targetRevision": "main", "path": "sets/{{name}}"},
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"},
                    "syncPolicy": {"automated": {"prune": true}},
                },
            },
        },
    })
}

/// A controller at work: an automated application synced, changed by a
/// commit (one resource pruned, one replaced), an ApplicationSet of a list
/// generator growing and shrinking, a manual sync, and an application with
/// the resources finalizer deleted. Returns the controller's requests.
fn controller_requests() -> Vec<AuditEntry> {
    let mut h = Harness::new();
    let replaced = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: replaced\n  annotations:\n    argocd.argoproj.io/sync-options: Replace=true\ndata:\n  value: \"one\"\n";
    h.repo.write("shop/cm.yaml", &cm("settings", "one"));
    h.repo.write("shop/old.yaml", &cm("old", "x"));
    h.repo.write("shop/replaced.yaml", replaced);
    h.repo.write("sets/a/cm.yaml", &cm("set-a", "a"));
    h.repo.write("sets/b/cm.yaml", &cm("set-b", "b"));
    h.repo.write("manual/cm.yaml", &cm("manual", "m"));
    h.repo.commit_all("one");
    // Short leases, so renewals happen within the run.
    h.controller(&["--lease-duration", "2s"], &[]);
    let mut shop = app("shop", "shop", automated());
    shop["metadata"]["finalizers"] = json!(["resources-finalizer.argocd.argoproj.io"]);
    h.apply(&shop);
    h.wait_synced("shop");
    assert_eq!(cm_value(&h, "replaced").as_deref(), Some("one"));

    // A commit: one value changes, one resource goes, one is replaced.
    h.repo.write("shop/cm.yaml", &cm("settings", "two"));
    h.repo
        .write("shop/replaced.yaml", &replaced.replace("one", "two"));
    h.repo.remove("shop/old.yaml");
    h.repo.commit_all("two");
    h.wait("the second commit", Duration::from_secs(30), |h| {
        cm_value(h, "settings").as_deref() == Some("two")
            && cm_value(h, "replaced").as_deref() == Some("two")
            && h.configmap("default", "old").is_none()
    });
    h.wait_synced("shop");

    // An ApplicationSet generates two applications, then drops one.
    h.apply(&appset(json!([{"name": "a"}, {"name": "b"}])));
    for name in ["set-a", "set-b"] {
        h.wait(name, Duration::from_secs(60), |h| {
            h.get("trellis.dev", "Application", "trellis", name)
                .is_some_and(|a| settled(&a))
        });
    }
    h.apply(&appset(json!([{"name": "a"}])));
    h.wait("set-b deleted", Duration::from_secs(30), |h| {
        h.get("trellis.dev", "Application", "trellis", "set-b")
            .is_none()
    });

    // A manual sync of an application without a policy.
    h.apply(&app("manual", "manual", json!({})));
    h.wait("the comparison", Duration::from_secs(20), |h| {
        h.app("manual").pointer("/status/sync/status") == Some(&json!("OutOfSync"))
    });
    h.patch(
        "trellis.dev",
        "Application",
        "trellis",
        "manual",
        json!({"operation": {"sync": {}, "initiatedBy": {"username": "ops"}}}),
    );
    h.wait_synced("manual");

    // Deleting an application with the finalizer deletes its resources.
    trellis_testkit::kubectl_ok(
        &h.kubeconfig,
        &[
            "delete",
            "applications.trellis.dev",
            "shop",
            "-n",
            "trellis",
            "--wait=false",
        ],
    );
    h.wait("the cascade", Duration::from_secs(30), |h| {
        h.configmap("default", "settings").is_none()
            && h.get("trellis.dev", "Application", "trellis", "shop")
                .is_none()
    });
    h.wait("a lease renewal", Duration::from_secs(10), |h| {
        h.audit().iter().any(|e| {
            e.user_agent.starts_with(CONTROLLER_AGENT)
                && e.resource == "leases"
                && e.verb == "update"
        })
    });
    h.kill_controllers();
    h.audit()
        .into_iter()
        .filter(|e| e.user_agent.starts_with(CONTROLLER_AGENT))
        .collect()
}

/// Whether a request is for the controller itself rather than for what it
/// deploys: its own kinds, credentials, events, leases and inventories in
/// its namespace.
fn is_own(r: &Request, namespace: &str) -> bool {
    r.namespace == namespace
        && (matches!(
            r.group.as_str(),
            "trellis.dev" | "argoproj.io" | "coordination.k8s.io"
        ) || matches!(r.resource.as_str(), "secrets" | "events")
            || (r.resource == "configmaps" && r.name.starts_with("trellis-inventory-")))
}

/// Granted verbs that may go unobserved: a watch always starts with a list,
/// so a rule granting one is used when the other was seen.
fn used(granted: &Request, observed: &BTreeSet<(String, String, String)>) -> bool {
    let seen = |verb: &str| {
        observed.contains(&(
            granted.group.clone(),
            granted.resource.clone(),
            verb.to_string(),
        ))
    };
    seen(&granted.verb)
        || (granted.verb == "watch" && seen("list"))
        || (granted.verb == "list" && seen("watch"))
}

/// Every (group, resource, verb) a set of rules grants, `*` left as is.
fn granted(grants: &[&Grant]) -> Vec<Request> {
    let mut out = Vec::new();
    for g in grants {
        for group in strings(&g.rule["apiGroups"]) {
            for resource in strings(&g.rule["resources"]) {
                for verb in strings(&g.rule["verbs"]) {
                    out.push(Request {
                        group: group.to_string(),
                        resource: resource.to_string(),
                        verb: verb.to_string(),
                        namespace: g.namespace.clone(),
                        name: String::new(),
                    });
                }
            }
        }
    }
    out
}

#[test]
fn rbac_grants_exactly_what_the_controller_uses() {
    let entries = controller_requests();
    assert!(
        !entries.is_empty(),
        "no request carried the controller's user agent"
    );
    let objects = install_objects(&[]);
    let grants = grants(&objects, "trellis");
    let role: Vec<&Grant> = grants.iter().filter(|g| !g.namespace.is_empty()).collect();
    let cluster_role: Vec<&Grant> = grants.iter().filter(|g| g.namespace.is_empty()).collect();
    let requests: BTreeSet<Request> = entries.iter().flat_map(requests_of).collect();
    let (own, deploy): (Vec<&Request>, Vec<&Request>) =
        requests.iter().partition(|r| is_own(r, "trellis"));
    let list = |rs: &[&Request]| {
        rs.iter()
            .map(ToString::to_string)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join("\n")
    };
    let observed = format!(
        "observed, for itself:\n{}\nobserved, deploying:\n{}",
        list(&own),
        list(&deploy)
    );

    // Everything the controller asked for is granted; what it asks for
    // itself by the namespaced Role alone.
    let denied: Vec<String> = requests
        .iter()
        .filter(|r| !grants.iter().any(|g| g.allows(r)))
        .map(ToString::to_string)
        .collect();
    assert_eq!(denied, Vec::<String>::new(), "denied\n{observed}");
    let beyond_role: Vec<String> = own
        .iter()
        .filter(|r| !role.iter().any(|g| g.allows(r)))
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        beyond_role,
        Vec::<String>::new(),
        "not in the Role\n{observed}"
    );

    // And nothing is granted that was not used: each verb of the Role on
    // the resource it names, each verb of the ClusterRole on something
    // deployed.
    let key = |r: &&Request| (r.group.clone(), r.resource.clone(), r.verb.clone());
    let own_seen: BTreeSet<_> = own.iter().map(key).collect();
    let unused: Vec<String> = granted(&role)
        .iter()
        .filter(|g| !used(g, &own_seen))
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        unused,
        Vec::<String>::new(),
        "granted, never used\n{observed}"
    );
    let deploy_seen: BTreeSet<_> = deploy
        .iter()
        .map(|r| ("*".to_string(), "*".to_string(), r.verb.clone()))
        .collect();
    let unused: Vec<String> = granted(&cluster_role)
        .iter()
        .filter(|g| !used(g, &deploy_seen))
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        unused,
        Vec::<String>::new(),
        "granted, never used\n{observed}"
    );
    eprintln!("{observed}");
}
