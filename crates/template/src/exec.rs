//! Execution: walks a parsed tree against data, writing text.
//!
//! The walk mirrors Go's `text/template/exec.go` step for step, because its
//! observable behaviour hangs on details: a missing map key is an *invalid*
//! value (printed `<no value>`, silently absorbing further field access) while
//! a present `nil` in a map is a nil *interface* (further field access fails
//! with `nil pointer evaluating interface {}.x`); values fetched from maps and
//! lists keep the static type `interface {}` for error messages until a
//! pipeline or variable unwraps them.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use crate::error::{Error, ExecError};
use crate::funcs::{FuncError, FuncMap, Function, NameHasher, Ty};
use crate::gofmt;
use crate::parse::{self, Arg, Branch, Command, Node, Pipe, Source, Tree};
use crate::value::Value;

/// What a lookup of a missing map key yields (Go's `missingkey` option).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissingKey {
    /// An invalid value, printed as `<no value>` (Go's default).
    #[default]
    Default,
    /// The zero value of the map's element type: a nil interface, which
    /// fails further field access (what Helm uses).
    Zero,
    /// An error: `map has no entry for key "x"`.
    Error,
}

/// Execution settings and the bounds that keep hostile templates in check.
#[derive(Clone, Debug)]
pub struct Options {
    /// Behaviour on missing map keys.
    pub missing_key: MissingKey,
    /// Maximum nesting of template calls (`{{template}}`, `include`).
    pub max_depth: usize,
    /// Maximum evaluation steps of one execution.
    pub max_steps: u64,
    /// Maximum bytes of output of one execution.
    pub max_output: usize,
    /// Left action delimiter.
    pub left_delim: String,
    /// Right action delimiter.
    pub right_delim: String,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            missing_key: MissingKey::Default,
            max_depth: 1000,
            max_steps: 50_000_000,
            max_output: 256 << 20,
            left_delim: "{{".into(),
            right_delim: "}}".into(),
        }
    }
}

/// A set of named templates sharing functions and options: parse once,
/// execute many times (and from many threads: execution takes `&self`).
#[derive(Clone)]
pub struct Templates {
    name: String,
    trees: HashMap<String, Arc<Tree>, BuildHasherDefault<NameHasher>>,
    // Shared so that cloning a set (as a run-time parse must) stays cheap.
    funcs: Arc<FuncMap>,
    options: Options,
}

impl Default for Templates {
    fn default() -> Templates {
        Templates::new("")
    }
}

impl Templates {
    /// An empty set named `name` with Go's builtin functions.
    pub fn new(name: &str) -> Templates {
        Templates {
            name: name.to_string(),
            trees: HashMap::default(),
            funcs: Arc::new(crate::builtins::builtins()),
            options: Options::default(),
        }
    }

    /// Adds functions (replacing same-named ones, builtins included, as Go does).
    pub fn funcs(&mut self, funcs: &FuncMap) -> &mut Templates {
        Arc::make_mut(&mut self.funcs).extend(funcs);
        self
    }

    /// The function registry in use.
    pub fn func_map(&self) -> &FuncMap {
        &self.funcs
    }

    /// Sets the options. Nested template calls use stack: at the default
    /// `max_depth` of 1000, deeply recursive templates need up to about 8 MB
    /// of stack in unoptimized builds (much less optimized), so run such
    /// executions on threads with enough stack or lower the bound.
    pub fn set_options(&mut self, options: Options) -> &mut Templates {
        self.options = options;
        self
    }

    /// The options in use.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Applies a Go option string: `missingkey=default|invalid|zero|error`.
    pub fn option(&mut self, opt: &str) -> Result<&mut Templates, Error> {
        let mk = match opt {
            "missingkey=default" | "missingkey=invalid" => MissingKey::Default,
            "missingkey=zero" => MissingKey::Zero,
            "missingkey=error" => MissingKey::Error,
            _ => return Err(Error::Parse(format!("unrecognized option: {opt}"))),
        };
        self.options.missing_key = mk;
        Ok(self)
    }

    /// Parses `text` as the template `name`, adding it and every template it
    /// `define`s to the set. A later definition of a name replaces an earlier
    /// one, except that an empty body never replaces a non-empty one (Go's rule).
    pub fn parse(&mut self, name: &str, text: &str) -> Result<&mut Templates, Error> {
        let funcs = &self.funcs;
        let parsed = parse::parse(
            name,
            text,
            &self.options.left_delim,
            &self.options.right_delim,
            &|f| funcs.contains(f),
        )
        .map_err(Error::Parse)?;
        for (n, tree) in parsed.trees {
            if let Some(old) = self.trees.get(&n)
                && tree.is_empty()
                && !old.is_empty()
            {
                continue;
            }
            self.trees.insert(n, Arc::new(tree));
        }
        Ok(self)
    }

