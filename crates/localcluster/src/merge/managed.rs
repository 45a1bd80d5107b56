//! Server-side apply and field ownership (`metadata.managedFields`).
//!
//! Apply merges the applied configuration into the live object by the schema's structure
//! (maps and structs key by key, list-maps by their keys, sets by value, everything else as a
//! whole), refuses to change a field another manager owns unless forced, removes fields the
//! manager applied before and no longer applies when nobody else owns them, and records what the
//! manager now owns. Every other write records the fields it changed as owned by its manager
//! with operation `Update`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::api::status::{ApiError, ApiResult};
use crate::merge::fields::{self, FieldSet, Path, Scope};
use crate::registry::{SchemaView, Shape};

/// One entry of `metadata.managedFields`.
#[derive(Debug, Clone, PartialEq)]
pub struct Managed {
    /// Manager name.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// API version the manager wrote with.
    pub api_version: String,
    /// When the manager last changed its fields.
    pub time: String,
    /// `status` when written through the status subresource.
    pub subresource: Option<String>,
    /// Owned fields.
    pub set: FieldSet,
}

/// Reads `metadata.managedFields`.
pub fn read(obj: &Value) -> Vec<Managed> {
    obj["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| Managed {
            manager: e["manager"].as_str().unwrap_or("").to_owned(),
            operation: e["operation"].as_str().unwrap_or("Update").to_owned(),
            api_version: e["apiVersion"].as_str().unwrap_or("").to_owned(),
            time: e["time"].as_str().unwrap_or("").to_owned(),
            subresource: e["subresource"].as_str().map(str::to_owned),
            set: fields::from_fields_v1(&e["fieldsV1"]),
        })
        .collect()
}

/// Writes `metadata.managedFields`, dropping entries that own nothing.
pub fn write(obj: &mut Value, managed: &[Managed]) {
    let list: Vec<Value> = managed
        .iter()
        .filter(|m| !m.set.is_empty())
        .map(|m| {
            let mut e = json!({
                "manager": m.manager,
                "operation": m.operation,
                "apiVersion": m.api_version,
                "time": m.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": fields::to_fields_v1(&m.set),
            });
            if let Some(s) = &m.subresource {
                e["subresource"] = Value::String(s.clone());
            }
            e
        })
        .collect();
    let meta = crate::util::meta_mut(obj);
    if list.is_empty() {
        meta.remove("managedFields");
    } else {
        meta.insert("managedFields".into(), Value::Array(list));
    }
}

fn subresource_of(scope: Scope) -> Option<String> {
    (scope == Scope::Status).then(|| "status".to_owned())
}

fn in_scope(m: &Managed, scope: Scope) -> bool {
    (m.subresource.as_deref() == Some("status")) == (scope == Scope::Status)
}

/// Who performs a write.
#[derive(Debug, Clone, Copy)]
pub struct Writer<'a> {
    /// Field manager.
    pub manager: &'a str,
    /// API version of the request.
    pub api_version: &'a str,
    /// Current time (RFC 3339).
    pub now: &'a str,
    /// The part of the object the write addresses.
    pub scope: Scope,
}

/// Records an `Update` by `w`: the fields that changed between `old` and `new` become owned by
/// `w.manager`, and no manager keeps fields that no longer exist. `new`'s managedFields are
/// replaced.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    schema: Option<SchemaView<'_>>,
    w: Writer<'_>,
) {
    let mut managed = old.map(read).unwrap_or_default();
    let null = Value::Null;
    let old_obj = old.unwrap_or(&null);
    let changed: FieldSet;
    let present: FieldSet;
    {
        let old_e = fields::entries(old_obj, schema, w.scope);
        let new_e = fields::entries(new, schema, w.scope);
        changed = new_e
            .iter()
            .filter(|(p, e)| match old_e.get(*p) {
                None => true,
                Some(o) => e.leaf && o.value != e.value,
            })
            .map(|(p, _)| p.clone())
            .collect();
        present = fields::set_of(&fields::entries(new, schema, Scope::Whole));
    }
    for m in managed.iter_mut() {
        m.set.retain(|p| present.contains(p));
        if in_scope(m, w.scope) {
            m.set.retain(|p| !changed.contains(p));
        }
    }
    if !changed.is_empty() {
        match managed
            .iter_mut()
            .find(|m| m.manager == w.manager && m.operation == "Update" && in_scope(m, w.scope))
        {
            Some(m) => {
                m.set.extend(changed);
                m.time = w.now.to_owned();
                m.api_version = w.api_version.to_owned();
            }
            None => managed.push(Managed {
                manager: w.manager.to_owned(),
                operation: "Update".into(),
                api_version: w.api_version.to_owned(),
                time: w.now.to_owned(),
                subresource: subresource_of(w.scope),
                set: changed,
            }),
        }
    }
    write(new, &managed);
}

