//! Rendering a template with one parameter set: every string of it (and every
//! map key, so labels and annotations can be named by parameters) goes
//! through fasttemplate substitution, or through Go's `text/template` with
//! Sprig when the set says `goTemplate: true`.
//!
//! Go templates are parsed once per distinct string and executed for every
//! parameter set: an ApplicationSet renders the same few dozen strings for
//! each of its (possibly thousands of) parameter sets.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde_json::Value as Json;
use trellis_template::{FuncError, FuncMap, Sig, Templates, Ty, Value, sprig};

use crate::fasttemplate;
use crate::params::{Params, sanitize_name, slugify};

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// An entry of `goTemplateOptions` is not a Go template option.
    #[error(
        "spec.goTemplateOptions: unsupported option {option:?} (supported: missingkey=default|invalid|zero|error)"
    )]
    Option {
        /// The option as written.
        option: String,
    },
    /// One string of the template failed to parse or execute.
    #[error("{field}: {text:?}: {message}")]
    Field {
        /// Where the string sits (`spec.source.path`, `metadata.labels[team]`).
        field: String,
        /// The template text.
        text: String,
        /// The cause, as Go's `text/template` words it.
        message: String,
    },
}

/// Renders strings and JSON trees with parameter sets; one per generation.
pub(crate) struct Renderer {
    go: Option<GoTemplates>,
}

struct GoTemplates {
    /// Functions and options, cloned (cheaply) for every string parsed.
    base: Templates,
    /// Parsed templates by text; a parse error is remembered too.
    parsed: RefCell<HashMap<String, Result<Rc<Templates>, String>>>,
}

impl Renderer {
    /// A renderer for fasttemplate mode, or for Go templates with Argo CD's
    /// function set and the given options (`missingkey=error`).
    pub(crate) fn new(go_template: bool, options: &[String]) -> Result<Self, RenderError> {
        if !go_template {
            return Ok(Self { go: None });
        }
        let mut base = Templates::new("");
        base.funcs(&sprig::funcs());
        base.funcs(&extra_funcs());
        for option in options {
            base.option(option).map_err(|_| RenderError::Option {
                option: option.clone(),
            })?;
        }
        Ok(Self {
            go: Some(GoTemplates {
                base,
                parsed: RefCell::new(HashMap::new()),
            }),
        })
    }

    /// Whether this renders Go templates.
    pub(crate) fn is_go(&self) -> bool {
        self.go.is_some()
    }

    /// Renders one string; `field` names it in errors.
    pub(crate) fn render_str(
        &self,
        text: &str,
        params: &Params,
        field: &str,
    ) -> Result<String, RenderError> {
        let data = self.go.as_ref().map(|_| Value::map(params.clone()));
        self.render_one(text, params, data.as_ref(), field)
    }

    /// Renders every string and map key of a JSON tree. `at` is the path of
    /// the tree, used in errors.
    pub(crate) fn render_json(
        &self,
        tree: &Json,
        params: &Params,
        at: &str,
    ) -> Result<Json, RenderError> {
        // One data value for the whole tree: Go templates of one parameter
        // set share its maps, as they do in Argo CD.
        let data = self.go.as_ref().map(|_| Value::map(params.clone()));
        self.walk(tree, params, data.as_ref(), at)
    }

