//! Date functions: `now`, `date`, `dateInZone`, `htmlDate`, `toDate`,
//! `dateModify`, `unixEpoch`, `ago`, `duration`, `durationRound`, with Go's
//! reference-time layouts (`2006-01-02T15:04:05Z07:00`).
//!
//! # Deviations
//!
//! Times are kept in UTC: the local zone and named zones (`dateInZone ...
//! "Europe/Paris"`) render as UTC, as Go does when it has no zone database.
//! `now` prints without Go's monotonic-clock suffix (`m=+0.01`).

use std::time::{SystemTime, UNIX_EPOCH};

use super::{s, sig};
use crate::funcs::{FuncError, FuncMap, Ty};
use crate::value::{Object, Value};

/// A `time.Time`: nanoseconds since the Unix epoch, shown in UTC.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct GoTime {
    nanos: i128,
}

impl GoTime {
    fn now() -> GoTime {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0);
        GoTime { nanos: d }
    }

    fn unix(secs: i64) -> GoTime {
        GoTime {
            nanos: i128::from(secs) * 1_000_000_000,
        }
    }

    fn secs(self) -> i64 {
        self.nanos.div_euclid(1_000_000_000) as i64
    }

    fn subsec(self) -> u32 {
        self.nanos.rem_euclid(1_000_000_000) as u32
    }
}

impl Object for GoTime {
    fn type_name(&self) -> &str {
        "time.Time"
    }
    fn field(&self, _: &str) -> Option<Value> {
        None
    }
    fn has_method(&self, name: &str) -> bool {
        matches!(
            name,
            "Unix"
                | "UnixNano"
                | "Nanosecond"
                | "Year"
                | "Day"
                | "Hour"
                | "Minute"
                | "Second"
                | "Format"
                | "UTC"
                | "String"
        )
    }
    fn method_arity(&self, name: &str) -> Option<usize> {
        Some(usize::from(name == "Format"))
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        let c = civil(*self);
        Ok(match name {
            "Unix" => Value::Int64(self.secs()),
            "UnixNano" => Value::Int64(self.nanos as i64),
            "Nanosecond" => Value::Int(i64::from(self.subsec())),
            "Year" => Value::Int(c.year),
            "Day" => Value::Int(c.day as i64),
            "Hour" => Value::Int(c.hour as i64),
            "Minute" => Value::Int(c.min as i64),
            "Second" => Value::Int(c.sec as i64),
            "Format" => Value::from(format(*self, args[0].as_str().unwrap_or_default())),
            "UTC" => Value::object(*self),
            _ => Value::from(self.format()),
        })
    }
    fn format(&self) -> String {
        format(*self, "2006-01-02 15:04:05.999999999 -0700 MST")
    }
}

struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    nanos: u32,
    weekday: u32,
    yday: u32,
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil(t: GoTime) -> Civil {
    let secs = t.secs();
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400) as u32;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    let yday = (days - days_from_civil(year, 1, 1)) as u32 + 1;
    Civil {
        year,
        month,
        day,
        hour: rem / 3600,
        min: rem % 3600 / 60,
        sec: rem % 60,
        nanos: t.subsec(),
        weekday: (days + 4).rem_euclid(7) as u32,
        yday,
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// A layout element.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    YearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    TZ,
    /// Numeric zone; `z` says whether UTC prints as `Z`.
    Offset {
        z: bool,
        colon: bool,
        secs: bool,
        short: bool,
    },
    /// Fractional seconds: digit count, and whether trailing zeros drop (`9`s).
    Frac(usize, bool, char),
}

