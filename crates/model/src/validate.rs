//! Semantic validation of decoded resources, with field paths.
//!
//! Decoding already enforces types and Argo CD's required fields; these rules
//! are the ones Argo CD checks when it reconciles (destination, source types,
//! retry durations, sync windows, generator shapes), reported up front.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::application::{
    Application, ApplicationDestination, ApplicationSource, ApplicationSpec, SyncPolicy,
};
use crate::appset::{
    ApplicationSet, ApplicationSetGenerator, ApplicationSetNestedGenerator,
    ApplicationSetTerminalGenerator, GitGenerator, NestedMatrixGenerator, NestedMergeGenerator,
};
use crate::parse::{FieldError, Resource, UNKNOWN_FIELD, decode_at};
use crate::project::AppProject;

/// Why a Go duration string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The text is not a Go duration.
    #[error("invalid duration {0:?}: expected a Go duration such as \"30s\", \"5m\" or \"1h30m\"")]
    Syntax(String),
    /// The duration is negative, which makes no sense for a delay.
    #[error("invalid duration {0:?}: must not be negative")]
    Negative(String),
    /// The duration does not fit in 64-bit nanoseconds.
    #[error("invalid duration {0:?}: too large")]
    Overflow(String),
}

/// Parses a Go `time.ParseDuration` string (`300ms`, `1.5h`, `2h45m`, `0`).
///
/// # Deviation
/// Go accepts negative durations; a delay cannot be negative, so they are an
/// error here.
pub fn parse_go_duration(text: &str) -> Result<Duration, DurationError> {
    let syntax = || DurationError::Syntax(text.to_string());
    let mut rest = text;
    if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    } else if let Some(r) = rest.strip_prefix('-') {
        // "-0s" is zero, not negative.
        return match parse_go_duration(r) {
            Ok(d) if d.is_zero() => Ok(d),
            Ok(_) => Err(DurationError::Negative(text.to_string())),
            Err(_) => Err(syntax()),
        };
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(syntax());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..number_len];
        rest = &rest[number_len..];
        let (whole, frac) = match number.split_once('.') {
            Some((w, f)) => (w, f),
            None => (number, ""),
        };
        if (whole.is_empty() && frac.is_empty()) || frac.contains('.') {
            return Err(syntax());
        }
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let nanos_per_unit: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(syntax()),
        };
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| syntax())?
        };
        let mut value = whole
            .checked_mul(nanos_per_unit)
            .ok_or_else(|| DurationError::Overflow(text.to_string()))?;
        if !frac.is_empty() {
            let digits = frac.len().min(30) as u32;
            let frac_value: u128 = frac[..digits as usize].parse().map_err(|_| syntax())?;
            let scale = 10u128.pow(digits);
            value += frac_value * nanos_per_unit / scale;
        }
        total = total
            .checked_add(value)
            .ok_or_else(|| DurationError::Overflow(text.to_string()))?;
    }
    if total > i64::MAX as u128 {
        return Err(DurationError::Overflow(text.to_string()));
    }
    let secs = (total / 1_000_000_000) as u64;
    let nanos = (total % 1_000_000_000) as u32;
    Ok(Duration::new(secs, nanos))
}

/// Parses a sync retry backoff duration: a plain integer is seconds,
/// anything else a Go duration (as Argo CD reads it).
pub fn parse_backoff_duration(text: &str) -> Result<Duration, DurationError> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| DurationError::Overflow(text.to_string()));
    }
    parse_go_duration(text)
}

/// Checks a DNS-1123 subdomain (object names): at most 253 characters of
/// lower-case letters, digits, `-` and `.`, starting and ending with a letter
/// or digit.
pub fn is_dns1123_subdomain(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Checks a DNS-1123 label (namespace names): at most 63 characters of
/// lower-case letters, digits and `-`, starting and ending with a letter or
/// digit.
pub fn is_dns1123_label(name: &str) -> bool {
    name.len() <= 63 && !name.contains('.') && is_dns1123_subdomain(name)
}

/// Collects field errors under path prefixes.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(path, message));
    }
}

