//! `--set` parsing compared with Helm's strvals parser, live.

use trellis_helm::{Map, Value, parse_set};

use crate::reference::helm_render;
use crate::support::go_json_value;

/// JSON carries no int64/float64 distinction, so compare numbers as floats.
fn as_json_numbers(v: &Value) -> Value {
    match v {
        Value::Int(i) | Value::Int64(i) => Value::Float(*i as f64),
        Value::List(l) => Value::list(l.iter().map(as_json_numbers).collect()),
        Value::Map(m) => {
            let mut out = Map::new();
            for (k, v) in m.read().iter() {
                out.insert(k.clone(), as_json_numbers(v));
            }
            Value::map(out)
        }
        other => other.clone(),
    }
}

const CASES: &[(&str, bool)] = &[
    ("a=1", false),
    ("a=1,b=2", false),
    ("a.b.c=x", false),
    (
        "a=true,b=FALSE,c=Null,d=0,e=007,f=-5,g=+5,h=1.5,i=1e3",
        false,
    ),
    ("a=1,b=true", true),
    ("list={a,b,c}", false),
    ("list={1,2},x=y", false),
    ("list={}", false),
    ("a[0]=x", false),
    ("a[2]=x", false),
    ("a[0].b=1,a[0].c=2", false),
    ("a[1].b=1,a[0]=x", false),
    ("a[0][1]=x", false),
    ("a[0]={1,2}", false),
    ("a\\.b=1", false),
    ("a=x\\,y", false),
    ("a=b=c", false),
    ("a.b=1,a.c=2,a.b=3", false),
    ("a=", false),
    ("a=,b=1", false),
    ("name=value with spaces", false),
    ("a", false),
    ("a,b=1", false),
    ("a=1,a.b=2", false),
    ("a.b=1,a=2", false),
    ("a.=x", false),
    ("a={x", false),
    ("a[x]=1", false),
    ("a[-1]=1", false),
    ("a[0]x=1", false),
    ("a=1,a[0]=2", false),
    ("", false),
    ("a=😀,b=ü", false),
    ("a=12345678901234567890", false),
    ("a=0x10", false),
];

#[test]
fn set_parsing_matches_helm() {
    let batch: Vec<_> = CASES
        .iter()
        .map(|(e, s)| serde_json::json!({"expr": e, "string": s}))
        .collect();
    let dir = tempfile_dir();
    let path = dir.join("batch.json");
    std::fs::write(&path, serde_json::to_vec(&batch).unwrap()).unwrap();
    let results = helm_render(&["--set-batch", path.to_str().unwrap()]);
    let results = results.as_array().unwrap();
    let mut failures = Vec::new();
    for ((expr, string), helm) in CASES.iter().zip(results) {
        let mut v = Value::map(Map::new());
        let ours = parse_set(expr, &mut v, *string);
        match (helm["ok"].as_bool().unwrap(), ours) {
            (true, Ok(())) => {
                let want = go_json_value(&helm["values"]);
                if as_json_numbers(&v) != want {
                    failures.push(format!("{expr:?}: helm {want:?}, trellis {v:?}"));
                }
            }
            (false, Err(e)) => {
                let want = helm["error"].as_str().unwrap();
                if e.to_string() != want {
                    failures.push(format!(
                        "{expr:?}: helm error {want:?}, trellis error {:?}",
                        e.to_string()
                    ));
                }
            }
            (true, Err(e)) => failures.push(format!(
                "{expr:?}: helm ok {}, trellis error {e}",
                helm["values"]
            )),
            (false, Ok(())) => failures.push(format!(
                "{expr:?}: helm error {}, trellis ok {v:?}",
                helm["error"]
            )),
        }
    }
    println!(
        "--set: {}/{} cases match Helm",
        CASES.len() - failures.len(),
        CASES.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("trellis-helm-it-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
