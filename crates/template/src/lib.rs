//! Go's `text/template` and the Sprig function library, in Rust.
//!
//! Parse once into a syntax tree ([`Templates::parse`]), execute many times
//! ([`Templates::execute`], `&self`, safe from many threads). The crate knows
//! nothing of Kubernetes or Helm: a host exposes its own values through
//! [`Object`] (fields and methods, e.g. `.Files.Get "x"`) and its own
//! functions through [`FuncMap`] (plain closures, or closures that reach the
//! running execution through [`CallContext`] as `include` and `tpl` must).
//!
//! ```
//! use trellis_template::{Templates, Value, Map, sprig};
//! let mut t = Templates::new("demo");
//! t.funcs(&sprig::funcs());
//! t.parse("demo", r#"{{ range $k, $v := . }}{{ $k }}={{ $v | quote }} {{ end }}"#).unwrap();
//! let mut data = Map::new();
//! data.insert("b".into(), Value::Int(2));
//! data.insert("a".into(), Value::str("x"));
//! assert_eq!(t.execute("demo", &Value::map(data)).unwrap(), r#"a="x" b="2" "#);
//! ```
//!
//! # Hosting Helm on it
//!
//! The Helm layer adds its functions through [`FuncMap`]; those that run
//! templates get a [`CallContext`]. `include` is a named-template call:
//!
//! ```
//! use trellis_template::{CallContext, FuncError, FuncMap, Function, Sig, Templates, Ty, Value};
//! let mut helm = FuncMap::new();
//! helm.insert("include", Function::with_context(Sig::fixed(&[Ty::Str, Ty::Any]), |ctx: &mut CallContext<'_>, a: &[Value]| {
//!     ctx.execute_template(a[0].as_str().unwrap_or_default(), &a[1])
//!         .map(Value::from)
//!         .map_err(|e| FuncError::Call(e.to_string()))
//! }));
//! let mut t = Templates::new("chart");
//! t.funcs(&helm);
//! t.parse("chart/templates/_helpers.tpl", r#"{{ define "name" }}web{{ end }}"#).unwrap();
//! t.parse("chart/templates/a.yaml", r#"name: {{ include "name" . }}"#).unwrap();
//! assert_eq!(t.execute("chart/templates/a.yaml", &Value::Nil).unwrap(), "name: web");
//! ```
//!
//! `tpl` clones the set ([`CallContext::templates`]), parses its text into the
//! clone and runs it with [`CallContext::execute`]; `.Files` and
//! `.Capabilities` are [`Object`]s; Helm's `missingkey=zero` is
//! [`MissingKey::Zero`], and replacing `<no value>` in the output is the
//! host's step, as in Helm.
//!
//! # Why our own core rather than the `gotmpl` crate
//!
//! `gotmpl` 0.6 was evaluated as the core. It is a careful port with a wide
//! Go cross-check suite, but three of its design points do not fit what Helm
//! charts need, and each would have meant forking it:
//!
//! - **No method calls and no host values.** Its `Value` is a closed enum;
//!   there is no way to expose `.Files.Get "x"` or
//!   `.Capabilities.APIVersions.Has "apps/v1"`, which charts use constantly.
//!   Here [`Value::Object`] holds a trait object with fields and methods,
//!   dispatched exactly where Go's reflection would find them.
//! - **Go-exact errors depend on static types and signatures.** Helm users
//!   see Go's messages verbatim (`nil pointer evaluating interface {}.x`,
//!   `can't evaluate field x in type interface {}`, `wrong type for value;
//!   expected string; got int`, `expected integer; found "x"`). They depend on
//!   whether a value came out of a map (static type `interface {}`), on the
//!   difference between a missing key (invalid value) and a present `nil`,
//!   and on each function's Go parameter types. Functions here declare a
//!   [`Sig`] so the executor reproduces Go's argument checks and texts.
//! - **Execution needs to re-enter the template set.** Helm's `include` and
//!   `tpl` run named templates and parse text at run time from inside a
//!   function; [`CallContext`] gives functions that access, with depth, step
//!   and output bounds carried across.
//!
//! Its builder-style, consume-on-parse API also clashes with a set that keeps
//! receiving files and run-time parses. No code of it is used.
//!
//! # How correctness is checked
//!
//! `tests/golden.py` renders every case of `tests/it/golden/*.txt` with real
//! Helm (its Go SDK from PyPI) and stores outputs and error texts; the `it`
//! test binary requires byte-identical results (Helm's layout of error texts
//! is applied in the test, since Helm rewrites Go's errors).
//!
//! # Deviations from Go
//!
//! - Maps are `map[string]interface{}` only and iterate sorted everywhere
//!   (Go sorts in `range` and `fmt`, not in Sprig's `keys`; see [`sprig`]).
//! - Unsigned and complex numbers do not exist.
//! - Execution is bounded ([`Options`]): template depth (default 1000, Go's
//!   is 100000), steps and output size. Parsing rejects nesting of control
//!   structures or parentheses deeper than 200 ("max expression depth
//!   exceeded").
//! - The causes in a few error texts are worded differently from Go's:
//!   malformed regular expressions (Sprig's `regex*`), invalid JSON
//!   (`fromJson`) and some malformed number literals. Locations match.

#![warn(missing_docs)]

mod builtins;
mod error;
mod exec;
mod funcs;
mod gofmt;
mod lex;
mod parse;
pub mod sprig;
mod value;

pub use builtins::{html_escape, js_escape, query_escape};
pub use error::{Error, ExecError};
pub use exec::{CallContext, MissingKey, Options, Templates};
pub use funcs::{FuncError, FuncMap, Function, Sig, Ty};
pub use gofmt::{format_g, quote, sprint, sprintf, sprintln};
pub use value::{Map, MapReadGuard, MapRef, MapWriteGuard, Object, Value, deep_copy};
