//! Go's regular-expression syntax (RE2, as Go's `regexp` parses it) rewritten
//! into the syntax of the `regex` crate.
//!
//! The two dialects share most syntax but differ where charts notice:
//! - inside a class Go reads `-` next to an escape or shorthand class as a
//!   literal (`[\w-\.]`) and knows no set operators, while `regex` rejects the
//!   first and gives `--`, `&&`, `~~` and a nested `[` meaning;
//! - Go's `\d`, `\s`, `\w` and `\b` are ASCII-only, `regex`'s are Unicode;
//! - Go takes `{` that does not start a valid repetition literally, knows
//!   `\Q...\E` quoting and octal escapes, and reads `\<`, `\>` as literals
//!   where `regex` has word-boundary assertions.
//!
//! Anything the rewrite does not recognise is passed through unchanged, so a
//! pattern Go rejects is still rejected (by `regex`, with its own message).

use std::fmt::Write;

const DIGIT: &str = "0-9";
const SPACE: &str = "\\t\\n\\x0C\\r ";
const WORD: &str = "0-9A-Za-z_";

/// The `regex` crate pattern that matches what Go's `regexp` would match for
/// `pattern`.
pub(crate) fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        match c {
            '\\' => rest = top_escape(rest, &mut out),
            '[' => rest = class(rest, &mut out),
            '{' => {
                if let Some(n) = repeat_len(rest) {
                    out.push('{');
                    out.push_str(&rest[..n]);
                    rest = &rest[n..];
                } else {
                    out.push_str("\\{");
                }
            }
            '}' => out.push_str("\\}"),
            ']' => out.push_str("\\]"),
            _ => out.push(c),
        }
    }
    out
}

/// Length of the rest of a valid `{n}`, `{n,}` or `{n,m}` after its `{`.
fn repeat_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut i = digits(0);
    if i == 0 {
        return None;
    }
    if b.get(i) == Some(&b',') {
        i += 1;
        i += digits(i);
    }
    (b.get(i) == Some(&b'}')).then_some(i + 1)
}

/// Writes a literal character so that it means itself anywhere, in or out of
/// a class.
fn literal(c: char, out: &mut String) {
    if c.is_alphanumeric() || c == '_' {
        out.push(c);
    } else {
        let _ = write!(out, "\\x{{{:X}}}", c as u32);
    }
}

/// An escape sequence both dialects read alike, copied as is: `\pL`,
/// `\p{Greek}`, `\x41`, `\x{263a}`. Returns the rest after it.
fn copy_unicode_or_hex<'a>(c: char, rest: &'a str, out: &mut String) -> &'a str {
    out.push('\\');
    out.push(c);
    let n = if rest.starts_with('{') {
        rest.find('}').map_or(rest.len(), |i| i + 1)
    } else if c == 'x' {
        rest.char_indices().nth(2).map_or(rest.len(), |(i, _)| i)
    } else {
        rest.chars().next().map_or(0, char::len_utf8)
    };
    out.push_str(&rest[..n]);
    &rest[n..]
}

/// Go's octal escape after the backslash (`\0`, `\12`, `\123`): the character
/// and the rest, or `None` when the digits are no octal escape (`\1` alone is
/// a back reference, which Go rejects).
fn octal(rest: &str) -> Option<(char, &str)> {
    let b = rest.as_bytes();
    let first = *b.first()?;
    if !(b'0'..=b'7').contains(&first) {
        return None;
    }
    if first != b'0' && !b.get(1).is_some_and(|c| (b'0'..=b'7').contains(c)) {
        return None;
    }
    let n = b
        .iter()
        .take(3)
        .take_while(|c| (b'0'..=b'7').contains(c))
        .count();
    let v = u32::from_str_radix(&rest[..n], 8).ok()?;
    Some((char::from_u32(v)?, &rest[n..]))
}

