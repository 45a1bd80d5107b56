//! Object operations: get, list, create, update, patch (four flavours), delete and
//! deletecollection, for built-in and custom resources.

use std::sync::Arc;

use axum::http::{Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::selector::{FieldSelector, LabelSelector};
use super::status::{ApiError, ApiResult};
use super::{Cluster, Ctx, Target, audit, json_response, json_typed};
use crate::merge::fields::Scope;
use crate::merge::{managed, patch};
use crate::registry::ResourceDef;
use crate::store::{Key, Outcome};
use crate::util;

/// Runs an object request and records it in the audit log.
pub async fn dispatch(cluster: &Arc<Cluster>, t: Target, ctx: Arc<Ctx>) -> ApiResult<Response> {
    let watching = matches!(ctx.param("watch"), Some("1" | "true"));
    if ctx.method == Method::GET && t.name.is_none() && watching {
        return dispatch_sync(cluster, t, &ctx);
    }
    // Storage work blocks (SQLite, fsync); it runs off the async workers so watches keep
    // streaming while writes commit.
    let cluster = cluster.clone();
    tokio::task::spawn_blocking(move || dispatch_sync(&cluster, t, &ctx))
        .await
        .map_err(|e| ApiError::internal(format!("request task failed: {e}")))?
}

pub(crate) fn dispatch_sync(cluster: &Arc<Cluster>, t: Target, ctx: &Ctx) -> ApiResult<Response> {
    let def = cluster
        .registry
        .find(&t.group, &t.version, &t.resource)
        .ok_or_else(|| ApiError::no_route(&format!("{}/{}/{}", t.group, t.version, t.resource)))?;
    if t.namespace.is_some() && !def.namespaced {
        return Err(ApiError::no_route(&t.resource));
    }
    if t.subresource.as_deref() == Some("scale") && def.scale.is_some() {
        let verb = match ctx.method {
            Method::GET => "get",
            Method::PUT => "update",
            Method::PATCH => "patch",
            _ => "",
        };
        let r = super::scale::handle(cluster, &def, &t, ctx);
        let code = r
            .as_ref()
            .map(|r| r.status().as_u16())
            .unwrap_or_else(|e| e.code);
        let pt = (verb == "patch").then(|| patch_kind(ctx.header(header::CONTENT_TYPE)));
        audit(cluster, ctx, &t, verb, pt, code);
        return r;
    }
    if let Some(s) = &t.subresource
        && (s != "status" || !def.status_subresource)
    {
        return Err(ApiError::no_route(&format!("{}/{s}", t.resource)));
    }
    let watching = matches!(ctx.param("watch"), Some("1" | "true"));
    let (verb, patch_type) = match (&ctx.method, t.name.is_some()) {
        (&Method::GET, false) if watching => ("watch", None),
        (&Method::GET, false) => ("list", None),
        (&Method::GET, true) => ("get", None),
        (&Method::POST, false) => ("create", None),
        (&Method::PUT, true) => ("update", None),
        (&Method::PATCH, true) => ("patch", Some(patch_kind(ctx.header(header::CONTENT_TYPE)))),
        (&Method::DELETE, true) => ("delete", None),
        (&Method::DELETE, false) => ("deletecollection", None),
        _ => {
            let e = ApiError::method_not_allowed(format!(
                "{} is not allowed on {}",
                ctx.method, t.resource
            ));
            audit(cluster, ctx, &t, ctx.method.as_str(), None, e.code);
            return Err(e);
        }
    };
    if verb == "watch" {
        let r = super::watch::watch(cluster, &def, &t, ctx);
        audit(
            cluster,
            ctx,
            &t,
            verb,
            None,
            r.as_ref()
                .map(|r| r.status().as_u16())
                .unwrap_or_else(|e| e.code),
        );
        return r;
    }
    let result = match verb {
        "get" => get(cluster, &def, &t, ctx),
        "list" => list(cluster, &def, &t, ctx),
        "create" => create(cluster, &def, &t, ctx),
        "update" => update(cluster, &def, &t, ctx),
        "patch" => patch_object(cluster, &def, &t, ctx, patch_type.unwrap_or("")),
        "delete" => delete(cluster, &def, &t, ctx),
        _ => delete_collection(cluster, &def, &t, ctx),
    };
    let code = result
        .as_ref()
        .map(|r| r.status().as_u16())
        .unwrap_or_else(|e| e.code);
    audit(
        cluster,
        ctx,
        &t,
        verb,
        patch_type.filter(|p| !p.is_empty()),
        code,
    );
    result
}

pub(crate) fn patch_kind(content_type: &str) -> &'static str {
    match content_type.split(';').next().unwrap_or("").trim() {
        "application/apply-patch+yaml" | "application/apply-patch+cbor" => "apply",
        "application/merge-patch+json" => "merge",
        "application/json-patch+json" => "json",
        "application/strategic-merge-patch+json" => "strategic",
        _ => "",
    }
}

