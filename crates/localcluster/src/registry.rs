//! The served resources: built-ins from the embedded table, plus the kinds of every stored
//! CustomResourceDefinition.

use std::sync::{Arc, RwLock};

use serde_json::Value;

use crate::schema::{Node, Tables};

/// Where the schema of a resource comes from.
#[derive(Debug, Clone)]
pub enum SchemaSource {
    /// A definition of the built-in table.
    Builtin(String),
    /// A CustomResourceDefinition version's structural schema, converted; `None` when the
    /// version declares none.
    Custom(Option<Arc<Node>>),
}

/// A printer column of a CustomResourceDefinition version.
#[derive(Debug, Clone)]
pub struct PrinterColumn {
    /// Column header.
    pub name: String,
    /// OpenAPI type of the column.
    pub ty: String,
    /// JSONPath of the value (`.spec.x`).
    pub json_path: String,
    /// Priority (0 shows by default).
    pub priority: i64,
}

/// Paths of the `scale` subresource in the object (`.spec.replicas`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalePaths {
    /// Desired replicas.
    pub spec_replicas: String,
    /// Observed replicas.
    pub status_replicas: String,
    /// Label selector: a `LabelSelector` object for built-ins, a string for custom resources.
    pub label_selector: Option<String>,
}

/// One served resource at one version.
#[derive(Debug, Clone)]
pub struct ResourceDef {
    /// API group.
    pub group: String,
    /// Served version.
    pub version: String,
    /// Every served version of the resource (the storage keeps one object per name).
    pub versions: Vec<String>,
    /// Kind.
    pub kind: String,
    /// Plural name.
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Verbs.
    pub verbs: Vec<String>,
    /// Short names.
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// Whether a `status` subresource is served.
    pub status_subresource: bool,
    /// Where the `scale` subresource reads and writes, when served.
    pub scale: Option<ScalePaths>,
    /// Schema.
    pub schema: SchemaSource,
    /// Printer columns (CustomResourceDefinitions only).
    pub printer_columns: Vec<PrinterColumn>,
    /// The version's `openAPIV3Schema` as declared (CustomResourceDefinitions only), for value
    /// validations the compact schema does not keep.
    pub custom_schema: Option<Arc<Value>>,
}

impl ResourceDef {
    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Root schema node of the kind, when one is known.
    pub fn root_schema(&self) -> Option<SchemaView<'_>> {
        let tables = Tables::builtin();
        match &self.schema {
            SchemaSource::Builtin(name) => tables
                .definition(name)
                .map(|n| SchemaView { tables, node: n }),
            SchemaSource::Custom(Some(n)) => Some(SchemaView { tables, node: n }),
            SchemaSource::Custom(None) => None,
        }
    }

    /// Whether this is a CustomResourceDefinition-served kind.
    pub fn is_custom(&self) -> bool {
        matches!(self.schema, SchemaSource::Custom(_))
    }
}

/// A schema node with the table needed to resolve its references.
#[derive(Debug, Clone, Copy)]
pub struct SchemaView<'a> {
    /// The definitions.
    pub tables: &'a Tables,
    /// The node (may be a reference).
    pub node: &'a Node,
}

