//! Reading YAML the way Helm does: go-yaml v2 decodes into Go's
//! `interface{}` (YAML 1.1 implicit types), `sigs.k8s.io/yaml` turns that
//! into JSON (non-string keys become strings) and Go's `encoding/json` reads
//! it back, so every number ends up a float64.

use std::collections::HashMap;

use base64::Engine as _;
use granit_parser::{Event, Parser, ScalarStyle, Tag};
use trellis_template::{Map, Value};

use super::YamlError;
use super::resolve::{FloatForm, Resolved, go_format, resolve_plain};

/// A node as go-yaml v2 decodes it into `interface{}`.
#[derive(Debug, Clone)]
pub(crate) enum GoValue {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    BigInt(String),
    Float(f64),
    Str(String),
    /// `<<`, only meaningful as a mapping key.
    Merge,
    Seq(Vec<GoValue>),
    Map(Vec<(GoValue, GoValue)>),
}

const CORE: &str = "tag:yaml.org,2002:";

/// Reads the first YAML document of `text` as Helm reads values files and
/// `fromYaml` input. An empty document reads as `Value::Nil`.
pub fn from_yaml_value(text: &str) -> Result<Value, YamlError> {
    let go = decode_first_document(text)?;
    to_json_value(&go)
}

pub(crate) fn decode_first_document(text: &str) -> Result<GoValue, YamlError> {
    let options = granit_parser::options! {
        bom_inside_document_as_content: true,
        block_scalar_eof_without_line_feed: true,
    };
    let mut parser = Parser::new_from_str_with_options(text, options);
    let mut builder = Builder::default();
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| YamlError::Syntax {
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: e.info().to_string(),
        })?;
        let line = span.start.line();
        match event {
            Event::StreamStart | Event::DocumentStart(..) => {}
            Event::StreamEnd => break,
            Event::DocumentEnd => {
                // Only the first document counts, as in go-yaml's Unmarshal.
                return Ok(builder.root.take().unwrap_or(GoValue::Null));
            }
            Event::Alias(id) => {
                let (v, size) = builder.anchors.get(&id).ok_or(YamlError::Syntax {
                    line,
                    column: span.start.col() + 1,
                    message: "unknown anchor".into(),
                })?;
                // go-yaml's guard against alias bombs: refuse documents whose
                // nodes come mostly from alias expansion, before copying.
                builder.alias_count += size;
                builder.decode_count += size;
                if builder.alias_count > 100
                    && builder.decode_count > 1000
                    && builder.alias_count as f64 / builder.decode_count as f64
                        > allowed_alias_ratio(builder.decode_count)
                {
                    return Err(YamlError::ExcessiveAliasing);
                }
                let v = v.clone();
                builder.push(v, line)?;
            }
            Event::Scalar(value, style, anchor, tag) => {
                let v = decode_scalar(&value, style, tag.as_deref(), line)?;
                builder.decode_count += 1;
                if anchor != 0 {
                    builder.anchors.insert(anchor, (v.clone(), 1));
                }
                builder.push(v, line)?;
            }
            Event::SequenceStart(_, anchor, _) => {
                builder.stack.push(Frame::Seq(anchor, Vec::new()))
            }
            Event::MappingStart(_, anchor, _) => {
                builder.stack.push(Frame::Map(anchor, Vec::new(), None))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (anchor, v) = match builder.stack.pop() {
                    Some(Frame::Seq(a, items)) => (a, GoValue::Seq(items)),
                    Some(Frame::Map(a, entries, _)) => (a, GoValue::Map(entries)),
                    None => (0, GoValue::Null),
                };
                builder.decode_count += 1;
                if anchor != 0 {
                    let size = node_count(&v);
                    builder.anchors.insert(anchor, (v.clone(), size));
                }
                builder.push(v, line)?;
            }
            _ => {}
        }
    }
    Ok(builder.root.take().unwrap_or(GoValue::Null))
}

enum Frame {
    Seq(usize, Vec<GoValue>),
    /// Entries so far and a key waiting for its value.
    Map(usize, Vec<(GoValue, GoValue)>, Option<GoValue>),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    /// Anchored nodes and their node counts.
    anchors: HashMap<usize, (GoValue, usize)>,
    root: Option<GoValue>,
    /// Nodes decoded, counting alias expansions.
    decode_count: usize,
    /// Nodes that came from alias expansion.
    alias_count: usize,
}

/// go-yaml's allowed share of alias-expanded nodes: 99% for small
/// documents, falling to 10% between 400k and 4M nodes.
fn allowed_alias_ratio(decode_count: usize) -> f64 {
    const LOW: usize = 400_000;
    const HIGH: usize = 4_000_000;
    if decode_count <= LOW {
        0.99
    } else if decode_count >= HIGH {
        0.10
    } else {
        0.99 - 0.89 * ((decode_count - LOW) as f64 / (HIGH - LOW) as f64)
    }
}

fn node_count(v: &GoValue) -> usize {
    match v {
        GoValue::Seq(items) => 1 + items.iter().map(node_count).sum::<usize>(),
        GoValue::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| node_count(k) + node_count(v))
                .sum::<usize>()
        }
        _ => 1,
    }
}

