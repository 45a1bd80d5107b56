//! The dynamic value carried through template execution.
//!
//! Go's engine walks arbitrary data with reflection; here data is a closed set
//! of Go-like kinds plus [`Object`], the extension point through which a host
//! (for example a Helm layer) exposes values with fields and methods such as
//! `.Files.Get "x"` without this crate knowing what they mean.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::funcs::Function;

/// A map with string keys. Go templates iterate and print maps in key order,
/// so an ordered map keeps every walk deterministic.
pub type Map = BTreeMap<String, Value>;

/// A template value: the Go data kinds templates meet in practice.
#[derive(Clone, Default)]
pub enum Value {
    /// Go's untyped `nil` (a nil `interface{}`), e.g. a YAML `null`.
    #[default]
    Nil,
    /// A Go `bool`.
    Bool(bool),
    /// A Go `int` (what template number literals and `len` produce).
    Int(i64),
    /// A Go `int64` (what Sprig's arithmetic produces).
    Int64(i64),
    /// A Go `float64` (what JSON/YAML numbers decode to).
    Float(f64),
    /// A Go `string`.
    Str(Arc<str>),
    /// A Go `[]byte`.
    Bytes(Arc<[u8]>),
    /// A Go `[]interface{}`.
    List(Arc<Vec<Value>>),
    /// A Go `map[string]interface{}`: a shared reference, as in Go, so that
    /// Sprig's `set`, `unset` and `merge` mutate it in place.
    Map(MapRef),
    /// A host value with fields and methods (see [`Object`]).
    Object(Arc<dyn Object>),
    /// A function value, callable with the `call` builtin.
    Func(Function),
}

/// A host-provided value with named fields and methods.
///
/// Go templates resolve `.Name` on a value by first looking for a method, then
/// a field; a method at the end of a chain receives the command's arguments
/// (`.Capabilities.APIVersions.Has "apps/v1"`). Implementations decide what
/// exists; this crate only dispatches.
pub trait Object: Send + Sync {
    /// The Go type name used by `%T`, `typeOf` and error messages
    /// (e.g. `*chartutil.Capabilities`).
    fn type_name(&self) -> &str;

    /// The value of field `name`, or `None` when there is no such field.
    fn field(&self, name: &str) -> Option<Value>;

    /// Whether `name` is a method of this value.
    fn has_method(&self, _name: &str) -> bool {
        false
    }

    /// Calls method `name` with `args`. Only called when
    /// [`has_method`](Object::has_method) is true. The error text becomes
    /// `error calling NAME: TEXT` as in Go.
    fn call_method(&self, name: &str, _args: &[Value]) -> Result<Value, String> {
        Err(format!("method {name} not implemented"))
    }

    /// The number of parameters method `name` takes, for Go's arity errors
    /// (`wrong number of args for Get: want 1 got 0`). `None` means variadic
    /// or unchecked.
    fn method_arity(&self, _name: &str) -> Option<usize> {
        None
    }

    /// How `fmt`'s `%v` prints this value.
    fn format(&self) -> String {
        format!("{{{}}}", self.type_name())
    }

    /// Go's truth of this value (structs and non-nil pointers are true).
    fn truthy(&self) -> bool {
        true
    }
}

impl Value {
    /// A string value.
    pub fn str(s: impl AsRef<str>) -> Value {
        Value::Str(Arc::from(s.as_ref()))
    }

