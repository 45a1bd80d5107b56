//! Readable per-resource diffs with Secret values masked.
//!
//! A diff is computed on the YAML text of each object (keys sorted), so what a
//! reviewer reads is exactly what changed, in the notation they wrote it in.

use serde_json::{Map, Value};
use similar::{ChangeTag, TextDiff};
use trellis_model::to_yaml;

/// The text put in place of every Secret value: the same token for equal
/// values, a longer one for a value that changed, so a reviewer sees *that* a
/// secret changed but never its content.
const MASK: &str = "++++++++";

/// Replaces the values of a Secret's `data` and `stringData` (in both the old
/// and the new object) by masks that differ only where the values differ.
///
/// Objects of other kinds are returned unchanged.
pub fn mask_secrets(old: Option<&Value>, new: Option<&Value>) -> (Option<Value>, Option<Value>) {
    let is_secret = |v: Option<&Value>| {
        v.is_some_and(|v| {
            v.get("kind").and_then(Value::as_str) == Some("Secret")
                && v.get("apiVersion").and_then(Value::as_str) == Some("v1")
        })
    };
    if !is_secret(old) && !is_secret(new) {
        return (old.cloned(), new.cloned());
    }
    let mut old = old.cloned();
    let mut new = new.cloned();
    for field in ["data", "stringData"] {
        let old_values = old.as_ref().and_then(|o| o.get(field)).cloned();
        let new_values = new.as_ref().and_then(|o| o.get(field)).cloned();
        let mask_map = |values: &Option<Value>, other: &Option<Value>, changed_mask: &str| {
            values.as_ref().and_then(Value::as_object).map(|map| {
                let masked: Map<String, Value> = map
                    .iter()
                    .map(|(k, v)| {
                        let same = other
                            .as_ref()
                            .and_then(|o| o.get(k))
                            .is_some_and(|o| o == v);
                        let token = if same { MASK } else { changed_mask };
                        (k.clone(), Value::String(token.to_string()))
                    })
                    .collect();
                Value::Object(masked)
            })
        };
        let old_masked = mask_map(&old_values, &new_values, MASK);
        let new_masked = mask_map(&new_values, &old_values, "+++++++++");
        if let (Some(obj), Some(m)) = (old.as_mut().and_then(Value::as_object_mut), old_masked) {
            obj.insert(field.to_string(), m);
        }
        if let (Some(obj), Some(m)) = (new.as_mut().and_then(Value::as_object_mut), new_masked) {
            obj.insert(field.to_string(), m);
        }
    }
    (old, new)
}

/// A unified diff of two objects' YAML, Secret values masked; empty when the
/// objects are equal.
///
/// `label` names the resource in the `---`/`+++` header lines.
pub fn object_diff(old: Option<&Value>, new: Option<&Value>, label: &str) -> String {
    if old == new {
        return String::new();
    }
    let (old, new) = mask_secrets(old, new);
    let old_text = old.as_ref().map(to_yaml).unwrap_or_default();
    let new_text = new.as_ref().map(to_yaml).unwrap_or_default();
    unified(&old_text, &new_text, label)
}

/// A unified diff (three lines of context) of two texts; empty when equal.
pub fn unified(old: &str, new: &str, label: &str) -> String {
    if old == new {
        return String::new();
    }
    let diff = TextDiff::from_lines(old, new);
    let mut out = String::new();
    let old_label = if old.is_empty() {
        "/dev/null".to_string()
    } else {
        format!("a/{label}")
    };
    let new_label = if new.is_empty() {
        "/dev/null".to_string()
    } else {
        format!("b/{label}")
    };
    out.push_str(&format!("--- {old_label}\n+++ {new_label}\n"));
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        out.push_str(&format!("{}\n", hunk.header()));
        for change in hunk.iter_changes() {
            let sign = match change.tag() {
                ChangeTag::Delete => '-',
                ChangeTag::Insert => '+',
                ChangeTag::Equal => ' ',
            };
            out.push(sign);
            out.push_str(change.value());
            if change.missing_newline() {
                out.push_str("\n\\ No newline at end of file\n");
            }
        }
    }
    out
}

/// Colors a unified diff for a terminal: removals red, additions green,
/// hunk headers cyan, file headers bold.
pub fn colorize(diff: &str) -> String {
    let mut out = String::with_capacity(diff.len() + diff.len() / 4);
    for line in diff.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        let code = if body.starts_with("+++") || body.starts_with("---") {
            "1"
        } else if body.starts_with('+') {
            "32"
        } else if body.starts_with('-') {
            "31"
        } else if body.starts_with("@@") {
            "36"
        } else {
            ""
        };
        if code.is_empty() {
            out.push_str(line);
        } else {
            out.push_str(&format!("\x1b[{code}m{body}\x1b[0m{newline}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_objects_have_no_diff() {
        let a = json!({"kind": "ConfigMap", "data": {"a": "1"}});
        assert_eq!(object_diff(Some(&a), Some(&a), "x"), "");
    }

    #[test]
    fn changed_field_shows_as_minus_plus() {
        let a = json!({"kind": "ConfigMap", "data": {"a": "1", "b": "2"}});
        let b = json!({"kind": "ConfigMap", "data": {"a": "1", "b": "3"}});
        let d = object_diff(Some(&a), Some(&b), "ConfigMap x");
        assert!(
            d.starts_with("--- a/ConfigMap x\n+++ b/ConfigMap x\n@@"),
            "{d}"
        );
        assert!(d.contains("\n-  b: \"2\"\n+  b: \"3\"\n"), "{d}");
    }

    #[test]
    fn added_object_diffs_against_dev_null() {
        let b = json!({"kind": "ConfigMap"});
        let d = object_diff(None, Some(&b), "cm");
        assert!(d.starts_with("--- /dev/null\n+++ b/cm\n"), "{d}");
        assert!(d.contains("+kind: ConfigMap"), "{d}");
    }

    #[test]
    fn secret_values_never_appear_but_changes_do() {
        let a = json!({"apiVersion": "v1", "kind": "Secret", "data": {"same": "c2VjcmV0", "changed": "b2xk"}, "stringData": {"p": "hunter2"}});
        let b = json!({"apiVersion": "v1", "kind": "Secret", "data": {"same": "c2VjcmV0", "changed": "bmV3"}, "stringData": {"p": "hunter3"}});
        let d = object_diff(Some(&a), Some(&b), "s");
        for secret in ["c2VjcmV0", "b2xk", "bmV3", "hunter2", "hunter3"] {
            assert!(!d.contains(secret), "{secret} leaked: {d}");
        }
        assert!(
            d.contains("-  changed: ++++++++\n+  changed: +++++++++"),
            "{d}"
        );
        assert!(!d.contains("-  same:"), "{d}");
    }

    #[test]
    fn colorize_marks_lines() {
        let c = colorize("--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n z\n");
        assert!(c.contains("\x1b[31m-x\x1b[0m\n"));
        assert!(c.contains("\x1b[32m+y\x1b[0m\n"));
        assert!(c.ends_with(" z\n"));
    }
}
