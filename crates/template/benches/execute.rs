//! Parses a chart-like template once and executes it many times.
//!
//! `TRELLIS_BENCH_SIZE` sets the number of executions (default: a smoke run
//! of 200). Prints parse time, mean execution time and throughput.

#![allow(clippy::expect_used)]

use std::time::Instant;

use trellis_template::{Map, Templates, Value, sprig};

const HELPERS: &str = r#"
{{- define "app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- define "app.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}
{{- define "app.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ template "app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
"#;

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ template "app.fullname" . }}
  labels:
{{- $labels := dict }}{{ range $k, $v := .Values.podLabels }}{{ $_ := set $labels $k $v }}{{ end }}
    {{- range $k, $v := $labels }}
    {{ $k }}: {{ $v | quote }}
    {{- end }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  template:
    spec:
      containers:
        - name: {{ .Chart.Name }}
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          env:
          {{- range $i, $e := .Values.env }}
            - name: {{ $e.name | upper | replace "-" "_" }}
              value: {{ $e.value | toString | quote }}
          {{- end }}
          ports:
          {{- range .Values.ports }}
            - name: {{ .name }}
              containerPort: {{ .port }}
              protocol: {{ .protocol | default "TCP" }}
          {{- end }}
          resources:
            limits:
              cpu: {{ .Values.resources.limits.cpu | quote }}
              memory: {{ .Values.resources.limits.memory | quote }}
          {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- range $k, $v := . }}
        {{ $k }}: {{ $v }}
        {{- end }}
          {{- end }}
      {{- if regexMatch "^[\\w-\\.]+$" .Release.Name }}
      hostname: {{ regexReplaceAll "[^a-z0-9-]+" (printf "%s.%s" .Release.Name .Chart.Name) "-" }}
      {{- end }}
      {{- if semverCompare ">=1.19-0" .Capabilities.KubeVersion.GitVersion }}
      enableServiceLinks: false
      {{- end }}
"#;

fn s(v: &str) -> Value {
    Value::str(v)
}

fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::map(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<Map>(),
    )
}

fn data() -> Value {
    let env = (0..20)
        .map(|i| {
            map(vec![
                ("name", Value::from(format!("var-{i}"))),
                ("value", Value::Float(i as f64)),
            ])
        })
        .collect();
    let ports = (0..4)
        .map(|i| {
            map(vec![
                ("name", Value::from(format!("p{i}"))),
                ("port", Value::Float(8080.0 + i as f64)),
            ])
        })
        .collect();
    let labels = (0..10)
        .map(|i| (format!("label-{i}"), Value::from(format!("v{i}"))))
        .collect::<Map>();
    let values = map(vec![
        ("replicaCount", Value::Float(3.0)),
        (
            "image",
            map(vec![
                ("repository", s("nginx")),
                ("pullPolicy", s("IfNotPresent")),
                ("tag", s("")),
            ]),
        ),
        ("autoscaling", map(vec![("enabled", Value::Bool(false))])),
        ("env", Value::list(env)),
        ("ports", Value::list(ports)),
        ("podLabels", Value::map(labels)),
        (
            "resources",
            map(vec![(
                "limits",
                map(vec![("cpu", s("500m")), ("memory", s("128Mi"))]),
            )]),
        ),
        ("nodeSelector", map(vec![("kubernetes.io/os", s("linux"))])),
    ]);
    map(vec![
        ("Values", values),
        (
            "Chart",
            map(vec![
                ("Name", s("web")),
                ("Version", s("1.2.3")),
                ("AppVersion", s("2.0.0")),
            ]),
        ),
        (
            "Release",
            map(vec![("Name", s("my-release")), ("Service", s("Helm"))]),
        ),
        (
            "Capabilities",
            map(vec![(
                "KubeVersion",
                map(vec![("GitVersion", s("v1.33.0"))]),
            )]),
        ),
    ])
}

fn main() {
    let n: usize = std::env::var("TRELLIS_BENCH_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let mut t = Templates::new("chart");
    t.funcs(&sprig::funcs());
    let start = Instant::now();
    t.parse("chart/templates/_helpers.tpl", HELPERS)
        .expect("helpers parse");
    t.parse("chart/templates/deployment.yaml", DEPLOYMENT)
        .expect("deployment parses");
    let parse = start.elapsed();
    // Warm parse cost, as a renderer parsing every chart file per render sees it.
    let rounds = (n / 10).max(10);
    let start = Instant::now();
    for _ in 0..rounds {
        let mut fresh = t.clone();
        fresh
            .parse("chart/templates/_helpers.tpl", HELPERS)
            .expect("helpers parse");
        fresh
            .parse("chart/templates/deployment.yaml", DEPLOYMENT)
            .expect("deployment parses");
    }
    let parse_warm = start.elapsed() / rounds as u32;
    let data = data();
    let mut bytes = 0;
    let start = Instant::now();
    for _ in 0..n {
        let out = t
            .execute("chart/templates/deployment.yaml", &data)
            .expect("executes");
        bytes += out.len();
    }
    let exec = start.elapsed();
    let per = exec / n as u32;
    if std::env::var_os("TRELLIS_BENCH_PRINT").is_some() {
        print!(
            "{}",
            t.execute("chart/templates/deployment.yaml", &data)
                .expect("executes")
        );
    }
    println!("parse: {parse:?} first, {parse_warm:?} warm");
    println!(
        "execute: {n} runs, {per:?} per run, {:.1} MB/s output",
        bytes as f64 / exec.as_secs_f64() / 1e6
    );
}
