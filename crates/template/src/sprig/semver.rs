//! `semverCompare` with the constraint language of Masterminds/semver v3:
//! `||` alternatives of space- or comma-separated conditions; operators
//! `= != > < >= <= ~ ~> ^`; wildcards `x X *`; hyphen ranges `1.2 - 1.4`;
//! prerelease versions match only conditions that name a prerelease.

use std::cmp::Ordering;

use super::{s, sig};
use crate::funcs::{FuncError, FuncMap, Ty};
use crate::value::Value;

#[derive(Clone, Debug, PartialEq)]
struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
}

fn cmp_pre(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let mut ia = a.split('.');
    let mut ib = b.split('.');
    loop {
        match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let o = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(p), Ok(q)) => p.cmp(&q),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => x.cmp(y),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

impl Version {
    fn cmp(&self, o: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| cmp_pre(&self.pre, &o.pre))
    }
}

/// A parsed version with which parts were wildcards or absent.
struct Partial {
    v: Version,
    minor_dirty: bool,
    patch_dirty: bool,
    major_dirty: bool,
}

fn is_wild(p: &str) -> bool {
    matches!(p, "x" | "X" | "*")
}

fn parse_partial(text: &str) -> Option<Partial> {
    let t = text.trim().trim_start_matches(['v', 'V']);
    let (core, _meta) = t.split_once('+').unwrap_or((t, ""));
    let (core, pre) = core.split_once('-').unwrap_or((core, ""));
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 3 || parts[0].is_empty() {
        return None;
    }
    let mut nums = [0u64; 3];
    let mut dirty = [false; 3];
    for k in 0..3 {
        match parts.get(k) {
            None => dirty[k] = true,
            Some(p) if is_wild(p) => dirty[k] = true,
            Some(p) => nums[k] = p.parse().ok()?,
        }
    }
    // A wildcard makes everything after it a wildcard too.
    if dirty[0] {
        dirty[1] = true;
    }
    if dirty[1] {
        dirty[2] = true;
    }
    Some(Partial {
        v: Version {
            major: nums[0],
            minor: nums[1],
            patch: nums[2],
            pre: pre.to_string(),
        },
        major_dirty: dirty[0],
        minor_dirty: dirty[1],
        patch_dirty: dirty[2],
    })
}

fn parse_version(text: &str) -> Option<Version> {
    let t = text.trim();
    let core = t.trim_start_matches(['v', 'V']);
    let core = core.split_once('+').map(|x| x.0).unwrap_or(core);
    let core = core.split_once('-').map(|x| x.0).unwrap_or(core);
    if core
        .split('.')
        .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    parse_partial(t).map(|p| p.v)
}

struct Cond {
    op: String,
    c: Partial,
}

impl Cond {
    fn check(&self, v: &Version) -> bool {
        let c = &self.c;
        if !v.pre.is_empty() && c.v.pre.is_empty() && self.op != "!=" {
            return false;
        }
        let dirty = c.minor_dirty || c.patch_dirty || c.major_dirty;
        let eq_wild = || {
            if c.major_dirty {
                return true;
            }
            if v.major != c.v.major {
                return false;
            }
            if c.minor_dirty {
                return true;
            }
            if v.minor != c.v.minor {
                return false;
            }
            if c.patch_dirty {
                return true;
            }
            v.cmp(&c.v) == Ordering::Equal
        };
        match self.op.as_str() {
            "" | "=" => eq_wild(),
            "!=" => !eq_wild(),
            ">" => {
                if !dirty {
                    return v.cmp(&c.v) == Ordering::Greater;
                }
                if c.major_dirty {
                    return false;
                }
                if v.major != c.v.major {
                    return v.major > c.v.major;
                }
                if c.minor_dirty {
                    return false;
                }
                v.minor > c.v.minor
            }
            ">=" | "=>" => v.cmp(&c.v) != Ordering::Less,
            "<" => v.cmp(&c.v) == Ordering::Less,
            "<=" | "=<" => {
                if !dirty {
                    return v.cmp(&c.v) != Ordering::Greater;
                }
                if c.major_dirty {
                    return true;
                }
                if v.major != c.v.major {
                    return v.major < c.v.major;
                }
                if c.minor_dirty {
                    return true;
                }
                v.minor <= c.v.minor
            }
            "~" | "~>" => {
                if v.cmp(&c.v) == Ordering::Less {
                    return false;
                }
                if c.v.major != v.major {
                    return false;
                }
                c.minor_dirty || v.minor == c.v.minor
            }
            "^" => {
                if v.cmp(&c.v) == Ordering::Less {
                    return false;
                }
                if c.v.major > 0 || c.minor_dirty {
                    return v.major == c.v.major;
                }
                if c.v.minor > 0 || c.patch_dirty {
                    return v.major == 0 && v.minor == c.v.minor;
                }
                v.major == 0 && v.minor == 0 && v.patch == c.v.patch
            }
            _ => false,
        }
    }
}

fn parse_cond(text: &str) -> Option<Cond> {
    let t = text.trim();
    let ops = ["!=", ">=", "=>", "<=", "=<", "~>", ">", "<", "=", "~", "^"];
    let (op, rest) = ops
        .iter()
        .find_map(|o| t.strip_prefix(o).map(|r| (o.to_string(), r)))
        .unwrap_or((String::new(), t));
    let rest = rest.trim();
    if rest.is_empty() {
        return None;
    }
    Some(Cond {
        op,
        c: parse_partial(rest)?,
    })
}

