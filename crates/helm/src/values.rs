//! Values coalescing exactly as Helm does it: user values over chart
//! defaults, parent values over subchart defaults, `global` propagation,
//! `null` deleting keys, dependency conditions and tags, and
//! `import-values`.
//!
//! Helm's algorithm mutates Go maps in place and sometimes shares them
//! between trees (globals are copied shallowly); the same sharing is kept
//! here through [`MapRef`], because observable results depend on it.
//! Every function that receives user values copies them first.

use trellis_template::{Map, MapRef, Value};

use crate::chart::{Chart, Dependency, ImportValue};
use crate::semver::is_compatible_range;

/// Errors while coalescing values.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum ValuesError {
    /// A subchart's values key holds a non-map value.
    #[error("type mismatch on {name}: %!t({value})")]
    TypeMismatch {
        /// The subchart name.
        name: String,
        /// The offending value, as Go prints it.
        value: String,
    },
}

type Result<T, E = ValuesError> = std::result::Result<T, E>;

pub use trellis_template::deep_copy;

fn as_map(v: &Value) -> Option<&MapRef> {
    match v {
        Value::Map(m) => Some(m),
        _ => None,
    }
}

fn new_map() -> MapRef {
    MapRef::new(Map::new())
}

/// The helm CLI's merging of several `--values` files (and `--set`
/// results): maps merge key by key, anything else in `overlay` replaces.
/// Neither input is modified.
pub fn merge_user_values(base: &Value, overlay: &Value) -> Value {
    let out = match base {
        Value::Map(m) => m.snapshot(),
        _ => Map::new(),
    };
    let mut out = out;
    if let Value::Map(o) = overlay {
        for (k, v) in o.snapshot() {
            let merged = match (&v, out.get(&k)) {
                (Value::Map(_), Some(existing @ Value::Map(_))) => merge_user_values(existing, &v),
                _ => v,
            };
            out.insert(k, merged);
        }
    }
    Value::map(out)
}

/// The values a user supplies to one render, combined in the helm CLI's
/// precedence: value files in order (maps merged), then every `--set`, then
/// every `--set-string`, then every `--set-file`, regardless of how they
/// were interleaved on the command line.
#[derive(Debug, Clone, Default)]
pub struct UserValues {
    /// Value files (and Argo CD's `values`/`valuesObject`, which it passes
    /// as one more file after `valueFiles`), each already read as a map.
    pub files: Vec<Value>,
    /// `--set` expressions.
    pub set: Vec<String>,
    /// `--set-string` expressions (Argo CD parameters with `forceString`).
    pub set_string: Vec<String>,
    /// `--set-file` expressions (`key=path`).
    pub set_file: Vec<String>,
}

impl UserValues {
    /// The combined values. `read_file` reads the paths of `--set-file`.
    pub fn build(
        &self,
        read_file: &mut dyn FnMut(&str) -> Result<String, String>,
    ) -> Result<Value, crate::strvals::SetError> {
        let mut base = Value::map(Map::new());
        for f in &self.files {
            base = merge_user_values(&base, f);
        }
        for expr in &self.set {
            crate::strvals::parse_set(expr, &mut base, false)?;
        }
        for expr in &self.set_string {
            crate::strvals::parse_set(expr, &mut base, true)?;
        }
        for expr in &self.set_file {
            crate::strvals::parse_set_file(expr, &mut base, read_file)?;
        }
        Ok(base)
    }
}

/// Helm's `CoalesceValues`: the chart's values (and its subcharts')
/// under the user's `vals`, nulls deleting keys.
///
/// The result is a deep copy made lazily (see [`MapRef::frozen_copy`]):
/// parts of `vals` and of the charts' values are copied when first
/// accessed, so neither may be modified while the result is in use.
pub fn coalesce_values(chart: &Chart, vals: &Value) -> Result<Value> {
    let dest = copy_values(vals);
    coalesce(chart, &dest, false)?;
    Ok(Value::Map(dest))
}

