//! Regular expressions (Go's RE2 syntax, which the `regex` crate shares).

use super::{i, panic_err, s, sig};
use crate::funcs::{FuncError, FuncMap, Ty};
use crate::value::Value;

fn compile(re: &str) -> Result<regex::Regex, FuncError> {
    regex::Regex::new(re).map_err(|e| {
        panic_err(format!(
            "regexp: Compile({}): {}",
            crate::gofmt::quote(re),
            e
        ))
    })
}

fn limit(n: i64) -> usize {
    if n < 0 { usize::MAX } else { n as usize }
}

pub(super) fn register(m: &mut FuncMap) {
    let s2 = || sig(&[Ty::Str, Ty::Str]);
    let s3 = || sig(&[Ty::Str, Ty::Str, Ty::Str]);
    m.add("regexMatch", s2(), |a| {
        Ok(Value::Bool(
            regex::Regex::new(s(&a[0])).is_ok_and(|r| r.is_match(s(&a[1]))),
        ))
    });
    m.add("mustRegexMatch", s2(), |a| {
        Ok(Value::Bool(compile(s(&a[0]))?.is_match(s(&a[1]))))
    });
    for name in ["regexFind", "mustRegexFind"] {
        m.add(name, s2(), |a| {
            Ok(Value::str(
                compile(s(&a[0]))?
                    .find(s(&a[1]))
                    .map(|x| x.as_str())
                    .unwrap_or(""),
            ))
        });
    }
    for name in ["regexFindAll", "mustRegexFindAll"] {
        m.add(name, sig(&[Ty::Str, Ty::Str, Ty::Int]), |a| {
            let r = compile(s(&a[0]))?;
            Ok(super::strs(
                r.find_iter(s(&a[1]))
                    .take(limit(i(&a[2])))
                    .map(|x| x.as_str().to_string()),
            ))
        });
    }
    for name in ["regexReplaceAll", "mustRegexReplaceAll"] {
        m.add(name, s3(), |a| {
            Ok(Value::from(
                compile(s(&a[0]))?
                    .replace_all(s(&a[1]), s(&a[2]))
                    .into_owned(),
            ))
        });
    }
    for name in ["regexReplaceAllLiteral", "mustRegexReplaceAllLiteral"] {
        m.add(name, s3(), |a| {
            Ok(Value::from(
                compile(s(&a[0]))?
                    .replace_all(s(&a[1]), regex::NoExpand(s(&a[2])))
                    .into_owned(),
            ))
        });
    }
    for name in ["regexSplit", "mustRegexSplit"] {
        m.add(name, sig(&[Ty::Str, Ty::Str, Ty::Int]), |a| {
            let r = compile(s(&a[0]))?;
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
        Ok(Value::from(regex::escape(s(&a[0]))))
    });
}
