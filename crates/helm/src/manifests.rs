//! From rendered templates to `helm template` output: splitting each
//! template's text into YAML documents, separating hooks
//! (`helm.sh/hook`), ordering resources by Helm's install order, and
//! writing them with `# Source:` headers.

use crate::chart::Chart;
use crate::yaml::{GoValue, YamlError, decode_first_document, go_as_string};

/// Errors while sorting rendered manifests.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum ManifestError {
    /// A document of a rendered template is not valid YAML (Helm's wording).
    #[error("YAML parse error on {path}: error converting YAML to JSON: {source}")]
    Yaml {
        /// The template path (`chart/templates/x.yaml`).
        path: String,
        /// The parse error.
        #[source]
        source: Box<YamlError>,
    },
}

/// Helm's install order by kind; kinds not listed come after these,
/// alphabetically.
pub const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// The hook events Helm knows (`test-success` is an old name of `test`).
pub const HOOK_EVENTS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
];

/// One rendered resource document that is not a hook.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The template it came from (`chart/templates/x.yaml`).
    pub source: String,
    /// The document text as Helm keeps it (leading blank space removed).
    pub content: String,
    /// `kind` (empty when absent).
    pub kind: String,
    /// `metadata.name` (empty when absent).
    pub name: String,
}

/// One rendered hook document.
#[derive(Debug, Clone, PartialEq)]
pub struct Hook {
    /// The template it came from.
    pub source: String,
    /// The document text.
    pub content: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// Events from `helm.sh/hook`, lower-cased (`test-success` as `test`).
    pub events: Vec<String>,
    /// `helm.sh/hook-weight` (0 when absent or not an integer).
    pub weight: i64,
    /// `helm.sh/hook-delete-policy` entries, lower-cased.
    pub delete_policies: Vec<String>,
}

/// Splits a template's output into YAML documents as Helm does: on `---`
/// at the start of a line (with any trailing blanks), dropping empty
/// documents and each document's leading whitespace.
///
/// # Deviation from YAML
/// Like Helm, a line starting with `---` inside a block scalar also
/// splits, and `---foo` splits before `foo`.
pub fn split_manifests(text: &str) -> Vec<String> {
    let text = text.trim_start();
    let b = text.as_bytes();
    let mut docs = Vec::new();
    let mut start = 0;
    // Separator: (^|\s*\n)---\s*. Rendered CRDs run to megabytes, so the
    // scan jumps from one `\n---` to the next (a vectorized substring
    // search). The newline before `---` must not have been consumed by the
    // previous separator's trailing blanks (Helm's regex matches never
    // overlap), so `---\n---` separates only once: the search for the next
    // separator starts where the last one ended.
    let newline_dashes = memchr::memmem::Finder::new(b"\n---");
    let mut at_start = b.starts_with(b"---");
    let mut from = 0;
    loop {
        let i = if std::mem::take(&mut at_start) {
            0
        } else {
            match newline_dashes.find(&b[from..]) {
                Some(n) => from + n + 1,
                None => break,
            }
        };
        // The separator also swallows blank space before the newline.
        let mut sep_start = i;
        if i > 0 {
            sep_start = i - 1; // the '\n'
            while sep_start > start && b[sep_start - 1].is_ascii_whitespace() {
                sep_start -= 1;
            }
        }
        let mut end = i + 3;
        while end < b.len() && b[end].is_ascii_whitespace() {
            end += 1;
        }
        docs.push(&text[start..sep_start]);
        start = end;
        from = end;
    }
    docs.push(&text[start..]);
    docs.into_iter()
        .filter(|d| !d.is_empty())
        .map(|d| d.trim_start().to_string())
        .collect()
}

/// `kind`, `metadata.name` and `metadata.annotations` of a document.
#[derive(Clone)]
struct Head {
    kind: String,
    name: String,
    annotations: Vec<(String, String)>,
}

/// Heads of documents already read, by content: a chart re-rendered with
/// unchanged output (the usual case of a refresh) skips reading its
/// documents again. Bounded by the bytes of the documents kept.
///
/// The key hashes only a document's length and its ends ([`doc_key`]):
/// hashing whole documents (megabytes of CRDs) cost more than the rest of
/// the lookup, while comparing a hit with the kept text is a `memcmp`.
/// Documents that differ only inside (a certificate made on each render)
/// share a key, so a key holds a few documents, newest first.
struct HeadCache {
    map: std::collections::HashMap<u64, Vec<(std::sync::Arc<str>, Head)>>,
    bytes: usize,
}

