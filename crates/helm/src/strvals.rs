//! Helm's `--set` syntax (`a.b[0].c=x,list={1,2},esc\.aped=v`).
//!
//! Parsing mirrors Helm's strvals parser, including its quirks: `--set`
//! values that look like integers become int64 (not float64 as values
//! files give), `true`/`false`/`null` are case-insensitive, a leading `0`
//! keeps a value a string, and a key without `=` is an error.

use std::iter::Peekable;
use std::str::Chars;

use trellis_template::{Map, Value};

/// The largest list index `--set` accepts.
pub const MAX_INDEX: usize = 65536;
/// The deepest `a.b.c` nesting `--set` accepts.
pub const MAX_NESTED_NAME_LEVEL: usize = 30;

/// Errors parsing a `--set` expression, worded as Helm words them.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum SetError {
    /// A key at the end of the expression has no `=value`.
    #[error("key {0:?} has no value")]
    NoValue(String),
    /// A key is followed by `,` instead of `=value`.
    #[error("key {0:?} has no value (cannot end with ,)")]
    NoValueComma(String),
    /// `a.=x` or similar: a nested key produced nothing.
    #[error("key map {0:?} has no value")]
    EmptyKeyMap(String),
    /// A `{a,b` list without its closing brace.
    #[error("list must terminate with '}}'")]
    UnterminatedList,
    /// An index that is not a number, negative or too large.
    #[error("error parsing index: {0}")]
    BadIndex(String),
    /// Text between `]` and the next `.`, `[` or `=` (shown as Go shows a
    /// rune slice).
    #[error("unexpected data at end of array index: {}", go_runes(.0))]
    DataAfterIndex(String),
    /// A negative list index.
    #[error("negative {0} index not allowed")]
    NegativeIndex(i64),
    /// A list index above [`MAX_INDEX`].
    #[error("index of {0} is greater than maximum supported index of {MAX_INDEX}")]
    IndexTooLarge(usize),
    /// Deeper nesting than [`MAX_NESTED_NAME_LEVEL`].
    #[error(
        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
    )]
    TooDeep,
    /// A path walks into an existing value of another type
    /// (`a=1,a.b=2`).
    #[error("unable to parse key: interface conversion: {0}")]
    TypeConflict(String),
    /// A `--set-file` path could not be read.
    #[error("reading file {path}: {message}")]
    File {
        /// The path given.
        path: String,
        /// Why it failed.
        message: String,
    },
}

/// How the text after `=` becomes a value.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum SetKind {
    /// `--set`: `true`/`false`/`null`/integers are typed.
    Typed,
    /// `--set-string` (Argo CD's `forceString`): everything is a string.
    String,
}

/// Applies the `--set` expression `expr` onto `values` (a map), as Helm's
/// `strvals.ParseInto` does; with `force_string` as `--set-string`.
pub fn parse_set(expr: &str, values: &mut Value, force_string: bool) -> Result<(), SetError> {
    let kind = if force_string {
        SetKind::String
    } else {
        SetKind::Typed
    };
    parse_with(expr, values, &mut |s: String| Ok(typed(s, kind)))
}

