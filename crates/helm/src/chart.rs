//! Loading charts: directories (with `.helmignore`), `.tgz` archives,
//! subcharts in `charts/`, `file://` dependencies, `Chart.yaml` (v1 and
//! v2, `requirements.yaml` for v1), `values.yaml` and `values.schema.json`.
//!
//! The layout follows Helm's loader: every file of the chart is sorted into
//! `Chart.yaml`, values, schema, `templates/`, `charts/` (recursively
//! loaded as subcharts) or plain files (`.Files`, `crds/`).

use std::collections::BTreeMap;
use std::io::Read as _;

use trellis_template::Value;

use crate::files::{ChartFiles, join_path};
use crate::ignore::{IgnoreError, Rules};
use crate::yaml::{GoValue, YamlError, decode_first_document, go_as_string, to_json_value};

/// Errors loading a chart. Each names the chart or file concerned.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path that failed.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The chart has no `Chart.yaml`.
    #[error("{chart}: Chart.yaml file is missing")]
    MissingChartYaml {
        /// The chart's path.
        chart: String,
    },
    /// A YAML file of the chart is invalid.
    #[error("{chart}: cannot load {file}: {source}")]
    Yaml {
        /// The chart's path.
        chart: String,
        /// The file within the chart.
        file: String,
        /// What is wrong.
        #[source]
        source: Box<YamlError>,
    },
    /// `Chart.yaml` has a field of the wrong type.
    #[error("{chart}: cannot load Chart.yaml: field {field}: {message}")]
    Field {
        /// The chart's path.
        chart: String,
        /// The field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// `Chart.yaml` fails Helm's validation.
    #[error("{chart}: validation: {message}")]
    Validation {
        /// The chart's path.
        chart: String,
        /// Helm's wording of the problem.
        message: String,
    },
    /// `.helmignore` is invalid.
    #[error("{chart}: .helmignore: {source}")]
    Ignore {
        /// The chart's path.
        chart: String,
        /// What is wrong.
        #[source]
        source: IgnoreError,
    },
    /// A `.tgz` archive could not be read.
    #[error("{path}: {message}")]
    Archive {
        /// The archive.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A subchart failed to load.
    #[error("error unpacking subchart {name} in {parent}: {source}")]
    Subchart {
        /// The parent chart's name.
        parent: String,
        /// The subchart's directory or archive name.
        name: String,
        /// Why it failed.
        #[source]
        source: Box<ChartError>,
    },
    /// Dependencies listed in `Chart.yaml` have no chart in `charts/`.
    #[error(
        "{chart}: found in Chart.yaml, but missing in charts/ directory: {}",
        names.join(", ")
    )]
    MissingDependencies {
        /// The chart's name.
        chart: String,
        /// The missing dependency names.
        names: Vec<String>,
    },
    /// A `file://` dependency points outside the readable tree.
    #[error("{chart}: dependency {name}: repository {repository} is outside the source tree")]
    DependencyOutside {
        /// The chart's path.
        chart: String,
        /// The dependency.
        name: String,
        /// Its repository URL.
        repository: String,
    },
}

type Result<T, E = ChartError> = std::result::Result<T, E>;

/// A file of a chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartFile {
    /// Path relative to the chart root, `/`-separated.
    pub name: String,
    /// Contents (shared: clones of a chart do not copy file data).
    pub data: std::sync::Arc<[u8]>,
}

/// One `import-values` entry of a dependency.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportValue {
    /// `- name`: imports `exports.name` of the child into the parent root.
    Export(String),
    /// `- child: a.b\n  parent: c`.
    Path {
        /// Path in the child's values.
        child: String,
        /// Path in the parent's values.
        parent: String,
    },
    /// Any other shape (kept as Helm keeps it, ignored when importing).
    Other(Value),
}