fn validate_metadata(metadata: &ObjectMeta, errors: &mut Errors) {
    match metadata.name.as_deref() {
        None | Some("") => errors.add("metadata.name", "required field is missing"),
        Some(name) if !is_dns1123_subdomain(name) => errors.add(
            "metadata.name",
            format!(
                "{name:?} is not a valid name: use at most 253 lower-case letters, digits, '-' and '.', starting and ending with a letter or digit"
            ),
        ),
        Some(_) => {}
    }
    if let Some(namespace) = metadata.namespace.as_deref()
        && !namespace.is_empty()
        && !is_dns1123_label(namespace)
    {
        errors.add(
                "metadata.namespace",
                format!(
                    "{namespace:?} is not a valid namespace: use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit"
                ),
            );
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|s| !s.is_empty())
}

fn validate_destination(dest: &ApplicationDestination, path: &str, errors: &mut Errors) {
    match (non_empty(&dest.server), non_empty(&dest.name)) {
        (Some(_), Some(_)) => errors.add(
            path,
            "set either server or name, not both: they name the same cluster two ways",
        ),
        (None, None) => errors.add(path, "one of server or name is required"),
        _ => {}
    }
}

fn validate_source(source: &ApplicationSource, path: &str, errors: &mut Errors) {
    if source.repo_url.trim().is_empty() {
        errors.add(format!("{path}.repoURL"), "required field is empty");
    }
    let types = source.explicit_types();
    if types.len() > 1 {
        let names: Vec<String> = types
            .iter()
            .map(|t| format!("{t:?}").to_lowercase())
            .collect();
        errors.add(
            path,
            format!(
                "a source may set only one of helm, kustomize, directory and plugin; found {}",
                names.join(", ")
            ),
        );
    }
    if let Some(kustomize) = &source.kustomize {
        for (i, replica) in kustomize.replicas.iter().enumerate() {
            if let IntOrString::String(count) = &replica.count
                && count.trim().parse::<i64>().is_err()
            {
                errors.add(
                    format!("{path}.kustomize.replicas[{i}].count"),
                    format!("expected an integer, found {count:?}"),
                );
            }
        }
    }
    if let Some(helm) = &source.helm {
        for (i, file) in helm.value_files.iter().enumerate() {
            if file.trim().is_empty() {
                errors.add(format!("{path}.helm.valueFiles[{i}]"), "must not be empty");
            }
        }
    }
}

fn validate_sync_policy(policy: &SyncPolicy, path: &str, errors: &mut Errors) {
    if let Some(backoff) = policy.retry.as_ref().and_then(|r| r.backoff.as_ref()) {
        for (field, value) in [
            ("duration", &backoff.duration),
            ("maxDuration", &backoff.max_duration),
        ] {
            if let Some(text) = value.as_deref()
                && let Err(e) = parse_backoff_duration(text)
            {
                errors.add(format!("{path}.retry.backoff.{field}"), e.to_string());
            }
        }
        if let Some(factor) = backoff.factor
            && factor < 1
        {
            errors.add(
                format!("{path}.retry.backoff.factor"),
                format!("must be at least 1, found {factor}"),
            );
        }
    }
}

