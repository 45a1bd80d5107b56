//! The two path patterns of the git generator, matched exactly as Argo CD
//! matches them, since the set of matched paths decides which Applications
//! exist (and which are deleted):
//!
//! - directories use Go's `path.Match`: `*` and `?` never match `/` (so
//!   `apps/*` is one level deep and `**` is just two stars), `[...]` is a
//!   class (`[^...]` negated, `a-z` ranges) and `\` escapes;
//! - files use git's default pathspec (Argo CD lists them with
//!   `git ls-files -- <pattern>`): the same syntax, but `*` and `?` do match
//!   `/`, a class may also be negated with `!`, and a pattern without
//!   wildcards also matches everything below the directory it names.
//!
//! # Deviation
//! Git's POSIX character classes (`[[:alpha:]]`) are not supported; such a
//! pattern is read as an ordinary class of its characters.

/// A malformed pattern (an unclosed `[`, an empty class, a trailing `\`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed pattern {pattern:?}: {reason}")]
pub struct BadPattern {
    /// The pattern as written.
    pub pattern: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Literal(char),
    /// `*`: any run of characters.
    Star,
    /// `?`: one character.
    One,
    /// `[...]`: one character in (or, negated, not in) the ranges.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    tokens: Vec<Token>,
    /// Whether `*` and `?` stop at `/` (Go's `path.Match`) or cross it (git).
    slash_is_special: bool,
    /// A git pattern without wildcards also matches the paths below it.
    literal_prefix: Option<String>,
}

impl Pattern {
    /// A directory pattern with Go's `path.Match` rules.
    pub fn go_path(pattern: &str) -> Result<Self, BadPattern> {
        Ok(Self {
            tokens: compile(pattern, false)?,
            slash_is_special: true,
            literal_prefix: None,
        })
    }

    /// A file pattern with git's default pathspec rules; a leading `./` is
    /// dropped, as git resolves pathspecs against the repository root.
    pub fn git_pathspec(pattern: &str) -> Result<Self, BadPattern> {
        let trimmed = pattern.strip_prefix("./").unwrap_or(pattern);
        let tokens = compile(trimmed, true)?;
        let literal = tokens.iter().all(|t| matches!(t, Token::Literal(_)));
        let literal_prefix = literal.then(|| {
            let text: String = tokens
                .iter()
                .filter_map(|t| match t {
                    Token::Literal(c) => Some(*c),
                    _ => None,
                })
                .collect();
            text.trim_end_matches('/').to_string()
        });
        Ok(Self {
            tokens,
            slash_is_special: false,
            literal_prefix,
        })
    }

    /// Whether `path` matches.
    pub fn matches(&self, path: &str) -> bool {
        if let Some(prefix) = &self.literal_prefix {
            return path == prefix
                || prefix.is_empty()
                || path
                    .strip_prefix(prefix.as_str())
                    .is_some_and(|rest| rest.starts_with('/'));
        }
        let text: Vec<char> = path.chars().collect();
        self.match_tokens(&text)
    }

    /// Dynamic programming over (token, character): `reach[j]` says whether
    /// the tokens seen so far can consume exactly the first `j` characters.
    fn match_tokens(&self, text: &[char]) -> bool {
        let crosses = |c: char| !(self.slash_is_special && c == '/');
        let mut reach = vec![false; text.len() + 1];
        reach[0] = true;
        for token in &self.tokens {
            let mut next = vec![false; text.len() + 1];
            match token {
                Token::Star => {
                    for j in 0..=text.len() {
                        next[j] = reach[j] || (j > 0 && next[j - 1] && crosses(text[j - 1]));
                    }
                }
                other => {
                    for j in 1..=text.len() {
                        if reach[j - 1] && single(other, text[j - 1], &crosses) {
                            next[j] = true;
                        }
                    }
                }
            }
            reach = next;
            if !reach.iter().any(|r| *r) {
                return false;
            }
        }
        reach[text.len()]
    }
}

fn single(token: &Token, c: char, crosses: &dyn Fn(char) -> bool) -> bool {
    match token {
        Token::Literal(l) => *l == c,
        Token::One => crosses(c),
        Token::Class { negated, ranges } => {
            let inside = ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi);
            inside != *negated
        }
        Token::Star => false,
    }
}

