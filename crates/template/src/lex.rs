//! The lexer: splits template text into text runs and action tokens.
//!
//! It follows Go's `text/template/parse` lexer: `{{-`/`-}}` trim markers need
//! a space beside them, comments must touch their delimiters, actions may span
//! lines, and numbers are scanned loosely then checked by the parser.

use std::sync::Arc;

/// A token kind.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    Text(Arc<str>),
    LeftDelim,
    RightDelim,
    Comment,
    Space,
    Declare,
    Assign,
    Pipe,
    LeftParen,
    RightParen,
    Comma,
    Str { quoted: Arc<str>, value: Arc<str> },
    Char(Arc<str>),
    Number(Arc<str>),
    Bool(bool),
    Nil,
    Dot,
    Field(Arc<str>),
    Variable(Arc<str>),
    Ident(Arc<str>),
    Keyword(&'static str),
    Eof,
}

/// A token and its byte offset in the source.
#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub tok: Tok,
    pub pos: usize,
}

/// A lexing failure: message and byte offset.
#[derive(Debug)]
pub(crate) struct LexError {
    pub msg: String,
    pub pos: usize,
}

const KEYWORDS: &[&str] = &[
    "block", "break", "continue", "define", "else", "end", "if", "range", "template", "with",
];

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Tokenizes the whole input with delimiters `left`/`right`.
pub(crate) fn lex(input: &str, left: &str, right: &str) -> Result<Vec<Token>, LexError> {
    let mut l = Lexer {
        src: input,
        pos: 0,
        out: Vec::new(),
        left,
        right,
        paren: 0,
    };
    l.run()?;
    Ok(l.out)
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    out: Vec<Token>,
    left: &'a str,
    right: &'a str,
    paren: usize,
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn err<T>(&self, msg: impl Into<String>, pos: usize) -> Result<T, LexError> {
        Err(LexError {
            msg: msg.into(),
            pos,
        })
    }

    fn emit(&mut self, tok: Tok, pos: usize) {
        self.out.push(Token { tok, pos });
    }

    fn run(&mut self) -> Result<(), LexError> {
        loop {
            // Text up to the next left delimiter.
            let start = self.pos;
            let Some(off) = self.rest().find(self.left) else {
                if start < self.src.len() {
                    self.emit(Tok::Text(Arc::from(&self.src[start..])), start);
                }
                self.emit(Tok::Eof, self.src.len());
                return Ok(());
            };
            let delim_at = start + off;
            let after = delim_at + self.left.len();
            let b = self.src.as_bytes();
            let trim_left =
                b.get(after) == Some(&b'-') && b.get(after + 1).is_some_and(|c| is_space(*c));
            let mut text_end = delim_at;
            if trim_left {
                while text_end > start && is_space(b[text_end - 1]) {
                    text_end -= 1;
                }
            }
            if text_end > start {
                self.emit(Tok::Text(Arc::from(&self.src[start..text_end])), start);
            }
            self.pos = after;
            if trim_left {
                self.pos += 2;
            }
            // A comment must start right after the delimiter (and trim marker).
            if self.rest().starts_with("/*") {
                self.lex_comment(delim_at)?;
                continue;
            }
            self.emit(Tok::LeftDelim, delim_at);
            self.paren = 0;
            self.lex_action()?;
        }
    }

    /// Skips whitespace after a `-}}` trim marker.
    fn trim_right(&mut self) {
        let b = self.src.as_bytes();
        while self.pos < b.len() && is_space(b[self.pos]) {
            self.pos += 1;
        }
    }

    fn at_right_delim(&self) -> Option<(usize, bool)> {
        let r = self.rest();
        if r.starts_with(' ') || r.starts_with('\t') || r.starts_with('\r') || r.starts_with('\n') {
            let r2 = &r[1..];
            if r2.starts_with('-') && r2[1..].starts_with(self.right) {
                return Some((2 + self.right.len(), true));
            }
        }
        if r.starts_with(self.right) {
            return Some((self.right.len(), false));
        }
        None
    }

    fn lex_comment(&mut self, delim_at: usize) -> Result<(), LexError> {
        let body = self.pos + 2;
        let Some(end) = self.src[body..].find("*/") else {
            return self.err("unclosed comment", delim_at);
        };
        self.pos = body + end + 2;
        match self.at_right_delim() {
            Some((n, trim)) => {
                self.pos += n;
                if trim {
                    self.trim_right();
                }
                self.emit(Tok::Comment, delim_at);
                Ok(())
            }
            None => self.err("comment ends before closing delimiter", delim_at),
        }
    }

    fn lex_action(&mut self) -> Result<(), LexError> {
        loop {
            if self.paren == 0
                && let Some((n, trim)) = self.at_right_delim()
            {
                let p = self.pos;
                self.pos += n;
                if trim {
                    self.trim_right();
                }
                self.emit(Tok::RightDelim, p);
                return Ok(());
            }
            let p = self.pos;
            let Some(c) = self.rest().chars().next() else {
                return self.err("unclosed action", p);
            };
            match c {
                ' ' | '\t' | '\r' | '\n' => {
                    // A space right before a right trim marker belongs to the delimiter.
                    let b = self.src.as_bytes();
                    let mut q = p;
                    while q < b.len() && is_space(b[q]) {
                        self.pos = q;
                        if self.paren == 0 && self.at_right_delim().is_some_and(|(_, t)| t) {
                            break;
                        }
                        q += 1;
                    }
                    self.pos = q;
                    if self.pos > p {
                        self.emit(Tok::Space, p);
                    }
                }
                ':' => {
                    if self.rest().starts_with(":=") {
                        self.pos += 2;
                        self.emit(Tok::Declare, p);
                    } else {
                        return self.err("expected :=", p);
                    }
                }
                '=' => {
                    self.pos += 1;
                    self.emit(Tok::Assign, p);
                }
                '|' => {
                    self.pos += 1;
                    self.emit(Tok::Pipe, p);
                }
                ',' => {
                    self.pos += 1;
                    self.emit(Tok::Comma, p);
                }
                '(' => {
                    self.pos += 1;
                    self.paren += 1;
                    self.emit(Tok::LeftParen, p);
                }
                ')' => {
                    if self.paren == 0 {
                        return self.err("unexpected right paren", p);
                    }
                    self.pos += 1;
                    self.paren -= 1;
                    self.emit(Tok::RightParen, p);
                }
                '"' => self.lex_quote()?,
                '`' => {
                    let Some(end) = self.src[p + 1..].find('`') else {
                        return self.err("unterminated raw quoted string", p);
                    };
                    let raw = &self.src[p..p + end + 2];
                    self.pos = p + end + 2;
                    let value = raw[1..raw.len() - 1].to_string();
                    self.emit(
                        Tok::Str {
                            quoted: Arc::from(raw),
                            value: Arc::from(value),
                        },
                        p,
                    );
                }
                '\'' => self.lex_char()?,
                '$' => {
                    self.pos += 1;
                    let name = self.scan_word();
                    self.check_terminator(p, "variable")?;
                    self.emit(Tok::Variable(Arc::from(format!("${name}"))), p);
                }
                '.' => {
                    let next = self.src[p + 1..].chars().next();
                    if next.is_some_and(|c| c.is_ascii_digit()) {
                        self.lex_number()?;
                    } else {
                        self.pos += 1;
                        let name = self.scan_word();
                        if name.is_empty() {
                            self.emit(Tok::Dot, p);
                        } else {
                            self.check_terminator(p, "field")?;
                            self.emit(Tok::Field(Arc::from(name)), p);
                        }
                    }
                }
                '+' | '-' | '0'..='9' => self.lex_number()?,
                c if is_alnum(c) => {
                    let word = self.scan_word();
                    self.check_terminator(p, "identifier")?;
                    let tok = match word.as_str() {
                        "true" => Tok::Bool(true),
                        "false" => Tok::Bool(false),
                        "nil" => Tok::Nil,
                        w => match KEYWORDS.iter().find(|k| **k == w) {
                            Some(k) => Tok::Keyword(k),
                            None => Tok::Ident(Arc::from(word)),
                        },
                    };
                    self.emit(tok, p);
                }
                c => {
                    return self.err(
                        format!("unrecognized character in action: {}", go_unicode(c)),
                        p,
                    );
                }
            }
        }
    }

    fn scan_word(&mut self) -> String {
        let start = self.pos;
        for (i, c) in self.rest().char_indices() {
            if !is_alnum(c) {
                self.pos = start + i;
                return self.src[start..self.pos].to_string();
            }
        }
        self.pos = self.src.len();
        self.src[start..].to_string()
    }

    fn check_terminator(&self, p: usize, _what: &str) -> Result<(), LexError> {
        let r = self.rest();
        let Some(c) = r.chars().next() else {
            return Ok(());
        };
        if matches!(
            c,
            ' ' | '\t' | '\r' | '\n' | '.' | ',' | '|' | ':' | ')' | '(' | '='
        ) || r.starts_with(self.right)
        {
            return Ok(());
        }
        self.err(format!("bad character {}", go_unicode(c)), p)
    }

    fn lex_quote(&mut self) -> Result<(), LexError> {
        let p = self.pos;
        let b = self.src.as_bytes();
        let mut i = p + 1;
        loop {
            match b.get(i) {
                None | Some(b'\n') => return self.err("unterminated quoted string", p),
                Some(b'\\') => i += 2,
                Some(b'"') => break,
                _ => i += 1,
            }
        }
        let quoted = &self.src[p..=i];
        let value = unquote(quoted).map_err(|m| LexError { msg: m, pos: p })?;
        self.pos = i + 1;
        self.emit(
            Tok::Str {
                quoted: Arc::from(quoted),
                value: Arc::from(value),
            },
            p,
        );
        Ok(())
    }

    fn lex_char(&mut self) -> Result<(), LexError> {
        let p = self.pos;
        let b = self.src.as_bytes();
        let mut i = p + 1;
        loop {
            match b.get(i) {
                None | Some(b'\n') => return self.err("unterminated character constant", p),
                Some(b'\\') => i += 2,
                Some(b'\'') => break,
                _ => i += 1,
            }
        }
        self.pos = i + 1;
        self.emit(Tok::Char(Arc::from(&self.src[p..=i])), p);
        Ok(())
    }

    fn lex_number(&mut self) -> Result<(), LexError> {
        let p = self.pos;
        let b = self.src.as_bytes();
        let mut i = p;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        // Loose scan: digits, letters (prefixes, exponents, hex), dots, underscores
        // and a sign right after an exponent marker.
        while let Some(&c) = b.get(i) {
            if c.is_ascii_alphanumeric() || c == b'.' || c == b'_' {
                i += 1;
            } else if (c == b'+' || c == b'-')
                && i > p
                && matches!(b[i - 1], b'e' | b'E' | b'p' | b'P')
            {
                let hex = self.src[p..i].contains(['x', 'X']);
                if hex && matches!(b[i - 1], b'e' | b'E') {
                    break;
                }
                i += 1;
            } else {
                break;
            }
        }
        let text = &self.src[p..i];
        self.pos = i;
        if text == "+" || text == "-" {
            return self.err(format!("bad number syntax: {text:?}"), p);
        }
        self.emit(Tok::Number(Arc::from(text)), p);
        Ok(())
    }
}

