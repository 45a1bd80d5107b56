//! Type conversion and reflection: `toString`, `int`, `float64`, `empty`,
//! `default`, `typeOf`, ... with the `spf13/cast` rules Sprig relies on.

use super::{s, sig, sig_var, strs};
use crate::funcs::{FuncError, FuncMap, Ty};
use crate::value::Value;

/// Sprig's `strval`: strings as is, everything else through `%v`.
pub fn strval(v: &Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        other => other.to_go_string(),
    }
}

/// Sprig's `strslice`: a list's elements as strings (nils dropped), a lone
/// value as a one-element list, nil as an empty list.
pub(crate) fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l.iter().filter(|x| !x.is_nil()).map(strval).collect(),
        Value::Bytes(b) => b.iter().map(|x| x.to_string()).collect(),
        Value::Nil => Vec::new(),
        other => vec![strval(other)],
    }
}

/// `strconv.ParseInt(s, 0, 64)`: base prefixes, underscores only after one.
fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_string(), true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_string(), true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_string(), true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string(), true)
    } else {
        (10, lower.clone(), false)
    };
    // Base-0 parsing accepts underscores between digits (Go literal syntax).
    if digits.starts_with('_') || digits.ends_with('_') || digits.contains("__") {
        return None;
    }
    let _ = prefixed;
    let digits: String = digits.chars().filter(|c| *c != '_').collect();
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let u = u64::from_str_radix(&digits, radix).ok()?;
    if neg {
        if u <= i64::MAX as u64 + 1 {
            Some((u as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else {
        i64::try_from(u).ok()
    }
}

/// cast's `trimZeroDecimal`: "12.000" reads as "12".
fn trim_zero_decimal(s: &str) -> &str {
    if let Some((int, frac)) = s.split_once('.')
        && !frac.is_empty()
        && frac.bytes().all(|b| b == b'0')
    {
        return int;
    }
    s
}

/// `cast.ToInt64`: numbers truncated, strings parsed (0 when invalid),
/// booleans 1/0, anything else 0.
pub fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::Str(s) => parse_go_int(trim_zero_decimal(s)).unwrap_or(0),
        _ => 0,
    }
}

/// `cast.ToFloat64`.
pub fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Str(s) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Sprig's `empty`: nil, zero numbers, false, and empty strings/lists/maps.
pub fn is_empty(v: &Value) -> bool {
    match v {
        Value::Nil => true,
        Value::Bool(b) => !b,
        Value::Int(i) | Value::Int64(i) => *i == 0,
        Value::Float(f) => *f == 0.0,
        Value::Str(s) => s.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
        Value::Object(o) => !o.truthy(),
        Value::Func(_) => false,
    }
}

/// Go's `json.Unmarshal` into `interface{}`: numbers become float64.
pub(crate) fn from_json_value(j: &serde_json::Value) -> Value {
    match j {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) => Value::str(s),
        serde_json::Value::Array(a) => Value::list(a.iter().map(from_json_value).collect()),
        serde_json::Value::Object(o) => Value::map(
            o.iter()
                .map(|(k, v)| (k.clone(), from_json_value(v)))
                .collect(),
        ),
    }
}

fn from_json(text: &str) -> Result<Value, String> {
    serde_json::from_str::<serde_json::Value>(text)
        .map(|j| from_json_value(&j))
        .map_err(|e| e.to_string())
}

pub(super) fn register(m: &mut FuncMap) {
    // Sprig returns a map holding the error under "Error" (the text is
    // serde_json's, not Go's).
    m.add("fromJson", sig(&[Ty::Str]), |a| {
        Ok(from_json(s(&a[0])).unwrap_or_else(|e| {
            let mut m = crate::value::Map::new();
            m.insert("Error".into(), Value::from(e));
            Value::map(m)
        }))
    });
    m.add("mustFromJson", sig(&[Ty::Str]), |a| {
        from_json(s(&a[0])).map_err(FuncError::Call)
    });
    m.add("toString", sig(&[Ty::Any]), |a| {
        Ok(Value::from(strval(&a[0])))
    });
    m.add("toStrings", sig(&[Ty::Any]), |a| Ok(strs(strslice(&a[0]))));
    m.add("atoi", sig(&[Ty::Str]), |a| {
        Ok(Value::Int(s(&a[0]).parse::<i64>().unwrap_or(0)))
    });
    m.add("int", sig(&[Ty::Any]), |a| Ok(Value::Int(to_int64(&a[0]))));
    m.add("int64", sig(&[Ty::Any]), |a| {
        Ok(Value::Int64(to_int64(&a[0])))
    });
    m.add("float64", sig(&[Ty::Any]), |a| {
        Ok(Value::Float(to_float64(&a[0])))
    });
    m.add("toDecimal", sig(&[Ty::Any]), |a| {
        let v = i64::from_str_radix(&strval(&a[0]), 8).unwrap_or(0);
        Ok(Value::Int64(v))
    });
    m.add("default", sig_var(&[Ty::Any], Ty::Any), |a| {
        let given = a.get(1);
        Ok(match given {
            Some(g) if !is_empty(g) => g.clone(),
            _ => a[0].clone(),
        })
    });
    m.add("empty", sig(&[Ty::Any]), |a| {
        Ok(Value::Bool(is_empty(&a[0])))
    });
    m.add("coalesce", sig_var(&[], Ty::Any), |a| {
        Ok(a.iter()
            .find(|v| !is_empty(v))
            .cloned()
            .unwrap_or(Value::Nil))
    });
    m.add("all", sig_var(&[], Ty::Any), |a| {
        Ok(Value::Bool(a.iter().all(|v| !is_empty(v))))
    });
    m.add("any", sig_var(&[], Ty::Any), |a| {
        Ok(Value::Bool(a.iter().any(|v| !is_empty(v))))
    });
    m.add("ternary", sig(&[Ty::Any, Ty::Any, Ty::Bool]), |a| {
        Ok(if matches!(a[2], Value::Bool(true)) {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    m.add("fail", sig(&[Ty::Str]), |a| {
        Err(FuncError::Call(s(&a[0]).to_string()))
    });
    m.add("typeOf", sig(&[Ty::Any]), |a| {
        Ok(Value::str(a[0].type_name()))
    });
    m.add("kindOf", sig(&[Ty::Any]), |a| {
        Ok(Value::str(a[0].kind_name()))
    });
    m.add("typeIs", sig(&[Ty::Str, Ty::Any]), |a| {
        Ok(Value::Bool(s(&a[0]) == a[1].type_name()))
    });
    m.add("typeIsLike", sig(&[Ty::Str, Ty::Any]), |a| {
        let t = a[1].type_name();
        let target = s(&a[0]);
        Ok(Value::Bool(target == t || target == format!("*{t}")))
    });
    m.add("kindIs", sig(&[Ty::Str, Ty::Any]), |a| {
        Ok(Value::Bool(s(&a[0]) == a[1].kind_name()))
    });
    m.add("deepEqual", sig(&[Ty::Any, Ty::Any]), |a| {
        Ok(Value::Bool(a[0] == a[1]))
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn cast_rules() {
        assert_eq!(to_int64(&Value::str("0x10")), 16);
        assert_eq!(to_int64(&Value::str("12.00")), 12);
        assert_eq!(to_int64(&Value::str("1.5")), 0);
        assert_eq!(to_int64(&Value::str("010")), 8);
        assert_eq!(to_int64(&Value::Float(-2.9)), -2);
        assert_eq!(to_float64(&Value::str("x")), 0.0);
    }
}