pub(crate) fn key(def: &ResourceDef, t: &Target, name: &str) -> Key {
    Key {
        group: def.group.clone(),
        resource: def.plural.clone(),
        namespace: if def.namespaced {
            t.namespace.clone().unwrap_or_default()
        } else {
            String::new()
        },
        name: name.to_owned(),
    }
}

/// Sets `apiVersion` and `kind` to the served version (objects are stored once for all
/// versions of a custom resource).
fn present(def: &ResourceDef, mut obj: Value) -> Value {
    if let Some(m) = obj.as_object_mut() {
        m.insert("apiVersion".into(), json!(def.api_version()));
        m.insert("kind".into(), json!(def.kind));
    }
    obj
}

fn respond(ctx: &Ctx, def: &ResourceDef, code: StatusCode, obj: Value) -> Response {
    if super::table::wants_table(ctx) {
        let t = super::table::table(
            def,
            std::slice::from_ref(&obj),
            &obj["metadata"]["resourceVersion"],
            None,
            ctx,
        );
        return json_response(code, &t);
    }
    json_response(code, &obj)
}

fn get(cluster: &Cluster, def: &ResourceDef, t: &Target, ctx: &Ctx) -> ApiResult<Response> {
    let name = t.name.as_deref().unwrap_or("");
    let obj = cluster
        .store
        .get(&key(def, t, name))?
        .ok_or_else(|| ApiError::not_found(&def.group, &def.plural, name))?;
    Ok(respond(ctx, def, StatusCode::OK, present(def, obj)))
}

/// Parses `limit`/`continue` and selectors, and reads one page.
fn read_page(
    cluster: &Cluster,
    def: &ResourceDef,
    t: &Target,
    ctx: &Ctx,
) -> ApiResult<(Vec<Value>, u64, Option<String>)> {
    let labels = LabelSelector::parse(ctx.param("labelSelector").unwrap_or(""))?;
    let fields = FieldSelector::parse(ctx.param("fieldSelector").unwrap_or(""))?;
    let limit: usize = match ctx.param("limit") {
        Some(l) if !l.is_empty() => l
            .parse()
            .map_err(|_| ApiError::bad_request(format!("invalid limit {l:?}")))?,
        _ => 0,
    };
    let after = match ctx.param("continue").filter(|c| !c.is_empty()) {
        Some(token) => {
            let raw = util::unhex(token)
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "continue key is not valid: illegal base64 data".to_owned(),
                    )
                })?;
            let (ns, name) = raw
                .split_once('\0')
                .ok_or_else(|| ApiError::bad_request("continue key is not valid"))?;
            Some((ns.to_owned(), name.to_owned()))
        }
        None => None,
    };
    let ns = if def.namespaced {
        t.namespace.as_deref()
    } else {
        None
    };
    let (all, rv) = cluster.store.list(
        &def.group,
        &def.plural,
        ns,
        after.as_ref().map(|(a, b)| (a.as_str(), b.as_str())),
    )?;
    let mut items = Vec::new();
    let mut next = None;
    for obj in all {
        if !labels.matches(&obj) || !fields.matches(&obj) {
            continue;
        }
        if limit > 0 && items.len() == limit {
            // More remain: continue after the last one returned.
            let last: &Value = &items[items.len() - 1];
            let token = format!(
                "{}\0{}",
                util::meta_str(last, "namespace").unwrap_or(""),
                util::meta_str(last, "name").unwrap_or("")
            );
            next = Some(util::hex(token.as_bytes()));
            break;
        }
        items.push(present(def, obj));
    }
    Ok((items, rv, next))
}

fn list(cluster: &Cluster, def: &ResourceDef, t: &Target, ctx: &Ctx) -> ApiResult<Response> {
    let (items, rv, next) = read_page(cluster, def, t, ctx)?;
    if super::table::wants_table(ctx) {
        let table = super::table::table(def, &items, &json!(rv.to_string()), next.as_deref(), ctx);
        return Ok(json_response(StatusCode::OK, &table));
    }
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if let Some(c) = next {
        meta["continue"] = json!(c);
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({"kind": format!("{}List", def.kind), "apiVersion": def.api_version(), "metadata": meta, "items": items}),
    ))
}

pub(crate) fn parse_body(ctx: &Ctx) -> ApiResult<Value> {
    let ct = ctx.header(header::CONTENT_TYPE);
    if ct.contains("protobuf") || ct.contains("cbor") {
        // Clients retry in JSON after a 415 for a binary encoding.
        return Err(ApiError::unsupported_media_type(ct));
    }
    if ctx.body.is_empty() {
        return Err(ApiError::bad_request("the request body is empty"));
    }
    let is_yaml = ct.contains("yaml");
    match serde_json::from_slice::<Value>(&ctx.body) {
        Ok(v) => Ok(v),
        Err(e) if !is_yaml => Err(ApiError::bad_request(format!(
            "error decoding body as JSON: {e}"
        ))),
        Err(_) => {
            let text = std::str::from_utf8(&ctx.body)
                .map_err(|e| ApiError::bad_request(format!("body is not UTF-8: {e}")))?;
            serde_saphyr::from_str::<Value>(text)
                .map_err(|e| ApiError::bad_request(format!("error decoding YAML body: {e}")))
        }
    }
}

