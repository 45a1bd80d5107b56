//! `values.schema.json` validation with Helm 4's error text.
//!
//! Helm 4 validates with santhosh-tekuri/jsonschema v6 and prints each
//! failing leaf as `- at '<json pointer>': <message>` under the chart's
//! name. The validator here covers the keywords charts use (types,
//! properties, required, enums, bounds, patterns, arrays, combinators,
//! local `$ref`s) and words its messages as v6 does.
//!
//! # Deviation
//! Helm's order of errors under one object follows Go's map iteration
//! (random); here `required` comes first, then properties in schema order.
//! Formats and remote `$ref`s are not checked.

use std::sync::{Arc, OnceLock};

use serde_json::Value as Json;
use trellis_template::Value;

use crate::cache::ContentCache;
use crate::chart::Chart;
use crate::render::HelmError;

/// Validates `values` (coalesced, for `chart` and its subcharts) against
/// every chart's schema, as Helm's `ValidateAgainstSchema` does.
pub fn validate_chart(chart: &Chart, values: &Value) -> Result<(), HelmError> {
    let mut report = String::new();
    validate_rec(chart, values, &mut report)?;
    if report.is_empty() {
        Ok(())
    } else {
        Err(HelmError::Schema(report))
    }
}

/// A chart's schema, parsed once per distinct text: every render validates
/// against it, and large schemas take longer to parse than to check.
fn parse_schema(raw: &[u8]) -> Result<Arc<Json>, String> {
    static CACHE: OnceLock<ContentCache<Result<Arc<Json>, String>>> = OnceLock::new();
    CACHE
        .get_or_init(|| ContentCache::new(16 << 20))
        .get_or_compute(raw, || {
            serde_json::from_slice(raw)
                .map(Arc::new)
                .map_err(|e| e.to_string())
        })
}

/// A schema's `pattern` or `patternProperties` key compiled once: the same
/// patterns are checked against many values on every render. `None` for a
/// pattern that does not compile (it is then ignored, as before).
fn cached_regex(pattern: &str) -> Option<regex::Regex> {
    static CACHE: OnceLock<ContentCache<Option<regex::Regex>>> = OnceLock::new();
    CACHE
        .get_or_init(|| ContentCache::new(1 << 20))
        .get_or_compute(pattern.as_bytes(), || regex::Regex::new(pattern).ok())
}

fn validate_rec(chart: &Chart, values: &Value, report: &mut String) -> Result<(), HelmError> {
    if let Some(raw) = &chart.schema {
        let schema = parse_schema(raw).map_err(|message| HelmError::InvalidSchema {
            chart: chart.name().to_string(),
            message,
        })?;
        let mut errs = Vec::new();
        Validator { root: &schema }.check(&schema, values, "", &mut errs, 0);
        if !errs.is_empty() {
            report.push_str(chart.name());
            report.push_str(":\n");
            for (loc, msg) in errs {
                report.push_str(&format!("- at '{loc}': {msg}\n"));
            }
        }
    }
    for sub in &chart.dependencies {
        let sv = match values {
            Value::Map(m) => m
                .get(sub.name())
                .unwrap_or_else(|| Value::map(Default::default())),
            _ => Value::map(Default::default()),
        };
        validate_rec(sub, &sv, report)?;
    }
    Ok(())
}

struct Validator<'s> {
    root: &'s Json,
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Nil => "null",
        Value::Bool(_) => "boolean",
        Value::Int(_) | Value::Int64(_) | Value::Float(_) => "number",
        Value::Str(_) | Value::Bytes(_) => "string",
        Value::List(_) => "array",
        Value::Map(_) => "object",
        _ => "object",
    }
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) | Value::Int64(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

fn is_type(v: &Value, t: &str) -> bool {
    match t {
        "integer" => num(v).is_some_and(|f| f.fract() == 0.0),
        "number" => num(v).is_some(),
        other => type_of(v) == other,
    }
}

fn to_json(v: &Value) -> Json {
    match v {
        Value::Nil => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) | Value::Int64(i) => Json::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Str(s) => Json::String(s.to_string()),
        Value::List(l) => Json::Array(l.iter().map(to_json).collect()),
        Value::Map(m) => Json::Object(
            m.snapshot()
                .into_iter()
                .map(|(k, v)| (k, to_json(&v)))
                .collect(),
        ),
        other => Json::String(other.to_go_string()),
    }
}

