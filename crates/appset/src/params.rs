//! Parameter sets: what a generator yields and a template consumes.
//!
//! A parameter set is a map from names to values. With `goTemplate: true`
//! values keep their shape (maps, lists, numbers) and templates reach into
//! them (`{{ .path.segments }}`). Without it (fasttemplate mode) templates
//! only substitute strings, so generators that read structured data (git
//! files) flatten it first: nested keys joined with `.` (`cluster.name`), list
//! items by index (`tags.0`), every leaf printed as Go's `%v` prints it.

use trellis_template::{Map, Value};

/// One parameter set.
pub type Params = Map;

/// Flattens a structured value into `prefix.key` → string pairs, as Argo CD
/// does for fasttemplate mode: maps and lists are walked (list items keyed by
/// their index), empty maps and lists contribute nothing, and every leaf is
/// printed with Go's `%v` (so `1` read from YAML prints `1`, `1234567`
/// prints `1.234567e+06`, `null` prints `<nil>`).
pub fn flatten_into(prefix: &str, value: &Value, out: &mut Params) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match value {
        Value::Map(map) => {
            for (k, v) in map.read().iter() {
                flatten_into(&key(k), v, out);
            }
        }
        Value::List(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten_into(&key(&i.to_string()), v, out);
            }
        }
        leaf => {
            out.insert(
                prefix.to_string(),
                Value::str(trellis_template::sprint(std::slice::from_ref(leaf))),
            );
        }
    }
}

/// Argo CD's `normalize`: lower case, every character outside `[-a-z0-9.]`
/// replaced by `-`, at most 253 bytes, leading and trailing `-`/`.` removed,
/// so the result can serve as a Kubernetes name.
pub fn sanitize_name(name: &str) -> String {
    let mut out: String = name
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    // Every character is ASCII now, so cutting at a byte index is safe.
    out.truncate(253);
    out.trim_matches(|c| c == '-' || c == '.').to_string()
}

/// Argo CD's `slugify [maxSize] [smartTruncate] name`: the normalized name
/// reduced to `[a-z0-9_-]` with runs of `-` collapsed, cut to `max_len`
/// bytes; with smart truncation the cut falls on the last `-` that keeps the
/// slug within the limit, so words stay whole.
pub fn slugify(name: &str, max_len: usize, smart: bool) -> String {
    let mut slug = String::new();
    for c in sanitize_name(name).chars() {
        let c = if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '-'
        };
        if c == '-' && slug.ends_with('-') {
            continue;
        }
        slug.push(c);
    }
    let mut slug = slug.trim_matches('-').to_string();
    if max_len > 0 && slug.len() > max_len {
        let cut = if smart {
            slug.as_bytes()[..=max_len]
                .iter()
                .rposition(|b| *b == b'-')
                .unwrap_or(max_len)
        } else {
            max_len
        };
        slug.truncate(cut);
        slug = slug.trim_matches('-').to_string();
    }
    slug
}

/// A template value as JSON; `None` for values JSON cannot hold (functions,
/// host objects, non-finite numbers).
pub fn to_json(value: &Value) -> Option<serde_json::Value> {
    Some(match value {
        Value::Nil => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) | Value::Int64(i) => serde_json::Value::from(*i),
        Value::Float(f) => {
            // Go's encoding/json writes integral floats without a fraction;
            // keeping them integral keeps `replicas: 3` an integer.
            if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
                serde_json::Value::from(*f as i64)
            } else {
                serde_json::Value::Number(serde_json::Number::from_f64(*f)?)
            }
        }
        Value::Str(s) => serde_json::Value::String(s.to_string()),
        Value::Bytes(b) => serde_json::Value::String(String::from_utf8_lossy(b).into_owned()),
        Value::List(items) => {
            serde_json::Value::Array(items.iter().map(to_json).collect::<Option<Vec<_>>>()?)
        }
        Value::Map(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map.read().iter() {
                out.insert(k.clone(), to_json(v)?);
            }
            serde_json::Value::Object(out)
        }
        Value::Object(_) | Value::Func(_) => return None,
    })
}

