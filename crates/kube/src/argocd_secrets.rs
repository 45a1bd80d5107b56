//! Repository and cluster Secrets in Argo CD's declarative format, read from
//! one namespace: the one place the controller and the web server learn of
//! private repositories and of destination clusters.
//!
//! A Secret labelled [`SECRET_TYPE_LABEL`]` = repository` holds the
//! credentials of one repository (`url`, `username`/`password` or a token
//! as `password`, `sshPrivateKey`); `repo-creds` holds credentials for every
//! repository under a URL prefix; `cluster` describes a destination cluster
//! (`name`, `server`, and `config`: JSON with `bearerToken`,
//! `username`/`password` and `tlsClientConfig` with `insecure`, `caData`,
//! `certData`, `keyData`, `serverName`).
//!
//! This module stays neutral about git: a repository Secret is read into a
//! [`RepositorySecret`] (plain fields), and whoever fetches repositories
//! turns it into its own credentials (an ssh key, say, into a private file).
//! Credentials never appear in `Debug` output or in error messages, so
//! callers may log both.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tracing::warn;

use crate::connect::Cluster;

/// The label that marks Argo CD's repository and cluster Secrets.
pub const SECRET_TYPE_LABEL: &str = "argocd.argoproj.io/secret-type";

/// The in-cluster destination's server URL, as Argo CD names it.
pub const IN_CLUSTER: &str = "https://kubernetes.default.svc";

/// The cluster name of the in-cluster destination.
pub const IN_CLUSTER_NAME: &str = "in-cluster";

/// Why a labelled Secret, or a destination, could not be used.
///
/// No variant carries a credential: messages may be logged and returned.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// A repository or repo-creds Secret has no `url`.
    #[error("the secret has no url")]
    NoUrl,
    /// A cluster Secret has no `server`.
    #[error("the secret has no server")]
    NoServer,
    /// A cluster Secret's `config` is not JSON.
    #[error("cluster {name}: config is not JSON: {source}")]
    Config {
        /// The cluster's name.
        name: String,
        /// The parser's error (a position, never the text).
        #[source]
        source: serde_json::Error,
    },
    /// The connection settings of a cluster Secret are unusable (bad
    /// certificate data, say).
    #[error("cluster {name}: {source}")]
    Kubeconfig {
        /// The cluster's name.
        name: String,
        /// kube-rs's error.
        #[source]
        source: Box<kube::config::KubeconfigError>,
    },
    /// No client could be built for a cluster Secret's server.
    #[error("cluster {name}: {source}")]
    Client {
        /// The cluster's name.
        name: String,
        /// The client error.
        #[source]
        source: Box<crate::Error>,
    },
    /// A destination names a cluster no cluster Secret describes.
    #[error("there is no cluster named '{0}': no cluster secret names it")]
    UnknownClusterName(String),
    /// A destination's server is neither the in-cluster one nor described
    /// by a cluster Secret.
    #[error("cluster {0} is not known: no cluster secret names it")]
    UnknownServer(String),
}

/// What a labelled Secret describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretType {
    /// Credentials of one repository.
    Repository,
    /// Credentials of every repository under a URL prefix.
    RepoCreds,
    /// A destination cluster.
    Cluster,
}

/// The type a Secret's [`SECRET_TYPE_LABEL`] gives it, if any known.
pub fn secret_type(secret: &Value) -> Option<SecretType> {
    match secret
        .pointer("/metadata/labels")
        .and_then(|l| l.get(SECRET_TYPE_LABEL))
        .and_then(Value::as_str)?
    {
        "repository" => Some(SecretType::Repository),
        "repo-creds" => Some(SecretType::RepoCreds),
        "cluster" => Some(SecretType::Cluster),
        _ => None,
    }
}

