//! Go's `fmt` formatting of template values: `print`, `println`, `printf`.
//!
//! Output must match Go byte for byte, including its shortest-float `%v`
//! (`1e+06`), sorted `map[k:v]` and `[a b]` forms, and its in-band error
//! markers (`%!d(string=x)`, `%!s(MISSING)`, `%!(EXTRA ...)`).

use std::fmt::Write as _;

use crate::value::Value;

/// Whether `%+v` was requested (kept for parity with Go's flag; it only
/// changes structs, which host objects format themselves).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plus {
    No,
    Yes,
}

/// Appends Go's `%v` of `v`.
pub(crate) fn write_value(out: &mut String, v: &Value, plus: Plus) {
    let spec = Spec {
        plus: plus == Plus::Yes,
        ..Spec::default()
    };
    fmt_arg(out, v, 'v', &spec, 0);
}

/// Go's `fmt.Sprint`: spaces between operands when neither side is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::Str(_));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        write_value(&mut out, a, Plus::No);
        prev_string = is_string;
    }
    out
}

/// Go's `fmt.Sprintln`: operands always separated by spaces, newline added.
pub fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_value(&mut out, a, Plus::No);
    }
    out.push('\n');
    out
}

/// Go's fmt rejects widths and precisions above a million.
const TOO_LARGE: usize = 1_000_000;

#[derive(Default, Clone)]
struct Spec {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Go's `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::with_capacity(format.len() + 16 * args.len());
    let mut argi = 0usize;
    let mut reordered = false;
    let mut chars = format.char_indices().peekable();
    // An explicit argument index `[n]` (1-based) selects the next argument.
    let arg_index = |chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
                     argi: &mut usize,
                     good: &mut bool,
                     reordered: &mut bool|
     -> bool {
        if chars.peek().map(|c| c.1) != Some('[') {
            return false;
        }
        chars.next();
        *reordered = true;
        let mut digits = String::new();
        let mut closed = false;
        for (_, c) in chars.by_ref() {
            if c == ']' {
                closed = true;
                break;
            }
            digits.push(c);
        }
        match digits.parse::<usize>() {
            Ok(n) if closed && n >= 1 && n <= args.len() => *argi = n - 1,
            _ => *good = false,
        }
        true
    };
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut good = true;
        let mut spec = Spec::default();
        // Flags.
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '+' => spec.plus = true,
                '-' => {
                    spec.minus = true;
                    spec.zero = false;
                }
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = !spec.minus,
                _ => break,
            }
            chars.next();
        }
        // Width.
        let mut after_index = arg_index(&mut chars, &mut argi, &mut good, &mut reordered);
        if let Some(&(_, '*')) = chars.peek() {
            after_index = false;
            chars.next();
            match args.get(argi).and_then(Value::as_int) {
                Some(w) if w.unsigned_abs() <= TOO_LARGE as u64 => {
                    if w < 0 {
                        spec.minus = true;
                        spec.zero = false;
                    }
                    spec.width = Some(w.unsigned_abs() as usize);
                }
                Some(_) => out.push_str("%!(BADWIDTH)"),
                None => out.push_str("%!(BADWIDTH)"),
            }
            argi += 1;
        } else {
            let mut w = String::new();
            while let Some(&(_, d)) = chars.peek() {
                if d.is_ascii_digit() {
                    w.push(d);
                    chars.next();
                } else {
                    break;
                }
            }
            if !w.is_empty() {
                if after_index {
                    good = false;
                }
                match w.parse::<usize>() {
                    Ok(n) if n <= TOO_LARGE => spec.width = Some(n),
                    _ => out.push_str("%!(BADWIDTH)"),
                }
            }
        }
        // Precision.
        if let Some(&(_, '.')) = chars.peek() {
            chars.next();
            if after_index {
                good = false;
            }
            after_index = arg_index(&mut chars, &mut argi, &mut good, &mut reordered);
            if let Some(&(_, '*')) = chars.peek() {
                after_index = false;
                chars.next();
                match args.get(argi).and_then(Value::as_int) {
                    Some(p) if (0..=TOO_LARGE as i64).contains(&p) => spec.prec = Some(p as usize),
                    Some(p) if p < 0 => spec.prec = None,
                    Some(_) => out.push_str("%!(BADPREC)"),
                    None => out.push_str("%!(BADPREC)"),
                }
                argi += 1;
            } else {
                let mut p = String::new();
                while let Some(&(_, d)) = chars.peek() {
                    if d.is_ascii_digit() {
                        p.push(d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                match p.parse::<usize>() {
                    Ok(n) if n <= TOO_LARGE => spec.prec = Some(n),
                    Err(_) if p.is_empty() => spec.prec = Some(0),
                    _ => out.push_str("%!(BADPREC)"),
                }
            }
        }
        if !after_index {
            arg_index(&mut chars, &mut argi, &mut good, &mut reordered);
        }
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        if !good {
            out.push_str("%!");
            out.push(verb);
            out.push_str("(BADINDEX)");
            continue;
        }
        let Some(arg) = args.get(argi) else {
            out.push_str("%!");
            out.push(verb);
            out.push_str("(MISSING)");
            continue;
        };
        argi += 1;
        if verb == 'T' {
            let t = arg.type_name().to_string();
            pad(&mut out, &t, &spec);
            continue;
        }
        if verb == 'v' && spec.plus {
            // %+v only annotates struct fields; numbers get no sign from it.
            spec.plus = false;
        }
        if verb == 'v' && spec.sharp {
            let s = go_syntax(arg);
            pad(&mut out, &s, &spec);
            continue;
        }
        fmt_arg(&mut out, arg, verb, &spec, 0);
    }
    if !reordered && argi < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[argi..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(a.type_name());
            out.push('=');
            write_value(&mut out, a, Plus::No);
        }
        out.push(')');
    }
    out
}