impl Builder {
    fn push(&mut self, v: GoValue, line: usize) -> Result<(), YamlError> {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(v);
                }
            }
            Some(Frame::Seq(_, items)) => items.push(v),
            Some(Frame::Map(_, entries, pending)) => match pending.take() {
                None => {
                    if matches!(v, GoValue::Seq(_) | GoValue::Map(_)) {
                        return Err(YamlError::InvalidKey { line });
                    }
                    *pending = Some(v);
                }
                Some(GoValue::Merge) => merge_into(entries, v, line)?,
                Some(key) => set_entry(entries, key, v),
            },
        }
        Ok(())
    }
}

/// Sets `key` in a mapping being built, replacing an equal key as a Go map
/// assignment does.
fn set_entry(entries: &mut Vec<(GoValue, GoValue)>, key: GoValue, value: GoValue) {
    if let Some(slot) = entries.iter_mut().find(|(k, _)| go_key_eq(k, &key)) {
        slot.1 = value;
    } else {
        entries.push((key, value));
    }
}

/// go-yaml v2's `<<` handling: a mapping's entries are assigned in place;
/// for a list of mappings the last is applied first so earlier ones win.
fn merge_into(
    entries: &mut Vec<(GoValue, GoValue)>,
    v: GoValue,
    line: usize,
) -> Result<(), YamlError> {
    match v {
        GoValue::Map(m) => {
            for (k, v) in m {
                set_entry(entries, k, v);
            }
            Ok(())
        }
        GoValue::Seq(items) => {
            for item in items.into_iter().rev() {
                match item {
                    GoValue::Map(m) => {
                        for (k, v) in m {
                            set_entry(entries, k, v);
                        }
                    }
                    _ => return Err(YamlError::BadMerge { line }),
                }
            }
            Ok(())
        }
        _ => Err(YamlError::BadMerge { line }),
    }
}

fn go_key_eq(a: &GoValue, b: &GoValue) -> bool {
    match (a, b) {
        (GoValue::Null, GoValue::Null) => true,
        (GoValue::Bool(x), GoValue::Bool(y)) => x == y,
        (GoValue::Int(x), GoValue::Int(y)) => x == y,
        (GoValue::Uint(x), GoValue::Uint(y)) => x == y,
        (GoValue::Float(x), GoValue::Float(y)) => x == y,
        (GoValue::Str(x), GoValue::Str(y)) | (GoValue::BigInt(x), GoValue::BigInt(y)) => x == y,
        _ => false,
    }
}

fn core_suffix(tag: &Tag) -> Option<&str> {
    if tag.handle() == CORE || tag.handle() == "!!" {
        Some(tag.suffix())
    } else {
        None
    }
}

fn decode_scalar(
    value: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    line: usize,
) -> Result<GoValue, YamlError> {
    let resolved_to_go = |r: Resolved| match r {
        Resolved::Null => GoValue::Null,
        Resolved::Bool(b) => GoValue::Bool(b),
        Resolved::Int(i) => GoValue::Int(i),
        Resolved::Uint(u) => GoValue::Uint(u),
        Resolved::BigInt => GoValue::BigInt(value.replace('_', "")),
        Resolved::Float(f) => GoValue::Float(f),
        Resolved::Timestamp | Resolved::Str => GoValue::Str(value.to_string()),
    };
    let Some(tag) = tag else {
        return Ok(if style == ScalarStyle::Plain && value == "<<" {
            GoValue::Merge
        } else if style == ScalarStyle::Plain {
            resolved_to_go(resolve_plain(value))
        } else {
            GoValue::Str(value.to_string())
        });
    };
    let Some(suffix) = core_suffix(tag) else {
        // A local or unknown tag: go-yaml keeps the text.
        return Ok(GoValue::Str(value.to_string()));
    };
    let mismatch = |r: &str| YamlError::TagMismatch {
        line,
        value: value.to_string(),
        resolved: r.to_string(),
        tag: suffix.to_string(),
    };
    let plain_kind = |r: &Resolved| match r {
        Resolved::Null => "null",
        Resolved::Bool(_) => "bool",
        Resolved::Int(_) | Resolved::Uint(_) | Resolved::BigInt => "int",
        Resolved::Float(_) => "float",
        Resolved::Timestamp => "timestamp",
        Resolved::Str => "str",
    };
    match suffix {
        "str" => Ok(GoValue::Str(value.to_string())),
        "binary" => {
            let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map_err(|_| mismatch("str"))?;
            Ok(GoValue::Str(String::from_utf8_lossy(&bytes).into_owned()))
        }
        "merge" => Ok(GoValue::Merge),
        "null" | "bool" | "int" | "float" | "timestamp" => {
            let r = resolve_plain(value);
            let kind = plain_kind(&r);
            if kind == suffix {
                return Ok(resolved_to_go(r));
            }
            if suffix == "float" {
                match r {
                    Resolved::Int(i) => return Ok(GoValue::Float(i as f64)),
                    Resolved::Uint(u) => return Ok(GoValue::Float(u as f64)),
                    _ => {}
                }
            }
            if suffix == "timestamp" && kind == "str" {
                return Err(mismatch(kind));
            }
            Err(mismatch(kind))
        }
        // Other `!!` tags (seq, map on a scalar, custom ones) keep the text.
        _ => Ok(GoValue::Str(value.to_string())),
    }
}