/// Helm's `MergeValues`: like [`coalesce_values`] but nulls are kept
/// (and with the same lazy copying).
pub fn merge_values(chart: &Chart, vals: &Value) -> Result<Value> {
    let dest = copy_values(vals);
    coalesce(chart, &dest, true)?;
    Ok(Value::Map(dest))
}

/// A lazy deep copy of `vals` (a map), which nothing modifies.
fn copy_values(vals: &Value) -> MapRef {
    match vals {
        Value::Map(m) => m.frozen_copy(),
        _ => new_map(),
    }
}

fn coalesce(chart: &Chart, dest: &MapRef, merge: bool) -> Result<()> {
    coalesce_chart_values(chart, dest, merge);
    coalesce_deps(chart, dest, merge)
}

fn coalesce_deps(chart: &Chart, dest: &MapRef, merge: bool) -> Result<()> {
    for sub in &chart.dependencies {
        let name = sub.name().to_string();
        let dv = match dest.get(&name) {
            None => {
                let m = new_map();
                dest.write().insert(name.clone(), Value::Map(m.clone()));
                m
            }
            Some(Value::Map(m)) => m,
            Some(other) => {
                return Err(ValuesError::TypeMismatch {
                    name,
                    value: other.to_go_string(),
                });
            }
        };
        coalesce_globals(&dv, dest);
        coalesce(sub, &dv, merge)?;
    }
    Ok(())
}

/// Copies the parent's `global` into a subchart's values; the parent's
/// globals win, nested maps are merged.
fn coalesce_globals(dest: &MapRef, src: &MapRef) {
    let dg = match dest.get("global") {
        None => new_map(),
        Some(Value::Map(m)) => m,
        Some(_) => return,
    };
    let sg = match src.get("global") {
        None => new_map(),
        Some(Value::Map(m)) => m,
        Some(_) => return,
    };
    for (key, val) in sg.snapshot() {
        if let Value::Map(vm) = &val {
            // A shallow copy, as Helm makes: nested maps stay shared.
            let vv = MapRef::new(vm.snapshot());
            match dg.get(&key) {
                None => {
                    dg.write().insert(key, Value::Map(vv));
                }
                Some(Value::Map(destv)) => {
                    coalesce_tables(&vv, &destv, true);
                    dg.write().insert(key, Value::Map(vv));
                }
                Some(_) => {}
            }
        } else if matches!(dg.get(&key), Some(Value::Map(_))) {
            // A table is not replaced by a scalar.
        } else {
            dg.write().insert(key, val);
        }
    }
    dest.write().insert("global".into(), Value::Map(dg));
}

fn coalesce_chart_values(chart: &Chart, v: &MapRef, merge: bool) {
    // Chart values are never modified after loading (or after import
    // processing on a render's own copy of the chart): copy lazily, and
    // take the entries of the copy, which nothing else sees.
    let Value::Map(vc) = &chart.values else {
        return;
    };
    let entries = std::mem::take(&mut *vc.frozen_copy().write());
    // Keys `v` lacks, in key order: added at the end in one merge (each
    // key is decided by its own entries alone).
    let mut added: Vec<(String, Value)> = Vec::new();
    for (key, val) in entries {
        match v.get(&key) {
            Some(value) => {
                if value.is_nil() && !merge {
                    v.write().remove(&key);
                } else if let Value::Map(dest) = &value
                    && let Value::Map(src) = &val
                {
                    let child_merge = merge || chart.dependencies.iter().any(|d| d.name() == key);
                    if !child_merge {
                        clean_nil_values(src);
                    }
                    coalesce_tables(dest, src, child_merge);
                }
            }
            None => {
                if !merge {
                    if val.is_nil() {
                        continue;
                    }
                    if let Value::Map(sub) = &val {
                        clean_nil_values(sub);
                    }
                }
                added.push((key, val));
            }
        }
    }
    if !added.is_empty() {
        let mut w = v.write();
        if w.is_empty() {
            // Sorted input: built in one pass.
            *w = added.into_iter().collect();
        } else {
            let existing = std::mem::take(&mut *w);
            *w = merge_sorted(existing.into_iter(), added.into_iter()).collect();
        }
    }
}

