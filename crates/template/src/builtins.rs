//! Go's predefined template functions (`and`, `eq`, `index`, `printf`, ...).

use std::fmt::Write as _;
use std::sync::Arc;

use crate::funcs::{FuncError, FuncMap, Function, Sig, Special, Ty};
use crate::gofmt;
use crate::value::Value;

/// The builtin function set every [`Templates`](crate::Templates) starts with.
pub(crate) fn builtins() -> FuncMap {
    let mut m = FuncMap::new();
    let any1 = || Sig::fixed(&[Ty::Any]);
    let any2 = || Sig::fixed(&[Ty::Any, Ty::Any]);
    let var1 = || Sig::variadic(&[Ty::Any], Ty::Any);
    let var0 = || Sig::variadic(&[], Ty::Any);

    for name in ["and", "or"] {
        let want = name == "or";
        // Templates short-circuit these; the body serves calls from outside.
        let f = Function::with_special(
            var1(),
            move |_: &mut crate::CallContext<'_>, a: &[Value]| {
                let mut last = Value::Nil;
                for v in a {
                    if v.truthy() == want {
                        return Ok(v.clone());
                    }
                    last = v.clone();
                }
                Ok(last)
            },
            Special::AndOr,
        );
        m.insert(name, f);
    }
    m.add("not", any1(), |a| Ok(Value::Bool(!a[0].truthy())));
    m.insert(
        "len",
        Function::with_special(
            any1(),
            |_: &mut crate::CallContext<'_>, a: &[Value]| length(&a[0]).map(Value::Int),
            Special::Len,
        ),
    );
    m.add("index", var1(), |a| index(&a[0], &a[1..]));
    m.add("slice", var1(), |a| slice(&a[0], &a[1..]));
    m.add("print", var0(), |a| Ok(Value::from(gofmt::sprint(a))));
    m.add("println", var0(), |a| Ok(Value::from(gofmt::sprintln(a))));
    m.add("printf", Sig::variadic(&[Ty::Str], Ty::Any), |a| {
        Ok(Value::from(gofmt::sprintf(
            a[0].as_str().unwrap_or_default(),
            &a[1..],
        )))
    });
    m.add("html", var0(), |a| {
        Ok(Value::from(html_escape(&eval_args(a))))
    });
    m.add("js", var0(), |a| Ok(Value::from(js_escape(&eval_args(a)))));
    m.add("urlquery", var0(), |a| {
        Ok(Value::from(query_escape(&eval_args(a))))
    });
    let call = Function::with_special(
        var1(),
        |ctx: &mut crate::CallContext<'_>, a: &[Value]| match &a[0] {
            Value::Func(f) => {
                let set = ctx.templates().clone();
                f.call_plain(&set, "fn", &a[1..])
            }
            Value::Nil => Err("call of nil".into()),
            other => Err(FuncError::Call(format!(
                "non-function {} of type {}",
                other.to_go_string(),
                other.type_name()
            ))),
        },
        Special::Call,
    );
    m.insert("call", call);
    m.add("eq", var1(), |a| eq(&a[0], &a[1..]).map(Value::Bool));
    m.add("ne", any2(), |a| {
        eq(&a[0], &a[1..]).map(|b| Value::Bool(!b))
    });
    m.add("lt", any2(), |a| lt(&a[0], &a[1]).map(Value::Bool));
    m.add("le", any2(), |a| le(&a[0], &a[1]).map(Value::Bool));
    m.add("gt", any2(), |a| le(&a[0], &a[1]).map(|b| Value::Bool(!b)));
    m.add("ge", any2(), |a| lt(&a[0], &a[1]).map(|b| Value::Bool(!b)));
    m
}

pub(crate) fn length(v: &Value) -> Result<i64, FuncError> {
    Ok(match v {
        Value::Nil => return Err("len of untyped nil".into()),
        Value::Str(s) => s.len() as i64,
        Value::Bytes(b) => b.len() as i64,
        Value::List(l) => l.len() as i64,
        Value::Map(m) => m.len() as i64,
        other => return Err(format!("len of type {}", other.type_name()).into()),
    })
}

