//! The parser: tokens into the syntax tree that execution walks.
//!
//! Go's parser checks at parse time that functions exist and variables are
//! declared, expands `{{else if}}`/`{{else with}}` into nested nodes, and turns
//! `{{block}}` into a definition plus a call; this one does the same so that
//! parse errors surface where Go reports them.

use std::collections::HashSet;
use std::fmt::{self, Write as _};
use std::sync::Arc;

use crate::lex::{Tok, Token, lex, unquote};

/// The text a tree was parsed from, for error locations.
#[derive(Debug)]
pub(crate) struct Source {
    pub name: String,
    pub text: String,
}

impl Source {
    /// `name:line:col` of a byte offset, with Go's 0-based column.
    pub fn location(&self, pos: usize) -> String {
        let pos = pos.min(self.text.len());
        let before = &self.text[..pos];
        let line = 1 + before.matches('\n').count();
        let col = match before.rfind('\n') {
            Some(nl) => pos - nl - 1,
            None => pos,
        };
        format!("{}:{}:{}", self.name, line, col)
    }

    pub fn line(&self, pos: usize) -> usize {
        1 + self.text[..pos.min(self.text.len())].matches('\n').count()
    }
}

/// A list of nodes.
pub(crate) type List = Vec<Node>;

/// A node of a template body.
#[derive(Debug)]
pub(crate) enum Node {
    Text(String),
    Action {
        pos: usize,
        pipe: Pipe,
    },
    If(Branch),
    With(Branch),
    Range(Branch),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break(usize),
    Continue(usize),
}

/// The shared shape of if / with / range.
#[derive(Debug)]
pub(crate) struct Branch {
    pub pos: usize,
    pub pipe: Pipe,
    pub list: List,
    pub else_list: Option<List>,
}

/// A pipeline with optional variable declarations.
#[derive(Debug)]
pub(crate) struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<String>,
    pub cmds: Vec<Command>,
}

/// One stage of a pipeline.
#[derive(Debug)]
pub(crate) struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

/// A parsed number with the interpretations Go allows for it.
#[derive(Debug, Clone)]
pub(crate) struct Number {
    pub text: String,
    pub int: Option<i64>,
    pub float: Option<f64>,
    /// Float syntax (has `.`, exponent) rather than an integer.
    pub float_syntax: bool,
}