/// An escape outside a class; `rest` follows the backslash.
fn top_escape<'a>(rest: &'a str, out: &mut String) -> &'a str {
    let Some(c) = rest.chars().next() else {
        out.push('\\');
        return rest;
    };
    let after = &rest[c.len_utf8()..];
    match c {
        'Q' => {
            let (lit, tail) = match after.find("\\E") {
                Some(i) => (&after[..i], &after[i + 2..]),
                None => (after, ""),
            };
            lit.chars().for_each(|c| literal(c, out));
            tail
        }
        'd' | 's' | 'w' => {
            let _ = write!(out, "[{}]", perl(c));
            after
        }
        'D' | 'S' | 'W' => {
            let _ = write!(out, "[^{}]", perl(c.to_ascii_lowercase()));
            after
        }
        'b' | 'B' => {
            let _ = write!(out, "(?-u:\\{c})");
            after
        }
        'p' | 'P' | 'x' => copy_unicode_or_hex(c, after, out),
        '0'..='7' => match octal(rest) {
            Some((ch, tail)) => {
                literal(ch, out);
                tail
            }
            None => {
                out.push('\\');
                out.push(c);
                after
            }
        },
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => {
            literal(c, out);
            after
        }
        _ => {
            out.push('\\');
            out.push(c);
            after
        }
    }
}

fn perl(c: char) -> &'static str {
    match c {
        'd' => DIGIT,
        's' => SPACE,
        _ => WORD,
    }
}

/// One character of a class (a literal or an escape standing for one
/// character), or `None` when `s` starts with something else.
fn class_char(s: &str) -> Option<(char, &str)> {
    let c = s.chars().next()?;
    let after = &s[c.len_utf8()..];
    if c != '\\' {
        return Some((c, after));
    }
    let e = after.chars().next()?;
    let tail = &after[e.len_utf8()..];
    match e {
        '0'..='7' => octal(after),
        'a' => Some(('\x07', tail)),
        'f' => Some(('\x0C', tail)),
        'n' => Some(('\n', tail)),
        'r' => Some(('\r', tail)),
        't' => Some(('\t', tail)),
        'v' => Some(('\x0B', tail)),
        'x' => {
            let (digits, rest) = if let Some(t) = tail.strip_prefix('{') {
                let end = t.find('}')?;
                (&t[..end], &t[end + 1..])
            } else {
                (tail.get(..2)?, &tail[2..])
            };
            let v = u32::from_str_radix(digits, 16).ok()?;
            Some((char::from_u32(v)?, rest))
        }
        e if e.is_ascii() && !e.is_ascii_alphanumeric() => Some((e, tail)),
        _ => None,
    }
}

/// A class; `rest` follows its `[`. Every item is re-emitted in a form
/// `regex` cannot misread; what is not understood is copied for `regex` to
/// report.
fn class<'a>(mut rest: &'a str, out: &mut String) -> &'a str {
    out.push('[');
    if let Some(r) = rest.strip_prefix('^') {
        out.push('^');
        rest = r;
    }
    let mut first = true;
    loop {
        if rest.is_empty() {
            // Unterminated: left for `regex` to reject.
            return rest;
        }
        if rest.starts_with(']') && !first {
            out.push(']');
            return &rest[1..];
        }
        first = false;
        if rest.starts_with("[:")
            && let Some(end) = rest[2..].find(":]")
        {
            out.push_str(&rest[..end + 4]);
            rest = &rest[end + 4..];
            continue;
        }
        if let Some(r) = rest.strip_prefix('\\')
            && let Some(c) = r.chars().next()
        {
            let after = &r[c.len_utf8()..];
            match c {
                'd' | 's' | 'w' => {
                    out.push_str(perl(c));
                    rest = after;
                    continue;
                }
                'D' | 'S' | 'W' => {
                    let _ = write!(out, "[^{}]", perl(c.to_ascii_lowercase()));
                    rest = after;
                    continue;
                }
                'p' | 'P' => {
                    rest = copy_unicode_or_hex(c, after, out);
                    continue;
                }
                _ => {}
            }
        }
        let Some((lo, after)) = class_char(rest) else {
            // An escape Go rejects: copied for `regex` to reject too.
            let n = rest.chars().take(2).map(char::len_utf8).sum();
            out.push_str(&rest[..n]);
            rest = &rest[n..];
            continue;
        };
        rest = after;
        literal(lo, out);
        if let Some(r) = rest.strip_prefix('-')
            && !r.starts_with(']')
            && !r.is_empty()
        {
            match class_char(r) {
                Some((hi, after)) => {
                    out.push('-');
                    literal(hi, out);
                    rest = after;
                }
                None => {
                    // `[a-\w]`: Go rejects it; so does `regex` for this.
                    out.push('-');
                    rest = r;
                }
            }
        }
    }
}