const HEAD_CACHE_BYTES: usize = 64 << 20;

/// Documents kept under one key of [`HeadCache`].
const HEADS_PER_KEY: usize = 4;

fn head_cache() -> &'static std::sync::Mutex<HeadCache> {
    static CACHE: std::sync::OnceLock<std::sync::Mutex<HeadCache>> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| {
        std::sync::Mutex::new(HeadCache {
            map: std::collections::HashMap::new(),
            bytes: 0,
        })
    })
}

/// The [`HeadCache`] key of a document: its length and its first and last
/// 256 bytes.
fn doc_key(doc: &str) -> u64 {
    const ENDS: usize = 256;
    let b = doc.as_bytes();
    // A multiply-rotate hash over 8-byte words: the key only picks a short
    // list that is then compared in full, so it needs speed, not strength.
    let mix = |h: u64, w: u64| (h.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    let words = |h: u64, part: &[u8]| {
        let mut chunks = part.chunks_exact(8);
        let h = chunks.by_ref().fold(h, |h, c| {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            mix(h, u64::from_le_bytes(w))
        });
        chunks
            .remainder()
            .iter()
            .fold(h, |h, &c| mix(h, u64::from(c)))
    };
    let h = mix(0, b.len() as u64);
    if b.len() <= 2 * ENDS {
        words(h, b)
    } else {
        words(words(h, &b[..ENDS]), &b[b.len() - ENDS..])
    }
}

fn head(doc: &str) -> Result<Head, YamlError> {
    let key = doc_key(doc);
    {
        let cache = head_cache()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, h)) = cache
            .map
            .get(&key)
            .and_then(|kept| kept.iter().find(|(text, _)| **text == *doc))
        {
            return Ok(h.clone());
        }
    }
    let h = read_head(doc)?;
    let mut cache = head_cache()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if cache.bytes + doc.len() > HEAD_CACHE_BYTES {
        cache.map.clear();
        cache.bytes = 0;
    }
    if doc.len() <= HEAD_CACHE_BYTES / 4 {
        cache.bytes += doc.len();
        let kept = cache.map.entry(key).or_default();
        kept.insert(0, (std::sync::Arc::from(doc), h.clone()));
        let dropped: usize = kept
            .drain(kept.len().min(HEADS_PER_KEY)..)
            .map(|(text, _)| text.len())
            .sum();
        cache.bytes -= dropped;
    }
    Ok(h)
}