/// A dependency declared in `Chart.yaml` (or `requirements.yaml`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dependency {
    /// The chart name.
    pub name: String,
    /// The version constraint.
    pub version: String,
    /// Where it comes from (`https://...`, `oci://...`, `file://...`).
    pub repository: String,
    /// Comma-separated value paths that enable or disable it.
    pub condition: String,
    /// Tags that enable or disable it.
    pub tags: Vec<String>,
    /// Whether it is enabled (set while processing dependencies).
    pub enabled: bool,
    /// Values imported from it into the parent.
    pub import_values: Vec<ImportValue>,
    /// The name it is used under.
    pub alias: String,
}

/// A maintainer entry of `Chart.yaml`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Maintainer {
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// URL.
    pub url: String,
}

/// `Chart.yaml`, with Helm's field names in the doc comments.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metadata {
    /// `apiVersion` (`v1` when absent).
    pub api_version: String,
    /// `name`.
    pub name: String,
    /// `version`.
    pub version: String,
    /// `kubeVersion`.
    pub kube_version: String,
    /// `description`.
    pub description: String,
    /// `type`: `application` or `library` (empty means application).
    pub chart_type: String,
    /// `keywords`.
    pub keywords: Vec<String>,
    /// `home`.
    pub home: String,
    /// `sources`.
    pub sources: Vec<String>,
    /// `maintainers`.
    pub maintainers: Vec<Maintainer>,
    /// `icon`.
    pub icon: String,
    /// `appVersion`.
    pub app_version: String,
    /// `deprecated`.
    pub deprecated: bool,
    /// `annotations`.
    pub annotations: BTreeMap<String, String>,
    /// `condition` (v1 leftover).
    pub condition: String,
    /// `tags` (v1 leftover).
    pub tags: String,
    /// `dependencies`; `None` when the field is absent or null, which Helm
    /// treats differently from an empty list (subcharts of a chart without
    /// the field are not processed for conditions).
    pub dependencies: Option<Vec<Dependency>>,
}

impl Metadata {
    /// Whether this is a library chart (not rendered itself).
    pub fn is_library(&self) -> bool {
        self.chart_type == "library"
    }
}

/// A loaded chart and its subcharts.
#[derive(Debug, Clone)]
pub struct Chart {
    /// `Chart.yaml`.
    pub metadata: Metadata,
    /// `values.yaml` (an empty map when absent).
    pub values: Value,
    /// `values.schema.json`, raw. Validation is not performed yet.
    pub schema: Option<Vec<u8>>,
    /// Files under `templates/`, in path order.
    pub templates: std::sync::Arc<Vec<ChartFile>>,
    /// Every other file (what `.Files` sees; includes `crds/`), in path
    /// order.
    pub files: std::sync::Arc<Vec<ChartFile>>,
    /// Subcharts from `charts/` and `file://` dependencies.
    pub dependencies: Vec<Chart>,
}

impl Chart {
    /// The chart's name.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// Files under `crds/` with a `.yaml`, `.yml` or `.json` extension in
    /// any letter case (Helm's CRD objects of this chart only).
    pub fn crd_files(&self) -> impl Iterator<Item = &ChartFile> {
        self.files.iter().filter(|f| {
            // Go's filepath.Ext: the suffix from the last dot of the last
            // path element, compared case-insensitively.
            let base = f.name.rsplit('/').next().unwrap_or(&f.name);
            let ext = base.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
            f.name.starts_with("crds/") && matches!(ext.as_deref(), Some("yaml" | "yml" | "json"))
        })
    }
}

/// Loads the chart at `path` (a directory or a `.tgz` file) from `files`,
/// resolves `file://` dependencies that are not vendored in `charts/`, and
/// fails naming every dependency of `Chart.yaml` that is still missing
/// (as `helm template` does before rendering).
pub fn load_chart(files: &dyn ChartFiles, path: &str) -> Result<Chart> {
    let chart = load_any(files, path)?;
    let missing: Vec<String> = chart
        .metadata
        .dependencies
        .iter()
        .flatten()
        .filter(|d| !chart.dependencies.iter().any(|c| c.name() == d.name))
        .map(|d| d.name.clone())
        .collect();
    if !missing.is_empty() {
        return Err(ChartError::MissingDependencies {
            chart: chart.metadata.name.clone(),
            names: missing,
        });
    }
    Ok(chart)
}