/// Splits a layout into literal text and elements (Go's `nextStdChunk`).
fn chunks(layout: &str) -> Vec<Result<Std, String>> {
    let b = layout.as_bytes();
    let mut out: Vec<Result<Std, String>> = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    let push = |out: &mut Vec<Result<Std, String>>, lit: &mut String, s: Std| {
        if !lit.is_empty() {
            out.push(Err(std::mem::take(lit)));
        }
        out.push(Ok(s));
    };
    while i < b.len() {
        let r = &layout[i..];
        let found: Option<(Std, usize)> = match b[i] {
            b'J' if r.starts_with("January") => Some((Std::LongMonth, 7)),
            b'J' if r.starts_with("Jan") => Some((Std::Month, 3)),
            b'M' if r.starts_with("Monday") => Some((Std::LongWeekDay, 6)),
            b'M' if r.starts_with("Mon") => Some((Std::WeekDay, 3)),
            b'M' if r.starts_with("MST") => Some((Std::TZ, 3)),
            b'0' if r.starts_with("002") => Some((Std::ZeroYearDay, 3)),
            b'0' if r.len() > 1 && (b'1'..=b'6').contains(&b[i + 1]) => Some((
                match b[i + 1] {
                    b'1' => Std::ZeroMonth,
                    b'2' => Std::ZeroDay,
                    b'3' => Std::ZeroHour12,
                    b'4' => Std::ZeroMinute,
                    b'5' => Std::ZeroSecond,
                    _ => Std::Year,
                },
                2,
            )),
            b'1' if r.starts_with("15") => Some((Std::Hour, 2)),
            b'1' => Some((Std::NumMonth, 1)),
            b'2' if r.starts_with("2006") => Some((Std::LongYear, 4)),
            b'2' => Some((Std::Day, 1)),
            b'_' if r.starts_with("_2") && !r.starts_with("_2006") => Some((Std::UnderDay, 2)),
            b'_' if r.starts_with("__2") => Some((Std::YearDay, 3)),
            b'3' => Some((Std::Hour12, 1)),
            b'4' => Some((Std::Minute, 1)),
            b'5' => Some((Std::Second, 1)),
            b'P' if r.starts_with("PM") => Some((Std::PM, 2)),
            b'p' if r.starts_with("pm") => Some((Std::Pm, 2)),
            b'-' | b'Z' => {
                let z = b[i] == b'Z';
                let body = &r[1..];
                [
                    ("070000", false, true, false),
                    ("07:00:00", true, true, false),
                    ("0700", false, false, false),
                    ("07:00", true, false, false),
                    ("07", false, false, true),
                ]
                .iter()
                .find(|(p, ..)| body.starts_with(p))
                .map(|(p, colon, secs, short)| {
                    (
                        Std::Offset {
                            z,
                            colon: *colon,
                            secs: *secs,
                            short: *short,
                        },
                        p.len() + 1,
                    )
                })
            }
            b'.' | b',' if r.len() > 1 && (b[i + 1] == b'0' || b[i + 1] == b'9') => {
                let d = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == d {
                    j += 1;
                }
                if j < b.len() && b[j].is_ascii_digit() {
                    None
                } else {
                    Some((Std::Frac(j - i - 1, d == b'9', b[i] as char), j - i))
                }
            }
            _ => None,
        };
        match found {
            Some((s, n)) => {
                push(&mut out, &mut lit, s);
                i += n;
            }
            None => {
                let c = r.chars().next().unwrap_or(' ');
                lit.push(c);
                i += c.len_utf8();
            }
        }
    }
    if !lit.is_empty() {
        out.push(Err(lit));
    }
    out
}

