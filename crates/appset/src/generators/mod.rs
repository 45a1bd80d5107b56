//! Generators: each turns its part of the spec into parameter sets.
//!
//! Supported: `list`, `git` (directories and files), `matrix` and `merge`
//! (nested up to the depth the CRD allows). The generators that ask an
//! outside service (clusters, SCM providers, pull requests, cluster decision
//! resources, plugins) fail with [`GeneratorError::Unsupported`], which,
//! like every generator error, leaves existing Applications untouched.

mod combine;
mod git;
mod list;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::Value as Json;
use trellis_model::appset::{
    ApplicationSetGenerator, ApplicationSetNestedGenerator, ApplicationSetTemplate,
};
use trellis_source::{SourceError, Sources};
use trellis_template::Value;

use crate::glob::BadPattern;
use crate::params::{Params, string_values};
use crate::render::{RenderError, Renderer};

/// Why a generator produced no parameter sets.
#[derive(Debug, thiserror::Error)]
pub enum GeneratorError {
    /// The repository or revision could not be read (unreachable, unknown
    /// revision, bad credentials).
    #[error("cannot read {repo} at revision {revision:?}: {source}")]
    Source {
        /// Repository URL as the generator names it.
        repo: String,
        /// Revision as the generator names it.
        revision: String,
        /// What the source layer reported.
        #[source]
        source: SourceError,
    },
    /// A file of a git files generator could not be read or is malformed.
    #[error("file {path} in {repo} at revision {revision:?}: {message}")]
    File {
        /// Repository URL.
        repo: String,
        /// Revision.
        revision: String,
        /// Path of the file in the repository.
        path: String,
        /// What is wrong, with line and column where the parser gives them.
        message: String,
    },
    /// A path pattern is malformed.
    #[error("{field}: {source}")]
    Pattern {
        /// Where the pattern is (`directories[1].path`).
        field: String,
        /// The problem.
        #[source]
        source: BadPattern,
    },
    /// A list element cannot be used as a parameter set.
    #[error("{field}: {message}")]
    Element {
        /// Where the element is (`elements[2]`, `elementsYaml`).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A `values` entry failed to render.
    #[error("values: {0}")]
    Values(#[source] RenderError),
    /// A label selector is malformed.
    #[error("selector: {0}")]
    Selector(String),
    /// The generator's shape is wrong (a git generator without directories or
    /// files, a matrix of other than two generators, a merge without keys).
    #[error("{0}")]
    Spec(String),
    /// Two parameter sets of a matrix disagree on a parameter.
    #[error(
        "matrix: parameter {key:?} is {first:?} in the first generator and {second:?} in the second"
    )]
    MatrixConflict {
        /// The parameter.
        key: String,
        /// Its value from the first generator.
        first: String,
        /// Its value from the second generator.
        second: String,
    },
    /// A child generator of a matrix or merge failed.
    #[error("child generator {index} ({kind}): {source}")]
    Child {
        /// Index among the parent's generators.
        index: usize,
        /// Kind of the child (`list`, `git`, ...).
        kind: &'static str,
        /// Its error.
        #[source]
        source: Box<GeneratorError>,
    },
    /// This kind of generator needs a service Trellis does not call yet.
    #[error("the {0} generator is not supported")]
    Unsupported(&'static str),
}

/// What one generator entry yields: its parameter sets and the template
/// (its own merged over the set's) to render them with.
pub(crate) struct Generated {
    pub params: Vec<Params>,
    pub template: Json,
}

/// What every generator needs.
pub(crate) struct Context<'a> {
    pub sources: &'a Sources,
    pub renderer: &'a Renderer,
    pub apply_nested_selectors: bool,
}

impl Context<'_> {
    pub(crate) fn go(&self) -> bool {
        self.renderer.is_go()
    }
}

