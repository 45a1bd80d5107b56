//! Repository and cluster Secrets in Argo CD's formats, read from the
//! controller's namespace.
//!
//! A Secret labelled `argocd.argoproj.io/secret-type: repository` holds the
//! credentials of one repository (`url`, `username`/`password` or a token
//! as password, `sshPrivateKey`); `repo-creds` holds credentials for every
//! repository under a URL prefix; `cluster` describes a destination cluster
//! (`name`, `server`, `config` with `bearerToken`, `username`/`password` and
//! `tlsClientConfig`). Credentials are handed to git and to the Kubernetes
//! client only: they never reach logs, events or status.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tracing::{info, warn};
use trellis_kube::Cluster;
use trellis_render::AppRenderer;
use trellis_source::{RepoCredentials, Sources};

use crate::AppKey;
use crate::controller::{Ctx, read, write};

/// The label that marks Argo CD's repository and cluster Secrets.
pub const SECRET_TYPE_LABEL: &str = "argocd.argoproj.io/secret-type";

/// A destination cluster from a cluster Secret.
#[derive(Clone)]
pub(crate) struct ClusterSecret {
    pub name: String,
    pub server: String,
    pub cluster: Cluster,
    /// A digest of the Secret's data: a change of credentials for the same
    /// server must replace the client.
    pub fingerprint: String,
}

/// The Secrets seen so far, by name.
#[derive(Default)]
pub(crate) struct Secrets {
    repositories: BTreeMap<String, RepoCredentials>,
}

fn data(secret: &Value) -> HashMap<String, String> {
    let mut out = HashMap::new();
    if let Some(map) = secret.get("data").and_then(Value::as_object) {
        for (k, v) in map {
            if let Some(text) = v
                .as_str()
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                .and_then(|b| String::from_utf8(b).ok())
            {
                out.insert(k.clone(), text);
            }
        }
    }
    if let Some(map) = secret.get("stringData").and_then(Value::as_object) {
        for (k, v) in map {
            if let Some(text) = v.as_str() {
                out.insert(k.clone(), text.to_string());
            }
        }
    }
    out
}

/// Reads a repository or repo-creds Secret; an ssh key is written to a
/// private file under the cache directory, as git needs a file.
pub(crate) fn repository(secret: &Value, key_dir: &std::path::Path) -> Option<RepoCredentials> {
    let d = data(secret);
    let url = d.get("url")?.trim().to_string();
    if url.is_empty() {
        return None;
    }
    let ssh_private_key_file = match d.get("sshPrivateKey").filter(|k| !k.trim().is_empty()) {
        Some(key) => match write_key(key_dir, &url, key) {
            Ok(path) => Some(path),
            Err(error) => {
                warn!(%error, "cannot store an ssh key from a repository secret");
                None
            }
        },
        None => None,
    };
    Some(RepoCredentials {
        url_prefix: url,
        username: d
            .get("username")
            .cloned()
            .filter(|s| !s.is_empty())
            .or_else(|| {
                // A token alone authenticates with any user name.
                d.get("password").map(|_| "git".to_string())
            }),
        password: d.get("password").cloned(),
        ssh_private_key_file,
    })
}

fn write_key(dir: &std::path::Path, url: &str, key: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let name = format!("{:x}", Sha256::digest(url.as_bytes()));
    let path = dir.join(format!("{}.key", &name[..16]));
    let mut text = key.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)?;
        file.write_all(text.as_bytes())?;
    }
    #[cfg(not(unix))]
    std::fs::write(&path, text)?;
    Ok(path)
}

/// Reads a cluster Secret into a connected client.
pub(crate) async fn cluster(secret: &Value) -> Result<ClusterSecret, String> {
    let d = data(secret);
    let fingerprint = {
        let mut entries: Vec<(&String, &String)> = d.iter().collect();
        entries.sort();
        format!("{:x}", Sha256::digest(format!("{entries:?}").as_bytes()))
    };
    let server = d
        .get("server")
        .map(|s| s.trim().trim_end_matches('/').to_string())
        .filter(|s| !s.is_empty())
        .ok_or("the secret has no server")?;
    let name = d.get("name").cloned().unwrap_or_else(|| server.clone());
    let config: Value = match d.get("config") {
        Some(text) if !text.trim().is_empty() => {
            serde_json::from_str(text).map_err(|e| format!("config is not JSON: {e}"))?
        }
        _ => json!({}),
    };
    let tls = config.get("tlsClientConfig").cloned().unwrap_or_default();
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let mut cluster = json!({"server": server});
    if tls.get("insecure").and_then(Value::as_bool) == Some(true) {
        cluster["insecure-skip-tls-verify"] = json!(true);
    }
    if let Some(ca) = s(&tls, "caData") {
        cluster["certificate-authority-data"] = json!(ca);
    }
    if let Some(sni) = s(&tls, "serverName") {
        cluster["tls-server-name"] = json!(sni);
    }
    let mut user = json!({});
    if let Some(token) = s(&config, "bearerToken") {
        user["token"] = json!(token);
    }
    if let Some(u) = s(&config, "username") {
        user["username"] = json!(u);
    }
    if let Some(p) = s(&config, "password") {
        user["password"] = json!(p);
    }
    if let Some(c) = s(&tls, "certData") {
        user["client-certificate-data"] = json!(c);
    }
    if let Some(k) = s(&tls, "keyData") {
        user["client-key-data"] = json!(k);
    }
    let kubeconfig = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "ctx",
    });
    let kubeconfig: kube::config::Kubeconfig =
        serde_json::from_value(kubeconfig).map_err(|e| format!("cluster {name}: {e}"))?;
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .map_err(|e| format!("cluster {name}: {e}"))?;
    let cluster = Cluster::from_config(config).map_err(|e| format!("cluster {name}: {e}"))?;
    Ok(ClusterSecret {
        name,
        server,
        cluster,
        fingerprint,
    })
}

