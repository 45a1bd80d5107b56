//! Helm's built-in objects, functions, subchart scoping, library charts and
//! error layout, on small charts written by the test and rendered by both
//! Trellis and real Helm: outputs and error texts must be identical.

use std::path::Path;

use trellis_helm::{FsChartFiles, RenderRequest, load_chart, render_chart};

use crate::reference::helm_render;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// One chart: `(path, contents)` files.
struct Fixture {
    name: &'static str,
    files: Vec<(&'static str, &'static str)>,
    values: Option<&'static str>,
    kube_version: Option<&'static str>,
    is_upgrade: bool,
    errors: Compare,
}

/// How error texts are compared.
#[derive(Clone, Copy, PartialEq)]
enum Compare {
    Exact,
    /// Helm orders some lines by Go's map iteration (random).
    SortedLines,
    /// Only the part before the YAML reader's own wording of the cause.
    Prefix(usize),
}

fn fx(name: &'static str, files: &[(&'static str, &'static str)]) -> Fixture {
    Fixture {
        name,
        files: files.to_vec(),
        values: None,
        kube_version: None,
        is_upgrade: false,
        errors: Compare::Exact,
    }
}

const CHART: &str = "apiVersion: v2\nname: top\nversion: 1.2.3\nappVersion: \"4.5\"\ndescription: d\nkeywords: [a, b]\nmaintainers:\n- name: m\n  email: e@x\nannotations:\n  k: v\ndependencies:\n- name: sub\n  version: 0.1.0\n  alias: child\n  condition: child.enabled\n- name: lib\n  version: 0.1.0\n";

