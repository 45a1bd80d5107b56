//! List functions. Sprig's non-`must` variants panic on a non-list; the
//! template engine turns that panic into an error with the same text, so both
//! variants fail alike here.

use super::convert::{is_empty, to_int64};
use super::{i, panic_err, sig, sig_var};
use crate::funcs::{FuncError, FuncMap, Ty};
use crate::value::Value;

/// The elements of a list argument, or Sprig's "Cannot ... on type K" error.
fn elems(v: &Value, what: &str) -> Result<Vec<Value>, FuncError> {
    match v {
        Value::List(l) => Ok(l.to_vec()),
        Value::Bytes(b) => Ok(b.iter().map(|x| Value::Int(i64::from(*x))).collect()),
        Value::Nil => Err(panic_err(
            "runtime error: invalid memory address or nil pointer dereference",
        )),
        other => Err(panic_err(format!(
            "Cannot {what} on type {}",
            other.kind_name()
        ))),
    }
}

fn list(v: Vec<Value>) -> Value {
    Value::list(v)
}

pub(super) fn register(m: &mut FuncMap) {
    let any1 = || sig(&[Ty::Any]);
    let any2 = || sig(&[Ty::Any, Ty::Any]);
    m.add("list", sig_var(&[], Ty::Any), |a| Ok(list(a.to_vec())));
    m.add("tuple", sig_var(&[], Ty::Any), |a| Ok(list(a.to_vec())));
    for name in ["append", "push", "mustAppend", "mustPush"] {
        m.add(name, any2(), |a| {
            let mut v = elems(&a[0], "push")?;
            v.push(a[1].clone());
            Ok(list(v))
        });
    }
    for name in ["prepend", "mustPrepend"] {
        m.add(name, any2(), |a| {
            let mut v = elems(&a[0], "prepend")?;
            v.insert(0, a[1].clone());
            Ok(list(v))
        });
    }
    for name in ["first", "mustFirst"] {
        m.add(name, any1(), |a| {
            Ok(elems(&a[0], "find first")?
                .first()
                .cloned()
                .unwrap_or(Value::Nil))
        });
    }
    for name in ["last", "mustLast"] {
        m.add(name, any1(), |a| {
            Ok(elems(&a[0], "find last")?
                .last()
                .cloned()
                .unwrap_or(Value::Nil))
        });
    }
    for name in ["rest", "mustRest"] {
        m.add(name, any1(), |a| {
            let v = elems(&a[0], "find rest")?;
            Ok(if v.is_empty() {
                Value::Nil
            } else {
                list(v[1..].to_vec())
            })
        });
    }
    for name in ["initial", "mustInitial"] {
        m.add(name, any1(), |a| {
            let v = elems(&a[0], "find initial")?;
            Ok(if v.is_empty() {
                Value::Nil
            } else {
                list(v[..v.len() - 1].to_vec())
            })
        });
    }
    for name in ["reverse", "mustReverse"] {
        m.add(name, any1(), |a| {
            let mut v = elems(&a[0], "find reverse")?;
            v.reverse();
            Ok(list(v))
        });
    }
    for name in ["uniq", "mustUniq"] {
        m.add(name, any1(), |a| {
            let mut out: Vec<Value> = Vec::new();
            for x in elems(&a[0], "find uniq")? {
                if !out.contains(&x) {
                    out.push(x);
                }
            }
            Ok(list(out))
        });
    }
    for name in ["without", "mustWithout"] {
        m.add(name, sig_var(&[Ty::Any], Ty::Any), |a| {
            let v = elems(&a[0], "find without")?;
            Ok(list(
                v.into_iter().filter(|x| !a[1..].contains(x)).collect(),
            ))
        });
    }
    for name in ["has", "mustHas"] {
        m.add(name, any2(), |a| {
            if a[1].is_nil() {
                return Ok(Value::Bool(false));
            }
            Ok(Value::Bool(elems(&a[1], "find has")?.contains(&a[0])))
        });
    }
    for name in ["compact", "mustCompact"] {
        m.add(name, any1(), |a| {
            Ok(list(
                elems(&a[0], "compact")?
                    .into_iter()
                    .filter(|x| !is_empty(x))
                    .collect(),
            ))
        });
    }
    m.add("concat", sig_var(&[], Ty::Any), |a| {
        let mut out = Vec::new();
        for l in a {
            match l {
                Value::List(x) => out.extend(x.iter().cloned()),
                other => {
                    return Err(panic_err(format!(
                        "Cannot concat type {} as list",
                        other.kind_name()
                    )));
                }
            }
        }
        Ok(list(out))
    });
    for name in ["slice", "mustSlice"] {
        m.add(name, sig_var(&[Ty::Any], Ty::Any), |a| {
            let v = match &a[0] {
                Value::List(l) => l.to_vec(),
                other => {
                    return Err(panic_err(format!(
                        "list should be type of slice or array but {}",
                        other.kind_name()
                    )));
                }
            };
            let n = v.len() as i64;
            let start = a.get(1).map(to_int64).unwrap_or(0);
            let end = a.get(2).map(to_int64).unwrap_or(n);
            if start < 0 || end < start || end > n {
                return Err(panic_err("reflect: slice index out of range"));
            }
            Ok(list(v[start as usize..end as usize].to_vec()))
        });
    }
    for name in ["chunk", "mustChunk"] {
        m.add(name, sig(&[Ty::Int, Ty::Any]), |a| {
            let size = i(&a[0]).max(1) as usize;
            let v = match &a[1] {
                Value::List(l) => l.to_vec(),
                other => {
                    return Err(panic_err(format!(
                        "Cannot chunk type {}",
                        other.kind_name()
                    )));
                }
            };
            Ok(list(v.chunks(size).map(|c| list(c.to_vec())).collect()))
        });
    }
    m.add("dig", sig_var(&[], Ty::Any), |a| {
        if a.len() < 3 {
            return Err(panic_err("dig needs at least three arguments"));
        }
        let def = a[a.len() - 2].clone();
        let mut cur = a[a.len() - 1].clone();
        let keys = &a[..a.len() - 2];
        for (k, key) in keys.iter().enumerate() {
            let Value::Str(key) = key else {
                return Err(panic_err(format!(
                    "interface conversion: interface {{}} is {}, not string",
                    key.type_name()
                )));
            };
            let Value::Map(m) = &cur else {
                return Err(panic_err(format!(
                    "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                    cur.type_name()
                )));
            };
            match m.get(key) {
                Some(v) => cur = v,
                None => return Ok(def),
            }
            if k == keys.len() - 1 {
                return Ok(cur);
            }
        }
        Ok(cur)
    });
}