/// `sigs.k8s.io/yaml`'s conversion to JSON and Go's decoding back into
/// `interface{}`.
pub(crate) fn to_json_value(v: &GoValue) -> Result<Value, YamlError> {
    Ok(match v {
        GoValue::Null => Value::Nil,
        GoValue::Bool(b) => Value::Bool(*b),
        GoValue::Int(i) => Value::Float(*i as f64),
        GoValue::Uint(u) => Value::Float(*u as f64),
        GoValue::BigInt(s) => Value::Float(s.parse::<f64>().unwrap_or(f64::INFINITY)),
        GoValue::Float(f) => {
            if !f.is_finite() {
                return Err(YamlError::UnsupportedValue(if f.is_nan() {
                    "NaN".into()
                } else if *f > 0.0 {
                    "+Inf".into()
                } else {
                    "-Inf".into()
                }));
            }
            Value::Float(*f)
        }
        GoValue::Str(s) => Value::str(s),
        GoValue::Merge => Value::str("<<"),
        GoValue::Seq(items) => {
            Value::list(items.iter().map(to_json_value).collect::<Result<_, _>>()?)
        }
        GoValue::Map(entries) => {
            let mut m = Map::new();
            for (k, v) in entries {
                let key = match k {
                    GoValue::Str(s) => s.clone(),
                    GoValue::Merge => "<<".to_string(),
                    GoValue::Int(i) => i.to_string(),
                    GoValue::Float(f) => match go_format(*f, FloatForm::G(6), true).as_str() {
                        "+Inf" => ".inf".to_string(),
                        "-Inf" => "-.inf".to_string(),
                        "NaN" => ".nan".to_string(),
                        s => s.to_string(),
                    },
                    GoValue::Bool(b) => b.to_string(),
                    other => return Err(YamlError::UnsupportedKey(format!("{other:?}"))),
                };
                m.insert(key, to_json_value(v)?);
            }
            Value::map(m)
        }
    })
}

/// `sigs.k8s.io/yaml`'s coercion of a YAML scalar decoded into a Go
/// `string` field: numbers and booleans become their text (floats with
/// float32 precision, so `1.10` becomes `"1.1"`), null is the empty string.
/// `None` for collections.
pub(crate) fn go_as_string(v: &GoValue) -> Option<String> {
    Some(match v {
        GoValue::Null => String::new(),
        GoValue::Bool(b) => b.to_string(),
        GoValue::Int(i) => i.to_string(),
        GoValue::Uint(u) => u.to_string(),
        GoValue::BigInt(s) => s.clone(),
        GoValue::Float(f) => go_format(*f, FloatForm::G(6), true),
        GoValue::Str(s) => s.clone(),
        GoValue::Merge => "<<".to_string(),
        GoValue::Seq(_) | GoValue::Map(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(s: &str) -> Value {
        from_yaml_value(s).unwrap()
    }

    #[test]
    fn yaml11_values_become_go_json_values() {
        let v = read("a: yes\nb: 0777\nc: 1.5\nd: '1'\ny: 1\n~x: 2\ne: 2001-12-14\n");
        let Value::Map(m) = v else { panic!() };
        assert_eq!(m.get("a").unwrap(), Value::Bool(true));
        assert_eq!(m.get("b").unwrap(), Value::Float(511.0));
        assert_eq!(m.get("c").unwrap(), Value::Float(1.5));
        assert_eq!(m.get("d").unwrap(), Value::str("1"));
        assert_eq!(m.get("true").unwrap(), Value::Float(1.0));
        assert_eq!(m.get("e").unwrap(), Value::str("2001-12-14"));
    }

    #[test]
    fn merge_keys_and_anchors() {
        let v = read("base: &b {x: 1, q: 2}\nd:\n  <<: *b\n  q: 3\n");
        let Value::Map(m) = v else { panic!() };
        let Value::Map(d) = &m.get("d").unwrap() else {
            panic!()
        };
        assert_eq!(d.get("x").unwrap(), Value::Float(1.0));
        assert_eq!(d.get("q").unwrap(), Value::Float(3.0));
    }

    #[test]
    fn block_scalar_at_end_of_input_has_no_line_feed() {
        let v = read("a: |\n  text");
        let Value::Map(m) = v else { panic!() };
        assert_eq!(m.get("a").unwrap(), Value::str("text"));
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            doc.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert_eq!(from_yaml_value(&doc), Err(YamlError::ExcessiveAliasing));
    }

    #[test]
    fn infinity_is_an_error() {
        assert!(from_yaml_value("a: .inf").is_err());
        assert_eq!(read(""), Value::Nil);
    }
}
