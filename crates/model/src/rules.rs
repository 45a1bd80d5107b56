//! AppProject rules: whether an Application may use a source, a destination
//! and a kind.
//!
//! These are pure functions over the model types, with Argo CD's semantics,
//! so the controller (before rendering or syncing), the server (when an
//! Application is created) and the CLI (for a local check) all give the same
//! answer:
//!
//! - [`check_source`]: `sourceRepos` globs against a repository URL, both
//!   normalized ([`normalize_repo_url`]).
//! - [`check_destination`]: `destinations` globs against a cluster (by server
//!   URL and/or name) and namespace.
//! - [`check_resource`] / [`check_named_resource`]: the cluster- and
//!   namespace-scoped allow and deny lists against a group and kind.
//! - [`check_app_namespace`]: `sourceNamespaces` against the namespace an
//!   Application lives in.
//! - [`check_application`]: all of the above that concern an Application's
//!   spec, every violation listed.
//!
//! Entries of `sourceRepos` and of the three destination fields may start with
//! `!`: such an entry denies what it matches, and a denial wins over any allow.
//! As in Argo CD, a `!` entry also allows everything it does *not* match, so a
//! list made only of `!` entries means "anything but these".
//!
//! # Globs
//! Argo CD matches these fields with two glob dialects, and so does this
//! module (a general-purpose glob crate follows gitignore's rules for `**` and
//! would change which URLs a project admits):
//!
//! - repository URLs, destinations and `sourceNamespaces`: `*` (any run of
//!   characters, not crossing `/` in a URL), `**` (any run, crossing `/`), `?`,
//!   `[abc]`, `[a-z]`, `[!abc]`, `{a,b}` and `\` escapes; the entry `*` alone
//!   matches everything;
//! - groups, kinds and cluster resource names: Go's `filepath.Match` (`*`, `?`,
//!   `[...]` with `^` or `!` negation, `\` escapes; no `**`, no braces).
//!
//! A malformed pattern (an unclosed `[` or `{`) matches nothing.
//!
//! ```
//! use trellis_model::{AppProject, rules};
//!
//! let mut project = AppProject::default();
//! project.metadata.name = Some("team".into());
//! project.spec.source_repos = vec!["https://github.com/acme/*".into(), "!https://github.com/acme/secrets".into()];
//! assert!(rules::check_source(&project, "https://GitHub.com/acme/shop.git/").is_ok());
//! assert_eq!(
//!     rules::check_source(&project, "https://github.com/acme/secrets").unwrap_err().to_string(),
//!     "application repo https://github.com/acme/secrets is not permitted in project 'team'"
//! );
//! ```

use crate::application::{Application, ApplicationDestination};
use crate::project::{AppProject, AppProjectSpec, ClusterResourceRestrictionItem, GroupKind};

/// Why a project refuses an application, a destination or a resource.
///
/// The messages follow Argo CD's wording so that people who know its
/// conditions recognize them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// No `sourceRepos` entry admits the repository, or a `!` entry denies it.
    #[error("application repo {repo_url} is not permitted in project '{project}'")]
    Source {
        /// The project's name.
        project: String,
        /// The repository URL as the application wrote it.
        repo_url: String,
    },
    /// No `destinations` entry admits the cluster and namespace, or a `!`
    /// entry denies them.
    #[error("{}", destination_message(.project, .server, .name, .namespace))]
    Destination {
        /// The project's name.
        project: String,
        /// The cluster's API server URL (empty when the cluster is named).
        server: String,
        /// The cluster's registered name (empty when only the URL is known).
        name: String,
        /// The namespace (empty for cluster-scoped resources).
        namespace: String,
    },
    /// The allow and deny lists for the resource's scope refuse its kind.
    #[error("resource {} is not permitted in project '{project}'", resource_label(.group, .kind, .name.as_deref()))]
    Resource {
        /// The project's name.
        project: String,
        /// API group; empty for the core group.
        group: String,
        /// Kind.
        kind: String,
        /// The object's name, when it was part of the check.
        name: Option<String>,
        /// Whether the kind is namespaced.
        namespaced: bool,
    },
    /// The Application lives in a namespace the project's `sourceNamespaces`
    /// do not list.
    #[error("application namespace '{namespace}' is not permitted in project '{project}'")]
    AppNamespace {
        /// The project's name.
        project: String,
        /// The namespace the Application lives in.
        namespace: String,
    },
}

fn destination_message(project: &str, server: &str, name: &str, namespace: &str) -> String {
    let cluster = match (server.is_empty(), name.is_empty()) {
        (false, true) => format!("server '{server}'"),
        (true, false) => format!("cluster '{name}'"),
        (false, false) => format!("server '{server}' (cluster '{name}')"),
        (true, true) => "server ''".to_string(),
    };
    format!(
        "application destination {cluster} and namespace '{namespace}' do not match any of the allowed destinations in project '{project}'"
    )
}

fn resource_label(group: &str, kind: &str, name: Option<&str>) -> String {
    let gk = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{group}:{kind}")
    };
    match name {
        Some(name) if !name.is_empty() => format!("{gk} '{name}'"),
        _ => gk,
    }
}

fn project_name(project: &AppProject) -> String {
    project.metadata.name.clone().unwrap_or_default()
}

/// The spec of the `default` project that Argo CD creates when none exists:
/// any repository, any cluster and namespace, any kind in either scope.
///
/// # Deviation
/// Argo CD's default destination names only `server: '*'` and relies on
/// resolving a named cluster to its URL first; this one also sets
/// `name: '*'`, so an application that names its cluster passes the same
/// check without that resolution.
pub fn default_project_spec() -> AppProjectSpec {
    AppProjectSpec {
        source_repos: vec!["*".to_string()],
        destinations: vec![ApplicationDestination {
            server: Some("*".to_string()),
            namespace: Some("*".to_string()),
            name: Some("*".to_string()),
        }],
        cluster_resource_whitelist: vec![ClusterResourceRestrictionItem {
            group: "*".to_string(),
            kind: "*".to_string(),
            name: None,
        }],
        ..AppProjectSpec::default()
    }
}

