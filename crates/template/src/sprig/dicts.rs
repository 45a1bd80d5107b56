//! Dictionary functions. Go maps are references: `set`, `unset` and `merge`
//! change the map they are given, and templates rely on that.

use super::convert::{is_empty, strval};
use super::{s, sig, sig_var, strs};
use crate::funcs::{FuncMap, Ty};
use crate::value::{Map, MapRef, Value};

fn map_arg(v: &Value) -> MapRef {
    match v {
        Value::Map(m) => m.clone(),
        _ => MapRef::default(),
    }
}

/// mergo's `Merge` (and `WithOverride`) of `src` into `dst`, recursively
/// for nested maps.
pub(crate) fn merge_into(dst: &MapRef, src: &MapRef, overwrite: bool, depth: usize) {
    if dst.ptr_eq(src) || depth > 100 {
        return;
    }
    let src = src.snapshot();
    for (k, sv) in src {
        if sv.is_nil() {
            if overwrite {
                dst.write().insert(k, sv);
            }
            continue;
        }
        let dv = dst.get(&k);
        if let (Value::Map(sm), Some(Value::Map(dm))) = (&sv, &dv) {
            merge_into(dm, sm, overwrite, depth + 1);
            if !dm.is_empty() {
                continue;
            }
        }
        if let Some(d) = &dv
            && !is_empty(d)
            && matches!(sv, Value::List(_))
            && !overwrite
        {
            continue;
        }
        let take = match &dv {
            None => true,
            Some(d) => overwrite || is_empty(d),
        };
        if take {
            dst.write().insert(k, sv);
        }
    }
}

/// copystructure's deep copy. A map that contains itself (only maps can
/// close a cycle) is shared at the point where the cycle closes.
pub(crate) fn deep_copy(v: &Value) -> Value {
    deep_copy_on(v, &mut Vec::new())
}

fn deep_copy_on(v: &Value, path: &mut Vec<MapRef>) -> Value {
    match v {
        Value::List(l) => Value::list(l.iter().map(|x| deep_copy_on(x, path)).collect()),
        Value::Map(m) => {
            if path.iter().any(|p| p.ptr_eq(m)) {
                return v.clone();
            }
            path.push(m.clone());
            let entries = m.snapshot();
            let mut out = Map::new();
            for (k, x) in entries {
                let c = deep_copy_on(&x, path);
                out.insert(k, c);
            }
            path.pop();
            Value::map(out)
        }
        other => other.clone(),
    }
}

pub(super) fn register(m: &mut FuncMap) {
    m.add("dict", sig_var(&[], Ty::Any), |a| {
        let mut d = Map::new();
        for pair in a.chunks(2) {
            let key = strval(&pair[0]);
            d.insert(key, pair.get(1).cloned().unwrap_or_else(|| Value::str("")));
        }
        Ok(Value::map(d))
    });
    m.add("get", sig(&[Ty::Map, Ty::Str]), |a| {
        Ok(map_arg(&a[0])
            .get(s(&a[1]))
            .unwrap_or_else(|| Value::str("")))
    });
    m.add("set", sig(&[Ty::Map, Ty::Str, Ty::Any]), |a| {
        let d = map_arg(&a[0]);
        d.write().insert(s(&a[1]).to_string(), a[2].clone());
        Ok(Value::Map(d))
    });
    m.add("unset", sig(&[Ty::Map, Ty::Str]), |a| {
        let d = map_arg(&a[0]);
        d.write().remove(s(&a[1]));
        Ok(Value::Map(d))
    });
    m.add("hasKey", sig(&[Ty::Map, Ty::Str]), |a| {
        Ok(Value::Bool(map_arg(&a[0]).read().contains_key(s(&a[1]))))
    });
    m.add("keys", sig_var(&[], Ty::Map), |a| {
        let mut out = Vec::new();
        for d in a {
            out.extend(map_arg(d).read().keys().cloned());
        }
        Ok(strs(out))
    });
    m.add("values", sig(&[Ty::Map]), |a| {
        Ok(Value::list(
            map_arg(&a[0]).read().values().cloned().collect(),
        ))
    });
    m.add("pick", sig_var(&[Ty::Map], Ty::Str), |a| {
        let d = map_arg(&a[0]).snapshot();
        let keys: Vec<&str> = a[1..].iter().map(s).collect();
        Ok(Value::map(
            d.into_iter()
                .filter(|(k, _)| keys.contains(&k.as_str()))
                .collect(),
        ))
    });
    m.add("omit", sig_var(&[Ty::Map], Ty::Str), |a| {
        let d = map_arg(&a[0]).snapshot();
        let keys: Vec<&str> = a[1..].iter().map(s).collect();
        Ok(Value::map(
            d.into_iter()
                .filter(|(k, _)| !keys.contains(&k.as_str()))
                .collect(),
        ))
    });
    m.add("pluck", sig_var(&[Ty::Str], Ty::Map), |a| {
        let key = s(&a[0]);
        Ok(Value::list(
            a[1..].iter().filter_map(|d| map_arg(d).get(key)).collect(),
        ))
    });
    for (name, overwrite) in [
        ("merge", false),
        ("mustMerge", false),
        ("mergeOverwrite", true),
        ("mustMergeOverwrite", true),
    ] {
        m.add(name, sig_var(&[Ty::Map], Ty::Map), move |a| {
            let dst = map_arg(&a[0]);
            for src in &a[1..] {
                merge_into(&dst, &map_arg(src), overwrite, 0);
            }
            Ok(Value::Map(dst))
        });
    }
    for name in ["deepCopy", "mustDeepCopy"] {
        m.add(name, sig(&[Ty::Any]), |a| Ok(deep_copy(&a[0])));
    }
}
