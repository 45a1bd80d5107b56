//! What a list shows of an application, computed once per change so a list
//! of a thousand is a filter and a serialization, and the filters a list
//! takes.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::AppKey;

/// One Application as the cache keeps it.
#[derive(Debug)]
pub(crate) struct AppEntry {
    /// Its identity.
    pub key: AppKey,
    /// The object as last seen (managedFields dropped).
    pub object: Arc<Value>,
    /// Its summary, as lists and live updates send it.
    pub summary: Value,
    /// Its project (`default` when empty).
    pub project: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// `status.sync.status` (`Unknown` when unset).
    pub sync: String,
    /// `status.health.status` (`Unknown` when unset).
    pub health: String,
}

fn str_at<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

impl AppEntry {
    /// An entry for an object of `group`; `None` without namespace or name.
    pub fn new(group: &str, mut object: Value) -> Option<Self> {
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("managedFields");
        }
        let key = AppKey::new(
            group,
            object.pointer("/metadata/namespace")?.as_str()?,
            object.pointer("/metadata/name")?.as_str()?,
        );
        let project = match str_at(&object, "/spec/project") {
            "" => "default".to_string(),
            p => p.to_string(),
        };
        let labels: BTreeMap<String, String> = object
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let or_unknown = |s: &str| {
            if s.is_empty() {
                "Unknown".to_string()
            } else {
                s.to_string()
            }
        };
        let sync = or_unknown(str_at(&object, "/status/sync/status"));
        let health = or_unknown(str_at(&object, "/status/health/status"));
        let summary = summarize(&key, &object, &project, &sync, &health);
        Some(Self {
            key,
            object: Arc::new(object),
            summary,
            project,
            labels,
            sync,
            health,
        })
    }
}

/// The list view of an application.
fn summarize(key: &AppKey, object: &Value, project: &str, sync: &str, health: &str) -> Value {
    let spec = object.get("spec").cloned().unwrap_or(Value::Null);
    let source = spec
        .get("source")
        .filter(|s| !s.is_null())
        .or_else(|| spec.pointer("/sources/0"))
        .map(|s| {
            json!({
                "repoURL": s.get("repoURL"),
                "path": s.get("path"),
                "chart": s.get("chart"),
                "targetRevision": s.get("targetRevision"),
            })
        });
    let status = object.get("status");
    let at = |p: &str| status.and_then(|s| s.pointer(p)).cloned();
    let automated = spec
        .pointer("/syncPolicy/automated")
        .is_some_and(|a| a.is_object() && a.get("enabled") != Some(&Value::Bool(false)));
    json!({
        "group": key.group,
        "namespace": key.namespace,
        "name": key.name,
        "project": project,
        "labels": object.pointer("/metadata/labels").cloned().unwrap_or(json!({})),
        "createdAt": object.pointer("/metadata/creationTimestamp"),
        "resourceVersion": object.pointer("/metadata/resourceVersion"),
        "deleting": object.pointer("/metadata/deletionTimestamp").is_some(),
        "source": source,
        "sources": spec.get("sources").and_then(Value::as_array).map(Vec::len).unwrap_or(0),
        "destination": spec.get("destination"),
        "automated": automated,
        "sync": {"status": sync, "revision": at("/sync/revision")},
        "health": {"status": health, "message": at("/health/message")},
        "operation": {
            "requested": object.get("operation").is_some_and(|o| !o.is_null()),
            "phase": at("/operationState/phase"),
            "message": at("/operationState/message"),
        },
        "reconciledAt": at("/reconciledAt"),
        "resources": status
            .and_then(|s| s.get("resources"))
            .and_then(Value::as_array)
            .map(Vec::len)
            .unwrap_or(0),
        "conditions": status
            .and_then(|s| s.get("conditions"))
            .and_then(Value::as_array)
            .map(|c| c.iter().filter_map(|c| c.get("type").cloned()).collect::<Vec<_>>())
            .unwrap_or_default(),
    })
}

/// One term of a label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LabelTerm {
    /// `key=value` or `key==value`.
    Equals(String, String),
    /// `key!=value`.
    NotEquals(String, String),
    /// `key`.
    Exists(String),
    /// `!key`.
    Absent(String),
}

