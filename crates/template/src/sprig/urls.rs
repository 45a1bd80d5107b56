//! `urlParse` and `urlJoin`, following Go's `net/url` for the common forms
//! `scheme://user:pass@host:port/path?query#fragment` and `scheme:opaque`.

use std::fmt::Write as _;

use super::{panic_err, s, sig};
use crate::funcs::{FuncMap, Ty};
use crate::value::{Map, Value};

fn unescape(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .ok_or_else(|| format!("invalid URL escape {}", crate::gofmt::quote(&s[i..])))?;
            let v = u8::from_str_radix(hex, 16)
                .map_err(|_| format!("invalid URL escape {}", crate::gofmt::quote(&s[i..i + 3])))?;
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `shouldEscape` for paths (`fragment` additionally allows `!()*?`).
fn escape(s: &str, fragment: bool) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'_'
                    | b'.'
                    | b'~'
                    | b'$'
                    | b'&'
                    | b'+'
                    | b','
                    | b'/'
                    | b':'
                    | b';'
                    | b'='
                    | b'@'
            )
            || fragment && matches!(b, b'!' | b'(' | b')' | b'*' | b'?');
        if keep {
            o.push(b as char);
        } else {
            let _ = write!(o, "%{b:02X}");
        }
    }
    o
}

struct Url {
    scheme: String,
    opaque: String,
    userinfo: String,
    host: String,
    path: String,
    query: String,
    fragment: String,
}

fn parse(raw: &str) -> Result<Url, String> {
    let (rest, fragment) = match raw.split_once('#') {
        Some((r, f)) => (r, unescape(f)?),
        None => (raw, String::new()),
    };
    let mut u = Url {
        scheme: String::new(),
        opaque: String::new(),
        userinfo: String::new(),
        host: String::new(),
        path: String::new(),
        query: String::new(),
        fragment,
    };
    let mut rest = rest;
    // A scheme is letters, then letters/digits/+-. up to a colon.
    if let Some(k) = rest.find(':') {
        let cand = &rest[..k];
        let valid = cand.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && cand
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if valid {
            u.scheme = cand.to_ascii_lowercase();
            rest = &rest[k + 1..];
        } else if k == 0 {
            return Err("missing protocol scheme".into());
        }
    }
    if let Some((r, q)) = rest.split_once('?') {
        u.query = q.to_string();
        rest = r;
    }
    if !rest.starts_with('/') && !u.scheme.is_empty() {
        u.opaque = rest.to_string();
        return Ok(u);
    }
    if let Some(auth_rest) = rest.strip_prefix("//") {
        let (auth, path) = match auth_rest.find('/') {
            Some(k) => (&auth_rest[..k], &auth_rest[k..]),
            None => (auth_rest, ""),
        };
        let host = match auth.rfind('@') {
            Some(k) => {
                u.userinfo = auth[..k].to_string();
                &auth[k + 1..]
            }
            None => auth,
        };
        u.host = unescape(host)?;
        rest = path;
    }
    u.path = unescape(rest)?;
    Ok(u)
}

fn hostname(host: &str) -> String {
    if let Some(h) = host.strip_prefix('[') {
        return h.split(']').next().unwrap_or_default().to_string();
    }
    match host.rfind(':') {
        Some(k) if host[k + 1..].bytes().all(|b| b.is_ascii_digit()) => host[..k].to_string(),
        _ => host.to_string(),
    }
}

/// Go's `URL.String`.
fn join(u: &Url) -> String {
    let mut o = String::new();
    if !u.scheme.is_empty() {
        o.push_str(&u.scheme);
        o.push(':');
    }
    if !u.opaque.is_empty() {
        o.push_str(&u.opaque);
    } else {
        if !u.scheme.is_empty() || !u.host.is_empty() || !u.userinfo.is_empty() {
            if !u.host.is_empty() || !u.path.is_empty() || !u.userinfo.is_empty() {
                o.push_str("//");
            }
            if !u.userinfo.is_empty() {
                o.push_str(&u.userinfo);
                o.push('@');
            }
            o.push_str(&u.host);
        }
        let p = escape(&u.path, false);
        if !p.is_empty() && !p.starts_with('/') && !u.host.is_empty() {
            o.push('/');
        }
        o.push_str(&p);
    }
    if !u.query.is_empty() {
        o.push('?');
        o.push_str(&u.query);
    }
    if !u.fragment.is_empty() {
        o.push('#');
        o.push_str(&escape(&u.fragment, true));
    }
    o
}

pub(super) fn register(m: &mut FuncMap) {
    m.add("urlParse", sig(&[Ty::Str]), |a| {
        let u = parse(s(&a[0])).map_err(|e| {
            panic_err(format!(
                "unable to parse url: parse {}: {e}",
                crate::gofmt::quote(s(&a[0]))
            ))
        })?;
        let mut d = Map::new();
        d.insert("scheme".into(), Value::from(u.scheme.clone()));
        d.insert("hostname".into(), Value::from(hostname(&u.host)));
        d.insert("host".into(), Value::from(u.host));
        d.insert("path".into(), Value::from(u.path));
        d.insert("query".into(), Value::from(u.query));
        d.insert("opaque".into(), Value::from(u.opaque));
        d.insert("fragment".into(), Value::from(u.fragment));
        d.insert("userinfo".into(), Value::from(u.userinfo));
        Ok(Value::map(d))
    });
    m.add("urlJoin", sig(&[Ty::Map]), |a| {
        let get = |k: &str| match &a[0] {
            Value::Map(m) => m.get(k).map(|v| super::strval(&v)).unwrap_or_default(),
            _ => String::new(),
        };
        let u = Url {
            scheme: get("scheme"),
            opaque: get("opaque"),
            userinfo: get("userinfo"),
            host: get("host"),
            path: get("path"),
            query: get("query"),
            fragment: get("fragment"),
        };
        Ok(Value::from(join(&u)))
    });
}
