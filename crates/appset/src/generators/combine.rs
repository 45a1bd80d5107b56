//! Generators of generators: `matrix` (every combination of its children's
//! parameter sets, the second child rendered with each set of the first) and
//! `merge` (the first child's sets, overridden by the sets of the others
//! that agree on the merge keys).
//!
//! # Deviation
//! Argo CD emits merged parameter sets in Go map order (random); Trellis
//! keeps the order of the first generator's sets, so generation is
//! deterministic.

use serde_json::Value as Json;
use trellis_template::Value;

use super::{Context, GeneratorError, run_nested};
use crate::params::{Params, deep_copy, to_json};

/// The kind a child generator's JSON names, for error messages.
fn kind_of(child: &Json) -> &'static str {
    const KINDS: [&str; 9] = [
        "list",
        "git",
        "matrix",
        "merge",
        "clusters",
        "scmProvider",
        "clusterDecisionResource",
        "pullRequest",
        "plugin",
    ];
    KINDS
        .iter()
        .find(|k| child.get(**k).is_some_and(|v| !v.is_null()))
        .copied()
        .unwrap_or("generator")
}

fn child_error(index: usize, child: &Json, source: GeneratorError) -> GeneratorError {
    GeneratorError::Child {
        index,
        kind: kind_of(child),
        source: Box::new(source),
    }
}

pub(super) fn matrix(
    children: &[Json],
    cx: &Context<'_>,
    depth: usize,
) -> Result<Vec<Params>, GeneratorError> {
    if children.len() < 2 {
        return Err(GeneratorError::Spec(format!(
            "a matrix generator combines 2 generators, found {}",
            children.len()
        )));
    }
    let (_, mut combined) =
        run_nested(&children[0], cx, depth).map_err(|e| child_error(0, &children[0], e))?;
    for (index, child) in children.iter().enumerate().skip(1) {
        let mut next = Vec::new();
        for previous in &combined {
            // The child may refer to the previous generator's parameters
            // (`repoURL: '{{ .repo }}'`): render it with them first.
            let rendered = if previous.is_empty() {
                child.clone()
            } else {
                cx.renderer
                    .render_json(child, previous, "")
                    .map_err(|e| child_error(index, child, GeneratorError::Spec(e.to_string())))?
            };
            let (_, params) =
                run_nested(&rendered, cx, depth).map_err(|e| child_error(index, child, e))?;
            for current in params {
                let mut merged = deep_copy(previous);
                if cx.go() {
                    fill_missing(&mut merged, &current);
                } else {
                    for (key, value) in current {
                        let value = as_string(&value);
                        match merged.get(&key) {
                            Some(existing) if as_string(existing) != value => {
                                return Err(GeneratorError::MatrixConflict {
                                    key,
                                    first: display(existing),
                                    second: display(&value),
                                });
                            }
                            _ => {
                                merged.insert(key, value);
                            }
                        }
                    }
                    stringify(&mut merged);
                }
                next.push(merged);
            }
        }
        combined = next;
    }
    Ok(combined)
}

pub(super) fn merge(
    children: &[Json],
    merge_keys: &[String],
    cx: &Context<'_>,
    depth: usize,
) -> Result<Vec<Params>, GeneratorError> {
    if children.len() < 2 {
        return Err(GeneratorError::Spec(format!(
            "a merge generator needs at least 2 generators, found {}",
            children.len()
        )));
    }
    if merge_keys.is_empty() {
        return Err(GeneratorError::Spec(
            "a merge generator needs at least one merge key".into(),
        ));
    }
    let mut sets = Vec::with_capacity(children.len());
    for (index, child) in children.iter().enumerate() {
        let (_, params) = run_nested(child, cx, depth).map_err(|e| child_error(index, child, e))?;
        sets.push(params);
    }
    let mut keys: Vec<&String> = merge_keys.iter().collect();
    keys.sort();
    keys.dedup();
    let mut base = sets.remove(0);
    for (offset, overrides) in sets.into_iter().enumerate() {
        let index = offset + 1;
        let mut by_key: std::collections::HashMap<String, Params> =
            std::collections::HashMap::new();
        for params in overrides {
            let key = merge_key(&params, &keys, cx.go());
            if by_key.contains_key(&key) {
                return Err(child_error(
                    index,
                    &children[index],
                    GeneratorError::Spec(format!(
                        "its parameter sets are not unique by the merge keys: {key} appears more than once"
                    )),
                ));
            }
            by_key.insert(key, params);
        }
        for params in &mut base {
            let key = merge_key(params, &keys, cx.go());
            if let Some(over) = by_key.get(&key) {
                if cx.go() {
                    override_with(params, over);
                } else {
                    for (k, v) in over {
                        params.insert(k.clone(), v.clone());
                    }
                    stringify(params);
                }
            }
        }
    }
    Ok(base)
}

