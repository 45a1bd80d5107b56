//! go-yaml v2's YAML 1.1 implicit typing of plain scalars, and Go's number
//! formatting, shared by the reader and the emitter.
//!
//! The emitter asks "would this string read back as something other than a
//! string?" to decide on quoting; the reader asks "what is this plain
//! scalar?". Both must answer exactly as go-yaml v2's `resolve` does, so one
//! function serves both.

/// What a plain scalar means under go-yaml v2's YAML 1.1 rules.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Resolved {
    /// `~`, `null`, `Null`, `NULL` or the empty string.
    Null,
    /// `y`, `yes`, `on`, `true` ... and their negatives, in three casings.
    Bool(bool),
    /// An integer that fits Go's `int`/`int64`.
    Int(i64),
    /// An integer only `uint64` holds.
    Uint(u64),
    /// An integer beyond 64 bits (kept as text; go-yaml returns a big.Int).
    BigInt,
    /// A float (including `.inf` and `.nan`).
    Float(f64),
    /// A timestamp such as `2001-12-14`; go-yaml hands these to
    /// `interface{}` targets as the original string.
    Timestamp,
    /// Anything else: a string.
    Str,
}

/// Resolves a plain (unquoted, untagged) scalar as go-yaml v2 does.
pub(crate) fn resolve_plain(s: &str) -> Resolved {
    let Some(&first) = s.as_bytes().first() else {
        return Resolved::Null;
    };
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Resolved::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Resolved::Bool(false);
        }
        "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        _ => {}
    }
    match first {
        b'.' => match go_parse_float(s) {
            Some(f) => Resolved::Float(f),
            None => Resolved::Str,
        },
        b'0'..=b'9' | b'+' | b'-' => resolve_number(s),
        // `<` has no entry in go-yaml's hint table, so even `<<` resolves
        // as a string here; the decoder recognises merge keys separately.
        _ => Resolved::Str,
    }
}

fn resolve_number(s: &str) -> Resolved {
    if is_timestamp(s) {
        return Resolved::Timestamp;
    }
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    let int = go_parse_int(&plain);
    if let Ok(i) = int {
        return Resolved::Int(i);
    }
    let uint = go_parse_uint(&plain);
    if let Ok(u) = uint {
        return Resolved::Uint(u);
    }
    if is_yaml_style_float(&plain)
        && let Some(f) = go_parse_float(&plain)
    {
        return Resolved::Float(f);
    }
    if let Some(rest) = plain.strip_prefix("0b") {
        if let Some(v) = parse_digits(rest, 2)
            && let Ok(i) = i64::try_from(v)
        {
            return Resolved::Int(i);
        }
        if let Some(v) = parse_digits(rest, 2)
            && let Ok(u) = u64::try_from(v)
        {
            return Resolved::Uint(u);
        }
    } else if let Some(rest) = plain.strip_prefix("-0b")
        && let Some(v) = parse_digits(rest, 2)
        && v <= 1u128 << 63
    {
        return Resolved::Int((-(v as i128)) as i64);
    }
    // Out-of-range integers become big integers in go-yaml.
    if int == Err(IntError::Range) || uint == Err(IntError::Range) {
        return Resolved::BigInt;
    }
    Resolved::Str
}

#[derive(Debug, PartialEq, Clone, Copy)]
enum IntError {
    Syntax,
    Range,
}

/// Digits in `radix`, as a u128 (None on a bad digit, empty input or
/// overflow of u128).
fn parse_digits(s: &str, radix: u32) -> Option<u128> {
    if s.is_empty() {
        return None;
    }
    let mut v: u128 = 0;
    for c in s.chars() {
        let d = c.to_digit(radix)?;
        v = v.checked_mul(radix as u128)?.checked_add(d as u128)?;
    }
    Some(v)
}

