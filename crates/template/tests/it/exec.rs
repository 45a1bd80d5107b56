//! The public API: host objects with methods, options, bounds, run-time
//! template calls from functions, and reuse of one parse.

use std::sync::Arc;

use trellis_template::{
    CallContext, Error, FuncError, FuncMap, Function, Map, Object, Options, Sig, Templates, Ty,
    Value, sprig,
};

/// A stand-in for a host's `.Files`: a method with one argument.
struct Files;

impl Object for Files {
    fn type_name(&self) -> &str {
        "files.Files"
    }
    fn field(&self, _: &str) -> Option<Value> {
        None
    }
    fn has_method(&self, name: &str) -> bool {
        name == "Get"
    }
    fn method_arity(&self, _: &str) -> Option<usize> {
        Some(1)
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        match (name, args[0].as_str()) {
            ("Get", Some("a.txt")) => Ok(Value::str("contents of a")),
            ("Get", _) => Ok(Value::str("")),
            _ => Err(format!("no method {name}")),
        }
    }
}

/// A stand-in for `.Capabilities`: fields holding further objects.
struct Caps;
struct ApiVersions(Vec<&'static str>);

impl Object for ApiVersions {
    fn type_name(&self) -> &str {
        "chartutil.VersionSet"
    }
    fn field(&self, _: &str) -> Option<Value> {
        None
    }
    fn has_method(&self, name: &str) -> bool {
        name == "Has"
    }
    fn method_arity(&self, _: &str) -> Option<usize> {
        Some(1)
    }
    fn call_method(&self, _: &str, args: &[Value]) -> Result<Value, String> {
        Ok(Value::Bool(
            args[0].as_str().is_some_and(|v| self.0.contains(&v)),
        ))
    }
    fn format(&self) -> String {
        format!("[{}]", self.0.join(" "))
    }
}

impl Object for Caps {
    fn type_name(&self) -> &str {
        "*chartutil.Capabilities"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "APIVersions" => Some(Value::object(ApiVersions(vec!["v1", "apps/v1"]))),
            "KubeVersion" => {
                let mut m = Map::new();
                m.insert("Version".into(), Value::str("v1.33.0"));
                Some(Value::map(m))
            }
            _ => None,
        }
    }
}

fn data() -> Value {
    let mut m = Map::new();
    m.insert("Files".into(), Value::object(Files));
    m.insert("Capabilities".into(), Value::object(Caps));
    let mut values = Map::new();
    values.insert("name".into(), Value::str("web"));
    m.insert("Values".into(), Value::map(values));
    Value::map(m)
}

fn run(src: &str) -> Result<String, Error> {
    let mut t = Templates::new("t");
    t.funcs(&sprig::funcs());
    t.parse("t", src)?;
    t.execute("t", &data())
}

