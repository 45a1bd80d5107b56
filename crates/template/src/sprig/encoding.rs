//! Encodings and digests: base64/base32, sha1/sha256/adler32, and JSON as
//! Go's `encoding/json` writes it (sorted keys, HTML-safe escapes, Go's
//! float formatting).

use std::fmt::Write as _;

use base64::Engine as _;
use sha1::Digest as _;

use super::{s, sig};
use crate::funcs::{FuncMap, Ty};
use crate::value::Value;

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn b32enc(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = buf.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let n = (chunk.len() * 8).div_ceil(5);
        for k in 0..8 {
            if k < n {
                out.push(B32[((bits >> (35 - k * 5)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b32dec(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut bits = 0u64;
    let mut nbits = 0;
    let mut out = Vec::new();
    for c in s.bytes() {
        let v = B32.iter().position(|x| *x == c)? as u64;
        bits = (bits << 5) | v;
        nbits += 5;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    Some(out)
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Go's JSON encoding of a float64.
fn json_float(f: f64) -> Option<String> {
    if !f.is_finite() {
        return None;
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Exponent form, with Go's "e-07" cleaned to "e-7".
        let s = format!("{f:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        let sign = if e < 0 { '-' } else { '+' };
        return Some(
            format!("{m}e{sign}{:02}", e.abs())
                .replace("e-0", "e-")
                .replace("e+0", "e+"),
        );
    }
    // Shortest digits in plain decimal notation.
    Some(crate::gofmt::format_g(f, None)).map(|g| {
        if g.contains('e') {
            let d = f.to_string();
            d.strip_suffix(".0").map(str::to_string).unwrap_or(d)
        } else {
            g
        }
    })
}

fn json_string(out: &mut String, s: &str, html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if html => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes `v` as Go's `json.Marshal` (or `MarshalIndent` with `indent`) would.
pub(crate) fn to_json(
    out: &mut String,
    v: &Value,
    html: bool,
    indent: Option<&str>,
    level: usize,
) -> Result<(), String> {
    let nl = |out: &mut String, level: usize| {
        if let Some(ind) = indent {
            out.push('\n');
            for _ in 0..level {
                out.push_str(ind);
            }
        }
    };
    if level > 200 {
        return Err("json: unsupported value: encountered a cycle".into());
    }
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => match json_float(*f) {
            Some(s) => out.push_str(&s),
            None => {
                return Err(format!(
                    "json: unsupported value: {}",
                    crate::gofmt::format_g(*f, None)
                ));
            }
        },
        Value::Str(s) => json_string(out, s, html),
        Value::Bytes(b) => {
            let e = base64::engine::general_purpose::STANDARD.encode(b);
            json_string(out, &e, html);
        }
        Value::List(l) => {
            out.push('[');
            for (k, x) in l.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                nl(out, level + 1);
                to_json(out, x, html, indent, level + 1)?;
            }
            if !l.is_empty() {
                nl(out, level);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            let m = m.snapshot();
            for (k, (key, x)) in m.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                nl(out, level + 1);
                json_string(out, key, html);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                to_json(out, x, html, indent, level + 1)?;
            }
            if !m.is_empty() {
                nl(out, level);
            }
            out.push('}');
        }
        Value::Object(_) => out.push_str("{}"),
        Value::Func(_) => return Err("json: unsupported type: func".into()),
    }
    Ok(())
}

fn json_fn(
    html: bool,
    indent: Option<&'static str>,
    must: bool,
) -> impl Fn(&[Value]) -> Result<Value, crate::FuncError> {
    move |a: &[Value]| {
        let mut out = String::new();
        match to_json(&mut out, &a[0], html, indent, 0) {
            Ok(()) => Ok(Value::from(out)),
            Err(e) if must => Err(e.into()),
            Err(_) => Ok(Value::str("")),
        }
    }
}

pub(super) fn register(m: &mut FuncMap) {
    let s1 = || sig(&[Ty::Str]);
    m.add("b64enc", s1(), |a| {
        Ok(Value::from(
            base64::engine::general_purpose::STANDARD.encode(s(&a[0])),
        ))
    });
    m.add("b64dec", s1(), |a| {
        Ok(
            match base64::engine::general_purpose::STANDARD.decode(s(&a[0])) {
                Ok(b) => Value::from(String::from_utf8_lossy(&b).into_owned()),
                Err(e) => Value::from(e.to_string()),
            },
        )
    });
    m.add("b32enc", s1(), |a| {
        Ok(Value::from(b32enc(s(&a[0]).as_bytes())))
    });
    m.add("b32dec", s1(), |a| {
        Ok(match b32dec(s(&a[0])) {
            Some(b) => Value::from(String::from_utf8_lossy(&b).into_owned()),
            None => Value::str("illegal base32 data"),
        })
    });
    m.add("sha256sum", s1(), |a| {
        Ok(Value::from(hex(&sha2::Sha256::digest(s(&a[0]).as_bytes()))))
    });
    m.add("sha1sum", s1(), |a| {
        Ok(Value::from(hex(&sha1::Sha1::digest(s(&a[0]).as_bytes()))))
    });
    m.add("adler32sum", s1(), |a| {
        Ok(Value::from(adler32(s(&a[0]).as_bytes()).to_string()))
    });
    m.add("toJson", sig(&[Ty::Any]), json_fn(true, None, false));
    m.add("mustToJson", sig(&[Ty::Any]), json_fn(true, None, true));
    m.add(
        "toPrettyJson",
        sig(&[Ty::Any]),
        json_fn(true, Some("  "), false),
    );
    m.add(
        "mustToPrettyJson",
        sig(&[Ty::Any]),
        json_fn(true, Some("  "), true),
    );
    m.add("toRawJson", sig(&[Ty::Any]), json_fn(false, None, false));
    m.add("mustToRawJson", sig(&[Ty::Any]), json_fn(false, None, true));
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn base32_and_adler() {
        assert_eq!(b32enc(b"hi"), "NBUQ====");
        assert_eq!(b32dec("NBUQ====").unwrap(), b"hi");
        assert_eq!(adler32(b"hello"), 103547413);
    }

    #[test]
    fn json_floats() {
        assert_eq!(json_float(1e21).unwrap(), "1e+21");
        assert_eq!(json_float(1e20).unwrap(), "100000000000000000000");
        assert_eq!(json_float(0.0000001).unwrap(), "1e-7");
        assert_eq!(json_float(1.5).unwrap(), "1.5");
        assert_eq!(json_float(3.0).unwrap(), "3");
    }
}
