//! PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch.

use serde_json::{Map, Value};

use crate::api::status::{ApiError, ApiResult};
use crate::registry::SchemaView;

/// Applies an RFC 7386 merge patch.
pub fn merge_patch(target: &Value, patch: &Value) -> Value {
    let mut out = target.clone();
    json_patch::merge(&mut out, patch);
    out
}

/// Applies an RFC 6902 JSON patch.
pub fn json_patch(target: &Value, patch: &Value) -> ApiResult<Value> {
    let ops: json_patch::Patch = serde_json::from_value(patch.clone())
        .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
    let mut out = target.clone();
    json_patch::patch(&mut out, &ops).map_err(|e| ApiError::invalid_patch(e.to_string()))?;
    Ok(out)
}

const SET_ORDER: &str = "$setElementOrder/";
const DELETE_FROM: &str = "$deleteFromPrimitiveList/";

/// Applies a strategic merge patch using the schema's patch strategies and merge keys.
pub fn strategic(
    target: &Value,
    patch: &Value,
    schema: Option<SchemaView<'_>>,
) -> ApiResult<Value> {
    let (Value::Object(t), Value::Object(p)) = (target, patch) else {
        return Ok(patch.clone());
    };
    smp_object(t, p, schema).map(|o| o.unwrap_or(Value::Null))
}

/// Merges an object patch; `Ok(None)` means the patch deletes the object.
fn smp_object(
    t: &Map<String, Value>,
    p: &Map<String, Value>,
    schema: Option<SchemaView<'_>>,
) -> ApiResult<Option<Value>> {
    match p.get("$patch").and_then(Value::as_str) {
        Some("delete") => return Ok(None),
        Some("replace") => {
            let mut r = p.clone();
            r.remove("$patch");
            return Ok(Some(Value::Object(r)));
        }
        Some("merge") | None => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "unknown patch type: {other}"
            )));
        }
    }
    let mut out = t.clone();
    let retain: Option<Vec<String>> = p.get("$retainKeys").and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    });
    for (k, pv) in p {
        if k == "$patch" || k == "$retainKeys" || k.starts_with(SET_ORDER) {
            continue;
        }
        if let Some(field) = k.strip_prefix(DELETE_FROM) {
            if let (Some(Value::Array(list)), Some(del)) = (out.get_mut(field), pv.as_array()) {
                list.retain(|v| !del.contains(v));
            }
            continue;
        }
        if pv.is_null() {
            out.remove(k);
            continue;
        }
        let child = schema.and_then(|s| s.field(k));
        let merged = match (out.get(k), pv) {
            (Some(Value::Object(tv)), Value::Object(pm)) => {
                let atomic =
                    child.is_some_and(|c| c.resolved().map_type.as_deref() == Some("atomic"));
                if atomic {
                    Some(strip_directives(pv))
                } else {
                    smp_object(tv, pm, child)?
                }
            }
            (Some(Value::Array(tv)), Value::Array(pl)) => Some(smp_list(tv, pl, child)?),
            (None, Value::Object(pm)) => smp_object(&Map::new(), pm, child)?,
            (None, Value::Array(pl)) => Some(smp_list(&[], pl, child)?),
            _ => Some(pv.clone()),
        };
        match merged {
            Some(v) => {
                out.insert(k.clone(), v);
            }
            None => {
                out.remove(k);
            }
        }
    }
    if let Some(keep) = retain {
        out.retain(|k, _| keep.contains(k));
    }
    Ok(Some(Value::Object(out)))
}

fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

fn smp_list(t: &[Value], p: &[Value], schema: Option<SchemaView<'_>>) -> ApiResult<Value> {
    let strategy = schema.and_then(|s| s.patch_strategy()).unwrap_or("");
    if !strategy.contains("merge") {
        return Ok(Value::Array(p.iter().map(strip_directives).collect()));
    }
    if p.iter()
        .any(|v| v.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        return Ok(Value::Array(
            p.iter()
                .filter(|v| v.get("$patch").is_none())
                .map(strip_directives)
                .collect(),
        ));
    }
    let Some(key) = schema.and_then(|s| s.patch_merge_key()) else {
        // A list of scalars merged as a set.
        let mut out = t.to_vec();
        for v in p {
            if !out.contains(v) {
                out.push(v.clone());
            }
        }
        return Ok(Value::Array(out));
    };
    let items = schema.and_then(|s| s.items());
    let mut out = t.to_vec();
    for pv in p {
        let Some(pm) = pv.as_object() else { continue };
        let k = pm.get(key);
        let pos = out.iter().position(|tv| tv.get(key) == k);
        if pm.get("$patch").and_then(Value::as_str) == Some("delete") {
            if let Some(i) = pos {
                out.remove(i);
            }
            continue;
        }
        match pos {
            Some(i) => {
                let tm = out[i].as_object().cloned().unwrap_or_default();
                match smp_object(&tm, pm, items)? {
                    Some(v) => out[i] = v,
                    None => {
                        out.remove(i);
                    }
                }
            }
            None => out.push(strip_directives(pv)),
        }
    }
    Ok(Value::Array(out))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::registry::Registry;
    use serde_json::json;

    #[test]
    fn strategic_merges_containers_by_name() {
        let reg = Registry::new();
        let def = reg.find("apps", "v1", "deployments").unwrap();
        let live = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]}}}});
        let patch = json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
            "containers": [{"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"}, {"name": "a", "$patch": "delete"}]}}}});
        let out = strategic(&live, &patch, def.root_schema()).unwrap();
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([
            {"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"}])
        );
        let p2 = json!({"metadata": {"labels": {"x": null, "y": "1"}}});
        let out2 = strategic(
            &json!({"metadata": {"labels": {"x": "0"}}}),
            &p2,
            def.root_schema(),
        )
        .unwrap();
        assert_eq!(out2["metadata"]["labels"], json!({"y": "1"}));
    }

    #[test]
    fn merge_and_json_patch() {
        assert_eq!(
            merge_patch(&json!({"a": 1, "b": 2}), &json!({"a": null, "c": 3})),
            json!({"b": 2, "c": 3})
        );
        let out = json_patch(
            &json!({"a": [1]}),
            &json!([{"op": "add", "path": "/a/-", "value": 2}]),
        )
        .unwrap();
        assert_eq!(out, json!({"a": [1, 2]}));
        assert_eq!(
            json_patch(
                &json!({}),
                &json!([{"op": "test", "path": "/x", "value": 1}])
            )
            .unwrap_err()
            .code,
            422
        );
    }
}