/// Two iterators of entries sorted by distinct keys, merged in key order.
fn merge_sorted(
    a: impl Iterator<Item = (String, Value)>,
    b: impl Iterator<Item = (String, Value)>,
) -> impl Iterator<Item = (String, Value)> {
    let mut a = a.peekable();
    let mut b = b.peekable();
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some((ka, _)), Some((kb, _))) => {
            if ka < kb {
                a.next()
            } else {
                b.next()
            }
        }
        (Some(_), None) => a.next(),
        (None, _) => b.next(),
    })
}

fn clean_nil_values(m: &MapRef) {
    m.remove_nils_deep();
}

/// Helm's `coalesceTablesFullKey`: merges `src` into `dst`, `dst` winning.
/// (Helm's key prefix only serves its warnings, which `helm template` does
/// not print, so none is kept.)
fn coalesce_tables(dst: &MapRef, src: &MapRef, merge: bool) {
    if dst.ptr_eq(src) {
        return;
    }
    // A nil in `dst` also becomes nil in `src`; with `merge` off, the
    // key then goes from `dst` when `src` had a value for it.
    let dst_nils: Vec<String> = dst
        .read()
        .iter()
        .filter(|(_, v)| v.is_nil())
        .map(|(k, _)| k.clone())
        .collect();
    let mut removed = Vec::new();
    if !dst_nils.is_empty() {
        let mut w = src.write();
        for k in dst_nils {
            if !merge && w.get(&k).is_some_and(|v| !v.is_nil()) {
                removed.push(k.clone());
            }
            w.insert(k, Value::Nil);
        }
    }
    // `dst` is not `src`, and both are made (read above), so reading `dst`
    // while `src` is read takes no further lock.
    let mut inserts = Vec::new();
    let mut nested = Vec::new();
    {
        let sr = src.read();
        let dr = dst.read();
        for (key, val) in sr.iter() {
            match dr.get(key) {
                None => inserts.push((key.clone(), val.clone())),
                Some(Value::Map(d)) => {
                    if let Value::Map(s) = val {
                        nested.push((d.clone(), s.clone()));
                    }
                }
                Some(_) => {}
            }
        }
    }
    if !inserts.is_empty() || !removed.is_empty() {
        let mut w = dst.write();
        for k in &removed {
            w.remove(k);
        }
        w.extend(inserts);
    }
    for (d, s) in nested {
        coalesce_tables(&d, &s, merge);
    }
}

/// Helm's `Values.Table`: the map at a dotted path.
pub fn table(v: &Value, path: &str) -> Option<MapRef> {
    let mut cur = as_map(v)?.clone();
    for part in path.split('.') {
        let next = cur.get(part)?;
        cur = as_map(&next)?.clone();
    }
    Some(cur)
}

/// Helm's `Values.PathValue`: the non-map value at a dotted path.
pub fn path_value(v: &Value, path: &str) -> Option<Value> {
    if path.is_empty() {
        return None;
    }
    let parts: Vec<&str> = path.split('.').collect();
    let (key, parents) = parts.split_last()?;
    let t = if parents.is_empty() {
        as_map(v)?.clone()
    } else {
        table(v, &parents.join("."))?
    };
    match t.get(key) {
        Some(Value::Map(_)) | None => None,
        Some(x) => Some(x),
    }
}

/// Helm's `ProcessDependenciesWithMerge`: drops subcharts disabled by
/// conditions or tags, applies aliases, and imports values from children
/// into parents. `user` are the user-supplied values.
pub fn process_dependencies(chart: &mut Chart, user: &Value) -> Result<()> {
    process_enabled(chart, user, "")?;
    process_import_values(chart)
}