fn fixtures() -> Vec<Fixture> {
    let mut v = vec![
        fx(
            "objects",
            &[
                ("Chart.yaml", CHART),
                (
                    "values.yaml",
                    "x: 1\nchild:\n  y: 2\n  enabled: true\nglobal:\n  g: 1\nlist: [a, b]\n",
                ),
                ("files/a.txt", "hello\nworld\n"),
                ("files/b.conf", "bin"),
                ("files/sub/c.json", "{}"),
                (
                    "templates/objects.txt",
                    "capstr: {{ .Capabilities | toString }}\nkv: {{ .Capabilities.KubeVersion }} {{ .Capabilities.KubeVersion.Version }} {{ .Capabilities.KubeVersion.Major }} {{ .Capabilities.KubeVersion.Minor }} {{ .Capabilities.KubeVersion.GitVersion }}\nhv: {{ .Capabilities.HelmVersion.Version }}\napiv: {{ .Capabilities.APIVersions }}\nhas: {{ .Capabilities.APIVersions.Has \"apps/v1\" }} {{ .Capabilities.APIVersions.Has \"apps/v1/Deployment\" }} {{ .Capabilities.APIVersions.Has \"x/v9\" }}\nchart: {{ toJson .Chart }}\nchartstr: {{ .Chart }}\nchartyaml: {{ toYaml .Chart | nindent 2 }}\nrelease: {{ toJson .Release }} {{ .Release.Revision | typeOf }}\ntmpl: {{ toJson .Template }}\nfiles: {{ .Files | typeOf }} {{ .Files }}\nconf: {{ .Files.AsConfig | nindent 2 }}\nsec: {{ .Files.AsSecrets | nindent 2 }}\nlines: {{ .Files.Lines \"files/a.txt\" | toJson }} {{ .Files.Lines \"nope\" | toJson }}\nget: {{ .Files.GetBytes \"files/b.conf\" | typeOf }} {{ .Files.Get \"nope\" | quote }} {{ .Files.Get \"files/a.txt\" | quote }}\nglob: {{ range $k, $v := .Files.Glob \"files/**\" }}{{ $k }}={{ $v | toString }} {{ end }}\nglob2: {{ range $k, $v := .Files.Glob \"files/*.{txt,conf}\" }}{{ $k }} {{ end }}\nsubs: {{ keys .Subcharts | sortAlpha }} {{ .Subcharts.child.Values.y }} {{ .Subcharts.child.Chart.Name }}\nlk: {{ lookup \"v1\" \"Secret\" \"ns\" \"n\" | toJson }}\nfy: {{ fromYaml \"a: 1\\nb: [x]\" | toJson }} {{ fromYaml \"- 1\" | toJson }} {{ fromYamlArray \"- 1\\n- a\" | toJson }} {{ fromYamlArray \"a: 1\" | toJson }}\nfj: {{ fromJson \"{\\\"a\\\": [1]}\" | toJson }} {{ fromJson \"[1]\" | toJson }} {{ fromJsonArray \"[1, 2]\" | toJson }} {{ fromJsonArray \"{}\" | toJson }}\nty: {{ toYaml .Values.list }} {{ toYamlPretty (dict \"a\" (list 1 2)) }} {{ mustToYaml .Values.list }}\ntoml: {{ toToml (dict \"a\" 1 \"b\" (dict \"c\" \"d\")) }}\ntpl: {{ tpl \"{{ .Values.x }}-{{ include \\\"lib.name\\\" . }}\" . }} {{ tpl \"\" . }} {{ tpl \"plain\" . }} {{ tpl \"{{ .nothing }}\" dict }}\nreq: {{ required \"no\" .Values.x }}\nmissing: [{{ .Values.nope }}] [{{ .Values.nope.deeper | default \"d\" }}]\n",
                ),
                ("templates/NOTES.txt", "notes for {{ .Release.Name }}"),
                (
                    "templates/_helpers.tpl",
                    "{{ define \"top.shadow\" }}top{{ end }}",
                ),
                (
                    "templates/cm.yaml",
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n  annotations:\n    shadow: {{ include \"top.shadow\" . }}\n    libname: {{ include \"lib.name\" . }}\n",
                ),
                (
                    "charts/sub/Chart.yaml",
                    "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
                ),
                ("charts/sub/values.yaml", "y: 1\nz: 3\n"),
                (
                    "charts/sub/templates/_helpers.tpl",
                    "{{ define \"top.shadow\" }}sub{{ end }}",
                ),
                (
                    "charts/sub/templates/NOTES.txt",
                    "sub notes {{ .Values.z }}",
                ),
                (
                    "charts/sub/templates/sub.txt",
                    "sub: {{ toJson .Values }} {{ .Chart.Name }} {{ .Chart.IsRoot }} {{ .Template.Name }} {{ .Template.BasePath }} {{ include \"top.shadow\" . }} {{ .Files.Get \"values.yaml\" | quote }}\n",
                ),
                (
                    "charts/lib/Chart.yaml",
                    "apiVersion: v2\nname: lib\nversion: 0.1.0\ntype: library\n",
                ),
                (
                    "charts/lib/templates/_lib.tpl",
                    "{{ define \"lib.name\" }}lib-{{ .Chart.Name }}{{ end }}",
                ),
                ("charts/lib/templates/ignored.yaml", "kind: Ignored\n"),
            ],
        ),
        fx(
            "parse-error",
            &[
                ("Chart.yaml", "apiVersion: v2\nname: pe\nversion: 1.0.0\n"),
                ("templates/a.yaml", "a: 1\nb: {{ .Values.x }}\n{{ end }}\n"),
            ],
        ),
        fx(
            "exec-error",
            &[
                ("Chart.yaml", "apiVersion: v2\nname: ee\nversion: 1.0.0\n"),
                ("values.yaml", "a: null\n"),
                ("templates/a.yaml", "a: 1\nb: {{ .Values.a.b.c }}\n"),
            ],
        ),
        fx(
            "include-error",
            &[
                ("Chart.yaml", "apiVersion: v2\nname: ie\nversion: 1.0.0\n"),
                (
                    "templates/_h.tpl",
                    "{{ define \"h\" }}\n{{ index .Values.x 3 }}{{ end }}",
                ),
                ("templates/a.yaml", "a: {{ include \"h\" . }}\n"),
            ],
        ),
        fx(
            "required-in-include",
            &[
                ("Chart.yaml", "apiVersion: v2\nname: ri\nversion: 1.0.0\n"),
                (
                    "templates/_h.tpl",
                    "{{ define \"h\" }}{{ required \"x is required\" .Values.x }}{{ end }}",
                ),
                ("templates/a.yaml", "\n\na: {{ include \"h\" . }}\n"),
            ],
        ),
        fx(
            "fail",
            &[
                ("Chart.yaml", "apiVersion: v2\nname: fl\nversion: 1.0.0\n"),
                (
                    "templates/a.yaml",
                    "{{- if true }}\n  {{ fail \"boom\" }}\n{{- end }}\n",
                ),
            ],
        ),
        fx(
            "tpl-error",
            &[
                ("Chart.yaml", "apiVersion: v2\nname: te\nversion: 1.0.0\n"),
                ("values.yaml", "t: \"{{ .Values.nope.x }}\"\n"),
                ("templates/a.yaml", "a: {{ tpl .Values.t . }}\n"),
            ],
        ),
        fx(
            "notes-error",
            &[
                ("Chart.yaml", "apiVersion: v2\nname: ne\nversion: 1.0.0\n"),
                (
                    "templates/NOTES.txt",
                    "{{ required \"notes need x\" .Values.x }}",
                ),
                ("templates/a.yaml", "kind: A\n"),
            ],
        ),
        fx(
            "not-yaml",
            &[
                ("Chart.yaml", "apiVersion: v2\nname: ny\nversion: 1.0.0\n"),
                ("templates/a.yaml", "a: [\n"),
            ],
        ),
        fx(
            "schema",
            &[
                ("Chart.yaml", "apiVersion: v2\nname: sc\nversion: 1.0.0\n"),
                ("values.yaml", "port: \"80\"\nmode: c\nname: ab\n"),
                (
                    "values.schema.json",
                    "{\"type\": \"object\", \"required\": [\"image\"], \"properties\": {\"port\": {\"type\": \"integer\"}, \"mode\": {\"enum\": [\"a\", \"b\"]}, \"name\": {\"type\": \"string\", \"minLength\": 3}}}",
                ),
                ("templates/a.yaml", "kind: A\n"),
            ],
        ),
    ];
    let last = v.len();
    v[last - 2].errors = Compare::Prefix(
        "YAML parse error on ny/templates/a.yaml: error converting YAML to JSON: yaml: line 1: "
            .len(),
    );
    v[last - 1].errors = Compare::SortedLines;
    let mut kv = fx(
        "kube-version",
        &[
            ("Chart.yaml", "apiVersion: v2\nname: kv\nversion: 1.0.0\n"),
            (
                "templates/a.yaml",
                "k: {{ .Capabilities.KubeVersion }} {{ .Capabilities.KubeVersion.Minor }} {{ .Release.IsUpgrade }} {{ .Release.IsInstall }}",
            ),
        ],
    );
    kv.kube_version = Some("1.29.3");
    kv.is_upgrade = true;
    v.push(kv);
    let mut incompatible = fx(
        "kube-version-constraint",
        &[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: kc\nversion: 1.0.0\nkubeVersion: \">=1.40.0\"\n",
            ),
            ("templates/a.txt", "x"),
        ],
    );
    incompatible.values = None;
    v.push(incompatible);
    v
}

#[test]
fn builtins_and_errors_match_helm() {
    let tmp = tempfile::tempdir().unwrap();
    let fixtures = fixtures();
    let mut jobs = Vec::new();
    for f in &fixtures {
        let dir = tmp.path().join(f.name);
        for (p, text) in &f.files {
            write(&dir, p, text);
        }
        jobs.push(serde_json::json!({
            "chart": dir,
            "kube_version": f.kube_version,
            "is_upgrade": f.is_upgrade,
            "values": f.values.iter().collect::<Vec<_>>(),
        }));
    }
    let batch = tmp.path().join("jobs.json");
    std::fs::write(&batch, serde_json::to_vec(&jobs).unwrap()).unwrap();
    let results = helm_render(&["--render-batch", batch.to_str().unwrap()]);
    let mut failures = Vec::new();
    for (f, helm) in fixtures.iter().zip(results.as_array().unwrap()) {
        let files = FsChartFiles::new(tmp.path());
        let chart = load_chart(&files, f.name).unwrap();
        let req = RenderRequest {
            release_name: "my-release".into(),
            namespace: "test-ns".into(),
            kube_version: f.kube_version.map(str::to_string),
            is_upgrade: f.is_upgrade,
            ..Default::default()
        };
        let ours = render_chart(&chart, &req);
        match (&ours, helm["ok"].as_bool().unwrap()) {
            (Ok(out), true) => {
                for (name, text) in helm["templates"].as_object().unwrap() {
                    let text = text.as_str().unwrap();
                    let got = if name.ends_with("NOTES.txt") {
                        if *name == format!("{}/templates/NOTES.txt", chart.name()) {
                            Some(&out.notes)
                        } else {
                            continue;
                        }
                    } else {
                        out.templates.get(name)
                    };
                    if got.map(String::as_str) != Some(text) {
                        let got = got.map(String::as_str).unwrap_or("<missing>");
                        let line = got
                            .lines()
                            .zip(text.lines())
                            .find(|(a, b)| a != b)
                            .map(|(a, b)| format!("\n  helm:    {b:?}\n  trellis: {a:?}"))
                            .unwrap_or_default();
                        failures.push(format!(
                            "{}: {name} differs{line}\nHELM:\n{text}\nTRELLIS:\n{got}",
                            f.name
                        ));
                    }
                }
                // The harness's release manifest comes from an install,
                // which is never an upgrade.
                if !f.is_upgrade && out.release_manifest() != helm["manifest"].as_str().unwrap() {
                    failures.push(format!("{}: release manifest differs", f.name));
                }
            }
            (Err(e), false) => {
                let want = helm["error"].as_str().unwrap();
                let got = e.to_string();
                let same = match f.errors {
                    Compare::Exact => got == want,
                    Compare::SortedLines => {
                        let mut a: Vec<&str> = got.lines().collect();
                        let mut b: Vec<&str> = want.lines().collect();
                        a.sort_unstable();
                        b.sort_unstable();
                        a == b
                    }
                    Compare::Prefix(n) => got.get(..n).is_some() && got.get(..n) == want.get(..n),
                };
                if !same {
                    failures.push(format!(
                        "{}: error differs:\n  helm:    {want:?}\n  trellis: {:?}",
                        f.name,
                        e.to_string()
                    ));
                }
            }
            (Ok(_), false) => failures.push(format!("{}: Helm failed: {}", f.name, helm["error"])),
            (Err(e), true) => failures.push(format!("{}: Trellis failed: {e}", f.name)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
