//! Repository URLs: normalization (for matching and cache keys), credential redaction (for every
//! message and log line), and classification of a location as a git remote or a plain directory.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Result, SourceError};

/// Where a repository's content comes from once the repository map has been applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// Something git can fetch from: a URL (`https://`, `ssh://`, `git@host:path`, `file://`) or
    /// the absolute path of a local repository.
    Git {
        /// The argument handed to git.
        url: String,
    },
    /// A plain directory read straight from disk; it has no history.
    Directory {
        /// The canonical directory path.
        path: PathBuf,
    },
}

/// Normalizes a repository URL for comparison: surrounding whitespace, credentials, trailing `/`
/// and a `.git` suffix are dropped, and the scheme and host are lower-cased. Paths stay
/// case-sensitive because servers treat them so.
pub fn normalize_url(url: &str) -> String {
    let url = strip_userinfo(url.trim());
    let mut out = lowercase_scheme_and_host(&url);
    while out.ends_with('/') {
        out.pop();
    }
    if let Some(stripped) = out.strip_suffix(".git") {
        out.truncate(stripped.len());
    }
    while out.ends_with('/') {
        out.pop();
    }
    out
}

/// Like [`normalize_url`] but keeps the path exactly (no suffix stripping); used for matching
/// credential prefixes, where `https://host/org/` must not match `https://host/organization`.
pub(crate) fn normalize_prefix(url: &str) -> String {
    lowercase_scheme_and_host(&strip_userinfo(url.trim()))
}

fn lowercase_scheme_and_host(url: &str) -> String {
    if let Some(idx) = url.find("://") {
        let (scheme, rest) = url.split_at(idx);
        let rest = &rest[3..];
        let host_end = rest.find('/').unwrap_or(rest.len());
        let (host, path) = rest.split_at(host_end);
        return format!(
            "{}://{}{}",
            scheme.to_ascii_lowercase(),
            host.to_ascii_lowercase(),
            path
        );
    }
    if let Some((host, path)) = scp_parts(url) {
        return format!("{}:{}", host.to_ascii_lowercase(), path);
    }
    url.to_string()
}

/// Whether `location` is a URL git fetches from (`scheme://...` or an scp-like
/// `[user@]host:path`) rather than a local path, by its form alone.
pub fn is_remote_url(location: &str) -> bool {
    location.contains("://") || scp_parts(location).is_some()
}

/// Splits an scp-like ssh address `[user@]host:path` into (`[user@]host`, `path`).
fn scp_parts(s: &str) -> Option<(&str, &str)> {
    if s.contains("://") {
        return None;
    }
    let colon = s.find(':')?;
    let (host, path) = (&s[..colon], &s[colon + 1..]);
    // A slash before the colon means a local path such as `./a:b`; a single letter is a
    // Windows drive.
    if host.is_empty() || host.contains('/') || host.len() == 1 || path.is_empty() {
        return None;
    }
    Some((host, path))
}

/// Removes the `user:password@` part of a URL.
fn strip_userinfo(url: &str) -> String {
    redact(url)
}

/// Removes credentials from every `scheme://user:password@host` occurrence in `text`, so git's
/// messages and our own can be shown and logged safely.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(idx) = rest.find("://") {
        let (before, after) = rest.split_at(idx + 3);
        out.push_str(before);
        let authority_end = after
            .find(|c: char| c == '/' || c.is_whitespace() || c == '\'' || c == '"' || c == '`')
            .unwrap_or(after.len());
        let authority = &after[..authority_end];
        match authority.rfind('@') {
            Some(at) => out.push_str(&authority[at + 1..]),
            None => out.push_str(authority),
        }
        rest = &after[authority_end..];
    }
    out.push_str(rest);
    out
}

/// Splits the credentials off an `http://` or `https://` URL: the URL without them (safe for a
/// command line) and the percent-decoded user name and password. Other URLs are returned as they
/// are (the user of an ssh URL is not a secret and ssh needs it).
pub(crate) fn split_http_userinfo(url: &str) -> (String, Option<(String, Option<String>)>) {
    let lower = url.to_ascii_lowercase();
    let Some(scheme_len) = ["http://", "https://"]
        .iter()
        .find(|s| lower.starts_with(**s))
        .map(|s| s.len())
    else {
        return (url.to_string(), None);
    };
    let rest = &url[scheme_len..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return (url.to_string(), None);
    };
    let userinfo = &rest[..at];
    let stripped = format!("{}{}", &url[..scheme_len], &rest[at + 1..]);
    let (user, password) = match userinfo.split_once(':') {
        Some((u, p)) => (percent_decode(u), Some(percent_decode(p))),
        None => (percent_decode(userinfo), None),
    };
    (stripped, Some((user, password)))
}