/// Go's `Time.Format` in UTC.
pub(crate) fn format(t: GoTime, layout: &str) -> String {
    let c = civil(t);
    let mut o = String::new();
    for ch in chunks(layout) {
        let s = match ch {
            Err(lit) => {
                o.push_str(&lit);
                continue;
            }
            Ok(s) => s,
        };
        let h12 = if c.hour.is_multiple_of(12) {
            12
        } else {
            c.hour % 12
        };
        match s {
            Std::LongMonth => o.push_str(MONTHS[c.month as usize - 1]),
            Std::Month => o.push_str(&MONTHS[c.month as usize - 1][..3]),
            Std::NumMonth => o.push_str(&c.month.to_string()),
            Std::ZeroMonth => o.push_str(&format!("{:02}", c.month)),
            Std::LongWeekDay => o.push_str(DAYS[c.weekday as usize]),
            Std::WeekDay => o.push_str(&DAYS[c.weekday as usize][..3]),
            Std::Day => o.push_str(&c.day.to_string()),
            Std::UnderDay => o.push_str(&format!("{:>2}", c.day)),
            Std::ZeroDay => o.push_str(&format!("{:02}", c.day)),
            Std::YearDay => o.push_str(&format!("{:>3}", c.yday)),
            Std::ZeroYearDay => o.push_str(&format!("{:03}", c.yday)),
            Std::Hour => o.push_str(&format!("{:02}", c.hour)),
            Std::Hour12 => o.push_str(&h12.to_string()),
            Std::ZeroHour12 => o.push_str(&format!("{h12:02}")),
            Std::Minute => o.push_str(&c.min.to_string()),
            Std::ZeroMinute => o.push_str(&format!("{:02}", c.min)),
            Std::Second => o.push_str(&c.sec.to_string()),
            Std::ZeroSecond => o.push_str(&format!("{:02}", c.sec)),
            Std::LongYear => o.push_str(&format!("{:04}", c.year)),
            Std::Year => o.push_str(&format!("{:02}", c.year.rem_euclid(100))),
            Std::PM => o.push_str(if c.hour >= 12 { "PM" } else { "AM" }),
            Std::Pm => o.push_str(if c.hour >= 12 { "pm" } else { "am" }),
            Std::TZ => o.push_str("UTC"),
            Std::Offset {
                z,
                colon,
                secs,
                short,
            } => {
                if z {
                    o.push('Z');
                } else if short {
                    o.push_str("+00");
                } else {
                    o.push_str(if colon { "+00:00" } else { "+0000" });
                    if secs {
                        o.push_str(if colon { ":00" } else { "00" });
                    }
                }
            }
            Std::Frac(n, trim, sep) => {
                let digits = format!("{:09}", c.nanos);
                let d = &digits[..n.min(9)];
                if trim {
                    let d = d.trim_end_matches('0');
                    if !d.is_empty() {
                        o.push(sep);
                        o.push_str(d);
                    }
                } else {
                    o.push(sep);
                    o.push_str(d);
                }
            }
        }
    }
    o
}

