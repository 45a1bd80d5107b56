//! Helm's additions to Sprig that need no per-render state: YAML, JSON and
//! TOML conversions, `include`, `required` and `fail`. (`tpl` and `lookup`
//! are bound per render in [`crate::render`].)

use std::fmt::Write as _;

use trellis_template::{FuncError, FuncMap, Map, Sig, Ty, Value};

use std::sync::{Arc, OnceLock};

use crate::cache::ContentCache;
use crate::values::deep_copy;
use crate::yaml::{YamlError, from_yaml_value, must_to_yaml, to_yaml, to_yaml_pretty};

/// Texts kept by each parse cache, in bytes.
const PARSE_CACHE_BYTES: usize = 16 << 20;

/// `fromYaml`/`fromYamlArray` parses, by text. Hits are deep-copied: the
/// caller may mutate the maps it gets (Sprig's `set`).
fn parse_yaml(text: &str) -> Result<Value, YamlError> {
    static CACHE: OnceLock<ContentCache<Result<Value, YamlError>>> = OnceLock::new();
    CACHE
        .get_or_init(|| ContentCache::new(PARSE_CACHE_BYTES))
        .get_or_compute(text.as_bytes(), || from_yaml_value(text))
        .map(|v| match v {
            // Cached trees are never modified: copy lazily.
            Value::Map(m) => Value::Map(m.frozen_copy()),
            v => deep_copy(&v),
        })
}

/// `fromJson`/`fromJsonArray` parses, by text (serde_json's tree, converted
/// to fresh template values by the caller).
fn parse_json(text: &str) -> Result<Arc<serde_json::Value>, String> {
    static CACHE: OnceLock<ContentCache<Result<Arc<serde_json::Value>, String>>> = OnceLock::new();
    CACHE
        .get_or_init(|| ContentCache::new(PARSE_CACHE_BYTES))
        .get_or_compute(text.as_bytes(), || {
            serde_json::from_str::<serde_json::Value>(text)
                .map(Arc::new)
                .map_err(|e| e.to_string())
        })
}

fn error_map(msg: String) -> Value {
    let mut m = Map::new();
    m.insert("Error".into(), Value::from(msg));
    Value::map(m)
}

fn yaml_err(e: &YamlError) -> String {
    format!("error converting YAML to JSON: {e}")
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::List(_) => "array",
        Value::Map(_) => "object",
        Value::Str(_) => "string",
        Value::Bool(_) => "bool",
        _ => "number",
    }
}

/// Registers Helm's functions into `f` (replacing Sprig's of the same name).
pub(crate) fn register(f: &mut FuncMap) {
    crate::render::register_template_funcs(f);
    let one = || Sig::fixed(&[Ty::Any]);
    let str1 = || Sig::fixed(&[Ty::Str]);
    f.add("toYaml", one(), |a| Ok(Value::from(to_yaml(&a[0]))));
    f.add("mustToYaml", one(), |a| {
        must_to_yaml(&a[0])
            .map(Value::from)
            .map_err(|e| FuncError::Call(e.to_string()))
    });
    f.add("toYamlPretty", one(), |a| {
        Ok(Value::from(to_yaml_pretty(&a[0])))
    });
    f.add("fromYaml", str1(), |a| {
        Ok(match parse_yaml(a[0].as_str().unwrap_or_default()) {
            Ok(Value::Nil) => Value::map(Map::new()),
            Ok(v @ Value::Map(_)) => v,
            Ok(v) => error_map(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind(&v)
            )),
            Err(e) => error_map(yaml_err(&e)),
        })
    });
    f.add("fromYamlArray", str1(), |a| {
        Ok(match parse_yaml(a[0].as_str().unwrap_or_default()) {
            Ok(Value::Nil) => Value::list(Vec::new()),
            Ok(v @ Value::List(_)) => v,
            Ok(v) => Value::list(vec![Value::from(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type []interface {{}}",
                json_kind(&v)
            ))]),
            Err(e) => Value::list(vec![Value::from(yaml_err(&e))]),
        })
    });
    f.add("fromJson", str1(), |a| {
        Ok(
            match parse_json(a[0].as_str().unwrap_or_default()).as_deref() {
                Ok(j @ serde_json::Value::Object(_)) => Value::from(j),
                Ok(serde_json::Value::Null) => Value::map(Map::new()),
                Ok(j) => error_map(format!(
                    "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                    json_kind(&Value::from(j))
                )),
                Err(e) => error_map(e.clone()),
            },
        )
    });
    f.add("fromJsonArray", str1(), |a| {
        Ok(
            match parse_json(a[0].as_str().unwrap_or_default()).as_deref() {
                Ok(j @ serde_json::Value::Array(_)) => Value::from(j),
                Ok(serde_json::Value::Null) => Value::list(Vec::new()),
                Ok(j) => Value::list(vec![Value::from(format!(
                    "json: cannot unmarshal {} into Go value of type []interface {{}}",
                    json_kind(&Value::from(j))
                ))]),
                Err(e) => Value::list(vec![Value::from(e.clone())]),
            },
        )
    });
    f.add("toToml", one(), |a| Ok(Value::from(to_toml(&a[0]))));
}

/// Helm's `toToml` (BurntSushi's encoder): scalars and arrays of a table
/// first, then sub-tables as `[a.b]` sections indented by depth. Errors
/// print as their text, as Helm does.
pub fn to_toml(v: &Value) -> String {
    let Value::Map(m) = v else {
        return "toml: top-level values must be Go maps or structs".into();
    };
    let mut out = String::new();
    toml_table(&mut out, &m.snapshot(), &mut Vec::new());
    out
}

fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        k.to_string()
    } else {
        toml_str(k)
    }
}

fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_scalar(v: &Value) -> Option<String> {
    Some(match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) | Value::Int64(i) => i.to_string(),
        Value::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e16 {
                format!("{f:.1}")
            } else {
                trellis_template::format_g(*f, None)
            }
        }
        Value::Str(s) => toml_str(s),
        Value::List(l) => {
            let items: Option<Vec<String>> = l.iter().map(toml_scalar).collect();
            format!("[{}]", items?.join(", "))
        }
        _ => return None,
    })
}

fn toml_table(out: &mut String, m: &Map, path: &mut Vec<String>) {
    let indent = "  ".repeat(path.len());
    for (k, v) in m {
        if matches!(v, Value::Map(_) | Value::Nil) {
            continue;
        }
        if let Some(s) = toml_scalar(v) {
            let _ = writeln!(out, "{indent}{} = {s}", toml_key(k));
        }
    }
    for (k, v) in m {
        if let Value::Map(sub) = v {
            path.push(toml_key(k));
            let ind = "  ".repeat(path.len() - 1);
            let _ = write!(out, "\n{ind}[{}]\n", path.join("."));
            toml_table(out, &sub.snapshot(), path);
            path.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_like_helm() {
        // Helm 4.2.3: `toToml (dict "a" 1 "b" (dict "c" "d"))`.
        let mut b = Map::new();
        b.insert("c".into(), Value::from("d"));
        let mut m = Map::new();
        m.insert("a".into(), Value::Int(1));
        m.insert("b".into(), Value::map(b));
        assert_eq!(to_toml(&Value::map(m)), "a = 1\n\n[b]\n  c = \"d\"\n");
    }
}