/// The text of the error Go's `regexp` reports for `pattern`
/// (`error parsing regexp: missing closing ]: ` + "`[`"), for the errors
/// charts run into: unbalanced brackets and parentheses, bad ranges and
/// escapes, misplaced or stacked repetition operators, bad repeat counts and
/// group flags. `None` when none of these is found (the caller then reports
/// the `regex` crate's own message).
pub(crate) fn go_error(pattern: &str) -> Option<String> {
    let fail = |code: &str, expr: &str| Some(format!("error parsing regexp: {code}: `{expr}`"));
    let mut depth = 0usize;
    // Whether the previous item can take a repetition operator, and where
    // the previous item's repetition operator (if it was one) started.
    let mut has_arg = false;
    let mut last_repeat: Option<usize> = None;
    let mut i = 0;
    while i < pattern.len() {
        let rest = &pattern[i..];
        let c = rest.chars().next()?;
        let mut repeat = None;
        match c {
            '(' => {
                if let Some(r) = rest.strip_prefix("(?") {
                    match group_flags(r) {
                        Ok((n, opens)) => {
                            i += 2 + n;
                            if opens {
                                depth += 1;
                                has_arg = false;
                            }
                            last_repeat = None;
                            continue;
                        }
                        Err(n) => {
                            let end = (2 + n).min(rest.len());
                            return fail("invalid or unsupported Perl syntax", &rest[..end]);
                        }
                    }
                }
                depth += 1;
                has_arg = false;
                i += 1;
            }
            ')' => {
                if depth == 0 {
                    return fail("unexpected )", pattern);
                }
                depth -= 1;
                has_arg = true;
                i += 1;
            }
            '|' => {
                has_arg = false;
                i += 1;
            }
            '*' | '+' | '?' | '{' => {
                let len = if c == '{' {
                    match repeat_len(&rest[1..]) {
                        Some(n) => {
                            let body = &rest[1..n];
                            let (lo, hi) = body.split_once(',').unwrap_or((body, body));
                            let lo: u64 = lo.parse().unwrap_or(u64::MAX);
                            let hi: Option<u64> = if hi.is_empty() {
                                None
                            } else {
                                Some(hi.parse().unwrap_or(u64::MAX))
                            };
                            if lo > 1000 || hi.is_some_and(|h| h > 1000 || h < lo) {
                                return fail("invalid repeat count", &rest[..n + 1]);
                            }
                            n + 1
                        }
                        None => {
                            // A literal `{`.
                            has_arg = true;
                            last_repeat = None;
                            i += 1;
                            continue;
                        }
                    }
                } else {
                    1
                };
                let len = len + usize::from(rest[len..].starts_with('?'));
                if let Some(start) = last_repeat {
                    return fail(
                        "invalid nested repetition operator",
                        &pattern[start..i + len],
                    );
                }
                if !has_arg {
                    return fail("missing argument to repetition operator", &rest[..len]);
                }
                repeat = Some(i);
                i += len;
            }
            '[' => {
                match class_error(rest) {
                    Ok(n) => i += n,
                    Err((code, expr)) => return fail(code, expr),
                }
                has_arg = true;
            }
            '\\' => {
                let r = &rest[1..];
                let Some(e) = r.chars().next() else {
                    return fail("trailing backslash at end of expression", "");
                };
                let n = match e {
                    'A' | 'b' | 'B' | 'z' | 'd' | 'D' | 's' | 'S' | 'w' | 'W' => 2,
                    'Q' => match r[1..].find("\\E") {
                        Some(k) => 1 + 1 + k + 2,
                        None => rest.len(),
                    },
                    'p' | 'P' => {
                        rest.len() - copy_unicode_or_hex(e, &r[1..], &mut String::new()).len()
                    }
                    _ => match class_char(rest) {
                        Some((_, after)) => rest.len() - after.len(),
                        None => {
                            return fail("invalid escape sequence", &rest[..1 + e.len_utf8()]);
                        }
                    },
                };
                has_arg = true;
                i += n;
            }
            _ => {
                has_arg = true;
                i += c.len_utf8();
            }
        }
        last_repeat = repeat;
    }
    if depth > 0 {
        return fail("missing closing )", pattern);
    }
    None
}