#[test]
fn host_methods_and_fields() {
    assert_eq!(run(r#"{{ .Files.Get "a.txt" }}"#).unwrap(), "contents of a");
    assert_eq!(
        run(r#"{{ .Files.Get "a.txt" | upper }}"#).unwrap(),
        "CONTENTS OF A"
    );
    assert_eq!(
        run(r#"{{ if .Capabilities.APIVersions.Has "apps/v1" }}yes{{ end }}{{ .Capabilities.APIVersions.Has "x/v9" }}"#).unwrap(),
        "yesfalse"
    );
    assert_eq!(
        run("{{ .Capabilities.KubeVersion.Version }}").unwrap(),
        "v1.33.0"
    );
    assert_eq!(
        run("{{ .Capabilities.APIVersions }}").unwrap(),
        "[v1 apps/v1]"
    );
    assert_eq!(
        run(r#"{{ "a.txt" | .Files.Get }}"#).unwrap(),
        "contents of a"
    );
}

#[test]
fn host_method_errors_read_as_go() {
    assert_eq!(
        run("{{ .Files.Get }}").unwrap_err().to_string(),
        r#"template: t:1:9: executing "t" at <.Files.Get>: wrong number of args for Get: want 1 got 0"#
    );
    assert_eq!(
        run("{{ .Capabilities.Nope }}").unwrap_err().to_string(),
        r#"template: t:1:16: executing "t" at <.Capabilities.Nope>: can't evaluate field Nope in type interface {}"#
    );
}

#[test]
fn missing_key_options() {
    let mut t = Templates::new("t");
    t.parse("t", "[{{ .a }}]").unwrap();
    let empty = Value::map(Map::new());
    assert_eq!(t.execute("t", &empty).unwrap(), "[<no value>]");
    t.option("missingkey=zero").unwrap();
    assert_eq!(t.execute("t", &empty).unwrap(), "[<no value>]");
    t.option("missingkey=error").unwrap();
    assert_eq!(
        t.execute("t", &empty).unwrap_err().to_string(),
        r#"template: t:1:4: executing "t" at <.a>: map has no entry for key "a""#
    );
    assert!(t.option("missingkey=bogus").is_err());

    // Default mode: a missing key absorbs further field access; zero mode fails it.
    let mut t = Templates::new("t");
    t.parse("t", "{{ .a.b }}").unwrap();
    assert_eq!(t.execute("t", &empty).unwrap(), "<no value>");
    t.option("missingkey=zero").unwrap();
    assert_eq!(
        t.execute("t", &empty).unwrap_err().to_string(),
        r#"template: t:1:5: executing "t" at <.a.b>: nil pointer evaluating interface {}.b"#
    );
}

#[test]
fn parse_once_execute_many_and_in_parallel() {
    let mut t = Templates::new("t");
    t.funcs(&sprig::funcs());
    t.parse(
        "t",
        r#"{{ range $i, $v := .items }}{{ $i }}:{{ $v | quote }} {{ end }}"#,
    )
    .unwrap();
    let t = Arc::new(t);
    let handles: Vec<_> = (0..4)
        .map(|n| {
            let t = t.clone();
            std::thread::spawn(move || {
                let mut m = Map::new();
                m.insert(
                    "items".into(),
                    Value::list(vec![Value::Int(n), Value::str("x")]),
                );
                let data = Value::map(m);
                (0..50)
                    .map(|_| t.execute("t", &data).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for (n, h) in handles.into_iter().enumerate() {
        for out in h.join().unwrap() {
            assert_eq!(out, format!("0:\"{n}\" 1:\"x\" "));
        }
    }
}

#[test]
fn later_files_redefine_templates_but_empty_bodies_do_not() {
    let mut t = Templates::new("set");
    t.parse("a", r#"{{ define "x" }}one{{ end }}"#).unwrap();
    t.parse("b", r#"{{ define "x" }}two{{ end }}"#).unwrap();
    t.parse("c", r#"{{ define "x" }}  {{ end }}"#).unwrap();
    t.parse("main", r#"{{ template "x" }}"#).unwrap();
    assert_eq!(t.execute("main", &Value::Nil).unwrap(), "two");
    assert_eq!(t.names(), vec!["a", "b", "c", "main", "x"]);
    assert_eq!(
        t.execute("nope", &Value::Nil).unwrap_err().to_string(),
        r#"template: no template "nope" associated with template "set""#
    );
}

/// An `include`-like function: runs a named template and returns its text.
fn include() -> FuncMap {
    let mut f = FuncMap::new();
    f.insert(
        "include",
        Function::with_context(
            Sig::fixed(&[Ty::Str, Ty::Any]),
            |ctx: &mut CallContext<'_>, a: &[Value]| {
                let set = ctx.templates().clone();
                ctx.execute(&set, a[0].as_str().unwrap_or_default(), &a[1])
                    .map(Value::from)
                    .map_err(|e| FuncError::Call(e.to_string()))
            },
        ),
    );
    f
}

#[test]
fn functions_can_run_named_templates() {
    let mut t = Templates::new("t");
    t.funcs(&sprig::funcs()).funcs(&include());
    t.parse(
        "t",
        r#"{{ define "name" }}{{ .Values.name }}-app{{ end }}{{ include "name" . | upper }}"#,
    )
    .unwrap();
    assert_eq!(t.execute("t", &data()).unwrap(), "WEB-APP");
}

#[test]
fn recursion_is_bounded() {
    let mut t = Templates::new("t");
    t.funcs(&include());
    t.set_options(Options {
        max_depth: 50,
        ..Options::default()
    });
    t.parse(
        "t",
        r#"{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}"#,
    )
    .unwrap();
    let e = t.execute("t", &Value::Nil).unwrap_err().to_string();
    assert!(e.ends_with("exceeded maximum template depth (50)"), "{e}");

    t.parse(
        "t",
        r#"{{ define "i" }}{{ include "i" . }}{{ end }}{{ include "i" . }}"#,
    )
    .unwrap();
    let e = t.execute("t", &Value::Nil).unwrap_err().to_string();
    assert!(e.contains("exceeded maximum template depth (50)"), "{e}");
}

#[test]
fn default_depth_bound_does_not_overflow_the_stack() {
    let mut t = Templates::new("t");
    t.parse("t", r#"{{ define "r" }}{{ if . }}{{ with . }}{{ template "r" . }}{{ end }}{{ end }}{{ end }}{{ template "r" . }}"#).unwrap();
    let e = std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(move || t.execute("t", &Value::Bool(true)).unwrap_err().to_string())
        .unwrap()
        .join()
        .unwrap();
    assert!(e.ends_with("exceeded maximum template depth (1000)"), "{e}");
}

#[test]
fn hostile_templates_fail_cleanly() {
    let mut t = Templates::new("t");
    t.funcs(&sprig::funcs());
    t.set_options(Options {
        max_steps: 100_000,
        ..Options::default()
    });
    for src in [
        "{{ range 1000000000 }}{{ end }}",
        r#"{{ repeat 1000000000 "abc" }}"#,
        "{{ until 1000000000 | len }}",
        r#"{{ printf "%*d" 100000000 1 }}"#,
        r#"{{ $d := dict }}{{ $_ := set $d "self" $d }}{{ toJson $d }}{{ $d }}{{ deepCopy $d | len }}"#,
        r#"{{ $d := dict }}{{ $_ := set $d "self" $d }}{{ merge $d $d }}{{ mergeOverwrite (dict) $d | len }}"#,
    ] {
        t.parse("t", src).unwrap();
        let _ = t.execute("t", &Value::Nil);
    }
}

#[test]
fn steps_and_output_are_bounded() {
    let mut t = Templates::new("t");
    t.set_options(Options {
        max_steps: 1000,
        ..Options::default()
    });
    t.parse("t", "{{ range 100000 }}x{{ end }}").unwrap();
    let e = t.execute("t", &Value::Nil).unwrap_err();
    assert!(matches!(e, Error::Limit { .. }), "{e}");

    t.set_options(Options {
        max_output: 100,
        ..Options::default()
    });
    let e = t.execute("t", &Value::Nil).unwrap_err();
    assert_eq!(
        e.to_string(),
        "template: t: output exceeds maximum size (100 bytes)"
    );
}

#[test]
fn set_mutates_shared_maps() {
    let out = run(
        r#"{{ $d := dict }}{{ $_ := set $d "a" 1 }}{{ $e := $d }}{{ $_ := set $e "b" 2 }}{{ $d }}"#,
    )
    .unwrap();
    assert_eq!(out, "map[a:1 b:2]");
}

#[test]
fn parse_errors_name_line() {
    let e = run("a\nb\n{{ if .x }}").unwrap_err();
    assert_eq!(e.to_string(), "template: t:3: unexpected EOF");
    let e = run("{{ .x | 3 }}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "template: t:1: non executable command in pipeline stage 2"
    );
}

#[test]
fn function_values_can_be_called() {
    let mut m = Map::new();
    m.insert(
        "f".into(),
        Value::Func(Function::new(Sig::variadic(&[], Ty::Any), |a| {
            Ok(Value::Int(a.len() as i64))
        })),
    );
    m.insert(
        "g".into(),
        Value::Func(Function::new(Sig::fixed(&[Ty::Str]), |a| Ok(a[0].clone()))),
    );
    let mut t = Templates::new("t");
    t.parse("t", "{{ call .f 1 2 3 }} {{ call .g \"x\" }}")
        .unwrap();
    let data = Value::map(m);
    assert_eq!(t.execute("t", &data).unwrap(), "3 x");
    t.parse("t", "{{ call .g }}").unwrap();
    assert_eq!(
        t.execute("t", &data).unwrap_err().to_string(),
        r#"template: t:1:3: executing "t" at <call .g>: error calling call: wrong number of args for .g: got 0 want 1"#
    );
    t.parse("t", "{{ call .g 1 }}").unwrap();
    assert_eq!(
        t.execute("t", &data).unwrap_err().to_string(),
        r#"template: t:1:3: executing "t" at <call .g 1>: error calling call: arg 0: value has type int; should be string"#
    );
}

#[test]
fn custom_delimiters() {
    let mut t = Templates::new("t");
    t.set_options(Options {
        left_delim: "[[".into(),
        right_delim: "]]".into(),
        ..Options::default()
    });
    t.parse("t", "{{ x }} [[- .a -]] !").unwrap();
    let mut m = Map::new();
    m.insert("a".into(), Value::Int(1));
    assert_eq!(t.execute("t", &Value::map(m)).unwrap(), "{{ x }}1!");
}

#[test]
fn random_functions_have_the_right_shape() {
    let out = run(r#"{{ randAlphaNum 16 }}|{{ randNumeric 4 }}|{{ uuidv4 }}|{{ len (shuffle "abcdef") }}|{{ randInt 5 6 }}"#).unwrap();
    let parts: Vec<&str> = out.split('|').collect();
    assert_eq!(parts[0].len(), 16);
    assert!(parts[0].bytes().all(|b| b.is_ascii_alphanumeric()));
    assert!(parts[1].bytes().all(|b| b.is_ascii_digit()) && parts[1].len() == 4);
    assert_eq!(parts[2].len(), 36);
    assert_eq!(&parts[2][14..15], "4");
    assert_eq!(parts[3], "6");
    assert_eq!(parts[4], "5");
}