/// Reads a label selector of equality terms (`a=b,c!=d,e,!f`).
pub(crate) fn parse_selector(text: &str) -> Result<Vec<LabelTerm>, String> {
    let mut out = Vec::new();
    for term in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let parsed = if let Some((k, v)) = term.split_once("!=") {
            LabelTerm::NotEquals(k.trim().into(), v.trim().into())
        } else if let Some((k, v)) = term.split_once("==") {
            LabelTerm::Equals(k.trim().into(), v.trim().into())
        } else if let Some((k, v)) = term.split_once('=') {
            LabelTerm::Equals(k.trim().into(), v.trim().into())
        } else if let Some(k) = term.strip_prefix('!') {
            LabelTerm::Absent(k.trim().into())
        } else {
            LabelTerm::Exists(term.into())
        };
        let key = match &parsed {
            LabelTerm::Equals(k, _)
            | LabelTerm::NotEquals(k, _)
            | LabelTerm::Exists(k)
            | LabelTerm::Absent(k) => k,
        };
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(format!("label selector term '{term}' has no valid key"));
        }
        out.push(parsed);
    }
    Ok(out)
}

/// Whether labels satisfy every term.
pub(crate) fn selects(terms: &[LabelTerm], labels: &BTreeMap<String, String>) -> bool {
    terms.iter().all(|t| match t {
        LabelTerm::Equals(k, v) => labels.get(k) == Some(v),
        LabelTerm::NotEquals(k, v) => labels.get(k) != Some(v),
        LabelTerm::Exists(k) => labels.contains_key(k),
        LabelTerm::Absent(k) => !labels.contains_key(k),
    })
}

/// The filters of a list, each a set of accepted values (empty: any).
#[derive(Debug, Default)]
pub(crate) struct Filter {
    pub projects: Vec<String>,
    pub syncs: Vec<String>,
    pub healths: Vec<String>,
    pub namespaces: Vec<String>,
    pub groups: Vec<String>,
    pub selector: Vec<LabelTerm>,
    /// A substring of the name.
    pub search: Option<String>,
}

impl Filter {
    /// Whether an entry passes.
    pub fn accepts(&self, entry: &AppEntry) -> bool {
        let any = |set: &[String], v: &str| set.is_empty() || set.iter().any(|s| s == v);
        any(&self.projects, &entry.project)
            && any(&self.syncs, &entry.sync)
            && any(&self.healths, &entry.health)
            && any(&self.namespaces, &entry.key.namespace)
            && any(&self.groups, &entry.key.group)
            && selects(&self.selector, &entry.labels)
            && self
                .search
                .as_deref()
                .is_none_or(|s| entry.key.name.contains(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(labels: Value, status: Value) -> AppEntry {
        AppEntry::new(
            "trellis.dev",
            json!({
                "metadata": {"name": "web", "namespace": "trellis", "labels": labels,
                    "managedFields": [{"manager": "x"}]},
                "spec": {"project": "", "source": {"repoURL": "u", "path": "p"},
                    "syncPolicy": {"automated": {}}},
                "status": status,
            }),
        )
        .unwrap()
    }

    #[test]
    fn summaries_say_what_a_list_shows() {
        let e = entry(
            json!({"team": "a"}),
            json!({"sync": {"status": "OutOfSync", "revision": "abc"}, "resources": [{}, {}]}),
        );
        assert_eq!(e.project, "default");
        assert_eq!(e.sync, "OutOfSync");
        assert_eq!(e.health, "Unknown");
        assert!(e.object.pointer("/metadata/managedFields").is_none());
        assert_eq!(e.summary["sync"]["revision"], "abc");
        assert_eq!(e.summary["resources"], 2);
        assert_eq!(e.summary["automated"], true);
        assert_eq!(e.summary["source"]["path"], "p");
    }

    #[test]
    fn selectors_filter_labels() {
        let terms = parse_selector("team=a, env!=prod,tier,!legacy").unwrap();
        let mut labels: BTreeMap<String, String> = [("team", "a"), ("tier", "web")]
            .map(|(k, v)| (k.into(), v.into()))
            .into();
        assert!(selects(&terms, &labels));
        labels.insert("env".into(), "prod".into());
        assert!(!selects(&terms, &labels));
        assert!(parse_selector("=x").is_err());
        assert!(parse_selector("").unwrap().is_empty());
    }

    #[test]
    fn filters_combine() {
        let e = entry(
            json!({"team": "a"}),
            json!({"health": {"status": "Healthy"}}),
        );
        let mut f = Filter {
            healths: vec!["Healthy".into(), "Degraded".into()],
            projects: vec!["default".into()],
            ..Filter::default()
        };
        assert!(f.accepts(&e));
        f.syncs = vec!["Synced".into()];
        assert!(!f.accepts(&e));
        f.syncs.clear();
        f.search = Some("eb".into());
        assert!(f.accepts(&e));
        f.selector = parse_selector("team=b").unwrap();
        assert!(!f.accepts(&e));
    }
}