fn find_alias_dependency(charts: &[Chart], dep: &Dependency) -> Option<Chart> {
    let c = charts
        .iter()
        .find(|c| c.name() == dep.name && is_compatible_range(&dep.version, &c.metadata.version))?;
    let mut out = c.clone();
    if !dep.alias.is_empty() {
        out.metadata.name = dep.alias.clone();
    }
    Some(out)
}

fn process_enabled(chart: &mut Chart, vals: &Value, path: &str) -> Result<()> {
    let Some(mut reqs) = chart.metadata.dependencies.clone() else {
        return Ok(());
    };
    let mut chart_deps: Vec<Chart> = chart
        .dependencies
        .iter()
        .filter(|existing| {
            !reqs.iter().any(|r| {
                existing.name() == r.name
                    && is_compatible_range(&r.version, &existing.metadata.version)
            })
        })
        .cloned()
        .collect();
    for req in reqs.iter_mut() {
        if let Some(c) = find_alias_dependency(&chart.dependencies, req) {
            chart_deps.push(c);
        }
        if !req.alias.is_empty() {
            req.name = req.alias.clone();
        }
    }
    chart.dependencies = chart_deps;
    for r in reqs.iter_mut() {
        r.enabled = true;
    }
    chart.metadata.dependencies = Some(reqs.clone());
    let cvals = coalesce_values(chart, vals)?;
    process_tags(&mut reqs, &cvals);
    process_conditions(&mut reqs, &cvals, path);
    let removed: Vec<String> = reqs
        .iter()
        .filter(|r| !r.enabled)
        .map(|r| r.name.clone())
        .collect();
    let mut kept: Vec<Chart> = std::mem::take(&mut chart.dependencies)
        .into_iter()
        .filter(|c| !removed.iter().any(|n| n == c.name()))
        .collect();
    let kept_meta: Vec<Dependency> = reqs
        .into_iter()
        .filter(|r| !removed.contains(&r.name))
        .collect();
    for t in kept.iter_mut() {
        let sub_path = format!("{path}{}.", t.name());
        process_enabled(t, &cvals, &sub_path)?;
    }
    chart.metadata.dependencies = Some(kept_meta);
    chart.dependencies = kept;
    Ok(())
}

fn process_conditions(reqs: &mut [Dependency], cvals: &Value, cpath: &str) {
    for r in reqs.iter_mut() {
        for c in r.condition.trim().split(',') {
            if c.is_empty() {
                continue;
            }
            if let Some(Value::Bool(b)) = path_value(cvals, &format!("{cpath}{c}")) {
                r.enabled = b;
                break;
            }
        }
    }
}

fn process_tags(reqs: &mut [Dependency], cvals: &Value) {
    let Some(tags) = table(cvals, "tags") else {
        return;
    };
    for r in reqs.iter_mut() {
        let mut has_true = false;
        let mut has_false = false;
        for k in &r.tags {
            if let Some(Value::Bool(b)) = tags.get(k) {
                if b {
                    has_true = true;
                } else {
                    has_false = true;
                }
            }
        }
        if !has_true && has_false {
            r.enabled = false;
        } else if has_true || !has_false {
            r.enabled = true;
        }
    }
}

