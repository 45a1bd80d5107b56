//! The compact schema model of built-in kinds and the resource table, embedded from
//! `tables/builtin.json`.
//!
//! The table is derived from Kubernetes' published OpenAPI documents by a generator test
//! (`tables::gen`), committed, and embedded; the server never reads the OpenAPI documents at run
//! time. The schema keeps only what the server acts on: structure (properties, items, maps),
//! the list and map semantics that strategic merge patch and server-side apply need, and
//! non-trivial declared defaults.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// One node of a compact schema: an object with properties, an array, a map, a scalar, or a
/// reference to a named definition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Name of a definition this node refers to (resolved through [`Tables::definition`]).
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// JSON type: `object`, `array`, `string`, `integer`, `number`, `boolean`; `None` when unknown.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub ty: Option<String>,
    /// OpenAPI format (`int-or-string`, `date-time`, `int32`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Named properties of an object.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub props: BTreeMap<String, Node>,
    /// Element schema of an array.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Box<Node>>,
    /// Value schema of a map (`additionalProperties`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Box<Node>>,
    /// `x-kubernetes-list-type`: `atomic`, `set` or `map`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_type: Option<String>,
    /// `x-kubernetes-list-map-keys`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub list_map_keys: Vec<String>,
    /// `x-kubernetes-map-type`: `atomic` or `granular`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map_type: Option<String>,
    /// `x-kubernetes-patch-strategy` (strategic merge patch): `merge`, `retainKeys`, `replace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_strategy: Option<String>,
    /// `x-kubernetes-patch-merge-key` (strategic merge patch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_merge_key: Option<String>,
    /// `x-kubernetes-preserve-unknown-fields`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub preserve_unknown: bool,
    /// A declared default that is not the type's zero value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
}

/// A subresource of a resource (`status`, `scale`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubresourceInfo {
    /// Subresource name, e.g. `status`.
    pub name: String,
    /// Group of the kind the subresource speaks.
    pub group: String,
    /// Version of the kind the subresource speaks.
    pub version: String,
    /// Kind the subresource speaks.
    pub kind: String,
    /// Verbs allowed on the subresource.
    pub verbs: Vec<String>,
}

/// One built-in resource: how it is addressed and what can be done with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceInfo {
    /// API group (`""` for core).
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Plural resource name used in URLs.
    pub plural: String,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// Verbs allowed on the resource.
    pub verbs: Vec<String>,
    /// Subresources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subresources: Vec<SubresourceInfo>,
    /// Name of the root schema definition.
    pub definition: String,
}

/// The embedded tables: built-in resources and the schema definitions they use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tables {
    /// Built-in resources, ordered by group, version, plural.
    pub resources: Vec<ResourceInfo>,
    /// Schema definitions by name.
    pub definitions: BTreeMap<String, Node>,
}

/// The committed table, derived from the reference OpenAPI documents.
pub(crate) const BUILTIN_JSON: &str = include_str!("tables/builtin.json");

impl Tables {
    /// The built-in tables, parsed once.
    pub fn builtin() -> &'static Tables {
        static TABLES: OnceLock<Tables> = OnceLock::new();
        TABLES.get_or_init(|| {
            // The table is produced by our own generator and checked by a test; a parse failure
            // is a build defect, so an empty table (serving nothing) is the safe fallback.
            serde_json::from_str(BUILTIN_JSON).unwrap_or_default()
        })
    }

    /// A definition by name.
    pub fn definition(&self, name: &str) -> Option<&Node> {
        self.definitions.get(name)
    }

    /// Follows references until a node with structure is reached.
    pub fn resolve<'a>(&'a self, node: &'a Node) -> &'a Node {
        let mut current = node;
        for _ in 0..16 {
            match current
                .reference
                .as_deref()
                .and_then(|r| self.definitions.get(r))
            {
                Some(next) => current = next,
                None => break,
            }
        }
        current
    }
}
