//! OpenAPI v3 documents, synthesized from the embedded schema tables and the stored
//! CustomResourceDefinitions: enough for clients to learn that the server validates fields
//! (`fieldValidation`) and to read each kind's structure.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::registry::{Registry, ResourceDef, SchemaSource};
use crate::schema::{Node, Tables};

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v3`: the list of group-version documents.
pub fn root(reg: &Registry) -> Value {
    let mut paths = Map::new();
    for (g, vs) in reg.groups() {
        for v in vs {
            let p = gv_path(&g, &v);
            let hash = fnv(&format!(
                "{p}:{}",
                reg.all()
                    .iter()
                    .filter(|r| r.group == g && r.version == v)
                    .map(|r| r.plural.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            ));
            paths.insert(
                p.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={hash:016X}")}),
            );
        }
    }
    json!({"paths": paths})
}

fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

fn to_openapi(n: &Node, refs: &mut BTreeSet<String>) -> Value {
    let mut m = Map::new();
    if let Some(r) = &n.reference {
        refs.insert(r.clone());
        m.insert(
            "allOf".into(),
            json!([{"$ref": format!("#/components/schemas/{r}")}]),
        );
    }
    if let Some(t) = &n.ty {
        m.insert("type".into(), json!(t));
    }
    if let Some(f) = &n.format {
        m.insert("format".into(), json!(f));
    }
    if !n.props.is_empty() {
        let props: Map<String, Value> = n
            .props
            .iter()
            .map(|(k, v)| (k.clone(), to_openapi(v, refs)))
            .collect();
        m.insert("properties".into(), Value::Object(props));
    }
    if let Some(i) = &n.items {
        m.insert("items".into(), to_openapi(i, refs));
    }
    if let Some(v) = &n.values {
        m.insert("additionalProperties".into(), to_openapi(v, refs));
    }
    if let Some(x) = &n.list_type {
        m.insert("x-kubernetes-list-type".into(), json!(x));
    }
    if !n.list_map_keys.is_empty() {
        m.insert("x-kubernetes-list-map-keys".into(), json!(n.list_map_keys));
    }
    if let Some(x) = &n.map_type {
        m.insert("x-kubernetes-map-type".into(), json!(x));
    }
    if let Some(x) = &n.patch_strategy {
        m.insert("x-kubernetes-patch-strategy".into(), json!(x));
    }
    if let Some(x) = &n.patch_merge_key {
        m.insert("x-kubernetes-patch-merge-key".into(), json!(x));
    }
    if n.preserve_unknown {
        m.insert("x-kubernetes-preserve-unknown-fields".into(), json!(true));
    }
    if let Some(d) = &n.default {
        m.insert("default".into(), d.clone());
    }
    Value::Object(m)
}

fn params() -> Value {
    let q = |name: &str, ty: &str| json!({"name": name, "in": "query", "schema": {"type": ty, "uniqueItems": true}});
    json!([
        q("dryRun", "string"),
        q("fieldManager", "string"),
        q("fieldValidation", "string"),
        q("force", "boolean")
    ])
}

fn operations(r: &ResourceDef, schema_ref: &str, paths: &mut Map<String, Value>) {
    let gvk = json!({"group": r.group, "version": r.version, "kind": r.kind});
    let prefix = format!("/{}", gv_path(&r.group, &r.version));
    let base = if r.namespaced {
        format!("{prefix}/namespaces/{{namespace}}/{}", r.plural)
    } else {
        format!("{prefix}/{}", r.plural)
    };
    let body = json!({"content": {"application/json": {"schema": {"$ref": schema_ref}}}});
    let ok = json!({"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": schema_ref}}}}});
    let op = |action: &str| {
        json!({"x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk,
        "parameters": params(), "requestBody": body, "responses": ok})
    };
    paths.insert(base.clone(), json!({"post": op("post"), "get": op("list")}));
    paths.insert(
        format!("{base}/{{name}}"),
        json!({"get": op("get"), "put": op("put"), "patch": op("patch"), "delete": op("delete")}),
    );
    if r.status_subresource {
        paths.insert(
            format!("{base}/{{name}}/status"),
            json!({"get": op("get"), "put": op("put"), "patch": op("patch")}),
        );
    }
}

/// `/openapi/v3/<api/v1 | apis/group/version>`, when served.
pub fn group_version_doc(reg: &Registry, path: &str) -> Option<Value> {
    let tables = Tables::builtin();
    let defs: Vec<_> = reg
        .all()
        .into_iter()
        .filter(|r| gv_path(&r.group, &r.version) == path)
        .collect();
    if defs.is_empty() {
        return None;
    }
    let mut paths = Map::new();
    let mut schemas: BTreeMap<String, Value> = BTreeMap::new();
    let mut pending: BTreeSet<String> = BTreeSet::new();
    for r in &defs {
        match &r.schema {
            SchemaSource::Builtin(name) => {
                operations(r, &format!("#/components/schemas/{name}"), &mut paths);
                pending.insert(name.clone());
            }
            SchemaSource::Custom(node) => {
                let name = format!("{}.{}.{}", reverse_group(&r.group), r.version, r.kind);
                operations(r, &format!("#/components/schemas/{name}"), &mut paths);
                let mut refs = BTreeSet::new();
                let mut s = match node {
                    Some(n) => to_openapi(n, &mut refs),
                    None => json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
                };
                s["x-kubernetes-group-version-kind"] =
                    json!([{"group": r.group, "version": r.version, "kind": r.kind}]);
                schemas.insert(name, s);
                pending.extend(refs);
            }
        }
    }
    let mut gvk_of: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for r in &defs {
        if let SchemaSource::Builtin(name) = &r.schema {
            gvk_of
                .entry(name.as_str())
                .or_default()
                .push(json!({"group": r.group, "version": r.version, "kind": r.kind}));
        }
    }
    while let Some(name) = pending.pop_first() {
        if schemas.contains_key(&name) {
            continue;
        }
        let Some(node) = tables.definition(&name) else {
            continue;
        };
        let mut refs = BTreeSet::new();
        let mut s = to_openapi(node, &mut refs);
        if let Some(g) = gvk_of.get(name.as_str()) {
            s["x-kubernetes-group-version-kind"] = json!(g);
        }
        schemas.insert(name, s);
        pending.extend(refs.into_iter().filter(|r| !schemas.contains_key(r)));
    }
    let (_, _, version) = super::KUBERNETES_VERSION;
    Some(
        json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": version},
        "paths": paths, "components": {"schemas": schemas}}),
    )
}

fn reverse_group(g: &str) -> String {
    let mut parts: Vec<&str> = g.split('.').collect();
    parts.reverse();
    parts.join(".")
}
