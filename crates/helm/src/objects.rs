//! Helm's built-in objects as template values: `.Files`, `.Capabilities`
//! and `.Chart`.
//!
//! `.Release`, `.Template`, `.Values` and `.Subcharts` are plain maps in
//! Helm and are built in [`crate::render`]; `.Chart` is a map too in Helm 4
//! (the metadata with Go field names and `IsRoot`).

use std::sync::Arc;

use base64::Engine as _;
use trellis_template::{Map, Object, Value};

use crate::chart::{Dependency, ImportValue, Metadata};

/// The Kubernetes version Helm 4.2.3 assumes when no cluster is known.
pub const DEFAULT_KUBE_VERSION: &str = "v1.36.0";

/// What `.Capabilities.HelmVersion.Version` renders as (Helm's SDK build).
pub const HELM_VERSION: &str = "v4.2";

/// The Go version Helm 4.2.3's SDK reports.
const GO_VERSION: &str = "go1.26.6";

/// The client-go minor Helm 4.2.3 is built with.
const KUBE_CLIENT_VERSION: &str = "v1.36";

/// Helm 4.2.3's default API versions (`DefaultVersionSet`), as the SDK
/// reports them, in its order.
pub const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha2",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

/// `.Capabilities.KubeVersion`.
#[derive(Debug, Clone)]
pub struct KubeVersion {
    /// `v1.36.0`.
    pub version: String,
    /// `1`.
    pub major: String,
    /// `36`.
    pub minor: String,
}

impl KubeVersion {
    /// Parses `v1.36.0`-like versions (the `v` is optional, as in Helm's
    /// `--kube-version`). `None` when not a version.
    pub fn parse(s: &str) -> Option<KubeVersion> {
        let v = crate::semver::parse_version(s)?;
        let version = if s.starts_with('v') {
            s.to_string()
        } else {
            format!("v{s}")
        };
        Some(KubeVersion {
            version,
            major: v.nums[0].to_string(),
            minor: v.nums[1].to_string(),
        })
    }

    fn go_struct(&self) -> String {
        format!(
            "{{{} {} {} {}}}",
            self.version, self.version, self.major, self.minor
        )
    }
}

impl Object for KubeVersion {
    fn type_name(&self) -> &str {
        "common.KubeVersion"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" | "GitVersion" => Some(Value::str(&self.version)),
            "Major" => Some(Value::str(&self.major)),
            "Minor" => Some(Value::str(&self.minor)),
            _ => None,
        }
    }
    fn has_method(&self, name: &str) -> bool {
        name == "String"
    }
    fn call_method(&self, _name: &str, _args: &[Value]) -> Result<Value, String> {
        Ok(Value::str(&self.version))
    }
    fn method_arity(&self, _name: &str) -> Option<usize> {
        Some(0)
    }
    fn format(&self) -> String {
        self.version.clone()
    }
}

/// `.Capabilities.APIVersions`: a list with a `Has` method (shared: each
/// `.Capabilities.APIVersions` hands out the same list).
#[derive(Debug, Clone)]
pub struct VersionSet(pub Arc<Vec<String>>);

impl Object for VersionSet {
    fn type_name(&self) -> &str {
        "common.VersionSet"
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    fn has_method(&self, name: &str) -> bool {
        name == "Has"
    }
    fn call_method(&self, _name: &str, args: &[Value]) -> Result<Value, String> {
        let want = args.first().and_then(Value::as_str).unwrap_or_default();
        Ok(Value::Bool(self.0.iter().any(|v| v == want)))
    }
    fn method_arity(&self, _name: &str) -> Option<usize> {
        Some(1)
    }
    fn format(&self) -> String {
        format!("[{}]", self.0.join(" "))
    }
    fn truthy(&self) -> bool {
        !self.0.is_empty()
    }
}

/// `.Capabilities.HelmVersion`.
#[derive(Debug, Clone)]
pub struct HelmVersion;

impl Object for HelmVersion {
    fn type_name(&self) -> &str {
        "version.BuildInfo"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" => Some(Value::str(HELM_VERSION)),
            "GitCommit" | "GitTreeState" => Some(Value::str("")),
            "GoVersion" => Some(Value::str(GO_VERSION)),
            "KubeClientVersion" => Some(Value::str(KUBE_CLIENT_VERSION)),
            _ => None,
        }
    }
    fn format(&self) -> String {
        format!("{{{HELM_VERSION}   {GO_VERSION} {KUBE_CLIENT_VERSION}}}")
    }
}

/// `.Capabilities`.
#[derive(Debug, Clone)]
pub struct Capabilities {
    /// The Kubernetes version.
    pub kube_version: KubeVersion,
    /// Available API versions (`group/version` and `group/version/Kind`).
    pub api_versions: VersionSet,
}