/// Checks an Application spec; `path` is where the spec sits (`spec`).
fn validate_app_spec(spec: &ApplicationSpec, path: &str, errors: &mut Errors) {
    if spec.source.is_none() && spec.sources.is_empty() && spec.source_hydrator.is_none() {
        errors.add(path, "one of source, sources or sourceHydrator is required");
    }
    if let Some(source) = &spec.source {
        validate_source(source, &format!("{path}.source"), errors);
    }
    let mut refs = BTreeSet::new();
    for (i, source) in spec.sources.iter().enumerate() {
        let source_path = format!("{path}.sources[{i}]");
        validate_source(source, &source_path, errors);
        if let Some(name) = non_empty(&source.r#ref)
            && !refs.insert(name.to_string())
        {
            errors.add(
                format!("{source_path}.ref"),
                format!("ref {name:?} is used by more than one source"),
            );
        }
    }
    // `$name/...` value files are only resolved in multi-source applications.
    for (i, source) in spec.sources.iter().enumerate() {
        let Some(helm) = &source.helm else { continue };
        for (j, file) in helm.value_files.iter().enumerate() {
            let Some(rest) = file.strip_prefix('$') else {
                continue;
            };
            let name = rest.split('/').next().unwrap_or_default();
            if !refs.contains(name) {
                errors.add(
                    format!("{path}.sources[{i}].helm.valueFiles[{j}]"),
                    format!("{file:?} refers to ${name}, but no source has ref: {name}"),
                );
            }
        }
    }
    if let Some(hydrator) = &spec.source_hydrator {
        let sync_path = &hydrator.sync_source.path;
        // The hydrator writes into this directory of its branch; the
        // repository root (or nothing) would overwrite everything there.
        if sync_path.len() < 2 && matches!(sync_path.as_str(), "" | "." | "/") {
            errors.add(
                format!("{path}.sourceHydrator.syncSource.path"),
                format!("{sync_path:?} is not allowed: name a directory below the root"),
            );
        }
        if hydrator.dry_source.repo_url.trim().is_empty() {
            errors.add(
                format!("{path}.sourceHydrator.drySource.repoURL"),
                "required field is empty",
            );
        }
    }
    validate_destination(&spec.destination, &format!("{path}.destination"), errors);
    if let Some(policy) = &spec.sync_policy {
        validate_sync_policy(policy, &format!("{path}.syncPolicy"), errors);
    }
    if let Some(limit) = spec.revision_history_limit
        && limit < 0
    {
        errors.add(
            format!("{path}.revisionHistoryLimit"),
            format!("must not be negative, found {limit}"),
        );
    }
    for (i, ignore) in spec.ignore_differences.iter().enumerate() {
        for (j, pointer) in ignore.json_pointers.iter().enumerate() {
            if !pointer.is_empty() && !pointer.starts_with('/') {
                errors.add(
                    format!("{path}.ignoreDifferences[{i}].jsonPointers[{j}]"),
                    format!("{pointer:?} is not a JSON pointer: it must start with '/'"),
                );
            }
        }
    }
}

fn lint_app_spec(spec: &ApplicationSpec, path: &str) -> Vec<FieldError> {
    let mut out = Vec::new();
    if spec.source.is_some() && !spec.sources.is_empty() {
        out.push(FieldError::new(
            format!("{path}.source"),
            "ignored because sources is set",
        ));
    }
    if let Some(source) = &spec.source
        && source.is_ref()
    {
        out.push(FieldError::new(
            format!("{path}.source.ref"),
            "has no effect outside sources",
        ));
    }
    if let Some(policy) = &spec.sync_policy {
        for (i, option) in policy.sync_options.iter().enumerate() {
            if !option.contains('=') {
                out.push(FieldError::new(
                    format!("{path}.syncPolicy.syncOptions[{i}]"),
                    "not of the form Key=value, so it has no effect",
                ));
            }
        }
    }
    out
}

impl Resource for Application {
    const KIND: &'static str = "Application";
    const PLURAL: &'static str = "applications";
    const SINGULAR: &'static str = "application";
    const SHORT_NAMES: &'static [&'static str] = &["app", "apps"];

    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Errors::default();
        validate_metadata(&self.metadata, &mut errors);
        validate_app_spec(&self.spec, "spec", &mut errors);
        if let Some(sync) = self.operation.as_ref().and_then(|o| o.sync.as_ref()) {
            if let Some(source) = &sync.source {
                validate_source(source, "operation.sync.source", &mut errors);
            }
            for (i, source) in sync.sources.iter().enumerate() {
                validate_source(source, &format!("operation.sync.sources[{i}]"), &mut errors);
            }
        }
        errors.0
    }

    fn lint(&self) -> Vec<FieldError> {
        lint_app_spec(&self.spec, "spec")
    }
}

/// Checks the shape of a five-field cron expression (minute hour
/// day-of-month month day-of-week). Field values are not range-checked.
pub fn is_cron_schedule(schedule: &str) -> bool {
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    fields.len() == 5
        && fields.iter().all(|f| {
            f.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | '/' | ',' | '-' | '?'))
        })
}