fn json_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// v6's quoting of a value in messages: strings in single quotes, other
/// values as JSON.
fn show(v: &Json) -> String {
    match v {
        Json::String(s) => format!("'{s}'"),
        Json::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn escape_ptr(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

type Errs = Vec<(String, String)>;

impl<'s> Validator<'s> {
    fn resolve(&self, r: &str) -> Option<&'s Json> {
        let frag = r.strip_prefix('#')?;
        if frag.is_empty() {
            return Some(self.root);
        }
        let mut cur = self.root;
        for part in frag.trim_start_matches('/').split('/') {
            let part = part.replace("~1", "/").replace("~0", "~");
            cur = match cur {
                Json::Object(m) => m.get(&part)?,
                Json::Array(a) => a.get(part.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    fn valid(&self, s: &'s Json, v: &Value, depth: usize) -> bool {
        let mut e = Vec::new();
        self.check(s, v, "", &mut e, depth);
        e.is_empty()
    }

    fn check(&self, s: &'s Json, v: &Value, loc: &str, errs: &mut Errs, depth: usize) {
        if depth > 64 {
            return;
        }
        let obj = match s {
            Json::Bool(false) => {
                errs.push((loc.to_string(), "false schema".into()));
                return;
            }
            Json::Object(o) => o,
            _ => return,
        };
        let mut err = |m: String| errs.push((loc.to_string(), m));
        if let Some(Json::String(r)) = obj.get("$ref")
            && let Some(target) = self.resolve(r)
        {
            self.check(target, v, loc, errs, depth + 1);
            return;
        }
        if let Some(t) = obj.get("type") {
            let types: Vec<&str> = match t {
                Json::String(s) => vec![s.as_str()],
                Json::Array(a) => a.iter().filter_map(Json::as_str).collect(),
                _ => Vec::new(),
            };
            if !types.is_empty() && !types.iter().any(|t| is_type(v, t)) {
                err(format!("got {}, want {}", type_of(v), types.join(" or ")));
                return;
            }
        }
        if let Some(Json::Array(options)) = obj.get("enum") {
            let j = to_json(v);
            if !options.iter().any(|o| json_eq(o, &j)) {
                let shown: Vec<String> = options.iter().map(show).collect();
                if shown.len() == 1 {
                    err(format!("value must be {}", shown[0]));
                } else {
                    err(format!("value must be one of {}", shown.join(", ")));
                }
            }
        }
        if let Some(c) = obj.get("const")
            && !json_eq(c, &to_json(v))
        {
            err(format!("value must be {}", show(c)));
        }
        if let Some(n) = num(v) {
            let bound = |k: &str| obj.get(k).and_then(Json::as_f64);
            let fmt =
                |f: f64| show(&serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number));
            if let Some(m) = bound("minimum")
                && n < m
            {
                err(format!("minimum: got {}, want {}", fmt(n), fmt(m)));
            }
            if let Some(m) = bound("maximum")
                && n > m
            {
                err(format!("maximum: got {}, want {}", fmt(n), fmt(m)));
            }
            if let Some(m) = bound("exclusiveMinimum")
                && n <= m
            {
                err(format!("exclusiveMinimum: got {}, want {}", fmt(n), fmt(m)));
            }
            if let Some(m) = bound("exclusiveMaximum")
                && n >= m
            {
                err(format!("exclusiveMaximum: got {}, want {}", fmt(n), fmt(m)));
            }
            if let Some(m) = bound("multipleOf")
                && m != 0.0
                && (n / m).fract() != 0.0
            {
                err(format!("{} not multipleOf {}", fmt(n), fmt(m)));
            }
        }
        if let Value::Str(st) = v {
            let len = st.chars().count() as u64;
            if let Some(m) = obj.get("minLength").and_then(Json::as_u64)
                && len < m
            {
                err(format!("minLength: got {len}, want {m}"));
            }
            if let Some(m) = obj.get("maxLength").and_then(Json::as_u64)
                && len > m
            {
                err(format!("maxLength: got {len}, want {m}"));
            }
            if let Some(Json::String(p)) = obj.get("pattern")
                && let Some(re) = cached_regex(p)
                && !re.is_match(st)
            {
                err(format!("'{st}' does not match pattern '{p}'"));
            }
        }
        if let Value::List(items) = v {
            let n = items.len() as u64;
            if let Some(m) = obj.get("minItems").and_then(Json::as_u64)
                && n < m
            {
                err(format!("minItems: got {n}, want {m}"));
            }
            if let Some(m) = obj.get("maxItems").and_then(Json::as_u64)
                && n > m
            {
                err(format!("maxItems: got {n}, want {m}"));
            }
            if obj.get("uniqueItems") == Some(&Json::Bool(true)) {
                let js: Vec<Json> = items.iter().map(to_json).collect();
                'outer: for i in 0..js.len() {
                    for j in i + 1..js.len() {
                        if json_eq(&js[i], &js[j]) {
                            err(format!("items at {i} and {j} are equal"));
                            break 'outer;
                        }
                    }
                }
            }
            match obj.get("items") {
                Some(Json::Array(tuple)) => {
                    for (i, (sch, it)) in tuple.iter().zip(items.iter()).enumerate() {
                        self.check(sch, it, &format!("{loc}/{i}"), errs, depth + 1);
                    }
                }
                Some(sch) => {
                    for (i, it) in items.iter().enumerate() {
                        self.check(sch, it, &format!("{loc}/{i}"), errs, depth + 1);
                    }
                }
                None => {}
            }
        }
        if let Value::Map(m) = v {
            let entries = m.snapshot();
            if let Some(Json::Array(req)) = obj.get("required") {
                let missing: Vec<String> = req
                    .iter()
                    .filter_map(Json::as_str)
                    .filter(|k| !entries.contains_key(*k))
                    .map(|k| format!("'{k}'"))
                    .collect();
                match missing.len() {
                    0 => {}
                    1 => errs.push((loc.to_string(), format!("missing property {}", missing[0]))),
                    _ => errs.push((
                        loc.to_string(),
                        format!("missing properties {}", missing.join(", ")),
                    )),
                }
            }
            let n = entries.len() as u64;
            if let Some(x) = obj.get("minProperties").and_then(Json::as_u64)
                && n < x
            {
                errs.push((loc.to_string(), format!("minProperties: got {n}, want {x}")));
            }
            if let Some(x) = obj.get("maxProperties").and_then(Json::as_u64)
                && n > x
            {
                errs.push((loc.to_string(), format!("maxProperties: got {n}, want {x}")));
            }
            let props = obj.get("properties").and_then(Json::as_object);
            let patterns: Vec<(regex::Regex, &Json)> = obj
                .get("patternProperties")
                .and_then(Json::as_object)
                .map(|pp| {
                    pp.iter()
                        .filter_map(|(p, s)| cached_regex(p).map(|r| (r, s)))
                        .collect()
                })
                .unwrap_or_default();
            if let Some(props) = props {
                for (k, sch) in props {
                    if let Some(val) = entries.get(k) {
                        self.check(
                            sch,
                            val,
                            &format!("{loc}/{}", escape_ptr(k)),
                            errs,
                            depth + 1,
                        );
                    }
                }
            }
            let mut extra = Vec::new();
            for (k, val) in &entries {
                let mut matched = props.is_some_and(|p| p.contains_key(k));
                for (re, sch) in &patterns {
                    if re.is_match(k) {
                        matched = true;
                        self.check(
                            sch,
                            val,
                            &format!("{loc}/{}", escape_ptr(k)),
                            errs,
                            depth + 1,
                        );
                    }
                }
                if !matched {
                    match obj.get("additionalProperties") {
                        Some(Json::Bool(false)) => extra.push(format!("'{k}'")),
                        Some(sch @ Json::Object(_)) => self.check(
                            sch,
                            val,
                            &format!("{loc}/{}", escape_ptr(k)),
                            errs,
                            depth + 1,
                        ),
                        _ => {}
                    }
                }
            }
            if !extra.is_empty() {
                errs.push((
                    loc.to_string(),
                    format!("additional properties {} not allowed", extra.join(", ")),
                ));
            }
        }
        if let Some(Json::Array(all)) = obj.get("allOf") {
            for sch in all {
                self.check(sch, v, loc, errs, depth + 1);
            }
        }
        if let Some(Json::Array(any)) = obj.get("anyOf")
            && !any.iter().any(|sch| self.valid(sch, v, depth + 1))
        {
            errs.push((loc.to_string(), "anyOf failed".into()));
        }
        if let Some(Json::Array(one)) = obj.get("oneOf") {
            let n = one
                .iter()
                .filter(|sch| self.valid(sch, v, depth + 1))
                .count();
            if n == 0 {
                errs.push((loc.to_string(), "oneOf failed, none matched".into()));
            } else if n > 1 {
                errs.push((
                    loc.to_string(),
                    "oneOf failed, more than one matched".into(),
                ));
            }
        }
        if let Some(not) = obj.get("not")
            && self.valid(not, v, depth + 1)
        {
            errs.push((loc.to_string(), "not failed".into()));
        }
        if let Some(cond) = obj.get("if") {
            let branch = if self.valid(cond, v, depth + 1) {
                obj.get("then")
            } else {
                obj.get("else")
            };
            if let Some(b) = branch {
                self.check(b, v, loc, errs, depth + 1);
            }
        }
    }
}