impl Capabilities {
    /// Helm's defaults, with `kube_version` and extra `api_versions`
    /// (added to the defaults, as `--api-versions` does) when given.
    pub fn new(kube_version: Option<KubeVersion>, api_versions: &[String]) -> Capabilities {
        static DEFAULTS: std::sync::OnceLock<Arc<Vec<String>>> = std::sync::OnceLock::new();
        let defaults = DEFAULTS
            .get_or_init(|| Arc::new(DEFAULT_API_VERSIONS.iter().map(|s| s.to_string()).collect()));
        let versions = if api_versions.is_empty() {
            defaults.clone()
        } else {
            // Appended as given, as Helm appends `--api-versions`.
            let mut v = defaults.to_vec();
            v.extend(api_versions.iter().cloned());
            Arc::new(v)
        };
        Capabilities {
            kube_version: kube_version.unwrap_or_else(|| KubeVersion {
                version: DEFAULT_KUBE_VERSION.into(),
                major: "1".into(),
                minor: "36".into(),
            }),
            api_versions: VersionSet(versions),
        }
    }
}

impl Object for Capabilities {
    fn type_name(&self) -> &str {
        "*common.Capabilities"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "KubeVersion" => Some(Value::object(self.kube_version.clone())),
            "APIVersions" => Some(Value::object(self.api_versions.clone())),
            "HelmVersion" => Some(Value::object(HelmVersion)),
            _ => None,
        }
    }
    fn format(&self) -> String {
        format!(
            "&{{{} {} {}}}",
            self.kube_version.go_struct(),
            self.api_versions.format(),
            HelmVersion.format()
        )
    }
}

/// `.Files`: the chart's non-template files, with Helm's methods `Get`,
/// `GetBytes`, `Glob`, `Lines`, `AsConfig` and `AsSecrets`.
///
/// # Deviation
/// Helm's `Glob` returns another `.Files` value, which templates can both
/// `range` over and call `AsConfig`/`AsSecrets` on. Here it returns a map
/// of path to bytes: `range` works (the common use), but
/// `(.Files.Glob "x").AsConfig` does not, because the template engine
/// ranges over maps and lists only.
#[derive(Clone)]
pub struct Files(pub Arc<Vec<crate::chart::ChartFile>>);

impl Files {
    fn get(&self, name: &str) -> Option<&Arc<[u8]>> {
        self.0.iter().find(|f| f.name == name).map(|f| &f.data)
    }

    fn entries(&self) -> impl Iterator<Item = (&String, &Arc<[u8]>)> {
        self.0.iter().map(|f| (&f.name, &f.data))
    }

    fn entries_yaml(&self, f: impl Fn(&[u8]) -> String) -> String {
        let mut m = Map::new();
        for (n, d) in self.entries() {
            let base = n.rsplit('/').next().unwrap_or(n);
            m.insert(base.to_string(), Value::from(f(d)));
        }
        crate::yaml::to_yaml(&Value::map(m))
    }
}