fn compile(pattern: &str, git: bool) -> Result<Vec<Token>, BadPattern> {
    let bad = |reason| BadPattern {
        pattern: pattern.to_string(),
        reason,
    };
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => {
                // Consecutive stars match what one star matches.
                if tokens.last() != Some(&Token::Star) {
                    tokens.push(Token::Star);
                }
                i += 1;
            }
            '?' => {
                tokens.push(Token::One);
                i += 1;
            }
            '\\' => {
                let c = *chars.get(i + 1).ok_or_else(|| bad("trailing backslash"))?;
                tokens.push(Token::Literal(c));
                i += 2;
            }
            '[' => {
                i += 1;
                let negated = match chars.get(i) {
                    Some('^') => true,
                    Some('!') if git => true,
                    _ => false,
                };
                if negated {
                    i += 1;
                }
                let mut ranges = Vec::new();
                loop {
                    let c = *chars
                        .get(i)
                        .ok_or_else(|| bad("unclosed character class"))?;
                    if c == ']' {
                        if ranges.is_empty() {
                            return Err(bad("empty character class"));
                        }
                        i += 1;
                        break;
                    }
                    let (lo, after) =
                        class_char(&chars, i).ok_or_else(|| bad("unclosed character class"))?;
                    i = after;
                    let mut hi = lo;
                    if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|c| *c != ']') {
                        let (h, after) = class_char(&chars, i + 1)
                            .ok_or_else(|| bad("unclosed character class"))?;
                        hi = h;
                        i = after;
                        if hi < lo {
                            return Err(bad("character range out of order"));
                        }
                    }
                    ranges.push((lo, hi));
                }
                tokens.push(Token::Class { negated, ranges });
            }
            c => {
                tokens.push(Token::Literal(c));
                i += 1;
            }
        }
    }
    Ok(tokens)
}

/// One (possibly escaped) character of a class, and the index after it.
fn class_char(chars: &[char], i: usize) -> Option<(char, usize)> {
    match chars.get(i)? {
        '\\' => chars.get(i + 1).map(|c| (*c, i + 2)),
        c => Some((*c, i + 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(p: &str, s: &str) -> bool {
        Pattern::go_path(p).unwrap().matches(s)
    }

    fn git(p: &str, s: &str) -> bool {
        Pattern::git_pathspec(p).unwrap().matches(s)
    }

    #[test]
    fn go_stars_stay_within_one_segment() {
        assert!(go("apps/*", "apps/web"));
        assert!(!go("apps/*", "apps/web/overlay"));
        assert!(!go("apps/*", "apps"));
        assert!(go("apps/**", "apps/web"));
        assert!(!go("apps/**", "apps/web/x"));
        assert!(go("*/*", "a/b"));
        assert!(go("apps/we?", "apps/web"));
        assert!(!go("apps?web", "apps/web"));
        assert!(go("apps/web", "apps/web"));
        assert!(!go("apps/web", "apps/web2"));
    }

    #[test]
    fn go_classes_and_escapes() {
        assert!(go("env-[a-c]", "env-b"));
        assert!(!go("env-[a-c]", "env-d"));
        assert!(go("env-[^a-c]", "env-d"));
        assert!(!go("env-[!a]", "env-b"), "`!` is literal in Go classes");
        assert!(go("env-[!a]", "env-!"));
        assert!(go("a\\*b", "a*b"));
        assert!(!go("a\\*b", "axb"));
        assert!(go("[\\]]", "]"));
    }

    #[test]
    fn malformed_patterns_are_errors() {
        for p in ["a[", "a[]", "a\\", "[z-a]"] {
            assert!(Pattern::go_path(p).is_err(), "{p}");
        }
    }

    #[test]
    fn git_stars_cross_directories() {
        assert!(git("apps/*/config.json", "apps/a/config.json"));
        assert!(git("apps/*/config.json", "apps/a/b/config.json"));
        assert!(git("**/config.json", "x/y/config.json"));
        assert!(git("*.yaml", "deep/down/file.yaml"));
        assert!(!git("*.yaml", "file.json"));
        assert!(git("env-[!a].json", "env-b.json"));
    }

    #[test]
    fn git_literal_patterns_match_directories_too() {
        assert!(git("config/prod.json", "config/prod.json"));
        assert!(git("config", "config/prod.json"));
        assert!(git("config/", "config/a/b.json"));
        assert!(git("./config", "config/prod.json"));
        assert!(!git("config", "configs/prod.json"));
    }
}