    /// Whether a template `name` exists.
    pub fn contains(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }

    /// Names of all templates, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.trees.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// Executes template `name` with `data` as dot, returning the output.
    pub fn execute(&self, name: &str, data: &Value) -> Result<String, Error> {
        let mut out = String::new();
        self.execute_into(name, data, &mut out)?;
        Ok(out)
    }

    /// Executes template `name`, appending to `out` (partial output stays on error).
    pub fn execute_into(&self, name: &str, data: &Value, out: &mut String) -> Result<(), Error> {
        let mut budget = Budget {
            steps: 0,
            out_base: out.len(),
            spare_args: Vec::new(),
        };
        run(self, name, data, out, 0, &mut budget)
    }
}

/// Calls `f` outside any execution (no template context beyond `set`).
pub(crate) fn call_detached(
    set: &Templates,
    f: &Function,
    args: &[Value],
) -> Result<Value, FuncError> {
    let mut budget = Budget {
        steps: 0,
        out_base: 0,
        spare_args: Vec::new(),
    };
    let mut ctx = CallContext {
        set,
        depth: 0,
        budget: &mut budget,
    };
    (f.0.body)(&mut ctx, args)
}

struct Budget {
    steps: u64,
    out_base: usize,
    /// Argument stacks of finished nested executions, reused by the next
    /// ones (an `include` would otherwise allocate one each time).
    spare_args: Vec<Vec<Value>>,
}

fn run(
    set: &Templates,
    name: &str,
    data: &Value,
    out: &mut String,
    depth: usize,
    budget: &mut Budget,
) -> Result<(), Error> {
    let Some((name, tree)) = set.trees.get_key_value(name) else {
        return Err(Error::NoTemplate {
            name: name.to_string(),
            set: set.name.clone(),
        });
    };
    if depth == 0 {
        // A template's output is usually about as long as its text (whole
        // CRDs are text), so growing the buffer step by step would copy it
        // several times.
        out.reserve(tree.source.text.len());
    }
    let dot = Val::plain(Some(data.clone()).filter(|v| !v.is_nil()));
    let args = budget.spare_args.pop().unwrap_or_default();
    let mut st = State {
        set,
        out,
        vars: smallvec::smallvec![("$", dot.clone())],
        args,
        name,
        source: &tree.source,
        node: None,
        depth,
        budget,
    };
    let r = st.walk(&dot, &tree.root).map(|_| ()).map_err(|e| *e);
    let State {
        args: mut spare,
        budget,
        ..
    } = st;
    spare.clear();
    budget.spare_args.push(spare);
    r
}

/// What a function sees of the running execution.
pub struct CallContext<'s> {
    set: &'s Templates,
    depth: usize,
    budget: &'s mut Budget,
}

impl CallContext<'_> {
    /// The template set being executed.
    pub fn templates(&self) -> &Templates {
        self.set
    }

    /// Executes template `name` of the running set with `data`, one call
    /// level deeper (what Helm's `include` does).
    pub fn execute_template(&mut self, name: &str, data: &Value) -> Result<String, Error> {
        let set = self.set;
        self.execute(set, name, data)
    }

    /// Executes `name` from `set` (the running set or a derived one, e.g. with
    /// text parsed at run time) with `data`, one call level deeper; depth and
    /// step bounds carry over.
    pub fn execute(&mut self, set: &Templates, name: &str, data: &Value) -> Result<String, Error> {
        if self.depth + 1 >= set.options.max_depth {
            return Err(Error::Limit {
                template: name.to_string(),
                message: format!(
                    "exceeded maximum template depth ({})",
                    set.options.max_depth
                ),
            });
        }
        // Sized for a typical helper's output (a name, a block of labels).
        let mut out = String::with_capacity(128);
        // The nested output is bounded on its own (its base is the empty string).
        let base = std::mem::replace(&mut self.budget.out_base, 0);
        let r = run(set, name, data, &mut out, self.depth + 1, self.budget);
        self.budget.out_base = base;
        r.map(|_| out)
    }
}

/// A value in flight: `None` is Go's invalid value; `boxed` records that the
/// static type is `interface {}` (fetched from a map or list).
#[derive(Clone, Debug)]
struct Val {
    v: Option<Value>,
    boxed: bool,
}

impl Val {
    fn plain(v: Option<Value>) -> Val {
        Val { v, boxed: false }
    }
    fn boxed(v: Value) -> Val {
        Val {
            v: Some(v),
            boxed: true,
        }
    }
    fn invalid() -> Val {
        Val {
            v: None,
            boxed: false,
        }
    }
    /// What a pipeline stage does: strip the interface, nil becoming invalid.
    fn dig(self) -> Val {
        match self.v {
            Some(Value::Nil) | None => Val::invalid(),
            v => Val { v, boxed: false },
        }
    }
    fn truthy(&self) -> bool {
        self.v.as_ref().is_some_and(Value::truthy)
    }
    fn type_name(&self) -> &str {
        if self.boxed {
            return "interface {}";
        }
        match &self.v {
            Some(v) => v.type_name(),
            None => "<nil>",
        }
    }
}