/// The structural shape of a schema node, as merges and field sets see it.
#[derive(Debug, Clone)]
pub enum Shape<'a> {
    /// An object with named fields.
    Struct,
    /// A map with values of one schema.
    Map(SchemaView<'a>),
    /// A list keyed by fields of its elements.
    ListMap(SchemaView<'a>, Vec<String>),
    /// A list of unique scalars.
    ListSet,
    /// A list replaced as a whole.
    Atomic,
    /// A scalar or an atomic object.
    Scalar,
    /// No schema: objects merge key by key, lists are atomic.
    Untyped,
}

impl<'a> SchemaView<'a> {
    /// The node after following references.
    pub fn resolved(&self) -> &'a Node {
        self.tables.resolve(self.node)
    }

    fn with(&self, node: &'a Node) -> SchemaView<'a> {
        SchemaView {
            tables: self.tables,
            node,
        }
    }

    /// Schema of a named field.
    pub fn field(&self, name: &str) -> Option<SchemaView<'a>> {
        let r = self.resolved();
        if let Some(n) = r.props.get(name) {
            return Some(self.with(n));
        }
        r.values.as_deref().map(|n| self.with(n))
    }

    /// Schema of list elements or map values.
    pub fn items(&self) -> Option<SchemaView<'a>> {
        let r = self.resolved();
        r.items
            .as_deref()
            .or(r.values.as_deref())
            .map(|n| self.with(n))
    }

    /// Strategic-merge-patch strategy of this (property) node.
    pub fn patch_strategy(&self) -> Option<&'a str> {
        self.node
            .patch_strategy
            .as_deref()
            .or(self.resolved().patch_strategy.as_deref())
    }

    /// Strategic-merge-patch merge key of this (property) node.
    pub fn patch_merge_key(&self) -> Option<&'a str> {
        self.node
            .patch_merge_key
            .as_deref()
            .or(self.resolved().patch_merge_key.as_deref())
    }

    /// Shape for merging and field ownership.
    pub fn shape(&self) -> Shape<'a> {
        let outer = self.node;
        let r = self.resolved();
        let map_type = outer.map_type.as_deref().or(r.map_type.as_deref());
        let list_type = outer.list_type.as_deref().or(r.list_type.as_deref());
        let ty = r.ty.as_deref().or(outer.ty.as_deref());
        if map_type == Some("atomic") {
            return Shape::Scalar;
        }
        if ty == Some("array") || r.items.is_some() {
            let mut keys: Vec<String> = if !outer.list_map_keys.is_empty() {
                outer.list_map_keys.clone()
            } else {
                r.list_map_keys.clone()
            };
            if keys.is_empty() {
                // Older lists are keyed by their strategic-merge key alone.
                keys.extend(self.patch_merge_key().map(str::to_owned));
            }
            return match (list_type, self.items()) {
                (Some("map"), Some(items)) if !keys.is_empty() => Shape::ListMap(items, keys),
                (Some("set"), _) => Shape::ListSet,
                (None, Some(items))
                    if self.patch_strategy().is_some_and(|s| s.contains("merge")) =>
                {
                    if keys.is_empty() {
                        Shape::ListSet
                    } else {
                        Shape::ListMap(items, keys)
                    }
                }
                _ => Shape::Atomic,
            };
        }
        if !r.props.is_empty() {
            return Shape::Struct;
        }
        if let Some(v) = r.values.as_deref() {
            return Shape::Map(self.with(v));
        }
        if r.format.as_deref() == Some("int-or-string") {
            return Shape::Scalar;
        }
        match ty {
            Some("object") | None => Shape::Untyped,
            _ => Shape::Scalar,
        }
    }
}

fn short_names(plural: &str) -> &'static [&'static str] {
    match plural {
        "pods" => &["po"],
        "services" => &["svc"],
        "configmaps" => &["cm"],
        "namespaces" => &["ns"],
        "serviceaccounts" => &["sa"],
        "persistentvolumeclaims" => &["pvc"],
        "persistentvolumes" => &["pv"],
        "events" => &["ev"],
        "endpoints" => &["ep"],
        "nodes" => &["no"],
        "replicationcontrollers" => &["rc"],
        "resourcequotas" => &["quota"],
        "limitranges" => &["limits"],
        "componentstatuses" => &["cs"],
        "deployments" => &["deploy"],
        "replicasets" => &["rs"],
        "daemonsets" => &["ds"],
        "statefulsets" => &["sts"],
        "cronjobs" => &["cj"],
        "horizontalpodautoscalers" => &["hpa"],
        "ingresses" => &["ing"],
        "networkpolicies" => &["netpol"],
        "poddisruptionbudgets" => &["pdb"],
        "storageclasses" => &["sc"],
        "customresourcedefinitions" => &["crd", "crds"],
        "priorityclasses" => &["pc"],
        _ => &[],
    }
}