fn load_any(files: &dyn ChartFiles, path: &str) -> Result<Chart> {
    if !files.is_dir(path) && path.ends_with(".tgz") {
        let data = files.read(path).map_err(|source| ChartError::Io {
            path: path.to_string(),
            source,
        })?;
        return load_archive(&data, path);
    }
    let mut chart = load_dir(files, path)?;
    resolve_file_dependencies(files, path, &mut chart)?;
    Ok(chart)
}

/// Loads dependencies declared with `file://` repositories that are not
/// already in `charts/`, as `helm dependency build` would vendor them.
fn resolve_file_dependencies(files: &dyn ChartFiles, path: &str, chart: &mut Chart) -> Result<()> {
    let wanted: Vec<Dependency> = chart.metadata.dependencies.clone().unwrap_or_default();
    for dep in wanted {
        if chart.dependencies.iter().any(|c| c.name() == dep.name) {
            continue;
        }
        let Some(rel) = dep.repository.strip_prefix("file://") else {
            continue;
        };
        let target = join_path(path, rel).ok_or_else(|| ChartError::DependencyOutside {
            chart: path.to_string(),
            name: dep.name.clone(),
            repository: dep.repository.clone(),
        })?;
        if !files.exists(&target) {
            continue;
        }
        let sub = load_any(files, &target).map_err(|e| ChartError::Subchart {
            parent: chart.metadata.name.clone(),
            name: dep.name.clone(),
            source: Box::new(e),
        })?;
        chart.dependencies.push(sub);
    }
    Ok(())
}

/// Loads a chart directory, applying its `.helmignore`.
pub fn load_dir(files: &dyn ChartFiles, path: &str) -> Result<Chart> {
    let ignore_path = join(path, ".helmignore");
    let rules = if files.exists(&ignore_path) {
        let text = files.read(&ignore_path).map_err(|source| ChartError::Io {
            path: ignore_path.clone(),
            source,
        })?;
        Rules::parse(&String::from_utf8_lossy(&text)).map_err(|source| ChartError::Ignore {
            chart: path.to_string(),
            source,
        })?
    } else {
        Rules::defaults()
    };
    let mut out = Vec::new();
    walk(files, path, "", &rules, &mut out)?;
    load_files(out, path)
}

fn join(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_string()
    } else {
        format!("{base}/{name}")
    }
}

fn walk(
    files: &dyn ChartFiles,
    root: &str,
    rel: &str,
    rules: &Rules,
    out: &mut Vec<ChartFile>,
) -> Result<()> {
    let dir = join(root, rel);
    let mut entries = files.list(&dir).map_err(|source| ChartError::Io {
        path: dir.clone(),
        source,
    })?;
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    for e in entries {
        let child = join(rel, &e.name);
        if rules.ignore(&child, e.is_dir) {
            continue;
        }
        if e.is_dir {
            walk(files, root, &child, rules, out)?;
        } else {
            let full = join(root, &child);
            let data = files.read(&full).map_err(|source| ChartError::Io {
                path: full.clone(),
                source,
            })?;
            out.push(ChartFile {
                name: child,
                data: strip_bom(data),
            });
        }
    }
    Ok(())
}

fn strip_bom(data: Vec<u8>) -> std::sync::Arc<[u8]> {
    match data.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        Some(rest) => std::sync::Arc::from(rest),
        None => std::sync::Arc::from(data),
    }
}

