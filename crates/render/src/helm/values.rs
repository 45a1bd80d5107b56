//! The user values of a Helm source as Argo CD assembles them: value files
//! (relative to the source path, or `$ref/...` in another source), then
//! `values`/`valuesObject`, then parameters, then file parameters.

use std::collections::BTreeMap;
use std::sync::Arc;

use trellis_helm::{UserValues, Value};
use trellis_model::ApplicationSourceHelm;
use trellis_source::{Snapshot, SourceError};

use super::env::envsubst;
use crate::RenderError;
use crate::app::normalize_path;
use crate::directory::join;

/// Where a source's files are and what its value-file references resolve to.
pub struct ValuesContext<'a> {
    /// The chart's repository.
    pub snapshot: &'a Snapshot,
    /// The source path in it.
    pub path: &'a str,
    /// Snapshots of the application's `ref` sources.
    pub refs: &'a BTreeMap<String, Arc<Snapshot>>,
    /// Argo CD's build environment.
    pub env: &'a [(String, String)],
}

/// Builds the user values of a Helm source.
pub fn user_values(
    helm: Option<&ApplicationSourceHelm>,
    ctx: &ValuesContext<'_>,
) -> Result<Value, RenderError> {
    let Some(helm) = helm else {
        return Ok(Value::map(Default::default()));
    };
    let mut user = UserValues::default();
    for file in &helm.value_files {
        // `$name/...` names a ref source (resolved before any substitution,
        // as Argo CD does); other paths get the build environment.
        let is_ref = file
            .strip_prefix('$')
            .and_then(|rest| rest.split('/').next())
            .is_some_and(|name| ctx.refs.contains_key(name));
        let file = if is_ref {
            file.clone()
        } else {
            envsubst(file, ctx.env)
        };
        match read_value_file(&file, ctx) {
            Ok(text) => user.files.push(parse_values(&text, &file)?),
            Err(SourceError::NotFound { .. }) if helm.ignore_missing_value_files => {}
            Err(err) => return Err(value_file_error(&file, err)),
        }
    }
    // valuesObject wins over values when both are set, as in Argo CD.
    if let Some(object) = helm.values_object.as_ref().filter(|o| !o.is_empty()) {
        user.files
            .push(Value::from(&serde_json::Value::Object(object.clone())));
    } else if let Some(text) = helm.values.as_deref().filter(|t| !t.trim().is_empty()) {
        user.files
            .push(parse_values(text, "spec.source.helm.values")?);
    }
    for parameter in &helm.parameters {
        let Some(name) = parameter.name.as_deref().filter(|n| !n.is_empty()) else {
            continue;
        };
        let value = envsubst(parameter.value.as_deref().unwrap_or_default(), ctx.env);
        let expression = format!("{name}={}", escape_set_value(&value));
        if parameter.force_string {
            user.set_string.push(expression);
        } else {
            user.set.push(expression);
        }
    }
    let mut file_contents: BTreeMap<String, String> = BTreeMap::new();
    for parameter in &helm.file_parameters {
        let (Some(name), Some(path)) = (parameter.name.as_deref(), parameter.path.as_deref())
        else {
            continue;
        };
        let path = envsubst(path, ctx.env);
        let text = read_value_file(&path, ctx).map_err(|e| value_file_error(&path, e))?;
        file_contents.insert(path.clone(), text);
        user.set_file.push(format!("{name}={path}"));
    }
    user.build(&mut |path: &str| {
        file_contents
            .get(path)
            .cloned()
            .ok_or_else(|| format!("file {path} was not read"))
    })
    .map_err(|e| RenderError::Helm {
        message: format!("helm parameters: {e}"),
    })
}

/// Reads a value file: `$name/path` from the source named `name`, a URL is
/// refused, anything else relative to the source path.
fn read_value_file(file: &str, ctx: &ValuesContext<'_>) -> Result<String, SourceError> {
    let (snapshot, path) = if let Some(rest) = file.strip_prefix('$') {
        let (name, path) = rest.split_once('/').unwrap_or((rest, ""));
        match ctx.refs.get(name) {
            Some(snapshot) => (snapshot.as_ref(), normalize_path(path)),
            None => {
                return Err(SourceError::NotFound {
                    path: format!("{file} (no source has ref {name:?})"),
                });
            }
        }
    } else {
        (ctx.snapshot, join(ctx.path, file))
    };
    let bytes = snapshot.read_file(&path)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn value_file_error(file: &str, err: SourceError) -> RenderError {
    match err {
        SourceError::PathEscape { .. } => RenderError::Source(err),
        other => RenderError::Helm {
            message: format!("value file {file}: {other}"),
        },
    }
}

fn parse_values(text: &str, file: &str) -> Result<Value, RenderError> {
    trellis_helm::from_yaml(text).map_err(|e| RenderError::Helm {
        message: format!("{file}: {e}"),
    })
}

/// Argo CD passes parameter values to `--set` with unescaped commas escaped,
/// except a `{a,b}` list, so a value like `a,b` stays one string.
fn escape_set_value(value: &str) -> String {
    if value.starts_with('{') && value.ends_with('}') {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len());
    let mut previous = '\0';
    for c in value.chars() {
        if c == ',' && previous != '\\' {
            out.push('\\');
        }
        out.push(c);
        previous = c;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_are_escaped_except_in_lists() {
        assert_eq!(escape_set_value("a,b"), "a\\,b");
        assert_eq!(escape_set_value("a\\,b"), "a\\,b");
        assert_eq!(escape_set_value("{a,b}"), "{a,b}");
        assert_eq!(escape_set_value("plain"), "plain");
    }
}