fn bad_verb(out: &mut String, v: &Value, verb: char) {
    out.push_str("%!");
    out.push(verb);
    out.push('(');
    if v.is_nil() {
        out.push_str("<nil>");
    } else {
        out.push_str(v.type_name());
        out.push('=');
        write_value(out, v, Plus::No);
    }
    out.push(')');
}

fn pad(out: &mut String, s: &str, spec: &Spec) {
    let w = spec.width.unwrap_or(0);
    if w == 0 {
        out.push_str(s);
        return;
    }
    let n = s.chars().count();
    if n >= w {
        out.push_str(s);
        return;
    }
    let fill = w - n;
    if spec.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else {
        // Go pads with zeros on the left when asked, strings included.
        let c = if spec.zero { '0' } else { ' ' };
        out.extend(std::iter::repeat_n(c, fill));
        out.push_str(s);
    }
}

/// Pads a number, putting zero padding after the sign as Go does.
fn pad_number(out: &mut String, s: &str, spec: &Spec) {
    if spec.zero && !spec.minus && spec.width.is_some() {
        let w = spec.width.unwrap_or(0);
        let n = s.chars().count();
        if n < w {
            let (sign, digits) = match s.as_bytes().first() {
                Some(b'+' | b'-' | b' ') => s.split_at(1),
                _ => ("", s),
            };
            out.push_str(sign);
            out.extend(std::iter::repeat_n('0', w - n));
            out.push_str(digits);
            return;
        }
    }
    pad(out, s, spec)
}

fn fmt_arg(out: &mut String, v: &Value, verb: char, spec: &Spec, depth: usize) {
    match v {
        Value::Nil => match verb {
            'v' => pad(out, "<nil>", spec),
            _ => bad_verb(out, v, verb),
        },
        Value::Bool(b) => match verb {
            'v' | 't' => pad(out, if *b { "true" } else { "false" }, spec),
            _ => bad_verb(out, v, verb),
        },
        Value::Int(i) | Value::Int64(i) => fmt_int(out, *i, verb, spec, v),
        Value::Float(f) => fmt_float(out, *f, verb, spec, v),
        Value::Str(s) => fmt_str(out, s, verb, spec, v),
        Value::Bytes(b) => match verb {
            's' | 'q' | 'x' | 'X' => fmt_str(out, &String::from_utf8_lossy(b), verb, spec, v),
            _ => {
                out.push('[');
                for (i, x) in b.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    fmt_int(out, i64::from(*x), verb, spec, &Value::Int(i64::from(*x)));
                }
                out.push(']');
            }
        },
        Value::List(l) => {
            out.push('[');
            if depth > 100 {
                out.push_str("...]");
                return;
            }
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                fmt_arg(out, x, verb, spec, depth + 1);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            if depth > 100 {
                out.push_str("...]");
                return;
            }
            let m = m.read();
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                fmt_str(out, k, verb, spec, &Value::str(k));
                out.push(':');
                fmt_arg(out, x, verb, spec, depth + 1);
            }
            out.push(']');
        }
        Value::Object(o) => match verb {
            'v' | 's' => pad(out, &o.format(), spec),
            _ => bad_verb(out, v, verb),
        },
        Value::Func(_) => pad(out, "<func>", spec),
    }
}