    /// A list value.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Arc::new(items))
    }

    /// A map value.
    pub fn map(m: Map) -> Value {
        Value::Map(MapRef::new(m))
    }

    /// An object value.
    pub fn object(o: impl Object + 'static) -> Value {
        Value::Object(Arc::new(o))
    }

    /// Go's truthiness: the zero value of a type and empty collections are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Object(o) => o.truthy(),
            Value::Func(_) => true,
        }
    }

    /// The Go type name, as `%T` prints it.
    pub fn type_name(&self) -> &str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::Bytes(_) => "[]uint8",
            Value::List(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::Object(o) => o.type_name(),
            Value::Func(_) => "func",
        }
    }

    /// The Go reflect kind name (Sprig's `kindOf`).
    pub fn kind_name(&self) -> &str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::Bytes(_) | Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Object(o) => {
                if o.type_name().starts_with('*') {
                    "ptr"
                } else {
                    "struct"
                }
            }
            Value::Func(_) => "func",
        }
    }

    /// The string inside a `Str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer inside an `Int` or `Int64`.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) | Value::Int64(i) => Some(*i),
            _ => None,
        }
    }

    /// Whether this is `Nil`.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// Go's `fmt.Sprint` of this single value (`%v`).
    pub fn to_go_string(&self) -> String {
        let mut s = String::new();
        crate::gofmt::write_value(&mut s, self, crate::gofmt::Plus::No);
        s
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.type_name(), self.to_go_string())
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_go_string())
    }
}

impl PartialEq for Value {
    /// Structural equality; numbers of different Go types are unequal, as in Go.
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) | (Value::Int64(a), Value::Int64(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Bytes(a), Value::Bytes(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => a.ptr_eq(b) || *a.read() == *b.read(),
            (Value::Object(a), Value::Object(b)) => Arc::ptr_eq(a, b),
            (Value::Func(a), Value::Func(b)) => Arc::ptr_eq(&a.0, &b.0),
            _ => false,
        }
    }
}

/// A shared, mutable `map[string]interface{}` (Go maps are references).
///
/// A map can also be a deep copy not made yet ([`MapRef::frozen_copy`]): Helm
/// copies a chart's default values on every render, although templates read
/// only part of them and write almost none. Such a map copies its entries
/// from its source on first access, each nested map again becoming a copy not
/// made yet, so untouched subtrees are never copied.
#[derive(Clone, Default)]
pub struct MapRef(Arc<MapCell>);

#[derive(Default)]
struct MapCell {
    inner: RwLock<Inner>,
    /// Whether `inner.pending` is set: lets every access but the first skip
    /// the write lock.
    pending: AtomicBool,
}

#[derive(Default)]
struct Inner {
    map: Map,
    /// The copy still to make (`map` is empty meanwhile).
    pending: Option<Pending>,
}

struct Pending {
    source: MapRef,
    /// Whether `nil` entries are left out, at every depth of nested maps
    /// ([`MapRef::remove_nils_deep`] on a copy not made yet).
    drop_nils: bool,
}

/// Read access to a map's entries (see [`MapRef::read`]).
pub struct MapReadGuard<'a>(RwLockReadGuard<'a, Inner>);

impl std::ops::Deref for MapReadGuard<'_> {
    type Target = Map;
    fn deref(&self) -> &Map {
        &self.0.map
    }
}

/// Write access to a map's entries (see [`MapRef::write`]).
pub struct MapWriteGuard<'a>(RwLockWriteGuard<'a, Inner>);

impl std::ops::Deref for MapWriteGuard<'_> {
    type Target = Map;
    fn deref(&self) -> &Map {
        &self.0.map
    }
}

impl std::ops::DerefMut for MapWriteGuard<'_> {
    fn deref_mut(&mut self) -> &mut Map {
        &mut self.0.map
    }
}

/// A value as [`MapRef::frozen_copy`] copies it: maps (also inside lists)
/// become copies not made yet, everything else is immutable and shared.
fn frozen_copy_value(v: &Value, drop_nils: bool) -> Value {
    match v {
        Value::Map(m) => Value::Map(m.copy_later(drop_nils)),
        Value::List(l) if l.iter().any(holds_map) => {
            Value::list(l.iter().map(|e| frozen_copy_value(e, false)).collect())
        }
        other => other.clone(),
    }
}

/// A value as [`MapRef::deep_copy`] copies it (nils dropped from maps,
/// not from lists, when asked).
/// A deep copy: new maps all the way down (Go's `copystructure.Copy`).
///
/// Lists are immutable (changed only by copying), so a list with no map
/// anywhere inside is shared rather than copied.
pub fn deep_copy(v: &Value) -> Value {
    deep_copy_value(v, false)
}

