//! Generator and freshness check of `tables/builtin.json`.
//!
//! Derives the resource table and compact schemas from the reference OpenAPI documents in the
//! shared test data. Run with `TRELLIS_REGEN_TABLES=1 cargo test -p trellis-localcluster
//! schema_gen` to rewrite the committed table; without it the test fails when the committed
//! table no longer matches what the reference data says.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;

use crate::schema::{Node, ResourceInfo, SubresourceInfo, Tables};

/// (group, version, kind).
type Gvk = (String, String, String);

/// The group-versions served as built-ins (one version per group, so no conversion is needed).
const GROUP_VERSIONS: &[(&str, &str)] = &[
    ("", "v1"),
    ("admissionregistration.k8s.io", "v1"),
    ("apiextensions.k8s.io", "v1"),
    ("apiregistration.k8s.io", "v1"),
    ("apps", "v1"),
    ("autoscaling", "v2"),
    ("batch", "v1"),
    ("coordination.k8s.io", "v1"),
    ("discovery.k8s.io", "v1"),
    ("networking.k8s.io", "v1"),
    ("node.k8s.io", "v1"),
    ("policy", "v1"),
    ("rbac.authorization.k8s.io", "v1"),
    ("scheduling.k8s.io", "v1"),
    ("storage.k8s.io", "v1"),
];

fn reference_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/k8s-openapi")
}

fn read_json(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

fn convert(s: &Value, refs: &mut BTreeSet<String>) -> Node {
    let mut node = Node::default();
    let str_of = |k: &str| s.get(k).and_then(Value::as_str).map(str::to_owned);
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/definitions/").to_owned();
        refs.insert(name.clone());
        node.reference = Some(name);
    }
    node.ty = str_of("type");
    node.format = str_of("format");
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            node.props.insert(k.clone(), convert(v, refs));
        }
    }
    if let Some(items) = s.get("items") {
        node.items = Some(Box::new(convert(items, refs)));
    }
    match s.get("additionalProperties") {
        Some(Value::Bool(true)) => node.values = Some(Box::default()),
        Some(v @ Value::Object(_)) => node.values = Some(Box::new(convert(v, refs))),
        _ => {}
    }
    node.list_type = str_of("x-kubernetes-list-type");
    node.list_map_keys = s
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    node.map_type = str_of("x-kubernetes-map-type");
    node.patch_strategy = str_of("x-kubernetes-patch-strategy");
    node.patch_merge_key = str_of("x-kubernetes-patch-merge-key");
    node.preserve_unknown = s
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    node
}

fn verb_of(action: &str) -> Option<&'static str> {
    Some(match action {
        "get" => "get",
        "list" => "list",
        "put" => "update",
        "patch" => "patch",
        "post" => "create",
        "delete" => "delete",
        "deletecollection" => "deletecollection",
        "watch" | "watchlist" => "watch",
        _ => return None,
    })
}