/// Go's `time.Parse` for the common layout elements, in UTC.
pub(crate) fn parse(layout: &str, value: &str) -> Result<GoTime, String> {
    let err = || {
        format!(
            "parsing time {} as {}: cannot parse",
            crate::gofmt::quote(value),
            crate::gofmt::quote(layout)
        )
    };
    let (mut year, mut month, mut day, mut hour, mut min, mut sec, mut nanos) =
        (1i64, 1u32, 1u32, 0u32, 0u32, 0u32, 0u32);
    let mut pm: Option<bool> = None;
    let mut offset: i64 = 0;
    let mut v = value;
    let num = |v: &mut &str, min_len: usize, max_len: usize| -> Option<u32> {
        let n = v
            .bytes()
            .take(max_len)
            .take_while(u8::is_ascii_digit)
            .count();
        if n < min_len {
            return None;
        }
        let x = v[..n].parse().ok()?;
        *v = &v[n..];
        Some(x)
    };
    for ch in chunks(layout) {
        match ch {
            Err(lit) => v = v.strip_prefix(lit.as_str()).ok_or_else(err)?,
            Ok(s) => match s {
                Std::LongYear => year = i64::from(num(&mut v, 4, 4).ok_or_else(err)?),
                Std::Year => {
                    // Go: 69-99 are 19xx, 00-68 are 20xx.
                    let y = i64::from(num(&mut v, 2, 2).ok_or_else(err)?);
                    year = if y >= 69 { 1900 + y } else { 2000 + y };
                }
                Std::ZeroMonth => month = num(&mut v, 2, 2).ok_or_else(err)?,
                Std::NumMonth => month = num(&mut v, 1, 2).ok_or_else(err)?,
                Std::LongMonth | Std::Month => {
                    let k = MONTHS
                        .iter()
                        .position(|m| {
                            let name = if s == Std::Month { &m[..3] } else { m };
                            v.starts_with(name)
                        })
                        .ok_or_else(err)?;
                    v = &v[if s == Std::Month { 3 } else { MONTHS[k].len() }..];
                    month = k as u32 + 1;
                }
                Std::LongWeekDay | Std::WeekDay => {
                    let k = DAYS
                        .iter()
                        .position(|d| v.starts_with(if s == Std::WeekDay { &d[..3] } else { d }))
                        .ok_or_else(err)?;
                    v = &v[if s == Std::WeekDay { 3 } else { DAYS[k].len() }..];
                }
                Std::ZeroDay => day = num(&mut v, 2, 2).ok_or_else(err)?,
                Std::Day => day = num(&mut v, 1, 2).ok_or_else(err)?,
                Std::UnderDay => {
                    v = v.strip_prefix(' ').unwrap_or(v);
                    day = num(&mut v, 1, 2).ok_or_else(err)?;
                }
                Std::Hour => hour = num(&mut v, 2, 2).ok_or_else(err)?,
                Std::Hour12 | Std::ZeroHour12 => hour = num(&mut v, 1, 2).ok_or_else(err)?,
                Std::Minute | Std::ZeroMinute => min = num(&mut v, 1, 2).ok_or_else(err)?,
                Std::Second | Std::ZeroSecond => {
                    sec = num(&mut v, 1, 2).ok_or_else(err)?;
                    // A fractional second may follow even if the layout has none.
                    if let Some(rest) = v.strip_prefix('.')
                        && rest.starts_with(|c: char| c.is_ascii_digit())
                        && !matches!(layout.get(layout.find("05").map(|p| p + 2).unwrap_or(0)..), Some(l) if l.starts_with('.'))
                    {
                        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
                        let digits = format!("{:0<9}", &rest[..n.min(9)]);
                        nanos = digits.parse().map_err(|_| err())?;
                        v = &rest[n..];
                    }
                }
                Std::PM | Std::Pm => {
                    let up = v.get(..2).map(str::to_ascii_uppercase).ok_or_else(err)?;
                    pm = Some(match up.as_str() {
                        "PM" => true,
                        "AM" => false,
                        _ => return Err(err()),
                    });
                    v = &v[2..];
                }
                Std::TZ => {
                    let n = v.bytes().take_while(u8::is_ascii_uppercase).count();
                    if n < 3 {
                        return Err(err());
                    }
                    v = &v[n..];
                }
                Std::Offset { z, .. } => {
                    if z && let Some(rest) = v.strip_prefix('Z') {
                        v = rest;
                    } else {
                        let sign = match v.as_bytes().first() {
                            Some(b'+') => 1,
                            Some(b'-') => -1,
                            _ => return Err(err()),
                        };
                        v = &v[1..];
                        let h = num(&mut v, 2, 2).ok_or_else(err)?;
                        v = v.strip_prefix(':').unwrap_or(v);
                        let m = num(&mut v, 0, 2).unwrap_or(0);
                        offset = sign * (i64::from(h) * 3600 + i64::from(m) * 60);
                    }
                }
                Std::Frac(n, _, _) => {
                    let rest = v.get(1..).ok_or_else(err)?;
                    let k = rest.bytes().take_while(u8::is_ascii_digit).count();
                    if k == 0 && n > 0 {
                        return Err(err());
                    }
                    nanos = format!("{:0<9}", &rest[..k.min(9)])
                        .parse()
                        .map_err(|_| err())?;
                    v = &rest[k..];
                }
                Std::YearDay | Std::ZeroYearDay => {
                    num(&mut v, 1, 3).ok_or_else(err)?;
                }
            },
        }
    }
    if !v.is_empty() {
        return Err(format!(
            "parsing time {}: extra text: {}",
            crate::gofmt::quote(value),
            crate::gofmt::quote(v)
        ));
    }
    if let Some(p) = pm {
        if hour > 12 {
            return Err(err());
        }
        hour = match (p, hour) {
            (true, 12) => 12,
            (true, h) => h + 12,
            (false, 12) => 0,
            (false, h) => h,
        };
    }
    let range_err = |what: &str| {
        format!(
            "parsing time {}: {what} out of range",
            crate::gofmt::quote(value)
        )
    };
    if !(1..=12).contains(&month) {
        return Err(range_err("month"));
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if day < 1 || day > month_days[month as usize - 1] {
        return Err(range_err("day"));
    }
    if hour > 23 {
        return Err(range_err("hour"));
    }
    if min > 59 {
        return Err(range_err("minute"));
    }
    if sec > 59 {
        return Err(range_err("second"));
    }
    let days = days_from_civil(year, month, day);
    let secs =
        days * 86_400 + i64::from(hour) * 3600 + i64::from(min) * 60 + i64::from(sec) - offset;
    Ok(GoTime {
        nanos: i128::from(secs) * 1_000_000_000 + i128::from(nanos),
    })
}

/// Go's `Duration.String`.
pub(crate) fn duration_string(d: i128) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let frac = |v: u128, unit: u128, suffix: &str| {
        let whole = v / unit;
        let rem = v % unit;
        let mut s = whole.to_string();
        if rem > 0 {
            let width = unit.ilog10() as usize;
            let f = format!("{rem:0width$}");
            s.push('.');
            s.push_str(f.trim_end_matches('0'));
        }
        s.push_str(suffix);
        s
    };
    let body = if u < 1_000 {
        format!("{u}ns")
    } else if u < 1_000_000 {
        frac(u, 1_000, "µs")
    } else if u < 1_000_000_000 {
        frac(u, 1_000_000, "ms")
    } else {
        let h = u / 3_600_000_000_000;
        let m = u / 60_000_000_000 % 60;
        let s = frac(u % 60_000_000_000, 1_000_000_000, "s");
        if h > 0 {
            format!("{h}h{m}m{s}")
        } else if m > 0 {
            format!("{m}m{s}")
        } else {
            s
        }
    };
    if neg { format!("-{body}") } else { body }
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub(crate) fn parse_duration(text: &str) -> Result<i128, String> {
    let bad = || format!("time: invalid duration {}", crate::gofmt::quote(text));
    let (neg, mut s) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(bad());
    }
    let mut total: f64 = 0.0;
    while !s.is_empty() {
        let n = s
            .bytes()
            .take_while(|c| c.is_ascii_digit() || *c == b'.')
            .count();
        if n == 0 {
            return Err(bad());
        }
        let v: f64 = s[..n].parse().map_err(|_| bad())?;
        s = &s[n..];
        let u = s
            .bytes()
            .take_while(|c| !c.is_ascii_digit() && *c != b'.')
            .count();
        let unit = match &s[..u] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 6e10,
            "h" => 3.6e12,
            "" => {
                return Err(format!(
                    "time: missing unit in duration {}",
                    crate::gofmt::quote(text)
                ));
            }
            other => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    crate::gofmt::quote(other),
                    crate::gofmt::quote(text)
                ));
            }
        };
        total += v * unit;
        s = &s[u..];
    }
    let t = total.round() as i128;
    Ok(if neg { -t } else { t })
}