fn is_role_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let edge = |b: u8| b.is_ascii_alphanumeric();
    !bytes.is_empty()
        && bytes.first().copied().is_some_and(edge)
        && bytes.last().copied().is_some_and(edge)
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Resource for AppProject {
    const KIND: &'static str = "AppProject";
    const PLURAL: &'static str = "appprojects";
    const SINGULAR: &'static str = "appproject";
    const SHORT_NAMES: &'static [&'static str] = &["appproj", "appprojs"];

    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Errors::default();
        validate_metadata(&self.metadata, &mut errors);
        let spec = &self.spec;
        let project = self.metadata.name.as_deref().unwrap_or_default();
        let mut seen = BTreeSet::new();
        for (i, repo) in spec.source_repos.iter().enumerate() {
            if !seen.insert(repo) {
                errors.add(
                    format!("spec.sourceRepos[{i}]"),
                    format!("{repo:?} is listed twice"),
                );
            }
        }
        let mut seen = BTreeSet::new();
        for (i, dest) in spec.destinations.iter().enumerate() {
            let key = (
                dest.server.clone().unwrap_or_default(),
                dest.name.clone().unwrap_or_default(),
                dest.namespace.clone().unwrap_or_default(),
            );
            if !seen.insert(key) {
                errors.add(
                    format!("spec.destinations[{i}]"),
                    "the same destination is listed twice",
                );
            }
        }
        let mut seen = BTreeSet::new();
        for (i, role) in spec.roles.iter().enumerate() {
            let path = format!("spec.roles[{i}]");
            if !is_role_name(&role.name) {
                errors.add(
                    format!("{path}.name"),
                    format!(
                        "{:?} is not a valid role name: use letters, digits, '-' and '_', starting and ending with a letter or digit",
                        role.name
                    ),
                );
            }
            if !seen.insert(&role.name) {
                errors.add(
                    format!("{path}.name"),
                    format!("role {:?} is defined twice", role.name),
                );
            }
            let subject = format!("proj:{project}:{}", role.name);
            for (j, policy) in role.policies.iter().enumerate() {
                let parts: Vec<&str> = policy.split(',').map(str::trim).collect();
                let problem = if parts.len() != 6 || parts[0] != "p" {
                    Some(
                        "must have the form 'p, sub, resource, action, object, effect'".to_string(),
                    )
                } else if parts[1] != subject {
                    Some(format!("subject must be {subject:?}, found {:?}", parts[1]))
                } else if parts[5] != "allow" && parts[5] != "deny" {
                    Some(format!(
                        "effect must be allow or deny, found {:?}",
                        parts[5]
                    ))
                } else {
                    None
                };
                if let Some(problem) = problem {
                    errors.add(format!("{path}.policies[{j}]"), problem);
                }
            }
        }
        for (i, window) in spec.sync_windows.iter().enumerate() {
            let path = format!("spec.syncWindows[{i}]");
            match window.kind.as_deref() {
                Some("allow") | Some("deny") => {}
                other => errors.add(
                    format!("{path}.kind"),
                    format!(
                        "must be allow or deny, found {:?}",
                        other.unwrap_or_default()
                    ),
                ),
            }
            match window.schedule.as_deref() {
                Some(schedule) if is_cron_schedule(schedule) => {}
                other => errors.add(
                    format!("{path}.schedule"),
                    format!(
                        "{:?} is not a five-field cron schedule",
                        other.unwrap_or_default()
                    ),
                ),
            }
            match window.duration.as_deref() {
                Some(text) => {
                    if let Err(e) = parse_go_duration(text) {
                        errors.add(format!("{path}.duration"), e.to_string());
                    }
                }
                None => errors.add(format!("{path}.duration"), "required field is missing"),
            }
            if window.applications.is_empty()
                && window.namespaces.is_empty()
                && window.clusters.is_empty()
            {
                errors.add(
                    path,
                    "a sync window needs at least one of applications, namespaces or clusters",
                );
            }
        }
        errors.0
    }
}

fn validate_git_generator(git: &GitGenerator, path: &str, errors: &mut Errors) {
    if git.repo_url.trim().is_empty() {
        errors.add(format!("{path}.repoURL"), "required field is empty");
    }
    if git.directories.is_empty() && git.files.is_empty() {
        errors.add(path, "one of directories or files is required");
    }
}

/// The generator kinds set in one generator entry.
macro_rules! set_kinds {
    ($g:expr, $($field:ident => $name:literal),*) => {{
        let mut kinds: Vec<&'static str> = Vec::new();
        $( if $g.$field.is_some() { kinds.push($name); } )*
        kinds
    }};
}

fn check_generator_kinds(kinds: &[&str], path: &str, errors: &mut Errors) {
    if kinds.is_empty() {
        errors.add(
            path,
            "a generator must set one of list, clusters, git, scmProvider, clusterDecisionResource, pullRequest, matrix, merge or plugin",
        );
    }
}