/// Normalizes a repository URL for comparison, as Argo CD does for
/// `sourceRepos`: surrounding whitespace is dropped, the whole URL is
/// lower-cased, trailing `/` and a `.git` suffix are dropped, and the two SSH
/// spellings (`ssh://git@host/path` and `git@host:path`) become one,
/// `git@host/path`.
///
/// # Deviation
/// Argo CD ignores a trailing `.git` but not a trailing `/`; both are ignored
/// here.
pub fn normalize_repo_url(url: &str) -> String {
    let mut url = url.trim().to_lowercase();
    if let Some(rest) = url.strip_prefix("ssh://") {
        if is_ssh_user_form(rest) {
            url = rest.to_string();
        }
    } else if is_ssh_user_form(&url) {
        // `git@host:path`: the first `:` separates host and path.
        url = url.replacen(':', "/", 1);
    }
    loop {
        let before = url.len();
        while url.ends_with('/') {
            url.pop();
        }
        if let Some(stripped) = url.strip_suffix(".git") {
            url.truncate(stripped.len());
        }
        if url.len() == before {
            return url;
        }
    }
}

/// `user@rest` where the user has no `/` or `:` and `rest` has no `@`: the
/// shape of an SSH remote (as opposed to `https://user@host/...`).
fn is_ssh_user_form(url: &str) -> bool {
    match url.split_once('@') {
        Some((user, rest)) => !user.contains(['/', ':']) && !rest.contains('@'),
        None => false,
    }
}

/// Whether the project admits a repository URL in an application source.
///
/// Both the URL and each `sourceRepos` entry are normalized with
/// [`normalize_repo_url`] before matching; in URL globs `*` does not cross
/// `/` (so `https://github.com/acme/*` admits `https://github.com/acme/shop`
/// but not `https://github.com/acme/shop/extra`) while `**` does. A `!` entry
/// that matches refuses the URL whatever the other entries say.
pub fn check_source(project: &AppProject, repo_url: &str) -> Result<(), Violation> {
    let url = normalize_repo_url(repo_url);
    let mut admitted = false;
    for entry in &project.spec.source_repos {
        match entry.strip_prefix('!') {
            Some(denied) => {
                if Glob::url(&normalize_repo_url(denied)).matches(&url) {
                    admitted = false;
                    break;
                }
                admitted = true;
            }
            None => admitted |= Glob::url(&normalize_repo_url(entry)).matches(&url),
        }
    }
    if admitted {
        Ok(())
    } else {
        Err(Violation::Source {
            project: project_name(project),
            repo_url: repo_url.to_string(),
        })
    }
}

/// A destination pattern field: `!pattern` denies, anything else allows.
/// Returns whether the value passes the field (a matching allow, or a
/// non-matching deny) and whether the field is a deny pattern.
fn destination_field(pattern: &str, value: &str) -> (bool, bool) {
    match pattern.strip_prefix('!') {
        Some(denied) => (!Glob::plain(denied).matches(value), true),
        None => (Glob::plain(pattern).matches(value), false),
    }
}

/// Whether the project admits a destination cluster and namespace.
///
/// The cluster is given by its API server URL, its registered name, or both
/// (pass an empty string for what is unknown); a project entry matches when
/// its server or its name matches and its namespace matches. An entry whose
/// server, name or namespace is a `!` pattern refuses the destination when
/// that field does not pass, whatever other entries say.
///
/// Pass both the server and the name when the cluster's name is known: as in
/// Argo CD, a `!` server (or name) entry that does not otherwise match refuses
/// a destination that lacks a server (or name), since it cannot show that it
/// is not the denied cluster.
///
/// # Deviation
/// Argo CD only looks at an entry's `!` fields when the entry as a whole does
/// not match, so `{server: '*', name: '!prod'}` admits the cluster named
/// `prod` through its server. Here a `!` field refuses every destination
/// whose value it denies, whatever the entry's other fields match.
pub fn check_destination(
    project: &AppProject,
    server: &str,
    name: &str,
    namespace: &str,
) -> Result<(), Violation> {
    let mut admitted = false;
    let mut denied = false;
    for entry in &project.spec.destinations {
        let (server_pass, server_deny) =
            destination_field(entry.server.as_deref().unwrap_or_default(), server);
        let (name_pass, name_deny) =
            destination_field(entry.name.as_deref().unwrap_or_default(), name);
        let (ns_pass, ns_deny) =
            destination_field(entry.namespace.as_deref().unwrap_or_default(), namespace);
        let server_pass = !server.is_empty() && server_pass;
        let name_pass = !name.is_empty() && name_pass;
        let matched = (server_pass || name_pass) && ns_pass;
        // A given value that a `!` field denies refuses the destination even
        // when another field of the entry matched.
        let hit = (server_deny && !server.is_empty() && !server_pass)
            || (name_deny && !name.is_empty() && !name_pass)
            || (ns_deny && !ns_pass);
        // A missing value cannot be shown not to be the denied one.
        let unproven =
            !matched && ((server_deny && server.is_empty()) || (name_deny && name.is_empty()));
        if hit || unproven {
            denied = true;
        } else if matched {
            admitted = true;
        }
    }
    if admitted && !denied {
        Ok(())
    } else {
        Err(Violation::Destination {
            project: project_name(project),
            server: server.to_string(),
            name: name.to_string(),
            namespace: namespace.to_string(),
        })
    }
}

