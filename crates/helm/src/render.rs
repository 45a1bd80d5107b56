//! Rendering a chart as `helm template` does: values coalesced and
//! validated, every template of the chart and its subcharts executed with
//! Helm's built-in objects and functions, NOTES.txt executed but kept
//! aside, and the output split, sorted and printed in Helm's order.
//!
//! The entry point is [`render_chart`]; [`RenderOutput::template_output`]
//! gives exactly what `helm template` prints.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use trellis_template::{
    Error as TemplateError, FuncError, FuncMap, Function, Map, MapRef, MissingKey, Options, Sig,
    Templates, Ty, Value,
};

use crate::chart::Chart;
use crate::manifests::{
    Hook, Manifest, ManifestError, crd_objects, is_notes, release_manifest, sort_manifests,
    template_output,
};
use crate::objects::{Capabilities, Files, KubeVersion, chart_value};
use crate::values::{ValuesError, to_render_values};

/// Errors of a render. `Display` gives Helm's text.
#[derive(Debug, thiserror::Error)]
pub enum HelmError {
    /// Values could not be coalesced.
    #[error(transparent)]
    Values(#[from] ValuesError),
    /// Values violate a chart's `values.schema.json` (Helm's wording).
    #[error(
        "values don't meet the specifications of the schema(s) in the following chart(s):\n{0}"
    )]
    Schema(String),
    /// A chart's `values.schema.json` is not a valid schema.
    #[error("{chart}: invalid values.schema.json: {message}")]
    InvalidSchema {
        /// The chart.
        chart: String,
        /// What is wrong.
        message: String,
    },
    /// The chart's `kubeVersion` excludes the target Kubernetes version.
    #[error(
        "chart requires kubeVersion: {required} which is incompatible with Kubernetes {actual}"
    )]
    KubeVersion {
        /// The chart's constraint.
        required: String,
        /// The target version.
        actual: String,
    },
    /// `--kube-version` is not a version.
    #[error("invalid kube version {0:?}")]
    InvalidKubeVersion(String),
    /// A template failed to parse or execute; the text is Helm's, naming
    /// the template, line and column (`parse error at (c/templates/x.yaml:3): ...`,
    /// `execution error at (...)`).
    #[error("{message}")]
    Template {
        /// The template being parsed or executed (`chart/templates/x.yaml`).
        template: String,
        /// Helm's error text.
        message: String,
    },
    /// A rendered document is not YAML.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The render thread could not be started or failed.
    #[error("render thread failed: {0}")]
    Thread(String),
}

/// Live cluster reads for Helm's `lookup` function. Without one, `lookup`
/// returns an empty map, as `helm template` does.
pub trait Lookup: Send + Sync {
    /// The object (or, with an empty `name`, the list) as a map, or an
    /// empty map when it does not exist. The error text becomes the
    /// template error.
    fn lookup(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Value, String>;
}

/// Bounds that keep a hostile chart from hanging the process or
/// exhausting memory.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Maximum nesting of template calls (`template`, `include`, `tpl`).
    pub max_depth: usize,
    /// Maximum evaluation steps of one template execution.
    pub max_steps: u64,
    /// Maximum bytes of output of one template execution.
    pub max_output: usize,
    /// Stack size of the render thread (deep nesting needs stack).
    pub stack_size: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 1000,
            max_steps: 50_000_000,
            max_output: 64 << 20,
            stack_size: 256 << 20,
        }
    }
}

/// What to render and how.
#[derive(Clone)]
pub struct RenderRequest {
    /// `.Release.Name`.
    pub release_name: String,
    /// `.Release.Namespace`.
    pub namespace: String,
    /// The user's values (see [`crate::UserValues::build`]), a map.
    pub user_values: Value,
    /// `--kube-version`; Helm's default (v1.36.0) when `None`.
    pub kube_version: Option<String>,
    /// `--api-versions`, added to Helm's default set.
    pub api_versions: Vec<String>,
    /// Whether CRDs from `crds/` are part of the output (`--include-crds`).
    pub include_crds: bool,
    /// `--is-upgrade`: `.Release.IsUpgrade` true, `IsInstall` false.
    pub is_upgrade: bool,
    /// `.Release.Revision`.
    pub revision: i64,
    /// Live reads for `lookup`.
    pub lookup: Option<Arc<dyn Lookup>>,
    /// Execution bounds.
    pub limits: Limits,
}

