//! The credentials `trellis login` saves: `$XDG_CONFIG_HOME/trellis/login.yaml`
//! (else `~/.config/trellis/login.yaml`), readable by the user only, one
//! entry per server and a current server.
//!
//! ```yaml
//! current: http://127.0.0.1:8080
//! servers:
//!   http://127.0.0.1:8080:
//!     username: admin
//!     token: trellis_...
//!     tokenId: 3f2a...
//! ```

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::client::Auth;

/// Why the login file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Neither `$XDG_CONFIG_HOME` nor `$HOME` is set.
    #[error("cannot tell where to keep logins: set HOME or XDG_CONFIG_HOME")]
    NoConfigDir,
    /// Reading or writing the file failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a login file (the message names the line).
    #[error("{path}: {message} (fix or delete the file, then run trellis login again)")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        message: String,
    },
    /// The logins could not be written as YAML.
    #[error("writing {path}: {message}")]
    Serialize {
        /// The file.
        path: PathBuf,
        /// The serializer's error.
        message: String,
    },
}

/// A module-local result.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The credentials saved for one server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedLogin {
    /// Who logged in.
    #[serde(default)]
    pub username: String,
    /// An API token created at login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The token's id, to revoke it at logout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// A session cookie, where no token could be created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The session's CSRF token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf: Option<String>,
    /// The certificate authorities file the login trusted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

impl SavedLogin {
    /// How requests authenticate with these credentials.
    pub fn auth(&self) -> Auth {
        match (&self.token, &self.session) {
            (Some(token), _) => Auth::Token(token.clone()),
            (None, Some(cookie)) => Auth::Session {
                cookie: cookie.clone(),
                csrf: self.csrf.clone().unwrap_or_default(),
            },
            (None, None) => Auth::None,
        }
    }
}

/// The whole login file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Logins {
    /// The server commands use when none is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    /// Credentials by server URL.
    #[serde(default)]
    pub servers: BTreeMap<String, SavedLogin>,
}

impl Logins {
    /// The current server and its credentials.
    pub fn current(&self) -> Option<(&str, &SavedLogin)> {
        let server = self.current.as_deref()?;
        self.servers.get(server).map(|login| (server, login))
    }
}

/// Where the login file is.
pub fn path() -> Result<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".config"))
        })
        .ok_or(StoreError::NoConfigDir)?;
    Ok(base.join("trellis").join("login.yaml"))
}

/// Reads the logins; none when the file does not exist.
pub fn load(path: &Path) -> Result<Logins> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Logins::default()),
        Err(source) => {
            return Err(StoreError::Io {
                action: "reading",
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if text.trim().is_empty() {
        return Ok(Logins::default());
    }
    serde_saphyr::from_str(&text).map_err(|e| StoreError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Writes the logins (readable by the user only), or removes the file when
/// there are none. The new content replaces the old at once, so a failure
/// never leaves half a file.
pub fn save(path: &Path, logins: &Logins) -> Result<()> {
    if logins.servers.is_empty() {
        return match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StoreError::Io {
                action: "removing",
                path: path.to_path_buf(),
                source,
            }),
        };
    }
    let text = serde_saphyr::to_string(logins).map_err(|e| StoreError::Serialize {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let io = |action: &'static str| {
        let path = path.to_path_buf();
        move |source| StoreError::Io {
            action,
            path,
            source,
        }
    };
    if let Some(dir) = path.parent() {
        create_private_dir(dir).map_err(io("creating the directory of"))?;
    }
    let temporary = path.with_extension("yaml.tmp");
    let mut file = private_file(&temporary).map_err(io("writing"))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io("writing"))?;
    drop(file);
    std::fs::rename(&temporary, path).map_err(io("replacing"))?;
    Ok(())
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // An older file of that name keeps its mode through open(); set it.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::create(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_round_trip_privately_and_vanish_when_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trellis/login.yaml");
        assert_eq!(load(&path).unwrap(), Logins::default());
        let mut logins = Logins::default();
        logins.servers.insert(
            "http://127.0.0.1:8080".into(),
            SavedLogin {
                username: "admin".into(),
                token: Some("trellis_abc".into()),
                token_id: Some("abc".into()),
                ..SavedLogin::default()
            },
        );
        logins.current = Some("http://127.0.0.1:8080".into());
        save(&path, &logins).unwrap();
        assert_eq!(load(&path).unwrap(), logins);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (server, login) = logins.current().unwrap();
        assert_eq!(server, "http://127.0.0.1:8080");
        assert_eq!(login.auth(), Auth::Token("trellis_abc".into()));
        save(&path, &Logins::default()).unwrap();
        assert!(!path.exists());
    }

    #[test]
    fn a_broken_file_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("login.yaml");
        std::fs::write(&path, "servers: [\n").unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("login.yaml"), "{err}");
    }
}