fn check_type(def: &ResourceDef, obj: &Value) -> ApiResult<()> {
    if !obj.is_object() {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    }
    let av = obj["apiVersion"].as_str().unwrap_or("");
    let kind = obj["kind"].as_str().unwrap_or("");
    if (!av.is_empty() && av != def.api_version()) || (!kind.is_empty() && kind != def.kind) {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({av}) does not match the expected API version ({})",
            def.api_version()
        )));
    }
    Ok(())
}

fn validate_name(def: &ResourceDef, name: &str) -> ApiResult<()> {
    let ok = match (def.group.as_str(), def.kind.as_str()) {
        ("", "Namespace" | "Service") => util::is_dns_label(name),
        ("rbac.authorization.k8s.io", _) => util::is_path_segment_name(name),
        _ => util::is_dns_subdomain(name),
    };
    if ok {
        return Ok(());
    }
    Err(ApiError::invalid(
        &def.group,
        &def.kind,
        name,
        &[(
            "metadata.name".into(),
            format!(
                "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
            ),
        )],
    ))
}

pub(crate) fn field_manager(ctx: &Ctx, default_for: &str) -> String {
    match ctx.param("fieldManager") {
        Some(m) if !m.is_empty() => m.to_owned(),
        _ => {
            let ua = ctx.header(header::USER_AGENT);
            let first = ua.split('/').next().unwrap_or("").trim();
            if first.is_empty() {
                default_for.to_owned()
            } else {
                first.to_owned()
            }
        }
    }
}

fn ensure_namespace(cluster: &Cluster, def: &ResourceDef, ns: &str) -> ApiResult<()> {
    if !def.namespaced {
        return Ok(());
    }
    let k = Key {
        group: String::new(),
        resource: "namespaces".into(),
        namespace: String::new(),
        name: ns.to_owned(),
    };
    match cluster.store.get(&k)? {
        None => Err(ApiError::not_found("", "namespaces", ns)),
        Some(n) if n["metadata"]["deletionTimestamp"].is_string() => {
            Err(ApiError::forbidden(format!(
                "{} is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                def.plural
            )))
        }
        Some(_) => Ok(()),
    }
}