fn index_arg(i: &Value, cap: usize, slicing: bool) -> Result<usize, FuncError> {
    let x = match i {
        Value::Int(x) | Value::Int64(x) => *x,
        Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!("cannot index slice/array with type {}", other.type_name()).into());
        }
    };
    let out_of_range = if slicing {
        x < 0 || x as u64 > cap as u64
    } else {
        x < 0 || x as u64 >= cap as u64
    };
    if out_of_range {
        return Err(format!("index out of range: {x}").into());
    }
    Ok(x as usize)
}

fn index(item: &Value, idx: &[Value]) -> Result<Value, FuncError> {
    if item.is_nil() {
        return Err("index of untyped nil".into());
    }
    let mut cur = item.clone();
    for (n, i) in idx.iter().enumerate() {
        cur = match &cur {
            Value::Nil if n > 0 => return Err("index of nil pointer".into()),
            Value::List(l) => l[index_arg(i, l.len(), false)?].clone(),
            Value::Str(s) => Value::Int(i64::from(s.as_bytes()[index_arg(i, s.len(), false)?])),
            Value::Bytes(b) => Value::Int(i64::from(b[index_arg(i, b.len(), false)?])),
            Value::Map(m) => match i {
                Value::Str(k) => m.get(k).unwrap_or(Value::Nil),
                Value::Nil => Value::Nil,
                other => {
                    return Err(
                        format!("value has type {}; should be string", other.type_name()).into(),
                    );
                }
            },
            other => return Err(format!("can't index item of type {}", other.type_name()).into()),
        };
    }
    Ok(cur)
}

fn slice(item: &Value, idx: &[Value]) -> Result<Value, FuncError> {
    if item.is_nil() {
        return Err("slice of untyped nil".into());
    }
    if idx.len() > 3 {
        return Err(format!("too many slice indexes: {}", idx.len()).into());
    }
    let len = match item {
        Value::Str(s) => {
            if idx.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::List(l) => l.len(),
        Value::Bytes(b) => b.len(),
        other => return Err(format!("can't slice item of type {}", other.type_name()).into()),
    };
    let mut ix = [0usize, len, len];
    for (k, i) in idx.iter().enumerate() {
        ix[k] = index_arg(i, len, true)?;
    }
    if ix[0] > ix[1] {
        return Err(format!("invalid slice index: {} > {}", ix[0], ix[1]).into());
    }
    if idx.len() == 3 && ix[1] > ix[2] {
        return Err(format!("invalid slice index: {} > {}", ix[1], ix[2]).into());
    }
    Ok(match item {
        Value::Str(s) => match s.get(ix[0]..ix[1]) {
            Some(sub) => Value::str(sub),
            None => Value::from(String::from_utf8_lossy(&s.as_bytes()[ix[0]..ix[1]]).into_owned()),
        },
        Value::List(l) => Value::list(l[ix[0]..ix[1]].to_vec()),
        Value::Bytes(b) => Value::Bytes(Arc::from(&b[ix[0]..ix[1]])),
        _ => Value::Nil,
    })
}

/// Go's `evalArgs` for the escapers: a lone string as is, else `fmt.Sprint`.
fn eval_args(a: &[Value]) -> String {
    if let [Value::Str(s)] = a {
        return s.to_string();
    }
    gofmt::sprint(a)
}

/// Go's `template.HTMLEscapeString`.
pub fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => o.push_str("&#34;"),
            '\'' => o.push_str("&#39;"),
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '\0' => o.push('\u{FFFD}'),
            c => o.push(c),
        }
    }
    o
}

/// Go's `template.JSEscapeString`.
pub fn js_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '\'' => o.push_str("\\'"),
            '"' => o.push_str("\\\""),
            '<' => o.push_str("\\u003C"),
            '>' => o.push_str("\\u003E"),
            '&' => o.push_str("\\u0026"),
            '=' => o.push_str("\\u003D"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04X}", c as u32);
            }
            c if c.is_ascii() => o.push(c),
            c if !c.is_control() && !c.is_whitespace() || c == ' ' => o.push(c),
            c => {
                let _ = write!(o, "\\u{:04X}", c as u32);
            }
        }
    }
    o
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                o.push(b as char)
            }
            b' ' => o.push('+'),
            b => {
                let _ = write!(o, "%{b:02X}");
            }
        }
    }
    o
}