/// A Secret's entries as text: `data` decoded from base64, then
/// `stringData` over it (as the API server would merge them). Entries that
/// are not valid base64 or UTF-8 are left out.
pub fn secret_data(secret: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
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

/// The credentials a repository or repo-creds Secret holds.
#[derive(Clone, PartialEq, Eq)]
pub struct RepositorySecret {
    /// The repository URL (`repository`) or URL prefix (`repo-creds`).
    pub url: String,
    /// https user name; `git` when only a password (a token) is given, as
    /// any user name goes with a token.
    pub username: Option<String>,
    /// https password or token.
    pub password: Option<String>,
    /// An ssh private key, as text.
    pub ssh_private_key: Option<String>,
}

impl fmt::Debug for RepositorySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RepositorySecret")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field(
                "ssh_private_key",
                &self.ssh_private_key.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Reads a repository or repo-creds Secret.
pub fn repository_from_secret(secret: &Value) -> Result<RepositorySecret, SecretError> {
    let mut d = secret_data(secret);
    let url = d
        .get("url")
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
        .ok_or(SecretError::NoUrl)?;
    let password = d.remove("password").filter(|p| !p.is_empty());
    let username = d
        .remove("username")
        .filter(|u| !u.is_empty())
        .or_else(|| password.as_ref().map(|_| "git".to_string()));
    Ok(RepositorySecret {
        url,
        username,
        password,
        ssh_private_key: d.remove("sshPrivateKey").filter(|k| !k.trim().is_empty()),
    })
}

/// A destination cluster from a cluster Secret, with a client for it.
#[derive(Clone)]
pub struct ClusterSecret {
    /// The cluster's name (`name`; the server URL when unnamed).
    pub name: String,
    /// The API server URL, without a trailing `/`.
    pub server: String,
    /// A client connected with the Secret's credentials.
    pub cluster: Cluster,
    /// A digest of the Secret's data: a change of credentials for the same
    /// server must replace the client and whatever was built on it.
    pub fingerprint: String,
}

impl fmt::Debug for ClusterSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterSecret")
            .field("name", &self.name)
            .field("server", &self.server)
            .finish()
    }
}

/// Reads a cluster Secret into a client for that cluster (no request is
/// made yet).
pub async fn cluster_from_secret(secret: &Value) -> Result<ClusterSecret, SecretError> {
    let d = secret_data(secret);
    let fingerprint = {
        let mut digest = Sha256::new();
        for (k, v) in &d {
            // Lengths first, so no two different maps hash the same text.
            digest.update(format!("{}:{}:", k.len(), v.len()));
            digest.update(k.as_bytes());
            digest.update(v.as_bytes());
        }
        format!("{:x}", digest.finalize())
    };
    let server = d
        .get("server")
        .map(|s| s.trim().trim_end_matches('/').to_string())
        .filter(|s| !s.is_empty())
        .ok_or(SecretError::NoServer)?;
    let name = d
        .get("name")
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| server.clone());
    let config: Value = match d.get("config") {
        Some(text) if !text.trim().is_empty() => {
            serde_json::from_str(text).map_err(|source| SecretError::Config {
                name: name.clone(),
                source,
            })?
        }
        _ => json!({}),
    };
    let kubeconfig = kubeconfig(&server, &config);
    let kubeconfig: kube::config::Kubeconfig =
        serde_json::from_value(kubeconfig).map_err(|source| SecretError::Config {
            name: name.clone(),
            source,
        })?;
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .map_err(|source| SecretError::Kubeconfig {
        name: name.clone(),
        source: Box::new(source),
    })?;
    let cluster = Cluster::from_config(config).map_err(|source| SecretError::Client {
        name: name.clone(),
        source: Box::new(source),
    })?;
    Ok(ClusterSecret {
        name,
        server,
        cluster,
        fingerprint,
    })
}

/// A kubeconfig (as JSON) reaching `server` with the credentials of a
/// cluster Secret's `config`.
fn kubeconfig(server: &str, config: &Value) -> Value {
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
    for (from, to, within) in [
        ("bearerToken", "token", config),
        ("username", "username", config),
        ("password", "password", config),
        ("certData", "client-certificate-data", &tls),
        ("keyData", "client-key-data", &tls),
    ] {
        if let Some(v) = s(within, from) {
            user[to] = json!(v);
        }
    }
    json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "ctx",
    })
}

/// Resolves an Application's destination to a server URL: its `server`
/// (without a trailing `/`) when set, else the server of the cluster
/// Secret of that `name`; no name, or `in-cluster`, is [`IN_CLUSTER`].
pub fn resolve_destination<'a>(
    server: Option<&str>,
    name: Option<&str>,
    clusters: impl IntoIterator<Item = &'a ClusterSecret>,
) -> Result<String, SecretError> {
    if let Some(server) = server.map(str::trim).filter(|s| !s.is_empty()) {
        return Ok(server.trim_end_matches('/').to_string());
    }
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        None | Some(IN_CLUSTER_NAME) => Ok(IN_CLUSTER.to_string()),
        Some(name) => clusters
            .into_iter()
            .find(|c| c.name == name)
            .map(|c| c.server.clone())
            .ok_or_else(|| SecretError::UnknownClusterName(name.to_string())),
    }
}

