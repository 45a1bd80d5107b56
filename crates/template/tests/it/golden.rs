//! Compares execution with outputs and errors produced by real Helm
//! (see `tests/golden.py`): every case of `golden/*.txt` except `pending.txt`
//! and `crypto_shapes.txt` (random outputs, compared by structure in `crypto.rs`).

use std::fs;
use std::path::{Path, PathBuf};

use trellis_template::{
    Error, FuncError, FuncMap, Function, Map, MissingKey, Options, Sig, Templates, Ty, Value, sprig,
};

const NAME: &str = "golden/templates/case.yaml";

pub(crate) fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/golden")
}

pub(crate) struct Case {
    pub(crate) name: String,
    pub(crate) template: String,
    values: Option<serde_json::Value>,
}

/// Same format as golden.py's `parse_cases`.
pub(crate) fn parse_cases(text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut cur: Option<(String, Vec<&str>, Option<String>)> = None;
    let mut in_values = false;
    let flush = |cur: Option<(String, Vec<&str>, Option<String>)>, cases: &mut Vec<Case>| {
        if let Some((name, buf, values)) = cur {
            cases.push(Case {
                name,
                template: buf.join("\n"),
                values: values.map(|v| serde_json::from_str(&v).unwrap()),
            });
        }
    };
    for line in text.split('\n') {
        if let Some(n) = line.strip_prefix("=== ") {
            flush(cur.take(), &mut cases);
            cur = Some((n.trim().to_string(), Vec::new(), None));
            in_values = false;
        } else if line.starts_with("--- values") {
            in_values = true;
            if let Some(c) = cur.as_mut() {
                c.2 = Some(String::new());
            }
        } else if let Some(c) = cur.as_mut() {
            if in_values {
                let v = c.2.get_or_insert_with(String::new);
                v.push_str(line);
                v.push('\n');
            } else {
                c.1.push(line);
            }
        }
    }
    flush(cur, &mut cases);
    for c in &mut cases {
        if c.template.ends_with('\n') {
            c.template.pop();
        }
    }
    cases
}

/// Helm hands values to templates as JSON-decoded Go data: numbers are float64.
fn to_value(j: &serde_json::Value) -> Value {
    Value::from(j)
}

const WARN_START: &str = "HELM_ERR_START";
const WARN_END: &str = "HELM_ERR_END";

/// Helm's `fail` and `required`, which mark their messages for Helm's error
/// rewriting.
fn helm_like_funcs() -> FuncMap {
    let mut f = FuncMap::new();
    f.add("fail", Sig::fixed(&[Ty::Str]), |a| {
        Err(FuncError::Call(format!(
            "{WARN_START}{}{WARN_END}",
            a[0].as_str().unwrap_or_default()
        )))
    });
    f.insert(
        "required",
        Function::new(Sig::fixed(&[Ty::Str, Ty::Any]), |a| {
            let v = &a[1];
            if v.is_nil() || matches!(v, Value::Str(s) if s.is_empty()) {
                return Err(FuncError::Call(format!(
                    "{WARN_START}{}{WARN_END}",
                    a[0].as_str().unwrap_or_default()
                )));
            }
            Ok(v.clone())
        }),
    );
    f
}

/// The error layout Helm 4 shows for template errors.
fn helm_error_text(e: &Error) -> String {
    match e {
        Error::Parse(msg) => {
            // "template: NAME:LINE: ...: CAUSE" becomes "parse error at (NAME:LINE): CAUSE".
            let rest = msg.strip_prefix("template: ").unwrap_or(msg);
            let (loc, tail) = rest.split_once(": ").unwrap_or((rest, ""));
            let cause = tail.rsplit(": ").next().unwrap_or(tail);
            format!("parse error at ({loc}): {cause}")
        }
        Error::Exec(x) => {
            if let (Some(s), Some(e2)) = (x.message.find(WARN_START), x.message.find(WARN_END)) {
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
        other => other.to_string(),
    }
}

fn run_file(file: &str) -> (usize, Vec<String>) {
    let text = fs::read_to_string(dir().join(format!("{file}.txt"))).unwrap();
    let expected: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(dir().join(format!("{file}.expected.json"))).unwrap(),
    )
    .unwrap();
    let defaults: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir().join("values.json")).unwrap()).unwrap();
    let cases = parse_cases(&text);
    let mut failures = Vec::new();
    for c in &cases {
        let want = &expected[&c.name];
        assert!(
            !want.is_null(),
            "{file}: no golden for case {} (rerun tests/golden.py)",
            c.name
        );
        let mut t = Templates::new(NAME);
        t.funcs(&sprig::funcs());
        t.funcs(&helm_like_funcs());
        t.set_options(Options {
            missing_key: MissingKey::Zero,
            ..Options::default()
        });
        let values = to_value(c.values.as_ref().unwrap_or(&defaults));
        let mut data = Map::new();
        data.insert("Values".into(), values);
        let got = t
            .parse(NAME, &c.template)
            .and_then(|t| t.execute(NAME, &Value::map(data)))
            .map(|out| out.replace("<no value>", ""));
        let ok = match (&got, want.get("out"), want.get("err")) {
            (Ok(out), Some(w), _) => w.as_str() == Some(out.as_str()),
            (Err(e), _, Some(w)) => w.as_str() == Some(helm_error_text(e).as_str()),
            _ => false,
        };
        if !ok {
            let got = match &got {
                Ok(o) => format!("out {o:?}"),
                Err(e) => format!("err {:?}", helm_error_text(e)),
            };
            failures.push(format!("{file}/{}:\n  want {want}\n  got  {got}", c.name));
        }
    }
    (cases.len(), failures)
}

#[test]
fn core_matches_helm() {
    let (n, failures) = run_file("core");
    println!("core: {}/{n} cases match Helm", n - failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn sprig_matches_helm() {
    let (n, failures) = run_file("sprig");
    println!("sprig: {}/{n} cases match Helm", n - failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn crypto_matches_helm() {
    let (n, failures) = run_file("crypto");
    println!("crypto: {}/{n} cases match Helm", n - failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