impl Default for RenderRequest {
    fn default() -> RenderRequest {
        RenderRequest {
            release_name: "release-name".into(),
            namespace: "default".into(),
            user_values: Value::map(Map::new()),
            kube_version: None,
            api_versions: Vec::new(),
            include_crds: false,
            is_upgrade: false,
            revision: 1,
            lookup: None,
            limits: Limits::default(),
        }
    }
}

/// A rendered chart.
#[derive(Debug, Clone)]
pub struct RenderOutput {
    /// Every executed template's text (`chart/templates/x.yaml` →
    /// output, `<no value>` removed), NOTES.txt and partials excluded.
    pub templates: BTreeMap<String, String>,
    /// Non-hook resources in Helm's install order.
    pub manifests: Vec<Manifest>,
    /// Hook resources (`helm.sh/hook`), in Helm's order.
    pub hooks: Vec<Hook>,
    /// CRDs from `crds/` directories (`path`, contents), when requested.
    pub crds: Vec<(String, Vec<u8>)>,
    /// The top-level chart's rendered NOTES.txt (empty when none).
    pub notes: String,
}

impl RenderOutput {
    /// The manifest Helm stores for the release: CRDs (when included),
    /// then the non-hook resources with `# Source:` headers.
    pub fn release_manifest(&self) -> String {
        release_manifest(&self.crds, &self.manifests)
    }

    /// Exactly what `helm template` prints on stdout.
    pub fn template_output(&self) -> String {
        template_output(&self.release_manifest(), &self.hooks)
    }
}

/// Renders `chart` as `helm template` does (the chart is not modified:
/// dependency processing works on a copy).
pub fn render_chart(chart: &Chart, request: &RenderRequest) -> Result<RenderOutput, HelmError> {
    let stack = request.limits.stack_size.max(1 << 20);
    std::thread::scope(|s| {
        let handle = std::thread::Builder::new()
            .name("helm-render".into())
            .stack_size(stack)
            .spawn_scoped(s, || render_on_this_thread(chart, request))
            .map_err(|e| HelmError::Thread(e.to_string()))?;
        handle
            .join()
            .map_err(|_| HelmError::Thread("render panicked".into()))?
    })
}

/// Exactly what `helm template` prints on stdout for `chart` and `request`
/// ([`render_chart`], then [`RenderOutput::template_output`]).
pub fn helm_template(chart: &Chart, request: &RenderRequest) -> Result<String, HelmError> {
    render_chart(chart, request).map(|o| o.template_output())
}