/// Merges `applied` into `live` by the schema's structure.
pub fn merge(live: &Value, applied: &Value, schema: Option<SchemaView<'_>>) -> Value {
    let shape = schema.map(|s| s.shape()).unwrap_or(Shape::Untyped);
    match (shape, live, applied) {
        (Shape::Struct | Shape::Map(_) | Shape::Untyped, Value::Object(l), Value::Object(a)) => {
            let mut out = l.clone();
            for (k, av) in a {
                let child = schema.and_then(|s| s.field(k));
                let merged = match l.get(k) {
                    Some(lv) => merge(lv, av, child),
                    None => av.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Shape::ListMap(items, keys), Value::Array(l), Value::Array(a)) => {
            let mut out = l.clone();
            for av in a {
                let key = |v: &Value| {
                    keys.iter()
                        .map(|k| fields::key_value(v, k, Some(items)))
                        .collect::<Vec<_>>()
                };
                let ak = key(av);
                match out.iter_mut().find(|lv| key(lv) == ak) {
                    Some(lv) => *lv = merge(lv, av, Some(items)),
                    None => out.push(av.clone()),
                }
            }
            Value::Array(out)
        }
        (Shape::ListSet, Value::Array(l), Value::Array(a)) => {
            let mut out = l.clone();
            for av in a {
                if !out.contains(av) {
                    out.push(av.clone());
                }
            }
            Value::Array(out)
        }
        _ => applied.clone(),
    }
}

/// A server-side apply request.
#[derive(Debug, Clone, Copy)]
pub struct Apply<'a> {
    /// The applied configuration.
    pub applied: &'a Value,
    /// Take ownership of conflicting fields instead of failing.
    pub force: bool,
    /// Who applies.
    pub writer: Writer<'a>,
}

/// Applies `req` to `live` (an empty object when creating); returns the merged object with
/// managedFields updated, or a 409 naming the managers whose fields would change.
pub fn apply(
    live: Option<&Value>,
    req: Apply<'_>,
    schema: Option<SchemaView<'_>>,
) -> ApiResult<Value> {
    let w = req.writer;
    let empty = Value::Object(Map::new());
    let live_obj = live.unwrap_or(&empty);
    let mut managed = read(live_obj);

    let applied_e = fields::entries(req.applied, schema, w.scope);
    let applied_set = fields::set_of(&applied_e);
    let live_e = fields::entries(live_obj, schema, w.scope);

    let mut merged = merge(live_obj, req.applied, schema);

    // Conflicts: fields another manager owns whose value the merge would change.
    let mut conflicts: BTreeMap<usize, Vec<Path>> = BTreeMap::new();
    {
        let merged_e = fields::entries(&merged, schema, w.scope);
        for (i, m) in managed.iter().enumerate() {
            if (m.manager == w.manager && m.operation == "Apply") || !in_scope(m, w.scope) {
                continue;
            }
            for p in m.set.intersection(&applied_set) {
                let Some(a) = applied_e.get(p) else { continue };
                if !a.leaf {
                    continue;
                }
                if live_e.get(p).map(|l| l.value) != merged_e.get(p).map(|e| e.value) {
                    conflicts.entry(i).or_default().push(p.clone());
                }
            }
        }
    }
    if !conflicts.is_empty() {
        if !req.force {
            return Err(conflict_error(&managed, &conflicts));
        }
        for (i, paths) in &conflicts {
            for p in paths {
                managed[*i].set.remove(p);
            }
        }
    }

    // Fields this manager applied before and no longer applies go away unless someone else
    // owns them (or something below them).
    let previous: FieldSet = managed
        .iter()
        .find(|m| m.manager == w.manager && m.operation == "Apply" && in_scope(m, w.scope))
        .map(|m| m.set.clone())
        .unwrap_or_default();
    let others: Vec<&Managed> = managed
        .iter()
        .filter(|m| !(m.manager == w.manager && m.operation == "Apply"))
        .collect();
    let mut dropped: Vec<&Path> = previous.difference(&applied_set).collect();
    // Shallow paths first: removing a parent makes its members' removal a no-op.
    dropped.sort_by_key(|p| p.len());
    for p in dropped {
        let owned_elsewhere = others
            .iter()
            .any(|m| m.set.iter().any(|q| q.starts_with(p)))
            || applied_set.iter().any(|q| q.starts_with(p));
        if !owned_elsewhere {
            fields::remove(&mut merged, p);
        }
    }

    // The manager keeps its Update-owned fields that it now applies only through the Apply entry.
    for m in managed.iter_mut() {
        if m.manager == w.manager && m.operation == "Update" && in_scope(m, w.scope) {
            m.set.retain(|p| !applied_set.contains(p));
        }
    }
    let present = fields::set_of(&fields::entries(&merged, schema, Scope::Whole));
    for m in managed.iter_mut() {
        m.set.retain(|p| present.contains(p));
    }
    match managed
        .iter_mut()
        .find(|m| m.manager == w.manager && m.operation == "Apply" && in_scope(m, w.scope))
    {
        Some(m) => {
            m.set = applied_set;
            m.time = w.now.to_owned();
            m.api_version = w.api_version.to_owned();
        }
        None => managed.push(Managed {
            manager: w.manager.to_owned(),
            operation: "Apply".into(),
            api_version: w.api_version.to_owned(),
            time: w.now.to_owned(),
            subresource: subresource_of(w.scope),
            set: applied_set,
        }),
    }
    write(&mut merged, &managed);
    Ok(merged)
}

fn conflict_error(managed: &[Managed], conflicts: &BTreeMap<usize, Vec<Path>>) -> ApiError {
    let count: usize = conflicts.values().map(Vec::len).sum();
    let mut lines = Vec::new();
    let mut causes = Vec::new();
    for (i, paths) in conflicts {
        let m = &managed[*i];
        let who = if m.operation == "Apply" {
            format!("conflict with \"{}\"", m.manager)
        } else {
            format!("conflict with \"{}\" using {}", m.manager, m.api_version)
        };
        for p in paths {
            let field = fields::display(p);
            lines.push(format!("- {who}: {field}"));
            causes.push(json!({"type": "FieldManagerConflict", "message": who, "field": field}));
        }
    }
    let message = if count == 1 {
        format!(
            "Apply failed with 1 conflict: {}",
            lines[0].trim_start_matches("- ")
        )
    } else {
        format!("Apply failed with {count} conflicts: {}", lines.join("\n"))
    };
    ApiError::apply_conflict(message, causes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::registry::Registry;

    fn w(manager: &str) -> Writer<'_> {
        Writer {
            manager,
            api_version: "v1",
            now: "2024-01-01T00:00:00Z",
            scope: Scope::Whole,
        }
    }

    #[test]
    fn apply_owns_conflicts_forces_and_removes() {
        let reg = Registry::new();
        let def = reg.find("", "v1", "configmaps").unwrap();
        let s = def.root_schema();
        let a1 = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"x": "1", "y": "2"}});
        let o1 = apply(
            None,
            Apply {
                applied: &a1,
                force: false,
                writer: w("alice"),
            },
            s,
        )
        .unwrap();
        assert_eq!(o1["metadata"]["managedFields"][0]["manager"], "alice");
        assert_eq!(
            o1["metadata"]["managedFields"][0]["fieldsV1"],
            json!({"f:data": {".": {}, "f:x": {}, "f:y": {}}})
        );

        // bob changes x: conflict naming alice
        let b = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"x": "9"}});
        let err = apply(
            Some(&o1),
            Apply {
                applied: &b,
                force: false,
                writer: w("bob"),
            },
            s,
        )
        .unwrap_err();
        assert_eq!(err.code, 409);
        assert!(
            err.message.contains("conflict with \"alice\""),
            "{}",
            err.message
        );
        assert!(err.message.contains(".data.x"), "{}", err.message);
        // same value: shared ownership, no conflict
        let b_same = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"y": "2"}});
        let o2 = apply(
            Some(&o1),
            Apply {
                applied: &b_same,
                force: false,
                writer: w("bob"),
            },
            s,
        )
        .unwrap();
        // forced
        let o3 = apply(
            Some(&o2),
            Apply {
                applied: &b,
                force: true,
                writer: w("bob"),
            },
            s,
        )
        .unwrap();
        assert_eq!(o3["data"]["x"], "9");
        // bob no longer applies y, so when alice stops applying it too it goes; x stays (bob's)
        let a2 =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}});
        let o4 = apply(
            Some(&o3),
            Apply {
                applied: &a2,
                force: false,
                writer: w("alice"),
            },
            s,
        )
        .unwrap();
        assert_eq!(o4["data"], json!({"x": "9"}));
        // alice applies z then drops it: removed
        let a3 = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"z": "3"}});
        let o5 = apply(
            Some(&o4),
            Apply {
                applied: &a3,
                force: false,
                writer: w("alice"),
            },
            s,
        )
        .unwrap();
        let o6 = apply(
            Some(&o5),
            Apply {
                applied: &a2,
                force: false,
                writer: w("alice"),
            },
            s,
        )
        .unwrap();
        assert_eq!(o6["data"], json!({"x": "9"}));
    }

    #[test]
    fn update_takes_changed_fields() {
        let reg = Registry::new();
        let def = reg.find("", "v1", "configmaps").unwrap();
        let s = def.root_schema();
        let a = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"x": "1"}});
        let o1 = apply(
            None,
            Apply {
                applied: &a,
                force: false,
                writer: w("alice"),
            },
            s,
        )
        .unwrap();
        let mut new = o1.clone();
        new["data"]["x"] = json!("2");
        record_update(Some(&o1), &mut new, s, w("editor"));
        let m = read(&new);
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].manager, "editor");
        assert!(
            m[1].set
                .contains(&vec!["f:data".to_owned(), "f:x".to_owned()])
        );
        assert!(
            !m[0]
                .set
                .contains(&vec!["f:data".to_owned(), "f:x".to_owned()])
        );
    }
}