/// Go's `strconv.ParseUint(s, 0, 64)` for a string without underscores.
fn go_parse_uint(s: &str) -> Result<u64, IntError> {
    if s.is_empty() {
        return Err(IntError::Syntax);
    }
    let lower = s.to_ascii_lowercase();
    let (radix, digits) = if let Some(r) = lower.strip_prefix("0x") {
        (16, r)
    } else if let Some(r) = lower.strip_prefix("0o") {
        (8, r)
    } else if let Some(r) = lower.strip_prefix("0b") {
        (2, r)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(IntError::Syntax);
    }
    match parse_digits(digits, radix) {
        Some(v) => u64::try_from(v).map_err(|_| IntError::Range),
        None => Err(IntError::Range),
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)` for a string without underscores.
fn go_parse_int(s: &str) -> Result<i64, IntError> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = go_parse_uint(rest)?;
    if neg {
        if u > 1u64 << 63 {
            return Err(IntError::Range);
        }
        Ok((u as i128).wrapping_neg() as i64)
    } else {
        i64::try_from(u).map_err(|_| IntError::Range)
    }
}

/// go-yaml's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseFloat(s, 64)` restricted to the decimal forms YAML
/// scalars reach it with; out-of-range values are errors as in Go.
fn go_parse_float(s: &str) -> Option<f64> {
    if !s
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-' | b'_'))
    {
        return None;
    }
    let cleaned: String = if s.contains('_') {
        if !underscores_ok(s) {
            return None;
        }
        s.chars().filter(|&c| c != '_').collect()
    } else {
        s.to_string()
    };
    let f: f64 = cleaned.parse().ok()?;
    if f.is_infinite() {
        return None;
    }
    Some(f)
}

/// Go's rule that underscores only separate digits.
fn underscores_ok(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let mut saw = '^';
    for c in s.chars() {
        if c.is_ascii_digit() {
            saw = '0';
        } else if c == '_' {
            if saw != '0' {
                return false;
            }
            saw = '_';
        } else {
            if saw == '_' {
                return false;
            }
            saw = '!';
        }
    }
    saw != '_'
}

/// go-yaml's timestamp test: `YYYY-M-D`, optionally followed by a time in
/// one of the layouts go-yaml tries with Go's `time.Parse`.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits_at = |i: usize, min: usize, max: usize| -> Option<(u32, usize)> {
        let mut j = i;
        while j < b.len() && j - i < max && b[j].is_ascii_digit() {
            j += 1;
        }
        if j - i < min {
            return None;
        }
        Some((s[i..j].parse().ok()?, j))
    };
    let Some((year, i)) = digits_at(0, 4, 4) else {
        return false;
    };
    if b.get(i) != Some(&b'-') {
        return false;
    }
    let Some((month, i)) = digits_at(i + 1, 1, 2) else {
        return false;
    };
    if b.get(i) != Some(&b'-') {
        return false;
    }
    let Some((day, i)) = digits_at(i + 1, 1, 2) else {
        return false;
    };
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return false;
    }
    if i == b.len() {
        return true;
    }
    let (sep, zone_required) = match b[i] {
        b'T' | b't' => (true, true),
        b' ' => (true, false),
        _ => (false, false),
    };
    if !sep {
        return false;
    }
    let Some((hour, i)) = digits_at(i + 1, 1, 2) else {
        return false;
    };
    if b.get(i) != Some(&b':') {
        return false;
    }
    let Some((min, i)) = digits_at(i + 1, 1, 2) else {
        return false;
    };
    if b.get(i) != Some(&b':') {
        return false;
    }
    let Some((sec, mut i)) = digits_at(i + 1, 1, 2) else {
        return false;
    };
    if hour > 23 || min > 59 || sec > 59 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if !zone_required {
        return i == b.len();
    }
    match &s[i..] {
        "Z" => true,
        z => {
            let zb = z.as_bytes();
            zb.len() == 6
                && (zb[0] == b'+' || zb[0] == b'-')
                && zb[1].is_ascii_digit()
                && zb[2].is_ascii_digit()
                && zb[3] == b':'
                && zb[4].is_ascii_digit()
                && zb[5].is_ascii_digit()
        }
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// go-yaml's test for YAML 1.1 base-60 floats (`1:20`), which it quotes on
/// output even though it no longer reads them.
pub(crate) fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !(b[0] == b'+' || b[0] == b'-' || b[0].is_ascii_digit()) || !s.contains(':')
    {
        return false;
    }
    let mut i = 0;
    if b[0] == b'+' || b[0] == b'-' {
        i = 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        // [0-5]?[0-9]
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        let n = i - start;
        // A group is one digit, or two digits of which the first is 0-5.
        if n == 0 || (n == 2 && b[start] > b'5') {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`: the shortest digits that
/// read back as `f`, in exponent form when the decimal exponent is below -4
/// or at least 6.
pub(crate) fn go_format_float(f: f64) -> String {
    go_format(f, FloatForm::G(6), false)
}

/// Which of Go's float layouts to produce.
#[derive(Clone, Copy)]
pub(crate) enum FloatForm {
    /// `'g'` with shortest precision; exponent form when the exponent is
    /// below -4 or at least the given threshold (6 for `FormatFloat`, 21
    /// for `fmt`'s `%v`).
    G(i32),
    /// `'f'`: never an exponent.
    F,
    /// `'e'`: always an exponent.
    E,
}

/// Formats `f` with the shortest digits that read back as the same value
/// (as a float32 when `f32`), laid out as Go's `strconv` does.
pub(crate) fn go_format(f: f64, form: FloatForm, f32: bool) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let neg = f.is_sign_negative();
    let sci = if f32 {
        format!("{:e}", (f as f32).abs())
    } else {
        format!("{:e}", f.abs())
    };
    // `{:e}` gives "d.ddde<exp>" with the shortest round-trip digits.
    let (mant, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let exponent_form = match form {
        FloatForm::G(eprec) => exp < -4 || exp >= eprec,
        FloatForm::F => false,
        FloatForm::E => true,
    };
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if exponent_form {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push('0');
        }
        out.push_str(&a.to_string());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = (exp + 1) as usize;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

/// Go's `encoding/json` text for a finite float64 (`'f'` form between 1e-6
/// and 1e21, exponent form outside with `e-7` rather than `e-07`).
pub(crate) fn go_json_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = go_format(f, FloatForm::E, false);
        // Go's JSON strips the leading zero of a one-digit negative exponent.
        if let Some(pos) = s.find("e-0") {
            let mut t = s.clone();
            t.remove(pos + 2);
            return t;
        }
        return s;
    }
    go_format(f, FloatForm::F, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml11_scalars() {
        assert_eq!(resolve_plain("yes"), Resolved::Bool(true));
        assert_eq!(resolve_plain("Off"), Resolved::Bool(false));
        assert_eq!(resolve_plain("0777"), Resolved::Int(511));
        assert_eq!(resolve_plain("0x1F"), Resolved::Int(31));
        assert_eq!(resolve_plain("1_000"), Resolved::Int(1000));
        assert_eq!(resolve_plain("08"), Resolved::Float(8.0));
        assert_eq!(resolve_plain("1e3"), Resolved::Float(1000.0));
        assert_eq!(resolve_plain("1e400"), Resolved::Str);
        assert_eq!(resolve_plain(".5"), Resolved::Float(0.5));
        assert_eq!(resolve_plain("2001-12-14"), Resolved::Timestamp);
        assert_eq!(resolve_plain("2001-02-30"), Resolved::Str);
        assert_eq!(
            resolve_plain("18446744073709551615"),
            Resolved::Uint(u64::MAX)
        );
        assert_eq!(resolve_plain("0x1FFFFFFFFFFFFFFFF"), Resolved::BigInt);
        assert_eq!(resolve_plain("-"), Resolved::Str);
        assert_eq!(resolve_plain(""), Resolved::Null);
        assert!(is_base60_float("1:20"));
        assert!(is_base60_float("190:20:30.15"));
        assert!(!is_base60_float("1:2a"));
        assert!(!is_base60_float("1:60"));
    }

    #[test]
    fn go_float_formats() {
        assert_eq!(go_format_float(1e6), "1e+06");
        assert_eq!(go_format_float(123456.0), "123456");
        assert_eq!(go_format_float(0.5), "0.5");
        assert_eq!(go_format_float(1e-5), "1e-05");
        assert_eq!(go_format_float(0.0001), "0.0001");
        assert_eq!(go_format_float(-2.5e100), "-2.5e+100");
        assert_eq!(go_format_float(0.0), "0");
        assert_eq!(go_json_float(1e21), "1e+21");
        assert_eq!(go_json_float(1e-7), "1e-7");
        assert_eq!(go_json_float(1e20), "100000000000000000000");
        assert_eq!(go_json_float(0.000001), "0.000001");
        assert_eq!(go_format(0.1, FloatForm::G(6), true), "0.1");
    }
}