/// [`render_chart`] on the calling thread (which must have enough stack
/// for [`Limits::max_depth`]).
pub fn render_on_this_thread(
    chart: &Chart,
    request: &RenderRequest,
) -> Result<RenderOutput, HelmError> {
    let mut chart = chart.clone();
    let kube_version = match &request.kube_version {
        Some(v) => {
            Some(KubeVersion::parse(v).ok_or_else(|| HelmError::InvalidKubeVersion(v.clone()))?)
        }
        None => None,
    };
    let caps = Capabilities::new(kube_version, &request.api_versions);
    if !chart.metadata.kube_version.is_empty()
        && !crate::semver::is_compatible_range(
            &chart.metadata.kube_version,
            &caps.kube_version.version,
        )
    {
        return Err(HelmError::KubeVersion {
            required: chart.metadata.kube_version.clone(),
            actual: caps.kube_version.version.clone(),
        });
    }
    let values = to_render_values(&mut chart, &request.user_values)?;
    crate::schema::validate_chart(&chart, &values)?;

    let mut release = Map::new();
    release.insert("Name".into(), Value::from(request.release_name.as_str()));
    release.insert("Namespace".into(), Value::from(request.namespace.as_str()));
    release.insert("IsUpgrade".into(), Value::Bool(request.is_upgrade));
    release.insert("IsInstall".into(), Value::Bool(!request.is_upgrade));
    release.insert("Revision".into(), Value::Int(request.revision));
    release.insert("Service".into(), Value::from("Helm"));
    let globals = Globals {
        release: Value::map(release),
        caps: Value::object(caps),
    };

    let mut renderables = Vec::new();
    collect(&chart, None, &values, &globals, &mut renderables);

    // Helm parses deeper paths first and, at equal depth, in reverse
    // lexical order; a later `define` of a name replaces an earlier one.
    renderables.sort_by(|a, b| b.depth.cmp(&a.depth).then_with(|| b.name.cmp(&a.name)));
    let parsed = parsed_set(&renderables, &request.limits)?;
    let set: &Templates = &parsed.set;
    let _state = RenderState::enter(parsed.clone(), request.lookup.clone());
    let mut rendered: Vec<(String, String)> = Vec::with_capacity(renderables.len());
    let mut notes = String::new();
    let top_notes = format!("{}/templates/NOTES.txt", chart.name());
    for r in &renderables {
        let base = r.name.rsplit('/').next().unwrap_or(&r.name);
        if base.starts_with('_') {
            continue;
        }
        let mut tm = Map::new();
        tm.insert("Name".into(), Value::from(r.name.as_str()));
        tm.insert("BasePath".into(), Value::from(r.base_path.as_str()));
        r.dot.write().insert("Template".into(), Value::map(tm));
        let out = set
            .execute(&r.name, &Value::Map(r.dot.clone()))
            .map_err(|e| HelmError::Template {
                template: r.name.clone(),
                message: helm_error_text(&r.name, &e),
            })?;
        let out = if has_no_value(&out) {
            out.replace("<no value>", "")
        } else {
            out
        };
        if is_notes(&r.name) {
            if r.name == top_notes {
                notes = out;
            }
            continue;
        }
        rendered.push((r.name.clone(), out));
    }
    let (hooks, manifests) = sort_manifests(&rendered)?;
    let templates: BTreeMap<String, String> = rendered.into_iter().collect();
    let crds = if request.include_crds {
        crd_objects(&chart)
    } else {
        Vec::new()
    };
    Ok(RenderOutput {
        templates,
        manifests,
        hooks,
        crds,
        notes,
    })
}

/// A parsed template set, shared by every render of the same templates
/// with the same limits (templates are parsed once, executed many times),
/// with the sets `tpl` derived from it.
struct ParsedSet {
    hash: u64,
    /// Template names and sources; holding the sources keeps their
    /// addresses from being reused, so a render of the same loaded chart
    /// is recognized by address.
    sources: Vec<(String, Arc<[u8]>)>,
    limits: (usize, u64, usize),
    set: Arc<Templates>,
    /// Sets derived by `tpl`, by (base set address, text); the bases are
    /// this set and sets held here, so addresses stay valid.
    tpl: TplCache,
}

/// How many parsed sets are kept (oldest dropped first).
const PARSED_SETS: usize = 32;

/// Bound on the sets `tpl` derives and keeps per parsed set.
const TPL_SETS: usize = 4096;

fn parsed_sets() -> &'static Mutex<Vec<Arc<ParsedSet>>> {
    static SETS: std::sync::OnceLock<Mutex<Vec<Arc<ParsedSet>>>> = std::sync::OnceLock::new();
    SETS.get_or_init(|| Mutex::new(Vec::new()))
}