/// Loads a chart from the bytes of a `.tgz` archive (`origin` names it in
/// errors). The archive's top directory is the chart root.
pub fn load_archive(data: &[u8], origin: &str) -> Result<Chart> {
    let archive_err = |message: String| ChartError::Archive {
        path: origin.to_string(),
        message,
    };
    let gz = flate2::read::GzDecoder::new(data);
    let mut tar = tar::Archive::new(gz);
    let mut out: Vec<ChartFile> = Vec::new();
    let entries = tar.entries().map_err(|e| archive_err(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| archive_err(e.to_string()))?;
        let kind = entry.header().entry_type();
        if kind.is_dir() || kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        let raw = entry
            .path()
            .map_err(|e| archive_err(e.to_string()))?
            .to_string_lossy()
            .replace('\\', "/");
        let mut parts = raw.split('/');
        let first = parts.next().unwrap_or("");
        let rest: Vec<&str> = parts.collect();
        if rest.is_empty() {
            if first == "Chart.yaml" {
                return Err(archive_err("chart yaml not in base directory".into()));
            }
            continue;
        }
        let name = rest.join("/");
        if name.split('/').any(|p| p == "..") {
            return Err(archive_err(
                "chart illegally references parent directory".into(),
            ));
        }
        let mut buf = Vec::new();
        entry
            .read_to_end(&mut buf)
            .map_err(|e| archive_err(e.to_string()))?;
        out.push(ChartFile {
            name,
            data: strip_bom(buf),
        });
    }
    if out.is_empty() {
        return Err(archive_err("no files in chart archive".into()));
    }
    load_files(out, origin)
}

/// Sorts a chart's files into a [`Chart`], loading subcharts from
/// `charts/`.
pub fn load_files(files: Vec<ChartFile>, origin: &str) -> Result<Chart> {
    let mut metadata: Option<Metadata> = None;
    if let Some(f) = files.iter().find(|f| f.name == "Chart.yaml") {
        let mut md = Metadata::default();
        apply_metadata(&mut md, &f.data, origin, "Chart.yaml")?;
        if md.api_version.is_empty() {
            md.api_version = "v1".into();
        }
        metadata = Some(md);
    }
    let mut values = Value::map(Default::default());
    let mut schema = None;
    let mut templates = Vec::new();
    let mut other = Vec::new();
    let mut subcharts: BTreeMap<String, Vec<ChartFile>> = BTreeMap::new();
    for f in files {
        match f.name.as_str() {
            "Chart.yaml" | "Chart.lock" | "requirements.lock" => {
                if f.name == "requirements.lock"
                    && metadata.as_ref().is_some_and(|m| m.api_version == "v1")
                {
                    other.push(f);
                }
            }
            "values.yaml" => {
                let text = String::from_utf8_lossy(&f.data);
                values = crate::yaml::from_yaml(&text).map_err(|source| ChartError::Yaml {
                    chart: origin.to_string(),
                    file: "values.yaml".into(),
                    source: Box::new(source),
                })?;
            }
            "values.schema.json" => schema = Some(f.data.to_vec()),
            "requirements.yaml" => {
                let md = metadata.get_or_insert_with(Metadata::default);
                apply_metadata(md, &f.data, origin, "requirements.yaml")?;
                if md.api_version == "v1" {
                    other.push(f);
                }
            }
            n if n.starts_with("templates/") => templates.push(f),
            n if n.starts_with("charts/") => {
                if n.ends_with(".prov") {
                    other.push(f);
                    continue;
                }
                let rest = &n["charts/".len()..];
                let cname = rest.split('/').next().unwrap_or(rest).to_string();
                let name = rest.to_string();
                subcharts
                    .entry(cname)
                    .or_default()
                    .push(ChartFile { name, data: f.data });
            }
            _ => other.push(f),
        }
    }
    let Some(metadata) = metadata else {
        return Err(ChartError::MissingChartYaml {
            chart: origin.to_string(),
        });
    };
    validate(&metadata, origin)?;
    let mut chart = Chart {
        metadata,
        values,
        schema,
        templates: std::sync::Arc::new(templates),
        files: std::sync::Arc::new(other),
        dependencies: Vec::new(),
    };
    for (n, files) in subcharts {
        if n.starts_with('_') || n.starts_with('.') {
            continue;
        }
        let sub_origin = format!("{origin}/charts/{n}");
        let loaded = if n.ends_with(".tgz") {
            match files.iter().find(|f| f.name == n) {
                Some(f) => load_archive(&f.data, &sub_origin),
                None => Err(ChartError::Archive {
                    path: sub_origin.clone(),
                    message: format!(
                        "error unpacking subchart tar in {}: expected {n}",
                        chart.name()
                    ),
                }),
            }
        } else {
            let inner: Vec<ChartFile> = files
                .into_iter()
                .filter_map(|f| {
                    f.name.split_once('/').map(|(_, rest)| ChartFile {
                        name: rest.to_string(),
                        data: f.data,
                    })
                })
                .collect();
            load_files(inner, &sub_origin)
        };
        let sub = loaded.map_err(|e| ChartError::Subchart {
            parent: chart.metadata.name.clone(),
            name: n.clone(),
            source: Box::new(e),
        })?;
        chart.dependencies.push(sub);
    }
    Ok(chart)
}