/// Derives the tables from the reference documents.
pub(crate) fn generate() -> Tables {
    let swagger = read_json(reference_dir().join("swagger.json"));
    let defs = swagger["definitions"]
        .as_object()
        .cloned()
        .unwrap_or_default();

    // Root definition of each group-version-kind.
    let mut by_gvk: BTreeMap<(String, String, String), String> = BTreeMap::new();
    for (name, d) in &defs {
        for gvk in d["x-kubernetes-group-version-kind"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let key = (
                gvk["group"].as_str().unwrap_or("").to_owned(),
                gvk["version"].as_str().unwrap_or("").to_owned(),
                gvk["kind"].as_str().unwrap_or("").to_owned(),
            );
            by_gvk.insert(key, name.clone());
        }
    }

    struct Acc {
        kind: Option<(String, String, String)>,
        namespaced: bool,
        verbs: BTreeSet<&'static str>,
        subs: BTreeMap<String, (Gvk, BTreeSet<&'static str>)>,
    }
    let mut acc: BTreeMap<(String, String, String), Acc> = BTreeMap::new();
    for (path, item) in swagger["paths"].as_object().into_iter().flatten() {
        let (group, version, rest) = if let Some(r) = path.strip_prefix("/api/v1/") {
            (String::new(), "v1".to_owned(), r)
        } else if let Some(r) = path.strip_prefix("/apis/") {
            let mut it = r.splitn(3, '/');
            let (Some(g), Some(v), Some(rest)) = (it.next(), it.next(), it.next()) else {
                continue;
            };
            (g.to_owned(), v.to_owned(), rest)
        } else {
            continue;
        };
        if !GROUP_VERSIONS.contains(&(group.as_str(), version.as_str()))
            || rest.starts_with("watch/")
        {
            continue;
        }
        let (namespaced, rest) = match rest.strip_prefix("namespaces/{namespace}/") {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let segs: Vec<&str> = rest.split('/').collect();
        let plural = segs[0].to_owned();
        let entry = acc
            .entry((group.clone(), version.clone(), plural))
            .or_insert(Acc {
                kind: None,
                namespaced: false,
                verbs: BTreeSet::new(),
                subs: BTreeMap::new(),
            });
        entry.namespaced |= namespaced;
        for (_method, op) in item.as_object().into_iter().flatten() {
            let (Some(action), Some(gvk)) = (
                op.get("x-kubernetes-action").and_then(Value::as_str),
                op.get("x-kubernetes-group-version-kind"),
            ) else {
                continue;
            };
            let gvk = (
                gvk["group"].as_str().unwrap_or("").to_owned(),
                gvk["version"].as_str().unwrap_or("").to_owned(),
                gvk["kind"].as_str().unwrap_or("").to_owned(),
            );
            let Some(verb) = verb_of(action) else {
                continue;
            };
            match segs.len() {
                1 | 2 => {
                    entry.kind.get_or_insert(gvk);
                    entry.verbs.insert(verb);
                    if verb == "list" {
                        entry.verbs.insert("watch");
                    }
                }
                3 => {
                    let sub = entry
                        .subs
                        .entry(segs[2].to_owned())
                        .or_insert_with(|| (gvk.clone(), BTreeSet::new()));
                    sub.1.insert(verb);
                }
                _ => {}
            }
        }
    }

    let mut tables = Tables::default();
    let mut pending: BTreeSet<String> = BTreeSet::new();
    for ((group, version, plural), a) in acc {
        let Some(kind) = a.kind else { continue };
        if !a.verbs.contains("list") || !a.verbs.contains("get") {
            continue;
        }
        let Some(definition) = by_gvk.get(&kind).cloned() else {
            continue;
        };
        pending.insert(definition.clone());
        tables.resources.push(ResourceInfo {
            group,
            version,
            kind: kind.2,
            plural,
            namespaced: a.namespaced,
            verbs: a.verbs.iter().map(|v| (*v).to_owned()).collect(),
            subresources: a
                .subs
                .into_iter()
                .map(|(name, (gvk, verbs))| SubresourceInfo {
                    name,
                    group: gvk.0,
                    version: gvk.1,
                    kind: gvk.2,
                    verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
                })
                .collect(),
            definition,
        });
    }

    // Non-trivial declared defaults from the v3 documents, by (definition, property).
    let mut defaults: BTreeMap<(String, String), Value> = BTreeMap::new();
    let v3 = reference_dir().join("v3");
    for entry in std::fs::read_dir(&v3).unwrap_or_else(|e| panic!("{}: {e}", v3.display())) {
        let doc = read_json(entry.unwrap().path());
        for (name, d) in doc["components"]["schemas"]
            .as_object()
            .into_iter()
            .flatten()
        {
            for (p, pv) in d["properties"].as_object().into_iter().flatten() {
                if let Some(v) = pv.get("default").filter(|v| !is_zero(v)) {
                    defaults.insert((name.clone(), p.clone()), v.clone());
                }
            }
        }
    }

    while let Some(name) = pending.pop_first() {
        if tables.definitions.contains_key(&name) {
            continue;
        }
        let mut refs = BTreeSet::new();
        let mut node = convert(&defs[&name], &mut refs);
        for (p, pv) in node.props.iter_mut() {
            pv.default = defaults.get(&(name.clone(), p.clone())).cloned();
        }
        tables.definitions.insert(name, node);
        pending.extend(
            refs.into_iter()
                .filter(|r| !tables.definitions.contains_key(r)),
        );
    }
    tables
}

/// Serializes the tables with one resource and one definition per line, so a change in the
/// reference data shows as a readable diff.
pub(crate) fn render(tables: &Tables) -> String {
    let mut out = String::from("{\n\"resources\": [\n");
    for (i, r) in tables.resources.iter().enumerate() {
        let sep = if i + 1 == tables.resources.len() {
            ""
        } else {
            ","
        };
        out.push_str(&format!(
            "{}{sep}\n",
            serde_json::to_string(r).unwrap_or_default()
        ));
    }
    out.push_str("],\n\"definitions\": {\n");
    for (i, (name, d)) in tables.definitions.iter().enumerate() {
        let sep = if i + 1 == tables.definitions.len() {
            ""
        } else {
            ","
        };
        out.push_str(&format!(
            "{}: {}{sep}\n",
            serde_json::to_string(name).unwrap_or_default(),
            serde_json::to_string(d).unwrap_or_default()
        ));
    }
    out.push_str("}\n}\n");
    out
}

#[test]
fn committed_tables_match_reference_data() {
    let fresh = render(&generate());
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/tables/builtin.json");
    if std::env::var_os("TRELLIS_REGEN_TABLES").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap();
    assert!(
        committed == fresh,
        "src/tables/builtin.json is stale; regenerate with TRELLIS_REGEN_TABLES=1"
    );
    // The embedded copy parses into the same tables.
    assert_eq!(crate::schema::Tables::builtin(), &generate());
}

#[test]
fn tables_know_list_merge_keys_and_scope() {
    let t = crate::schema::Tables::builtin();
    let containers = &t.definitions["io.k8s.api.core.v1.PodSpec"].props["containers"];
    assert_eq!(containers.patch_merge_key.as_deref(), Some("name"));
    assert_eq!(containers.list_map_keys, vec!["name".to_owned()]);
    let deploy = t.resources.iter().find(|r| r.kind == "Deployment").unwrap();
    assert!(deploy.namespaced && deploy.plural == "deployments");
    assert!(deploy.subresources.iter().any(|s| s.name == "status"));
    let ns = t.resources.iter().find(|r| r.kind == "Namespace").unwrap();
    assert!(!ns.namespaced);
    let port = &t.definitions["io.k8s.api.core.v1.ContainerPort"].props["protocol"];
    assert_eq!(port.default, Some(serde_json::json!("TCP")));
}
