//! Repository and cluster Secrets in Argo CD's formats, read from the
//! controller's namespace by [`trellis_kube::argocd_secrets`] and applied
//! here: repository credentials to the renderer's repository cache, cluster
//! Secrets to the destination engines. Credentials are handed to git and to
//! the Kubernetes client only: they never reach logs, events or status.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use tracing::{info, warn};
use trellis_kube::argocd_secrets::{self, RepositorySecret, SecretSet};
use trellis_render::AppRenderer;
use trellis_source::{RepoCredentials, Sources};

pub(crate) use trellis_kube::argocd_secrets::ClusterSecret;

use crate::AppKey;
use crate::controller::{Ctx, read, write};

/// The Secrets seen so far, by name.
#[derive(Default)]
pub(crate) struct Secrets {
    repositories: BTreeMap<String, RepoCredentials>,
}

/// The git credentials of a repository Secret; an ssh key is written to a
/// private file under `key_dir`, as git needs a file. `None` (logged) when
/// the key cannot be stored.
pub(crate) fn credentials(
    secret_name: &str,
    repository: &RepositorySecret,
    key_dir: &Path,
) -> Option<RepoCredentials> {
    match RepoCredentials::with_key_text(
        repository.url.clone(),
        repository.username.clone(),
        repository.password.clone(),
        repository.ssh_private_key.as_deref(),
        key_dir,
    ) {
        Ok(credentials) => Some(credentials),
        Err(error) => {
            warn!(secret = %secret_name, %error, "cannot store an ssh key from a repository secret");
            None
        }
    }
}

/// Watches the controller namespace's labelled Secrets and applies them:
/// new repository credentials replace the renderer's repository cache;
/// cluster Secrets replace the destination engines.
pub(crate) async fn watch(ctx: Arc<Ctx>) {
    let key_dir = ctx.options.source.cache_dir.join("credentials");
    let mut first = true;
    let cluster = ctx.cluster.clone();
    let namespace = ctx.options.namespace.clone();
    argocd_secrets::watch(cluster, namespace, |set: &SecretSet| {
        let repos: BTreeMap<String, RepoCredentials> = set
            .repositories
            .iter()
            .filter_map(|(name, r)| Some((name.clone(), credentials(name, r, &key_dir)?)))
            .collect();
        apply(&ctx, &repos, &set.clusters);
        if first {
            first = false;
            ctx.listed.send_modify(|n| *n += 1);
        }
    })
    .await;
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
    use serde_json::json;

    #[test]
    fn a_repository_secret_becomes_git_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let secret = json!({"stringData": {
            "url": "git@example.com:a.git", "sshPrivateKey": "KEY", "password": "tok",
        }});
        let repository = argocd_secrets::repository_from_secret(&secret).unwrap();
        let creds = credentials("repo", &repository, dir.path()).unwrap();
        assert_eq!(creds.url_prefix, "git@example.com:a.git");
        assert_eq!(creds.username.as_deref(), Some("git"));
        assert_eq!(creds.password.as_deref(), Some("tok"));
        let path = creds.ssh_private_key_file.unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "KEY\n");
        assert!(!format!("{repository:?}").contains("tok\""));
    }
}
