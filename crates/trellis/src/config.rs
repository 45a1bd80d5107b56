//! Resolved configuration: the config file and flags turned into what the
//! library crates need (a repository cache with its map and credentials).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use trellis_source::{RepoCredentials, RepoMap, SourceConfig, SourceEvent, Sources, is_remote_url};

use crate::cli::GlobalArgs;
use crate::progress::Progress;

/// The configuration file, `$TRELLIS_CONFIG` or
/// `$XDG_CONFIG_HOME/trellis/config.yaml`.
///
/// ```yaml
/// cacheDir: /var/cache/trellis
/// repoMap:
///   https://github.com/acme/infra.git: ../infra     # relative to this file
/// repositories:
///   - url: https://git.example.com/
///     username: deploy-bot
///     passwordEnv: GIT_TOKEN                      # read from the environment
///   - url: git@github.com:acme/
///     sshPrivateKeyFile: ~/.ssh/deploy_key
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigFile {
    /// Where fetched repositories are cached.
    pub cache_dir: Option<PathBuf>,
    /// Repository URL → location it is read from.
    #[serde(default)]
    pub repo_map: BTreeMap<String, String>,
    /// Credentials by URL prefix.
    #[serde(default)]
    pub repositories: Vec<RepositoryEntry>,
}

/// Credentials for repositories whose URL starts with `url`.
///
/// Secrets are never written in the file itself: they are named by the
/// environment variable or file that holds them.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RepositoryEntry {
    /// URL prefix the entry applies to; the longest matching prefix wins.
    pub url: String,
    /// User name for https.
    pub username: Option<String>,
    /// Environment variable holding the user name.
    pub username_env: Option<String>,
    /// Environment variable holding the password or token for https.
    pub password_env: Option<String>,
    /// File holding the password or token for https.
    pub password_file: Option<PathBuf>,
    /// SSH private key for ssh URLs.
    pub ssh_private_key_file: Option<PathBuf>,
}

/// Loads the config file named by flag or environment, or the default one if
/// it exists. Returns the file (or defaults) and the directory relative paths
/// in it are resolved against.
fn load_file(global: &GlobalArgs) -> Result<(ConfigFile, PathBuf)> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let (path, required) = match &global.config {
        Some(path) => (path.clone(), true),
        None => match default_config_path() {
            Some(path) => (path, false),
            None => return Ok((ConfigFile::default(), cwd)),
        },
    };
    if !required && !path.exists() {
        return Ok((ConfigFile::default(), cwd));
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    let file: ConfigFile = serde_saphyr::from_str(&text)
        .map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))?;
    let base = path
        .parent()
        .map(Path::to_path_buf)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(cwd);
    Ok((file, base))
}

fn default_config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("trellis").join("config.yaml"))
}

pub fn default_cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("trellis")
}

/// Expands `~/` and makes a relative path absolute against `base`.
fn absolute(path: &Path, base: &Path) -> PathBuf {
    if let Ok(rest) = path.strip_prefix("~")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

/// A location is passed to git as is when it is a URL (`scheme://` or
/// scp-like `user@host:path`); otherwise it is a local path.
fn resolve_location(location: &str, base: &Path) -> String {
    if is_remote_url(location) {
        location.to_string()
    } else {
        absolute(Path::new(location), base)
            .to_string_lossy()
            .into_owned()
    }
}

/// Builds the repository cache from the config file, the flags and the
/// environment (`TRELLIS_GIT_USERNAME`/`TRELLIS_GIT_PASSWORD` apply to every
/// repository without a more specific entry in the config file).
pub fn sources(global: &GlobalArgs, progress: &Progress) -> Result<Sources> {
    let mut config = source_config(global)?;
    let progress = progress.clone();
    config.observer = Some(Arc::new(move |event: &SourceEvent| {
        progress.source_event(event)
    }));
    Ok(Sources::new(config)?)
}

/// The repository settings from the command line and the config file:
/// cache directory, repository map and credentials.
pub fn source_config(global: &GlobalArgs) -> Result<SourceConfig> {
    let (file, base) = load_file(global)?;
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let cache_dir = match (&global.cache_dir, &file.cache_dir) {
        (Some(dir), _) => absolute(dir, &cwd),
        (None, Some(dir)) => absolute(dir, &base),
        (None, None) => default_cache_dir(),
    };
    let mut repo_map = RepoMap::new();
    for (url, location) in &file.repo_map {
        repo_map.insert(url, &resolve_location(location, &base));
    }
    for entry in &global.repo_map {
        let (url, location) = RepoMap::parse_entry(entry)
            .map_err(|e| crate::UsageError(format!("--repo-map {entry:?}: {e}")))?;
        repo_map.insert(&url, &resolve_location(&location, &cwd));
    }
    let mut config = SourceConfig::from_env(cache_dir);
    config.repo_map = repo_map;
    for entry in &file.repositories {
        config
            .credentials
            .push(repository_credentials(entry, &base)?);
    }
    Ok(config)
}

fn repository_credentials(entry: &RepositoryEntry, base: &Path) -> Result<RepoCredentials> {
    let env = |name: &str| {
        std::env::var(name).with_context(|| {
            format!(
                "repository {}: environment variable {name} is not set",
                entry.url
            )
        })
    };
    let username = match (&entry.username, &entry.username_env) {
        (Some(u), _) => Some(u.clone()),
        (None, Some(var)) => Some(env(var)?),
        (None, None) => None,
    };
    let password = match (&entry.password_env, &entry.password_file) {
        (Some(_), Some(_)) => bail!(
            "repository {}: give passwordEnv or passwordFile, not both",
            entry.url
        ),
        (Some(var), None) => Some(env(var)?),
        (None, Some(file)) => {
            let path = absolute(file, base);
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!(
                    "repository {}: reading password file {}",
                    entry.url,
                    path.display()
                )
            })?;
            Some(text.trim_end_matches(['\n', '\r']).to_string())
        }
        (None, None) => None,
    };
    Ok(RepoCredentials {
        url_prefix: entry.url.clone(),
        username,
        password,
        ssh_private_key_file: entry
            .ssh_private_key_file
            .as_deref()
            .map(|p| absolute(p, base)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_paths_but_keep_urls() {
        let base = Path::new("/base");
        assert_eq!(resolve_location("../infra", base), "/base/../infra");
        assert_eq!(resolve_location("/abs", base), "/abs");
        assert_eq!(resolve_location("https://x/y.git", base), "https://x/y.git");
        assert_eq!(
            resolve_location("git@github.com:acme/x.git", base),
            "git@github.com:acme/x.git"
        );
    }

    #[test]
    fn config_file_rejects_unknown_keys() {
        let err = serde_saphyr::from_str::<ConfigFile>("cacheDir: /x\nrepomap: {}\n").unwrap_err();
        assert!(err.to_string().contains("repomap"), "{err}");
    }
}
