//! Normalization before comparison: what the server owns is dropped, and
//! what the application says to ignore (`ignoreDifferences`) is removed from
//! both sides.

use std::collections::BTreeMap;

use serde_json::Value;
use trellis_model::{ResourceIgnoreDifferences, ResourceKey};

/// Why an ignore rule could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormalizeError {
    /// A jq path expression did not parse or compile.
    #[error("ignoreDifferences jqPathExpression {expression:?}: {message}")]
    Jq {
        /// The expression as written.
        expression: String,
        /// What is wrong with it.
        message: String,
    },
}

/// Metadata fields the server writes; never drift.
const SERVER_METADATA: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// Drops server-owned metadata and `status`, and empty label/annotation maps.
pub fn strip_server_fields(object: &mut Value) {
    let Some(root) = object.as_object_mut() else {
        return;
    };
    root.remove("status");
    if let Some(meta) = root.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in SERVER_METADATA {
            meta.remove(*field);
        }
        if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
        for field in ["labels", "annotations"] {
            if meta
                .get(field)
                .is_some_and(|v| v.is_null() || v.as_object().is_some_and(|m| m.is_empty()))
            {
                meta.remove(field);
            }
        }
    }
}

/// The ignore rules of one application, compiled once.
#[derive(Default)]
pub struct IgnoreRules {
    rules: Vec<CompiledRule>,
}

struct CompiledRule {
    rule: ResourceIgnoreDifferences,
    jq: Vec<jq::Program>,
}

impl IgnoreRules {
    /// Compiles an application's `ignoreDifferences`.
    pub fn new(rules: &[ResourceIgnoreDifferences]) -> Result<Self, NormalizeError> {
        let mut compiled = Vec::with_capacity(rules.len());
        for rule in rules {
            let jq = rule
                .jq_path_expressions
                .iter()
                .map(|e| jq::Program::compile(e))
                .collect::<Result<_, _>>()?;
            compiled.push(CompiledRule {
                rule: rule.clone(),
                jq,
            });
        }
        Ok(Self { rules: compiled })
    }

    /// Whether a rule for this resource names field managers: then the live
    /// object's managedFields are needed (the live cache drops them).
    pub fn needs_managed_fields(&self, key: &ResourceKey) -> bool {
        self.rules
            .iter()
            .any(|r| !r.rule.managed_fields_managers.is_empty() && matches(&r.rule, key))
    }

    /// Removes every ignored field from `desired` and `live` (the live
    /// object, with its managedFields, decides which fields the named
    /// managers own).
    pub fn apply(&self, key: &ResourceKey, desired: Option<&mut Value>, live: Option<&mut Value>) {
        let matching: Vec<&CompiledRule> = self
            .rules
            .iter()
            .filter(|r| matches(&r.rule, key))
            .collect();
        if matching.is_empty() {
            return;
        }
        let mut pointers: Vec<Vec<String>> = Vec::new();
        for r in &matching {
            pointers.extend(r.rule.json_pointers.iter().map(|p| parse_pointer(p)));
        }
        let managers: Vec<&str> = matching
            .iter()
            .flat_map(|r| r.rule.managed_fields_managers.iter().map(String::as_str))
            .collect();
        let mut owned: Vec<Vec<PathStep>> = Vec::new();
        if let Some(live) = live.as_deref() {
            for entry in live
                .pointer("/metadata/managedFields")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let manager = entry
                    .get("manager")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if managers.contains(&manager)
                    && let Some(fields) = entry.get("fieldsV1")
                {
                    collect_leaves(fields, &mut Vec::new(), &mut owned);
                }
            }
        }
        for object in [desired, live].into_iter().flatten() {
            for pointer in &pointers {
                remove_pointer(object, pointer);
            }
            for path in &owned {
                remove_path(object, path);
            }
            for r in &matching {
                for program in &r.jq {
                    program.delete_paths(object);
                }
            }
        }
    }
}

fn matches(rule: &ResourceIgnoreDifferences, key: &ResourceKey) -> bool {
    let group_ok =
        rule.group.as_deref().unwrap_or("") == key.group || rule.group.as_deref() == Some("*");
    let kind_ok = rule.kind == key.kind || rule.kind == "*";
    let name_ok = rule
        .name
        .as_deref()
        .is_none_or(|n| n.is_empty() || n == key.name);
    let ns_ok = rule
        .namespace
        .as_deref()
        .is_none_or(|n| n.is_empty() || n == key.namespace);
    group_ok && kind_ok && name_ok && ns_ok
}

