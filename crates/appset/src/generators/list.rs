//! The list generator: fixed parameter sets written in the ApplicationSet.
//!
//! With Go templates an element is used as it is (any JSON). In
//! fasttemplate mode every value must be a string, except `values`, a map of
//! strings that becomes `values.<key>`, as in Argo CD. Elements of
//! `elementsYaml` (usually produced by a matrix from another generator's
//! parameters) are appended unflattened.

use trellis_model::appset::ListGenerator;
use trellis_template::Value;

use super::{Context, GeneratorError};
use crate::params::Params;

pub(super) fn params(
    list: &ListGenerator,
    cx: &Context<'_>,
) -> Result<Vec<Params>, GeneratorError> {
    let mut out = Vec::with_capacity(list.elements.len());
    for (i, element) in list.elements.iter().enumerate() {
        let field = format!("elements[{i}]");
        let serde_json::Value::Object(map) = element else {
            return Err(GeneratorError::Element {
                field,
                message: format!("expected an object, found {}", json_kind(element)),
            });
        };
        let mut params = Params::new();
        if cx.go() {
            for (k, v) in map {
                params.insert(k.clone(), Value::from(v));
            }
        } else {
            for (k, v) in map {
                if k == "values" {
                    let serde_json::Value::Object(values) = v else {
                        return Err(GeneratorError::Element {
                            field: format!("{field}.values"),
                            message: format!("expected a map of strings, found {}", json_kind(v)),
                        });
                    };
                    for (vk, vv) in values {
                        let text = vv.as_str().ok_or_else(|| GeneratorError::Element {
                            field: format!("{field}.values.{vk}"),
                            message: not_a_string(vv),
                        })?;
                        params.insert(format!("values.{vk}"), Value::str(text));
                    }
                } else {
                    let text = v.as_str().ok_or_else(|| GeneratorError::Element {
                        field: format!("{field}.{k}"),
                        message: not_a_string(v),
                    })?;
                    params.insert(k.clone(), Value::str(text));
                }
            }
        }
        out.push(params);
    }
    if let Some(text) = list
        .elements_yaml
        .as_deref()
        .filter(|t| !t.trim().is_empty())
    {
        let element_error = |message: String| GeneratorError::Element {
            field: "elementsYaml".into(),
            message,
        };
        let parsed =
            trellis_helm::from_yaml_value(text).map_err(|e| element_error(e.to_string()))?;
        match parsed {
            Value::Nil => {}
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::Map(map) => out.push(map.snapshot()),
                        Value::Nil => out.push(Params::new()),
                        other => {
                            return Err(element_error(format!(
                                "item {i}: expected a map, found {}",
                                other.kind_name()
                            )));
                        }
                    }
                }
            }
            other => {
                return Err(element_error(format!(
                    "expected a list of maps, found {}",
                    other.kind_name()
                )));
            }
        }
    }
    Ok(out)
}

fn not_a_string(value: &serde_json::Value) -> String {
    format!(
        "expected a string, found {} (without goTemplate, list elements hold strings only)",
        json_kind(value)
    )
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a map",
    }
}
