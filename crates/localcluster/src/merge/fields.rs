//! Field sets: which fields of an object a manager owns, in the `FieldsV1` notation of
//! server-side apply (`f:name`, `k:{"name":"x"}`, `v:"value"`, `i:0`).
//!
//! A set is kept flat, as the list of full paths of its members; the nested `FieldsV1` tree,
//! where `.` marks a member that also has members below it, is only its serialized form.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::registry::{SchemaView, Shape};

/// A path of `FieldsV1` elements from the object root.
pub type Path = Vec<String>;

/// A set of owned fields.
pub type FieldSet = BTreeSet<Path>;

/// A field present in an object.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// Its value.
    pub value: &'a Value,
    /// Whether it is owned as a whole (a scalar or atomic value) rather than through members.
    pub leaf: bool,
}

/// Metadata fields that no manager owns (they belong to the server).
const SERVER_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// Which part of the object a write may own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything (kinds without a status subresource).
    Whole,
    /// Everything but `status` (the main resource of kinds with a status subresource).
    Main,
    /// Only `status` (the status subresource).
    Status,
}

/// The value of a list-map key field of `item`, or its schema default when absent (a port's
/// `protocol` is part of its key before defaulting fills it in).
pub fn key_value(item: &Value, key: &str, items: Option<SchemaView<'_>>) -> Option<Value> {
    item.get(key).cloned().or_else(|| {
        items
            .and_then(|s| s.field(key))
            .and_then(|f| f.node.default.clone())
    })
}

/// JSON of a list element's key fields, sorted by key name, as `k:` elements spell it.
fn key_of(item: &Value, keys: &[String], items: Option<SchemaView<'_>>) -> Option<String> {
    item.as_object()?;
    let mut sorted: Vec<&String> = keys.iter().collect();
    sorted.sort();
    let mut parts = Vec::new();
    for k in sorted {
        // A key field that is absent and has no default simply takes no part.
        if let Some(v) = key_value(item, k, items) {
            parts.push(format!("{}:{}", Value::String(k.clone()), v));
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(format!("k:{{{}}}", parts.join(",")))
}

/// Every field present in `obj`, with its value, restricted to `scope`.
pub fn entries<'a>(
    obj: &'a Value,
    schema: Option<SchemaView<'_>>,
    scope: Scope,
) -> BTreeMap<Path, Entry<'a>> {
    let mut out = BTreeMap::new();
    let Some(map) = obj.as_object() else {
        return out;
    };
    for (k, v) in map {
        let keep = match (k.as_str(), scope) {
            ("apiVersion" | "kind", _) => false,
            ("status", Scope::Main) => false,
            ("status", Scope::Status) => true,
            (_, Scope::Status) => false,
            _ => true,
        };
        if !keep {
            continue;
        }
        let mut path = vec![format!("f:{k}")];
        if k == "metadata" {
            for (mk, mv) in v.as_object().into_iter().flatten() {
                if SERVER_METADATA.contains(&mk.as_str()) {
                    continue;
                }
                path.push(format!("f:{mk}"));
                let child = schema
                    .and_then(|s| s.field("metadata"))
                    .and_then(|s| s.field(mk));
                walk(mv, child, &mut path, &mut out);
                path.pop();
            }
            continue;
        }
        walk(v, schema.and_then(|s| s.field(k)), &mut path, &mut out);
    }
    out
}

fn walk<'a>(
    v: &'a Value,
    schema: Option<SchemaView<'_>>,
    path: &mut Path,
    out: &mut BTreeMap<Path, Entry<'a>>,
) {
    let shape = schema.map(|s| s.shape()).unwrap_or(Shape::Untyped);
    match (shape, v) {
        (Shape::Struct, Value::Object(m)) if !m.is_empty() => {
            for (k, child) in m {
                path.push(format!("f:{k}"));
                walk(child, schema.and_then(|s| s.field(k)), path, out);
                path.pop();
            }
        }
        (Shape::Map(values), Value::Object(m)) if !m.is_empty() => {
            out.insert(
                path.clone(),
                Entry {
                    value: v,
                    leaf: false,
                },
            );
            for (k, child) in m {
                path.push(format!("f:{k}"));
                walk(child, Some(values), path, out);
                path.pop();
            }
        }
        (Shape::Untyped, Value::Object(m)) if !m.is_empty() => {
            out.insert(
                path.clone(),
                Entry {
                    value: v,
                    leaf: false,
                },
            );
            for (k, child) in m {
                path.push(format!("f:{k}"));
                walk(child, None, path, out);
                path.pop();
            }
        }
        (Shape::ListMap(items, keys), Value::Array(list)) if !list.is_empty() => {
            out.insert(
                path.clone(),
                Entry {
                    value: v,
                    leaf: false,
                },
            );
            for (i, item) in list.iter().enumerate() {
                let elem = key_of(item, &keys, Some(items)).unwrap_or_else(|| format!("i:{i}"));
                path.push(elem);
                out.insert(
                    path.clone(),
                    Entry {
                        value: item,
                        leaf: false,
                    },
                );
                if let Value::Object(m) = item {
                    for (k, child) in m {
                        path.push(format!("f:{k}"));
                        walk(child, items.field(k), path, out);
                        path.pop();
                    }
                }
                path.pop();
            }
        }
        (Shape::ListSet, Value::Array(list)) if !list.is_empty() => {
            out.insert(
                path.clone(),
                Entry {
                    value: v,
                    leaf: false,
                },
            );
            for item in list {
                path.push(format!("v:{item}"));
                out.insert(
                    path.clone(),
                    Entry {
                        value: item,
                        leaf: true,
                    },
                );
                path.pop();
            }
        }
        _ => {
            out.insert(
                path.clone(),
                Entry {
                    value: v,
                    leaf: true,
                },
            );
        }
    }
}