/// Parses a constraint into alternatives of conjunctions.
fn parse_constraint(text: &str) -> Option<Vec<Vec<Cond>>> {
    let mut alts = Vec::new();
    for alt in text.split("||") {
        let mut conds = Vec::new();
        // Hyphen ranges first: "A - B" means ">= A, <= B".
        let normalized = alt.replace(',', " ");
        let toks: Vec<&str> = normalized.split_whitespace().collect();
        let mut k = 0;
        // Operators may be separated from their version by spaces (">= 1.2").
        let mut merged: Vec<String> = Vec::new();
        while k < toks.len() {
            let t = toks[k];
            if t.chars().all(|c| "<>=!~^".contains(c)) && k + 1 < toks.len() {
                merged.push(format!("{t}{}", toks[k + 1]));
                k += 2;
            } else {
                merged.push(t.to_string());
                k += 1;
            }
        }
        let mut j = 0;
        while j < merged.len() {
            if j + 2 < merged.len() && merged[j + 1] == "-" {
                conds.push(parse_cond(&format!(">={}", merged[j]))?);
                conds.push(parse_cond(&format!("<={}", merged[j + 2]))?);
                j += 3;
            } else {
                conds.push(parse_cond(&merged[j])?);
                j += 1;
            }
        }
        if conds.is_empty() {
            return None;
        }
        alts.push(conds);
    }
    Some(alts)
}

/// Sprig's `semverCompare`.
pub(crate) fn semver_compare(constraint: &str, version: &str) -> Result<bool, FuncError> {
    let alts = parse_constraint(constraint)
        .ok_or_else(|| FuncError::Call(format!("improper constraint: {constraint}")))?;
    let v =
        parse_version(version).ok_or_else(|| FuncError::Call("invalid semantic version".into()))?;
    Ok(alts.iter().any(|conds| conds.iter().all(|c| c.check(&v))))
}

/// The `*semver.Version` that Sprig's `semver` returns: methods `Major`,
/// `Minor`, `Patch`, `Prerelease`, `Metadata`, `Original`, `String`.
struct SemverObject {
    v: Version,
    metadata: String,
    original: String,
}

impl crate::value::Object for SemverObject {
    fn type_name(&self) -> &str {
        "*semver.Version"
    }
    fn field(&self, _: &str) -> Option<Value> {
        None
    }
    fn has_method(&self, name: &str) -> bool {
        matches!(
            name,
            "Major" | "Minor" | "Patch" | "Prerelease" | "Metadata" | "Original" | "String"
        )
    }
    fn method_arity(&self, _: &str) -> Option<usize> {
        Some(0)
    }
    fn call_method(&self, name: &str, _: &[Value]) -> Result<Value, String> {
        Ok(match name {
            "Major" => Value::Int64(self.v.major as i64),
            "Minor" => Value::Int64(self.v.minor as i64),
            "Patch" => Value::Int64(self.v.patch as i64),
            "Prerelease" => Value::str(&self.v.pre),
            "Metadata" => Value::str(&self.metadata),
            "Original" => Value::str(&self.original),
            _ => Value::from(self.format()),
        })
    }
    fn format(&self) -> String {
        let mut s = format!("{}.{}.{}", self.v.major, self.v.minor, self.v.patch);
        if !self.v.pre.is_empty() {
            s.push('-');
            s.push_str(&self.v.pre);
        }
        if !self.metadata.is_empty() {
            s.push('+');
            s.push_str(&self.metadata);
        }
        s
    }
}

pub(super) fn register(m: &mut FuncMap) {
    m.add("semver", sig(&[Ty::Str]), |a| {
        let text = s(&a[0]);
        let v = parse_version(text)
            .ok_or_else(|| FuncError::Call("invalid semantic version".into()))?;
        let metadata = text
            .split_once('+')
            .map(|x| x.1.to_string())
            .unwrap_or_default();
        Ok(Value::object(SemverObject {
            v,
            metadata,
            original: text.to_string(),
        }))
    });
    m.add("semverCompare", sig(&[Ty::Str, Ty::Str]), |a| {
        semver_compare(s(&a[0]), s(&a[1])).map(Value::Bool)
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn constraints() {
        let t = |c: &str, v: &str| semver_compare(c, v).unwrap();
        assert!(t(">=1.2.0", "1.3.0"));
        assert!(!t("<1.0", "1.3.0"));
        assert!(t("^1.2", "1.9.9"));
        assert!(!t("~1.2.0", "1.3.0"));
        assert!(t(">=1.20-0", "1.25.3-gke.100"));
        assert!(!t(">=1.20", "1.25.3-gke.100"));
        assert!(t("1.x", "1.4"));
        assert!(t(">1.0 <2.0", "1.5.0"));
        assert!(t("<1 || >=3", "3.1.0"));
        assert!(t("1.2 - 1.4", "1.3.9"));
        assert!(t(">= 1.2, < 1.4", "1.3.0"));
        assert!(semver_compare("junk!", "1.0.0").is_err());
    }
}
