//! The `scale` subresource: an `autoscaling/v1` `Scale` view of an object's replicas.

use axum::http::{Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::objects::{field_manager, key, parse_body, patch_kind, rv_precondition};
use super::status::{ApiError, ApiResult};
use super::{Cluster, Ctx, Target, json_response};
use crate::merge::fields::Scope;
use crate::merge::{managed, patch};
use crate::registry::{ResourceDef, ScalePaths};
use crate::store::Outcome;
use crate::util;

fn get_path<'a>(obj: &'a Value, path: &str) -> &'a Value {
    path.trim_start_matches('.')
        .split('.')
        .fold(obj, |cur, seg| &cur[seg])
}

fn set_path(obj: &mut Value, path: &str, value: Value) {
    let segs: Vec<&str> = path.trim_start_matches('.').split('.').collect();
    let mut cur = obj;
    for seg in &segs[..segs.len().saturating_sub(1)] {
        if !cur.get(*seg).is_some_and(Value::is_object) {
            cur[*seg] = json!({});
        }
        cur = &mut cur[*seg];
    }
    if let Some(last) = segs.last() {
        cur[*last] = value;
    }
}

/// A label selector object as the `a=b,c in (d)` string `Scale.status.selector` carries.
fn selector_string(sel: &Value) -> String {
    if let Some(s) = sel.as_str() {
        return s.to_owned();
    }
    let mut parts: Vec<String> = sel["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    for e in sel["matchExpressions"].as_array().into_iter().flatten() {
        let k = e["key"].as_str().unwrap_or("");
        let vals: Vec<&str> = e["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        parts.push(match e["operator"].as_str().unwrap_or("") {
            "In" => format!("{k} in ({})", vals.join(",")),
            "NotIn" => format!("{k} notin ({})", vals.join(",")),
            "Exists" => k.to_owned(),
            _ => format!("!{k}"),
        });
    }
    parts.join(",")
}

fn to_scale(obj: &Value, paths: &ScalePaths) -> Value {
    let m = &obj["metadata"];
    let mut status =
        json!({"replicas": get_path(obj, &paths.status_replicas).as_i64().unwrap_or(0)});
    if let Some(p) = &paths.label_selector {
        let sel = get_path(obj, p);
        if !sel.is_null() {
            status["selector"] = json!(selector_string(sel));
        }
    }
    let mut meta = json!({"name": m["name"], "uid": m["uid"], "resourceVersion": m["resourceVersion"],
        "creationTimestamp": m["creationTimestamp"]});
    if m["namespace"].is_string() {
        meta["namespace"] = m["namespace"].clone();
    }
    json!({"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": meta,
        "spec": {"replicas": get_path(obj, &paths.spec_replicas).as_i64().unwrap_or(0)}, "status": status})
}

/// Serves get, update and patch of `<resource>/<name>/scale`.
pub fn handle(cluster: &Cluster, def: &ResourceDef, t: &Target, ctx: &Ctx) -> ApiResult<Response> {
    let Some(paths) = def.scale.as_ref() else {
        return Err(ApiError::no_route(&format!("{}/scale", t.resource)));
    };
    let name = t.name.clone().unwrap_or_default();
    let k = key(def, t, &name);
    if ctx.method == Method::GET {
        let obj = cluster
            .store
            .get(&k)?
            .ok_or_else(|| ApiError::not_found(&def.group, &def.plural, &name))?;
        return Ok(json_response(StatusCode::OK, &to_scale(&obj, paths)));
    }
    if ctx.method != Method::PUT && ctx.method != Method::PATCH {
        return Err(ApiError::method_not_allowed(format!(
            "{} is not allowed on scale",
            ctx.method
        )));
    }
    let body = parse_body(ctx)?;
    let kind = if ctx.method == Method::PATCH {
        patch_kind(ctx.header(header::CONTENT_TYPE))
    } else {
        "update"
    };
    let manager = field_manager(ctx, "unknown");
    let now = util::now();
    let av = def.api_version();
    let stored = cluster.store.mutate(&k, ctx.dry_run(), |cur| {
        let Some(cur) = cur else {
            return Err(ApiError::not_found(&def.group, &def.plural, &name));
        };
        let scale = to_scale(&cur, paths);
        let wanted = match kind {
            "update" => body.clone(),
            "merge" | "apply" => patch::merge_patch(&scale, &body),
            "json" => patch::json_patch(&scale, &body)?,
            "strategic" => patch::strategic(&scale, &body, None)?,
            _ => {
                return Err(ApiError::unsupported_media_type(
                    ctx.header(header::CONTENT_TYPE),
                ));
            }
        };
        rv_precondition(def, &name, &wanted, &cur)?;
        let replicas = wanted["spec"]["replicas"].as_i64().unwrap_or(0);
        if replicas < 0 {
            return Err(ApiError::invalid(
                "autoscaling",
                "Scale",
                &name,
                &[(
                    "spec.replicas".into(),
                    format!("Invalid value: {replicas}: must be greater than or equal to 0"),
                )],
            ));
        }
        let mut obj = cur.clone();
        set_path(&mut obj, &paths.spec_replicas, json!(replicas));
        if obj == cur {
            return Ok(Outcome::Keep);
        }
        let generation = obj["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
        util::meta_mut(&mut obj).insert("generation".into(), json!(generation));
        managed::record_update(
            Some(&cur),
            &mut obj,
            def.root_schema(),
            managed::Writer {
                manager: &manager,
                api_version: &av,
                now: &now,
                scope: if def.status_subresource {
                    Scope::Main
                } else {
                    Scope::Whole
                },
            },
        );
        Ok(Outcome::Put(obj))
    })?;
    let obj = stored.ok_or_else(|| ApiError::not_found(&def.group, &def.plural, &name))?;
    Ok(json_response(StatusCode::OK, &to_scale(&obj, paths)))
}