fn categories(plural: &str) -> &'static [&'static str] {
    match plural {
        "pods"
        | "services"
        | "replicationcontrollers"
        | "deployments"
        | "replicasets"
        | "daemonsets"
        | "statefulsets"
        | "jobs"
        | "cronjobs"
        | "horizontalpodautoscalers" => &["all"],
        _ => &[],
    }
}

/// Served resources, looked up by URL parts.
pub struct Registry {
    builtin: Vec<Arc<ResourceDef>>,
    custom: RwLock<Vec<Arc<ResourceDef>>>,
}

impl Registry {
    /// The built-in resources and no custom ones.
    pub fn new() -> Registry {
        let builtin =
            Tables::builtin()
                .resources
                .iter()
                .map(|r| {
                    Arc::new(ResourceDef {
                        group: r.group.clone(),
                        version: r.version.clone(),
                        versions: vec![r.version.clone()],
                        kind: r.kind.clone(),
                        plural: r.plural.clone(),
                        singular: r.kind.to_lowercase(),
                        namespaced: r.namespaced,
                        verbs: r.verbs.clone(),
                        short_names: short_names(&r.plural)
                            .iter()
                            .map(|s| (*s).to_owned())
                            .collect(),
                        categories: categories(&r.plural)
                            .iter()
                            .map(|s| (*s).to_owned())
                            .collect(),
                        status_subresource: r.subresources.iter().any(|s| s.name == "status"),
                        scale: r.subresources.iter().any(|s| s.name == "scale").then(|| {
                            ScalePaths {
                                spec_replicas: ".spec.replicas".into(),
                                status_replicas: ".status.replicas".into(),
                                label_selector: Some(".spec.selector".into()),
                            }
                        }),
                        schema: SchemaSource::Builtin(r.definition.clone()),
                        printer_columns: Vec::new(),
                        custom_schema: None,
                    })
                })
                .collect();
        Registry {
            builtin,
            custom: RwLock::new(Vec::new()),
        }
    }

    /// Every served resource at every served version.
    pub fn all(&self) -> Vec<Arc<ResourceDef>> {
        let mut out = self.builtin.clone();
        out.extend(
            self.custom
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .cloned(),
        );
        out
    }