fn validate_terminal(g: &ApplicationSetTerminalGenerator, path: &str, errors: &mut Errors) {
    let kinds = set_kinds!(g, list => "list", clusters => "clusters", git => "git",
        scm_provider => "scmProvider", cluster_decision_resource => "clusterDecisionResource",
        pull_request => "pullRequest", plugin => "plugin");
    check_generator_kinds(&kinds, path, errors);
    if let Some(git) = &g.git {
        validate_git_generator(git, &format!("{path}.git"), errors);
    }
}

fn validate_nested(
    g: &ApplicationSetNestedGenerator,
    path: &str,
    errors: &mut Errors,
    warnings: &mut Vec<FieldError>,
) {
    let kinds = set_kinds!(g, list => "list", clusters => "clusters", git => "git",
        scm_provider => "scmProvider", cluster_decision_resource => "clusterDecisionResource",
        pull_request => "pullRequest", matrix => "matrix", merge => "merge", plugin => "plugin");
    check_generator_kinds(&kinds, path, errors);
    if let Some(git) = &g.git {
        validate_git_generator(git, &format!("{path}.git"), errors);
    }
    // Nested combination generators are free-form in the schema; decode them
    // here so their mistakes are reported with full paths.
    if let Some(value) = &g.matrix {
        let at = format!("{path}.matrix");
        match decode_at::<NestedMatrixGenerator>(value, &at) {
            Ok((matrix, unknown)) => {
                warnings.extend(
                    unknown
                        .into_iter()
                        .map(|p| FieldError::new(p, UNKNOWN_FIELD)),
                );
                if matrix.generators.len() != 2 {
                    errors.add(
                        format!("{at}.generators"),
                        format!(
                            "a matrix generator combines exactly 2 generators, found {}",
                            matrix.generators.len()
                        ),
                    );
                }
                for (i, child) in matrix.generators.iter().enumerate() {
                    validate_terminal(child, &format!("{at}.generators[{i}]"), errors);
                }
            }
            Err(e) => errors.0.push(e),
        }
    }
    if let Some(value) = &g.merge {
        let at = format!("{path}.merge");
        match decode_at::<NestedMergeGenerator>(value, &at) {
            Ok((merge, unknown)) => {
                warnings.extend(
                    unknown
                        .into_iter()
                        .map(|p| FieldError::new(p, UNKNOWN_FIELD)),
                );
                if merge.merge_keys.is_empty() {
                    errors.add(
                        format!("{at}.mergeKeys"),
                        "at least one merge key is required",
                    );
                }
                for (i, child) in merge.generators.iter().enumerate() {
                    validate_terminal(child, &format!("{at}.generators[{i}]"), errors);
                }
            }
            Err(e) => errors.0.push(e),
        }
    }
}

fn validate_generator(
    g: &ApplicationSetGenerator,
    path: &str,
    errors: &mut Errors,
    warnings: &mut Vec<FieldError>,
) {
    let kinds = set_kinds!(g, list => "list", clusters => "clusters", git => "git",
        scm_provider => "scmProvider", cluster_decision_resource => "clusterDecisionResource",
        pull_request => "pullRequest", matrix => "matrix", merge => "merge", plugin => "plugin");
    check_generator_kinds(&kinds, path, errors);
    if let Some(git) = &g.git {
        validate_git_generator(git, &format!("{path}.git"), errors);
    }
    if let Some(matrix) = &g.matrix {
        let at = format!("{path}.matrix");
        if matrix.generators.len() != 2 {
            errors.add(
                format!("{at}.generators"),
                format!(
                    "a matrix generator combines exactly 2 generators, found {}",
                    matrix.generators.len()
                ),
            );
        }
        for (i, child) in matrix.generators.iter().enumerate() {
            validate_nested(child, &format!("{at}.generators[{i}]"), errors, warnings);
        }
    }
    if let Some(merge) = &g.merge {
        let at = format!("{path}.merge");
        if merge.merge_keys.is_empty() {
            errors.add(
                format!("{at}.mergeKeys"),
                "at least one merge key is required",
            );
        }
        for (i, child) in merge.generators.iter().enumerate() {
            validate_nested(child, &format!("{at}.generators[{i}]"), errors, warnings);
        }
    }
}

