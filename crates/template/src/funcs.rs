//! The function registry: named closures callable from templates.
//!
//! Go checks a call's arity and argument types against the function's Go
//! signature before calling it, and its error texts depend on that signature
//! (`wrong number of args for upper: want 1 got 2`, `wrong type for value;
//! expected string; got int`). A [`Sig`] declares that signature so the
//! executor can reproduce those checks and texts exactly; the closure then
//! receives arguments already validated.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use crate::exec::CallContext;
use crate::value::Value;

/// The Go parameter type of a function argument, as far as templates care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// `interface{}`: anything, `nil` included.
    Any,
    /// `string`.
    Str,
    /// `int`.
    Int,
    /// `int64`.
    Int64,
    /// `float64`.
    Float,
    /// `bool`.
    Bool,
    /// `[]interface{}`.
    List,
    /// `map[string]interface{}`.
    Map,
}

impl Ty {
    /// The Go spelling of the type, for error messages.
    pub fn go_name(self) -> &'static str {
        match self {
            Ty::Any => "interface {}",
            Ty::Str => "string",
            Ty::Int => "int",
            Ty::Int64 => "int64",
            Ty::Float => "float64",
            Ty::Bool => "bool",
            Ty::List => "[]interface {}",
            Ty::Map => "map[string]interface {}",
        }
    }
}

/// A function's Go signature: fixed parameters, then optionally a variadic one.
#[derive(Clone, Debug, Default)]
pub struct Sig {
    /// Types of the fixed parameters.
    pub params: Vec<Ty>,
    /// Element type of the trailing `...` parameter, if any.
    pub variadic: Option<Ty>,
}

impl Sig {
    /// A signature with fixed parameters only.
    pub fn fixed(params: &[Ty]) -> Sig {
        Sig {
            params: params.to_vec(),
            variadic: None,
        }
    }

    /// A signature with fixed parameters followed by `...rest`.
    pub fn variadic(params: &[Ty], rest: Ty) -> Sig {
        Sig {
            params: params.to_vec(),
            variadic: Some(rest),
        }
    }

    /// The type expected for argument `i`.
    pub fn param(&self, i: usize) -> Ty {
        self.params
            .get(i)
            .copied()
            .or(self.variadic)
            .unwrap_or(Ty::Any)
    }
}

/// How a function call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum FuncError {
    /// The function returned an error; Go reports `error calling NAME: TEXT`.
    Call(String),
    /// An evaluation error reported verbatim at the call site (as Go does for
    /// argument conversion failures and for errors of nested templates).
    Exec(String),
}

impl From<String> for FuncError {
    fn from(s: String) -> FuncError {
        FuncError::Call(s)
    }
}

impl From<&str> for FuncError {
    fn from(s: &str) -> FuncError {
        FuncError::Call(s.to_string())
    }
}

type FnBody = dyn Fn(&mut CallContext<'_>, &[Value]) -> Result<Value, FuncError> + Send + Sync;

/// Builtins whose evaluation Go special-cases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Special {
    None,
    /// `and` / `or`: arguments evaluated lazily.
    AndOr,
    /// `call`: errors name the callee's source form.
    Call,
    /// `len`: a nil interface and an invalid value fail differently.
    Len,
}

/// A callable template function with its Go signature (cheap to clone).
#[derive(Clone)]
pub struct Function(pub(crate) Arc<FnInner>);

pub(crate) struct FnInner {
    pub(crate) body: Box<FnBody>,
    pub(crate) sig: Sig,
    /// Builtins the executor treats specially, as Go does.
    pub(crate) special: Special,
}

impl Function {
    /// A function that needs only its arguments.
    pub fn new<F>(sig: Sig, f: F) -> Function
    where
        F: Fn(&[Value]) -> Result<Value, FuncError> + Send + Sync + 'static,
    {
        Function::with_special(
            sig,
            move |_: &mut CallContext<'_>, a: &[Value]| f(a),
            Special::None,
        )
    }