/// An operand.
#[derive(Debug)]
pub(crate) enum Arg {
    Field {
        pos: usize,
        idents: Vec<String>,
    },
    Variable {
        pos: usize,
        idents: Vec<String>,
    },
    Ident {
        pos: usize,
        name: String,
    },
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Vec<String>,
    },
    Pipe(Box<Pipe>),
    Dot(usize),
    Nil(usize),
    Bool(usize, bool),
    Number(usize, Number),
    Str {
        pos: usize,
        quoted: String,
        value: Arc<str>,
    },
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Variable { pos, .. }
            | Arg::Ident { pos, .. }
            | Arg::Chain { pos, .. }
            | Arg::Dot(pos)
            | Arg::Nil(pos)
            | Arg::Bool(pos, _)
            | Arg::Number(pos, _)
            | Arg::Str { pos, .. } => *pos,
            Arg::Pipe(p) => p.pos,
        }
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Field { idents, .. } => {
                for i in idents {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
            Arg::Variable { idents, .. } => f.write_str(&idents.join(".")),
            Arg::Ident { name, .. } => f.write_str(name),
            Arg::Chain { node, fields, .. } => {
                if matches!(**node, Arg::Pipe(_)) {
                    write!(f, "({node})")?;
                } else {
                    write!(f, "{node}")?;
                }
                for i in fields {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
            Arg::Pipe(p) => write!(f, "{p}"),
            Arg::Dot(_) => f.write_str("."),
            Arg::Nil(_) => f.write_str("nil"),
            Arg::Bool(_, b) => write!(f, "{b}"),
            Arg::Number(_, n) => f.write_str(&n.text),
            Arg::Str { quoted, .. } => f.write_str(quoted),
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_char(' ')?;
            }
            if let Arg::Pipe(p) = a {
                write!(f, "({p})")?;
            } else {
                write!(f, "{a}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            f.write_str(&self.decl.join(", "))?;
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl Node {
    /// Go's `String()` of a control node, used as error context.
    pub fn describe(&self) -> String {
        match self {
            Node::Text(t) => t.clone(),
            Node::Action { pipe, .. } => format!("{{{{{pipe}}}}}"),
            Node::If(b) => format!("{{{{if {}}}}}", b.pipe),
            Node::With(b) => format!("{{{{with {}}}}}", b.pipe),
            Node::Range(b) => format!("{{{{range {}}}}}", b.pipe),
            Node::Template { name, pipe, .. } => match pipe {
                Some(p) => format!("{{{{template {name:?} {p}}}}}"),
                None => format!("{{{{template {name:?}}}}}"),
            },
            Node::Break(_) => "{{break}}".into(),
            Node::Continue(_) => "{{continue}}".into(),
        }
    }
}

/// One parsed template body.
#[derive(Debug)]
pub(crate) struct Tree {
    pub source: Arc<Source>,
    pub root: List,
}

impl Tree {
    /// Go's notion of an empty tree: only whitespace text (and comments).
    pub fn is_empty(&self) -> bool {
        self.root
            .iter()
            .all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()))
    }
}

/// What a parse yields: the top-level tree and every `define`d one.
pub(crate) struct Parsed {
    pub trees: Vec<(String, Tree)>,
}

/// Parses `text` as template `name`. `has_func` says whether an identifier is
/// a known function.
pub(crate) fn parse(
    name: &str,
    text: &str,
    left: &str,
    right: &str,
    has_func: &dyn Fn(&str) -> bool,
) -> Result<Parsed, String> {
    let source = Arc::new(Source {
        name: name.to_string(),
        text: text.to_string(),
    });
    let toks = lex(text, left, right)
        .map_err(|e| format!("template: {}:{}: {}", name, source.line(e.pos), e.msg))?;
    let mut p = Parser {
        toks,
        i: 0,
        source: source.clone(),
        vars: vec!["$".to_string()],
        has_func,
        range_depth: 0,
        depth: 0,
        defs: Vec::new(),
    };
    let root = p.parse_top()?;
    let mut trees = vec![(name.to_string(), Tree { source, root })];
    trees.append(&mut p.defs);
    Ok(Parsed { trees })
}

/// Bound on nesting of control structures and parenthesized pipelines, so
/// that parsing fits a 2 MB thread stack even unoptimized. Real templates
/// nest a few levels; Go's own bound is far higher (a documented deviation).
const MAX_DEPTH: usize = 200;

enum End {
    End,
    Else(usize),
}

struct Parser<'a> {
    toks: Vec<Token>,
    i: usize,
    source: Arc<Source>,
    vars: Vec<String>,
    has_func: &'a dyn Fn(&str) -> bool,
    range_depth: usize,
    /// Nesting of pipelines and control structures, bounded so that hostile
    /// input cannot exhaust the stack.
    depth: usize,
    defs: Vec<(String, Tree)>,
}

type PResult<T> = Result<T, String>;

impl Parser<'_> {
    fn err<T>(&self, pos: usize, msg: impl fmt::Display) -> PResult<T> {
        Err(format!(
            "template: {}:{}: {}",
            self.source.name,
            self.source.line(pos),
            msg
        ))
    }

    fn peek(&self) -> &Token {
        &self.toks[self.i.min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn peek_non_space(&mut self) -> &Token {
        while matches!(self.peek().tok, Tok::Space) {
            self.i += 1;
        }
        self.peek()
    }

    fn next_non_space(&mut self) -> Token {
        self.peek_non_space();
        self.next()
    }

    fn unexpected<T>(&self, t: &Token, context: &str) -> PResult<T> {
        let desc = describe_tok(&t.tok);
        self.err(t.pos, format!("unexpected {desc} in {context}"))
    }

    fn parse_top(&mut self) -> PResult<List> {
        let mut list = Vec::new();
        loop {
            let t = self.peek().clone();
            match t.tok {
                Tok::Eof => return Ok(list),
                Tok::LeftDelim => {
                    // {{define}} is only allowed at top level.
                    let save = self.i;
                    self.next();
                    let k = self.next_non_space();
                    if k.tok == Tok::Keyword("define") {
                        self.parse_define(k.pos)?;
                        continue;
                    }
                    self.i = save;
                    match self.text_or_action()? {
                        Some(n) => list.push(n),
                        None => {
                            // {{end}} / {{else}} at top level.
                            return self
                                .err(t.pos, format!("unexpected {}", self.last_delim_word()));
                        }
                    }
                }
                _ => {
                    if let Some(n) = self.text_or_action()? {
                        list.push(n);
                    }
                }
            }
        }
    }

    fn last_delim_word(&self) -> String {
        // The keyword that ended a list out of place, for the error text.
        let mut j = self.i;
        while j > 0 {
            j -= 1;
            if let Tok::Keyword(k) = self.toks[j].tok {
                return format!("{{{{{k}}}}}");
            }
        }
        "token".into()
    }

    fn parse_define(&mut self, pos: usize) -> PResult<()> {
        let t = self.next_non_space();
        let name = match t.tok {
            Tok::Str { value, .. } => value,
            _ => return self.unexpected(&t, "define clause"),
        };
        let t = self.next_non_space();
        if t.tok != Tok::RightDelim {
            return self.unexpected(&t, "define clause");
        }
        let saved = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let (list, end) = self.item_list("define")?;
        self.vars = saved;
        if !matches!(end, End::End) {
            return self.err(pos, "unexpected {{else}} in define clause");
        }
        self.add_def(pos, name.to_string(), list)
    }

    /// Records a definition; within one parse a name may be defined once
    /// unless one of the bodies is empty (Go's rule).
    fn add_def(&mut self, pos: usize, name: String, list: List) -> PResult<()> {
        let tree = Tree {
            source: self.source.clone(),
            root: list,
        };
        if let Some(i) = self.defs.iter().position(|(n, _)| *n == name) {
            if self.defs[i].1.is_empty() {
                self.defs[i].1 = tree;
            } else if !tree.is_empty() {
                return self.err(
                    pos,
                    format!("template: multiple definition of template {name:?}"),
                );
            }
            return Ok(());
        }
        self.defs.push((name, tree));
        Ok(())
    }

    /// Parses nodes until `{{end}}` or `{{else}}`.
    fn item_list(&mut self, context: &str) -> PResult<(List, End)> {
        let mut list = Vec::new();
        loop {
            let t = self.peek().clone();
            if t.tok == Tok::Eof {
                return self.err(t.pos, "unexpected EOF");
            }
            if t.tok == Tok::LeftDelim {
                let save = self.i;
                self.next();
                let k = self.next_non_space();
                match k.tok {
                    Tok::Keyword("end") => {
                        self.expect_right(k.pos, "end")?;
                        return Ok((list, End::End));
                    }
                    Tok::Keyword("else") => {
                        // `{{else}}` or `{{else if ...}}`: leave the rest for the caller.
                        return Ok((list, End::Else(k.pos)));
                    }
                    Tok::Keyword("define") => {
                        return self.err(k.pos, format!("unexpected <define> in {context}"));
                    }
                    _ => self.i = save,
                }
            }
            let _ = context;
            if let Some(n) = self.text_or_action()? {
                list.push(n);
            }
        }
    }

    fn expect_right(&mut self, _pos: usize, context: &str) -> PResult<()> {
        let t = self.next_non_space();
        if t.tok != Tok::RightDelim {
            return self.unexpected(&t, &format!("{{{{{context}}}}}"));
        }
        Ok(())
    }

    fn text_or_action(&mut self) -> PResult<Option<Node>> {
        let t = self.next();
        match t.tok {
            Tok::Text(s) => Ok(Some(Node::Text(s.to_string()))),
            Tok::Comment => Ok(None),
            Tok::LeftDelim => self.action().map(Some),
            _ => self.unexpected(&t, "input"),
        }
    }

    fn action(&mut self) -> PResult<Node> {
        self.depth += 1;
        let r = self.action_inner();
        self.depth -= 1;
        r
    }

    fn action_inner(&mut self) -> PResult<Node> {
        let t = self.peek_non_space().clone();
        match t.tok {
            Tok::Keyword(k) => {
                self.next();
                match k {
                    "if" => self.control(t.pos, "if").map(Node::If),
                    "with" => self.control(t.pos, "with").map(Node::With),
                    "range" => {
                        self.range_depth += 1;
                        let r = self.control(t.pos, "range");
                        self.range_depth -= 1;
                        r.map(Node::Range)
                    }
                    "template" => self.template_call(t.pos, "template"),
                    "block" => self.block(t.pos),
                    "break" | "continue" => {
                        if self.range_depth == 0 {
                            return self.err(t.pos, format!("{{{{{k}}}}} outside {{{{range}}}}"));
                        }
                        self.expect_right(t.pos, k)?;
                        Ok(if k == "break" {
                            Node::Break(t.pos)
                        } else {
                            Node::Continue(t.pos)
                        })
                    }
                    "end" => self.err(t.pos, "unexpected {{end}}"),
                    "else" => self.err(t.pos, "unexpected {{else}}"),
                    _ => self.unexpected(&t, "command"),
                }
            }
            _ => {
                let pipe = self.pipeline("command", false)?;
                Ok(Node::Action { pos: t.pos, pipe })
            }
        }
    }

    fn control(&mut self, pos: usize, context: &str) -> PResult<Branch> {
        let mark = self.vars.len();
        let pipe = self.pipeline(context, false)?;
        if pipe.cmds.is_empty() {
            return self.err(pos, format!("missing value for {context}"));
        }
        let (list, end) = self.item_list(context)?;
        let else_list = match end {
            End::End => None,
            End::Else(epos) => {
                let t = self.peek_non_space().clone();
                let chained = match (&t.tok, context) {
                    (Tok::Keyword("if"), "if") => Some("if"),
                    (Tok::Keyword("with"), "with") => Some("with"),
                    _ => None,
                };
                if let Some(kw) = chained {
                    // `{{else if x}}` is `{{else}}{{if x}}...{{end}}{{end}}`: the inner
                    // branch consumes the single shared {{end}}.
                    self.next();
                    let inner = self.control(t.pos, kw)?;
                    Some(vec![if kw == "if" {
                        Node::If(inner)
                    } else {
                        Node::With(inner)
                    }])
                } else {
                    self.expect_right(epos, "else")?;
                    let (el, end2) = self.item_list(context)?;
                    if let End::Else(p2) = end2 {
                        return self.err(p2, "expected end; found {{else}}");
                    }
                    Some(el)
                }
            }
        };
        self.vars.truncate(mark);
        let _ = pos;
        Ok(Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })
    }

    fn template_call(&mut self, _kw_pos: usize, context: &str) -> PResult<Node> {
        let t = self.next_non_space();
        // Go positions the node at the template name.
        let pos = t.pos;
        let name = match t.tok {
            Tok::Str { value, .. } => value,
            _ => return self.unexpected(&t, &format!("{context} clause")),
        };
        let pipe = if self.peek_non_space().tok != Tok::RightDelim {
            Some(self.pipeline(context, false)?)
        } else {
            self.next();
            None
        };
        Ok(Node::Template {
            pos,
            name: name.to_string(),
            pipe,
        })
    }

    fn block(&mut self, pos: usize) -> PResult<Node> {
        let node = self.template_call(pos, "block")?;
        let Node::Template { name, .. } = &node else {
            return self.err(pos, "internal error in block");
        };
        let name = name.clone();
        let saved = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let (list, end) = self.item_list("block")?;
        self.vars = saved;
        self.range_depth = saved_range;
        if !matches!(end, End::End) {
            return self.err(pos, "unexpected {{else}} in block clause");
        }
        self.add_def(pos, name, list)?;
        Ok(node)
    }

    /// Parses a pipeline up to `}}` (or `)` when `paren`).
    fn pipeline(&mut self, context: &str, paren: bool) -> PResult<Pipe> {
        if self.depth >= MAX_DEPTH {
            let pos = self.peek().pos;
            return self.err(pos, "max expression depth exceeded");
        }
        self.depth += 1;
        let r = self.pipeline_inner(context, paren);
        self.depth -= 1;
        r
    }

    fn pipeline_inner(&mut self, context: &str, paren: bool) -> PResult<Pipe> {
        let start = self.peek_non_space().clone();
        let mut pipe = Pipe {
            pos: start.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        // Declarations.
        if let Tok::Variable(_) = start.tok {
            let save = self.i;
            let mut decl = Vec::new();
            loop {
                let v = self.next_non_space();
                let Tok::Variable(name) = v.tok else {
                    self.i = save;
                    decl.clear();
                    break;
                };
                let op = self.peek_non_space().clone();
                match op.tok {
                    Tok::Declare | Tok::Assign => {
                        self.next();
                        pipe.is_assign = op.tok == Tok::Assign;
                        decl.push(name);
                        break;
                    }
                    Tok::Comma if context == "range" && decl.is_empty() => {
                        self.next();
                        decl.push(name);
                        if !matches!(self.peek_non_space().tok, Tok::Variable(_)) {
                            let t = self.peek().clone();
                            return self.unexpected(&t, "range");
                        }
                    }
                    Tok::Comma => {
                        return self.err(op.pos, format!("too many declarations in {context}"));
                    }
                    _ => {
                        self.i = save;
                        decl.clear();
                        break;
                    }
                }
            }
            // Go checks assignments to undeclared variables only at run time.
            if !pipe.is_assign {
                self.vars.extend(decl.iter().map(|d| d.to_string()));
            }
            pipe.decl = decl.iter().map(|d| d.to_string()).collect();
        }
        loop {
            let t = self.peek_non_space().clone();
            match t.tok {
                Tok::RightDelim if !paren => {
                    self.next();
                    self.check_pipeline(&pipe, context, t.pos)?;
                    return Ok(pipe);
                }
                Tok::RightParen if paren => {
                    self.next();
                    self.check_pipeline(&pipe, context, t.pos)?;
                    return Ok(pipe);
                }
                Tok::Bool(_)
                | Tok::Char(_)
                | Tok::Dot
                | Tok::Field(_)
                | Tok::Ident(_)
                | Tok::Number(_)
                | Tok::Nil
                | Tok::Str { .. }
                | Tok::Variable(_)
                | Tok::LeftParen => {
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return self.unexpected(&t, context),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str, pos: usize) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return self.err(pos, format!("missing value for {context}"));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args.first(),
                Some(Arg::Bool(..) | Arg::Dot(_) | Arg::Nil(_) | Arg::Number(..) | Arg::Str { .. })
            ) {
                return self.err(
                    pos,
                    format!("non executable command in pipeline stage {}", i + 1),
                );
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command {
            pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let t = self.peek().clone();
            match t.tok {
                Tok::Space => {
                    self.next();
                    continue;
                }
                Tok::RightDelim | Tok::RightParen => {}
                Tok::Pipe => {
                    self.next();
                }
                _ => return self.unexpected(&t, "operand"),
            }
            break;
        }
        if cmd.args.is_empty() {
            return self.err(pos, "empty command");
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if let Tok::Field(_) = self.peek().tok {
            let pos = self.peek().pos;
            let mut fields = Vec::new();
            while let Tok::Field(f) = &self.peek().tok {
                fields.push(f.clone());
                self.next();
            }
            return Ok(Some(match node {
                // Go positions a multi-part field or variable at its second part.
                Arg::Field { mut idents, .. } => {
                    idents.extend(fields.iter().map(|f| f.to_string()));
                    Arg::Field { pos, idents }
                }
                Arg::Variable { mut idents, .. } => {
                    idents.extend(fields.iter().map(|f| f.to_string()));
                    Arg::Variable { pos, idents }
                }
                Arg::Bool(..) | Arg::Str { .. } | Arg::Number(..) | Arg::Nil(_) | Arg::Dot(_) => {
                    return self.err(
                        pos,
                        format!("unexpected . after term {:?}", node.to_string()),
                    );
                }
                other => Arg::Chain {
                    pos,
                    node: Box::new(other),
                    fields: fields.iter().map(|f| f.to_string()).collect(),
                },
            }));
        }
        Ok(Some(node))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let t = self.next_non_space();
        let pos = t.pos;
        Ok(Some(match t.tok {
            Tok::Ident(name) => {
                if !(self.has_func)(&name) {
                    return self.err(pos, format!("function {name:?} not defined"));
                }
                Arg::Ident {
                    pos,
                    name: name.to_string(),
                }
            }
            Tok::Dot => Arg::Dot(pos),
            Tok::Nil => Arg::Nil(pos),
            Tok::Variable(name) => {
                if !self.vars.iter().any(|v| **v == *name) {
                    return self.err(pos, format!("undefined variable {name:?}"));
                }
                Arg::Variable {
                    pos,
                    idents: vec![name.to_string()],
                }
            }
            Tok::Field(f) => Arg::Field {
                pos,
                idents: vec![f.to_string()],
            },
            Tok::Bool(b) => Arg::Bool(pos, b),
            Tok::Number(text) => Arg::Number(pos, self.number(pos, text.to_string(), false)?),
            Tok::Char(text) => Arg::Number(pos, self.number(pos, text.to_string(), true)?),
            Tok::LeftParen => {
                let p = self.pipeline("parenthesized pipeline", true)?;
                Arg::Pipe(Box::new(p))
            }
            Tok::Str { quoted, value } => Arg::Str {
                pos,
                quoted: quoted.to_string(),
                value,
            },
            _ => {
                self.i -= 1;
                return Ok(None);
            }
        }))
    }

    fn number(&self, pos: usize, text: String, is_char: bool) -> PResult<Number> {
        if is_char {
            let inner = format!("\"{}\"", &text[1..text.len() - 1].replace('"', "\\\""));
            let s = unquote(&inner).map_err(|_| {
                format!(
                    "template: {}: malformed character constant: {text}",
                    self.source.name
                )
            })?;
            let mut cs = s.chars();
            let (Some(c), None) = (cs.next(), cs.next()) else {
                return self.err(pos, format!("malformed character constant: {text}"));
            };
            return Ok(Number {
                text,
                int: Some(c as i64),
                float: Some(c as u32 as f64),
                float_syntax: false,
            });
        }
        match parse_number(&text) {
            Some(n) => Ok(n),
            None => self.err(pos, format!("illegal number syntax: {text:?}")),
        }
    }
}

/// Interprets number text the way Go's parser does: as an integer when the
/// text is one (any base prefix, `_` between digits), otherwise as a float
/// (decimal or hexadecimal with a `p` exponent), which also counts as an
/// integer when its value is integral.
pub(crate) fn parse_number(text: &str) -> Option<Number> {
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    // Go's float parser also knows `inf` and `nan`; its lexer never hands
    // them over as numbers.
    if !body.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let radix_int = parse_uint(body);
    let int = radix_int.and_then(|u| {
        if neg {
            if u <= i64::MAX as u64 + 1 {
                Some((u as i128).wrapping_neg() as i64)
            } else {
                None
            }
        } else {
            i64::try_from(u).ok()
        }
    });
    let float = match radix_int {
        Some(u) => Some(if neg { -(u as f64) } else { u as f64 }),
        None => {
            // A valid float without a fraction or exponent is an integer too
            // large for 64 bits, which Go rejects.
            if !body.contains(['.', 'e', 'E', 'p', 'P']) {
                return None;
            }
            let f = parse_float(body)?;
            Some(if neg { -f } else { f })
        }
    };
    let hex_int = text.len() > 2
        && text.starts_with('0')
        && matches!(text.as_bytes()[1], b'x' | b'X')
        && !text.contains(['p', 'P']);
    let float_syntax =
        radix_int.is_none() || (!hex_int && text.contains(['.', 'e', 'E', 'p', 'P']));
    // A float literal whose value is integral is also usable as an int.
    let int = int.or_else(|| {
        float
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
            .map(|f| f as i64)
    });
    Some(Number {
        text: text.to_string(),
        int,
        float,
        float_syntax,
    })
}

/// Whether the `_` in unsigned number text `s` each sit between digits (a
/// base prefix counting as a digit), as Go requires.
fn underscores_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let (start, hex) = match b {
        [b'0', p, ..] if matches!(p.to_ascii_lowercase(), b'b' | b'o' | b'x') => {
            (2, p.eq_ignore_ascii_case(&b'x'))
        }
        _ => (0, false),
    };
    let is_digit = |c: u8| c.is_ascii_digit() || (hex && c.is_ascii_hexdigit());
    // The class of the previous byte: digit (or prefix), underscore, other.
    let mut prev_digit = start > 0;
    let mut prev_underscore = false;
    for &c in &b[start..] {
        if is_digit(c) {
            prev_digit = true;
            prev_underscore = false;
        } else if c == b'_' {
            if !prev_digit {
                return false;
            }
            prev_digit = false;
            prev_underscore = true;
        } else {
            if prev_underscore {
                return false;
            }
            prev_digit = false;
        }
    }
    !prev_underscore
}

/// Unsigned integer text with Go's base prefixes (`0x`, `0o`, `0b`, and a
/// bare leading `0` for octal).
fn parse_uint(s: &str) -> Option<u64> {
    if s.contains('_') && !underscores_ok(s) {
        return None;
    }
    let clean = s.replace('_', "");
    let lower = clean.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// Unsigned float text: decimal (`1.5`, `2e3`, `.5`) or hexadecimal with a
/// mandatory binary exponent (`0x1p60`, `0x1.8p-3`). Out-of-range values are
/// rejected, as Go's `strconv.ParseFloat` does.
fn parse_float(s: &str) -> Option<f64> {
    if s.contains('_') && !underscores_ok(s) {
        return None;
    }
    let clean = s.replace('_', "");
    let f = match clean
        .strip_prefix("0x")
        .or_else(|| clean.strip_prefix("0X"))
    {
        Some(hex) => parse_hex_float(hex)?,
        None => {
            if !clean
                .bytes()
                .all(|c| c.is_ascii_digit() || b".eE+-".contains(&c))
            {
                return None;
            }
            clean.parse::<f64>().ok()?
        }
    };
    f.is_finite().then_some(f)
}

/// The part of a hexadecimal float after `0x`: hex digits with at most one
/// `.`, at least one digit, then `p` and a decimal exponent.
fn parse_hex_float(s: &str) -> Option<f64> {
    let (mantissa, exp) = s.split_once(['p', 'P'])?;
    let exp: i64 = match exp.strip_prefix('+') {
        Some(e) if !e.starts_with(['+', '-']) => e.parse().ok()?,
        Some(_) => return None,
        None => exp.parse().ok()?,
    };
    let (whole, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    // Digits accumulate while they fit with room to spare; later ones only
    // shift the exponent, and a non-zero one among them sets the lowest bit
    // so that the final rounding still sees that the value is above a tie.
    let mut m: u64 = 0;
    let mut exp2 = exp;
    let mut sticky = false;
    for (i, c) in whole.chars().chain(frac.chars()).enumerate() {
        let d = u64::from(c.to_digit(16)?);
        let in_frac = i >= whole.len();
        if m >> 58 == 0 {
            m = m << 4 | d;
            if in_frac {
                exp2 -= 4;
            }
        } else {
            sticky |= d != 0;
            if !in_frac {
                exp2 += 4;
            }
        }
    }
    if sticky {
        m |= 1;
    }
    let mut f = m as f64;
    // Scale by 2^exp2 in steps that stay exact within f64's exponent range.
    let mut e = exp2.clamp(-2200, 2200);
    while e != 0 {
        let step = e.clamp(-1000, 1000);
        f *= 2f64.powi(step as i32);
        e -= step;
    }
    Some(f)
}

fn describe_tok(t: &Tok) -> String {
    match t {
        Tok::Text(s) => format!("{s:?}"),
        Tok::LeftDelim => "\"{{\"".into(),
        Tok::RightDelim => "\"}}\"".into(),
        Tok::Comment => "comment".into(),
        Tok::Space => "space".into(),
        Tok::Declare => "\":=\"".into(),
        Tok::Assign => "\"=\"".into(),
        Tok::Pipe => "\"|\"".into(),
        Tok::LeftParen => "\"(\"".into(),
        Tok::RightParen => "\")\"".into(),
        Tok::Comma => "\",\"".into(),
        Tok::Str { quoted, .. } => format!("{quoted:?}"),
        Tok::Char(s) | Tok::Number(s) | Tok::Field(s) | Tok::Variable(s) | Tok::Ident(s) => {
            format!("{s:?}")
        }
        Tok::Bool(b) => format!("\"{b}\""),
        Tok::Nil => "\"nil\"".into(),
        Tok::Dot => "\".\"".into(),
        Tok::Keyword(k) => format!("<{k}>"),
        Tok::Eof => "EOF".into(),
    }
}

/// Collects the names of templates a parse defines (for tests and tools).
#[allow(dead_code)]
pub(crate) fn defined_names(p: &Parsed) -> HashSet<String> {
    p.trees.iter().map(|(n, _)| n.clone()).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Parsed, String> {
        parse("t", s, "{{", "}}", &|n| n == "printf" || n == "eq")
    }

    #[test]
    fn parses_control_flow() {
        let r = p("{{if .a}}x{{else if .b}}y{{else}}z{{end}}").unwrap();
        assert_eq!(r.trees.len(), 1);
    }

    #[test]
    fn defines_become_trees() {
        let r = p(r#"{{define "a"}}A{{end}}{{block "b" .}}B{{end}}"#).unwrap();
        let names = defined_names(&r);
        assert!(names.contains("a") && names.contains("b"));
    }

    #[test]
    fn unknown_function_is_a_parse_error() {
        assert_eq!(
            p("x\n{{nope 1}}").err().unwrap(),
            "template: t:2: function \"nope\" not defined"
        );
    }

    #[test]
    fn undefined_variable() {
        assert_eq!(
            p("{{$x}}").err().unwrap(),
            "template: t:1: undefined variable \"$x\""
        );
    }

    #[test]
    fn pipeline_string_form() {
        let r = p(r#"{{$x := printf "%d" 3 | eq (printf "a") .b.c}}"#).unwrap();
        let Node::Action { pipe, .. } = &r.trees[0].1.root[0] else {
            panic!()
        };
        assert_eq!(
            pipe.to_string(),
            r#"$x := printf "%d" 3 | eq (printf "a") .b.c"#
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
        assert!(
            p(&deep)
                .err()
                .unwrap()
                .ends_with("max expression depth exceeded")
        );
        let ifs = format!("{}{}", "{{if 1}}".repeat(5000), "{{end}}".repeat(5000));
        assert!(
            p(&ifs)
                .err()
                .unwrap()
                .ends_with("max expression depth exceeded")
        );
    }

    #[test]
    fn numbers() {
        let n = parse_number("0x1F").unwrap();
        assert_eq!(n.int, Some(31));
        let n = parse_number("1e3").unwrap();
        assert!(n.float_syntax);
        assert_eq!(n.int, Some(1000));
        assert_eq!(parse_number("1_000").unwrap().int, Some(1000));
    }

    #[test]
    fn go_number_syntax() {
        let n = parse_number("0x1p60").unwrap();
        assert_eq!(n.float, Some(2f64.powi(60)));
        assert_eq!(n.int, Some(1 << 60));
        assert!(n.float_syntax);
        let f = |t: &str| parse_number(t).and_then(|n| n.float);
        assert_eq!(f("0x1p-2"), Some(0.25));
        assert_eq!(f("0x1.8p3"), Some(12.0));
        assert_eq!(f("0X.8P+1"), Some(1.0));
        assert_eq!(f("-0x1_0p0"), Some(-16.0));
        assert_eq!(f("0x1.fffffffffffff8p0"), Some(2.0));
        assert_eq!(f("1_000.5"), Some(1000.5));
        let i = |t: &str| parse_number(t).and_then(|n| n.int);
        assert_eq!(i("0b1010"), Some(10));
        assert_eq!(i("0o17"), Some(15));
        assert_eq!(i("017"), Some(15));
        assert_eq!(i("0x_FF"), Some(255));
        assert_eq!(i("-9223372036854775808"), Some(i64::MIN));
        assert!(!parse_number("0x1E").unwrap().float_syntax);
        assert!(parse_number("-0x1E").unwrap().float_syntax);
        for bad in [
            "0x1.8",
            "0x",
            "1__0",
            "_1",
            "1_",
            "0x1p",
            "08",
            "1e400",
            "+inf",
            "0b12",
            "1p3",
            "18446744073709551616",
        ] {
            assert!(parse_number(bad).is_none(), "{bad}");
        }
        assert_eq!(parse_number("18446744073709551615").unwrap().int, None);
    }
}
