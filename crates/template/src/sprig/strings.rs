//! String functions: case, trimming, padding, splitting, quoting, paths.

use super::convert::{strslice, strval};
use super::{i, s, sig, sig_var, strs};
use crate::funcs::{FuncMap, Ty};
use crate::value::{Map, Value};

/// Go's `strings.Title` word-boundary rule.
fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphanumeric() {
        return false;
    }
    c.is_whitespace()
}

/// Go maps case rune by rune (simple case mapping): a character whose full
/// mapping has several characters (`ß` → `SS`) stays as it is.
fn simple_upper(c: char) -> char {
    let mut u = c.to_uppercase();
    match (u.next(), u.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

fn simple_lower(c: char) -> char {
    if c == '\u{130}' {
        return 'i';
    }
    let mut l = c.to_lowercase();
    match (l.next(), l.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

/// Go's `strings.ToUpper`.
pub(crate) fn go_upper(s: &str) -> String {
    s.chars().map(simple_upper).collect()
}

/// Go's `strings.ToLower`.
pub(crate) fn go_lower(s: &str) -> String {
    s.chars().map(simple_lower).collect()
}

fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev = ' ';
    for c in s.chars() {
        if is_separator(prev) {
            // Go's Title uses title case, equal to upper case outside a few digraphs.
            out.push(simple_upper(c));
        } else {
            out.push(c);
        }
        prev = c;
    }
    out
}

fn untitle(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if c.is_whitespace() {
            start = true;
            out.push(c);
        } else if start {
            out.push(simple_lower(c));
            start = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn swapcase(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_uppercase() {
                vec![simple_lower(c)]
            } else if c.is_lowercase() {
                vec![simple_upper(c)]
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Splits an identifier into lower-case words at case changes and separators.
fn words(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = s.chars().collect();
    for (k, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let boundary = c.is_uppercase()
            && !cur.is_empty()
            && (chars[k - 1].is_lowercase()
                || chars[k - 1].is_ascii_digit()
                || chars.get(k + 1).is_some_and(|n| n.is_lowercase())
                    && chars[k - 1].is_uppercase());
        if boundary {
            out.push(std::mem::take(&mut cur));
        }
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn camelcase(s: &str) -> String {
    // xstrings.ToCamelCase: split on '_' and capitalise each part.
    s.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

/// `part` (a slice of the string `whole` holds) as a value: `whole` itself
/// when nothing was cut, saving a copy.
fn slice_of(whole: &Value, part: &str) -> Value {
    if whole.as_str().is_some_and(|w| w.len() == part.len()) {
        whole.clone()
    } else {
        Value::str(part)
    }
}

fn trunc(c: i64, s: &str) -> String {
    let n = s.len() as i64;
    if c < 0 && n + c > 0 {
        return byte_slice(s, (n + c) as usize, s.len());
    }
    if c >= 0 && n > c {
        return byte_slice(s, 0, c as usize);
    }
    s.to_string()
}

/// `s[a:b]` on bytes (Go strings are bytes; a cut inside a character keeps the bytes).
fn byte_slice(s: &str, a: usize, b: usize) -> String {
    match s.get(a..b) {
        Some(x) => x.to_string(),
        None => String::from_utf8_lossy(&s.as_bytes()[a..b]).into_owned(),
    }
}

fn substr(start: i64, end: i64, s: &str) -> String {
    let n = s.len() as i64;
    if start < 0 {
        return byte_slice(s, 0, end.clamp(0, n) as usize);
    }
    if end < 0 || end > n {
        return byte_slice(s, start.min(n) as usize, s.len());
    }
    if start > end {
        return String::new();
    }
    byte_slice(s, start as usize, end as usize)
}

fn indent(n: i64, s: &str) -> String {
    indent_after(String::new(), n, s)
}

/// `prefix`, then `s` with `n` spaces before each of its lines, in one
/// allocation (`indent` and `nindent` run on most blocks a chart emits).
fn indent_after(mut out: String, n: i64, s: &str) -> String {
    let n = n.max(0) as usize;
    let lines = s.bytes().filter(|&b| b == b'\n').count() + 1;
    out.reserve(s.len() + n * lines);
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.extend(std::iter::repeat_n(' ', n));
        out.push_str(line);
    }
    out
}

/// goutils `AbbreviateFull` (byte based, like Go strings).
fn abbreviate_full(s: &str, offset: i64, max: i64) -> String {
    let n = s.len() as i64;
    if s.is_empty() || max < 4 {
        return String::new();
    }
    if n <= max {
        return s.to_string();
    }
    let mut offset = offset.min(n);
    if n - offset < max - 3 {
        offset = n - (max - 3);
    }
    if offset <= 4 {
        return format!("{}...", byte_slice(s, 0, (max - 3) as usize));
    }
    if max < 7 {
        return String::new();
    }
    if offset + max - 3 < n {
        let rest = byte_slice(s, offset as usize, s.len());
        return format!("...{}", abbreviate_full(&rest, 0, max - 3));
    }
    format!("...{}", byte_slice(s, (n - (max - 3)) as usize, s.len()))
}

fn abbrev(width: i64, s: &str) -> String {
    if width < 4 {
        return s.to_string();
    }
    abbreviate_full(s, 0, width)
}

fn abbrevboth(left: i64, right: i64, s: &str) -> String {
    if right < 4 || left > 0 && right < 7 {
        return s.to_string();
    }
    abbreviate_full(s, left, right)
}

/// goutils `WrapCustom` with `wrapLongWords` false.
fn wrap(width: i64, s: &str, nl: &str) -> String {
    let width = width.max(1) as usize;
    let mut out = String::new();
    for (li, line) in s.split('\n').enumerate() {
        if li > 0 {
            out.push_str(nl);
        }
        let mut col = 0;
        for (wi, w) in line.split(' ').filter(|w| !w.is_empty()).enumerate() {
            let wl = w.chars().count();
            if wi > 0 {
                if col + 1 + wl > width {
                    out.push_str(nl);
                    col = 0;
                } else {
                    out.push(' ');
                    col += 1;
                }
            }
            out.push_str(w);
            col += wl;
        }
    }
    out
}

fn path_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".into(),
        (false, false) => body,
    }
}

fn path_base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".into();
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

fn path_dir(p: &str) -> String {
    let d = match p.rfind('/') {
        Some(k) => &p[..=k],
        None => "",
    };
    path_clean(d)
}

fn path_ext(p: &str) -> String {
    for (k, c) in p.char_indices().rev() {
        if c == '/' {
            break;
        }
        if c == '.' {
            return p[k..].to_string();
        }
    }
    String::new()
}

pub(super) fn register(m: &mut FuncMap) {
    let s1 = || sig(&[Ty::Str]);
    let s2 = || sig(&[Ty::Str, Ty::Str]);
    let is = || sig(&[Ty::Int, Ty::Str]);
    m.add("upper", s1(), |a| Ok(Value::from(go_upper(s(&a[0])))));
    m.add("lower", s1(), |a| Ok(Value::from(go_lower(s(&a[0])))));
    m.add("title", s1(), |a| Ok(Value::from(title(s(&a[0])))));
    m.add("untitle", s1(), |a| Ok(Value::from(untitle(s(&a[0])))));
    m.add("swapcase", s1(), |a| Ok(Value::from(swapcase(s(&a[0])))));
    m.add("snakecase", s1(), |a| {
        Ok(Value::from(words(s(&a[0])).join("_")))
    });
    m.add("kebabcase", s1(), |a| {
        Ok(Value::from(words(s(&a[0])).join("-")))
    });
    m.add("camelcase", s1(), |a| Ok(Value::from(camelcase(s(&a[0])))));
    m.add("initials", s1(), |a| {
        Ok(Value::from(
            s(&a[0])
                .split_whitespace()
                .filter_map(|w| w.chars().next())
                .collect::<String>(),
        ))
    });
    m.add("trim", s1(), |a| Ok(slice_of(&a[0], s(&a[0]).trim())));
    m.add("trimAll", s2(), |a| {
        let cut: Vec<char> = s(&a[0]).chars().collect();
        Ok(Value::str(s(&a[1]).trim_matches(|c| cut.contains(&c))))
    });
    m.add("trimall", s2(), |a| {
        let cut: Vec<char> = s(&a[0]).chars().collect();
        Ok(Value::str(s(&a[1]).trim_matches(|c| cut.contains(&c))))
    });
    m.add("hello", sig(&[]), |_| Ok(Value::str("Hello!")));
    m.add("abbrevboth", sig(&[Ty::Int, Ty::Int, Ty::Str]), |a| {
        Ok(Value::from(abbrevboth(i(&a[0]), i(&a[1]), s(&a[2]))))
    });
    m.add("trimPrefix", s2(), |a| {
        Ok(slice_of(
            &a[1],
            s(&a[1]).strip_prefix(s(&a[0])).unwrap_or(s(&a[1])),
        ))
    });
    m.add("trimSuffix", s2(), |a| {
        Ok(slice_of(
            &a[1],
            s(&a[1]).strip_suffix(s(&a[0])).unwrap_or(s(&a[1])),
        ))
    });
    m.add("nospace", s1(), |a| {
        Ok(Value::from(
            s(&a[0])
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>(),
        ))
    });
    m.add("trunc", is(), |a| {
        let (c, text) = (i(&a[0]), s(&a[1]));
        // Already short enough: the same string.
        if c >= 0 && text.len() as i64 <= c {
            return Ok(a[1].clone());
        }
        Ok(Value::from(trunc(c, text)))
    });
    m.add("abbrev", is(), |a| {
        Ok(Value::from(abbrev(i(&a[0]), s(&a[1]))))
    });
    m.add("wrap", is(), |a| {
        Ok(Value::from(wrap(i(&a[0]), s(&a[1]), "\n")))
    });
    m.add("wrapWith", sig(&[Ty::Int, Ty::Str, Ty::Str]), |a| {
        Ok(Value::from(wrap(i(&a[0]), s(&a[2]), s(&a[1]))))
    });
    m.add("replace", sig(&[Ty::Str, Ty::Str, Ty::Str]), |a| {
        let (from, text) = (s(&a[0]), s(&a[2]));
        if !from.is_empty() && !text.contains(from) {
            return Ok(a[2].clone());
        }
        Ok(Value::from(text.replace(from, s(&a[1]))))
    });
    m.add("contains", s2(), |a| {
        Ok(Value::Bool(s(&a[1]).contains(s(&a[0]))))
    });
    m.add("hasPrefix", s2(), |a| {
        Ok(Value::Bool(s(&a[1]).starts_with(s(&a[0]))))
    });
    m.add("hasSuffix", s2(), |a| {
        Ok(Value::Bool(s(&a[1]).ends_with(s(&a[0]))))
    });
    m.add("repeat", is(), |a| {
        let n = i(&a[0]);
        if n < 0 {
            return Err(super::panic_err("strings: negative Repeat count"));
        }
        if (n as u128) * (s(&a[1]).len() as u128) > super::MAX_BUILD as u128 {
            return Err(super::panic_err("strings: Repeat output length overflow"));
        }
        Ok(Value::from(s(&a[1]).repeat(n as usize)))
    });
    m.add("substr", sig(&[Ty::Int, Ty::Int, Ty::Str]), |a| {
        Ok(Value::from(substr(i(&a[0]), i(&a[1]), s(&a[2]))))
    });
    m.add("indent", is(), |a| {
        Ok(Value::from(indent(i(&a[0]), s(&a[1]))))
    });
    m.add("nindent", is(), |a| {
        Ok(Value::from(indent_after(
            String::from("\n"),
            i(&a[0]),
            s(&a[1]),
        )))
    });
    m.add("quote", sig_var(&[], Ty::Any), |a| {
        let mut out = String::new();
        for (i, v) in a.iter().filter(|v| !v.is_nil()).enumerate() {
            if i > 0 {
                out.push(' ');
            }
            match v {
                Value::Str(s) => crate::gofmt::quote_into(&mut out, s),
                v => crate::gofmt::quote_into(&mut out, &strval(v)),
            }
        }
        Ok(Value::from(out))
    });
    m.add("squote", sig_var(&[], Ty::Any), |a| {
        let q: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| format!("'{}'", strval(v)))
            .collect();
        Ok(Value::from(q.join(" ")))
    });
    m.add("cat", sig_var(&[], Ty::Any), |a| {
        let parts: Vec<String> = a.iter().filter(|v| !v.is_nil()).map(strval).collect();
        Ok(Value::from(parts.join(" ")))
    });
    m.add("plural", sig(&[Ty::Str, Ty::Str, Ty::Int]), |a| {
        Ok(if i(&a[2]) == 1 {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    m.add("splitList", s2(), |a| {
        Ok(strs(go_split(s(&a[1]), s(&a[0]), -1)))
    });
    m.add("split", s2(), |a| {
        Ok(parts_map(go_split(s(&a[1]), s(&a[0]), -1)))
    });
    m.add("splitn", sig(&[Ty::Str, Ty::Int, Ty::Str]), |a| {
        Ok(parts_map(go_split(s(&a[2]), s(&a[0]), i(&a[1]))))
    });
    m.add("join", sig(&[Ty::Str, Ty::Any]), |a| {
        Ok(Value::from(strslice(&a[1]).join(s(&a[0]))))
    });
    m.add("sortAlpha", sig(&[Ty::Any]), |a| {
        let mut v = match &a[0] {
            Value::List(_) | Value::Bytes(_) => strslice(&a[0]),
            other => vec![strval(other)],
        };
        v.sort();
        Ok(strs(v))
    });
    // `os*` use the platform's separator in Sprig; on Unix it is `/` as for `path`.
    type PathFn = fn(&str) -> String;
    let paths: [(&str, &str, PathFn); 4] = [
        ("base", "osBase", path_base),
        ("dir", "osDir", path_dir),
        ("ext", "osExt", path_ext),
        ("clean", "osClean", path_clean),
    ];
    for (plain, os, f) in paths {
        m.add(plain, s1(), move |a| Ok(Value::from(f(s(&a[0])))));
        m.add(os, s1(), move |a| Ok(Value::from(f(s(&a[0])))));
    }
    m.add("isAbs", s1(), |a| {
        Ok(Value::Bool(s(&a[0]).starts_with('/')))
    });
    m.add("osIsAbs", s1(), |a| {
        Ok(Value::Bool(s(&a[0]).starts_with('/')))
    });
}

/// Go's `strings.SplitN` (n < 0: all; an empty separator splits characters).
pub(crate) fn go_split(s: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let mut v: Vec<String> = s.chars().map(String::from).collect();
        if n > 0 && v.len() > n as usize {
            let rest: String = v[n as usize - 1..].concat();
            v.truncate(n as usize - 1);
            v.push(rest);
        }
        return v;
    }
    if n < 0 {
        return s.split(sep).map(String::from).collect();
    }
    s.splitn(n as usize, sep).map(String::from).collect()
}

/// Sprig's `split` result: `_0`, `_1`, ... keys.
fn parts_map(parts: Vec<String>) -> Value {
    let m: Map = parts
        .into_iter()
        .enumerate()
        .map(|(k, p)| (format!("_{k}"), Value::from(p)))
        .collect();
    Value::map(m)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(title("hello wORLD foo-bar"), "Hello WORLD Foo-Bar");
        assert_eq!(words("FooBarHTTPServer").join("_"), "foo_bar_http_server");
        assert_eq!(wrap(5, "a b c d e f g", "\n"), "a b c\nd e f\ng");
        assert_eq!(path_clean("a//b/../c"), "a/c");
        assert_eq!(path_dir("/a/b/c.txt"), "/a/b");
        assert_eq!(substr(2, -1, "abcdef"), "cdef");
        assert_eq!(trunc(-2, "abcdef"), "ef");
    }
}