/// Applies a `--set-file` expression: each value is a path whose contents,
/// read by `read`, become the string value.
pub fn parse_set_file(
    expr: &str,
    values: &mut Value,
    read: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<(), SetError> {
    parse_with(expr, values, &mut |path: String| {
        read(&path)
            .map(Value::from)
            .map_err(|message| SetError::File { path, message })
    })
}

type Reader<'r> = dyn FnMut(String) -> Result<Value, SetError> + 'r;

fn parse_with(expr: &str, values: &mut Value, reader: &mut Reader<'_>) -> Result<(), SetError> {
    let mut root = match values {
        Value::Map(m) => m.snapshot(),
        _ => Map::new(),
    };
    let mut p = Parser {
        sc: expr.chars().peekable(),
        reader,
    };
    loop {
        match p.key(&mut root, 0) {
            Ok(()) => continue,
            Err(Stop::Eof) => break,
            Err(Stop::Err(e)) => {
                *values = Value::map(root);
                return Err(e);
            }
        }
    }
    *values = Value::map(root);
    Ok(())
}

fn typed(s: String, kind: SetKind) -> Value {
    if kind == SetKind::String {
        return Value::from(s);
    }
    if s.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if s.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if s.eq_ignore_ascii_case("null") {
        return Value::Nil;
    }
    if s == "0" {
        return Value::Int64(0);
    }
    if !s.starts_with('0')
        && !s.is_empty()
        && let Some(i) = go_parse_int10(&s)
    {
        return Value::Int64(i);
    }
    Value::from(s)
}

/// Go's `strconv.ParseInt(s, 10, 64)`.
fn go_parse_int10(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Why parsing stopped: the end of input (not an error at a key
/// boundary) or a real error.
enum Stop {
    Eof,
    Err(SetError),
}

impl From<SetError> for Stop {
    fn from(e: SetError) -> Stop {
        Stop::Err(e)
    }
}

struct Parser<'a, 'r, 'f> {
    sc: Peekable<Chars<'a>>,
    reader: &'r mut Reader<'f>,
}

/// Reads up to (and consuming) one of `stop`, handling `\` escapes. Returns
/// the text and the stop character, or `None` for the end of input.
fn runes_until(sc: &mut Peekable<Chars<'_>>, stop: &[char]) -> (String, Option<char>) {
    let mut v = String::new();
    while let Some(c) = sc.next() {
        if stop.contains(&c) {
            return (v, Some(c));
        }
        if c == '\\' {
            match sc.next() {
                Some(n) => v.push(n),
                None => return (v, None),
            }
        } else {
            v.push(c);
        }
    }
    (v, None)
}

fn set(data: &mut Map, key: String, v: Value) {
    if !key.is_empty() {
        data.insert(key, v);
    }
}

fn go_type(v: &Value) -> &str {
    v.type_name()
}

impl Parser<'_, '_, '_> {
    fn read_value(&mut self, s: String) -> Result<Value, SetError> {
        (self.reader)(s)
    }

    fn key(&mut self, data: &mut Map, level: usize) -> Result<(), Stop> {
        let (k, last) = runes_until(&mut self.sc, &['=', '[', ',', '.']);
        match last {
            None => {
                if k.is_empty() {
                    Err(Stop::Eof)
                } else {
                    Err(SetError::NoValue(k).into())
                }
            }
            Some('[') => {
                let i = self.key_index()?;
                let list = match data.get(&k) {
                    None => Vec::new(),
                    Some(Value::List(l)) => l.as_ref().clone(),
                    Some(other) => {
                        return Err(SetError::TypeConflict(format!(
                            "interface {{}} is {}, not []interface {{}}",
                            go_type(other)
                        ))
                        .into());
                    }
                };
                let (list, res) = self.list_item(list, i, level);
                set(data, k, Value::list(list));
                res
            }
            Some('=') => match self.val_list() {
                Ok(Some(list)) => {
                    set(data, k, Value::list(list));
                    Ok(())
                }
                Ok(None) => {
                    let (rs, eof) = self.val();
                    let _ = eof;
                    let v = self.read_value(rs)?;
                    set(data, k, v);
                    // Helm reports success even when the value ended the
                    // input; the next key read finds the end.
                    Ok(())
                }
                Err(Stop::Eof) => {
                    set(data, k, Value::str(""));
                    Err(Stop::Eof)
                }
                Err(e) => Err(e),
            },
            Some(',') => {
                set(data, k.clone(), Value::str(""));
                Err(SetError::NoValueComma(k).into())
            }
            Some(_) => {
                // '.'
                let level = level + 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return Err(SetError::TooDeep.into());
                }
                let mut inner = match data.get(&k) {
                    None => Map::new(),
                    Some(Value::Map(m)) => m.snapshot(),
                    Some(other) => {
                        return Err(SetError::TypeConflict(format!(
                            "interface {{}} is {}, not map[string]interface {{}}",
                            go_type(other)
                        ))
                        .into());
                    }
                };
                let res = self.key(&mut inner, level);
                let empty = inner.is_empty();
                if !empty {
                    set(data, k.clone(), Value::map(inner));
                }
                match res {
                    Ok(()) if empty => Err(SetError::EmptyKeyMap(k).into()),
                    other => other,
                }
            }
        }
    }

    /// `{a,b,c}` after `=`: `Ok(Some(list))`, `Ok(None)` when the value is
    /// not a list, `Err(Eof)` at the end of input.
    fn val_list(&mut self) -> Result<Option<Vec<Value>>, Stop> {
        match self.sc.peek() {
            None => return Err(Stop::Eof),
            Some('{') => {
                self.sc.next();
            }
            Some(_) => return Ok(None),
        }
        let mut list = Vec::new();
        loop {
            let (rs, last) = runes_until(&mut self.sc, &[',', '}']);
            match last {
                None => return Err(SetError::UnterminatedList.into()),
                Some('}') => {
                    if self.sc.peek() == Some(&',') {
                        self.sc.next();
                    }
                    list.push(self.read_value(rs)?);
                    return Ok(Some(list));
                }
                Some(_) => list.push(self.read_value(rs)?),
            }
        }
    }

    /// The text of a scalar value up to `,`; true when input ended.
    fn val(&mut self) -> (String, bool) {
        let (v, last) = runes_until(&mut self.sc, &[',']);
        (v, last.is_none())
    }

    fn key_index(&mut self) -> Result<usize, Stop> {
        let (v, last) = runes_until(&mut self.sc, &[']']);
        if last.is_none() {
            return Err(Stop::Eof);
        }
        let i: i64 = v.parse().map_err(|_| {
            SetError::BadIndex(format!("strconv.Atoi: parsing {v:?}: invalid syntax"))
        })?;
        if i < 0 {
            return Err(SetError::NegativeIndex(i).into());
        }
        let i = i as usize;
        if i > MAX_INDEX {
            return Err(SetError::IndexTooLarge(i).into());
        }
        Ok(i)
    }

    fn list_item(
        &mut self,
        mut list: Vec<Value>,
        i: usize,
        level: usize,
    ) -> (Vec<Value>, Result<(), Stop>) {
        let (k, last) = runes_until(&mut self.sc, &['[', '.', '=']);
        if !k.is_empty() {
            return (list, Err(SetError::DataAfterIndex(k).into()));
        }
        match last {
            None => (list, Err(Stop::Eof)),
            Some('=') => match self.val_list() {
                Ok(Some(vl)) => {
                    set_index(&mut list, i, Value::list(vl));
                    (list, Ok(()))
                }
                Err(Stop::Eof) => {
                    set_index(&mut list, i, Value::str(""));
                    (list, Ok(()))
                }
                Err(e) => (list, Err(e)),
                Ok(None) => {
                    let (rs, _) = self.val();
                    match self.read_value(rs) {
                        Ok(v) => {
                            set_index(&mut list, i, v);
                            (list, Ok(()))
                        }
                        Err(e) => (list, Err(e.into())),
                    }
                }
            },
            Some('[') => {
                let next = match self.key_index() {
                    Ok(n) => n,
                    Err(e) => return (list, Err(e)),
                };
                let current = match list.get(i) {
                    None => Vec::new(),
                    Some(Value::List(l)) => l.as_ref().clone(),
                    Some(Value::Nil) => Vec::new(),
                    Some(other) => {
                        let msg =
                            format!("interface {{}} is {}, not []interface {{}}", go_type(other));
                        return (list, Err(SetError::TypeConflict(msg).into()));
                    }
                };
                let (inner, res) = self.list_item(current, next, level);
                if let Err(e) = res {
                    return (list, Err(e));
                }
                set_index(&mut list, i, Value::list(inner));
                (list, Ok(()))
            }
            Some(_) => {
                // '.': a map inside the list element. Helm edits an
                // existing element's map in place, so its changes survive
                // an error; a new map is only stored on success.
                let existing = matches!(list.get(i), Some(Value::Map(_)));
                let mut inner = match list.get(i) {
                    Some(Value::Map(m)) => m.snapshot(),
                    _ => Map::new(),
                };
                let res = self.key(&mut inner, level);
                if let Err(e) = res {
                    if existing {
                        list[i] = Value::map(inner);
                    }
                    return (list, Err(e));
                }
                set_index(&mut list, i, Value::map(inner));
                (list, Ok(()))
            }
        }
    }
}