fn parsed_set(renderables: &[Renderable], limits: &Limits) -> Result<Arc<ParsedSet>, HelmError> {
    use std::hash::{Hash as _, Hasher as _};
    let lim = (limits.max_depth, limits.max_steps, limits.max_output);
    let same_len = |p: &ParsedSet| p.limits == lim && p.sources.len() == renderables.len();
    let same_ptr = |p: &ParsedSet| {
        same_len(p)
            && p.sources
                .iter()
                .zip(renderables)
                .all(|((n, d), r)| Arc::ptr_eq(d, r.data) && *n == r.name)
    };
    if let Some(p) = parsed_sets()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .find(|p| same_ptr(p))
    {
        return Ok(p.clone());
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    lim.hash(&mut hasher);
    for r in renderables {
        r.name.hash(&mut hasher);
        r.data.hash(&mut hasher);
    }
    let hash = hasher.finish();
    let same = |p: &ParsedSet| {
        p.hash == hash
            && same_len(p)
            && p.sources
                .iter()
                .zip(renderables)
                .all(|((n, d), r)| **d == **r.data && *n == r.name)
    };
    if let Some(p) = parsed_sets()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .find(|p| same(p))
    {
        return Ok(p.clone());
    }
    let mut set = Templates::new("gotpl");
    set.funcs(base_funcs());
    set.set_options(Options {
        missing_key: MissingKey::Zero,
        max_depth: limits.max_depth,
        max_steps: limits.max_steps,
        max_output: limits.max_output,
        ..Options::default()
    });
    for r in renderables {
        set.parse(&r.name, &String::from_utf8_lossy(r.data))
            .map_err(|e| HelmError::Template {
                template: r.name.clone(),
                message: helm_error_text(&r.name, &e),
            })?;
    }
    let p = Arc::new(ParsedSet {
        hash,
        sources: renderables
            .iter()
            .map(|r| (r.name.clone(), r.data.clone()))
            .collect(),
        limits: lim,
        set: Arc::new(set),
        tpl: Mutex::new(HashMap::new()),
    });
    let mut sets = parsed_sets()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if sets.len() >= PARSED_SETS {
        sets.remove(0);
    }
    sets.push(p.clone());
    Ok(p)
}

/// What the functions of the render running on this thread reach: the
/// parsed set (for `tpl`'s cache) and the cluster (for `lookup`).
struct RenderState;

type Current = Option<(Arc<ParsedSet>, Option<Arc<dyn Lookup>>)>;

thread_local! {
    static CURRENT: std::cell::RefCell<Current> = const { std::cell::RefCell::new(None) };
}

impl RenderState {
    fn enter(parsed: Arc<ParsedSet>, lookup: Option<Arc<dyn Lookup>>) -> RenderState {
        CURRENT.with(|c| *c.borrow_mut() = Some((parsed, lookup)));
        RenderState
    }
}

impl Drop for RenderState {
    fn drop(&mut self) {
        CURRENT.with(|c| *c.borrow_mut() = None);
    }
}

fn current_parsed() -> Option<Arc<ParsedSet>> {
    CURRENT.with(|c| c.borrow().as_ref().map(|(p, _)| p.clone()))
}

fn current_lookup() -> Option<Arc<dyn Lookup>> {
    CURRENT.with(|c| c.borrow().as_ref().and_then(|(_, l)| l.clone()))
}

struct Globals {
    release: Value,
    caps: Value,
}

struct Renderable<'c> {
    name: String,
    /// The number of `/` in `name`.
    depth: usize,
    data: &'c Arc<[u8]>,
    base_path: String,
    dot: MapRef,
}