/// The labelled Secrets of a namespace, as last read; keyed by Secret name.
#[derive(Debug, Clone, Default)]
pub struct SecretSet {
    /// Repository and repo-creds Secrets.
    pub repositories: BTreeMap<String, RepositorySecret>,
    /// Cluster Secrets.
    pub clusters: BTreeMap<String, ClusterSecret>,
}

impl SecretSet {
    /// The cluster Secret for a server URL.
    pub fn cluster(&self, server: &str) -> Option<&ClusterSecret> {
        let server = server.trim_end_matches('/');
        self.clusters.values().find(|c| c.server == server)
    }

    /// Resolves a destination (see [`resolve_destination`]).
    pub fn server_of(
        &self,
        server: Option<&str>,
        name: Option<&str>,
    ) -> Result<String, SecretError> {
        resolve_destination(server, name, self.clusters.values())
    }
}

/// Watches the labelled Secrets of `namespace` and calls `on_change` with
/// all of them: once each (re)listing is complete, then after every change.
/// Runs until the task is dropped; watch failures are retried with
/// backoff. An unusable Secret is left out and logged by name with its
/// reason (never its data).
pub async fn watch(cluster: Cluster, namespace: String, mut on_change: impl FnMut(&SecretSet)) {
    let resource = ApiResource {
        group: String::new(),
        version: "v1".into(),
        api_version: "v1".into(),
        kind: "Secret".into(),
        plural: "secrets".into(),
    };
    let api: Api<DynamicObject> =
        Api::namespaced_with(cluster.client().clone(), &namespace, &resource);
    let config = watcher::Config::default().labels(SECRET_TYPE_LABEL);
    let mut stream = watcher(api, config).default_backoff().boxed();
    let mut set = SecretSet::default();
    let mut listed = SecretSet::default();
    let mut listing = false;
    while let Some(event) = stream.next().await {
        let Ok(event) = event else { continue };
        let (object, deleted) = match event {
            watcher::Event::Init => {
                listing = true;
                listed = SecretSet::default();
                continue;
            }
            watcher::Event::InitDone => {
                listing = false;
                set = std::mem::take(&mut listed);
                on_change(&set);
                continue;
            }
            watcher::Event::InitApply(o) | watcher::Event::Apply(o) => (o, false),
            watcher::Event::Delete(o) => (o, true),
        };
        let Ok(value) = serde_json::to_value(object) else {
            continue;
        };
        let target = if listing { &mut listed } else { &mut set };
        read_into(target, &value, deleted).await;
        if !listing {
            on_change(&set);
        }
    }
}