fn read_head(doc: &str) -> Result<Head, YamlError> {
    let v = decode_first_document(doc)?;
    let mut h = Head {
        kind: String::new(),
        name: String::new(),
        annotations: Vec::new(),
    };
    let GoValue::Map(entries) = v else {
        return Ok(h);
    };
    for (k, v) in &entries {
        match go_as_string(k).as_deref() {
            Some("kind") => h.kind = go_as_string(v).unwrap_or_default(),
            Some("metadata") => {
                if let GoValue::Map(meta) = v {
                    for (mk, mv) in meta {
                        match go_as_string(mk).as_deref() {
                            Some("name") => h.name = go_as_string(mv).unwrap_or_default(),
                            Some("annotations") => {
                                if let GoValue::Map(ann) = mv {
                                    for (ak, av) in ann {
                                        if let (Some(ak), Some(av)) =
                                            (go_as_string(ak), go_as_string(av))
                                        {
                                            h.annotations.push((ak, av));
                                        }
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(h)
}

fn kind_rank(kind: &str) -> Option<usize> {
    INSTALL_ORDER.iter().position(|k| *k == kind)
}

/// Helm's `lessByKind`: known kinds in install order, then unknown kinds
/// alphabetically; equal kinds keep their order.
fn less_by_kind(a: &str, b: &str) -> bool {
    match (kind_rank(a), kind_rank(b)) {
        (None, None) => a < b,
        (None, Some(_)) => false,
        (Some(_), None) => true,
        (Some(x), Some(y)) => x < y,
    }
}

/// Helm's `SortManifests` with the install order: `rendered` maps template
/// paths to their output (NOTES.txt already removed). Partials (`_*`) and
/// blank outputs are skipped; templates are taken in path order and their
/// documents in text order; hooks with an unknown event are dropped, as
/// Helm drops them.
pub fn sort_manifests(
    rendered: &[(String, String)],
) -> Result<(Vec<Hook>, Vec<Manifest>), ManifestError> {
    let mut paths: Vec<&(String, String)> = rendered.iter().collect();
    paths.sort_by(|a, b| a.0.cmp(&b.0));
    let mut hooks = Vec::new();
    let mut generic = Vec::new();
    for (path, content) in paths {
        let base = path.rsplit('/').next().unwrap_or(path);
        if base.starts_with('_') || content.trim().is_empty() {
            continue;
        }
        for doc in split_manifests(content) {
            let h = head(&doc).map_err(|source| ManifestError::Yaml {
                path: path.clone(),
                source: Box::new(source),
            })?;
            let hook_types = h
                .annotations
                .iter()
                .find(|(k, _)| k == "helm.sh/hook")
                .map(|(_, v)| v.clone());
            let Some(hook_types) = hook_types else {
                generic.push(Manifest {
                    source: path.clone(),
                    content: doc,
                    kind: h.kind,
                    name: h.name,
                });
                continue;
            };
            let mut events = Vec::new();
            let mut unknown = false;
            for t in hook_types.split(',') {
                let t = t.trim().to_lowercase();
                let t = if t == "test-success" {
                    "test".to_string()
                } else {
                    t
                };
                if !HOOK_EVENTS.contains(&t.as_str()) {
                    unknown = true;
                    break;
                }
                events.push(t);
            }
            if unknown {
                continue;
            }
            let ann = |key: &str| {
                h.annotations
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
            };
            let weight = ann("helm.sh/hook-weight")
                .and_then(|w| go_atoi(&w))
                .unwrap_or(0);
            let delete_policies = ann("helm.sh/hook-delete-policy")
                .map(|p| p.split(',').map(|s| s.trim().to_lowercase()).collect())
                .unwrap_or_default();
            hooks.push(Hook {
                source: path.clone(),
                content: doc,
                kind: h.kind,
                name: h.name,
                events,
                weight,
                delete_policies,
            });
        }
    }
    stable_sort_by_kind(&mut generic, |m| &m.kind);
    stable_sort_by_kind(&mut hooks, |h| &h.kind);
    Ok((hooks, generic))
}

fn stable_sort_by_kind<T>(v: &mut Vec<T>, kind: impl Fn(&T) -> &String) {
    crate::yaml::merge_sort(v, &|a: &T, b: &T| less_by_kind(kind(a), kind(b)));
}

/// Go's `strconv.Atoi`.
fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The CRD files of a chart and its subcharts as `helm template
/// --include-crds` lists them: `(path, contents)` with paths like
/// `parent/charts/sub/crds/x.yaml`.
pub fn crd_objects(chart: &Chart) -> Vec<(String, Vec<u8>)> {
    fn walk(c: &Chart, full: &str, out: &mut Vec<(String, Vec<u8>)>) {
        for f in c.crd_files() {
            out.push((format!("{full}/{}", f.name), f.data.to_vec()));
        }
        for d in &c.dependencies {
            walk(d, &format!("{full}/charts/{}", d.name()), out);
        }
    }
    let mut out = Vec::new();
    walk(chart, chart.name(), &mut out);
    out
}

/// The release manifest Helm stores (and `helm template` prints before the
/// hooks): optional CRDs, then every manifest, each as
/// `---\n# Source: <path>\n<content>\n`.
pub fn release_manifest(crds: &[(String, Vec<u8>)], manifests: &[Manifest]) -> String {
    let mut out = String::new();
    for (path, data) in crds {
        out.push_str("---\n# Source: ");
        out.push_str(path);
        out.push('\n');
        out.push_str(&String::from_utf8_lossy(data));
        out.push('\n');
    }
    for m in manifests {
        out.push_str("---\n# Source: ");
        out.push_str(&m.source);
        out.push('\n');
        out.push_str(&m.content);
        out.push('\n');
    }
    out
}

/// Exactly what `helm template` prints: the release manifest trimmed, a
/// newline, then each hook as `---\n# Source: <path>\n<content>\n` unless
/// `hooks` is empty.
pub fn template_output(release_manifest: &str, hooks: &[Hook]) -> String {
    let mut out = String::new();
    out.push_str(release_manifest.trim_matches(|c: char| c.is_whitespace()));
    out.push('\n');
    for h in hooks {
        out.push_str("---\n# Source: ");
        out.push_str(&h.source);
        out.push('\n');
        out.push_str(&h.content);
        out.push('\n');
    }
    out
}

/// Whether a rendered template path is a NOTES.txt file (Helm removes these
/// from the manifests before sorting).
pub fn is_notes(path: &str) -> bool {
    path.ends_with("NOTES.txt")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_helm() {
        assert_eq!(split_manifests("a: 1\n---\nb: 2\n"), vec!["a: 1", "b: 2\n"]);
        assert_eq!(
            split_manifests("---\na: 1\n  \n---  \n\n---\nb: 2"),
            vec!["a: 1", "---\nb: 2"]
        );
        assert_eq!(split_manifests("---\n---\nb"), vec!["---\nb"]);
        assert_eq!(
            split_manifests("\n\n# c\n---apiVersion: v1\n"),
            vec!["# c", "apiVersion: v1\n"]
        );
        assert!(split_manifests("  \n").is_empty());
    }

    /// The separator regex of Helm, `(^|\s*\n)---\s*`, matched byte by byte
    /// without skipping ahead: the reference for the newline-jumping scan.
    fn split_bytewise(text: &str) -> Vec<String> {
        let text = text.trim_start();
        let b = text.as_bytes();
        let (mut docs, mut start, mut i) = (Vec::new(), 0, 0);
        while i < b.len() {
            let at_line_start = i == 0 || (i > start && b[i - 1] == b'\n');
            if at_line_start && b[i..].starts_with(b"---") {
                let mut sep_start = i;
                if i > 0 {
                    sep_start = i - 1;
                    while sep_start > start && b[sep_start - 1].is_ascii_whitespace() {
                        sep_start -= 1;
                    }
                }
                let mut end = i + 3;
                while end < b.len() && b[end].is_ascii_whitespace() {
                    end += 1;
                }
                docs.push(&text[start..sep_start]);
                (start, i) = (end, end);
                continue;
            }
            i += 1;
        }
        docs.push(&text[start..]);
        docs.into_iter()
            .filter(|d| !d.is_empty())
            .map(|d| d.trim_start().to_string())
            .collect()
    }

    #[test]
    fn never_panics_on_odd_separators() {
        // Every string over a small alphabet up to length 7.
        let alphabet = ['-', '\n', ' ', 'a', '\t'];
        let mut stack = vec![String::new()];
        while let Some(s) = stack.pop() {
            let docs = split_manifests(&s);
            assert!(docs.iter().all(|d| !d.is_empty()));
            assert_eq!(docs, split_bytewise(&s), "{s:?}");
            if s.chars().count() < 7 {
                for c in alphabet {
                    stack.push(format!("{s}{c}"));
                }
            }
        }
    }

    #[test]
    fn hooks_are_separated_and_printed_after_manifests() {
        let files = vec![(
            "c/templates/a.yaml".to_string(),
            "kind: Job\nmetadata:\n  name: j\n  annotations:\n    helm.sh/hook: pre-install,Post-Upgrade\n    helm.sh/hook-weight: \"-5\"\n---\nkind: Pod\nmetadata:\n  annotations:\n    helm.sh/hook: bogus\n---\nkind: Service\n".to_string(),
        )];
        let (hooks, manifests) = sort_manifests(&files).unwrap();
        assert_eq!(hooks.len(), 1);
        assert_eq!(hooks[0].events, vec!["pre-install", "post-upgrade"]);
        assert_eq!(hooks[0].weight, -5);
        assert_eq!(manifests.len(), 1);
        let out = template_output(&release_manifest(&[], &manifests), &hooks);
        assert!(out.starts_with("---\n# Source: c/templates/a.yaml\nkind: Service\n"));
        assert!(out.contains("\n---\n# Source: c/templates/a.yaml\nkind: Job\n"));
    }

    #[test]
    fn kind_order() {
        let files = vec![(
            "c/templates/a.yaml".to_string(),
            "kind: Deployment\n---\nkind: Zed\n---\nkind: Service\n---\nkind: Alpha\n---\nkind: Namespace\n".to_string(),
        )];
        let (_, m) = sort_manifests(&files).unwrap();
        let kinds: Vec<&str> = m.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(
            kinds,
            vec!["Namespace", "Service", "Deployment", "Alpha", "Zed"]
        );
    }
}