/// A file's contents as text (invalid UTF-8 replaced, as Go's string
/// conversion does when printed), kept by file: charts read the same files
/// on every render, some of them whole CRDs. Keyed by the address of the
/// file's data, which the kept entry holds so that it cannot be reused.
fn file_text(data: &Arc<[u8]>) -> Arc<str> {
    type Kept = std::collections::HashMap<usize, (Arc<[u8]>, Arc<str>)>;
    static KEPT: std::sync::OnceLock<std::sync::Mutex<(Kept, usize)>> = std::sync::OnceLock::new();
    const KEPT_BYTES: usize = 64 << 20;
    let kept = KEPT.get_or_init(Default::default);
    let lock = || {
        kept.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    let key = data.as_ptr() as usize;
    if let Some((_, text)) = lock().0.get(&key) {
        return text.clone();
    }
    let text: Arc<str> = Arc::from(String::from_utf8_lossy(data).as_ref());
    if data.len() <= KEPT_BYTES / 8 {
        let mut k = lock();
        if k.1 + data.len() > KEPT_BYTES {
            k.0.clear();
            k.1 = 0;
        }
        if k.0.insert(key, (data.clone(), text.clone())).is_none() {
            k.1 += data.len();
        }
    }
    text
}

impl Object for Files {
    fn type_name(&self) -> &str {
        "engine.files"
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    fn has_method(&self, name: &str) -> bool {
        matches!(
            name,
            "Get" | "GetBytes" | "Glob" | "Lines" | "AsConfig" | "AsSecrets"
        )
    }
    fn method_arity(&self, name: &str) -> Option<usize> {
        match name {
            "AsConfig" | "AsSecrets" => Some(0),
            _ => Some(1),
        }
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        let arg = || match args.first() {
            Some(Value::Str(s)) => Ok(s.to_string()),
            Some(v) => Err(format!(
                "wrong type for value; expected string; got {}",
                v.type_name()
            )),
            None => Err("missing argument".to_string()),
        };
        match name {
            "Get" => Ok(match self.get(&arg()?) {
                Some(d) => Value::Str(file_text(d)),
                None => Value::str(""),
            }),
            "GetBytes" => Ok(self
                .get(&arg()?)
                .map(|d| Value::Bytes(d.clone()))
                .unwrap_or(Value::Nil)),
            // Deviation: Helm returns another `files` value; a map of path
            // to bytes is returned so that `range` works on it (the
            // template engine ranges over maps only).
            "Glob" => {
                let pattern = arg()?;
                let mut m = Map::new();
                for (n, d) in self.entries() {
                    if glob_match(&pattern, n) {
                        m.insert(n.clone(), Value::Bytes(d.clone()));
                    }
                }
                Ok(Value::map(m))
            }
            "Lines" => {
                let Some(d) = self.get(&arg()?) else {
                    return Ok(Value::list(Vec::new()));
                };
                let mut s = String::from_utf8_lossy(d).into_owned();
                if s.ends_with('\n') {
                    s.pop();
                }
                Ok(Value::list(s.split('\n').map(Value::from).collect()))
            }
            "AsConfig" => Ok(Value::from(
                self.entries_yaml(|d| String::from_utf8_lossy(d).into_owned()),
            )),
            "AsSecrets" => {
                Ok(Value::from(self.entries_yaml(|d| {
                    base64::engine::general_purpose::STANDARD.encode(d)
                })))
            }
            _ => Err(format!("no method {name}")),
        }
    }
    fn format(&self) -> String {
        let mut out = String::from("map[");
        for (i, (n, d)) in self.entries().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(n);
            out.push_str(":[");
            let bytes: Vec<String> = d.iter().map(|b| b.to_string()).collect();
            out.push_str(&bytes.join(" "));
            out.push(']');
        }
        out.push(']');
        out
    }
    fn truthy(&self) -> bool {
        !self.0.is_empty()
    }
}

/// gobwas/glob matching with `/` as separator, as Helm's `Files.Glob`:
/// `*` and `?` stay within a path element, `**` crosses elements,
/// `[...]` classes and `{a,b}` alternatives.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    glob_at(&p, &n)
}

fn glob_at(p: &[char], n: &[char]) -> bool {
    let Some(&c) = p.first() else {
        return n.is_empty();
    };
    match c {
        '*' => {
            let super_ = p.get(1) == Some(&'*');
            let rest = if super_ { &p[2..] } else { &p[1..] };
            for i in 0..=n.len() {
                if glob_at(rest, &n[i..]) {
                    return true;
                }
                if i < n.len() && !super_ && n[i] == '/' {
                    return false;
                }
            }
            false
        }
        '?' => !n.is_empty() && n[0] != '/' && glob_at(&p[1..], &n[1..]),
        '[' => {
            let Some(end) = p.iter().position(|&x| x == ']') else {
                return !n.is_empty() && n[0] == '[' && glob_at(&p[1..], &n[1..]);
            };
            if n.is_empty() {
                return false;
            }
            let class = &p[1..end];
            let (neg, class) = match class.first() {
                Some('!') | Some('^') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    if class[i] <= n[0] && n[0] <= class[i + 2] {
                        hit = true;
                    }
                    i += 3;
                } else {
                    if class[i] == n[0] {
                        hit = true;
                    }
                    i += 1;
                }
            }
            hit != neg && glob_at(&p[end + 1..], &n[1..])
        }
        '{' => {
            let Some(end) = p.iter().position(|&x| x == '}') else {
                return !n.is_empty() && n[0] == '{' && glob_at(&p[1..], &n[1..]);
            };
            let inner: String = p[1..end].iter().collect();
            inner.split(',').any(|alt| {
                let mut q: Vec<char> = alt.chars().collect();
                q.extend_from_slice(&p[end + 1..]);
                glob_at(&q, n)
            })
        }
        '\\' if p.len() > 1 => !n.is_empty() && n[0] == p[1] && glob_at(&p[2..], &n[1..]),
        c => !n.is_empty() && n[0] == c && glob_at(&p[1..], &n[1..]),
    }
}

fn strs(v: &[String]) -> Value {
    Value::list(v.iter().map(Value::str).collect())
}