/// Helm's `recAllTpls`: one shared dot per chart, subcharts' values
/// scoped under their name. Returns the chart's dot (for `.Subcharts`).
fn collect<'c>(
    chart: &'c Chart,
    parent: Option<(&str, &MapRef)>,
    values: &Value,
    g: &Globals,
    out: &mut Vec<Renderable<'c>>,
) -> MapRef {
    let full_path = match parent {
        None => chart.name().to_string(),
        Some((p, _)) => format!("{p}/charts/{}", chart.name()),
    };
    let scoped = match parent {
        None => values.clone(),
        Some((_, pdot)) => match pdot.get("Values") {
            Some(Value::Map(pv)) => match pv.get(chart.name()) {
                Some(v @ Value::Map(_)) => v,
                _ => Value::map(Map::new()),
            },
            _ => Value::map(Map::new()),
        },
    };
    let mut m = Map::new();
    m.insert(
        "Chart".into(),
        chart_value(&chart.metadata, parent.is_none()),
    );
    m.insert("Files".into(), Value::object(Files(chart.files.clone())));
    m.insert("Release".into(), g.release.clone());
    m.insert("Capabilities".into(), g.caps.clone());
    m.insert("Values".into(), scoped);
    let subcharts = MapRef::new(Map::new());
    m.insert("Subcharts".into(), Value::Map(subcharts.clone()));
    let dot = MapRef::new(m);
    for child in &chart.dependencies {
        let cdot = collect(child, Some((&full_path, &dot)), values, g, out);
        subcharts
            .write()
            .insert(child.name().to_string(), Value::Map(cdot));
    }
    let library = chart.metadata.is_library();
    for t in chart.templates.iter() {
        let base = t.name.rsplit('/').next().unwrap_or(&t.name);
        if library && !base.starts_with('_') {
            continue;
        }
        let name = format!("{full_path}/{}", t.name);
        out.push(Renderable {
            depth: name.matches('/').count(),
            name,
            data: &t.data,
            base_path: format!("{full_path}/templates"),
            dot: dot.clone(),
        });
    }
    dot
}

const WARN_START: &str = "HELM_ERR_START";
const WARN_END: &str = "HELM_ERR_END";

fn warn_wrap(msg: &str) -> FuncError {
    FuncError::Call(format!("{WARN_START}{msg}{WARN_END}"))
}

/// Helm's layout of a template error.
fn helm_error_text(template: &str, e: &TemplateError) -> String {
    match e {
        TemplateError::Parse(msg) => {
            let Some(rest) = msg.strip_prefix("template: ") else {
                return format!("parse error in ({template}): {msg}");
            };
            let (loc, tail) = rest.split_once(": ").unwrap_or((rest, ""));
            let cause = tail.rsplit(": ").next().unwrap_or(tail);
            format!("parse error at ({loc}): {cause}")
        }
        TemplateError::Exec(x) => {
            if let (Some(s), Some(e2)) = (x.message.find(WARN_START), x.message.find(WARN_END))
                && s < e2
            {
                let loc = x.location.clone().unwrap_or_default();
                return format!(
                    "execution error at ({loc}): {}",
                    &x.message[s + WARN_START.len()..e2]
                );
            }
            if x.message.starts_with("error calling ") {
                return e.to_string();
            }
            match (&x.location, &x.context) {
                (Some(loc), Some(ctx)) => format!(
                    "{loc}\n  executing {} at <{ctx}>:\n    {}",
                    trellis_template::quote(&x.template),
                    x.message
                ),
                _ => e.to_string(),
            }
        }
        other => format!("{template}: {other}"),
    }
}

/// Sprig plus Helm's functions that need no per-render state.
fn base_funcs() -> &'static FuncMap {
    static FUNCS: std::sync::OnceLock<FuncMap> = std::sync::OnceLock::new();
    FUNCS.get_or_init(|| {
        let mut f = trellis_template::sprig::funcs();
        f.remove("env");
        f.remove("expandenv");
        crate::funcs::register(&mut f);
        f.extend(&render_funcs());
        f
    })
}

/// Sets derived by `tpl`: by base set address, then by text. Texts (whole
/// CRDs read with `.Files.Get`, at times) are hashed with a fast
/// word-at-a-time hash: a hit is confirmed by comparing the text.
type TplCache = Mutex<HashMap<usize, HashMap<Box<str>, Arc<Templates>, TextHash>>>;

type TextHash = std::hash::BuildHasherDefault<TextHasher>;

/// A multiply-rotate hash over 8-byte words (not resistant to chosen
/// collisions, which only cost comparisons within a bounded cache).
#[derive(Default)]
struct TextHasher(u64);