    fn walk(
        &self,
        tree: &Json,
        params: &Params,
        data: Option<&Value>,
        at: &str,
    ) -> Result<Json, RenderError> {
        Ok(match tree {
            Json::String(s) => Json::String(self.render_one(s, params, data, at)?),
            Json::Array(items) => Json::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.walk(v, params, data, &format!("{at}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            Json::Object(map) => {
                let mut out = serde_json::Map::new();
                for (k, v) in map {
                    let path = child_path(at, k);
                    let key = self.render_one(k, params, data, &path)?;
                    out.insert(key, self.walk(v, params, data, &path)?);
                }
                Json::Object(out)
            }
            other => other.clone(),
        })
    }

    fn render_one(
        &self,
        text: &str,
        params: &Params,
        data: Option<&Value>,
        field: &str,
    ) -> Result<String, RenderError> {
        let fail = |message: String| RenderError::Field {
            field: field.to_string(),
            text: text.to_string(),
            message,
        };
        match (&self.go, data) {
            (Some(go), Some(data)) => {
                // Text without an action renders as itself; skip the parse.
                if !text.contains("{{") {
                    return Ok(text.to_string());
                }
                let templates = go.parsed(text).map_err(fail)?;
                templates.execute("", data).map_err(|e| fail(e.to_string()))
            }
            _ => fasttemplate::substitute(text, params).map_err(|e| fail(e.to_string())),
        }
    }
}

impl GoTemplates {
    fn parsed(&self, text: &str) -> Result<Rc<Templates>, String> {
        if let Some(found) = self.parsed.borrow().get(text) {
            return found.clone();
        }
        let mut templates = self.base.clone();
        let result = match templates.parse("", text) {
            Ok(_) => Ok(Rc::new(templates)),
            Err(e) => Err(e.to_string()),
        };
        self.parsed
            .borrow_mut()
            .insert(text.to_string(), result.clone());
        result
    }
}

fn child_path(at: &str, key: &str) -> String {
    let simple = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (at.is_empty(), simple) {
        (true, true) => key.to_string(),
        (false, true) => format!("{at}.{key}"),
        (_, false) => format!("{at}[{key}]"),
    }
}

/// The functions Argo CD adds to Sprig for ApplicationSets.
fn extra_funcs() -> FuncMap {
    let mut m = FuncMap::new();
    m.add("normalize", Sig::fixed(&[Ty::Str]), |a| {
        Ok(Value::str(sanitize_name(a[0].as_str().unwrap_or_default())))
    });
    m.add("slugify", Sig::variadic(&[], Ty::Any), |a| {
        let mut max_len = 50usize;
        let mut smart = true;
        let mut name = "";
        for (i, arg) in a.iter().enumerate() {
            if i + 1 == a.len() {
                name = arg
                    .as_str()
                    .ok_or_else(|| FuncError::Call("slugify: the name must be a string".into()))?;
            } else if i == 0 {
                max_len = arg
                    .as_int()
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| {
                        FuncError::Call("slugify: the maximum size must be an integer".into())
                    })?;
            } else if i == 1 {
                smart = match arg {
                    Value::Bool(b) => *b,
                    _ => {
                        return Err(FuncError::Call(
                            "slugify: smart truncation must be a boolean".into(),
                        ));
                    }
                };
            }
        }
        Ok(Value::str(slugify(name, max_len, smart)))
    });
    m.add("toYaml", Sig::fixed(&[Ty::Any]), |a| {
        trellis_helm::must_to_yaml(&a[0])
            .map(Value::str)
            .map_err(|e| FuncError::Call(e.to_string()))
    });
    m.add(
        "fromYaml",
        Sig::fixed(&[Ty::Str]),
        |a| match trellis_helm::from_yaml(a[0].as_str().unwrap_or_default()) {
            Ok(v @ Value::Map(_)) => Ok(v),
            Ok(other) => Err(FuncError::Call(format!(
                "cannot unmarshal {} into a map",
                other.kind_name()
            ))),
            Err(e) => Err(FuncError::Call(e.to_string())),
        },
    );
    m.add(
        "fromYamlArray",
        Sig::fixed(&[Ty::Str]),
        |a| match trellis_helm::from_yaml_value(a[0].as_str().unwrap_or_default()) {
            Ok(Value::Nil) => Ok(Value::list(Vec::new())),
            Ok(v @ Value::List(_)) => Ok(v),
            Ok(other) => Err(FuncError::Call(format!(
                "cannot unmarshal {} into a list",
                other.kind_name()
            ))),
            Err(e) => Err(FuncError::Call(e.to_string())),
        },
    );
    m
}