fn deep_copy_value(v: &Value, drop_nils: bool) -> Value {
    match v {
        Value::Map(m) => Value::Map(m.deep_copy_dropping(drop_nils)),
        Value::List(l) if l.iter().any(holds_map) => {
            Value::list(l.iter().map(|e| deep_copy_value(e, false)).collect())
        }
        other => other.clone(),
    }
}

/// Whether `v` is or contains a map (the only values shared by reference).
fn holds_map(v: &Value) -> bool {
    match v {
        Value::Map(_) => true,
        Value::List(l) => l.iter().any(holds_map),
        _ => false,
    }
}

impl MapRef {
    /// Wraps a map.
    pub fn new(m: Map) -> MapRef {
        MapRef(Arc::new(MapCell {
            inner: RwLock::new(Inner {
                map: m,
                pending: None,
            }),
            pending: AtomicBool::new(false),
        }))
    }

    /// A deep copy of this map (new maps all the way down, as Go's
    /// `copystructure.Copy` makes), made lazily: each map is copied when
    /// first accessed. The source must not change afterwards (the copy
    /// would see the change): use it for values nothing writes to, such as
    /// a loaded chart's defaults.
    pub fn frozen_copy(&self) -> MapRef {
        self.copy_later(false)
    }

    fn copy_later(&self, drop_nils: bool) -> MapRef {
        MapRef(Arc::new(MapCell {
            inner: RwLock::new(Inner {
                map: Map::new(),
                pending: Some(Pending {
                    source: self.clone(),
                    drop_nils,
                }),
            }),
            pending: AtomicBool::new(true),
        }))
    }

    /// Makes a pending copy. The source is locked while this map's write
    /// lock is held; sources never wait on their copies, so this cannot
    /// deadlock.
    fn materialize(&self) {
        if !self.0.pending.load(Ordering::Acquire) {
            return;
        }
        let mut inner = self
            .0
            .inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(p) = inner.pending.take() {
            // Cloning the tree keeps its shape (no sorting of entries).
            let mut map = p.source.read().clone();
            if p.drop_nils {
                map.retain(|_, v| !v.is_nil());
            }
            for v in map.values_mut() {
                if matches!(v, Value::Map(_) | Value::List(_)) {
                    *v = frozen_copy_value(v, p.drop_nils);
                }
            }
            inner.map = map;
        }
        self.0.pending.store(false, Ordering::Release);
    }

    /// A deep copy made now (new maps all the way down, as Go's
    /// `copystructure.Copy` makes). A copy not made yet is copied from its
    /// source directly, without being made first.
    pub fn deep_copy(&self) -> MapRef {
        self.deep_copy_dropping(false)
    }

    fn deep_copy_dropping(&self, drop_nils: bool) -> MapRef {
        let pending = if self.0.pending.load(Ordering::Acquire) {
            self.0
                .inner
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .pending
                .as_ref()
                .map(|p| (p.source.clone(), p.drop_nils))
        } else {
            None
        };
        if let Some((source, dropping)) = pending {
            return source.deep_copy_dropping(drop_nils || dropping);
        }
        let mut map = self.read().clone();
        if drop_nils {
            map.retain(|_, v| !v.is_nil());
        }
        for v in map.values_mut() {
            if matches!(v, Value::Map(_) | Value::List(_)) {
                *v = deep_copy_value(v, drop_nils);
            }
        }
        MapRef::new(map)
    }

    /// Removes `nil` entries from this map and, recursively, from the maps
    /// it holds (not from maps inside lists), as Helm's coalescing does to
    /// chart defaults; on a copy not made yet, when it is made.
    pub fn remove_nils_deep(&self) {
        let children: Vec<MapRef> = {
            let mut inner = self
                .0
                .inner
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(p) = &mut inner.pending {
                p.drop_nils = true;
                return;
            }
            inner.map.retain(|_, v| !v.is_nil());
            inner
                .map
                .values()
                .filter_map(|v| match v {
                    Value::Map(m) => Some(m.clone()),
                    _ => None,
                })
                .collect()
        };
        for c in children {
            c.remove_nils_deep();
        }
    }