#[derive(PartialEq, Clone, Copy)]
enum Kind {
    Bool,
    Int,
    Float,
    Str,
    Invalid,
    Other,
}

fn basic_kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::Str(_) => Kind::Str,
        Value::Nil => Kind::Invalid,
        _ => Kind::Other,
    }
}

const BAD_COMPARISON: &str = "incompatible types for comparison";

fn incompatible(a: &Value, b: &Value) -> FuncError {
    FuncError::Call(format!(
        "{BAD_COMPARISON}: {} and {}",
        a.type_name(),
        b.type_name()
    ))
}
const BAD_COMPARISON_TYPE: &str = "invalid type for comparison";

/// Go's `eq`: true when `a` equals any of `rest`.
pub(crate) fn eq(a: &Value, rest: &[Value]) -> Result<bool, FuncError> {
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic_kind(a);
    for b in rest {
        let k2 = basic_kind(b);
        let truth = if k1 != k2 {
            if !a.is_nil() && !b.is_nil() {
                return Err(incompatible(a, b));
            }
            false
        } else {
            match (a, b) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::Str(x), Value::Str(y)) => x == y,
                _ if k1 == Kind::Int => a.as_int() == b.as_int(),
                (Value::Nil, Value::Nil) => true,
                (Value::Object(x), Value::Object(y)) => Arc::ptr_eq(x, y),
                (Value::List(_) | Value::Map(_) | Value::Bytes(_) | Value::Func(_), _) => {
                    return Err(format!(
                        "non-comparable type {}: {}",
                        a.to_go_string(),
                        a.type_name()
                    )
                    .into());
                }
                (_, Value::List(_) | Value::Map(_) | Value::Bytes(_) | Value::Func(_)) => {
                    return Err(format!(
                        "non-comparable type {}: {}",
                        b.to_go_string(),
                        b.type_name()
                    )
                    .into());
                }
                _ => return Err(BAD_COMPARISON.into()),
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Go's `lt`.
pub(crate) fn lt(a: &Value, b: &Value) -> Result<bool, FuncError> {
    let k1 = basic_kind(a);
    if matches!(k1, Kind::Invalid | Kind::Other) {
        return Err(BAD_COMPARISON_TYPE.into());
    }
    let k2 = basic_kind(b);
    if matches!(k2, Kind::Invalid | Kind::Other) {
        return Err(BAD_COMPARISON_TYPE.into());
    }
    if k1 != k2 {
        return Err(incompatible(a, b));
    }
    Ok(match (a, b) {
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::Str(x), Value::Str(y)) => x < y,
        _ if k1 == Kind::Int => a.as_int() < b.as_int(),
        _ => return Err(BAD_COMPARISON_TYPE.into()),
    })
}

fn le(a: &Value, b: &Value) -> Result<bool, FuncError> {
    if lt(a, b)? {
        return Ok(true);
    }
    eq(a, std::slice::from_ref(b))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn escapers() {
        assert_eq!(
            html_escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&#34;x&#34;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(
            js_escape("a'b\"<=>\n"),
            "a\\'b\\\"\\u003C\\u003D\\u003E\\u000A"
        );
        assert_eq!(query_escape("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    fn comparisons() {
        assert_eq!(eq(&Value::Int(1), &[Value::Int64(1)]), Ok(true));
        assert_eq!(
            eq(&Value::Int(1), &[Value::str("1")]),
            Err(FuncError::Call(
                "incompatible types for comparison: int and string".into()
            ))
        );
        assert_eq!(eq(&Value::Nil, &[Value::str("1")]), Ok(false));
        assert_eq!(
            lt(&Value::Bool(true), &Value::Bool(false)),
            Err(FuncError::Call(BAD_COMPARISON_TYPE.into()))
        );
        assert_eq!(lt(&Value::str("a"), &Value::str("b")), Ok(true));
    }
}