/// The flags of a `(?` group (`r` follows the `?`): on success how many
/// bytes they take and whether a group opens (`(?i:` or a named group) rather
/// than only setting flags (`(?i)`); on failure how many bytes up to and
/// including the offending character.
fn group_flags(r: &str) -> Result<(usize, bool), usize> {
    let named = r
        .strip_prefix("P<")
        .map(|n| (2, n))
        .or_else(|| r.strip_prefix('<').map(|n| (1, n)));
    if let Some((skip, n)) = named {
        return match n.find('>') {
            Some(end)
                if end > 0
                    && n[..end]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                Ok((skip + end + 1, true))
            }
            _ => Err(r.len()),
        };
    }
    let mut negated = false;
    let mut saw_flag = false;
    for (k, c) in r.char_indices() {
        match c {
            'i' | 'm' | 's' | 'U' => saw_flag = true,
            '-' if !negated => {
                negated = true;
                saw_flag = false;
            }
            ':' | ')' if !negated || saw_flag => return Ok((k + 1, c == ':')),
            _ => return Err(k + c.len_utf8()),
        }
    }
    Err(r.len())
}

/// Checks a class the way Go parses it (`s` starts at its `[`): the length
/// of the class, or Go's error code and the text it names.
fn class_error(s: &str) -> Result<usize, (&'static str, &str)> {
    const NAMES: [&str; 14] = [
        "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
        "space", "upper", "word", "xdigit",
    ];
    let mut rest = &s[1..];
    if let Some(r) = rest.strip_prefix('^') {
        rest = r;
    }
    let mut first = true;
    loop {
        if rest.is_empty() {
            return Err(("missing closing ]", s));
        }
        if rest.starts_with(']') && !first {
            return Ok(s.len() - rest.len() + 1);
        }
        first = false;
        if rest.starts_with("[:")
            && let Some(end) = rest[2..].find(":]")
        {
            let name = &rest[2..2 + end];
            if !NAMES.contains(&name.strip_prefix('^').unwrap_or(name)) {
                return Err(("invalid character class range", &rest[..end + 4]));
            }
            rest = &rest[end + 4..];
            continue;
        }
        if let Some(r) = rest.strip_prefix('\\') {
            match r.chars().next() {
                None => return Err(("trailing backslash at end of expression", "")),
                Some('d' | 'D' | 's' | 'S' | 'w' | 'W') => {
                    rest = &r[1..];
                    continue;
                }
                Some(e @ ('p' | 'P')) => {
                    rest = copy_unicode_or_hex(e, &r[1..], &mut String::new());
                    continue;
                }
                _ => {}
            }
        }
        let start = rest;
        let (lo, after) = class_char(rest).ok_or_else(|| escape_error(rest))?;
        rest = after;
        if let Some(r) = rest.strip_prefix('-')
            && !r.starts_with(']')
            && !r.is_empty()
        {
            let (hi, after) = class_char(r).ok_or_else(|| escape_error(r))?;
            if hi < lo {
                return Err((
                    "invalid character class range",
                    &start[..start.len() - after.len()],
                ));
            }
            rest = after;
        }
    }
}

/// Go's error for an escape it does not know at the start of `s`.
fn escape_error(s: &str) -> (&'static str, &str) {
    match s[1..].chars().next() {
        None => ("trailing backslash at end of expression", ""),
        Some(e) => ("invalid escape sequence", &s[..1 + e.len_utf8()]),
    }
}

#[cfg(test)]
mod tests {
    use super::translate;

    fn m(re: &str, s: &str) -> bool {
        let t = translate(re);
        regex::Regex::new(&t)
            .unwrap_or_else(|e| panic!("{re} -> {t}: {e}"))
            .is_match(s)
    }

