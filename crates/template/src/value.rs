//! The dynamic value carried through template execution.
//!
//! Go's engine walks arbitrary data with reflection; here data is a closed set
//! of Go-like kinds plus [`Object`], the extension point through which a host
//! (for example a Helm layer) exposes values with fields and methods such as
//! `.Files.Get "x"` without this crate knowing what they mean.

use std::collections::BTreeMap;
use std::fmt;
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
#[derive(Clone, Default)]
pub struct MapRef(Arc<RwLock<Map>>);

impl MapRef {
    /// Wraps a map.
    pub fn new(m: Map) -> MapRef {
        MapRef(Arc::new(RwLock::new(m)))
    }

    /// Read access.
    pub fn read(&self) -> RwLockReadGuard<'_, Map> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Write access (never hold a read guard of the same map meanwhile).
    pub fn write(&self) -> RwLockWriteGuard<'_, Map> {
        self.0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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
    fn type_names_are_go_names() {
        assert_eq!(Value::list(vec![]).type_name(), "[]interface {}");
        assert_eq!(
            Value::map(Map::new()).type_name(),
            "map[string]interface {}"
        );
        assert_eq!(Value::map(Map::new()).kind_name(), "map");
    }
}
