//! Semantic versions and constraint ranges, as Helm checks dependency
//! versions (Masterminds semver v3 rules) when it pairs `Chart.yaml`
//! dependencies with the charts found in `charts/`.

use std::cmp::Ordering;

/// A parsed version: major.minor.patch and an optional pre-release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Major, minor and patch numbers.
    pub nums: [u64; 3],
    /// Pre-release identifiers (after `-`), empty for a release.
    pub pre: Vec<String>,
}

/// Parses a version leniently as Masterminds `NewVersion` does: an
/// optional `v`, one to three numbers, optional `-pre` and `+build`.
pub fn parse_version(s: &str) -> Option<Version> {
    let s = s.trim();
    let s = s.strip_prefix('v').unwrap_or(s);
    let (main, _build) = match s.split_once('+') {
        Some((m, b)) => (m, Some(b)),
        None => (s, None),
    };
    let (core, pre) = match main.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (main, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    let mut nums = [0u64; 3];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        nums[i] = p.parse().ok()?;
    }
    let pre = match pre {
        Some("") => return None,
        Some(p) => p.split('.').map(str::to_string).collect(),
        None => Vec::new(),
    };
    Some(Version { nums, pre })
}

fn cmp_pre(a: &[String], b: &[String]) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    for (x, y) in a.iter().zip(b.iter()) {
        let o = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(i), Ok(j)) => i.cmp(&j),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            _ => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

impl Version {
    fn cmp(&self, o: &Version) -> Ordering {
        self.nums
            .cmp(&o.nums)
            .then_with(|| cmp_pre(&self.pre, &o.pre))
    }
}

/// Whether `version` satisfies the constraint `range` (`^1.2`, `~1.2.3`,
/// `>=1.0 <2.0`, `1.x`, `1.2 - 1.4`, `a || b`). An empty or unparsable
/// constraint or version never matches, as in Helm.
pub fn is_compatible_range(range: &str, version: &str) -> bool {
    let Some(v) = parse_version(version) else {
        return false;
    };
    if range.trim().is_empty() {
        return false;
    }
    range.split("||").any(|alt| {
        let alt = alt.trim();
        if alt.is_empty() {
            return false;
        }
        // Hyphen ranges.
        if let Some((lo, hi)) = alt.split_once(" - ") {
            return check(">=", lo.trim(), &v).unwrap_or(false)
                && check("<=", hi.trim(), &v).unwrap_or(false);
        }
        let terms: Vec<&str> = alt
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .collect();
        // Operators may be separated from their version by spaces.
        let mut joined = Vec::new();
        let mut i = 0;
        while i < terms.len() {
            let t = terms[i];
            if matches!(
                t,
                "=" | "!=" | ">" | "<" | ">=" | "<=" | "=<" | "=>" | "~" | "^" | "~>"
            ) && i + 1 < terms.len()
            {
                joined.push(format!("{t}{}", terms[i + 1]));
                i += 2;
            } else {
                joined.push(t.to_string());
                i += 1;
            }
        }
        !joined.is_empty()
            && joined.iter().all(|t| {
                let op_len = t
                    .find(|c: char| c.is_ascii_alphanumeric() || c == '*')
                    .unwrap_or(t.len());
                let (op, ver) = t.split_at(op_len);
                check(op, ver, &v).unwrap_or(false)
            })
    })
}

/// A constraint operand with wildcards: how many leading numbers were
/// given (x, X and * count as missing).
fn parse_operand(s: &str) -> Option<(Version, usize)> {
    let s = s.strip_prefix('v').unwrap_or(s);
    let (main, _) = s.split_once('+').unwrap_or((s, ""));
    let (core, pre) = match main.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (main, None),
    };
    let mut nums = [0u64; 3];
    let mut given = 0;
    for (i, p) in core.split('.').enumerate() {
        if i >= 3 {
            return None;
        }
        if matches!(p, "x" | "X" | "*") {
            break;
        }
        nums[i] = p.parse().ok()?;
        given = i + 1;
    }
    let pre = pre
        .map(|p| p.split('.').map(str::to_string).collect())
        .unwrap_or_default();
    Some((Version { nums, pre }, given))
}

fn check(op: &str, operand: &str, v: &Version) -> Option<bool> {
    let (c, given) = parse_operand(operand)?;
    // A pre-release version only satisfies constraints that name a
    // pre-release of the same major.minor.patch.
    if !v.pre.is_empty() && (c.pre.is_empty() || c.nums != v.nums) {
        return Some(false);
    }
    let upper = |level: usize| -> Version {
        let mut n = c.nums;
        match level {
            0 => {
                return Version {
                    nums: [u64::MAX, 0, 0],
                    pre: vec![],
                };
            }
            1 => n = [n[0] + 1, 0, 0],
            2 => n = [n[0], n[1] + 1, 0],
            _ => n = [n[0], n[1], n[2] + 1],
        }
        Version {
            nums: n,
            pre: vec![],
        }
    };
    let ge = |x: &Version| v.cmp(x) != Ordering::Less;
    let lt = |x: &Version| v.cmp(x) == Ordering::Less;
    Some(match op {
        "" | "=" => {
            if given == 3 {
                v.cmp(&c) == Ordering::Equal
            } else {
                ge(&c) && lt(&upper(given))
            }
        }
        "!=" => {
            if given == 3 {
                v.cmp(&c) != Ordering::Equal
            } else {
                !(ge(&c) && lt(&upper(given)))
            }
        }
        ">" => {
            if given == 3 {
                v.cmp(&c) == Ordering::Greater
            } else {
                ge(&upper(given))
            }
        }
        ">=" | "=>" => ge(&c),
        "<" => lt(&c),
        "<=" | "=<" => {
            if given == 3 {
                v.cmp(&c) != Ordering::Greater
            } else {
                lt(&upper(given))
            }
        }
        "~" | "~>" => {
            let level = if given <= 1 { 1 } else { 2 };
            ge(&c) && lt(&upper(level.min(given.max(1))))
        }
        "^" => {
            let level = if c.nums[0] > 0 || given <= 1 {
                1
            } else if c.nums[1] > 0 || given == 2 {
                2
            } else {
                3
            };
            ge(&c) && lt(&upper(level))
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert!(is_compatible_range("1.2.3", "1.2.3"));
        assert!(is_compatible_range("~1.2.0", "1.2.9"));
        assert!(!is_compatible_range("~1.2.0", "1.3.0"));
        assert!(is_compatible_range("^1.2", "1.9.0"));
        assert!(!is_compatible_range("^1.2", "2.0.0"));
        assert!(is_compatible_range("^0.2.3", "0.2.9"));
        assert!(!is_compatible_range("^0.2.3", "0.3.0"));
        assert!(is_compatible_range(">=1.0.0 <2.0.0", "1.5.0"));
        assert!(is_compatible_range("1.x", "1.4.0"));
        assert!(is_compatible_range("*", "3.0.0"));
        assert!(is_compatible_range("1.0 - 2.0", "1.5.0"));
        assert!(is_compatible_range("<1 || >=3", "3.1.0"));
        assert!(!is_compatible_range("", "1.0.0"));
        assert!(!is_compatible_range(">=1.0.0", "2.0.0-rc1"));
        assert!(is_compatible_range(">=2.0.0-a", "2.0.0-rc1"));
    }
}