fn field_str(v: &GoValue, origin: &str, field: &str) -> Result<String> {
    go_as_string(v).ok_or_else(|| ChartError::Field {
        chart: origin.to_string(),
        field: field.to_string(),
        message: "cannot unmarshal a collection into a string".into(),
    })
}

fn field_strs(v: &GoValue, origin: &str, field: &str) -> Result<Vec<String>> {
    match v {
        GoValue::Null => Ok(Vec::new()),
        GoValue::Seq(items) => items.iter().map(|i| field_str(i, origin, field)).collect(),
        _ => Err(ChartError::Field {
            chart: origin.to_string(),
            field: field.to_string(),
            message: "expected a list of strings".into(),
        }),
    }
}

fn key_name(k: &GoValue) -> Option<String> {
    go_as_string(k)
}

/// Decodes `Chart.yaml`/`requirements.yaml` into `md`, with Go's
/// case-insensitive matching of JSON field names.
fn apply_metadata(md: &mut Metadata, data: &[u8], origin: &str, file: &str) -> Result<()> {
    let text = String::from_utf8_lossy(data);
    let doc = decode_first_document(&text).map_err(|source| ChartError::Yaml {
        chart: origin.to_string(),
        file: file.to_string(),
        source: Box::new(source),
    })?;
    let GoValue::Map(entries) = doc else {
        return Ok(());
    };
    for (k, v) in &entries {
        let Some(key) = key_name(k) else { continue };
        match key.to_ascii_lowercase().as_str() {
            "apiversion" => md.api_version = field_str(v, origin, "apiVersion")?,
            "name" => md.name = field_str(v, origin, "name")?,
            "version" => md.version = field_str(v, origin, "version")?,
            "kubeversion" => md.kube_version = field_str(v, origin, "kubeVersion")?,
            "description" => md.description = field_str(v, origin, "description")?,
            "type" => md.chart_type = field_str(v, origin, "type")?,
            "keywords" => md.keywords = field_strs(v, origin, "keywords")?,
            "home" => md.home = field_str(v, origin, "home")?,
            "sources" => md.sources = field_strs(v, origin, "sources")?,
            "icon" => md.icon = field_str(v, origin, "icon")?,
            "appversion" => md.app_version = field_str(v, origin, "appVersion")?,
            "deprecated" => md.deprecated = matches!(v, GoValue::Bool(true)),
            "condition" => md.condition = field_str(v, origin, "condition")?,
            "tags" => md.tags = field_str(v, origin, "tags")?,
            "annotations" => {
                md.annotations.clear();
                if let GoValue::Map(items) = v {
                    for (ak, av) in items {
                        if let Some(ak) = key_name(ak) {
                            md.annotations
                                .insert(ak, field_str(av, origin, "annotations")?);
                        }
                    }
                }
            }
            "maintainers" => {
                md.maintainers.clear();
                if let GoValue::Seq(items) = v {
                    for item in items {
                        let mut m = Maintainer::default();
                        if let GoValue::Map(fields) = item {
                            for (fk, fv) in fields {
                                match key_name(fk)
                                    .unwrap_or_default()
                                    .to_ascii_lowercase()
                                    .as_str()
                                {
                                    "name" => m.name = field_str(fv, origin, "maintainers.name")?,
                                    "email" => {
                                        m.email = field_str(fv, origin, "maintainers.email")?
                                    }
                                    "url" => m.url = field_str(fv, origin, "maintainers.url")?,
                                    _ => {}
                                }
                            }
                        }
                        md.maintainers.push(m);
                    }
                }
            }
            "dependencies" => {
                md.dependencies = match v {
                    GoValue::Seq(items) => Some(
                        items
                            .iter()
                            .map(|item| parse_dependency(item, origin))
                            .collect::<Result<_>>()?,
                    ),
                    _ => None,
                };
            }
            _ => {}
        }
    }
    Ok(())
}