impl std::hash::Hasher for TextHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mix = |h: u64, w: u64| (h.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        let mut chunks = bytes.chunks_exact(8);
        for c in chunks.by_ref() {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = mix(self.0, u64::from_le_bytes(w));
        }
        for &b in chunks.remainder() {
            self.0 = mix(self.0, u64::from(b));
        }
    }
}

/// Whether `text` holds Go's `<no value>` marker (a vectorized search:
/// rendered texts run to megabytes).
fn has_no_value(text: &str) -> bool {
    memchr::memmem::find(text.as_bytes(), b"<no value>").is_some()
}

/// `tpl` (parsed texts cached with the running set) and `lookup` (through
/// the running render's [`Lookup`]).
fn render_funcs() -> FuncMap {
    let mut f = FuncMap::new();
    f.insert(
        "tpl",
        Function::with_context(Sig::fixed(&[Ty::Str, Ty::Any]), move |ctx, a| {
            let text = a[0].as_str().unwrap_or_default();
            let base = ctx.templates();
            // Text without actions renders as itself. This also covers the
            // empty text: Go executes the new (empty) tree, whereas a set
            // keeps an earlier non-empty "gotpl" over an empty one.
            let delim = base.options().left_delim.as_str();
            if memchr::memmem::find(text.as_bytes(), delim.as_bytes()).is_none() {
                if !has_no_value(text) {
                    return Ok(a[0].clone());
                }
                return Ok(Value::from(text.replace("<no value>", "")));
            }
            let base_key = base as *const Templates as usize;
            let parsed = current_parsed();
            let cached = parsed.as_ref().and_then(|p| {
                p.tpl
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .get(&base_key)
                    .and_then(|texts| texts.get(text))
                    .cloned()
            });
            let set = match cached {
                Some(s) => s,
                None => {
                    let mut t = base.clone();
                    t.parse("gotpl", text).map_err(|e| {
                        FuncError::Call(format!(
                            "cannot parse template {}: {e}",
                            trellis_template::quote(text)
                        ))
                    })?;
                    let t = Arc::new(t);
                    if let Some(p) = &parsed {
                        let mut c = p
                            .tpl
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        // Bounded: a hostile chart could generate texts.
                        // Entries are kept (not cleared), because running
                        // executions may use their addresses as keys.
                        if c.values().map(HashMap::len).sum::<usize>() < TPL_SETS {
                            c.entry(base_key)
                                .or_default()
                                .insert(Box::from(text), t.clone());
                        }
                    }
                    t
                }
            };
            let out = ctx.execute(&set, "gotpl", &a[1]).map_err(|e| {
                FuncError::Call(format!(
                    "error during tpl function execution for {}: {e}",
                    trellis_template::quote(text)
                ))
            })?;
            if has_no_value(&out) {
                return Ok(Value::from(out.replace("<no value>", "")));
            }
            Ok(Value::from(out))
        }),
    );
    f.add(
        "lookup",
        Sig::fixed(&[Ty::Str, Ty::Str, Ty::Str, Ty::Str]),
        |a| {
            let s = |i: usize| a[i].as_str().unwrap_or_default();
            match &current_lookup() {
                None => Ok(Value::map(Map::new())),
                Some(l) => l.lookup(s(0), s(1), s(2), s(3)).map_err(FuncError::Call),
            }
        },
    );
    f
}

