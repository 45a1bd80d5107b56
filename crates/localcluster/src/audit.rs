//! The request audit log: what clients asked of the server, for tests that check claims such as
//! "no LIST on a warm cache" or "exactly one create per hook".

use std::sync::{Arc, Mutex};

/// One API request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Sequence number, from 1.
    pub seq: u64,
    /// Kubernetes verb: `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`,
    /// `deletecollection`.
    pub verb: String,
    /// PATCH flavour: `apply`, `merge`, `json`, `strategic`; `None` for other verbs.
    pub patch_type: Option<String>,
    /// API group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Plural resource.
    pub resource: String,
    /// Subresource (`status`), if any.
    pub subresource: Option<String>,
    /// Namespace, empty for cluster scope or all namespaces.
    pub namespace: String,
    /// Object name, empty for collections.
    pub name: String,
    /// `fieldManager` of the request.
    pub field_manager: Option<String>,
    /// Whether the request was a dry run.
    pub dry_run: bool,
    /// `User-Agent` header.
    pub user_agent: String,
    /// HTTP status code of the response.
    pub code: u16,
}

impl AuditEntry {
    /// Whether the cluster's own controllers made the request (their user agent carries
    /// [`crate::sim::INTERNAL_AGENT`]), as opposed to a client.
    pub fn internal(&self) -> bool {
        self.user_agent
            .contains(&format!("{}/", crate::sim::INTERNAL_AGENT))
    }
}

/// A cloneable handle on the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditLog {
    entries: Arc<Mutex<Vec<AuditEntry>>>,
}

impl AuditLog {
    /// Appends an entry, numbering it.
    pub fn record(&self, mut entry: AuditEntry) {
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entry.seq = e.len() as u64 + 1;
        e.push(entry);
    }

    /// Every entry so far.
    pub fn entries(&self) -> Vec<AuditEntry> {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Entries after sequence number `seq` (for checking what one step of a test did).
    pub fn since(&self, seq: u64) -> Vec<AuditEntry> {
        self.entries().into_iter().filter(|e| e.seq > seq).collect()
    }

    /// The sequence number of the latest entry (0 when empty).
    pub fn last_seq(&self) -> u64 {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len() as u64
    }
}