/// Runs one top-level generator entry. An entry normally sets one kind; when
/// it sets several, each yields its own result (as in Argo CD).
pub(crate) fn run_top(
    generator: &ApplicationSetGenerator,
    set_template: &Json,
    cx: &Context<'_>,
) -> Vec<(&'static str, Result<Generated, GeneratorError>)> {
    let mut out = Vec::new();
    let mut run = |kind: &'static str,
                   own: Option<&ApplicationSetTemplate>,
                   params: Result<Vec<Params>, GeneratorError>| {
        let result = params
            .and_then(|p| select(p, generator.selector.as_ref()))
            .and_then(|params| {
                let template = merged_template(own, set_template)?;
                Ok(Generated { params, template })
            });
        out.push((kind, result));
    };
    if let Some(list) = &generator.list {
        run("list", list.template.as_ref(), list::params(list, cx));
    }
    if let Some(git) = &generator.git {
        run("git", git.template.as_ref(), git::params(git, cx));
    }
    if let Some(matrix) = &generator.matrix {
        let children: Result<Vec<Json>, _> = matrix.generators.iter().map(to_json).collect();
        run(
            "matrix",
            matrix.template.as_ref(),
            children.and_then(|c| combine::matrix(&c, cx, 1)),
        );
    }
    if let Some(merge) = &generator.merge {
        let children: Result<Vec<Json>, _> = merge.generators.iter().map(to_json).collect();
        run(
            "merge",
            merge.template.as_ref(),
            children.and_then(|c| combine::merge(&c, &merge.merge_keys, cx, 1)),
        );
    }
    for kind in unsupported_kinds(generator) {
        out.push((kind, Err(GeneratorError::Unsupported(kind))));
    }
    if out.is_empty() {
        out.push((
            "none",
            Err(GeneratorError::Spec(
                "the generator sets none of list, git, matrix or merge".into(),
            )),
        ));
    }
    out
}

fn unsupported_kinds(g: &ApplicationSetGenerator) -> Vec<&'static str> {
    let mut kinds = Vec::new();
    if g.clusters.is_some() {
        kinds.push("clusters");
    }
    if g.scm_provider.is_some() {
        kinds.push("scmProvider");
    }
    if g.cluster_decision_resource.is_some() {
        kinds.push("clusterDecisionResource");
    }
    if g.pull_request.is_some() {
        kinds.push("pullRequest");
    }
    if g.plugin.is_some() {
        kinds.push("plugin");
    }
    kinds
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Json, GeneratorError> {
    serde_json::to_value(value)
        .map_err(|e| GeneratorError::Spec(format!("cannot read a child generator: {e}")))
}

/// The generator's own template with the set's filling its gaps.
fn merged_template(
    own: Option<&ApplicationSetTemplate>,
    set_template: &Json,
) -> Result<Json, GeneratorError> {
    match own {
        None => Ok(set_template.clone()),
        Some(own) => {
            let mut merged = to_json(own)?;
            crate::render::merge_template(&mut merged, set_template);
            Ok(merged)
        }
    }
}

/// Runs a generator nested in a matrix or merge, given as JSON (so that a
/// matrix can first render it with the parameters of its first generator).
/// `depth` is 1 for children of a top-level matrix or merge.
pub(crate) fn run_nested(
    generator: &Json,
    cx: &Context<'_>,
    depth: usize,
) -> Result<(&'static str, Vec<Params>), GeneratorError> {
    let nested: ApplicationSetNestedGenerator = serde_json::from_value(generator.clone())
        .map_err(|e| GeneratorError::Spec(format!("cannot read a child generator: {e}")))?;
    let mut kinds: Vec<&'static str> = Vec::new();
    let mut result = None;
    if let Some(list) = &nested.list {
        kinds.push("list");
        result = Some(list::params(list, cx));
    }
    if let Some(git) = &nested.git {
        kinds.push("git");
        result = Some(git::params(git, cx));
    }
    if let Some(matrix) = nested.nested_matrix() {
        kinds.push("matrix");
        result = Some(
            matrix
                .map_err(|e| GeneratorError::Spec(format!("cannot read a nested matrix: {e}")))
                .and_then(|m| m.generators.iter().map(to_json).collect())
                .and_then(|children: Vec<Json>| combine::matrix(&children, cx, depth + 1)),
        );
    }
    if let Some(merge) = nested.nested_merge() {
        kinds.push("merge");
        result = Some(
            merge
                .map_err(|e| GeneratorError::Spec(format!("cannot read a nested merge: {e}")))
                .and_then(|m| {
                    let children = m
                        .generators
                        .iter()
                        .map(to_json)
                        .collect::<Result<Vec<_>, _>>()?;
                    combine::merge(&children, &m.merge_keys, cx, depth + 1)
                }),
        );
    }
    for (set, kind) in [
        (nested.clusters.is_some(), "clusters"),
        (nested.scm_provider.is_some(), "scmProvider"),
        (
            nested.cluster_decision_resource.is_some(),
            "clusterDecisionResource",
        ),
        (nested.pull_request.is_some(), "pullRequest"),
        (nested.plugin.is_some(), "plugin"),
    ] {
        if set {
            return Err(GeneratorError::Unsupported(kind));
        }
    }
    let kind = match kinds.as_slice() {
        [kind] => *kind,
        [] => {
            return Err(GeneratorError::Spec(
                "a child generator sets none of list, git, matrix or merge".into(),
            ));
        }
        more => {
            return Err(GeneratorError::Spec(format!(
                "a child generator sets more than one kind: {}",
                more.join(", ")
            )));
        }
    };
    let params = result.unwrap_or_else(|| Ok(Vec::new()))?;
    // Selectors of generators below a nested matrix or merge are applied only
    // on request, as in Argo CD.
    let params = if depth <= 1 || cx.apply_nested_selectors {
        select(params, nested.selector.as_ref())?
    } else {
        params
    };
    Ok((kind, params))
}