/// `include`, `required` and `fail` as Helm defines them.
pub(crate) fn register_template_funcs(f: &mut FuncMap) {
    f.insert(
        "include",
        Function::with_context(Sig::fixed(&[Ty::Str, Ty::Any]), |ctx, a| {
            let name = a[0].as_str().unwrap_or_default();
            ctx.execute_template(name, &a[1])
                .map(Value::from)
                .map_err(|e| FuncError::Call(e.to_string()))
        }),
    );
    f.add("required", Sig::fixed(&[Ty::Str, Ty::Any]), |a| {
        let msg = a[0].as_str().unwrap_or_default();
        match &a[1] {
            Value::Nil => Err(warn_wrap(msg)),
            Value::Str(s) if s.is_empty() => Err(warn_wrap(msg)),
            v => Ok(v.clone()),
        }
    });
    f.add("fail", Sig::fixed(&[Ty::Str]), |a| {
        Err(warn_wrap(a[0].as_str().unwrap_or_default()))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::{ChartFile, load_files};

    fn chart(templates: &[(&str, &str)]) -> Chart {
        let mut files = vec![ChartFile {
            name: "Chart.yaml".into(),
            data: b"apiVersion: v2\nname: c\nversion: 1.0.0\n".to_vec().into(),
        }];
        for (n, t) in templates {
            files.push(ChartFile {
                name: format!("templates/{n}"),
                data: t.as_bytes().to_vec().into(),
            });
        }
        load_files(files, "c").unwrap()
    }

    struct OneSecret;

    impl Lookup for OneSecret {
        fn lookup(&self, api: &str, kind: &str, ns: &str, name: &str) -> Result<Value, String> {
            let mut m = Map::new();
            m.insert(
                "found".into(),
                Value::from(format!("{api}/{kind}/{ns}/{name}")),
            );
            Ok(Value::map(m))
        }
    }

    #[test]
    fn lookup_goes_through_the_trait_and_is_empty_offline() {
        let c = chart(&[(
            "a.yaml",
            "k: {{ (lookup \"v1\" \"Secret\" \"ns\" \"s\").found | default \"none\" }}\n",
        )]);
        let offline = render_chart(&c, &RenderRequest::default()).unwrap();
        assert_eq!(offline.templates["c/templates/a.yaml"], "k: none\n");
        let live = render_chart(
            &c,
            &RenderRequest {
                lookup: Some(Arc::new(OneSecret)),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(live.templates["c/templates/a.yaml"], "k: v1/Secret/ns/s\n");
    }

    #[test]
    fn hostile_templates_are_bounded() {
        let c = chart(&[
            ("_r.tpl", "{{ define \"r\" }}{{ include \"r\" . }}{{ end }}"),
            ("a.yaml", "{{ include \"r\" . }}"),
        ]);
        let e = render_chart(&c, &RenderRequest::default()).unwrap_err();
        assert!(
            e.to_string().contains("exceeded maximum template depth"),
            "{e}"
        );

        let c = chart(&[("a.yaml", "{{ range 100000000 }}x{{ end }}")]);
        let req = RenderRequest {
            limits: Limits {
                max_steps: 10_000,
                ..Limits::default()
            },
            ..Default::default()
        };
        let e = render_chart(&c, &req).unwrap_err();
        assert!(e.to_string().contains("c/templates/a.yaml"), "{e}");

        let c = chart(&[("a.yaml", "{{ range 100000 }}xxxxxxxxxx{{ end }}")]);
        let req = RenderRequest {
            limits: Limits {
                max_output: 1000,
                ..Limits::default()
            },
            ..Default::default()
        };
        let e = render_chart(&c, &req).unwrap_err();
        assert!(e.to_string().contains("output exceeds maximum size"), "{e}");
    }

    #[test]
    fn template_output_orders_manifests_then_hooks() {
        // A template's last document keeps its final line break, and each
        // document is printed followed by one (as in the corpus manifests).
        let c = chart(&[
            (
                "hook.yaml",
                "kind: Job\nmetadata:\n  name: j\n  annotations:\n    helm.sh/hook: pre-install\n",
            ),
            ("svc.yaml", "kind: Service\nmetadata:\n  name: s\n"),
            ("NOTES.txt", "hello {{ .Release.Name }}"),
        ]);
        let out = render_chart(&c, &RenderRequest::default()).unwrap();
        assert_eq!(out.notes, "hello release-name");
        assert_eq!(
            out.template_output(),
            "---\n# Source: c/templates/svc.yaml\nkind: Service\nmetadata:\n  name: s\n---\n# Source: c/templates/hook.yaml\nkind: Job\nmetadata:\n  name: j\n  annotations:\n    helm.sh/hook: pre-install\n\n"
        );
    }
}