/// Unknown fields of `obj` per the schema, as `spec.foo` paths.
fn unknown_fields(def: &ResourceDef, obj: &Value) -> Vec<String> {
    fn go(
        v: &Value,
        s: Option<crate::registry::SchemaView<'_>>,
        path: &str,
        out: &mut Vec<String>,
    ) {
        let Some(s) = s else { return };
        let r = s.resolved();
        if r.preserve_unknown || out.len() > 20 {
            return;
        }
        match v {
            Value::Object(m) if !r.props.is_empty() => {
                for (k, child) in m {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    if path.is_empty() && matches!(k.as_str(), "apiVersion" | "kind") {
                        continue;
                    }
                    match r.props.get(k) {
                        Some(_) => go(child, s.field(k), &p, out),
                        None => out.push(p),
                    }
                }
            }
            Value::Object(m) if r.values.is_some() => {
                for (k, child) in m {
                    go(child, s.items(), &format!("{path}.{k}"), out);
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    go(child, s.items(), &format!("{path}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    go(obj, def.root_schema(), "", &mut out);
    out
}

/// Label and annotation keys and values, as the real server validates every object's metadata.
fn validate_metadata(def: &ResourceDef, obj: &Value, name: &str) -> ApiResult<()> {
    let mut errs = Vec::new();
    for (k, v) in obj["metadata"]["labels"].as_object().into_iter().flatten() {
        if let Some(e) = util::qualified_name_error(k) {
            errs.push((
                "metadata.labels".into(),
                format!("Invalid value: \"{k}\": {e}"),
            ));
        }
        match v.as_str() {
            Some(s) => {
                if let Some(e) = util::label_value_error(s) {
                    errs.push((
                        "metadata.labels".into(),
                        format!("Invalid value: \"{s}\": {e}"),
                    ));
                }
            }
            None => errs.push((
                "metadata.labels".into(),
                format!("Invalid value: {v}: must be a string"),
            )),
        }
    }
    let mut total = 0;
    for (k, v) in obj["metadata"]["annotations"]
        .as_object()
        .into_iter()
        .flatten()
    {
        if let Some(e) = util::qualified_name_error(k) {
            errs.push((
                "metadata.annotations".into(),
                format!("Invalid value: \"{k}\": {e}"),
            ));
        }
        total += k.len() + v.as_str().map(str::len).unwrap_or(0);
    }
    if total > 256 * 1024 {
        errs.push((
            "metadata.annotations".into(),
            "Too long: must have at most 262144 bytes".into(),
        ));
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(&def.group, &def.kind, name, &errs))
    }
}

/// Whether the kind tracks `metadata.generation` (kinds with a spec, and custom resources).
fn has_generation(def: &ResourceDef) -> bool {
    def.is_custom()
        || def
            .root_schema()
            .is_some_and(|s| s.resolved().props.contains_key("spec"))
}

/// Prepared write: server-owned metadata, defaults, admission, schema handling.
struct Normalize<'a> {
    def: &'a ResourceDef,
    cluster: &'a Cluster,
    scope: Scope,
    now: &'a str,
}

impl Normalize<'_> {
    fn run(&self, old: Option<&Value>, mut new: Value, ns: &str, name: &str) -> ApiResult<Value> {
        let def = self.def;
        let Some(m) = new.as_object_mut() else {
            return Err(ApiError::bad_request("the body must be a JSON object"));
        };
        m.insert("apiVersion".into(), json!(def.api_version()));
        m.insert("kind".into(), json!(def.kind));
        // Scope: a status write changes only status; a main write keeps the stored status.
        if let Some(old) = old {
            match self.scope {
                Scope::Status => {
                    let status = new.get("status").cloned();
                    let mut base = old.clone();
                    match status {
                        Some(s) => base["status"] = s,
                        None => {
                            base.as_object_mut().map(|b| b.remove("status"));
                        }
                    }
                    // managedFields come from the write.
                    base["metadata"]["managedFields"] = new["metadata"]["managedFields"].clone();
                    new = base;
                }
                Scope::Main => match old.get("status") {
                    Some(s) => new["status"] = s.clone(),
                    None => {
                        new.as_object_mut().map(|b| b.remove("status"));
                    }
                },
                Scope::Whole => {}
            }
        } else if self.scope == Scope::Main {
            new.as_object_mut().map(|b| b.remove("status"));
        }
        if def.is_custom()
            && let Some(schema) = def.root_schema()
        {
            let root = schema.node;
            let mut errs = Vec::new();
            crate::crd::validate(&new, root, "", &mut errs);
            if !errs.is_empty() {
                return Err(ApiError::invalid(&def.group, &def.kind, name, &errs));
            }
            crate::crd::prune(&mut new, root);
            if let Some(raw) = def.custom_schema.as_deref() {
                crate::crd::drop_nulls(&mut new, raw);
            }
            crate::crd::apply_defaults(&mut new, root);
            if let Some(raw) = def.custom_schema.as_deref() {
                crate::crd::validate_values(&new, raw, "", &mut errs);
                if !errs.is_empty() {
                    return Err(ApiError::invalid(&def.group, &def.kind, name, &errs));
                }
            }
        }
        crate::defaults::apply(def, &mut new);
        validate_metadata(def, &new, name)?;
        for rule in &self.cluster.admission {
            rule.mutate(&def.kind, ns, &mut new);
        }
        let meta = util::meta_mut(&mut new);
        meta.insert("name".into(), json!(name));
        if def.namespaced {
            meta.insert("namespace".into(), json!(ns));
        } else {
            meta.remove("namespace");
        }
        match old {
            Some(old) => {
                for k in [
                    "uid",
                    "creationTimestamp",
                    "deletionTimestamp",
                    "deletionGracePeriodSeconds",
                ] {
                    match old["metadata"].get(k) {
                        Some(v) => meta.insert(k.into(), v.clone()),
                        None => meta.remove(k),
                    };
                }
                let generation = old["metadata"]["generation"].as_i64().unwrap_or(1);
                let spec_changed = {
                    let strip = |v: &Value| -> Map<String, Value> {
                        v.as_object()
                            .map(|o| {
                                o.iter()
                                    .filter(|(k, _)| !matches!(k.as_str(), "metadata" | "status"))
                                    .map(|(k, v)| (k.clone(), v.clone()))
                                    .collect()
                            })
                            .unwrap_or_default()
                    };
                    strip(old) != strip(&new)
                };
                let generation = if spec_changed {
                    generation + 1
                } else {
                    generation
                };
                if has_generation(def) {
                    util::meta_mut(&mut new).insert("generation".into(), json!(generation));
                }
            }
            None => {
                meta.insert("uid".into(), json!(util::uid()));
                meta.insert("creationTimestamp".into(), json!(self.now));
                if has_generation(def) {
                    meta.insert("generation".into(), json!(1));
                }
                meta.remove("deletionTimestamp");
                meta.remove("deletionGracePeriodSeconds");
            }
        }
        let meta = util::meta_mut(&mut new);
        meta.remove("resourceVersion");
        meta.remove("selfLink");
        if def.group == "apiextensions.k8s.io" && def.kind == "CustomResourceDefinition" {
            crate::crd::check_definition(&new, name)
                .map_err(|errs| ApiError::invalid(&def.group, &def.kind, name, &errs))?;
            crate::crd::establish(&mut new, self.now);
        }
        Ok(new)
    }
}

fn field_validation(def: &ResourceDef, ctx: &Ctx, obj: &Value) -> ApiResult<Vec<String>> {
    let mode = ctx.param("fieldValidation").unwrap_or("Warn");
    if mode == "Ignore" {
        return Ok(Vec::new());
    }
    let unknown = unknown_fields(def, obj);
    if unknown.is_empty() {
        return Ok(Vec::new());
    }
    if mode == "Strict" {
        let list: Vec<String> = unknown
            .iter()
            .map(|u| format!("unknown field \"{u}\""))
            .collect();
        return Err(ApiError::bad_request(format!(
            "strict decoding error: {}",
            list.join(", ")
        )));
    }
    Ok(unknown)
}

fn with_warnings(mut r: Response, unknown: &[String]) -> Response {
    for u in unknown {
        if let Ok(v) = format!("299 - \"unknown field \\\"{u}\\\"\"").parse() {
            r.headers_mut().append(header::WARNING, v);
        }
    }
    r
}

fn scope_of(def: &ResourceDef, t: &Target) -> Scope {
    match (t.subresource.as_deref(), def.status_subresource) {
        (Some("status"), _) => Scope::Status,
        (_, true) => Scope::Main,
        _ => Scope::Whole,
    }
}

fn after_write(cluster: &Cluster, def: &ResourceDef, dry_run: bool) -> ApiResult<()> {
    if !dry_run && def.group == "apiextensions.k8s.io" && def.plural == "customresourcedefinitions"
    {
        cluster.refresh_crds()?;
    }
    Ok(())
}

fn create(cluster: &Cluster, def: &ResourceDef, t: &Target, ctx: &Ctx) -> ApiResult<Response> {
    if t.subresource.is_some() {
        return Err(ApiError::method_not_allowed(
            "create is not allowed on a subresource",
        ));
    }
    let mut body = parse_body(ctx)?;
    check_type(def, &body)?;
    let url_ns = t.namespace.clone().unwrap_or_default();
    let ns = match util::meta_str(&body, "namespace") {
        Some(n) if def.namespaced && !n.is_empty() && n != url_ns => {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        _ => url_ns,
    };
    if def.namespaced && ns.is_empty() {
        return Err(ApiError::bad_request(
            "a namespace is required to create a namespaced object",
        ));
    }
    let mut name = util::meta_str(&body, "name").unwrap_or("").to_owned();
    if name.is_empty()
        && let Some(prefix) = util::meta_str(&body, "generateName").filter(|p| !p.is_empty())
    {
        name = format!("{prefix}{}", util::random_suffix(5));
    }
    if name.is_empty() {
        return Err(ApiError::invalid(
            &def.group,
            &def.kind,
            "",
            &[(
                "metadata.name".into(),
                "Required value: name or generateName is required".into(),
            )],
        ));
    }
    validate_name(def, &name)?;
    ensure_namespace(cluster, def, &ns)?;
    let unknown = field_validation(def, ctx, &body)?;
    util::meta_mut(&mut body).remove("managedFields");
    let now = util::now();
    let scope = scope_of(def, t);
    let norm = Normalize {
        def,
        cluster,
        scope,
        now: &now,
    };
    let mut obj = norm.run(None, body, &ns, &name)?;
    let manager = field_manager(ctx, "unknown");
    let av = def.api_version();
    managed::record_update(
        None,
        &mut obj,
        def.root_schema(),
        managed::Writer {
            manager: &manager,
            api_version: &av,
            now: &now,
            scope: if scope == Scope::Status {
                Scope::Main
            } else {
                scope
            },
        },
    );
    let dry = ctx.dry_run();
    let k = key(def, t, &name);
    let stored = cluster.store.mutate(&k, dry, |cur| match cur {
        Some(_) => Err(ApiError::already_exists(&def.group, &def.plural, &name)),
        None => Ok(Outcome::Put(obj)),
    })?;
    after_write(cluster, def, dry)?;
    let obj = stored.ok_or_else(|| ApiError::internal("create stored nothing"))?;
    Ok(with_warnings(
        respond(ctx, def, StatusCode::CREATED, present(def, obj)),
        &unknown,
    ))
}

pub(crate) fn rv_precondition(
    def: &ResourceDef,
    name: &str,
    wanted: &Value,
    current: &Value,
) -> ApiResult<()> {
    let want = wanted["metadata"]["resourceVersion"].as_str().unwrap_or("");
    if !want.is_empty() && Some(want) != current["metadata"]["resourceVersion"].as_str() {
        return Err(ApiError::conflict(
            &def.group,
            &def.plural,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        ));
    }
    Ok(())
}

/// After a write that leaves a deleting object without finalizers, it is gone.
fn finalize(def: &ResourceDef, obj: Value) -> Outcome {
    let deleting = obj["metadata"]["deletionTimestamp"].is_string();
    let some = |v: &Value| v.as_array().is_some_and(|f| !f.is_empty());
    // A namespace also waits for the finalizers in its spec (`kubernetes`: its content).
    let finalizers = some(&obj["metadata"]["finalizers"])
        || (is_namespace(def) && some(&obj["spec"]["finalizers"]));
    if deleting && !finalizers {
        Outcome::Delete
    } else {
        Outcome::Put(obj)
    }
}

fn update(cluster: &Cluster, def: &ResourceDef, t: &Target, ctx: &Ctx) -> ApiResult<Response> {
    let name = t.name.clone().unwrap_or_default();
    let body = parse_body(ctx)?;
    check_type(def, &body)?;
    if let Some(n) = util::meta_str(&body, "name")
        && n != name
    {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({n}) does not match the name on the URL ({name})"
        )));
    }
    let unknown = field_validation(def, ctx, &body)?;
    let now = util::now();
    let scope = scope_of(def, t);
    let ns = t.namespace.clone().unwrap_or_default();
    let manager = field_manager(ctx, "unknown");
    let av = def.api_version();
    let dry = ctx.dry_run();
    let mut result_status = StatusCode::OK;
    let stored = cluster.store.mutate(&key(def, t, &name), dry, |cur| {
        let Some(cur) = cur else {
            return Err(ApiError::not_found(&def.group, &def.plural, &name));
        };
        rv_precondition(def, &name, &body, &cur)?;
        let norm = Normalize {
            def,
            cluster,
            scope,
            now: &now,
        };
        let mut obj = norm.run(Some(&cur), body, &ns, &name)?;
        util::meta_mut(&mut obj).insert(
            "managedFields".into(),
            cur["metadata"]["managedFields"].clone(),
        );
        managed::record_update(
            Some(&cur),
            &mut obj,
            def.root_schema(),
            managed::Writer {
                manager: &manager,
                api_version: &av,
                now: &now,
                scope,
            },
        );
        if obj == cur {
            return Ok(Outcome::Keep);
        }
        let o = finalize(def, obj);
        if matches!(o, Outcome::Delete) {
            result_status = StatusCode::OK;
        }
        Ok(o)
    })?;
    after_write(cluster, def, dry)?;
    let obj = stored.ok_or_else(|| ApiError::not_found(&def.group, &def.plural, &name))?;
    Ok(with_warnings(
        respond(ctx, def, result_status, present(def, obj)),
        &unknown,
    ))
}

fn patch_object(
    cluster: &Cluster,
    def: &ResourceDef,
    t: &Target,
    ctx: &Ctx,
    kind: &str,
) -> ApiResult<Response> {
    let name = t.name.clone().unwrap_or_default();
    if kind.is_empty() {
        return Err(ApiError::unsupported_media_type(
            ctx.header(header::CONTENT_TYPE),
        ));
    }
    if kind == "strategic" && def.is_custom() {
        return Err(ApiError::unsupported_media_type(
            ctx.header(header::CONTENT_TYPE),
        ));
    }
    let body = parse_body(ctx)?;
    let ns = t.namespace.clone().unwrap_or_default();
    let now = util::now();
    let scope = scope_of(def, t);
    let av = def.api_version();
    let dry = ctx.dry_run();
    let force = matches!(ctx.param("force"), Some("true" | "1"));
    let manager = match (kind, ctx.param("fieldManager")) {
        ("apply", Some(m)) if !m.is_empty() => m.to_owned(),
        ("apply", _) => {
            return Err(ApiError::bad_request(
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            ));
        }
        _ => field_manager(ctx, "unknown"),
    };
    if kind == "apply" {
        check_type(def, &body)?;
        if body["apiVersion"].as_str().unwrap_or("").is_empty()
            || body["kind"].as_str().unwrap_or("").is_empty()
        {
            return Err(ApiError::bad_request(
                "apiVersion and kind must be set in an apply patch",
            ));
        }
        match util::meta_str(&body, "name") {
            Some(n) if n == name => {}
            _ => {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({}) does not match the name on the URL ({name})",
                    util::meta_str(&body, "name").unwrap_or("")
                )));
            }
        }
    }
    let mut unknown = Vec::new();
    let mut created = false;
    let writer = managed::Writer {
        manager: &manager,
        api_version: &av,
        now: &now,
        scope,
    };
    // Applying to an object that does not exist creates it.
    if kind == "apply" {
        validate_name(def, &name)?;
        ensure_namespace(cluster, def, &ns)?;
        unknown = field_validation(def, ctx, &body)?;
    }
    let stored = cluster.store.mutate(&key(def, t, &name), dry, |cur| {
        let candidate = match (kind, cur.as_ref()) {
            ("apply", live) => {
                rv_precondition(def, &name, &body, live.unwrap_or(&Value::Null))?;
                created = live.is_none();
                managed::apply(
                    live,
                    managed::Apply {
                        applied: &body,
                        force,
                        writer,
                    },
                    def.root_schema(),
                )?
            }
            (_, None) => return Err(ApiError::not_found(&def.group, &def.plural, &name)),
            ("merge", Some(c)) => patch::merge_patch(c, &body),
            ("json", Some(c)) => patch::json_patch(c, &body)?,
            (_, Some(c)) => patch::strategic(c, &body, def.root_schema())?,
        };
        if let Some(c) = cur.as_ref() {
            rv_precondition(def, &name, &candidate, c)?;
        }
        if kind != "apply" {
            unknown = field_validation(def, ctx, &candidate)?;
        }
        let norm = Normalize {
            def,
            cluster,
            scope,
            now: &now,
        };
        let mut obj = norm.run(cur.as_ref(), candidate.clone(), &ns, &name)?;
        if kind == "apply" {
            util::meta_mut(&mut obj).insert(
                "managedFields".into(),
                candidate["metadata"]["managedFields"].clone(),
            );
        } else if let Some(c) = cur.as_ref() {
            util::meta_mut(&mut obj).insert(
                "managedFields".into(),
                c["metadata"]["managedFields"].clone(),
            );
            managed::record_update(Some(c), &mut obj, def.root_schema(), writer);
        }
        // A write that changes nothing but the time stamps of managedFields
        // is no write, as in Kubernetes: the object, its resourceVersion and
        // the watchers are left alone.
        if cur
            .as_ref()
            .is_some_and(|c| c == &obj || same_but_for_times(c, &obj))
        {
            return Ok(Outcome::Keep);
        }
        Ok(finalize(def, obj))
    })?;
    after_write(cluster, def, dry)?;
    let obj = stored.ok_or_else(|| ApiError::not_found(&def.group, &def.plural, &name))?;
    let code = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(with_warnings(
        respond(ctx, def, code, present(def, obj)),
        &unknown,
    ))
}

