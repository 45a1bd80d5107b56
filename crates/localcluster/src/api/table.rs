//! `meta.k8s.io/v1` `Table` responses, which `kubectl get` asks for.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::header;
use serde_json::{Value, json};

use super::Ctx;
use crate::registry::ResourceDef;

/// Whether the client accepts a Table.
pub fn wants_table(ctx: &Ctx) -> bool {
    ctx.header(header::ACCEPT).split(',').any(|m| {
        let m = m.replace(' ', "");
        m.contains("as=Table")
            && m.contains("g=meta.k8s.io")
            && m.contains("v=v1;") | m.ends_with("v=v1")
    })
}

/// Seconds since the Unix epoch of an RFC 3339 UTC timestamp.
fn parse_time(s: &str) -> Option<i64> {
    let (date, time) = s.trim_end_matches('Z').split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let mut t = time
        .split(':')
        .map(|x| x.split('.').next().unwrap_or("0").parse::<i64>());
    let (hh, mm, ss) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Age as kubectl prints it (`45s`, `3m12s`, `5h`, `2d`).
fn age(created: &str) -> String {
    let Some(t) = parse_time(created) else {
        return "<unknown>".into();
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let s = (now - t).max(0);
    match s {
        0..120 => format!("{s}s"),
        120..600 => format!("{}m{}s", s / 60, s % 60),
        600..10_800 => format!("{}m", s / 60),
        10_800..172_800 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// Evaluates a simple JSONPath (`.spec.a.b`, `.status.conditions[0].type`).
fn json_path<'a>(obj: &'a Value, path: &str) -> &'a Value {
    let mut cur = obj;
    for seg in path.trim_start_matches('.').split('.') {
        if seg.is_empty() {
            continue;
        }
        let (field, index) = match seg.split_once('[') {
            Some((f, rest)) => (f, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (seg, None),
        };
        cur = &cur[field];
        if let Some(i) = index {
            cur = &cur[i];
        }
    }
    cur
}

fn cell(v: &Value) -> Value {
    match v {
        Value::Null => json!("<none>"),
        Value::String(_) | Value::Number(_) | Value::Bool(_) => v.clone(),
        other => json!(other.to_string()),
    }
}

fn columns(def: &ResourceDef) -> Vec<(String, String, i64)> {
    let mut cols = vec![("Name".to_owned(), "string".to_owned(), 0)];
    if !def.printer_columns.is_empty() {
        cols.extend(
            def.printer_columns
                .iter()
                .map(|c| (c.name.clone(), c.ty.clone(), c.priority)),
        );
        if !def
            .printer_columns
            .iter()
            .any(|c| c.json_path == ".metadata.creationTimestamp")
        {
            cols.push(("Age".into(), "date".into(), 0));
        }
        return cols;
    }
    let extra: &[&str] = match (def.group.as_str(), def.kind.as_str()) {
        ("", "Pod") => &["Ready", "Status", "Restarts"],
        ("apps", "Deployment") => &["Ready", "Up-to-date", "Available"],
        ("apps", "ReplicaSet") => &["Desired", "Current", "Ready"],
        ("apps", "StatefulSet") => &["Ready"],
        ("apps", "DaemonSet") => &["Desired", "Current", "Ready", "Up-to-date", "Available"],
        ("batch", "Job") => &["Status", "Completions"],
        ("", "PersistentVolumeClaim") => &["Status", "Volume", "Capacity"],
        ("", "Service") => &["Type", "Cluster-IP", "Port(s)"],
        ("", "ConfigMap") => &["Data"],
        ("", "Secret") => &["Type", "Data"],
        ("", "Namespace") => &["Status"],
        _ => &[],
    };
    cols.extend(
        extra
            .iter()
            .map(|c| ((*c).to_owned(), "string".to_owned(), 0)),
    );
    cols.push(("Age".into(), "string".into(), 0));
    cols
}

fn row_cells(def: &ResourceDef, obj: &Value) -> Vec<Value> {
    let created = obj["metadata"]["creationTimestamp"].as_str().unwrap_or("");
    let mut cells = vec![obj["metadata"]["name"].clone()];
    if !def.printer_columns.is_empty() {
        for c in &def.printer_columns {
            let v = json_path(obj, &c.json_path);
            cells.push(if c.ty == "date" {
                v.as_str().map(|s| json!(age(s))).unwrap_or(json!("<none>"))
            } else {
                cell(v)
            });
        }
        if !def
            .printer_columns
            .iter()
            .any(|c| c.json_path == ".metadata.creationTimestamp")
        {
            cells.push(json!(age(created)));
        }
        return cells;
    }
    let count = |v: &Value| v.as_object().map(|m| m.len()).unwrap_or(0);
    match (def.group.as_str(), def.kind.as_str()) {
        ("", "Pod") => {
            let total = obj["spec"]["containers"]
                .as_array()
                .map(Vec::len)
                .unwrap_or(0);
            let ready = obj["status"]["containerStatuses"]
                .as_array()
                .map(|a| a.iter().filter(|c| c["ready"] == json!(true)).count())
                .unwrap_or(0);
            cells.push(json!(format!("{ready}/{total}")));
            // Like kubectl's printer: a waiting container's reason, else the phase
            // (`Completed` for a Pod that succeeded).
            let statuses = obj["status"]["containerStatuses"].as_array();
            let waiting = statuses
                .into_iter()
                .flatten()
                .find_map(|c| c["state"]["waiting"]["reason"].as_str().map(str::to_owned));
            let phase = match obj["status"]["phase"].as_str() {
                Some("Succeeded") => Value::from("Completed"),
                Some("Failed") => Value::from("Error"),
                _ => cell(&obj["status"]["phase"]),
            };
            cells.push(waiting.map(Value::from).unwrap_or(phase));
            let restarts: i64 = statuses
                .into_iter()
                .flatten()
                .map(|c| c["restartCount"].as_i64().unwrap_or(0))
                .sum();
            cells.push(json!(restarts));
        }
        ("apps", "ReplicaSet") => {
            for v in [
                &obj["spec"]["replicas"],
                &obj["status"]["replicas"],
                &obj["status"]["readyReplicas"],
            ] {
                cells.push(json!(v.as_i64().unwrap_or(0)));
            }
        }
        ("apps", "StatefulSet") => {
            let want = obj["spec"]["replicas"].as_i64().unwrap_or(1);
            let ready = obj["status"]["readyReplicas"].as_i64().unwrap_or(0);
            cells.push(json!(format!("{ready}/{want}")));
        }
        ("apps", "DaemonSet") => {
            for f in [
                "desiredNumberScheduled",
                "currentNumberScheduled",
                "numberReady",
                "updatedNumberScheduled",
                "numberAvailable",
            ] {
                cells.push(json!(obj["status"][f].as_i64().unwrap_or(0)));
            }
        }
        ("batch", "Job") => {
            let conds = obj["status"]["conditions"].as_array();
            let has = |t: &str| {
                conds
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == t && c["status"] == "True")
            };
            let status = if has("Complete") {
                "Complete"
            } else if has("Failed") {
                "Failed"
            } else if obj["spec"]["suspend"] == json!(true) {
                "Suspended"
            } else {
                "Running"
            };
            cells.push(json!(status));
            let want = obj["spec"]["completions"].as_i64().unwrap_or(1);
            let done = obj["status"]["succeeded"].as_i64().unwrap_or(0);
            cells.push(json!(format!("{done}/{want}")));
        }
        ("", "PersistentVolumeClaim") => {
            cells.push(cell(&obj["status"]["phase"]));
            cells.push(cell(&obj["spec"]["volumeName"]));
            cells.push(cell(&obj["status"]["capacity"]["storage"]));
        }
        ("apps", "Deployment") => {
            let want = obj["spec"]["replicas"].as_i64().unwrap_or(1);
            let ready = obj["status"]["readyReplicas"].as_i64().unwrap_or(0);
            cells.push(json!(format!("{ready}/{want}")));
            cells.push(json!(
                obj["status"]["updatedReplicas"].as_i64().unwrap_or(0)
            ));
            cells.push(json!(
                obj["status"]["availableReplicas"].as_i64().unwrap_or(0)
            ));
        }
        ("", "Service") => {
            cells.push(cell(&obj["spec"]["type"]));
            cells.push(cell(&obj["spec"]["clusterIP"]));
            let ports: Vec<String> = obj["spec"]["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| format!("{}/{}", p["port"], p["protocol"].as_str().unwrap_or("TCP")))
                .collect();
            cells.push(json!(if ports.is_empty() {
                "<none>".to_owned()
            } else {
                ports.join(",")
            }));
        }
        ("", "ConfigMap") => cells.push(json!(count(&obj["data"]) + count(&obj["binaryData"]))),
        ("", "Secret") => {
            cells.push(cell(&obj["type"]));
            cells.push(json!(count(&obj["data"])));
        }
        ("", "Namespace") => cells.push(cell(&obj["status"]["phase"])),
        _ => {}
    }
    cells.push(json!(age(created)));
    cells
}

fn rows(def: &ResourceDef, items: &[Value]) -> Vec<Value> {
    items
        .iter()
        .map(|o| json!({"cells": row_cells(def, o), "object": o}))
        .collect()
}

fn column_defs(def: &ResourceDef) -> Vec<Value> {
    columns(def)
        .into_iter()
        .map(|(n, t, p)| {
            let format = if n == "Name" { "name" } else { "" };
            json!({"name": n, "type": if t == "date" { "string".to_owned() } else { t }, "format": format, "description": "", "priority": p})
        })
        .collect()
}

/// A Table of `items`.
pub fn table(
    def: &ResourceDef,
    items: &[Value],
    rv: &Value,
    next: Option<&str>,
    _ctx: &Ctx,
) -> Value {
    let mut meta = json!({"resourceVersion": rv});
    if let Some(c) = next {
        meta["continue"] = json!(c);
    }
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
        "columnDefinitions": column_defs(def), "rows": rows(def, items)})
}

/// A Table for one watch event: rows only, as the real server sends after the first event.
pub fn table_rows_only(def: &ResourceDef, items: &[Value], rv: &Value) -> Value {
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv},
        "columnDefinitions": column_defs(def), "rows": rows(def, items)})
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_times_and_paths() {
        assert_eq!(parse_time("1970-01-01T00:01:00Z"), Some(60));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        let o = json!({"status": {"conditions": [{"type": "Ready"}]}});
        assert_eq!(json_path(&o, ".status.conditions[0].type"), &json!("Ready"));
    }
}