/// Go's `%#U` of a rune, used in lexer errors.
fn go_unicode(c: char) -> String {
    format!("U+{:04X} '{}'", c as u32, c)
}

/// Decodes a Go interpreted string literal (with its quotes).
pub(crate) fn unquote(q: &str) -> Result<String, String> {
    let inner = &q[1..q.len() - 1];
    let mut out = String::with_capacity(inner.len());
    let mut it = inner.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = it.next().ok_or_else(|| "invalid syntax".to_string())?;
        match e {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'v' => out.push('\x0b'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '\'' => out.push('\''),
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = (0..n).filter_map(|_| it.next()).collect();
                let v = u32::from_str_radix(&hex, 16).map_err(|_| "invalid syntax".to_string())?;
                if e == 'x' {
                    // A byte; only valid UTF-8 sequences survive in a Rust string.
                    out.push(char::from_u32(v).ok_or("invalid syntax")?);
                } else {
                    out.push(char::from_u32(v).ok_or("invalid syntax")?);
                }
            }
            '0'..='7' => {
                let mut s = String::from(e);
                for _ in 0..2 {
                    if let Some(d) = it.next() {
                        s.push(d);
                    }
                }
                let v = u32::from_str_radix(&s, 8).map_err(|_| "invalid syntax".to_string())?;
                out.push(char::from_u32(v).ok_or("invalid syntax")?);
            }
            _ => return Err("invalid syntax".into()),
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<Tok> {
        lex(s, "{{", "}}")
            .unwrap()
            .into_iter()
            .map(|t| t.tok)
            .collect()
    }

    #[test]
    fn trims_around_markers() {
        let t = kinds("a  {{- .x -}}  b");
        assert_eq!(t[0], Tok::Text("a".into()));
        assert_eq!(t[t.len() - 2], Tok::Text("b".into()));
    }

    #[test]
    fn dash_without_space_is_a_number() {
        let t = kinds("{{-3}}");
        assert_eq!(t[1], Tok::Number("-3".into()));
    }

    #[test]
    fn comments_need_delimiters_adjacent() {
        assert!(lex("{{/* c */}}", "{{", "}}").is_ok());
        assert!(lex("{{/* c */ }}", "{{", "}}").is_err());
        assert_eq!(kinds("a {{- /* c */ -}} b")[0], Tok::Text("a".into()));
    }

    #[test]
    fn unquotes_go_escapes() {
        assert_eq!(unquote(r#""a\tb\u00e9\x41""#).unwrap(), "a\tbéA");
    }
}