/// Watches the controller namespace's labelled Secrets and applies them:
/// new repository credentials replace the renderer's repository cache;
/// cluster Secrets replace the destination engines.
pub(crate) async fn watch(ctx: Arc<Ctx>) {
    let resource = kube::api::ApiResource {
        group: String::new(),
        version: "v1".into(),
        api_version: "v1".into(),
        kind: "Secret".into(),
        plural: "secrets".into(),
    };
    let api: Api<DynamicObject> = Api::namespaced_with(
        ctx.cluster.client().clone(),
        &ctx.options.namespace,
        &resource,
    );
    let config = watcher::Config::default().labels(SECRET_TYPE_LABEL);
    let mut stream = watcher(api, config).default_backoff().boxed();
    let key_dir = ctx.options.source.cache_dir.join("credentials");
    let mut clusters: BTreeMap<String, ClusterSecret> = BTreeMap::new();
    let mut repos: BTreeMap<String, RepoCredentials> = BTreeMap::new();
    let mut listing = false;
    let mut first = true;
    while let Some(event) = stream.next().await {
        let Ok(event) = event else { continue };
        let (object, deleted) = match event {
            watcher::Event::Init => {
                listing = true;
                clusters.clear();
                repos.clear();
                continue;
            }
            watcher::Event::InitDone => {
                listing = false;
                apply(&ctx, &repos, &clusters);
                if first {
                    first = false;
                    ctx.listed.send_modify(|n| *n += 1);
                }
                continue;
            }
            watcher::Event::InitApply(o) | watcher::Event::Apply(o) => (o, false),
            watcher::Event::Delete(o) => (o, true),
        };
        let Ok(value) = serde_json::to_value(object) else {
            continue;
        };
        let name = value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let kind = value
            .pointer("/metadata/labels")
            .and_then(|l| l.get(SECRET_TYPE_LABEL))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        repos.remove(&name);
        clusters.remove(&name);
        if !deleted {
            match kind.as_str() {
                "repository" | "repo-creds" => match repository(&value, &key_dir) {
                    Some(creds) => {
                        repos.insert(name.clone(), creds);
                    }
                    None => warn!(secret = %name, "repository secret without a url"),
                },
                "cluster" => match cluster(&value).await {
                    Ok(c) => {
                        clusters.insert(name.clone(), c);
                    }
                    Err(error) => warn!(secret = %name, %error, "unusable cluster secret"),
                },
                _ => {}
            }
        }
        if !listing {
            apply(&ctx, &repos, &clusters);
        }
    }
}

fn apply(
    ctx: &Ctx,
    repos: &BTreeMap<String, RepoCredentials>,
    clusters: &BTreeMap<String, ClusterSecret>,
) {
    let changed_repos = {
        let mut known = crate::controller::lock(&ctx.secrets);
        let changed = known.repositories != *repos;
        known.repositories = repos.clone();
        changed
    };
    if changed_repos {
        let mut config = ctx.options.source.clone();
        config.credentials.extend(repos.values().cloned());
        match Sources::new(config) {
            Ok(sources) => {
                *write(&ctx.renderer) = AppRenderer::new(sources);
                info!(repositories = repos.len(), "repository credentials updated");
            }
            Err(error) => warn!(%error, "cannot apply repository credentials"),
        }
    }
    let new: HashMap<String, ClusterSecret> = clusters
        .values()
        .map(|c| (c.server.clone(), c.clone()))
        .collect();
    let digest = |m: &HashMap<String, ClusterSecret>| {
        let mut v: Vec<(String, String, String)> = m
            .values()
            .map(|c| (c.server.clone(), c.name.clone(), c.fingerprint.clone()))
            .collect();
        v.sort();
        v
    };
    let changed_clusters = digest(&read(&ctx.clusters)) != digest(&new);
    let count = new.len();
    *write(&ctx.clusters) = new;
    if changed_clusters {
        ctx.reset_engines();
        info!(clusters = count, "destination clusters updated");
    }
    if changed_repos || changed_clusters {
        let keys: Vec<AppKey> = read(&ctx.apps).keys().cloned().collect();
        for key in keys {
            ctx.queue.add(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn repository_secret_with_a_token() {
        let dir = tempfile::tempdir().unwrap();
        let secret =
            json!({"data": {"url": b64("https://git.example.com/a.git"), "password": b64("tok")}});
        let creds = repository(&secret, dir.path()).unwrap();
        assert_eq!(creds.url_prefix, "https://git.example.com/a.git");
        assert_eq!(creds.password.as_deref(), Some("tok"));
        assert_eq!(creds.username.as_deref(), Some("git"));
        assert!(creds.ssh_private_key_file.is_none());
        // Debug output never shows the password.
        assert!(!format!("{creds:?}").contains("tok\""));
    }

    #[test]
    fn repository_secret_with_an_ssh_key_gets_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let secret =
            json!({"data": {"url": b64("git@example.com:a.git"), "sshPrivateKey": b64("KEY")}});
        let creds = repository(&secret, dir.path()).unwrap();
        let path = creds.ssh_private_key_file.unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "KEY\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
