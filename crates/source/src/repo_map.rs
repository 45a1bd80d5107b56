//! The repository map: render a fixed `repoURL` from another location (a mirror or a local copy)
//! without editing the applications that name it.

use std::collections::BTreeMap;

use crate::error::{Result, SourceError};
use crate::url::{normalize_url, redact};

/// Maps repository URLs, as applications name them, to the locations they are read from.
///
/// Keys match after normalization (trailing `/` and `.git` ignored, scheme and host
/// case-insensitive, credentials ignored), so `https://github.com/acme/infra.git` and
/// `https://GitHub.com/acme/infra` are one entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoMap {
    entries: BTreeMap<String, String>,
}

impl RepoMap {
    /// An empty map: every URL is read from itself.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `url` from `location` from now on; a later insert for the same URL replaces it.
    pub fn insert(&mut self, url: &str, location: &str) {
        self.entries
            .insert(normalize_url(url), location.trim().to_string());
    }

    /// Parses one `URL=LOCATION` entry as given to `--repo-map` or in a configuration file.
    ///
    /// The split is at the first `=` that follows the URL; URLs with `=` in them (query strings)
    /// are not supported as keys.
    pub fn parse_entry(s: &str) -> Result<(String, String)> {
        let Some((url, location)) = s.split_once('=') else {
            return Err(SourceError::InvalidRepoMap(format!(
                "{:?}: expected URL=LOCATION",
                redact(s)
            )));
        };
        let (url, location) = (url.trim(), location.trim());
        if url.is_empty() {
            return Err(SourceError::InvalidRepoMap(format!(
                "{:?}: the URL before '=' is empty",
                redact(s)
            )));
        }
        if location.is_empty() {
            return Err(SourceError::InvalidRepoMap(format!(
                "{:?}: the location after '=' is empty",
                redact(s)
            )));
        }
        Ok((url.to_string(), location.to_string()))
    }

    /// Builds a map from `URL=LOCATION` entries, failing on the first malformed one.
    pub fn from_entries<I, S>(entries: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut map = Self::new();
        for entry in entries {
            let (url, location) = Self::parse_entry(entry.as_ref())?;
            map.insert(&url, &location);
        }
        Ok(map)
    }

    /// The location `url` is mapped to, if any.
    pub fn location_for(&self, url: &str) -> Option<&str> {
        self.entries.get(&normalize_url(url)).map(String::as_str)
    }

    /// The number of mapped URLs.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_match_after_normalization() {
        let mut map = RepoMap::new();
        map.insert("https://github.com/acme/infra.git", "/srv/mirror/infra");
        assert_eq!(
            map.location_for("https://GitHub.com/acme/infra/"),
            Some("/srv/mirror/infra")
        );
        assert_eq!(
            map.location_for("https://github.com/acme/infra"),
            Some("/srv/mirror/infra")
        );
        assert_eq!(map.location_for("https://github.com/acme/other"), None);
    }

    #[test]
    fn parse_entry_splits_at_first_equals() {
        assert_eq!(
            RepoMap::parse_entry("https://github.com/acme/infra=./examples").unwrap(),
            (
                "https://github.com/acme/infra".to_string(),
                "./examples".to_string()
            )
        );
        let err = RepoMap::parse_entry("https://bob:pw@github.com/acme/infra").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("expected URL=LOCATION"), "{msg}");
        assert!(!msg.contains("pw"), "{msg}");
        assert!(RepoMap::parse_entry("=x").is_err());
        assert!(RepoMap::parse_entry("x=").is_err());
    }
}
