//! The intermediate tree the emitter writes: Go's dynamic values after the
//! conversions Helm's YAML functions apply to them.

use base64::Engine as _;
use trellis_template::Value;

use super::YamlError;
use super::resolve::{Resolved, go_json_float, resolve_plain};

/// A value as go-yaml sees it when marshalling `interface{}` data.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    /// A big integer, as its decimal text.
    BigInt(String),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in emission order.
    Map(Vec<(Node, Node)>),
}

/// The tree `sigs.k8s.io/yaml.Marshal` ends up emitting for `v`: the value
/// is first written as JSON by Go's `encoding/json` and read back by
/// go-yaml, so every number becomes the narrowest Go type its JSON text
/// resolves to (`1e6` becomes the integer `1000000`), byte slices become
/// base64 strings, and map keys are sorted go-yaml's way.
pub(crate) fn json_roundtrip_node(v: &Value) -> Result<Node, YamlError> {
    Ok(match v {
        Value::Nil => Node::Null,
        Value::Bool(b) => Node::Bool(*b),
        Value::Int(i) | Value::Int64(i) => Node::Int(*i),
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(YamlError::UnsupportedValue(go_float_name(*f)));
            }
            let text = go_json_float(*f);
            match resolve_plain(&text) {
                Resolved::Int(i) => Node::Int(i),
                Resolved::Uint(u) => Node::Uint(u),
                Resolved::Float(f) => Node::Float(f),
                _ => Node::BigInt(text),
            }
        }
        Value::Str(s) => Node::Str(json_string_roundtrip(s)?),
        Value::Bytes(b) => Node::Str(base64::engine::general_purpose::STANDARD.encode(b)),
        Value::List(items) => Node::Seq(
            items
                .iter()
                .map(json_roundtrip_node)
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(m) => {
            let guard = m.read();
            let mut entries = Vec::with_capacity(guard.len());
            for (k, v) in guard.iter() {
                entries.push((json_string_roundtrip(k)?, json_roundtrip_node(v)?));
            }
            sorted_entries(entries)
        }
        Value::Object(o) => return Err(YamlError::UnsupportedType(o.type_name().to_string())),
        Value::Func(_) => return Err(YamlError::UnsupportedType("func".into())),
    })
}

/// The tree go-yaml v3 emits for `v` directly (Helm's `toYamlPretty`),
/// without the JSON round trip: floats stay floats.
pub(crate) fn direct_node(v: &Value) -> Result<Node, YamlError> {
    Ok(match v {
        Value::Nil => Node::Null,
        Value::Bool(b) => Node::Bool(*b),
        Value::Int(i) | Value::Int64(i) => Node::Int(*i),
        Value::Float(f) => Node::Float(*f),
        Value::Str(s) => Node::Str(s.to_string()),
        Value::Bytes(b) => Node::Str(String::from_utf8_lossy(b).into_owned()),
        Value::List(items) => Node::Seq(items.iter().map(direct_node).collect::<Result<_, _>>()?),
        Value::Map(m) => {
            let guard = m.read();
            let mut entries = Vec::with_capacity(guard.len());
            for (k, v) in guard.iter() {
                entries.push((k.to_string(), direct_node(v)?));
            }
            sorted_entries(entries)
        }
        Value::Object(o) => return Err(YamlError::UnsupportedType(o.type_name().to_string())),
        Value::Func(_) => return Err(YamlError::UnsupportedType("func".into())),
    })
}

fn go_float_name(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f > 0.0 {
        "+Inf".into()
    } else {
        "-Inf".into()
    }
}

fn sorted_entries(mut entries: Vec<(String, Node)>) -> Node {
    // Without digits, `key_less` is a total order (letters after other
    // characters, then by code point), so input that is already in order
    // (the usual case: a map's keys come sorted bytewise) stays as it is.
    let total = entries
        .iter()
        .all(|(k, _)| !k.bytes().any(|b| b.is_ascii_digit()));
    let sorted = total && entries.windows(2).all(|w| !key_less(&w[1].0, &w[0].0));
    if !sorted {
        merge_sort(&mut entries, &|a: &(String, Node), b: &(String, Node)| {
            key_less(&a.0, &b.0)
        });
    }
    Node::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Node::Str(k), v))
            .collect(),
    )
}