    /// The resource served at `group/version/plural`.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceDef>> {
        self.all()
            .into_iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
    }

    /// Served group-versions: `(group, versions in preference order)`, core first.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for r in self.all() {
            match groups.iter_mut().find(|(g, _)| *g == r.group) {
                Some((_, vs)) => {
                    if !vs.contains(&r.version) {
                        vs.push(r.version.clone());
                    }
                }
                None => groups.push((r.group.clone(), r.versions.clone())),
            }
        }
        for (_, vs) in groups.iter_mut() {
            vs.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        }
        groups
    }

    /// Replaces the custom resources with those the given CustomResourceDefinitions serve.
    pub fn set_custom(&self, crds: &[Value]) {
        let mut defs = Vec::new();
        for crd in crds {
            defs.extend(crd_defs(crd).into_iter().map(Arc::new));
        }
        *self.custom.write().unwrap_or_else(|p| p.into_inner()) = defs;
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

/// Kubernetes' version priority: GA > beta > alpha, higher numbers first.
pub fn version_priority(v: &str) -> (u8, u32, u32) {
    let Some(rest) = v.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let major: u32 = digits.parse().unwrap_or(0);
    let tail = &rest[digits.len()..];
    if tail.is_empty() {
        return (3, major, 0);
    }
    let (level, num) = if let Some(n) = tail.strip_prefix("beta") {
        (2, n)
    } else if let Some(n) = tail.strip_prefix("alpha") {
        (1, n)
    } else {
        return (0, 0, 0);
    };
    (level, major, num.parse().unwrap_or(0))
}

/// The resources one CustomResourceDefinition serves (one per served version).
pub fn crd_defs(crd: &Value) -> Vec<ResourceDef> {
    let spec = &crd["spec"];
    let group = spec["group"].as_str().unwrap_or("").to_owned();
    let names = &spec["names"];
    let plural = names["plural"].as_str().unwrap_or("").to_owned();
    let kind = names["kind"].as_str().unwrap_or("").to_owned();
    if group.is_empty() || plural.is_empty() || kind.is_empty() {
        return Vec::new();
    }
    let strs = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    let served: Vec<&Value> = spec["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["served"].as_bool().unwrap_or(false))
        .collect();
    let mut versions: Vec<String> = served
        .iter()
        .filter_map(|v| v["name"].as_str())
        .map(str::to_owned)
        .collect();
    versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
    served
        .iter()
        .map(|v| ResourceDef {
            group: group.clone(),
            version: v["name"].as_str().unwrap_or("").to_owned(),
            versions: versions.clone(),
            kind: kind.clone(),
            plural: plural.clone(),
            singular: names["singular"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| kind.to_lowercase()),
            namespaced: spec["scope"].as_str() != Some("Cluster"),
            verbs: [
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
            short_names: strs(&names["shortNames"]),
            categories: strs(&names["categories"]),
            status_subresource: v["subresources"]["status"].is_object(),
            scale: v["subresources"]["scale"].as_object().map(|sc| ScalePaths {
                spec_replicas: sc
                    .get("specReplicasPath")
                    .and_then(Value::as_str)
                    .unwrap_or(".spec.replicas")
                    .to_owned(),
                status_replicas: sc
                    .get("statusReplicasPath")
                    .and_then(Value::as_str)
                    .unwrap_or(".status.replicas")
                    .to_owned(),
                label_selector: sc
                    .get("labelSelectorPath")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            }),
            schema: SchemaSource::Custom(v["schema"]["openAPIV3Schema"].as_object().map(|_| {
                let mut root = crate::crd::convert_schema(&v["schema"]["openAPIV3Schema"]);
                root.props.insert(
                    "metadata".into(),
                    Node {
                        reference: Some("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta".into()),
                        ..Node::default()
                    },
                );
                Arc::new(root)
            })),
            custom_schema: v["schema"]["openAPIV3Schema"]
                .is_object()
                .then(|| Arc::new(v["schema"]["openAPIV3Schema"].clone())),
            printer_columns: v["additionalPrinterColumns"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| PrinterColumn {
                    name: c["name"].as_str().unwrap_or("").to_owned(),
                    ty: c["type"].as_str().unwrap_or("string").to_owned(),
                    json_path: c["jsonPath"].as_str().unwrap_or("").to_owned(),
                    priority: c["priority"].as_i64().unwrap_or(0),
                })
                .collect(),
        })
        .collect()
}

/// Map of resource plural to definition, for tests.
#[cfg(test)]
pub fn by_plural(reg: &Registry) -> std::collections::BTreeMap<String, Arc<ResourceDef>> {
    reg.all()
        .into_iter()
        .map(|r| (r.plural.clone(), r))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn shapes_of_builtin_fields() {
        let reg = Registry::new();
        let all = by_plural(&reg);
        let deploy = all["deployments"].root_schema().unwrap();
        let spec = deploy.field("spec").unwrap();
        assert!(matches!(spec.shape(), Shape::Struct));
        let containers = spec
            .field("template")
            .unwrap()
            .field("spec")
            .unwrap()
            .field("containers")
            .unwrap();
        assert!(matches!(containers.shape(), Shape::ListMap(_, keys) if keys == ["name"]));
        assert!(matches!(
            spec.field("selector").unwrap().shape(),
            Shape::Scalar
        ));
        let labels = deploy.field("metadata").unwrap().field("labels").unwrap();
        assert!(matches!(labels.shape(), Shape::Map(_)));
        assert!(version_priority("v1") > version_priority("v2beta1"));
        assert!(version_priority("v1beta2") > version_priority("v1beta1"));
    }
}
