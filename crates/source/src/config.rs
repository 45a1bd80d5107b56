//! Configuration of [`Sources`](crate::Sources): where the cache lives, the repository map,
//! credentials, the progress observer and the git timeout.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::repo_map::RepoMap;
use crate::url::normalize_prefix;

/// Environment variable holding the default https user name (see [`SourceConfig::from_env`]).
pub const ENV_USERNAME: &str = "TRELLIS_GIT_USERNAME";
/// Environment variable holding the default https password or token.
pub const ENV_PASSWORD: &str = "TRELLIS_GIT_PASSWORD";
/// Environment variable naming the default ssh private key file.
pub const ENV_SSH_KEY_FILE: &str = "TRELLIS_GIT_SSH_KEY_FILE";

/// Receives progress events, e.g. to drive a spinner. Called on the thread doing the work.
pub type Observer = Arc<dyn Fn(&SourceEvent) + Send + Sync>;

/// Everything [`Sources`](crate::Sources) needs to know.
#[derive(Clone)]
pub struct SourceConfig {
    /// Directory holding the bare repository caches (`<cache_dir>/repos/...`); created if missing.
    /// Several processes may share it.
    pub cache_dir: PathBuf,
    /// Redirects repository URLs to mirrors or local copies.
    pub repo_map: RepoMap,
    /// Credentials, matched by the longest URL prefix of the location being fetched.
    pub credentials: Vec<RepoCredentials>,
    /// Optional progress observer.
    pub observer: Option<Observer>,
    /// Upper bound on one git command (`ls-remote` or `fetch`); the command is stopped after it.
    pub git_timeout: Duration,
    /// Optional `known_hosts` file for ssh; when unset, ssh's own known hosts are used and new
    /// hosts are accepted on first use.
    pub ssh_known_hosts_file: Option<PathBuf>,
    /// The ssh program and its fixed options, as in `GIT_SSH_COMMAND`; when unset,
    /// `GIT_SSH_COMMAND` from the environment, else `ssh`. Non-interactive options and the key
    /// of the matching credentials are appended to it.
    pub ssh_command: Option<String>,
}

impl SourceConfig {
    /// A configuration with an empty repository map, no credentials, no observer and a
    /// five-minute git timeout.
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        Self {
            cache_dir: cache_dir.into(),
            repo_map: RepoMap::new(),
            credentials: Vec::new(),
            observer: None,
            git_timeout: Duration::from_secs(300),
            ssh_known_hosts_file: None,
            ssh_command: None,
        }
    }

    /// Like [`SourceConfig::new`], plus default credentials for every URL from
    /// `TRELLIS_GIT_USERNAME` / `TRELLIS_GIT_PASSWORD` and `TRELLIS_GIT_SSH_KEY_FILE` when set.
    /// Entries added later with a longer URL prefix take precedence over these defaults.
    pub fn from_env(cache_dir: impl Into<PathBuf>) -> Self {
        let mut config = Self::new(cache_dir);
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let (username, password, key) =
            (var(ENV_USERNAME), var(ENV_PASSWORD), var(ENV_SSH_KEY_FILE));
        if username.is_some() || password.is_some() || key.is_some() {
            config.credentials.push(RepoCredentials {
                url_prefix: String::new(),
                username,
                password,
                ssh_private_key_file: key.map(PathBuf::from),
            });
        }
        config
    }

    /// The credentials for `location`: the entry with the longest matching URL prefix.
    pub(crate) fn credentials_for(&self, location: &str) -> Option<&RepoCredentials> {
        let location = normalize_prefix(location);
        self.credentials
            .iter()
            .filter(|c| location.starts_with(&normalize_prefix(&c.url_prefix)))
            .max_by_key(|c| c.url_prefix.len())
    }
}

impl fmt::Debug for SourceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceConfig")
            .field("cache_dir", &self.cache_dir)
            .field("repo_map", &self.repo_map)
            .field("credentials", &self.credentials)
            .field("observer", &self.observer.as_ref().map(|_| "<observer>"))
            .field("git_timeout", &self.git_timeout)
            .field("ssh_known_hosts_file", &self.ssh_known_hosts_file)
            .field("ssh_command", &self.ssh_command)
            .finish()
    }
}

/// Credentials for the repositories whose URL starts with `url_prefix`.
///
/// The password never appears in `Debug` output, logs, errors or a child process's arguments.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RepoCredentials {
    /// URL prefix this entry applies to (`""` applies to every URL); the longest match wins.
    #[serde(alias = "url")]
    pub url_prefix: String,
    /// https user name.
    #[serde(default)]
    pub username: Option<String>,
    /// https password or token.
    #[serde(default)]
    pub password: Option<String>,
    /// ssh private key file, for `ssh://` and `user@host:path` locations.
    #[serde(default, alias = "sshPrivateKeyPath")]
    pub ssh_private_key_file: Option<PathBuf>,
}