    /// A function that also reaches the running execution (to run named
    /// templates or parse text at run time, as Helm's `include` and `tpl` do).
    pub fn with_context<F>(sig: Sig, f: F) -> Function
    where
        F: Fn(&mut CallContext<'_>, &[Value]) -> Result<Value, FuncError> + Send + Sync + 'static,
    {
        Function::with_special(sig, f, Special::None)
    }

    pub(crate) fn with_special<F>(sig: Sig, f: F, special: Special) -> Function
    where
        F: Fn(&mut CallContext<'_>, &[Value]) -> Result<Value, FuncError> + Send + Sync + 'static,
    {
        Function(Arc::new(FnInner {
            body: Box::new(f),
            sig,
            special,
        }))
    }

    /// The function's signature.
    pub fn sig(&self) -> &Sig {
        &self.0.sig
    }

    /// Calls the function outside a template (e.g. from another function),
    /// checking arguments as Go's `call` builtin does; `name` is used in errors.
    pub fn call_plain(
        &self,
        set: &crate::Templates,
        name: &str,
        args: &[Value],
    ) -> Result<Value, FuncError> {
        let args = self.check_call_args(name, args)?;
        crate::exec::call_detached(set, self, &args)
    }

    /// Go's `call` argument checks: count, then each value against its
    /// parameter type (integers convert between int and int64).
    pub(crate) fn check_call_args(
        &self,
        name: &str,
        args: &[Value],
    ) -> Result<Vec<Value>, FuncError> {
        let sig = &self.0.sig;
        let fixed = sig.params.len();
        if sig.variadic.is_some() {
            if args.len() < fixed {
                return Err(FuncError::Call(format!(
                    "wrong number of args for {name}: got {} want at least {fixed}",
                    args.len()
                )));
            }
        } else if args.len() != fixed {
            return Err(FuncError::Call(format!(
                "wrong number of args for {name}: got {} want {fixed}",
                args.len()
            )));
        }
        let mut out = Vec::with_capacity(args.len());
        for (i, a) in args.iter().enumerate() {
            let ty = sig.param(i);
            let v = match (ty, a) {
                (Ty::Any, v) => v.clone(),
                (Ty::List | Ty::Map, Value::Nil) => Value::Nil,
                (_, Value::Nil) => {
                    return Err(FuncError::Call(format!(
                        "arg {i}: value is nil; should be of type {}",
                        ty.go_name()
                    )));
                }
                (Ty::Str, v @ Value::Str(_))
                | (Ty::Float, v @ Value::Float(_))
                | (Ty::Bool, v @ Value::Bool(_))
                | (Ty::List, v @ Value::List(_))
                | (Ty::Map, v @ Value::Map(_)) => v.clone(),
                (Ty::Int, Value::Int(x) | Value::Int64(x)) => Value::Int(*x),
                (Ty::Int64, Value::Int(x) | Value::Int64(x)) => Value::Int64(*x),
                (ty, v) => {
                    return Err(FuncError::Call(format!(
                        "arg {i}: value has type {}; should be {}",
                        v.type_name(),
                        ty.go_name()
                    )));
                }
            };
            out.push(v);
        }
        Ok(out)
    }
}

/// A fast hash for short function names (looked up on every call); the
/// names come from templates, but a collision only costs time, and the
/// table is built by the host, not by template input.
#[derive(Default)]
pub(crate) struct NameHasher(u64);

impl Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 =
                (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
}

/// Named functions available to templates (Go's `FuncMap`).
#[derive(Clone, Default)]
pub struct FuncMap {
    map: HashMap<String, Function, BuildHasherDefault<NameHasher>>,
}

impl FuncMap {
    /// An empty registry (the builtins are always present on top of it).
    pub fn new() -> FuncMap {
        FuncMap::default()
    }

    /// Registers (or replaces) `name`.
    pub fn insert(&mut self, name: impl Into<String>, f: Function) {
        self.map.insert(name.into(), f);
    }

    /// Registers a plain closure under `name` with signature `sig`.
    pub fn add<F>(&mut self, name: &str, sig: Sig, f: F)
    where
        F: Fn(&[Value]) -> Result<Value, FuncError> + Send + Sync + 'static,
    {
        self.insert(name, Function::new(sig, f));
    }

    /// Removes `name` (Helm removes `env` and `expandenv`).
    pub fn remove(&mut self, name: &str) {
        self.map.remove(name);
    }

    /// Looks `name` up.
    pub fn get(&self, name: &str) -> Option<&Function> {
        self.map.get(name)
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.map.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// Whether `name` is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// Adds every function of `other`, replacing same-named ones.
    pub fn extend(&mut self, other: &FuncMap) {
        for (k, v) in &other.map {
            self.map.insert(k.clone(), v.clone());
        }
    }
}