/// How dependents of a deleted object are treated: `Background` (deleted after it),
/// `Foreground` (deleted before it) or `Orphan` (released).
fn propagation(ctx: &Ctx, opts: &Value) -> ApiResult<&'static str> {
    let asked = ctx
        .param("propagationPolicy")
        .or_else(|| opts["propagationPolicy"].as_str())
        .map(str::to_owned);
    let orphan = ctx
        .param("orphanDependents")
        .map(|v| v == "true")
        .or_else(|| opts["orphanDependents"].as_bool());
    match (asked.as_deref(), orphan) {
        (Some("Background"), _) => Ok("Background"),
        (Some("Foreground"), _) => Ok("Foreground"),
        (Some("Orphan"), _) => Ok("Orphan"),
        (Some(other), _) if !other.is_empty() => Err(ApiError::invalid(
            "",
            "DeleteOptions",
            "",
            &[(
                "propagationPolicy".into(),
                format!(
                    "Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
                ),
            )],
        )),
        (_, Some(true)) => Ok("Orphan"),
        _ => Ok("Background"),
    }
}

fn is_namespace(def: &ResourceDef) -> bool {
    def.group.is_empty() && def.plural == "namespaces"
}

/// Deletes one object (or marks it deleting while finalizers remain); returns the object.
fn delete_one(
    cluster: &Cluster,
    def: &ResourceDef,
    k: &Key,
    ctx: &Ctx,
    opts: &Value,
) -> ApiResult<Option<(Value, bool)>> {
    let dry = ctx.dry_run();
    let now = util::now();
    let policy = propagation(ctx, opts)?;
    let mut gone = false;
    let out = cluster.store.mutate(k, dry, |cur| {
        let Some(cur) = cur else {
            return Err(ApiError::not_found(&def.group, &def.plural, &k.name));
        };
        if let Some(uid) = opts["preconditions"]["uid"].as_str()
            && Some(uid) != cur["metadata"]["uid"].as_str() {
                return Err(ApiError::conflict(&def.group, &def.plural, &k.name, &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    cur["metadata"]["uid"].as_str().unwrap_or("")
                )));
            }
        if let Some(rv) = opts["preconditions"]["resourceVersion"].as_str()
            && Some(rv) != cur["metadata"]["resourceVersion"].as_str() {
                return Err(ApiError::conflict(&def.group, &def.plural, &k.name, &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    cur["metadata"]["resourceVersion"].as_str().unwrap_or("")
                )));
            }
        let deleting = cur["metadata"]["deletionTimestamp"].is_string();
        if is_namespace(def) {
            // A namespace terminates: the namespace controller empties it, then it goes.
            if deleting {
                return Ok(Outcome::Keep);
            }
            let mut obj = cur;
            let meta = util::meta_mut(&mut obj);
            meta.insert("deletionTimestamp".into(), json!(now));
            meta.insert("deletionGracePeriodSeconds".into(), json!(0));
            obj["status"]["phase"] = json!("Terminating");
            return Ok(Outcome::Put(obj));
        }
        let mut finalizers: Vec<Value> = cur["metadata"]["finalizers"].as_array().cloned().unwrap_or_default();
        let wanted = match policy {
            "Foreground" => Some("foregroundDeletion"),
            "Orphan" => Some("orphan"),
            _ => None,
        };
        let mut added = false;
        if let Some(f) = wanted
            && !finalizers.iter().any(|x| x == f)
        {
            finalizers.push(json!(f));
            added = true;
        }
        if !finalizers.is_empty() {
            if deleting && !added {
                return Ok(Outcome::Keep);
            }
            let mut obj = cur;
            let meta = util::meta_mut(&mut obj);
            if !deleting {
                meta.insert("deletionTimestamp".into(), json!(now));
                meta.insert("deletionGracePeriodSeconds".into(), json!(0));
            }
            meta.insert("finalizers".into(), Value::Array(finalizers));
            return Ok(Outcome::Put(obj));
        }
        gone = true;
        Ok(Outcome::Delete)
    })?;
    Ok(out.map(|o| (o, gone)))
}

