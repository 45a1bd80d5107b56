#!/usr/bin/env python3
"""Produces the expected outputs of tests/it/golden/*.txt with real Helm.

Each case's template is rendered as the only template of a chart named
`golden` (template name `golden/templates/case.yaml`) by Helm's Go SDK
(PyPI `helm-python-sdk==0.2.2`, Helm v4.2.3), with the values of
values.json unless the case gives its own (a `--- values` JSON block). The output (or Helm's error text) goes to
tests/it/golden/<file>.expected.json. Run:

    python3 -m venv /tmp/helmvenv && /tmp/helmvenv/bin/pip install helm-python-sdk==0.2.2
    /tmp/helmvenv/bin/python crates/template/tests/golden.py
"""
import json
import pathlib
import sys
import tempfile

import helm_python as helm

HERE = pathlib.Path(__file__).resolve().parent / "it" / "golden"

DEFAULT_VALUES = json.loads((HERE / "values.json").read_text())


def parse_cases(text):
    cases, name, buf, values, in_values = [], None, [], None, False
    def flush():
        if name is not None:
            body = "\n".join(buf)
            cases.append((name, body, json.loads(values) if values else None))
    for line in text.split("\n"):
        if line.startswith("=== "):
            flush()
            name, buf, values, in_values = line[4:].strip(), [], None, False
        elif line.startswith("--- values"):
            in_values, values = True, ""
        elif name is None:
            continue
        elif in_values:
            values += line + "\n"
        else:
            buf.append(line)
    flush()
    # A trailing empty line of the file is not part of the last template.
    return [(n, b[:-1] if b.endswith("\n") else b, v) for n, b, v in cases]


def render(template, values):
    with tempfile.TemporaryDirectory() as d:
        chart = pathlib.Path(d) / "golden"
        (chart / "templates").mkdir(parents=True)
        (chart / "Chart.yaml").write_text("apiVersion: v2\nname: golden\nversion: 0.1.0\n")
        (chart / "templates" / "case.yaml").write_text(template)
        c = helm.Chart.load(str(chart))
        try:
            out = c.render(values=values, name="my-release", namespace="test-ns")
            return {"out": out.get("golden/templates/case.yaml", "")}
        except helm.HelmError as e:
            return {"err": str(e)}


def main():
    print("helm", helm.helm_sdk_version(), file=sys.stderr)
    for src in sorted(HERE.glob("*.txt")):
        # pending.txt holds cases whose features are not implemented yet.
        result = {}
        for name, body, values in parse_cases(src.read_text()):
            result[name] = render(body, values if values is not None else DEFAULT_VALUES)
        dst = src.with_suffix(".expected.json")
        dst.write_text(json.dumps(result, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
        print(f"{dst.name}: {len(result)} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