/// The set of fields of `entries`.
pub fn set_of(entries: &BTreeMap<Path, Entry<'_>>) -> FieldSet {
    entries.keys().cloned().collect()
}

/// Serializes a set as a `FieldsV1` tree.
pub fn to_fields_v1(set: &FieldSet) -> Value {
    #[derive(Default)]
    struct Tree {
        member: bool,
        children: BTreeMap<String, Tree>,
    }
    let mut root = Tree::default();
    for path in set {
        let mut node = &mut root;
        for elem in path {
            node = node.children.entry(elem.clone()).or_default();
        }
        node.member = true;
    }
    fn render(t: &Tree) -> Value {
        let mut m = Map::new();
        if t.member && !t.children.is_empty() {
            m.insert(".".into(), Value::Object(Map::new()));
        }
        for (k, c) in &t.children {
            m.insert(k.clone(), render(c));
        }
        Value::Object(m)
    }
    render(&root)
}

/// Parses a `FieldsV1` tree into a set.
pub fn from_fields_v1(v: &Value) -> FieldSet {
    fn go(v: &Value, path: &mut Path, out: &mut FieldSet) {
        let Some(m) = v.as_object() else { return };
        for (k, child) in m {
            if k == "." {
                out.insert(path.clone());
                continue;
            }
            path.push(k.clone());
            if child.as_object().is_some_and(Map::is_empty) {
                out.insert(path.clone());
            } else {
                go(child, path, out);
            }
            path.pop();
        }
    }
    let mut out = FieldSet::new();
    go(v, &mut Vec::new(), &mut out);
    out
}

/// Renders a path as `.spec.containers[name="x"].image` for conflict messages.
pub fn display(path: &Path) -> String {
    let mut s = String::new();
    for elem in path {
        if let Some(f) = elem.strip_prefix("f:") {
            s.push('.');
            s.push_str(f);
        } else if let Some(k) = elem.strip_prefix("k:") {
            let parsed: Value = serde_json::from_str(k).unwrap_or(Value::Null);
            let inner: Vec<String> = parsed
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            s.push_str(&format!("[{}]", inner.join(",")));
        } else if let Some(v) = elem.strip_prefix("v:") {
            s.push_str(&format!("[{v}]"));
        } else if let Some(i) = elem.strip_prefix("i:") {
            s.push_str(&format!("[{i}]"));
        }
    }
    s
}

/// Removes the field at `path` from `obj`; returns whether something was removed.
pub fn remove(obj: &mut Value, path: &[String]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut cur = obj;
    for elem in parents {
        match locate(cur, elem) {
            Some(next) => cur = next,
            None => return false,
        }
    }
    if let Some(f) = last.strip_prefix("f:") {
        return cur.as_object_mut().is_some_and(|m| m.remove(f).is_some());
    }
    let Some(list) = cur.as_array_mut() else {
        return false;
    };
    let before = list.len();
    list.retain(|item| !element_matches(item, last));
    before != list.len()
}

fn element_matches(item: &Value, elem: &str) -> bool {
    if let Some(k) = elem.strip_prefix("k:") {
        let Ok(Value::Object(keys)) = serde_json::from_str::<Value>(k) else {
            return false;
        };
        keys.iter().all(|(k, v)| item.get(k) == Some(v))
    } else if let Some(v) = elem.strip_prefix("v:") {
        serde_json::from_str::<Value>(v).is_ok_and(|v| &v == item)
    } else {
        false
    }
}

fn locate<'a>(cur: &'a mut Value, elem: &str) -> Option<&'a mut Value> {
    if let Some(f) = elem.strip_prefix("f:") {
        return cur.as_object_mut()?.get_mut(f);
    }
    if let Some(i) = elem.strip_prefix("i:") {
        return cur.as_array_mut()?.get_mut(i.parse::<usize>().ok()?);
    }
    cur.as_array_mut()?
        .iter_mut()
        .find(|item| element_matches(item, elem))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::registry::Registry;
    use serde_json::json;

    #[test]
    fn fields_of_a_deployment_round_trip() {
        let reg = Registry::new();
        let def = reg.find("apps", "v1", "deployments").unwrap();
        let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "labels": {"app": "x"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "x"}},
                "template": {"spec": {"containers": [{"name": "c", "image": "i", "args": ["a"]}]}}}});
        let e = entries(&obj, def.root_schema(), Scope::Main);
        let set = set_of(&e);
        let tree = to_fields_v1(&set);
        assert_eq!(
            tree,
            json!({
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {"f:replicas": {}, "f:selector": {},
                "f:template": {"f:spec": {"f:containers": {".": {}, "k:{\"name\":\"c\"}": {
                    ".": {}, "f:args": {}, "f:image": {}, "f:name": {}}}}}}})
        );
        assert_eq!(from_fields_v1(&tree), set);
        let p: Path = vec![
            "f:spec".into(),
            "f:template".into(),
            "f:spec".into(),
            "f:containers".into(),
            "k:{\"name\":\"c\"}".into(),
        ];
        assert_eq!(display(&p), ".spec.template.spec.containers[name=\"c\"]");
        let mut o = obj.clone();
        assert!(remove(&mut o, &p));
        assert_eq!(o["spec"]["template"]["spec"]["containers"], json!([]));
    }
}