    /// Read access.
    pub fn read(&self) -> MapReadGuard<'_> {
        self.materialize();
        MapReadGuard(
            self.0
                .inner
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Write access (never hold a read guard of the same map meanwhile).
    pub fn write(&self) -> MapWriteGuard<'_> {
        self.materialize();
        MapWriteGuard(
            self.0
                .inner
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.read().get(key).cloned()
    }

    /// A copy of the entries (shallow: nested maps stay shared).
    pub fn snapshot(&self) -> Map {
        self.read().clone()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// Whether both handles refer to the same map.
    pub fn ptr_eq(&self, other: &MapRef) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// JSON data as Go's `encoding/json` decodes it into `interface{}`: every
/// number becomes a float64 (which is also what Helm's values hold).
impl From<&serde_json::Value> for Value {
    fn from(j: &serde_json::Value) -> Value {
        crate::sprig::from_json_value(j)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::str(s)
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(Arc::from(s))
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Float(f)
    }
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Value {
        Value::list(v)
    }
}
impl From<Map> for Value {
    fn from(m: Map) -> Value {
        Value::map(m)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn truthiness_follows_go() {
        assert!(!Value::Nil.truthy());
        assert!(!Value::Int(0).truthy());
        assert!(Value::Float(0.5).truthy());
        assert!(!Value::str("").truthy());
        assert!(!Value::list(vec![]).truthy());
        assert!(Value::list(vec![Value::Nil]).truthy());
    }

    #[test]
    fn values_stay_small() {
        // Values are copied through every pipeline stage.
        assert!(std::mem::size_of::<Value>() <= 24);
    }

    #[test]
    fn frozen_copies_are_deep_and_lazy() {
        let inner = Value::map(Map::from([
            ("n".to_string(), Value::Nil),
            ("x".to_string(), Value::Int(1)),
        ]));
        let listed = Value::map(Map::from([("y".to_string(), Value::Int(2))]));
        let src = MapRef::new(Map::from([
            ("a".to_string(), inner.clone()),
            ("l".to_string(), Value::list(vec![listed.clone()])),
            ("z".to_string(), Value::Nil),
        ]));
        let copy = src.frozen_copy();
        assert!(*copy.read() == *src.read());
        // Writes to the copy, at any depth, leave the source alone.
        let Some(Value::Map(a)) = copy.get("a") else {
            panic!()
        };
        assert!(!a.ptr_eq(match &inner {
            Value::Map(m) => m,
            _ => unreachable!(),
        }));
        a.write().insert("x".into(), Value::Int(9));
        let Some(Value::List(l)) = copy.get("l") else {
            panic!()
        };
        let Value::Map(lm) = &l[0] else { panic!() };
        lm.write().insert("y".into(), Value::Int(7));
        assert_eq!(
            src.read().get("a").map(|v| v.to_go_string()),
            Some("map[n:<nil> x:1]".to_string())
        );
        assert_eq!(listed.to_go_string(), "map[y:2]");
        // Nils go at every depth, whether the copy is made yet or not.
        let pending = src.frozen_copy();
        pending.remove_nils_deep();
        assert_eq!(
            Value::Map(pending.clone()).to_go_string(),
            "map[a:map[x:1] l:[map[y:2]]]"
        );
        // Copied straight from the source, the copy not being made yet.
        let unmade = src.frozen_copy();
        unmade.remove_nils_deep();
        let copied = unmade.deep_copy();
        assert_eq!(
            Value::Map(copied.clone()).to_go_string(),
            "map[a:map[x:1] l:[map[y:2]]]"
        );
        copied.write().insert("w".into(), Value::Int(1));
        assert_eq!(src.len(), 3);
        let made = src.frozen_copy();
        let _ = made.len();
        made.remove_nils_deep();
        assert_eq!(
            Value::Map(made).to_go_string(),
            "map[a:map[x:1] l:[map[y:2]]]"
        );
        assert_eq!(src.len(), 3);
    }

    #[test]
    fn type_names_are_go_names() {
        assert_eq!(Value::list(vec![]).type_name(), "[]interface {}");
        assert_eq!(
            Value::map(Map::new()).type_name(),
            "map[string]interface {}"
        );
        assert_eq!(Value::map(Map::new()).kind_name(), "map");
    }
}