/// Go's `%q` of a `[]rune`: `['a' 'b']`.
fn go_runes(s: &str) -> String {
    let parts: Vec<String> = s
        .chars()
        .map(|c| match c {
            '\'' => "'\\''".to_string(),
            '\\' => "'\\\\'".to_string(),
            c if c.is_control() => format!("'\\u{:04x}'", c as u32),
            c => format!("'{c}'"),
        })
        .collect();
    format!("[{}]", parts.join(" "))
}

fn set_index(list: &mut Vec<Value>, i: usize, v: Value) {
    if list.len() <= i {
        list.resize(i + 1, Value::Nil);
    }
    list[i] = v;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(expr: &str) -> Result<Value, SetError> {
        let mut v = Value::map(Map::new());
        parse_set(expr, &mut v, false)?;
        Ok(v)
    }

    #[test]
    fn typed_values() {
        let v = parse("a=1,b=true,c=0,d=007,e=null,f=x").unwrap();
        let Value::Map(m) = v else { panic!() };
        assert_eq!(m.get("a"), Some(Value::Int64(1)));
        assert_eq!(m.get("b"), Some(Value::Bool(true)));
        assert_eq!(m.get("c"), Some(Value::Int64(0)));
        assert_eq!(m.get("d"), Some(Value::str("007")));
        assert_eq!(m.get("e"), Some(Value::Nil));
    }

    #[test]
    fn errors() {
        assert_eq!(parse("a"), Err(SetError::NoValue("a".into())));
        assert!(parse("a={x").is_err());
        assert!(parse("a=1,a.b=2").is_err());
        assert_eq!(parse("").unwrap(), Value::map(Map::new()));
    }
}