fn process_import_values(chart: &mut Chart) -> Result<()> {
    for d in chart.dependencies.iter_mut() {
        process_import_values(d)?;
    }
    let Some(reqs) = chart.metadata.dependencies.clone() else {
        return Ok(());
    };
    let cvals = merge_values(chart, &Value::map(Map::new()))?;
    let b = new_map();
    let mut new_reqs = reqs.clone();
    for (r, out) in reqs.iter().zip(new_reqs.iter_mut()) {
        let mut outiv = Vec::new();
        for iv in &r.import_values {
            match iv {
                ImportValue::Path { child, parent } => {
                    outiv.push(ImportValue::Path {
                        child: child.clone(),
                        parent: parent.clone(),
                    });
                    let Some(vv) = table(&cvals, &format!("{}.{child}", r.name)) else {
                        continue;
                    };
                    let m = path_to_map(parent, vv);
                    coalesce_tables(&b, &m, true);
                }
                ImportValue::Export(name) => {
                    let child = format!("exports.{name}");
                    outiv.push(ImportValue::Path {
                        child: child.clone(),
                        parent: ".".into(),
                    });
                    let Some(vm) = table(&cvals, &format!("{}.{child}", r.name)) else {
                        continue;
                    };
                    coalesce_tables(&b, &vm, true);
                }
                ImportValue::Other(_) => {}
            }
        }
        out.import_values = outiv;
    }
    chart.metadata.dependencies = Some(new_reqs);
    if b.is_empty() {
        // Nothing imported: no map of `cvals` is shared with `b`, so the
        // copy Helm makes here would be identical and unshared.
        chart.values = cvals;
        return Ok(());
    }
    let Value::Map(cvals) = deep_copy(&cvals) else {
        return Ok(());
    };
    coalesce_tables(&cvals, &b, true);
    chart.values = Value::Map(cvals);
    Ok(())
}

fn path_to_map(path: &str, data: MapRef) -> MapRef {
    if path == "." {
        return data;
    }
    let mut cur = data;
    for part in path.split('.').rev() {
        let mut m = Map::new();
        m.insert(part.to_string(), Value::Map(cur));
        cur = MapRef::new(m);
    }
    cur
}

/// The values a chart's templates see as `.Values`: dependencies
/// processed (on `chart`, which is updated: disabled subcharts removed,
/// aliases applied), then everything coalesced under `user`.
pub fn to_render_values(chart: &mut Chart, user: &Value) -> Result<Value> {
    process_dependencies(chart, user)?;
    coalesce_values(chart, user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::{ChartFile, Metadata, load_files};

    fn chart(values: &str) -> Chart {
        load_files(
            vec![
                ChartFile {
                    name: "Chart.yaml".into(),
                    data: b"apiVersion: v2\nname: c\nversion: 1.0.0\n".to_vec().into(),
                },
                ChartFile {
                    name: "values.yaml".into(),
                    data: values.as_bytes().to_vec().into(),
                },
            ],
            "c",
        )
        .unwrap()
    }

    #[test]
    fn user_values_precedence() {
        let file = crate::yaml::from_yaml("a: {b: 1, c: [1, 2]}\nd: x\n").unwrap();
        let uv = UserValues {
            files: vec![file],
            set: vec!["a.c[1]=9".into(), "d=1".into()],
            set_string: vec!["d=2".into()],
            set_file: vec!["e=conf.txt".into()],
        };
        let v = uv.build(&mut |p| Ok(format!("contents of {p}"))).unwrap();
        let Value::Map(m) = v else { panic!() };
        assert_eq!(m.get("d"), Some(Value::str("2")));
        assert_eq!(m.get("e"), Some(Value::str("contents of conf.txt")));
        let Some(Value::Map(a)) = m.get("a") else {
            panic!()
        };
        assert_eq!(
            a.get("c"),
            Some(Value::list(vec![Value::Float(1.0), Value::Int64(9)]))
        );
    }

    #[test]
    fn null_deletes_chart_default() {
        let c = chart("a: 1\nb: {x: 1, q: 2}\n");
        let user = crate::yaml::from_yaml("a: null\nb: {x: null}\n").unwrap();
        let v = coalesce_values(&c, &user).unwrap();
        let Value::Map(m) = v else { panic!() };
        assert!(m.get("a").is_none());
        let Some(Value::Map(b)) = m.get("b") else {
            panic!()
        };
        assert!(b.get("x").is_none());
        assert_eq!(b.get("q"), Some(Value::Float(2.0)));
        let _ = Metadata::default();
    }
}