fn group_kind_matches(group_pattern: &str, kind_pattern: &str, group: &str, kind: &str) -> bool {
    Glob::kind(group_pattern).matches(group) && Glob::kind(kind_pattern).matches(kind)
}

fn in_group_kinds(list: &[GroupKind], group: &str, kind: &str) -> bool {
    list.iter()
        .any(|item| group_kind_matches(&item.group, &item.kind, group, kind))
}

/// How a cluster restriction item with a `name` is read when the object's
/// name is not part of the check.
#[derive(Clone, Copy)]
enum UnknownName {
    /// The item matches: some objects of the kind may be covered.
    Matches,
    /// The item does not match: it covers only some objects of the kind.
    Skips,
}

fn in_cluster_items(
    list: &[ClusterResourceRestrictionItem],
    group: &str,
    kind: &str,
    name: Option<&str>,
    unknown: UnknownName,
) -> bool {
    list.iter().any(|item| {
        if !group_kind_matches(&item.group, &item.kind, group, kind) {
            return false;
        }
        match (item.name.as_deref().filter(|n| !n.is_empty()), name) {
            (None, _) => true,
            (Some(pattern), Some(name)) => Glob::kind(pattern).matches(name),
            (Some(_), None) => matches!(unknown, UnknownName::Matches),
        }
    })
}

fn resource_verdict(
    project: &AppProject,
    group: &str,
    kind: &str,
    name: Option<&str>,
    namespaced: bool,
) -> Result<(), Violation> {
    let spec = &project.spec;
    let permitted = if namespaced {
        let allowed = match &spec.namespace_resource_whitelist {
            None => true,
            Some(list) => in_group_kinds(list, group, kind),
        };
        allowed && !in_group_kinds(&spec.namespace_resource_blacklist, group, kind)
    } else {
        in_cluster_items(
            &spec.cluster_resource_whitelist,
            group,
            kind,
            name,
            UnknownName::Matches,
        ) && !in_cluster_items(
            &spec.cluster_resource_blacklist,
            group,
            kind,
            name,
            UnknownName::Skips,
        )
    };
    if permitted {
        Ok(())
    } else {
        Err(Violation::Resource {
            project: project_name(project),
            group: group.to_string(),
            kind: kind.to_string(),
            name: name.map(str::to_string),
            namespaced,
        })
    }
}

/// Whether the project admits a kind, by its group and scope.
///
/// - Cluster-scoped kinds must match `clusterResourceWhitelist` (an empty
///   list admits none) and not match `clusterResourceBlacklist`.
/// - Namespaced kinds must match `namespaceResourceWhitelist` when it is set
///   (absent admits all, an empty list admits none) and not match
///   `namespaceResourceBlacklist`.
///
/// Cluster entries that name objects are read generously here, since no
/// object is given: a whitelist entry for some names admits the kind, a
/// blacklist entry for some names does not refuse it. Use
/// [`check_named_resource`] for an actual object.
pub fn check_resource(
    project: &AppProject,
    group: &str,
    kind: &str,
    namespaced: bool,
) -> Result<(), Violation> {
    resource_verdict(project, group, kind, None, namespaced)
}

/// Like [`check_resource`], for one object: cluster list entries with a
/// `name` glob apply only to objects whose name matches it. Namespaced lists
/// carry no names, so for namespaced kinds the name changes nothing.
pub fn check_named_resource(
    project: &AppProject,
    group: &str,
    kind: &str,
    name: &str,
    namespaced: bool,
) -> Result<(), Violation> {
    resource_verdict(project, group, kind, Some(name), namespaced)
}

/// Whether an Application of the project may live in `app_namespace`.
///
/// The controller's own namespace is always allowed, and so is an empty
/// namespace (an Application about to be created there). Other namespaces
/// must match a `sourceNamespaces` entry: a glob, or a regular expression
/// between slashes (`/^team-[a-z]+$/`, searched for anywhere in the name
/// unless anchored, as in Argo CD). An entry that is not a valid regular
/// expression matches nothing.
pub fn check_app_namespace(
    project: &AppProject,
    app_namespace: &str,
    controller_namespace: &str,
) -> Result<(), Violation> {
    if app_namespace.is_empty() || app_namespace == controller_namespace {
        return Ok(());
    }
    let listed = project.spec.source_namespaces.iter().any(|entry| {
        if let Some(re) = entry
            .strip_prefix('/')
            .and_then(|e| e.strip_suffix('/'))
            .filter(|re| !re.is_empty())
            && regex::Regex::new(re).is_ok_and(|re| re.is_match(app_namespace))
        {
            return true;
        }
        Glob::plain(entry).matches(app_namespace)
    });
    if listed {
        Ok(())
    } else {
        Err(Violation::AppNamespace {
            project: project_name(project),
            namespace: app_namespace.to_string(),
        })
    }
}

/// Every way the project refuses an Application's spec: the namespace the
/// Application lives in ([`check_app_namespace`], with the controller's
/// namespace always allowed), each repository it reads (`spec.sources`, or
/// `spec.source`, and a source hydrator's dry source) and its destination.
/// Empty when the project admits it. A repository used by several sources is
/// reported once.
///
/// The destination is checked as written; resolve a named cluster to its
/// server URL first (and fill both fields) when a project denies servers
/// with `!` entries.
pub fn check_application(
    project: &AppProject,
    app: &Application,
    controller_namespace: &str,
) -> Vec<Violation> {
    let mut violations = Vec::new();
    if let Err(v) = check_app_namespace(project, app.namespace(), controller_namespace) {
        violations.push(v);
    }
    let spec = &app.spec;
    let repos = spec
        .all_sources()
        .into_iter()
        .map(|s| s.repo_url.as_str())
        .chain(
            spec.source_hydrator
                .iter()
                .map(|h| h.dry_source.repo_url.as_str()),
        );
    for repo in repos {
        if let Err(v) = check_source(project, repo)
            && !violations.contains(&v)
        {
            violations.push(v);
        }
    }
    let dest = &spec.destination;
    if let Err(v) = check_destination(
        project,
        dest.server.as_deref().unwrap_or_default(),
        dest.name.as_deref().unwrap_or_default(),
        dest.namespace.as_deref().unwrap_or_default(),
    ) {
        violations.push(v);
    }
    violations
}

