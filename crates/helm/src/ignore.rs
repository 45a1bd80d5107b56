//! `.helmignore` rules, matched the way Helm matches them.
//!
//! # Deviation from gitignore
//! Helm's rules are not gitignore: `**` is rejected, a pattern without `/`
//! matches the base name only, a leading `/` anchors to the chart root, a
//! trailing `/` matches directories only, and a negated rule (`!pat`)
//! ignores everything the pattern does *not* match. These are Helm's
//! semantics and are kept here as they are.

/// Errors in a `.helmignore` file.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum IgnoreError {
    /// A rule uses `**`.
    #[error("double-star (**) syntax is not supported")]
    DoubleStar,
    /// A rule is not a valid pattern.
    #[error("syntax error in pattern")]
    BadPattern,
}

#[derive(Debug, Clone)]
enum Anchor {
    /// Pattern starts with `/`: match the whole relative path.
    Root,
    /// Pattern contains `/`: match the whole relative path.
    Path,
    /// No `/`: match the base name.
    Base,
}

#[derive(Debug, Clone)]
struct Rule {
    pattern: String,
    negate: bool,
    must_dir: bool,
    anchor: Anchor,
}

/// A parsed `.helmignore`.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    rules: Vec<Rule>,
}

impl Rules {
    /// Parses `.helmignore` text and adds Helm's default rule
    /// (`templates/.?*`: dot files in templates/ are never templates).
    pub fn parse(text: &str) -> Result<Rules, IgnoreError> {
        let mut r = Rules::default();
        for line in text.lines() {
            r.add(line)?;
        }
        r.add("templates/.?*")?;
        Ok(r)
    }

    /// Only Helm's default rule.
    pub fn defaults() -> Rules {
        let mut r = Rules::default();
        // The default rule is a valid pattern.
        let _ = r.add("templates/.?*");
        r
    }

    fn add(&mut self, line: &str) -> Result<(), IgnoreError> {
        let rule = line.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err(IgnoreError::DoubleStar);
        }
        if go_match(rule, "abc").is_none() {
            return Err(IgnoreError::BadPattern);
        }
        let (negate, rule) = match rule.strip_prefix('!') {
            Some(r) => (true, r),
            None => (false, rule),
        };
        let (must_dir, rule) = match rule.strip_suffix('/') {
            Some(r) => (true, r),
            None => (false, rule),
        };
        let (anchor, pattern) = if let Some(r) = rule.strip_prefix('/') {
            (Anchor::Root, r.to_string())
        } else if rule.contains('/') {
            (Anchor::Path, rule.to_string())
        } else {
            (Anchor::Base, rule.to_string())
        };
        self.rules.push(Rule {
            pattern,
            negate,
            must_dir,
            anchor,
        });
        Ok(())
    }

    /// Whether the chart-relative `path` (a directory when `is_dir`) is
    /// ignored.
    pub fn ignore(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        for r in &self.rules {
            let subject = match r.anchor {
                Anchor::Root | Anchor::Path => path,
                Anchor::Base => path.rsplit('/').next().unwrap_or(path),
            };
            let matched = go_match(&r.pattern, subject).unwrap_or(false);
            if r.negate {
                if r.must_dir && !is_dir {
                    return true;
                }
                if !matched {
                    return true;
                }
                continue;
            }
            if r.must_dir && !is_dir {
                continue;
            }
            if matched {
                return true;
            }
        }
        false
    }
}

/// Go's `path/filepath.Match`: `*` and `?` never match `/`, `[...]`
/// classes with `^` negation and ranges, `\` escapes. `None` for a bad
/// pattern.
pub fn go_match(pattern: &str, name: &str) -> Option<bool> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n)
}