fn delete(cluster: &Cluster, def: &ResourceDef, t: &Target, ctx: &Ctx) -> ApiResult<Response> {
    if t.subresource.is_some() {
        return Err(ApiError::method_not_allowed(
            "delete is not allowed on a subresource",
        ));
    }
    let name = t.name.clone().unwrap_or_default();
    let opts: Value = serde_json::from_slice(&ctx.body).unwrap_or(Value::Null);
    let k = key(def, t, &name);
    let dry = ctx.dry_run();
    let (obj, gone) = delete_one(cluster, def, &k, ctx, &opts)?
        .ok_or_else(|| ApiError::not_found(&def.group, &def.plural, &name))?;
    if gone
        && !dry
        && def.group == "apiextensions.k8s.io"
        && def.plural == "customresourcedefinitions"
    {
        let group = obj["spec"]["group"].as_str().unwrap_or("");
        let plural = obj["spec"]["names"]["plural"].as_str().unwrap_or("");
        cluster.store.delete_all(group, plural)?;
    }
    after_write(cluster, def, dry)?;
    let code = if gone {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok(json_response(code, &present(def, obj)))
}

fn delete_collection(
    cluster: &Cluster,
    def: &ResourceDef,
    t: &Target,
    ctx: &Ctx,
) -> ApiResult<Response> {
    let mut page_ctx_query = ctx.query.clone();
    page_ctx_query.retain(|(k, _)| k != "limit" && k != "continue");
    let page_ctx = Ctx {
        method: ctx.method.clone(),
        query: page_ctx_query,
        headers: ctx.headers.clone(),
        body: ctx.body.clone(),
        drop_watch: None,
    };
    let (items, rv, _) = read_page(cluster, def, t, &page_ctx)?;
    let opts: Value = serde_json::from_slice(&ctx.body).unwrap_or(Value::Null);
    let mut deleted = Vec::new();
    for item in items {
        let k = Key {
            group: def.group.clone(),
            resource: def.plural.clone(),
            namespace: util::meta_str(&item, "namespace").unwrap_or("").to_owned(),
            name: util::meta_str(&item, "name").unwrap_or("").to_owned(),
        };
        if let Some((o, _)) = delete_one(cluster, def, &k, ctx, &opts)? {
            deleted.push(present(def, o));
        }
    }
    after_write(cluster, def, ctx.dry_run())?;
    Ok(json_typed(
        StatusCode::OK,
        &json!({"kind": format!("{}List", def.kind), "apiVersion": def.api_version(),
            "metadata": {"resourceVersion": rv.to_string()}, "items": deleted}),
        "application/json",
    ))
}

/// Whether two versions of an object differ only in the `time` of their
/// managedFields entries (and the resourceVersion the store assigns).
fn same_but_for_times(a: &Value, b: &Value) -> bool {
    fn untimed(v: &Value) -> Value {
        let mut v = v.clone();
        if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("resourceVersion");
        }
        if let Some(entries) = v
            .pointer_mut("/metadata/managedFields")
            .and_then(Value::as_array_mut)
        {
            for e in entries {
                if let Some(o) = e.as_object_mut() {
                    o.remove("time");
                }
            }
        }
        v
    }
    untimed(a) == untimed(b)
}