/// Expansions of `{a,b}` alternatives beyond this count make a pattern
/// malformed: it bounds the work a hostile pattern can cause.
const MAX_ALTERNATIVES: usize = 256;

/// One element of a compiled glob.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// This character.
    Literal(char),
    /// Any run of characters other than the separator.
    Star,
    /// Any run of characters.
    SuperStar,
    /// One character other than the separator.
    One,
    /// One character in (or, negated, not in and not the separator) the ranges.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A parsed pattern before `{a,b}` expansion.
#[derive(Debug, Clone)]
enum Node {
    Token(Token),
    Alternatives(Vec<Vec<Node>>),
}

/// A compiled glob: the alternatives its braces expand to, each a token
/// sequence; none when the pattern is malformed.
struct Glob {
    alternatives: Option<Vec<Vec<Token>>>,
    separator: Option<char>,
    match_all: bool,
}

/// The features a dialect's parser accepts.
#[derive(Clone, Copy)]
struct Dialect {
    braces: bool,
    super_star: bool,
}

impl Glob {
    /// A repository URL glob: `*` stops at `/`, `**` crosses it.
    fn url(pattern: &str) -> Self {
        Self::compile(
            pattern,
            Some('/'),
            Dialect {
                braces: true,
                super_star: true,
            },
        )
    }

    /// A destination or namespace glob: no separator.
    fn plain(pattern: &str) -> Self {
        Self::compile(
            pattern,
            None,
            Dialect {
                braces: true,
                super_star: true,
            },
        )
    }

    /// A group, kind or object-name glob, as Go's `filepath.Match`.
    fn kind(pattern: &str) -> Self {
        Self::compile(
            pattern,
            Some('/'),
            Dialect {
                braces: false,
                super_star: false,
            },
        )
    }

    fn compile(pattern: &str, separator: Option<char>, dialect: Dialect) -> Self {
        let chars: Vec<char> = pattern.chars().collect();
        let alternatives = parse_sequence(&chars, &mut 0, dialect, false)
            .and_then(|nodes| expand(&nodes))
            .filter(|alts| alts.len() <= MAX_ALTERNATIVES);
        Self {
            alternatives,
            separator,
            // Argo CD lets the lone `*` admit everything, URLs with `/` included.
            match_all: pattern == "*",
        }
    }

    fn matches(&self, text: &str) -> bool {
        if self.match_all {
            return true;
        }
        let text: Vec<char> = text.chars().collect();
        self.alternatives.as_ref().is_some_and(|alts| {
            alts.iter()
                .any(|tokens| matches_tokens(tokens, &text, self.separator))
        })
    }
}

/// Parses until the end, or (inside braces) until an unescaped `,` or `}`,
/// which is left for the caller. `None` when malformed.
fn parse_sequence(
    chars: &[char],
    pos: &mut usize,
    dialect: Dialect,
    in_braces: bool,
) -> Option<Vec<Node>> {
    let mut nodes = Vec::new();
    while let Some(&c) = chars.get(*pos) {
        match c {
            ',' | '}' if in_braces => return Some(nodes),
            '\\' => {
                let escaped = *chars.get(*pos + 1)?;
                nodes.push(Node::Token(Token::Literal(escaped)));
                *pos += 2;
            }
            '*' => {
                let mut run = 0;
                while chars.get(*pos) == Some(&'*') {
                    run += 1;
                    *pos += 1;
                }
                let token = if dialect.super_star && run > 1 {
                    Token::SuperStar
                } else {
                    Token::Star
                };
                nodes.push(Node::Token(token));
            }
            '?' => {
                nodes.push(Node::Token(Token::One));
                *pos += 1;
            }
            '[' => {
                *pos += 1;
                nodes.push(Node::Token(parse_class(chars, pos)?));
            }
            '{' if dialect.braces => {
                *pos += 1;
                let mut alternatives = Vec::new();
                loop {
                    alternatives.push(parse_sequence(chars, pos, dialect, true)?);
                    match chars.get(*pos) {
                        Some(',') => *pos += 1,
                        Some('}') => {
                            *pos += 1;
                            break;
                        }
                        _ => return None,
                    }
                }
                nodes.push(Node::Alternatives(alternatives));
            }
            _ => {
                nodes.push(Node::Token(Token::Literal(c)));
                *pos += 1;
            }
        }
    }
    if in_braces { None } else { Some(nodes) }
}

/// Parses a character class after its `[`, through its `]`.
fn parse_class(chars: &[char], pos: &mut usize) -> Option<Token> {
    let negated = matches!(chars.get(*pos), Some('!' | '^'));
    if negated {
        *pos += 1;
    }
    let mut ranges = Vec::new();
    loop {
        let mut lo = *chars.get(*pos)?;
        if lo == ']' && !ranges.is_empty() {
            *pos += 1;
            return Some(Token::Class { negated, ranges });
        }
        if lo == ']' {
            return None;
        }
        if lo == '\\' {
            *pos += 1;
            lo = *chars.get(*pos)?;
        }
        *pos += 1;
        let mut hi = lo;
        if chars.get(*pos) == Some(&'-') && chars.get(*pos + 1).is_some_and(|&c| c != ']') {
            *pos += 1;
            hi = *chars.get(*pos)?;
            if hi == '\\' {
                *pos += 1;
                hi = *chars.get(*pos)?;
            }
            *pos += 1;
            if hi < lo {
                return None;
            }
        }
        ranges.push((lo, hi));
    }
}