/// What a string becomes after Go's `encoding/json` wrote it and go-yaml
/// read the JSON back. JSON escapes C0 controls, quotes, backslashes and
/// U+2028/U+2029 but writes every other character raw; go-yaml's reader
/// then rejects raw DEL, C1 controls and U+FFFE/U+FFFF, and folds a raw
/// NEL (a YAML 1.1 line break) inside the double-quoted scalar like any
/// line break: blanks around it vanish, one break becomes a space.
fn json_string_roundtrip(s: &str) -> Result<String, YamlError> {
    if let Some(c) = s.chars().find(|&c| {
        c == '\u{7F}'
            || (('\u{80}'..='\u{9F}').contains(&c) && c != '\u{85}')
            || c == '\u{FFFE}'
            || c == '\u{FFFF}'
    }) {
        return Err(YamlError::ControlCharacter(c as u32));
    }
    if !s.contains('\u{85}') {
        return Ok(s.to_string());
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != ' ' && c != '\u{85}' {
            out.push(c);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i] == ' ' || chars[i] == '\u{85}') {
            i += 1;
        }
        let run = &chars[start..i];
        let breaks = run.iter().filter(|&&c| c == '\u{85}').count();
        if breaks == 0 {
            out.extend(run);
        } else if breaks == 1 {
            out.push(' ');
        } else {
            for _ in 1..breaks {
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// A stable merge sort driven by a `less` predicate. go-yaml's key order is
/// not guaranteed to be a total order for every input, so the standard
/// library's sorts (which may panic on inconsistent orders) are avoided.
pub(crate) fn merge_sort<T, F: Fn(&T, &T) -> bool>(v: &mut Vec<T>, less: &F) {
    if v.len() <= 1 {
        return;
    }
    let right_half = v.split_off(v.len() / 2);
    let mut left = std::mem::take(v);
    let mut right = right_half;
    merge_sort(&mut left, less);
    merge_sort(&mut right, less);
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut l = left.into_iter().peekable();
    let mut r = right.into_iter().peekable();
    loop {
        match (l.peek(), r.peek()) {
            (Some(a), Some(b)) => {
                if less(b, a) {
                    out.extend(r.next());
                } else {
                    out.extend(l.next());
                }
            }
            (Some(_), None) => out.extend(l.next()),
            (None, Some(_)) => out.extend(r.next()),
            (None, None) => break,
        }
    }
    *v = out;
}

/// go-yaml's map key order for string keys: letters sort after other
/// characters, and runs of digits compare by numeric value, so `a2` comes
/// before `a10`.
pub(crate) fn key_less(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        // One byte per character: no decoding needed.
        key_less_in(a.as_bytes(), b.as_bytes())
    } else {
        let ar: Vec<char> = a.chars().collect();
        let br: Vec<char> = b.chars().collect();
        key_less_in(&ar, &br)
    }
}

/// A character of a key, as [`key_less`] looks at it.
trait KeyChar: Copy + PartialOrd {
    fn alphabetic(self) -> bool;
    /// The value of an ASCII digit.
    fn digit(self) -> Option<i64>;
}

impl KeyChar for u8 {
    fn alphabetic(self) -> bool {
        self.is_ascii_alphabetic()
    }
    fn digit(self) -> Option<i64> {
        self.is_ascii_digit().then(|| i64::from(self - b'0'))
    }
}

impl KeyChar for char {
    fn alphabetic(self) -> bool {
        self.is_alphabetic()
    }
    fn digit(self) -> Option<i64> {
        self.is_ascii_digit().then(|| self as i64 - '0' as i64)
    }
}

fn key_less_in<C: KeyChar>(ar: &[C], br: &[C]) -> bool {
    let zero = |c: C| c.digit() == Some(0);
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let al = ar[i].alphabetic();
        let bl = br[i].alphabetic();
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return bl;
        }
        let mut an: i64 = 0;
        let mut bn: i64 = 0;
        if zero(ar[i]) || zero(br[i]) {
            let mut j = i;
            while j > 0 && ar[j - 1].digit().is_some() {
                j -= 1;
                if !zero(ar[j]) {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while let Some(d) = ar.get(ai).and_then(|c| c.digit()) {
            an = an.wrapping_mul(10).wrapping_add(d);
            ai += 1;
        }
        let mut bi = i;
        while let Some(d) = br.get(bi).and_then(|c| c.digit()) {
            bn = bn.wrapping_mul(10).wrapping_add(d);
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_key_order() {
        let mut keys = vec!["b", "a10", "a2", "A", "_x", "1", "a"];
        merge_sort(&mut keys, &|a: &&str, b: &&str| key_less(a, b));
        assert_eq!(keys, vec!["_x", "1", "A", "a", "a2", "a10", "b"]);
        let mut wide = vec!["é2", "é10", "b", "_é"];
        merge_sort(&mut wide, &|a: &&str, b: &&str| key_less(a, b));
        assert_eq!(wide, vec!["_é", "b", "é2", "é10"]);
        assert!(key_less("a01", "a1") != key_less("a1", "a01") || !key_less("a1", "a01"));
    }
}