/// A deep copy of a parameter set: template values share maps by reference
/// (as Go's maps do), and parameter sets that are combined must not alias.
pub fn deep_copy(params: &Params) -> Params {
    params
        .iter()
        .map(|(k, v)| (k.clone(), deep_value(v)))
        .collect()
}

fn deep_value(value: &Value) -> Value {
    match value {
        Value::Map(map) => Value::map(deep_copy(&map.read())),
        Value::List(items) => Value::list(items.iter().map(deep_value).collect()),
        other => other.clone(),
    }
}

/// The string values of a parameter set, for label selectors (which compare
/// strings only, as Argo CD's do).
pub fn string_values(params: &Params) -> std::collections::BTreeMap<String, String> {
    params
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        trellis_helm::from_yaml_value(text).unwrap()
    }

    fn flat(text: &str) -> Vec<(String, String)> {
        let mut out = Params::new();
        flatten_into("", &yaml(text), &mut out);
        out.into_iter()
            .map(|(k, v)| (k, v.as_str().unwrap().to_string()))
            .collect()
    }

    #[test]
    fn nested_keys_are_joined_with_dots() {
        let got = flat(
            "cluster:\n  name: prod\n  address: https://x\n  labels: {tier: web}\nenv: prod\n",
        );
        let want = [
            ("cluster.address", "https://x"),
            ("cluster.labels.tier", "web"),
            ("cluster.name", "prod"),
            ("env", "prod"),
        ];
        assert_eq!(
            got,
            want.map(|(k, v)| (k.to_string(), v.to_string())).to_vec()
        );
    }

    #[test]
    fn list_items_are_keyed_by_index_and_empty_collections_vanish() {
        let got = flat("tags: [a, b]\nempty: {}\nnone: []\nnested: [{x: 1}]\n");
        let want = [("nested.0.x", "1"), ("tags.0", "a"), ("tags.1", "b")];
        assert_eq!(
            got,
            want.map(|(k, v)| (k.to_string(), v.to_string())).to_vec()
        );
    }

    #[test]
    fn leaves_print_as_go_prints_them() {
        let got = flat("i: 8080\nbig: 1234567\nf: 1.5\nb: true\nnothing: null\nanswer: yes\n");
        let want = [
            // YAML 1.1, as go-yaml v2 reads it.
            ("answer", "true"),
            ("b", "true"),
            ("big", "1.234567e+06"),
            ("f", "1.5"),
            ("i", "8080"),
            ("nothing", "<nil>"),
        ];
        assert_eq!(
            got,
            want.map(|(k, v)| (k.to_string(), v.to_string())).to_vec()
        );
    }

    #[test]
    fn names_are_sanitized_like_argo_cd() {
        assert_eq!(sanitize_name("My_App.v2"), "my-app.v2");
        assert_eq!(sanitize_name("--Hello World!--"), "hello-world");
        assert_eq!(sanitize_name(".a."), "a");
        assert_eq!(sanitize_name(&"x".repeat(300)).len(), 253);
    }

    #[test]
    fn slugs_collapse_dashes_and_truncate_on_words() {
        assert_eq!(
            slugify("Hello   World.Again", 50, true),
            "hello-world-again"
        );
        assert_eq!(slugify("hello-world-again", 12, true), "hello-world");
        assert_eq!(slugify("hello-world-again", 12, false), "hello-world");
        assert_eq!(slugify("helloworldagain", 5, true), "hello");
    }

    #[test]
    fn values_convert_to_json() {
        let v = yaml("a: 3\nb: 1.5\nc: [x, null]\n");
        assert_eq!(
            to_json(&v).unwrap(),
            serde_json::json!({"a": 3, "b": 1.5, "c": ["x", null]})
        );
    }
}