fn match_from(p: &[char], n: &[char]) -> Option<bool> {
    if p.is_empty() {
        return Some(n.is_empty());
    }
    match p[0] {
        '*' => {
            // Try every split that keeps `*` within one path segment.
            let rest = &p[1..];
            let mut i = 0;
            let mut bad = false;
            loop {
                match match_from(rest, &n[i..]) {
                    Some(true) => return if bad { None } else { Some(true) },
                    None => bad = true,
                    Some(false) => {}
                }
                if i >= n.len() || n[i] == '/' {
                    break;
                }
                i += 1;
            }
            if bad { None } else { Some(false) }
        }
        '?' => {
            if n.is_empty() || n[0] == '/' {
                // Validate the rest of the pattern for syntax errors.
                return check_syntax(&p[1..]).map(|_| false);
            }
            match_from(&p[1..], &n[1..])
        }
        '[' => {
            let (matched, consumed) = match_class(&p[1..], n.first().copied())?;
            match n.first() {
                Some(&c) if c != '/' && matched => match_from(&p[1 + consumed..], &n[1..]),
                _ => check_syntax(&p[1 + consumed..]).map(|_| false),
            }
        }
        '\\' => {
            let c = *p.get(1)?;
            if n.first() == Some(&c) {
                match_from(&p[2..], &n[1..])
            } else {
                check_syntax(&p[2..]).map(|_| false)
            }
        }
        c => {
            if n.first() == Some(&c) {
                match_from(&p[1..], &n[1..])
            } else {
                check_syntax(&p[1..]).map(|_| false)
            }
        }
    }
}

/// Checks a pattern's syntax without matching (Go reports bad patterns
/// even when an earlier part fails to match).
fn check_syntax(p: &[char]) -> Option<()> {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' => {
                p.get(i + 1)?;
                i += 2;
            }
            '[' => {
                let (_, consumed) = match_class(&p[i + 1..], None)?;
                i += 1 + consumed;
            }
            _ => i += 1,
        }
    }
    Some(())
}

/// Parses a character class after `[`; returns whether `c` matches and how
/// many pattern characters the class used (including `]`).
fn match_class(p: &[char], c: Option<char>) -> Option<(bool, usize)> {
    let mut i = 0;
    let negated = p.first() == Some(&'^');
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let ch = *p.get(i)?;
        if ch == ']' && !first {
            i += 1;
            break;
        }
        first = false;
        let lo = if ch == '\\' {
            i += 1;
            *p.get(i)?
        } else {
            if ch == '-' || ch == ']' {
                return None;
            }
            ch
        };
        i += 1;
        let mut hi = lo;
        if p.get(i) == Some(&'-') {
            i += 1;
            let h = *p.get(i)?;
            hi = if h == '\\' {
                i += 1;
                *p.get(i)?
            } else {
                if h == ']' || h == '-' {
                    return None;
                }
                h
            };
            i += 1;
        }
        if let Some(c) = c
            && lo <= c
            && c <= hi
        {
            matched = true;
        }
    }
    Some((matched != negated, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_path_match() {
        assert_eq!(go_match("*.md", "README.md"), Some(true));
        assert_eq!(go_match("*", "a/b"), Some(false));
        assert_eq!(go_match("a/*", "a/b"), Some(true));
        assert_eq!(go_match("[a-c]x", "bx"), Some(true));
        assert_eq!(go_match("[^a-c]x", "bx"), Some(false));
        assert_eq!(go_match("?x", "ax"), Some(true));
        assert_eq!(go_match("[", "a"), None);
    }

    #[test]
    fn helm_ignore_rules() {
        let r = Rules::parse("# c\n*.md\n/ci/\ntests/\nsecret.txt\n").unwrap();
        assert!(r.ignore("README.md", false));
        assert!(r.ignore("docs/x.md", false));
        assert!(r.ignore("ci", true));
        assert!(!r.ignore("templates/ci", true));
        assert!(r.ignore("templates/tests", true));
        assert!(!r.ignore("tests", false));
        assert!(r.ignore("templates/.hidden", false));
        assert!(!r.ignore("templates/a.yaml", false));
        assert!(Rules::parse("**/x").is_err());
    }
}