    #[test]
    fn dash_next_to_class_escapes_is_literal() {
        assert!(m(r"^[\w-\.]+$", "a-b.c_9"));
        assert!(!m(r"^[\w-\.]+$", "a/b"));
        assert!(m(r"^[-\d]+$", "-12"));
        assert!(m(r"^[\d-]+$", "1-2"));
        assert!(m(r"^[+--]+$", "+,-"));
        assert!(m(r"^[a-c&&b]+$", "a&b"));
        assert!(m(r"^[a~~[]+$", "a~["));
    }

    #[test]
    fn shorthand_classes_are_ascii() {
        assert!(!m(r"^\d$", "٣"));
        assert!(!m(r"^\w$", "é"));
        assert!(m(r"^\W$", "é"));
        assert!(m(r"^[\D]$", "٣"));
        assert!(!m(r"^\s$", "\u{a0}"));
        assert!(m(r"\bx\b", "éxé"));
    }

    #[test]
    fn go_only_syntax() {
        assert!(m(r"^\Qa.b*\E+$", "a.b**"));
        assert!(!m(r"^\Qa.b\E$", "axb"));
        assert!(m(r"^{(v[0-9])*[^}]*}}$", "{v1x}}"));
        assert!(m(r"^a{2}b{1,}c{,3}$", "aabbc{,3}"));
        assert!(m(r"^\<\>$", "<>"));
        assert!(m(r"^\101\0$", "A\0"));
        assert!(m(r"^[\101-\103]+$", "ABC"));
        assert!(m(r"^[[:alpha:]]+\z", "abc"));
        assert!(m(r"^\pL\p{Greek}[\pN]$", "aα1"));
        assert!(m(r"^[\x41\x{42}]+$", "AB"));
        assert!(m(r"^[]a]+$", "]a"));
        assert!(m(r"(?i)^ABC$", "abc"));
        assert!(m(r"^(?P<x>a)(?<y>b)$", "ab"));
    }

    #[test]
    fn go_error_texts() {
        let cases = [
            ("[", "missing closing ]: `[`"),
            ("a[^", "missing closing ]: `[^`"),
            ("a[b-a]c", "invalid character class range: `b-a`"),
            (r"a\1", r"invalid escape sequence: `\1`"),
            (r"x[a-\w]", r"invalid escape sequence: `\w`"),
            (r"a\8", r"invalid escape sequence: `\8`"),
            ("(ab", "missing closing ): `(ab`"),
            ("((a)", "missing closing ): `((a)`"),
            ("ab)c", "unexpected ): `ab)c`"),
            ("*a", "missing argument to repetition operator: `*`"),
            ("(a|*)", "missing argument to repetition operator: `*`"),
            ("a**", "invalid nested repetition operator: `**`"),
            ("a{2}{3}", "invalid nested repetition operator: `{2}{3}`"),
            ("a{1001}", "invalid repeat count: `{1001}`"),
            ("(?x)a", "invalid or unsupported Perl syntax: `(?x`"),
            ("a[[:foo:]]", "invalid character class range: `[:foo:]`"),
            (r"a[x\", "trailing backslash at end of expression: ``"),
            (r"ab\", "trailing backslash at end of expression: ``"),
        ];
        for (re, want) in cases {
            assert_eq!(
                super::go_error(re).as_deref(),
                Some(format!("error parsing regexp: {want}").as_str()),
                "{re}"
            );
        }
        for ok in [
            r"^[\w-\.]+$",
            r"(?i:a)+(?P<n>b)*?c{1,2}?\Q(*\E[]a-c[:alpha:]\d-]{",
            r"\pL+\p{Greek}?\x41\x{42}\101|^$",
            "(?-i)a(?i)*",
        ] {
            assert_eq!(super::go_error(ok), None, "{ok}");
        }
    }

    #[test]
    fn rejected_patterns_stay_rejected() {
        for re in [r"[a", r"a\1", r"[a-\w]", r"(", r"[z-a]", r"\8"] {
            assert!(regex::Regex::new(&translate(re)).is_err(), "{re}");
        }
    }
}