fn time_arg(v: &Value) -> Option<GoTime> {
    match v {
        Value::Object(o) if o.type_name() == "time.Time" => {
            // Read back through the object's own methods: no downcasting needed.
            let secs = o.call_method("Unix", &[]).ok()?.as_int()?;
            let sub = o.call_method("Nanosecond", &[]).ok()?.as_int()?;
            Some(GoTime {
                nanos: i128::from(secs) * 1_000_000_000 + i128::from(sub),
            })
        }
        _ => None,
    }
}

/// Sprig's date argument: a time, or integer Unix seconds; anything else is now.
fn date_arg(v: &Value) -> GoTime {
    match v {
        Value::Int(i) | Value::Int64(i) => GoTime::unix(*i),
        other => time_arg(other).unwrap_or_else(GoTime::now),
    }
}

fn want_time(v: &Value) -> Result<GoTime, FuncError> {
    time_arg(v).ok_or_else(|| {
        FuncError::Exec(format!(
            "wrong type for value; expected time.Time; got {}",
            v.type_name()
        ))
    })
}

pub(super) fn register(m: &mut FuncMap) {
    m.add("now", sig(&[]), |_| Ok(Value::object(GoTime::now())));
    m.add("date", sig(&[Ty::Str, Ty::Any]), |a| {
        Ok(Value::from(format(date_arg(&a[1]), s(&a[0]))))
    });
    for name in ["dateInZone", "date_in_zone"] {
        m.add(name, sig(&[Ty::Str, Ty::Any, Ty::Str]), |a| {
            Ok(Value::from(format(date_arg(&a[1]), s(&a[0]))))
        });
    }
    m.add("htmlDate", sig(&[Ty::Any]), |a| {
        Ok(Value::from(format(date_arg(&a[0]), "2006-01-02")))
    });
    m.add("htmlDateInZone", sig(&[Ty::Any, Ty::Str]), |a| {
        Ok(Value::from(format(date_arg(&a[0]), "2006-01-02")))
    });
    m.add("unixEpoch", sig(&[Ty::Any]), |a| {
        Ok(Value::from(want_time(&a[0])?.secs().to_string()))
    });
    for (name, must) in [
        ("dateModify", false),
        ("date_modify", false),
        ("mustDateModify", true),
        ("must_date_modify", true),
    ] {
        m.add(name, sig(&[Ty::Str, Ty::Any]), move |a| {
            let t = want_time(&a[1])?;
            match parse_duration(s(&a[0])) {
                Ok(d) => Ok(Value::object(GoTime { nanos: t.nanos + d })),
                Err(e) if must => Err(FuncError::Call(e)),
                Err(_) => Ok(Value::object(t)),
            }
        });
    }
    for (name, must) in [("toDate", false), ("mustToDate", true)] {
        m.add(name, sig(&[Ty::Str, Ty::Str]), move |a| {
            match parse(s(&a[0]), s(&a[1])) {
                Ok(t) => Ok(Value::object(t)),
                Err(e) if must => Err(FuncError::Call(e)),
                // Go's zero time.
                Err(_) => Ok(Value::object(GoTime {
                    nanos: i128::from(days_from_civil(1, 1, 1) * 86_400) * 1_000_000_000,
                })),
            }
        });
    }
    m.add("ago", sig(&[Ty::Any]), |a| {
        let t = date_arg(&a[0]);
        let d = GoTime::now().nanos - t.nanos;
        let rounded =
            (d + if d >= 0 { 500_000_000 } else { -500_000_000 }) / 1_000_000_000 * 1_000_000_000;
        Ok(Value::from(duration_string(rounded)))
    });
    m.add("duration", sig(&[Ty::Any]), |a| {
        // Sprig reads only strings and int64s; other types count as 0.
        let secs = match &a[0] {
            Value::Str(x) => x.parse::<i64>().unwrap_or(0),
            Value::Int64(i) => *i,
            _ => 0,
        };
        Ok(Value::from(duration_string(
            i128::from(secs) * 1_000_000_000,
        )))
    });
    m.add("durationRound", sig(&[Ty::Any]), |a| {
        let d: i128 = match &a[0] {
            Value::Str(x) => match parse_duration(x) {
                Ok(d) => d,
                Err(_) => return Ok(Value::str("")),
            },
            Value::Int64(i) => i128::from(*i),
            v => match time_arg(v) {
                Some(t) => GoTime::now().nanos - t.nanos,
                None => 0,
            },
        };
        let u = d.unsigned_abs();
        let sec = 1_000_000_000u128;
        let units = [
            (sec * 86_400 * 365, "y"),
            (sec * 86_400 * 30, "mo"),
            (sec * 86_400, "d"),
            (sec * 3600, "h"),
            (sec * 60, "m"),
            (sec, "s"),
        ];
        for (size, suffix) in units {
            if u > size {
                return Ok(Value::from(format!("{}{suffix}", u / size)));
            }
        }
        Ok(Value::str("0s"))
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn formats_reference_layouts() {
        let t = parse("2006-01-02T15:04:05Z07:00", "2024-02-29T13:04:05Z").unwrap();
        assert_eq!(
            format(t, "Mon Jan _2 15:04:05 MST 2006"),
            "Thu Feb 29 13:04:05 UTC 2024"
        );
        assert_eq!(
            format(t, "3:04PM 02/01/06 -0700 002"),
            "1:04PM 29/02/24 +0000 060"
        );
        assert_eq!(t.secs(), 1_709_211_845);
        let t = parse("2006-01-02 15:04:05.000", "2020-01-01 00:00:00.250").unwrap();
        assert_eq!(format(t, "05.000 05.999 05.99"), "00.250 00.25 00.25");
    }

    #[test]
    fn durations() {
        assert_eq!(duration_string(3_723_500_000_000), "1h2m3.5s");
        assert_eq!(duration_string(1_500_000), "1.5ms");
        assert_eq!(duration_string(-60_000_000_000), "-1m0s");
        assert_eq!(parse_duration("-1.5h").unwrap(), -5_400_000_000_000);
        assert!(parse_duration("5x").is_err());
    }
}