impl RepoCredentials {
    /// Credentials for `url_prefix` whose ssh private key is given as text
    /// (from a Secret, say). ssh reads keys from files, so the key is
    /// written under `key_dir` (created if missing) to a file named after
    /// the URL that only the owner may read; the same URL reuses its file.
    pub fn with_key_text(
        url_prefix: impl Into<String>,
        username: Option<String>,
        password: Option<String>,
        ssh_private_key: Option<&str>,
        key_dir: &Path,
    ) -> std::io::Result<Self> {
        let url_prefix = url_prefix.into();
        let ssh_private_key_file = match ssh_private_key.filter(|k| !k.trim().is_empty()) {
            Some(key) => Some(write_key(key_dir, &url_prefix, key)?),
            None => None,
        };
        Ok(Self {
            url_prefix,
            username,
            password,
            ssh_private_key_file,
        })
    }
}

fn write_key(dir: &Path, url: &str, key: &str) -> std::io::Result<PathBuf> {
    use sha2::Digest;
    std::fs::create_dir_all(dir)?;
    let digest = format!("{:x}", sha2::Sha256::digest(url.as_bytes()));
    let path = dir.join(format!("{}.key", &digest[..16]));
    let mut text = key.to_string();
    // ssh refuses a key whose last line is not terminated.
    if !text.ends_with('\n') {
        text.push('\n');
    }
    // Another process sharing the cache (the web server beside the
    // controller) may write the same key: an unchanged file is left alone,
    // a new one is renamed into place whole, so ssh never reads half a key.
    if std::fs::read(&path).is_ok_and(|old| old == text.as_bytes()) {
        return Ok(path);
    }
    let partial = dir.join(format!(
        "{}.key.{}.partial",
        &digest[..16],
        std::process::id()
    ));
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&partial)?;
        file.write_all(text.as_bytes())?;
    }
    #[cfg(not(unix))]
    std::fs::write(&partial, text)?;
    std::fs::rename(&partial, &path)?;
    Ok(path)
}

impl fmt::Debug for RepoCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RepoCredentials")
            .field("url_prefix", &self.url_prefix)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("ssh_private_key_file", &self.ssh_private_key_file)
            .finish()
    }
}

/// Progress of network operations, for the observer in [`SourceConfig::observer`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceEvent {
    /// A fetch began.
    FetchStarted {
        /// The location being fetched, without credentials.
        url: String,
    },
    /// A fetch ended, successfully or not.
    FetchFinished {
        /// The location, without credentials.
        url: String,
        /// How long it took.
        elapsed: Duration,
    },
    /// The remote's refs are being listed.
    LsRemote {
        /// The location, without credentials.
        url: String,
    },
}

/// Counts of network operations since the [`Sources`](crate::Sources) instance was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// `git fetch` runs.
    pub fetches: u64,
    /// `git ls-remote` runs.
    pub ls_remotes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred(prefix: &str, user: &str) -> RepoCredentials {
        RepoCredentials {
            url_prefix: prefix.to_string(),
            username: Some(user.to_string()),
            password: Some("secret".to_string()),
            ssh_private_key_file: None,
        }
    }

    #[test]
    fn longest_prefix_wins() {
        let mut config = SourceConfig::new("/tmp/x");
        config.credentials = vec![
            cred("", "default"),
            cred("https://git.example.com/", "host"),
            cred("https://GIT.example.com/team/", "team"),
        ];
        let user = |url: &str| config.credentials_for(url).and_then(|c| c.username.clone());
        assert_eq!(
            user("https://git.example.com/team/app.git").as_deref(),
            Some("team")
        );
        assert_eq!(
            user("https://git.example.com/other/app").as_deref(),
            Some("host")
        );
        assert_eq!(user("https://elsewhere.org/x").as_deref(), Some("default"));
    }

    #[test]
    fn a_key_given_as_text_goes_to_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let creds = RepoCredentials::with_key_text(
            "git@example.com:a.git",
            None,
            None,
            Some("KEY"),
            &dir.path().join("keys"),
        )
        .unwrap();
        let path = creds.ssh_private_key_file.unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "KEY\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let none =
            RepoCredentials::with_key_text("https://a", None, None, None, dir.path()).unwrap();
        assert_eq!(none.ssh_private_key_file, None);
        // A changed key replaces the file; no partial file is left behind.
        let again = RepoCredentials::with_key_text(
            "git@example.com:a.git",
            None,
            None,
            Some("NEW"),
            &dir.path().join("keys"),
        )
        .unwrap();
        assert_eq!(again.ssh_private_key_file.as_ref(), Some(&path));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "NEW\n");
        assert_eq!(
            std::fs::read_dir(dir.path().join("keys")).unwrap().count(),
            1
        );
    }

    #[test]
    fn debug_hides_password() {
        let shown = format!("{:?}", cred("", "bob"));
        assert!(!shown.contains("secret"), "{shown}");
    }
}