/// An RFC 6901 pointer as unescaped tokens.
fn parse_pointer(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn remove_pointer(object: &mut Value, tokens: &[String]) {
    let Some((last, parents)) = tokens.split_last() else {
        return;
    };
    let mut current = object;
    for token in parents {
        current = match current {
            Value::Object(map) => match map.get_mut(token) {
                Some(v) => v,
                None => return,
            },
            Value::Array(items) => match token.parse::<usize>().ok().and_then(|i| items.get_mut(i))
            {
                Some(v) => v,
                None => return,
            },
            _ => return,
        };
    }
    match current {
        Value::Object(map) => {
            map.remove(last);
        }
        Value::Array(items) => {
            if let Ok(i) = last.parse::<usize>()
                && i < items.len()
            {
                items.remove(i);
            }
        }
        _ => {}
    }
}

/// One step of a managedFields (fieldsV1) path.
#[derive(Debug, Clone, PartialEq)]
enum PathStep {
    /// `f:name`: a map field.
    Field(String),
    /// `k:{...}`: the list element whose fields equal these.
    Key(BTreeMap<String, Value>),
    /// `v:value`: the set element equal to this.
    Value(Value),
    /// `i:N`: the list element at this index.
    Index(usize),
}

/// Collects the paths of fieldsV1 leaves (and of `.`-marked inner nodes,
/// which own the whole subtree).
fn collect_leaves(fields: &Value, prefix: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    let Some(map) = fields.as_object() else {
        return;
    };
    if map.is_empty() || map.contains_key(".") && map.len() == 1 {
        if !prefix.is_empty() {
            out.push(prefix.clone());
        }
        return;
    }
    for (k, v) in map {
        let step = if let Some(f) = k.strip_prefix("f:") {
            PathStep::Field(f.to_string())
        } else if let Some(json) = k.strip_prefix("k:") {
            match serde_json::from_str::<BTreeMap<String, Value>>(json) {
                Ok(fields) => PathStep::Key(fields),
                Err(_) => continue,
            }
        } else if let Some(json) = k.strip_prefix("v:") {
            match serde_json::from_str::<Value>(json) {
                Ok(v) => PathStep::Value(v),
                Err(_) => continue,
            }
        } else if let Some(i) = k.strip_prefix("i:") {
            match i.parse() {
                Ok(i) => PathStep::Index(i),
                Err(_) => continue,
            }
        } else {
            continue;
        };
        prefix.push(step);
        collect_leaves(v, prefix, out);
        prefix.pop();
    }
}

fn element_matches(step: &PathStep, index: usize, item: &Value) -> bool {
    match step {
        PathStep::Key(fields) => fields.iter().all(|(k, v)| item.get(k) == Some(v)),
        PathStep::Value(v) => item == v,
        PathStep::Index(i) => *i == index,
        PathStep::Field(_) => false,
    }
}

fn remove_path(object: &mut Value, path: &[PathStep]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = object;
    for step in parents {
        current = match (step, current) {
            (PathStep::Field(f), Value::Object(map)) => match map.get_mut(f) {
                Some(v) => v,
                None => return,
            },
            (step, Value::Array(items)) => {
                match items
                    .iter_mut()
                    .enumerate()
                    .find(|(i, item)| element_matches(step, *i, item))
                {
                    Some((_, v)) => v,
                    None => return,
                }
            }
            _ => return,
        };
    }
    match (last, current) {
        (PathStep::Field(f), Value::Object(map)) => {
            map.remove(f);
        }
        (step, Value::Array(items)) => {
            let mut index = 0;
            items.retain(|item| {
                let keep = !element_matches(step, index, item);
                index += 1;
                keep
            });
        }
        _ => {}
    }
}

mod jq {
    //! jq path expressions (jaq): `del(EXPR)` run on the object.

    use jaq_core::load::{Arena, File, Loader};
    use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
    use jaq_json::Val;
    use serde_json::Value;

    use super::NormalizeError;

    type Filter = jaq_core::Filter<data::JustLut<Val>>;

    /// A compiled `del(EXPR)`.
    pub struct Program {
        filter: Filter,
    }

    impl Program {
        pub fn compile(expression: &str) -> Result<Self, NormalizeError> {
            let error = |message: String| NormalizeError::Jq {
                expression: expression.to_string(),
                message,
            };
            let code = format!("del({expression})");
            let defs = jaq_core::defs()
                .chain(jaq_std::defs())
                .chain(jaq_json::defs());
            let funs = jaq_core::funs()
                .chain(jaq_std::funs())
                .chain(jaq_json::funs());
            let loader = Loader::new(defs);
            let arena = Arena::default();
            let modules = loader
                .load(
                    &arena,
                    File {
                        code: code.as_str(),
                        path: (),
                    },
                )
                .map_err(|errs| error(format!("{} parse error(s)", errs.len())))?;
            let filter = Compiler::default()
                .with_funs(funs)
                .compile(modules)
                .map_err(|errs| {
                    error(format!(
                        "cannot compile: {:?}",
                        errs.iter()
                            .flat_map(|(_, e)| e.iter().map(|(name, _)| name.to_string()))
                            .collect::<Vec<_>>()
                    ))
                })?;
            Ok(Self { filter })
        }

        /// Deletes the paths from `object`; an expression that fails on
        /// this object (a missing field used as an array) leaves it as is.
        pub fn delete_paths(&self, object: &mut Value) {
            let Ok(text) = serde_json::to_string(object) else {
                return;
            };
            let Ok(input) = jaq_json::read::parse_single(text.as_bytes()) else {
                return;
            };
            let ctx = Ctx::<data::JustLut<Val>>::new(&self.filter.lut, Vars::new([]));
            let mut out = self.filter.id.run((ctx, input)).map(unwrap_valr);
            if let Some(Ok(result)) = out.next()
                && let Ok(value) = serde_json::from_str::<Value>(&result.to_string())
            {
                *object = value;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key() -> ResourceKey {
        ResourceKey {
            group: "apps".into(),
            kind: "Deployment".into(),
            namespace: "prod".into(),
            name: "web".into(),
        }
    }

    #[test]
    fn json_pointers_jq_and_managers_remove_fields_on_both_sides() {
        let rules = IgnoreRules::new(&[ResourceIgnoreDifferences {
            group: Some("apps".into()),
            kind: "Deployment".into(),
            json_pointers: vec!["/spec/replicas".into()],
            jq_path_expressions: vec![
                ".spec.template.spec.containers[] | select(.name == \"sidecar\")".into(),
            ],
            managed_fields_managers: vec!["hpa".into()],
            ..Default::default()
        }])
        .unwrap();
        let mut desired = json!({"metadata": {}, "spec": {"replicas": 1, "paused": false,
            "template": {"spec": {"containers": [{"name": "app"}, {"name": "sidecar"}]}}}});
        let mut live = json!({"metadata": {"managedFields": [
                {"manager": "hpa", "fieldsV1": {"f:spec": {"f:paused": {}}}}]},
            "spec": {"replicas": 5, "paused": true,
            "template": {"spec": {"containers": [{"name": "app"}, {"name": "sidecar", "image": "x"}]}}}});
        rules.apply(&key(), Some(&mut desired), Some(&mut live));
        strip_server_fields(&mut live);
        assert_eq!(desired, live);
        assert_eq!(
            desired,
            json!({"metadata": {}, "spec": {"template": {"spec": {"containers": [{"name": "app"}]}}}})
        );
    }

    #[test]
    fn rules_match_by_kind_name_and_namespace() {
        let rule = |name: Option<&str>| ResourceIgnoreDifferences {
            group: Some("apps".into()),
            kind: "Deployment".into(),
            name: name.map(str::to_string),
            ..Default::default()
        };
        assert!(matches(&rule(None), &key()));
        assert!(matches(&rule(Some("web")), &key()));
        assert!(!matches(&rule(Some("api")), &key()));
    }

    #[test]
    fn bad_jq_is_an_error_naming_the_expression() {
        let err = IgnoreRules::new(&[ResourceIgnoreDifferences {
            kind: "X".into(),
            jq_path_expressions: vec![".spec[".into()],
            ..Default::default()
        }])
        .err()
        .unwrap();
        assert!(err.to_string().contains(".spec["), "{err}");
    }

    #[test]
    fn server_fields_are_dropped() {
        let mut o = json!({"metadata": {"name": "a", "uid": "u", "resourceVersion": "3",
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}}, "status": {}});
        strip_server_fields(&mut o);
        assert_eq!(o, json!({"metadata": {"name": "a"}}));
    }
}