impl ApplicationSet {
    fn check(&self) -> (Errors, Vec<FieldError>) {
        let mut errors = Errors::default();
        let mut warnings = Vec::new();
        validate_metadata(&self.metadata, &mut errors);
        for (i, g) in self.spec.generators.iter().enumerate() {
            validate_generator(
                g,
                &format!("spec.generators[{i}]"),
                &mut errors,
                &mut warnings,
            );
        }
        if let Some(strategy) = &self.spec.strategy {
            match strategy.type_.as_deref() {
                None | Some("") | Some("AllAtOnce") => {}
                Some("RollingSync") => {
                    if strategy
                        .rolling_sync
                        .as_ref()
                        .is_none_or(|r| r.steps.is_empty())
                    {
                        errors.add(
                            "spec.strategy.rollingSync.steps",
                            "a RollingSync strategy needs at least one step",
                        );
                    }
                }
                Some(other) => errors.add(
                    "spec.strategy.type",
                    format!("must be AllAtOnce or RollingSync, found {other:?}"),
                ),
            }
            match strategy.deletion_order.as_deref() {
                None | Some("") | Some("AllAtOnce") | Some("Reverse") => {}
                Some(other) => errors.add(
                    "spec.strategy.deletionOrder",
                    format!("must be AllAtOnce or Reverse, found {other:?}"),
                ),
            }
        }
        (errors, warnings)
    }
}

impl Resource for ApplicationSet {
    const KIND: &'static str = "ApplicationSet";
    const PLURAL: &'static str = "applicationsets";
    const SINGULAR: &'static str = "applicationset";
    const SHORT_NAMES: &'static [&'static str] = &["appset", "appsets"];

    /// Checks metadata, generator shapes and the strategy. The template is
    /// only type-checked: its strings are usually placeholders that become
    /// valid after substitution.
    fn validate(&self) -> Vec<FieldError> {
        self.check().0.0
    }

    fn lint(&self) -> Vec<FieldError> {
        self.check().1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        let ok = [
            ("0", 0),
            ("5s", 5_000_000_000),
            ("3m", 180_000_000_000),
            ("1h30m", 5_400_000_000_000),
            ("1.5h", 5_400_000_000_000),
            ("300ms", 300_000_000),
            ("2us", 2_000),
            ("2µs", 2_000),
            ("10ns", 10),
            (".5s", 500_000_000),
            ("+1s", 1_000_000_000),
        ];
        for (text, nanos) in ok {
            assert_eq!(
                parse_go_duration(text).map(|d| d.as_nanos()),
                Ok(nanos),
                "{text}"
            );
        }
        for bad in ["", "5", "s", "5x", "1..5s", "h1", "5 s", "."] {
            assert!(
                matches!(parse_go_duration(bad), Err(DurationError::Syntax(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            parse_go_duration("-5s"),
            Err(DurationError::Negative(_))
        ));
        assert_eq!(parse_go_duration("-0s"), Ok(Duration::ZERO));
        assert!(matches!(
            parse_go_duration("9999999999h"),
            Err(DurationError::Overflow(_))
        ));
    }

    #[test]
    fn backoff_durations_accept_plain_seconds() {
        assert_eq!(parse_backoff_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_backoff_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_backoff_duration("two minutes").is_err());
    }

    #[test]
    fn dns_names() {
        assert!(is_dns1123_subdomain("guestbook"));
        assert!(is_dns1123_subdomain("my-app.team-a"));
        assert!(!is_dns1123_subdomain("My-App"));
        assert!(!is_dns1123_subdomain("-app"));
        assert!(!is_dns1123_subdomain("app_1"));
        assert!(!is_dns1123_subdomain("a..b"));
        assert!(!is_dns1123_subdomain(&"a".repeat(254)));
        assert!(is_dns1123_label("argocd"));
        assert!(!is_dns1123_label("a.b"));
        assert!(!is_dns1123_label(&"a".repeat(64)));
    }

    #[test]
    fn cron_schedules_and_role_names() {
        assert!(is_cron_schedule("0 22 * * *"));
        assert!(is_cron_schedule("*/10 1-5 * JAN MON-FRI"));
        assert!(!is_cron_schedule("0 22 * *"));
        assert!(!is_cron_schedule("@daily"));
        assert!(is_role_name("ci-role_1"));
        assert!(!is_role_name("-ci"));
        assert!(!is_role_name("ci role"));
    }
}