fn percent_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The directory name of a location's bare cache repository: a hash of the normalized location
/// (unique) followed by its last path segment (readable when inspecting the cache).
pub(crate) fn cache_dir_name(location: &str) -> String {
    let normalized = normalize_url(location);
    let digest = Sha256::digest(normalized.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let last = normalized
        .rsplit(['/', ':', '\\'])
        .find(|s| !s.is_empty())
        .unwrap_or("repo");
    let mut readable: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    if readable.is_empty() || readable.starts_with('.') {
        readable.insert(0, 'r');
    }
    format!("{hex}-{readable}")
}

/// Decides whether `location` is something git fetches from or a plain directory.
///
/// `display_url` is the repository as the application names it, used in errors.
pub(crate) fn classify(location: &str, display_url: &str) -> Result<Location> {
    let location = location.trim();
    if location.is_empty() {
        return Err(SourceError::InvalidRepoMap(format!(
            "{}: the repository URL is empty",
            redact(display_url)
        )));
    }
    if let Some(path) = location.strip_prefix("file://") {
        // `file://localhost/path` and `file:///path` name the same local path.
        let path = path.strip_prefix("localhost").unwrap_or(path);
        return classify_local(Path::new(path), location);
    }
    if location.contains("://") || (scp_parts(location).is_some() && !Path::new(location).exists())
    {
        return Ok(Location::Git {
            url: location.to_string(),
        });
    }
    classify_local(Path::new(location), location)
}

fn classify_local(path: &Path, shown: &str) -> Result<Location> {
    let unreachable = |message: String| SourceError::Unreachable {
        url: redact(shown),
        message,
    };
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(unreachable(format!("no such directory {}", path.display())));
        }
        Err(e) => {
            return Err(unreachable(format!(
                "cannot access {}: {e}",
                path.display()
            )));
        }
    };
    if !meta.is_dir() {
        return Err(unreachable(format!(
            "{} is not a directory",
            path.display()
        )));
    }
    let canonical = path
        .canonicalize()
        .map_err(|e| unreachable(format!("cannot access {}: {e}", path.display())))?;
    if is_git_repository_root(&canonical) {
        Ok(Location::Git {
            url: canonical.to_string_lossy().into_owned(),
        })
    } else {
        Ok(Location::Directory { path: canonical })
    }
}

/// A directory is a repository root when it holds `.git` (a working tree) or is itself a bare
/// repository. A subdirectory of a working tree is not: it is read as a plain directory.
fn is_git_repository_root(dir: &Path) -> bool {
    dir.join(".git").exists()
        || (dir.join("HEAD").is_file() && dir.join("objects").is_dir() && dir.join("refs").is_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_strips_suffixes_credentials_and_host_case() {
        assert_eq!(
            normalize_url("https://user:secret@GitHub.com/Acme/Infra.git/"),
            "https://github.com/Acme/Infra"
        );
        assert_eq!(
            normalize_url("git@GitHub.com:acme/infra.git"),
            "git@github.com:acme/infra"
        );
        assert_eq!(normalize_url("  /srv/repos/infra/ "), "/srv/repos/infra");
    }

    #[test]
    fn redaction_removes_userinfo_everywhere() {
        assert_eq!(
            redact("fatal: unable to access 'https://bob:hunter2@example.com/x.git/': 401"),
            "fatal: unable to access 'https://example.com/x.git/': 401"
        );
        assert_eq!(redact("ssh://git@host:22/a"), "ssh://host:22/a");
        assert_eq!(redact("no url here"), "no url here");
    }

    #[test]
    fn http_userinfo_is_split_off_and_decoded() {
        assert_eq!(
            split_http_userinfo("https://bob:p%40ss@host/x.git"),
            (
                "https://host/x.git".to_string(),
                Some(("bob".to_string(), Some("p@ss".to_string())))
            )
        );
        assert_eq!(
            split_http_userinfo("HTTP://tok@host"),
            ("HTTP://host".to_string(), Some(("tok".to_string(), None)))
        );
        assert_eq!(split_http_userinfo("ssh://git@host/x").1, None);
        assert_eq!(split_http_userinfo("https://host/a@b").1, None);
    }

    #[test]
    fn cache_names_are_stable_and_readable() {
        let a = cache_dir_name("https://github.com/acme/infra.git");
        let b = cache_dir_name("https://GITHUB.com/acme/infra/");
        assert_eq!(a, b);
        assert!(a.ends_with("-infra"), "{a}");
        assert_eq!(a.len(), 16 + 1 + "infra".len());
        assert_ne!(a, cache_dir_name("https://github.com/acme/infra2"));
    }

    #[test]
    fn scp_like_addresses_are_remote() {
        assert!(matches!(
            classify("git@github.com:acme/infra.git", "x"),
            Ok(Location::Git { .. })
        ));
        assert!(matches!(
            classify("https://example.com/a.git", "x"),
            Ok(Location::Git { .. })
        ));
        assert!(matches!(
            classify("/definitely/not/here", "x"),
            Err(SourceError::Unreachable { .. })
        ));
    }
}