/// Adds a generator's `values` to each parameter set: each value is first
/// rendered with the set's own parameters, then stored as `values.<key>`
/// (fasttemplate) or under a `values` map (Go templates).
pub(crate) fn add_values(
    params: &mut Params,
    values: &std::collections::BTreeMap<String, String>,
    cx: &Context<'_>,
) -> Result<(), GeneratorError> {
    if values.is_empty() {
        return Ok(());
    }
    let mut rendered = Vec::with_capacity(values.len());
    for (key, text) in values {
        let value = cx
            .renderer
            .render_str(text, params, &format!("values.{key}"))
            .map_err(GeneratorError::Values)?;
        rendered.push((key.clone(), value));
    }
    if cx.go() {
        let map = rendered
            .into_iter()
            .map(|(k, v)| (k, Value::str(v)))
            .collect();
        params.insert("values".into(), Value::map(map));
    } else {
        for (k, v) in rendered {
            params.insert(format!("values.{k}"), Value::str(v));
        }
    }
    Ok(())
}

/// Keeps the parameter sets whose string parameters match the selector.
fn select(
    params: Vec<Params>,
    selector: Option<&LabelSelector>,
) -> Result<Vec<Params>, GeneratorError> {
    let Some(selector) = selector else {
        return Ok(params);
    };
    let mut kept = Vec::with_capacity(params.len());
    for p in params {
        if selector_matches(selector, &string_values(&p))? {
            kept.push(p);
        }
    }
    Ok(kept)
}

fn selector_matches(
    selector: &LabelSelector,
    labels: &std::collections::BTreeMap<String, String>,
) -> Result<bool, GeneratorError> {
    for (key, value) in selector.match_labels.iter().flatten() {
        if labels.get(key) != Some(value) {
            return Ok(false);
        }
    }
    for req in selector.match_expressions.iter().flatten() {
        let values = req.values.as_deref().unwrap_or_default();
        let have = labels.get(&req.key);
        let ok = match req.operator.as_str() {
            "In" => have.is_some_and(|v| values.contains(v)),
            "NotIn" => have.is_none_or(|v| !values.contains(v)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            other => {
                return Err(GeneratorError::Selector(format!(
                    "unknown operator {other:?} (expected In, NotIn, Exists or DoesNotExist)"
                )));
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn labels(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn selectors_match_labels_and_expressions() {
        let selector = LabelSelector {
            match_labels: Some(labels(&[("env", "prod")])),
            match_expressions: Some(vec![
                LabelSelectorRequirement {
                    key: "tier".into(),
                    operator: "In".into(),
                    values: Some(vec!["web".into(), "api".into()]),
                },
                LabelSelectorRequirement {
                    key: "legacy".into(),
                    operator: "DoesNotExist".into(),
                    values: None,
                },
            ]),
        };
        let ok = labels(&[("env", "prod"), ("tier", "web")]);
        assert!(selector_matches(&selector, &ok).unwrap());
        let wrong_env = labels(&[("env", "dev"), ("tier", "web")]);
        assert!(!selector_matches(&selector, &wrong_env).unwrap());
        let legacy = labels(&[("env", "prod"), ("tier", "web"), ("legacy", "x")]);
        assert!(!selector_matches(&selector, &legacy).unwrap());
        let bad = LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "x".into(),
                operator: "Near".into(),
                values: None,
            }]),
            ..Default::default()
        };
        assert!(selector_matches(&bad, &ok).is_err());
    }
}