enum Flow {
    Normal,
    Break,
    Continue,
}

#[derive(Clone, Copy)]
enum At<'a> {
    Node(&'a Node),
    Arg(&'a Arg),
    Cmd(&'a Command),
    Pipe(&'a Pipe),
}

impl At<'_> {
    fn pos(&self) -> usize {
        match self {
            At::Node(n) => match n {
                Node::Text(_) => 0,
                Node::Action { pos, .. }
                | Node::Template { pos, .. }
                | Node::Break(pos)
                | Node::Continue(pos) => *pos,
                Node::If(b) | Node::With(b) | Node::Range(b) => b.pos,
            },
            At::Arg(a) => a.pos(),
            At::Cmd(c) => c.pos,
            At::Pipe(p) => p.pos,
        }
    }
    fn describe(&self) -> String {
        match self {
            At::Node(n) => n.describe(),
            At::Arg(a) => a.to_string(),
            At::Cmd(c) => c.to_string(),
            At::Pipe(p) => p.to_string(),
        }
    }
}

enum Callee<'v> {
    Func(&'v Function),
    Method(&'v Arc<dyn crate::value::Object>),
}

struct State<'a, 'o> {
    set: &'a Templates,
    out: &'o mut String,
    /// Variables in scope, innermost last (inline for the usual few: an
    /// execution per `include` would otherwise allocate).
    vars: smallvec::SmallVec<[(&'a str, Val); 4]>,
    /// Evaluated arguments of the calls in progress.
    args: Vec<Value>,
    name: &'a str,
    source: &'a Source,
    node: Option<At<'a>>,
    depth: usize,
    budget: &'o mut Budget,
}

// Boxed so that the `Result`s returned on every evaluation step stay small.
type R<T> = Result<T, Box<Error>>;

impl<'a> State<'a, '_> {
    fn at(&mut self, n: At<'a>) {
        self.node = Some(n);
    }

    fn errorf<T>(&self, msg: impl Into<String>) -> R<T> {
        let (location, context) = match &self.node {
            // Older Go cut the context to 20 bytes; the Go Helm builds with does not.
            Some(n) => (Some(self.source.location(n.pos())), Some(n.describe())),
            None => (None, None),
        };
        Err(Box::new(Error::Exec(Box::new(ExecError {
            template: self.name.to_string(),
            location,
            context,
            message: msg.into(),
        }))))
    }

    fn step(&mut self) -> R<()> {
        self.budget.steps += 1;
        if self.budget.steps > self.set.options.max_steps {
            return Err(Box::new(Error::Limit {
                template: self.name.to_string(),
                message: format!(
                    "exceeded maximum execution steps ({})",
                    self.set.options.max_steps
                ),
            }));
        }
        Ok(())
    }

    fn write(&mut self, s: &str) -> R<()> {
        if self.out.len() + s.len() > self.budget.out_base + self.set.options.max_output {
            return Err(Box::new(Error::Limit {
                template: self.name.to_string(),
                message: format!(
                    "output exceeds maximum size ({} bytes)",
                    self.set.options.max_output
                ),
            }));
        }
        self.out.push_str(s);
        Ok(())
    }

    fn walk(&mut self, dot: &Val, list: &'a [Node]) -> R<Flow> {
        for n in list {
            match self.walk_node(dot, n)? {
                Flow::Normal => {}
                f => return Ok(f),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk_node(&mut self, dot: &Val, node: &'a Node) -> R<Flow> {
        self.step()?;
        self.at(At::Node(node));
        match node {
            Node::Text(t) => self.write(t)?,
            Node::Action { pipe, .. } => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.at(At::Node(node));
                    self.print_value(&v)?;
                }
            }
            Node::If(b) => return self.walk_if_with(dot, b, false),
            Node::With(b) => return self.walk_if_with(dot, b, true),
            Node::Range(b) => return self.walk_range(dot, node, b),
            Node::Template { name, pipe, .. } => {
                self.walk_template(dot, node, name, pipe.as_ref())?
            }
            Node::Break(_) => return Ok(Flow::Break),
            Node::Continue(_) => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn print_value(&mut self, v: &Val) -> R<()> {
        match &v.v {
            None => self.write("<no value>"),
            Some(Value::Str(s)) => self.write(s),
            Some(Value::Func(_)) => {
                let n = self.node.map(|n| n.describe()).unwrap_or_default();
                self.errorf(format!("can't print {n} of type func"))
            }
            Some(v) => {
                let s = v.to_go_string();
                self.write(&s)
            }
        }
    }

    fn walk_if_with(&mut self, dot: &Val, b: &'a Branch, with: bool) -> R<Flow> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let r = if val.truthy() {
            if with {
                self.walk(&val, &b.list)
            } else {
                self.walk(dot, &b.list)
            }
        } else if let Some(el) = &b.else_list {
            self.walk(dot, el)
        } else {
            Ok(Flow::Normal)
        };
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, dot: &Val, node: &'a Node, r: &'a Branch) -> R<Flow> {
        self.at(At::Node(node));
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &r.pipe)?;
        let body_mark = self.vars.len();
        let ndecl = r.pipe.decl.len();
        let mut iterated = false;
        // Lazy where the source is large or unbounded (ints), so that a hostile
        // `range 1000000000` is stopped by the step bound, not by memory.
        let items: Box<dyn Iterator<Item = (Value, Val)>> = match &val.v {
            None | Some(Value::Nil) => Box::new(std::iter::empty()),
            Some(Value::List(l)) => {
                let l = l.clone();
                Box::new(
                    (0..l.len()).map(move |i| (Value::Int(i as i64), Val::boxed(l[i].clone()))),
                )
            }
            Some(Value::Bytes(b)) => {
                let b = b.clone();
                Box::new((0..b.len()).map(move |i| {
                    (
                        Value::Int(i as i64),
                        Val::plain(Some(Value::Int(i64::from(b[i])))),
                    )
                }))
            }
            Some(Value::Map(m)) => {
                let entries: Vec<(Value, Val)> = m
                    .read()
                    .iter()
                    .map(|(k, e)| (Value::str(k), Val::boxed(e.clone())))
                    .collect();
                Box::new(entries.into_iter())
            }
            Some(Value::Int(n)) | Some(Value::Int64(n)) => {
                if ndecl > 1 {
                    return self.errorf(format!(
                        "can't use {} to iterate over more than one variable",
                        val.v.as_ref().map(Value::to_go_string).unwrap_or_default()
                    ));
                }
                let int64 = matches!(val.v, Some(Value::Int64(_)));
                Box::new((0..(*n).max(0)).map(move |i| {
                    let v = if int64 {
                        Value::Int64(i)
                    } else {
                        Value::Int(i)
                    };
                    (v.clone(), Val::plain(Some(v)))
                }))
            }
            Some(other) => {
                return self.errorf(format!("range can't iterate over {}", other.to_go_string()));
            }
        };
        for (idx, elem) in items {
            self.step()?;
            iterated = true;
            if ndecl > 0 {
                self.set_range_var(r, ndecl - 1, elem.clone().dig_keep())?;
            }
            if ndecl > 1 {
                self.set_range_var(r, 0, Val::plain(Some(idx)))?;
            }
            let flow = self.walk(&elem, &r.list)?;
            self.vars.truncate(body_mark);
            match flow {
                Flow::Break => break,
                Flow::Continue | Flow::Normal => {}
            }
        }
        if !iterated && let Some(el) = &r.else_list {
            let f = self.walk(dot, el);
            self.vars.truncate(mark);
            return f;
        }
        self.vars.truncate(mark);
        Ok(Flow::Normal)
    }

    fn set_range_var(&mut self, r: &Branch, i: usize, v: Val) -> R<()> {
        if r.pipe.is_assign {
            self.set_var(&r.pipe.decl[i], v)
        } else {
            let n = self.vars.len();
            let k = r.pipe.decl.len() - i;
            self.vars[n - k].1 = v;
            Ok(())
        }
    }

    fn walk_template(
        &mut self,
        dot: &Val,
        node: &'a Node,
        name: &'a str,
        pipe: Option<&'a Pipe>,
    ) -> R<()> {
        self.at(At::Node(node));
        let Some(tree) = self.set.trees.get(name) else {
            return self.errorf(format!("template {} not defined", gofmt::quote(name)));
        };
        if self.depth + 1 >= self.set.options.max_depth {
            return self.errorf(format!(
                "exceeded maximum template depth ({})",
                self.set.options.max_depth
            ));
        }
        let new_dot = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Val::invalid(),
        };
        let saved_vars =
            std::mem::replace(&mut self.vars, smallvec::smallvec![("$", new_dot.clone())]);
        let saved_name = std::mem::replace(&mut self.name, name);
        let saved_source = std::mem::replace(&mut self.source, &tree.source);
        self.depth += 1;
        let r = self.walk(&new_dot, &tree.root);
        self.depth -= 1;
        self.vars = saved_vars;
        self.name = saved_name;
        self.source = saved_source;
        r.map(|_| ())
    }

    fn var_value(&self, name: &str) -> R<Val> {
        for (n, v) in self.vars.iter().rev() {
            if *n == name {
                return Ok(v.clone());
            }
        }
        self.errorf(format!("undefined variable: {name}"))
    }

    fn set_var(&mut self, name: &str, v: Val) -> R<()> {
        for (n, slot) in self.vars.iter_mut().rev() {
            if *n == name {
                *slot = v;
                return Ok(());
            }
        }
        self.errorf(format!("undefined variable: {name}"))
    }

    fn eval_pipeline(&mut self, dot: &Val, pipe: &'a Pipe) -> R<Val> {
        self.at(At::Pipe(pipe));
        let mut value: Option<Val> = None;
        for cmd in &pipe.cmds {
            let v = self.eval_command(dot, cmd, value.take())?;
            value = Some(v.dig());
        }
        let value = value.unwrap_or_else(Val::invalid);
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone())?;
            } else {
                self.vars.push((name.as_str(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], final_: &Option<Val>) -> R<()> {
        if args.len() > 1 || final_.is_some() {
            return self.errorf(format!("can't give argument to non-function {}", args[0]));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Val, cmd: &'a Command, final_: Option<Val>) -> R<Val> {
        self.step()?;
        let first = &cmd.args[0];
        match first {
            Arg::Field { idents, .. } => {
                self.at(At::Arg(first));
                return self.eval_field_chain(dot, dot, first, idents, Some(&cmd.args), final_);
            }
            Arg::Chain { .. } => return self.eval_chain(dot, first, Some(&cmd.args), final_),
            Arg::Ident { name, .. } => {
                return self.eval_function(dot, first, name, At::Cmd(cmd), Some(&cmd.args), final_);
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &final_)?;
                return self.eval_pipeline(dot, p);
            }
            Arg::Variable { .. } => return self.eval_variable(dot, first, Some(&cmd.args), final_),
            _ => {}
        }
        self.at(At::Arg(first));
        self.not_a_function(&cmd.args, &final_)?;
        match first {
            Arg::Bool(_, b) => Ok(Val::plain(Some(Value::Bool(*b)))),
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(_) => self.errorf("nil is not a command"),
            Arg::Number(_, n) => self.ideal_constant(n).map(|v| Val::plain(Some(v))),
            Arg::Str { value, .. } => Ok(Val::plain(Some(Value::Str(value.clone())))),
            _ => self.errorf(format!("can't evaluate command {:?}", first.to_string())),
        }
    }

    fn ideal_constant(&self, n: &parse::Number) -> R<Value> {
        if n.float_syntax
            && let Some(f) = n.float
        {
            return Ok(Value::Float(f));
        }
        match n.int {
            Some(i) => Ok(Value::Int(i)),
            None => self.errorf(format!("{} overflows int", n.text)),
        }
    }

    fn eval_variable(
        &mut self,
        dot: &Val,
        arg: &'a Arg,
        args: Option<&'a [Arg]>,
        final_: Option<Val>,
    ) -> R<Val> {
        self.at(At::Arg(arg));
        let Arg::Variable { idents, .. } = arg else {
            return self.errorf("internal error: not a variable");
        };
        let value = self.var_value(&idents[0])?;
        if idents.len() == 1 {
            if let Some(a) = args {
                self.not_a_function(a, &final_)?;
            } else if final_.is_some() {
                return self.errorf(format!("can't give argument to non-function {arg}"));
            }
            return Ok(value);
        }
        self.eval_field_chain(dot, &value, arg, &idents[1..], args, final_)
    }

    fn eval_chain(
        &mut self,
        dot: &Val,
        arg: &'a Arg,
        args: Option<&'a [Arg]>,
        final_: Option<Val>,
    ) -> R<Val> {
        self.at(At::Arg(arg));
        let Arg::Chain { node, fields, .. } = arg else {
            return self.errorf("internal error: not a chain");
        };
        if matches!(**node, Arg::Nil(_)) {
            return self.errorf(format!("indirection through explicit nil in {arg}"));
        }
        let recv = self.eval_arg_untyped(dot, node)?;
        self.at(At::Arg(arg));
        self.eval_field_chain(dot, &recv, arg, fields, args, final_)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Val,
        recv: &Val,
        node: &'a Arg,
        idents: &[String],
        args: Option<&'a [Arg]>,
        final_: Option<Val>,
    ) -> R<Val> {
        let n = idents.len();
        if n == 1 {
            return self.eval_field(dot, &idents[0], node, args, final_, recv);
        }
        // Through maps holding the next map, the chain is followed under
        // read locks, without taking (and releasing) a reference to each
        // map on the way: the same values `eval_field` would reach.
        let mut start = 0;
        let reached;
        let mut base = recv;
        if let Some(Value::Map(m)) = &recv.v
            && let Some((k, deep)) = descend(m, &idents[..n - 1])
        {
            start = k;
            reached = Val::boxed(Value::Map(deep));
            base = &reached;
        }
        if start == n - 1 {
            return self.eval_field(dot, &idents[n - 1], node, args, final_, base);
        }
        // The receiver is borrowed (often dot itself); only the
        // intermediate values of the chain are owned.
        let mut cur = self.eval_field(dot, &idents[start], node, None, None, base)?;
        for id in &idents[start + 1..n - 1] {
            cur = self.eval_field(dot, id, node, None, None, &cur)?;
        }
        self.eval_field(dot, &idents[n - 1], node, args, final_, &cur)
    }

    fn eval_field(
        &mut self,
        dot: &Val,
        name: &str,
        node: &'a Arg,
        args: Option<&'a [Arg]>,
        final_: Option<Val>,
        recv: &Val,
    ) -> R<Val> {
        let Some(rv) = &recv.v else {
            if self.set.options.missing_key == MissingKey::Error {
                return self.errorf(format!("nil data; no entry for key {}", gofmt::quote(name)));
            }
            return Ok(Val::invalid());
        };
        let typ = || recv.type_name().to_string();
        let has_args = args.is_some_and(|a| a.len() > 1) || final_.is_some();
        match rv {
            Value::Nil => self.errorf(format!("nil pointer evaluating {}.{name}", typ())),
            Value::Object(o) => {
                if o.has_method(name) {
                    let o = o.clone();
                    return self.eval_call(
                        dot,
                        Callee::Method(&o),
                        At::Arg(node),
                        name,
                        args,
                        final_,
                    );
                }
                match o.field(name) {
                    Some(v) => {
                        if has_args {
                            return self.errorf(format!(
                                "{name} has arguments but cannot be invoked as function"
                            ));
                        }
                        Ok(Val::plain(Some(v)))
                    }
                    None => self.errorf(format!("can't evaluate field {name} in type {}", typ())),
                }
            }
            Value::Map(m) => {
                if has_args {
                    return self.errorf(format!("{name} is not a method but has arguments"));
                }
                match m.get(name) {
                    Some(v) => Ok(Val::boxed(v)),
                    None => match self.set.options.missing_key {
                        MissingKey::Default => Ok(Val::invalid()),
                        MissingKey::Zero => Ok(Val::boxed(Value::Nil)),
                        MissingKey::Error => {
                            self.errorf(format!("map has no entry for key {}", gofmt::quote(name)))
                        }
                    },
                }
            }
            _ => self.errorf(format!("can't evaluate field {name} in type {}", typ())),
        }
    }

    fn eval_function(
        &mut self,
        dot: &Val,
        ident: &'a Arg,
        name: &str,
        cmd: At<'a>,
        args: Option<&'a [Arg]>,
        final_: Option<Val>,
    ) -> R<Val> {
        self.at(At::Arg(ident));
        // The set outlives this state, so the function needs no clone.
        let set: &'a Templates = self.set;
        let Some(f) = set.funcs.get(name) else {
            return self.errorf(format!("{} is not a defined function", gofmt::quote(name)));
        };
        self.eval_call(dot, Callee::Func(f), cmd, name, args, final_)
    }

    fn eval_call(
        &mut self,
        dot: &Val,
        callee: Callee<'_>,
        node: At<'a>,
        name: &str,
        args: Option<&'a [Arg]>,
        final_: Option<Val>,
    ) -> R<Val> {
        let args: &'a [Arg] = match args {
            Some(a) => &a[1..],
            None => &[],
        };
        let sig_owned;
        let sig = match &callee {
            Callee::Func(f) => f.sig(),
            Callee::Method(o) => {
                sig_owned = match o.method_arity(name) {
                    Some(n) => crate::funcs::Sig::fixed(&vec![Ty::Any; n]),
                    None => crate::funcs::Sig::variadic(&[], Ty::Any),
                };
                &sig_owned
            }
        };
        let num_in = args.len() + usize::from(final_.is_some());
        let num_fixed = sig.params.len();
        if sig.variadic.is_some() {
            if num_in < num_fixed {
                return self.errorf(format!(
                    "wrong number of args for {name}: want at least {num_fixed} got {}",
                    args.len()
                ));
            }
        } else if num_in != num_fixed {
            return self.errorf(format!(
                "wrong number of args for {name}: want {num_fixed} got {num_in}"
            ));
        }
        // Short-circuit and/or: evaluate lazily, return the deciding operand.
        if let Callee::Func(f) = &callee
            && f.0.special == crate::funcs::Special::Call
            && let Some(first) = args.first()
        {
            // Go's `call`: errors name the callee by its source form.
            let fv = self.eval_arg(dot, Ty::Any, first)?;
            let mut rest = Vec::with_capacity(args.len());
            for a in &args[1..] {
                rest.push(self.eval_arg(dot, Ty::Any, a)?);
            }
            if let Some(fin) = final_ {
                rest.push(self.validate_type(fin, Ty::Any)?);
            }
            self.at(node);
            let callee_name = first.to_string();
            let result = match fv {
                Value::Func(g) => match g.check_call_args(&callee_name, &rest) {
                    Ok(argv) => {
                        let mut ctx = CallContext {
                            set: self.set,
                            depth: self.depth,
                            budget: self.budget,
                        };
                        (g.0.body)(&mut ctx, &argv)
                    }
                    Err(e) => Err(e),
                },
                Value::Nil => Err(FuncError::Call("call of nil".into())),
                other => Err(FuncError::Call(format!(
                    "non-function {callee_name} of type {}",
                    other.type_name()
                ))),
            };
            return match result {
                Ok(v) => Ok(Val::plain(Some(v))),
                Err(FuncError::Call(msg)) => self.errorf(format!("error calling call: {msg}")),
                Err(FuncError::Exec(msg)) => self.errorf(msg),
            };
        }
        if let Callee::Func(f) = &callee
            && f.0.special == crate::funcs::Special::Len
        {
            // Go's len sees its argument before interface unwrapping: a nil
            // fetched from a map is a nil pointer, an absent value is invalid.
            let raw = match (args.first(), final_) {
                (Some(Arg::Nil(_)), _) => Val::invalid(),
                (
                    Some(
                        a @ (Arg::Field { .. }
                        | Arg::Variable { .. }
                        | Arg::Pipe(_)
                        | Arg::Ident { .. }
                        | Arg::Chain { .. }
                        | Arg::Dot(_)),
                    ),
                    _,
                ) => self.eval_arg_untyped(dot, a)?,
                (Some(a), _) => Val::plain(Some(self.eval_arg(dot, Ty::Any, a)?)),
                (None, Some(fin)) => fin,
                (None, None) => Val::invalid(),
            };
            self.at(node);
            return match &raw.v {
                None => self
                    .errorf("error calling len: reflect: call of reflect.Value.Type on zero Value"),
                Some(Value::Nil) => self.errorf("error calling len: len of nil pointer"),
                Some(v) => match crate::builtins::length(v) {
                    Ok(n) => Ok(Val::plain(Some(Value::Int(n)))),
                    Err(FuncError::Call(msg) | FuncError::Exec(msg)) => {
                        self.errorf(format!("error calling len: {msg}"))
                    }
                },
            };
        }
        if let Callee::Func(f) = &callee
            && f.0.special == crate::funcs::Special::AndOr
        {
            let want = name == "or";
            let mut v = Value::Nil;
            for a in args {
                v = self.eval_arg(dot, Ty::Any, a)?;
                if v.truthy() == want {
                    return Ok(Val::plain(Some(v)));
                }
            }
            if let Some(f) = final_ {
                v = self.validate_type(f, Ty::Any)?;
            }
            return Ok(Val::plain(Some(v)));
        }
        // Arguments live on a stack shared by nested calls, saving an
        // allocation per call. An error abandons the whole execution, so only
        // the success path needs to pop.
        let base = self.args.len();
        for (i, a) in args.iter().enumerate() {
            let v = self.eval_arg(dot, sig.param(i), a)?;
            self.args.push(v);
        }
        if let Some(f) = final_ {
            let t = sig.param(num_in - 1);
            let v = self.validate_type(f, t)?;
            self.args.push(v);
        }
        let argv = &self.args[base..];
        let result = match callee {
            Callee::Func(f) => {
                let mut ctx = CallContext {
                    set: self.set,
                    depth: self.depth,
                    budget: &mut *self.budget,
                };
                (f.0.body)(&mut ctx, argv)
            }
            Callee::Method(o) => o.call_method(name, argv).map_err(FuncError::Call),
        };
        self.args.truncate(base);
        match result {
            Ok(v) => Ok(Val::plain(Some(v))),
            Err(FuncError::Call(msg)) => {
                self.at(node);
                self.errorf(format!("error calling {name}: {msg}"))
            }
            Err(FuncError::Exec(msg)) => self.errorf(msg),
        }
    }

    /// Go's `validateType`: checks an evaluated value against a parameter type.
    fn validate_type(&self, v: Val, ty: Ty) -> R<Value> {
        let Some(val) = v.v else {
            return match ty {
                Ty::Any | Ty::List | Ty::Map => Ok(Value::Nil),
                _ => self.errorf(format!("invalid value; expected {}", ty.go_name())),
            };
        };
        let ok = match ty {
            Ty::Any => true,
            Ty::Str => matches!(val, Value::Str(_)),
            Ty::Int => matches!(val, Value::Int(_)),
            Ty::Int64 => matches!(val, Value::Int64(_)),
            Ty::Float => matches!(val, Value::Float(_)),
            Ty::Bool => matches!(val, Value::Bool(_)),
            Ty::List => matches!(val, Value::List(_)),
            Ty::Map => matches!(val, Value::Map(_)),
        };
        if ok {
            return Ok(val);
        }
        let got = if val.is_nil() {
            "interface {}"
        } else {
            val.type_name()
        };
        self.errorf(format!(
            "wrong type for value; expected {}; got {}",
            ty.go_name(),
            got
        ))
    }

    fn eval_arg(&mut self, dot: &Val, ty: Ty, arg: &'a Arg) -> R<Value> {
        self.at(At::Arg(arg));
        match arg {
            Arg::Dot(_) => return self.validate_type(dot.clone(), ty),
            Arg::Nil(_) => {
                return match ty {
                    Ty::Any | Ty::List | Ty::Map => Ok(Value::Nil),
                    _ => self.errorf(format!("cannot assign nil to {}", ty.go_name())),
                };
            }
            Arg::Field { idents, .. } => {
                let v = self.eval_field_chain(dot, dot, arg, idents, None, None)?;
                self.at(At::Arg(arg));
                return self.validate_type(v, ty);
            }
            Arg::Variable { .. } => {
                let v = self.eval_variable(dot, arg, None, None)?;
                return self.validate_type(v, ty);
            }
            Arg::Pipe(p) => {
                let v = self.eval_pipeline(dot, p)?;
                self.at(At::Arg(arg));
                return self.validate_type(v, ty);
            }
            Arg::Ident { name, .. } => {
                let v = self.eval_function(dot, arg, name, At::Arg(arg), None, None)?;
                return self.validate_type(v, ty);
            }
            Arg::Chain { .. } => {
                let v = self.eval_chain(dot, arg, None, None)?;
                return self.validate_type(v, ty);
            }
            _ => {}
        }
        match (ty, arg) {
            (Ty::Bool, Arg::Bool(_, b)) => Ok(Value::Bool(*b)),
            (Ty::Bool, _) => self.errorf(format!("expected bool; found {arg}")),
            (Ty::Float, Arg::Number(_, n)) if n.float.is_some() => {
                Ok(Value::Float(n.float.unwrap_or_default()))
            }
            (Ty::Float, _) => self.errorf(format!("expected float; found {arg}")),
            (Ty::Int | Ty::Int64, Arg::Number(_, n)) if n.int.is_some() => {
                let i = n.int.unwrap_or_default();
                Ok(if ty == Ty::Int {
                    Value::Int(i)
                } else {
                    Value::Int64(i)
                })
            }
            (Ty::Int | Ty::Int64, _) => self.errorf(format!("expected integer; found {arg}")),
            (Ty::Str, Arg::Str { value, .. }) => Ok(Value::Str(value.clone())),
            (Ty::Str, _) => self.errorf(format!("expected string; found {arg}")),
            (Ty::Any, Arg::Bool(_, b)) => Ok(Value::Bool(*b)),
            (Ty::Any, Arg::Number(_, n)) => self.ideal_constant(n),
            (Ty::Any, Arg::Str { value, .. }) => Ok(Value::Str(value.clone())),
            _ => self.errorf(format!(
                "can't handle {arg} for arg of type {}",
                ty.go_name()
            )),
        }
    }

    /// Evaluates the head of a chain without type checking (Go's `evalArg`
    /// with a nil type).
    fn eval_arg_untyped(&mut self, dot: &Val, arg: &'a Arg) -> R<Val> {
        self.at(At::Arg(arg));
        match arg {
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Field { idents, .. } => self.eval_field_chain(dot, dot, arg, idents, None, None),
            Arg::Variable { .. } => self.eval_variable(dot, arg, None, None),
            Arg::Pipe(p) => self.eval_pipeline(dot, p),
            Arg::Ident { name, .. } => self.eval_function(dot, arg, name, At::Arg(arg), None, None),
            Arg::Chain { .. } => self.eval_chain(dot, arg, None, None),
            _ => self.errorf(format!("can't handle {arg} for arg of type <nil>")),
        }
    }
}

/// Follows `path` from `m` through entries that are maps, as far as they
/// go: the number of keys followed and the map reached (none when the first
/// key is not a map of `m`).
fn descend(m: &crate::value::MapRef, path: &[String]) -> Option<(usize, crate::value::MapRef)> {
    let first = path.first()?;
    let guard = m.read();
    let Some(Value::Map(child)) = guard.get(first.as_str()) else {
        return None;
    };
    Some(match descend(child, &path[1..]) {
        Some((k, deep)) => (k + 1, deep),
        None => (1, child.clone()),
    })
}

impl Val {
    /// Range variables hold the element with its interface type stripped
    /// only for printing purposes; Go keeps the element value as is.
    fn dig_keep(self) -> Val {
        self
    }
}