/// Fills what the generator's own template leaves empty from the set's
/// template, as Argo CD merges them: a value set in the generator's template
/// wins; an empty one (`""`, `0`, `false`, `null`, empty list or map) or an
/// absent one is taken from the set's; maps merge key by key.
pub(crate) fn merge_template(generator: &mut Json, set: &Json) {
    match (generator, set) {
        (Json::Object(mine), Json::Object(theirs)) => {
            for (key, value) in theirs {
                match mine.get_mut(key) {
                    Some(slot) if !is_empty(slot) => merge_template(slot, value),
                    Some(slot) => *slot = value.clone(),
                    None => {
                        mine.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (slot, value) => {
            if is_empty(slot) {
                *slot = value.clone();
            }
        }
    }
}

fn is_empty(value: &Json) -> bool {
    match value {
        Json::Null => true,
        Json::Bool(b) => !b,
        Json::Number(n) => n.as_f64() == Some(0.0),
        Json::String(s) => s.is_empty(),
        Json::Array(a) => a.is_empty(),
        Json::Object(o) => o.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::str(v)))
            .collect()
    }

    #[test]
    fn fasttemplate_renders_strings_and_keys_and_leaves_the_rest() {
        let r = Renderer::new(false, &[]).unwrap();
        let tree = json!({
            "name": "{{cluster}}-app",
            "labels": {"team-{{team}}": "{{team}}"},
            "n": 3, "b": true, "list": ["{{cluster}}", "{{unknown}}"]
        });
        let out = r
            .render_json(&tree, &params(&[("cluster", "prod"), ("team", "a")]), "")
            .unwrap();
        assert_eq!(
            out,
            json!({
                "name": "prod-app",
                "labels": {"team-a": "a"},
                "n": 3, "b": true, "list": ["prod", "{{unknown}}"]
            })
        );
    }

    #[test]
    fn go_templates_use_sprig_and_argo_functions() {
        let r = Renderer::new(true, &["missingkey=error".into()]).unwrap();
        let mut p = params(&[("cluster", "Prod_East")]);
        p.insert(
            "path".into(),
            trellis_helm::from_yaml_value("segments: [apps, web]\nbasename: web").unwrap(),
        );
        let tree = json!({
            "a": "{{ .cluster | lower }}",
            "b": "{{ normalize .cluster }}",
            "c": "{{ index .path.segments 0 }}/{{ .path.basename | upper }}",
            "d": "{{ slugify 5 true \"hello world\" }}",
            "e": "{{ dict \"k\" .cluster | toYaml }}",
            "f": "{{ (fromYaml \"x: 1\").x }}",
            "g": "plain"
        });
        let out = r.render_json(&tree, &p, "spec").unwrap();
        assert_eq!(
            out,
            json!({
                "a": "prod_east", "b": "prod-east", "c": "apps/WEB",
                "d": "hello", "e": "k: Prod_East", "f": "1", "g": "plain"
            })
        );
    }

    #[test]
    fn missing_keys_fail_with_missingkey_error_and_name_the_field() {
        let r = Renderer::new(true, &["missingkey=error".into()]).unwrap();
        let err = r
            .render_json(
                &json!({"source": {"path": "{{ .nope }}"}}),
                &params(&[]),
                "spec",
            )
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("spec.source.path: \"{{ .nope }}\": "),
            "{text}"
        );
        assert!(text.contains("map has no entry for key \"nope\""), "{text}");

        let lenient = Renderer::new(true, &[]).unwrap();
        let out = lenient
            .render_str("{{ .nope }}", &params(&[]), "x")
            .unwrap();
        assert_eq!(out, "<no value>");
    }

    #[test]
    fn bad_options_and_parse_errors_are_reported() {
        assert!(matches!(
            Renderer::new(true, &["missingkey=maybe".into()]),
            Err(RenderError::Option { .. })
        ));
        let r = Renderer::new(true, &[]).unwrap();
        let err = r
            .render_str("{{ .a ", &params(&[]), "metadata.name")
            .unwrap_err();
        assert!(err.to_string().starts_with("metadata.name: "), "{err}");
    }

    #[test]
    fn generator_templates_win_where_set_and_fall_back_elsewhere() {
        let mut generator = json!({
            "metadata": {"name": "", "labels": {"a": "gen"}},
            "spec": {"project": "gen-project", "destination": {}, "source": {"path": "x"}}
        });
        let set = json!({
            "metadata": {"name": "{{name}}", "labels": {"a": "set", "b": "set"}},
            "spec": {"project": "default", "destination": {"server": "s"}, "source": {"repoURL": "r", "path": "y"}}
        });
        merge_template(&mut generator, &set);
        assert_eq!(
            generator,
            json!({
                "metadata": {"name": "{{name}}", "labels": {"a": "gen", "b": "set"}},
                "spec": {"project": "gen-project", "destination": {"server": "s"},
                         "source": {"path": "x", "repoURL": "r"}}
            })
        );
    }
}