/// Expands `{a,b}` alternatives into flat token sequences, giving up (as
/// malformed) past [`MAX_ALTERNATIVES`].
fn expand(nodes: &[Node]) -> Option<Vec<Vec<Token>>> {
    let mut out: Vec<Vec<Token>> = vec![Vec::new()];
    for node in nodes {
        match node {
            Node::Token(token) => out.iter_mut().for_each(|seq| seq.push(token.clone())),
            Node::Alternatives(alternatives) => {
                let mut tails = Vec::new();
                for alternative in alternatives {
                    tails.extend(expand(alternative)?);
                }
                if out.len().saturating_mul(tails.len()) > MAX_ALTERNATIVES {
                    return None;
                }
                out = out
                    .iter()
                    .flat_map(|head| {
                        tails.iter().map(move |tail| {
                            let mut seq = head.clone();
                            seq.extend(tail.iter().cloned());
                            seq
                        })
                    })
                    .collect();
            }
        }
    }
    Some(out)
}

/// Runs the tokens over the text as a set of reachable positions, so the
/// cost stays tokens × characters whatever the stars (no backtracking).
fn matches_tokens(tokens: &[Token], text: &[char], separator: Option<char>) -> bool {
    let n = text.len();
    let mut reach = vec![false; n + 1];
    reach[0] = true;
    for token in tokens {
        let mut next = vec![false; n + 1];
        match token {
            Token::Star => {
                let mut on = false;
                for j in 0..=n {
                    on |= reach[j];
                    next[j] = on;
                    if j < n && Some(text[j]) == separator {
                        on = false;
                    }
                }
            }
            Token::SuperStar => {
                if let Some(first) = reach.iter().position(|&r| r) {
                    next[first..].iter_mut().for_each(|r| *r = true);
                }
            }
            _ => {
                for j in 0..n {
                    if reach[j] && single_matches(token, text[j], separator) {
                        next[j + 1] = true;
                    }
                }
            }
        }
        if !next.contains(&true) {
            return false;
        }
        reach = next;
    }
    reach[n]
}