/// Updates `set` with one Secret (added, changed or deleted).
async fn read_into(set: &mut SecretSet, secret: &Value, deleted: bool) {
    let name = secret
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    set.repositories.remove(&name);
    set.clusters.remove(&name);
    if deleted {
        return;
    }
    match secret_type(secret) {
        Some(SecretType::Repository | SecretType::RepoCreds) => {
            match repository_from_secret(secret) {
                Ok(repository) => {
                    set.repositories.insert(name, repository);
                }
                Err(error) => warn!(secret = %name, %error, "unusable repository secret"),
            }
        }
        Some(SecretType::Cluster) => match cluster_from_secret(secret).await {
            Ok(cluster) => {
                set.clusters.insert(name, cluster);
            }
            Err(error) => warn!(secret = %name, %error, "unusable cluster secret"),
        },
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn data_is_decoded_and_string_data_wins() {
        let secret = json!({
            "data": {"url": b64("https://a"), "bad": "!!!", "password": b64("x")},
            "stringData": {"password": "y"},
        });
        let d = secret_data(&secret);
        assert_eq!(d.get("url").map(String::as_str), Some("https://a"));
        assert_eq!(d.get("password").map(String::as_str), Some("y"));
        assert!(!d.contains_key("bad"));
    }

    #[test]
    fn a_repository_secret_with_a_token_gets_a_user_name() {
        let secret =
            json!({"data": {"url": b64("https://git.example.com/a.git"), "password": b64("tok")}});
        let r = repository_from_secret(&secret).unwrap();
        assert_eq!(r.url, "https://git.example.com/a.git");
        assert_eq!(r.username.as_deref(), Some("git"));
        assert_eq!(r.password.as_deref(), Some("tok"));
        assert_eq!(r.ssh_private_key, None);
        let shown = format!("{r:?}");
        assert!(!shown.contains("tok\""), "{shown}");
    }

    #[test]
    fn a_repository_secret_keeps_its_key_out_of_debug() {
        let secret =
            json!({"stringData": {"url": "git@example.com:a.git", "sshPrivateKey": "KEY-TEXT"}});
        let r = repository_from_secret(&secret).unwrap();
        assert_eq!(r.ssh_private_key.as_deref(), Some("KEY-TEXT"));
        assert_eq!(r.username, None);
        assert!(!format!("{r:?}").contains("KEY-TEXT"));
    }

    #[test]
    fn a_repository_secret_needs_a_url() {
        let err = repository_from_secret(&json!({"stringData": {"password": "p"}})).unwrap_err();
        assert!(matches!(err, SecretError::NoUrl), "{err}");
    }

    #[test]
    fn secret_types_come_from_the_label() {
        let typed = |t: &str| json!({"metadata": {"labels": {SECRET_TYPE_LABEL: t}}});
        assert_eq!(
            secret_type(&typed("repository")),
            Some(SecretType::Repository)
        );
        assert_eq!(
            secret_type(&typed("repo-creds")),
            Some(SecretType::RepoCreds)
        );
        assert_eq!(secret_type(&typed("cluster")), Some(SecretType::Cluster));
        assert_eq!(secret_type(&typed("other")), None);
        assert_eq!(secret_type(&json!({})), None);
    }

    #[tokio::test]
    async fn a_cluster_secret_gives_a_client_and_a_fingerprint() {
        let secret = json!({"stringData": {
            "name": "remote",
            "server": "https://10.0.0.1:6443/",
            "config": r#"{"bearerToken": "secret-token", "tlsClientConfig": {"insecure": true}}"#,
        }});
        let c = cluster_from_secret(&secret).await.unwrap();
        assert_eq!(c.name, "remote");
        assert_eq!(c.server, "https://10.0.0.1:6443");
        assert!(c.cluster.server().starts_with("https://10.0.0.1:6443"));
        assert!(!format!("{c:?}").contains("secret-token"));
        let mut changed = secret.clone();
        changed["stringData"]["config"] = json!(r#"{"bearerToken": "other"}"#);
        let c2 = cluster_from_secret(&changed).await.unwrap();
        assert_ne!(c.fingerprint, c2.fingerprint);
        assert_eq!(
            c.fingerprint,
            cluster_from_secret(&secret).await.unwrap().fingerprint
        );
    }

    #[tokio::test]
    async fn a_cluster_secret_with_bad_config_names_the_cluster_not_the_text() {
        let secret = json!({"stringData": {"name": "remote", "server": "https://x", "config": "{\"bearerToken\": \"tok-123"}});
        let err = cluster_from_secret(&secret).await.unwrap_err();
        assert!(matches!(err, SecretError::Config { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("remote") && !text.contains("tok-123"),
            "{text}"
        );
        let err = cluster_from_secret(&json!({"stringData": {"name": "n"}}))
            .await
            .unwrap_err();
        assert!(matches!(err, SecretError::NoServer), "{err}");
    }

    #[tokio::test]
    async fn destinations_resolve_by_server_or_by_name() {
        let remote = cluster_from_secret(
            &json!({"stringData": {"name": "remote", "server": "https://r:6443"}}),
        )
        .await
        .unwrap();
        let set = SecretSet {
            repositories: BTreeMap::new(),
            clusters: BTreeMap::from([("cluster-remote".to_string(), remote)]),
        };
        assert_eq!(
            set.server_of(Some("https://a/"), None).unwrap(),
            "https://a"
        );
        assert_eq!(
            set.server_of(None, Some("remote")).unwrap(),
            "https://r:6443"
        );
        assert_eq!(set.server_of(None, None).unwrap(), IN_CLUSTER);
        assert_eq!(
            set.server_of(Some(""), Some("in-cluster")).unwrap(),
            IN_CLUSTER
        );
        let err = set.server_of(None, Some("nowhere")).unwrap_err();
        assert!(matches!(err, SecretError::UnknownClusterName(ref n) if n == "nowhere"));
        assert!(set.cluster("https://r:6443/").is_some());
        assert!(set.cluster("https://a").is_none());
    }
}
