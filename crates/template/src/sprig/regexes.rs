//! Regular expressions in Go's syntax (rewritten for the `regex` crate by
//! the `re2` module), compiled once per pattern.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::{i, panic_err, s, sig};
use crate::funcs::{FuncError, FuncMap, Ty};
use crate::value::Value;

/// How many compiled patterns the cache keeps. Charts use a handful of
/// patterns, each on every render; past the bound the cache starts over, so
/// templates generating endless distinct patterns cannot grow memory.
const CACHE_CAP: usize = 256;

/// Compiled regexes by Go pattern. The key is the pattern as the template
/// gave it: the rewrite into `regex` syntax is a pure function of it, so a
/// hit skips the rewrite as well as the compilation.
/// Entries are shared rather than cloned: a cloned `Regex` starts with an
/// empty pool of match scratch space, a shared one reuses its pool.
static CACHE: Mutex<Option<HashMap<String, Arc<regex::Regex>>>> = Mutex::new(None);

/// The compiled form of Go pattern `re`, from the cache when possible, or
/// the text of Go's error for it. Go's own checks run first: the `regex`
/// crate accepts some patterns Go rejects (`a**`, `(?x)`, `a{1001}`).
fn cached(re: &str) -> Result<Arc<regex::Regex>, String> {
    let lock = || CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(r) = lock().as_ref().and_then(|m| m.get(re)) {
        return Ok(r.clone());
    }
    if let Some(e) = super::re2::go_error(re) {
        return Err(e);
    }
    // Compiled outside the lock: compilation can take a while and other
    // threads rendering meanwhile should not wait on it.
    let compiled = regex::Regex::new(&super::re2::translate(re))
        .map(Arc::new)
        .map_err(|e| e.to_string())?;
    let mut guard = lock();
    let map = guard.get_or_insert_with(HashMap::new);
    if map.len() >= CACHE_CAP {
        map.clear();
    }
    map.insert(re.to_string(), compiled.clone());
    Ok(compiled)
}

/// Compiles Go pattern `re` for a Sprig function. The `must*` functions
/// return Go's compile error as is; the others panic through
/// `regexp.MustCompile`, which names the pattern.
fn compile(re: &str, must: bool) -> Result<Arc<regex::Regex>, FuncError> {
    cached(re).map_err(|text| {
        if must {
            FuncError::Call(text)
        } else {
            panic_err(format!("regexp: Compile({}): {text}", quote(re)))
        }
    })
}

/// How Go's `regexp` quotes a pattern in messages: in backquotes when it
/// can be, else as a Go string literal.
fn quote(re: &str) -> String {
    let backquotable = re
        .chars()
        .all(|c| (c >= ' ' || c == '\t') && !matches!(c, '`' | '\x7F' | '\u{FEFF}'));
    if backquotable {
        format!("`{re}`")
    } else {
        crate::gofmt::quote(re)
    }
}

/// Go's `regexp.QuoteMeta`: escapes exactly the characters special to Go
/// (`regex::escape` also escapes `#`, `&`, `-` and `~`).
fn quote_meta(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn limit(n: i64) -> usize {
    if n < 0 { usize::MAX } else { n as usize }
}

pub(super) fn register(m: &mut FuncMap) {
    let s2 = || sig(&[Ty::Str, Ty::Str]);
    let s3 = || sig(&[Ty::Str, Ty::Str, Ty::Str]);
    m.add("regexMatch", s2(), |a| {
        Ok(Value::Bool(
            cached(s(&a[0])).is_ok_and(|r| r.is_match(s(&a[1]))),
        ))
    });
    m.add("mustRegexMatch", s2(), |a| {
        Ok(Value::Bool(compile(s(&a[0]), true)?.is_match(s(&a[1]))))
    });
    for name in ["regexFind", "mustRegexFind"] {
        let must = name.starts_with("must");
        m.add(name, s2(), move |a| {
            Ok(Value::str(
                compile(s(&a[0]), must)?
                    .find(s(&a[1]))
                    .map(|x| x.as_str())
                    .unwrap_or(""),
            ))
        });
    }
    for name in ["regexFindAll", "mustRegexFindAll"] {
        let must = name.starts_with("must");
        m.add(name, sig(&[Ty::Str, Ty::Str, Ty::Int]), move |a| {
            let r = compile(s(&a[0]), must)?;
            Ok(super::strs(
                r.find_iter(s(&a[1]))
                    .take(limit(i(&a[2])))
                    .map(|x| x.as_str().to_string()),
            ))
        });
    }
    for name in ["regexReplaceAll", "mustRegexReplaceAll"] {
        let must = name.starts_with("must");
        m.add(name, s3(), move |a| {
            Ok(Value::from(
                compile(s(&a[0]), must)?
                    .replace_all(s(&a[1]), s(&a[2]))
                    .into_owned(),
            ))
        });
    }
    for name in ["regexReplaceAllLiteral", "mustRegexReplaceAllLiteral"] {
        let must = name.starts_with("must");
        m.add(name, s3(), move |a| {
            Ok(Value::from(
                compile(s(&a[0]), must)?
                    .replace_all(s(&a[1]), regex::NoExpand(s(&a[2])))
                    .into_owned(),
            ))
        });
    }
    for name in ["regexSplit", "mustRegexSplit"] {
        let must = name.starts_with("must");
        m.add(name, sig(&[Ty::Str, Ty::Str, Ty::Int]), move |a| {
            let r = compile(s(&a[0]), must)?;
            let n = i(&a[2]);
            if n == 0 {
                return Ok(Value::list(Vec::new()));
            }
            Ok(super::strs(
                r.splitn(s(&a[1]), limit(n)).map(str::to_string),
            ))
        });
    }
    m.add("regexQuoteMeta", sig(&[Ty::Str]), |a| {
        Ok(Value::from(quote_meta(s(&a[0]))))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test only touches the process-wide cache, so that no other test
    // can clear it between the two look-ups compared here.
    #[test]
    fn cache_shares_compiled_patterns_and_stays_bounded() {
        let a = cached(r"^[\w-\.]+$").unwrap();
        let b = cached(r"^[\w-\.]+$").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(a.is_match("a-b.c"));
        for n in 0..CACHE_CAP * 2 {
            cached(&format!("^x{n}$")).unwrap();
        }
        let len = CACHE.lock().unwrap().as_ref().map_or(0, HashMap::len);
        assert!((1..=CACHE_CAP).contains(&len), "{len}");
        assert!(cached("[").is_err());
    }

    #[test]
    fn patterns_are_quoted_as_go_quotes_them() {
        assert_eq!(quote(r"a\.b\t"), r"`a\.b\t`");
        assert_eq!(quote("a`b"), r#""a`b""#);
        assert_eq!(quote("a\nb"), r#""a\nb""#);
    }

    #[test]
    fn quote_meta_escapes_what_go_escapes() {
        assert_eq!(
            quote_meta(r"a-b#c&~.+*?()|[]{}^$\"),
            r"a-b#c&~\.\+\*\?\(\)\|\[\]\{\}\^\$\\"
        );
    }
}