fn single_matches(token: &Token, c: char, separator: Option<char>) -> bool {
    match token {
        Token::Literal(l) => *l == c,
        Token::One => Some(c) != separator,
        Token::Class { negated, ranges } => {
            let inside = ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi);
            if *negated {
                !inside && Some(c) != separator
            } else {
                inside
            }
        }
        Token::Star | Token::SuperStar => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::{ApplicationSource, ApplicationSpec, DrySource, SourceHydrator};

    fn project(f: impl FnOnce(&mut AppProjectSpec)) -> AppProject {
        let mut p = AppProject::default();
        p.metadata.name = Some("p".into());
        f(&mut p.spec);
        p
    }

    fn repos(list: &[&str]) -> AppProject {
        project(|s| s.source_repos = list.iter().map(|r| r.to_string()).collect())
    }

    fn dest(server: &str, name: &str, namespace: &str) -> ApplicationDestination {
        let opt = |v: &str| (!v.is_empty()).then(|| v.to_string());
        ApplicationDestination {
            server: opt(server),
            name: opt(name),
            namespace: opt(namespace),
        }
    }

    fn dests(list: &[(&str, &str, &str)]) -> AppProject {
        project(|s| {
            s.destinations = list.iter().map(|(s, n, ns)| dest(s, n, ns)).collect();
        })
    }

    fn gk(group: &str, kind: &str) -> GroupKind {
        GroupKind {
            group: group.into(),
            kind: kind.into(),
        }
    }

    fn item(group: &str, kind: &str, name: Option<&str>) -> ClusterResourceRestrictionItem {
        ClusterResourceRestrictionItem {
            group: group.into(),
            kind: kind.into(),
            name: name.map(str::to_string),
        }
    }

    fn glob_url(p: &str, t: &str) -> bool {
        Glob::url(p).matches(t)
    }

    #[test]
    fn url_globs_stop_at_slash_unless_double_star() {
        assert!(glob_url(
            "https://github.com/acme/*",
            "https://github.com/acme/shop"
        ));
        assert!(!glob_url(
            "https://github.com/acme/*",
            "https://github.com/acme/a/b"
        ));
        assert!(glob_url(
            "https://github.com/acme/**",
            "https://github.com/acme/a/b"
        ));
        assert!(glob_url(
            "https://github.com/**/infra",
            "https://github.com/x/y/infra"
        ));
        assert!(glob_url(
            "https://*.example.com/*",
            "https://git.example.com/r"
        ));
        assert!(!glob_url(
            "https://*.example.com/*",
            "https://a/b.example.com/r"
        ));
        assert!(glob_url("*", "https://anything/with/slashes"));
        assert!(!glob_url(
            "https://github.com/acme/*",
            "https://github.com/acme"
        ));
        assert!(glob_url(
            "https://github.com/acme/sh?p",
            "https://github.com/acme/shop"
        ));
        assert!(!glob_url(
            "https://github.com/acme/sh?p",
            "https://github.com/acme/sh/p"
        ));
    }

    #[test]
    fn globs_take_classes_braces_and_escapes() {
        let g = |p: &str, t: &str| Glob::plain(p).matches(t);
        assert!(g("team-[abc]", "team-b"));
        assert!(!g("team-[abc]", "team-d"));
        assert!(g("team-[a-c]x", "team-bx"));
        assert!(g("team-[!a-c]", "team-d"));
        assert!(!g("team-[!a-c]", "team-a"));
        assert!(g("{dev,staging}-*", "staging-1"));
        assert!(!g("{dev,staging}-*", "prod-1"));
        assert!(g("{a,b{c,d}}", "bd"));
        assert!(g("a\\*", "a*"));
        assert!(!g("a\\*", "ab"));
        assert!(g("", ""));
        assert!(!g("", "x"));
        // Malformed patterns match nothing.
        assert!(!g("team-[abc", "team-a"));
        assert!(!g("{a,b", "a"));
        assert!(!g("a\\", "a"));
        assert!(!g("[]", "]"));
    }

    #[test]
    fn kind_globs_follow_filepath_match() {
        let g = |p: &str, t: &str| Glob::kind(p).matches(t);
        assert!(g("*", "Deployment"));
        assert!(g("*.k8s.io", "rbac.authorization.k8s.io"));
        assert!(g("Cluster*", "ClusterRole"));
        assert!(!g("Cluster*", "Role"));
        assert!(g("", ""));
        assert!(!g("", "apps"));
        // No braces in this dialect: they are literal characters.
        assert!(g("{a,b}", "{a,b}"));
        assert!(!g("{a,b}", "a"));
    }

    #[test]
    fn many_stars_stay_cheap() {
        let pattern = "*a".repeat(40) + "b";
        let text = "a".repeat(2000);
        assert!(!Glob::plain(&pattern).matches(&text));
        assert!(Glob::plain(&("*a".repeat(40))).matches(&text));
    }

    #[test]
    fn brace_bombs_are_malformed() {
        let pattern = "{a,b}".repeat(20);
        assert!(!Glob::plain(&pattern).matches(&"a".repeat(20)));
    }

    #[test]
    fn urls_normalize_like_argo_cd() {
        let n = normalize_repo_url;
        assert_eq!(
            n(" https://GitHub.com/Acme/Shop.git "),
            "https://github.com/acme/shop"
        );
        assert_eq!(
            n("https://github.com/acme/shop/"),
            "https://github.com/acme/shop"
        );
        assert_eq!(
            n("https://github.com/acme/shop.git/"),
            "https://github.com/acme/shop"
        );
        assert_eq!(
            n("git@github.com:acme/shop.git"),
            "git@github.com/acme/shop"
        );
        assert_eq!(
            n("ssh://git@github.com/acme/shop"),
            "git@github.com/acme/shop"
        );
        assert_eq!(
            n("ssh://git@github.com:2222/acme/shop"),
            "git@github.com:2222/acme/shop"
        );
        assert_eq!(
            n("https://user@github.com/acme/shop"),
            "https://user@github.com/acme/shop"
        );
        assert_eq!(n("*"), "*");
    }

    #[test]
    fn source_wildcards_and_normalization() {
        let p = repos(&["https://github.com/acme/*"]);
        assert!(check_source(&p, "https://github.com/acme/shop").is_ok());
        assert!(check_source(&p, "https://GITHUB.com/acme/shop.git").is_ok());
        assert!(check_source(&p, "https://github.com/acme/shop/").is_ok());
        assert!(check_source(&p, "https://github.com/other/shop").is_err());
        assert!(check_source(&p, "https://github.com/acme/a/b").is_err());

        let p = repos(&["*"]);
        assert!(check_source(&p, "git@host:a/b/c").is_ok());

        let p = repos(&["git@github.com:acme/*"]);
        assert!(check_source(&p, "ssh://git@github.com/acme/shop.git").is_ok());

        let p = repos(&["https://github.com/acme/shop.git"]);
        assert!(check_source(&p, "https://github.com/acme/shop").is_ok());

        let p = repos(&[]);
        assert!(check_source(&p, "https://github.com/acme/shop").is_err());
    }

    #[test]
    fn source_negation_denies_and_wins() {
        let p = repos(&["*", "!https://github.com/acme/secrets"]);
        assert!(check_source(&p, "https://github.com/acme/shop").is_ok());
        assert!(check_source(&p, "https://github.com/acme/secrets.git").is_err());

        // Deny first, allow after: still denied.
        let p = repos(&[
            "!https://github.com/acme/secrets",
            "https://github.com/acme/*",
        ]);
        assert!(check_source(&p, "https://github.com/acme/secrets").is_err());
        assert!(check_source(&p, "https://github.com/acme/shop").is_ok());

        // Only negations: everything else is admitted, as in Argo CD.
        let p = repos(&["!https://gitlab.com/**"]);
        assert!(check_source(&p, "https://github.com/acme/shop").is_ok());
        assert!(check_source(&p, "https://gitlab.com/a/b/c").is_err());

        let err = check_source(&p, "https://gitlab.com/a/b").unwrap_err();
        assert_eq!(
            err.to_string(),
            "application repo https://gitlab.com/a/b is not permitted in project 'p'"
        );
    }

    #[test]
    fn destination_by_server_or_name_with_namespace_globs() {
        let p = dests(&[
            ("https://kubernetes.default.svc", "", "guestbook"),
            ("https://kubernetes.default.svc", "", "guestbook-*"),
            ("", "prod", "shop"),
        ]);
        let ok = |s, n, ns| check_destination(&p, s, n, ns).is_ok();
        assert!(ok("https://kubernetes.default.svc", "", "guestbook"));
        assert!(ok("https://kubernetes.default.svc", "", "guestbook-dev"));
        assert!(!ok("https://kubernetes.default.svc", "", "kube-system"));
        assert!(!ok("https://other", "", "guestbook"));
        assert!(ok("", "prod", "shop"));
        assert!(ok("https://prod.example.com", "prod", "shop"));
        assert!(!ok("", "staging", "shop"));
        // A project entry without a name does not match a named cluster.
        assert!(!ok("", "in-cluster", "guestbook"));
        // Nothing given matches nothing.
        assert!(!ok("", "", "guestbook"));

        let err =
            check_destination(&p, "https://kubernetes.default.svc", "", "kube-system").unwrap_err();
        assert_eq!(
            err.to_string(),
            "application destination server 'https://kubernetes.default.svc' and namespace 'kube-system' do not match any of the allowed destinations in project 'p'"
        );
        let err = check_destination(&p, "", "staging", "shop").unwrap_err();
        assert_eq!(
            err.to_string(),
            "application destination cluster 'staging' and namespace 'shop' do not match any of the allowed destinations in project 'p'"
        );
    }

    #[test]
    fn destination_negation_denies_whatever_else_allows() {
        let p = dests(&[("*", "", "*"), ("*", "", "!kube-*")]);
        let ok = |s, ns| check_destination(&p, s, "", ns).is_ok();
        assert!(ok("https://a", "shop"));
        assert!(!ok("https://a", "kube-system"));
        assert!(!ok("https://a", "kube-public"));

        let p = dests(&[("!https://prod", "", "*"), ("*", "", "*")]);
        assert!(check_destination(&p, "https://dev", "", "x").is_ok());
        assert!(check_destination(&p, "https://prod", "", "x").is_err());

        // Only negations: everything else is admitted.
        let p = dests(&[("*", "", "!kube-system")]);
        assert!(check_destination(&p, "https://a", "", "shop").is_ok());
        assert!(check_destination(&p, "https://a", "", "kube-system").is_err());

        // A denied server cannot be ruled out for a destination given by name only.
        let p = dests(&[("!https://prod", "", "*"), ("*", "*", "*")]);
        assert!(check_destination(&p, "", "dev", "x").is_err());
        assert!(check_destination(&p, "https://dev", "dev", "x").is_ok());

        // A denied name refuses even when the server of the same entry matches.
        let p = dests(&[("*", "!prod", "*")]);
        assert!(check_destination(&p, "https://x", "dev", "ns").is_ok());
        assert!(check_destination(&p, "https://x", "prod", "ns").is_err());
        assert!(check_destination(&p, "https://x", "", "ns").is_ok());
        // And a denied server refuses even when the name matches.
        let p = dests(&[("!https://prod", "*", "*")]);
        assert!(check_destination(&p, "https://prod", "anything", "ns").is_err());
        assert!(check_destination(&p, "https://dev", "anything", "ns").is_ok());
        assert!(check_destination(&p, "", "anything", "ns").is_ok());
    }

    #[test]
    fn no_destinations_admit_nothing() {
        let p = dests(&[]);
        assert!(check_destination(&p, "https://a", "", "x").is_err());
    }

    #[test]
    fn cluster_kinds_need_the_whitelist() {
        let p = project(|_| {});
        assert!(check_resource(&p, "", "Namespace", false).is_err());
        assert!(check_resource(&p, "apps", "Deployment", true).is_ok());

        let p = project(|s| s.cluster_resource_whitelist = vec![item("", "Namespace", None)]);
        assert!(check_resource(&p, "", "Namespace", false).is_ok());
        assert!(check_resource(&p, "rbac.authorization.k8s.io", "ClusterRole", false).is_err());

        let p = project(|s| {
            s.cluster_resource_whitelist = vec![item("*", "*", None)];
            s.cluster_resource_blacklist =
                vec![item("rbac.authorization.k8s.io", "Cluster*", None)];
        });
        assert!(check_resource(&p, "", "Namespace", false).is_ok());
        assert!(check_resource(&p, "rbac.authorization.k8s.io", "ClusterRole", false).is_err());
        assert!(
            check_resource(&p, "rbac.authorization.k8s.io", "ClusterRoleBinding", false).is_err()
        );
        // The cluster lists say nothing about namespaced kinds.
        assert!(check_resource(&p, "rbac.authorization.k8s.io", "ClusterRole", true).is_ok());
    }

    #[test]
    fn namespaced_whitelist_absent_empty_or_listed() {
        let absent = project(|_| {});
        assert!(check_resource(&absent, "apps", "Deployment", true).is_ok());

        let empty = project(|s| s.namespace_resource_whitelist = Some(vec![]));
        assert!(check_resource(&empty, "apps", "Deployment", true).is_err());
        assert!(check_resource(&empty, "", "ConfigMap", true).is_err());

        let listed = project(|s| {
            s.namespace_resource_whitelist = Some(vec![gk("apps", "*"), gk("", "ConfigMap")]);
        });
        assert!(check_resource(&listed, "apps", "Deployment", true).is_ok());
        assert!(check_resource(&listed, "apps", "StatefulSet", true).is_ok());
        assert!(check_resource(&listed, "", "ConfigMap", true).is_ok());
        assert!(check_resource(&listed, "", "Secret", true).is_err());
        // The core group is the empty string, not a wildcard.
        assert!(check_resource(&listed, "batch", "ConfigMap", true).is_err());
    }

    #[test]
    fn namespaced_blacklist_wins_over_whitelist() {
        let p = project(|s| {
            s.namespace_resource_whitelist = Some(vec![gk("*", "*")]);
            s.namespace_resource_blacklist =
                vec![gk("", "ResourceQuota"), gk("networking.k8s.io", "*")];
        });
        assert!(check_resource(&p, "", "ConfigMap", true).is_ok());
        assert!(check_resource(&p, "", "ResourceQuota", true).is_err());
        assert!(check_resource(&p, "networking.k8s.io", "NetworkPolicy", true).is_err());

        let only_black = project(|s| s.namespace_resource_blacklist = vec![gk("", "Secret")]);
        assert!(check_resource(&only_black, "", "ConfigMap", true).is_ok());
        assert!(check_resource(&only_black, "", "Secret", true).is_err());
    }

    #[test]
    fn cluster_items_with_names() {
        let p = project(|s| {
            s.cluster_resource_whitelist = vec![item("", "Namespace", Some("team1-*"))];
        });
        assert!(check_named_resource(&p, "", "Namespace", "team1-dev", false).is_ok());
        assert!(check_named_resource(&p, "", "Namespace", "team2-dev", false).is_err());
        // Without a name the kind may be deployed (for some names).
        assert!(check_resource(&p, "", "Namespace", false).is_ok());

        let p = project(|s| {
            s.cluster_resource_whitelist = vec![item("*", "*", Some(""))];
            s.cluster_resource_blacklist = vec![item("", "Namespace", Some("kube-*"))];
        });
        assert!(check_named_resource(&p, "", "Namespace", "shop", false).is_ok());
        assert!(check_named_resource(&p, "", "Namespace", "kube-system", false).is_err());
        assert!(check_resource(&p, "", "Namespace", false).is_ok());
        // Names do not matter to namespaced lists.
        assert!(check_named_resource(&p, "", "ConfigMap", "kube-x", true).is_ok());

        let err = check_named_resource(&p, "", "Namespace", "kube-system", false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "resource Namespace 'kube-system' is not permitted in project 'p'"
        );
    }

    #[test]
    fn resource_message_names_group_and_kind() {
        let p = project(|s| s.namespace_resource_whitelist = Some(vec![]));
        let err = check_resource(&p, "apps", "Deployment", true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "resource apps:Deployment is not permitted in project 'p'"
        );
    }

    #[test]
    fn default_project_allows_everything() {
        let mut p = AppProject::default();
        p.metadata.name = Some("default".into());
        p.spec = default_project_spec();
        assert!(check_source(&p, "git@example.com:a/b/c.git").is_ok());
        assert!(check_destination(&p, "https://x", "", "any").is_ok());
        assert!(check_destination(&p, "", "named", "any").is_ok());
        assert!(check_destination(&p, "https://x", "", "").is_ok());
        assert!(
            check_resource(
                &p,
                "apiextensions.k8s.io",
                "CustomResourceDefinition",
                false
            )
            .is_ok()
        );
        assert!(check_resource(&p, "apps", "Deployment", true).is_ok());
        assert!(check_named_resource(&p, "", "Namespace", "kube-system", false).is_ok());
    }

    #[test]
    fn app_namespaces() {
        let p = project(|s| s.source_namespaces = vec!["team-*".into(), "/^ops-[0-9]+$/".into()]);
        let ok = |ns| check_app_namespace(&p, ns, "trellis").is_ok();
        assert!(ok("trellis"));
        assert!(ok(""));
        assert!(ok("team-a"));
        assert!(ok("ops-12"));
        assert!(!ok("ops-x"));
        assert!(!ok("other"));
        // An invalid expression matches nothing.
        let bad = project(|s| s.source_namespaces = vec!["/([/".into()]);
        assert!(check_app_namespace(&bad, "x", "trellis").is_err());
        // Unanchored expressions match anywhere, as in Argo CD.
        let loose = project(|s| s.source_namespaces = vec!["/dev/".into()]);
        assert!(check_app_namespace(&loose, "my-dev-ns", "trellis").is_ok());

        let err = check_app_namespace(&p, "other", "trellis").unwrap_err();
        assert_eq!(
            err.to_string(),
            "application namespace 'other' is not permitted in project 'p'"
        );
    }

    fn source(url: &str) -> ApplicationSource {
        ApplicationSource {
            repo_url: url.into(),
            ..Default::default()
        }
    }

    #[test]
    fn application_lists_every_violation() {
        let p = project(|s| {
            s.source_repos = vec!["https://github.com/acme/*".into()];
            s.destinations = vec![dest("https://kubernetes.default.svc", "", "shop")];
        });
        let mut app = Application::new(
            "shop",
            ApplicationSpec {
                sources: vec![
                    source("https://github.com/acme/shop"),
                    source("https://github.com/evil/values"),
                    source("https://github.com/evil/values.git"),
                ],
                source: Some(source("https://ignored.example.com/x")),
                destination: dest("https://kubernetes.default.svc", "", "kube-system"),
                project: "p".into(),
                ..Default::default()
            },
        );
        app.metadata.namespace = Some("elsewhere".into());
        let found = check_application(&p, &app, "trellis");
        let messages: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "application namespace 'elsewhere' is not permitted in project 'p'",
                "application repo https://github.com/evil/values is not permitted in project 'p'",
                "application repo https://github.com/evil/values.git is not permitted in project 'p'",
                "application destination server 'https://kubernetes.default.svc' and namespace 'kube-system' do not match any of the allowed destinations in project 'p'",
            ]
        );

        app.metadata.namespace = Some("trellis".into());
        app.spec.sources = vec![
            source("https://github.com/acme/shop"),
            source("https://github.com/acme/shop"),
        ];
        app.spec.destination = dest("https://kubernetes.default.svc", "", "shop");
        assert!(check_application(&p, &app, "trellis").is_empty());

        app.spec.sources.clear();
        assert_eq!(
            check_application(&p, &app, "trellis").len(),
            1,
            "spec.source used when sources is empty"
        );
        app.spec.source = Some(source("https://github.com/acme/shop"));
        assert!(check_application(&p, &app, "trellis").is_empty());

        app.spec.source_hydrator = Some(SourceHydrator {
            dry_source: DrySource {
                repo_url: "https://github.com/dry/repo".into(),
                ..Default::default()
            },
            ..Default::default()
        });
        assert_eq!(
            check_application(&p, &app, "trellis"),
            [Violation::Source {
                project: "p".into(),
                repo_url: "https://github.com/dry/repo".into()
            }]
        );
    }
}
