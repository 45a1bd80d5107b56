#!/usr/bin/env python3
"""Regenerate tests/data/yaml_goldens.json from real Helm.

Inputs (written by hand, they are only inputs):
  cases/json_cases.json     - a JSON list of values
  cases/yaml_cases.yaml.txt - values-file texts separated by lines "----"

For each input a throwaway chart is rendered by Helm (helm-python-sdk
0.2.2, Helm v4.2.3): JSON inputs go through `fromJson` (Go's
encoding/json, so numbers are float64, as Helm's values are), YAML inputs
through `fromYaml` (Helm's YAML reader); each is then printed with `toYaml`
and `toYamlPretty`, and YAML inputs also with `toJson` (how Helm read them).
Every expectation in the golden file comes from Helm's output.

Run with the venv's python:  python gen_yaml_goldens.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "yaml_goldens.json")

TEMPLATE = r"""
{{- range $path, $_ := .Files.Glob "cases/json/*.json" }}
{{- $v := ($.Files.Get $path | fromJson).v }}
{{ dict "name" $path "to_yaml" (toYaml $v) "to_yaml_pretty" (toYamlPretty $v) | toJson }}
{{- end }}
{{- range $path, $_ := .Files.Glob "cases/yaml/*.yaml" }}
{{- $v := $.Files.Get $path | fromYaml }}
{{ dict "name" $path "read" (toJson $v) "to_yaml" (toYaml $v) "to_yaml_pretty" (toYamlPretty $v) | toJson }}
{{- end }}
"""


def main() -> int:
    import helm_python as helm

    with open(os.path.join(HERE, "cases", "json_cases.json"), encoding="utf-8") as f:
        json_cases = json.load(f)
    with open(os.path.join(HERE, "cases", "yaml_cases.yaml.txt"), encoding="utf-8") as f:
        text = f.read()
    yaml_cases = [c for c in text.split("\n----\n")]

    with tempfile.TemporaryDirectory() as tmp:
        chart = os.path.join(tmp, "goldens")
        os.makedirs(os.path.join(chart, "templates"))
        os.makedirs(os.path.join(chart, "cases", "json"))
        os.makedirs(os.path.join(chart, "cases", "yaml"))
        with open(os.path.join(chart, "Chart.yaml"), "w") as f:
            f.write("apiVersion: v2\nname: goldens\nversion: 0.1.0\n")
        with open(os.path.join(chart, "templates", "out.txt"), "w") as f:
            f.write(TEMPLATE)
        for i, case in enumerate(json_cases):
            with open(os.path.join(chart, "cases", "json", f"{i:04}.json"), "w", encoding="utf-8") as f:
                json.dump({"v": case}, f, ensure_ascii=False)
        for i, case in enumerate(yaml_cases):
            with open(os.path.join(chart, "cases", "yaml", f"{i:04}.yaml"), "w", encoding="utf-8") as f:
                f.write(case)
        c = helm.Chart.load(chart)
        rendered = c.render(name="my-release", namespace="test-ns")["goldens/templates/out.txt"]

    results = {}
    for line in rendered.splitlines():
        if line.strip():
            r = json.loads(line)
            results[r["name"]] = r
    goldens = []
    for i, case in enumerate(json_cases):
        r = results[f"cases/json/{i:04}.json"]
        goldens.append(
            {"kind": "json", "input": case, "to_yaml": r["to_yaml"], "to_yaml_pretty": r["to_yaml_pretty"]}
        )
    for i, case in enumerate(yaml_cases):
        r = results[f"cases/yaml/{i:04}.yaml"]
        goldens.append(
            {
                "kind": "yaml",
                "input": case,
                "read": json.loads(r["read"]),
                "to_yaml": r["to_yaml"],
                "to_yaml_pretty": r["to_yaml_pretty"],
            }
        )
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(goldens, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(goldens)} cases to {os.path.normpath(OUT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