fn parse_dependency(v: &GoValue, origin: &str) -> Result<Dependency> {
    let mut d = Dependency::default();
    let GoValue::Map(fields) = v else {
        return Ok(d);
    };
    for (k, v) in fields {
        match key_name(k)
            .unwrap_or_default()
            .to_ascii_lowercase()
            .as_str()
        {
            "name" => d.name = field_str(v, origin, "dependencies.name")?,
            "version" => d.version = field_str(v, origin, "dependencies.version")?,
            "repository" => d.repository = field_str(v, origin, "dependencies.repository")?,
            "condition" => d.condition = field_str(v, origin, "dependencies.condition")?,
            "tags" => d.tags = field_strs(v, origin, "dependencies.tags")?,
            "enabled" => d.enabled = matches!(v, GoValue::Bool(true)),
            "alias" => d.alias = field_str(v, origin, "dependencies.alias")?,
            "import-values" => {
                if let GoValue::Seq(items) = v {
                    for item in items {
                        let value = to_json_value(item).map_err(|source| ChartError::Yaml {
                            chart: origin.to_string(),
                            file: "Chart.yaml".into(),
                            source: Box::new(source),
                        })?;
                        d.import_values.push(import_value(value));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(d)
}

fn import_value(v: Value) -> ImportValue {
    match &v {
        Value::Str(s) => ImportValue::Export(s.to_string()),
        Value::Map(m) => {
            let child = m.get("child").and_then(|c| c.as_str().map(str::to_string));
            let parent = m.get("parent").and_then(|c| c.as_str().map(str::to_string));
            match (child, parent) {
                (Some(child), Some(parent)) => ImportValue::Path { child, parent },
                _ => ImportValue::Other(v),
            }
        }
        _ => ImportValue::Other(v),
    }
}

/// Helm's `Metadata.Validate`.
fn validate(md: &Metadata, origin: &str) -> Result<()> {
    let fail = |message: String| {
        Err(ChartError::Validation {
            chart: origin.to_string(),
            message,
        })
    };
    if md.api_version.is_empty() {
        return fail("chart.metadata.apiVersion is required".into());
    }
    if md.name.is_empty() {
        return fail("chart.metadata.name is required".into());
    }
    if md.name.contains('/') || md.name.contains('\\') || md.name == "." || md.name == ".." {
        return fail(format!("chart.metadata.name {:?} is invalid", md.name));
    }
    if md.version.is_empty() {
        return fail("chart.metadata.version is required".into());
    }
    if crate::semver::parse_version(&md.version).is_none() {
        return fail(format!(
            "chart.metadata.version {:?} is invalid",
            md.version
        ));
    }
    if !matches!(md.chart_type.as_str(), "" | "application" | "library") {
        return fail("chart.metadata.type must be application or library".into());
    }
    let mut seen = std::collections::HashSet::new();
    for d in md.dependencies.iter().flatten() {
        let key = if d.alias.is_empty() {
            &d.name
        } else {
            &d.alias
        };
        if !seen.insert(key.clone()) {
            return fail(format!(
                "more than one dependency with name or alias {key:?}"
            ));
        }
    }
    Ok(())
}