fn fmt_int(out: &mut String, i: i64, verb: char, spec: &Spec, v: &Value) {
    let neg = i < 0;
    let u = i.unsigned_abs();
    let digits = match verb {
        'v' | 'd' => u.to_string(),
        'b' => format!("{u:b}"),
        'o' | 'O' => format!("{u:o}"),
        'x' => format!("{u:x}"),
        'X' => format!("{u:X}"),
        'c' => {
            let s = char::from_u32(i as u32).unwrap_or('\u{FFFD}').to_string();
            return pad(out, &s, spec);
        }
        'q' => {
            let c = char::from_u32(i as u32).unwrap_or('\u{FFFD}');
            return pad(out, &quote_rune(c), spec);
        }
        'U' => {
            let mut s = format!("U+{u:04X}");
            if spec.sharp
                && let Some(c) = char::from_u32(i as u32)
            {
                let _ = write!(s, " '{c}'");
            }
            return pad(out, &s, spec);
        }
        _ => return bad_verb(out, v, verb),
    };
    let mut digits = digits;
    if let Some(p) = spec.prec {
        if p == 0 && u == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    let prefix = match verb {
        'b' if spec.sharp => "0b",
        'o' if spec.sharp && !digits.starts_with('0') => "0",
        'O' => "0o",
        'x' if spec.sharp => "0x",
        'X' if spec.sharp => "0X",
        _ => "",
    };
    let sign = if neg {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let s = format!("{sign}{prefix}{digits}");
    let mut sp = spec.clone();
    if spec.prec.is_some() {
        sp.zero = false;
    }
    pad_number(out, &s, &sp);
}

fn fmt_float(out: &mut String, f: f64, verb: char, spec: &Spec, v: &Value) {
    let body = match verb {
        'v' | 'g' | 'G' => {
            let s = format_g(f, spec.prec);
            if verb == 'G' { s.to_uppercase() } else { s }
        }
        'e' | 'E' => {
            let s = format_e(f, spec.prec.unwrap_or(6));
            if verb == 'E' { s.to_uppercase() } else { s }
        }
        'f' | 'F' => format_f(f, spec.prec.unwrap_or(6)),
        'x' | 'X' => {
            let s = format_hex_float(f);
            if verb == 'X' { s.to_uppercase() } else { s }
        }
        _ => return bad_verb(out, v, verb),
    };
    let body = if f.is_infinite() || f.is_nan() {
        let mut sp = spec.clone();
        sp.zero = false;
        let s = if f.is_nan() {
            if spec.plus {
                "+NaN".to_string()
            } else if spec.space {
                " NaN".into()
            } else {
                "NaN".into()
            }
        } else if f > 0.0 {
            if spec.plus {
                "+Inf".into()
            } else if spec.space {
                " Inf".into()
            } else {
                "+Inf".into()
            }
        } else {
            "-Inf".into()
        };
        // Go prints +Inf for %v only with the plus flag; otherwise "+Inf" too.
        return pad(out, &s, &sp);
    } else {
        body
    };
    let s = if !body.starts_with('-') && spec.plus {
        format!("+{body}")
    } else if !body.starts_with('-') && spec.space {
        format!(" {body}")
    } else {
        body
    };
    pad_number(out, &s, spec)
}

/// Decimal digits and decimal-point position of `f` (which must be finite):
/// `f = 0.DIGITS × 10^dp`. `sig` limits significant digits (None: shortest).
fn digits(f: f64, sig: Option<usize>) -> (String, i32) {
    let s = match sig {
        None => format!("{:e}", f.abs()),
        Some(p) => format!("{:.*e}", p.saturating_sub(1), f.abs()),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: String = mant.chars().filter(|c| *c != '.').collect();
    if sig.is_none() {
        while d.len() > 1 && d.ends_with('0') {
            d.pop();
        }
    }
    if f == 0.0 {
        return (d, 1);
    }
    (d, exp + 1)
}

/// Go's `%x` of a float: shortest hexadecimal mantissa, binary exponent.
fn format_hex_float(f: f64) -> String {
    if !f.is_finite() {
        return format_special(f);
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if f == 0.0 {
        return format!("{sign}0x0p+00");
    }
    let bits = f.to_bits();
    let mut exp = ((bits >> 52) & 0x7ff) as i32 - 1023;
    let mut mant = bits & ((1u64 << 52) - 1);
    if (bits >> 52) & 0x7ff == 0 {
        // Subnormal: normalize so the leading bit is implicit.
        exp = -1022;
        while mant & (1u64 << 52) == 0 {
            mant <<= 1;
            exp -= 1;
        }
        mant &= (1u64 << 52) - 1;
    }
    let digits = format!("{mant:013x}");
    let digits = digits.trim_end_matches('0');
    let es = if exp < 0 { '-' } else { '+' };
    if digits.is_empty() {
        format!("{sign}0x1p{es}{:02}", exp.abs())
    } else {
        format!("{sign}0x1.{digits}p{es}{:02}", exp.abs())
    }
}

fn exp_suffix(exp: i32) -> String {
    let sign = if exp < 0 { '-' } else { '+' };
    format!("e{sign}{:02}", exp.abs())
}

/// Go's `%e` with `prec` digits after the point.
pub(crate) fn format_e(f: f64, prec: usize) -> String {
    if !f.is_finite() {
        return format_special(f);
    }
    let (d, dp) = digits(f, Some(prec + 1));
    let mut s = String::new();
    if f.is_sign_negative() {
        s.push('-');
    }
    s.push_str(&d[..1]);
    if prec > 0 {
        s.push('.');
        s.push_str(&d[1..]);
    }
    let exp = if f == 0.0 { 0 } else { dp - 1 };
    s.push_str(&exp_suffix(exp));
    s
}

/// Go's `%f` with `prec` digits after the point.
pub(crate) fn format_f(f: f64, prec: usize) -> String {
    if !f.is_finite() {
        return format_special(f);
    }
    format!("{f:.prec$}")
}

fn format_special(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f > 0.0 {
        "+Inf".into()
    } else {
        "-Inf".into()
    }
}

/// Go's `%g` (`prec` None = shortest representation, as `%v` uses).
pub fn format_g(f: f64, prec: Option<usize>) -> String {
    if !f.is_finite() {
        return format_special(f);
    }
    // Fast path for the common case: integral values below %g's exponent
    // threshold print as plain integers (values from YAML are all float64).
    if prec.is_none() && f.fract() == 0.0 && f.abs() < 1e6 {
        if f == 0.0 && f.is_sign_negative() {
            return "-0".into();
        }
        return (f as i64).to_string();
    }
    let shortest = prec.is_none();
    let p = match prec {
        Some(0) => Some(1),
        p => p,
    };
    let (d, dp) = digits(f, p);
    let nd = d.len() as i32;
    let mut eprec = p.map(|p| p as i32).unwrap_or(nd);
    if eprec > nd && nd >= dp {
        eprec = nd;
    }
    if shortest {
        eprec = 6;
    }
    let exp = if f == 0.0 { 0 } else { dp - 1 };
    let neg = if f.is_sign_negative() { "-" } else { "" };
    // Trailing zeros are dropped by %g.
    let d = d.trim_end_matches('0');
    let d = if d.is_empty() { "0" } else { d };
    if exp < -4 || exp >= eprec {
        let mut s = format!("{neg}{}", &d[..1]);
        if d.len() > 1 {
            s.push('.');
            s.push_str(&d[1..]);
        }
        s.push_str(&exp_suffix(exp));
        return s;
    }
    // Fixed notation.
    let mut s = String::from(neg);
    if dp <= 0 {
        s.push_str("0.");
        s.extend(std::iter::repeat_n('0', (-dp) as usize));
        s.push_str(d);
    } else {
        let dpu = dp as usize;
        if d.len() <= dpu {
            s.push_str(d);
            s.extend(std::iter::repeat_n('0', dpu - d.len()));
        } else {
            s.push_str(&d[..dpu]);
            s.push('.');
            s.push_str(&d[dpu..]);
        }
    }
    s
}

fn fmt_str(out: &mut String, s: &str, verb: char, spec: &Spec, v: &Value) {
    match verb {
        'v' | 's' => match spec.prec {
            Some(p) => {
                let t: String = s.chars().take(p).collect();
                pad(out, &t, spec)
            }
            None => pad(out, s, spec),
        },
        'q' => {
            let q = if spec.sharp
                && !s.contains('`')
                && s.chars().all(|c| c == '\t' || !c.is_control())
            {
                format!("`{s}`")
            } else {
                quote(s)
            };
            pad(out, &q, spec)
        }
        'x' | 'X' => {
            let mut h = String::new();
            for (i, b) in s.bytes().enumerate() {
                if i > 0 && spec.space {
                    h.push(' ');
                }
                if spec.sharp && (i == 0 || spec.space) {
                    h.push_str(if verb == 'x' { "0x" } else { "0X" });
                }
                if verb == 'x' {
                    let _ = write!(h, "{b:02x}");
                } else {
                    let _ = write!(h, "{b:02X}");
                }
            }
            pad(out, &h, spec)
        }
        _ => bad_verb(out, v, verb),
    }
}

/// Go's `strconv.Quote`.
pub fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    quote_into(&mut q, s);
    q
}

/// [`quote`], appended to `q`.
pub(crate) fn quote_into(q: &mut String, s: &str) {
    q.reserve(s.len() + 2);
    q.push('"');
    let mut rest = s;
    while !rest.is_empty() {
        // Printable ASCII other than the quote and backslash is copied as
        // is, a run at a time.
        let plain = rest
            .bytes()
            .take_while(|&b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
            .count();
        q.push_str(&rest[..plain]);
        rest = &rest[plain..];
        if let Some(c) = rest.chars().next() {
            push_escaped(q, c, '"');
            rest = &rest[c.len_utf8()..];
        }
    }
    q.push('"');
}

fn quote_rune(c: char) -> String {
    let mut q = String::from("'");
    push_escaped(&mut q, c, '\'');
    q.push('\'');
    q
}

fn push_escaped(q: &mut String, c: char, delim: char) {
    match c {
        c if c == delim => {
            q.push('\\');
            q.push(c);
        }
        '\\' => q.push_str("\\\\"),
        '\x07' => q.push_str("\\a"),
        '\x08' => q.push_str("\\b"),
        '\x0c' => q.push_str("\\f"),
        '\n' => q.push_str("\\n"),
        '\r' => q.push_str("\\r"),
        '\t' => q.push_str("\\t"),
        '\x0b' => q.push_str("\\v"),
        '\u{FFFD}' => q.push_str("\\ufffd"),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => {
            let _ = write!(q, "\\x{:02x}", c as u32);
        }
        c if is_go_printable(c) => q.push(c),
        c if (c as u32) < 0x10000 => {
            let _ = write!(q, "\\u{:04x}", c as u32);
        }
        c => {
            let _ = write!(q, "\\U{:08x}", c as u32);
        }
    }
}

fn is_go_printable(c: char) -> bool {
    // Close to unicode.IsPrint: graphic characters and the ASCII space; other
    // spaces and format/control characters are escaped.
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c as u32, 0x80..=0x9f | 0xad | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x206f | 0xfeff | 0xe000..=0xf8ff | 0xfff9..=0xfffb)
}

/// A Go-syntax rendering (`%#v`) of the kinds templates meet.
fn go_syntax(v: &Value) -> String {
    match v {
        Value::Nil => "<nil>".into(),
        Value::Str(s) => quote(s),
        Value::Int(i) => i.to_string(),
        Value::Int64(i) => i.to_string(),
        Value::Float(f) => format_g(*f, None),
        Value::Bool(b) => b.to_string(),
        Value::List(l) => {
            let items: Vec<String> = l.iter().map(go_syntax).collect();
            format!("[]interface {{}}{{{}}}", items.join(", "))
        }
        Value::Map(m) => {
            let items: Vec<String> = m
                .read()
                .iter()
                .map(|(k, x)| format!("{}:{}", quote(k), go_syntax(x)))
                .collect();
            format!("map[string]interface {{}}{{{}}}", items.join(", "))
        }
        other => other.to_go_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::value::Map;

    #[test]
    fn shortest_floats() {
        assert_eq!(format_g(1e6, None), "1e+06");
        assert_eq!(format_g(3.25, None), "3.25");
        assert_eq!(format_g(123456.0, None), "123456");
        assert_eq!(format_g(1234567.0, None), "1.234567e+06");
        assert_eq!(format_g(0.0001, None), "0.0001");
        assert_eq!(format_g(0.00001, None), "1e-05");
        assert_eq!(format_g(3.0, None), "3");
        assert_eq!(format_g(-0.5, None), "-0.5");
        assert_eq!(format_g(0.0, None), "0");
        assert_eq!(format_g(-0.0, None), "-0");
        assert_eq!(format_g(999999.0, None), "999999");
        assert_eq!(format_g(-42.0, None), "-42");
    }

    #[test]
    fn verbs() {
        let a = |v: Value| vec![v];
        assert_eq!(
            sprintf(
                "%5.2f|%-4d|%04d",
                &[Value::Float(3.24159), Value::Int(7), Value::Int(-5)]
            ),
            " 3.24|7   |-005"
        );
        assert_eq!(
            sprintf(
                "%x %X %o %b",
                &[
                    Value::Int(255),
                    Value::Int(255),
                    Value::Int(8),
                    Value::Int(5)
                ]
            ),
            "ff FF 10 101"
        );
        assert_eq!(sprintf("%q", &a(Value::str("a\"b\n"))), r#""a\"b\n""#);
        assert_eq!(sprintf("%e", &a(Value::Float(1234.5678))), "1.234568e+03");
        assert_eq!(sprintf("%d", &a(Value::str("x"))), "%!d(string=x)");
        assert_eq!(sprintf("%d %d", &a(Value::Int(1))), "1 %!d(MISSING)");
        assert_eq!(
            sprintf("%d", &[Value::Int(1), Value::str("x")]),
            "1%!(EXTRA string=x)"
        );
        assert_eq!(
            sprintf("%T %T", &[Value::Int(1), Value::list(vec![])]),
            "int []interface {}"
        );
        assert_eq!(
            sprintf("%c%U", &[Value::Int(65), Value::Int(65)]),
            "AU+0041"
        );
        assert_eq!(
            sprintf(
                "%.2s|%5s|%-5s|",
                &[Value::str("abc"), Value::str("ab"), Value::str("ab")]
            ),
            "ab|   ab|ab   |"
        );
        assert_eq!(
            sprintf("%+d %t %%", &[Value::Int(3), Value::Bool(true)]),
            "+3 true %"
        );
        assert_eq!(sprintf("%v", &a(Value::Nil)), "<nil>");
        assert_eq!(sprintf("%s", &a(Value::Nil)), "%!s(<nil>)");
        assert_eq!(
            sprintf(
                "%g %.3g",
                &[Value::Float(100000000.0), Value::Float(1234.0)]
            ),
            "1e+08 1.23e+03"
        );
    }

    #[test]
    fn collections() {
        let mut m = Map::new();
        m.insert("b".into(), Value::Int(2));
        m.insert(
            "a".into(),
            Value::list(vec![Value::str("x"), Value::Float(1.5)]),
        );
        assert_eq!(Value::map(m).to_go_string(), "map[a:[x 1.5] b:2]");
        assert_eq!(
            sprint(&[Value::Int(1), Value::Int(2), Value::str("a"), Value::Int(3)]),
            "1 2a3"
        );
        assert_eq!(sprintln(&[Value::Int(1), Value::str("a")]), "1 a\n");
    }
}