fn dependency_map(d: &Dependency) -> Value {
    let mut m = Map::new();
    m.insert("Name".into(), Value::from(d.name.as_str()));
    m.insert("Version".into(), Value::from(d.version.as_str()));
    m.insert("Repository".into(), Value::from(d.repository.as_str()));
    m.insert("Condition".into(), Value::from(d.condition.as_str()));
    m.insert("Tags".into(), strs(&d.tags));
    m.insert("Enabled".into(), Value::Bool(d.enabled));
    let ivs = d
        .import_values
        .iter()
        .map(|iv| match iv {
            ImportValue::Export(s) => Value::from(s.as_str()),
            ImportValue::Path { child, parent } => {
                let mut m = Map::new();
                m.insert("child".into(), Value::from(child.as_str()));
                m.insert("parent".into(), Value::from(parent.as_str()));
                Value::map(m)
            }
            ImportValue::Other(v) => v.clone(),
        })
        .collect();
    m.insert("ImportValues".into(), Value::list(ivs));
    m.insert("Alias".into(), Value::from(d.alias.as_str()));
    Value::map(m)
}

/// `.Chart` as Helm 4 exposes it: the metadata as a map with Go field
/// names, plus `IsRoot`.
pub fn chart_value(md: &Metadata, is_root: bool) -> Value {
    /// Maps built lately, by metadata: every render of a chart builds the
    /// same ones. Kept maps are never modified (renders get lazy copies).
    type Built = Vec<(Metadata, bool, trellis_template::MapRef)>;
    static BUILT: std::sync::OnceLock<std::sync::Mutex<Built>> = std::sync::OnceLock::new();
    const KEPT: usize = 64;
    let built = BUILT.get_or_init(Default::default);
    let lock = || {
        built
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if let Some((_, _, m)) = lock()
        .iter()
        .find(|(kept, root, _)| *root == is_root && kept == md)
    {
        return Value::Map(m.frozen_copy());
    }
    let Value::Map(m) = build_chart_value(md, is_root) else {
        return Value::Nil;
    };
    let copy = m.frozen_copy();
    let mut kept = lock();
    if kept.len() >= KEPT {
        kept.remove(0);
    }
    kept.push((md.clone(), is_root, m));
    Value::Map(copy)
}

fn build_chart_value(md: &Metadata, is_root: bool) -> Value {
    let mut m = Map::new();
    let s = |v: &str| Value::from(v);
    m.insert("APIVersion".into(), s(&md.api_version));
    let mut ann = Map::new();
    for (k, v) in &md.annotations {
        ann.insert(k.clone(), s(v));
    }
    m.insert("Annotations".into(), Value::map(ann));
    m.insert("AppVersion".into(), s(&md.app_version));
    m.insert("Condition".into(), s(&md.condition));
    m.insert(
        "Dependencies".into(),
        Value::list(
            md.dependencies
                .iter()
                .flatten()
                .map(dependency_map)
                .collect(),
        ),
    );
    m.insert("Deprecated".into(), Value::Bool(md.deprecated));
    m.insert("Description".into(), s(&md.description));
    m.insert("Home".into(), s(&md.home));
    m.insert("Icon".into(), s(&md.icon));
    m.insert("IsRoot".into(), Value::Bool(is_root));
    m.insert("Keywords".into(), strs(&md.keywords));
    m.insert("KubeVersion".into(), s(&md.kube_version));
    m.insert(
        "Maintainers".into(),
        Value::list(
            md.maintainers
                .iter()
                .map(|mt| {
                    let mut x = Map::new();
                    x.insert("Name".into(), s(&mt.name));
                    x.insert("Email".into(), s(&mt.email));
                    x.insert("URL".into(), s(&mt.url));
                    Value::map(x)
                })
                .collect(),
        ),
    );
    m.insert("Name".into(), s(&md.name));
    m.insert("Sources".into(), strs(&md.sources));
    m.insert("Tags".into(), s(&md.tags));
    m.insert("Type".into(), s(&md.chart_type));
    m.insert("Version".into(), s(&md.version));
    Value::map(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_like_gobwas() {
        assert!(glob_match("files/*", "files/a.txt"));
        assert!(!glob_match("files/*", "files/x/a.txt"));
        assert!(glob_match("**", "files/x/a.txt"));
        assert!(glob_match("files/**.json", "files/x/a.json"));
        assert!(glob_match("*.{json,yaml}", "a.yaml"));
        assert!(glob_match("a?c[0-9]", "abc7"));
        assert!(!glob_match("a?c", "a/c"));
    }

    #[test]
    fn kube_version_parses() {
        let k = KubeVersion::parse("1.30.2").unwrap();
        assert_eq!(k.version, "v1.30.2");
        assert_eq!(k.minor, "30");
    }
}