/// The identity of a parameter set by the merge keys, as JSON (a missing
/// key is `null`).
fn merge_key(params: &Params, keys: &[&String], go: bool) -> String {
    let mut out = serde_json::Map::new();
    for key in keys {
        let value = params
            .get(key.as_str())
            .cloned()
            .or_else(|| if go { lookup_dotted(params, key) } else { None });
        let json = value.as_ref().and_then(to_json).unwrap_or(Json::Null);
        out.insert((*key).clone(), json);
    }
    Json::Object(out).to_string()
}

/// `a.b.c` looked up through nested maps (Go-template parameter sets).
fn lookup_dotted(params: &Params, key: &str) -> Option<Value> {
    let mut parts = key.split('.');
    let mut current = params.get(parts.next()?)?.clone();
    for part in parts {
        let next = match &current {
            Value::Map(map) => map.get(part)?,
            _ => return None,
        };
        current = next;
    }
    Some(current)
}

/// Adds what `dst` lacks (or holds empty) from `src`, merging nested maps;
/// what `dst` has wins (mergo's merge without override).
fn fill_missing(dst: &mut Params, src: &Params) {
    for (key, value) in src {
        match dst.get_mut(key) {
            Some(Value::Map(d)) if matches!(value, Value::Map(_)) => {
                if let Value::Map(s) = value {
                    let mut inner = d.snapshot();
                    fill_missing(&mut inner, &s.snapshot());
                    *d = trellis_template::MapRef::new(inner);
                }
            }
            Some(existing) if existing.truthy() => {}
            _ => {
                dst.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Overwrites `dst` with what `src` has (non-empty), merging nested maps
/// (mergo's merge with override).
fn override_with(dst: &mut Params, src: &Params) {
    for (key, value) in src {
        match (dst.get_mut(key), value) {
            (Some(Value::Map(d)), Value::Map(s)) => {
                let mut inner = d.snapshot();
                override_with(&mut inner, &s.snapshot());
                *d = trellis_template::MapRef::new(inner);
            }
            (Some(_), v) if !v.truthy() => {}
            _ => {
                dst.insert(key.clone(), value.clone());
            }
        }
    }
}

fn as_string(value: &Value) -> Value {
    match value {
        Value::Str(_) => value.clone(),
        other => Value::str(display(other)),
    }
}

fn display(value: &Value) -> String {
    trellis_template::sprint(std::slice::from_ref(value))
}

/// Fasttemplate parameter sets combined by a matrix or merge hold strings
/// only, as Argo CD converts them.
fn stringify(params: &mut Params) {
    for value in params.values_mut() {
        if !matches!(value, Value::Str(_)) {
            *value = Value::str(display(value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::str(v)))
            .collect()
    }

    #[test]
    fn merge_keys_are_json_of_the_sorted_keys() {
        let params = p(&[("b", "2"), ("a", "1")]);
        let b = "b".to_string();
        let a = "a".to_string();
        assert_eq!(merge_key(&params, &[&a, &b], false), r#"{"a":"1","b":"2"}"#);
        let c = "c".to_string();
        assert_eq!(merge_key(&params, &[&c], false), r#"{"c":null}"#);
    }

    #[test]
    fn fill_missing_keeps_what_is_set() {
        let mut dst = p(&[("a", "1"), ("b", "")]);
        fill_missing(&mut dst, &p(&[("a", "x"), ("b", "2"), ("c", "3")]));
        assert_eq!(dst, p(&[("a", "1"), ("b", "2"), ("c", "3")]));
    }

    #[test]
    fn override_replaces_what_is_set() {
        let mut dst = p(&[("a", "1"), ("b", "keep")]);
        override_with(&mut dst, &p(&[("a", "x"), ("b", ""), ("c", "3")]));
        assert_eq!(dst, p(&[("a", "x"), ("b", "keep"), ("c", "3")]));
    }

    #[test]
    fn dotted_keys_reach_into_maps() {
        let mut params = Params::new();
        params.insert(
            "path".into(),
            trellis_helm::from_yaml_value("basename: web").unwrap(),
        );
        assert_eq!(
            lookup_dotted(&params, "path.basename"),
            Some(Value::str("web"))
        );
        assert_eq!(lookup_dotted(&params, "path.nope"), None);
    }
}
