#!/usr/bin/env python3
"""Render a chart with real Helm (the Helm Go SDK through helm-python-sdk).

This is the reference Trellis's Helm layer is compared with. It needs the
PyPI package ``helm-python-sdk==0.2.2`` (import name ``helm_python``, Helm
v4.2.3). Output is one JSON object on stdout:

  {"ok": true,
   "manifest": "...",          # `helm template` body without hooks: Helm's
                               # install order with `# Source:` headers
   "templates": {path: text},  # every template's raw rendered text
   "notes": "...",
   "values": {...}}            # the user values handed to Helm
or
  {"ok": false, "error": "...", "error_type": "HelmRenderError"}

Values are combined as the helm CLI combines them: each --values file is
read with Helm's own YAML reader and merged over the previous ones (maps
merge key by key, anything else replaces); then each --set, --set-string,
--set-file and --set-literal expression, parsed by Helm's strvals parser,
is merged on top in the order given. One difference from the CLI: the SDK
parses a --set expression on its own, so a list index (`a[1]=x`) replaces a
list that came from a values file instead of editing it.

Usage:
  helm_render.py CHART_DIR [--values FILE]... [--set EXPR]...
      [--set-string EXPR]... [--set-file EXPR]... [--set-literal EXPR]...
      [--values-json JSON] [--release NAME] [--namespace NS]
      [--kube-version V] [--api-versions A,B] [--is-upgrade] [--templates-only]
  helm_render.py --values-only FILE     # print Helm's reading of a values file
  helm_render.py --set-only EXPR [--string]   # print Helm's parse of --set
  helm_render.py --render-batch FILE  # FILE: JSON list of jobs with keys chart,
                                      # values, values_json, set, set_string,
                                      # set_file, set_literal, release, namespace,
                                      # kube_version, api_versions, is_upgrade,
                                      # templates_only; prints a list of results
  helm_render.py --inspect-batch FILE  # FILE: JSON list of chart paths (dirs or
                                       # .tgz); prints how Helm loaded each one
  helm_render.py --bench-batch FILE   # FILE: JSON {"iterations": N, "jobs": [...]}
                                      # (render-batch jobs); renders each job's
                                      # templates N times in this process and
                                      # prints per-job seconds per render
                                      # (median) and the process's peak RSS
  helm_render.py --package CHART_DIR DEST  # `helm package`; prints the .tgz path
  helm_render.py --set-batch FILE   # FILE: JSON list of {"expr", "string"};
                                    # prints a JSON list of {"ok", "values"|"error"}
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def merge_maps(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The helm CLI's mergeMaps: b over a, recursing where both are maps."""
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge_maps(out[k], v)
        else:
            out[k] = v
    return out


def render(helm: Any, _native: Any, job: dict[str, Any]) -> dict[str, Any]:
    """Render one job (see the module doc for the keys and the result)."""
    values: dict[str, Any] = {}
    for path in job.get("values") or []:
        with open(path, encoding="utf-8") as f:
            values = merge_maps(values, helm.values_from_yaml(f.read()))
    if job.get("values_json"):
        values = merge_maps(values, json.loads(job["values_json"]))
    for expr in job.get("set") or []:
        values = merge_maps(values, helm.parse_set_string(expr))
    for expr in job.get("set_string") or []:
        values = merge_maps(values, helm.parse_set_string_values(expr))
    for expr in job.get("set_file") or []:
        values = merge_maps(values, helm.parse_set_file(expr))
    for expr in job.get("set_literal") or []:
        values = merge_maps(values, helm.parse_set_literal(expr))

    release = job.get("release") or "my-release"
    namespace = job.get("namespace") or "test-ns"
    opts: dict[str, Any] = {"dry_run": "client"}
    render_opts: dict[str, Any] = {"name": release, "namespace": namespace}
    if job.get("kube_version"):
        opts["kube_version"] = render_opts["kube_version"] = job["kube_version"]
    if job.get("api_versions"):
        opts["api_versions"] = render_opts["api_versions"] = list(job["api_versions"])
    if job.get("is_upgrade"):
        render_opts["is_upgrade"] = True
        render_opts["is_install"] = False

    chart = helm.Chart.load(job["chart"])
    templates = json.loads(
        _native.call_string("helm_render", chart._raw(), json.dumps(values), json.dumps(render_opts))
    )
    result: dict[str, Any] = {"ok": True, "templates": templates, "values": values}
    if job.get("templates_only"):
        return result
    # An empty in-memory kubeconfig: a client-side dry run never dials.
    cfg = helm.Config(
        namespace=namespace,
        storage_driver="memory",
        kubeconfig_content="apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n",
    )
    rel = json.loads(
        _native.call_string(
            "helm_install",
            cfg._raw(),
            _native.HANDLE(0),
            chart._raw(),
            None,
            release,
            json.dumps(values),
            json.dumps(opts),
        )
    )
    result["manifest"] = rel.get("manifest", "")
    result["notes"] = rel.get("notes", "")
    return result


def job_values(helm: Any, job: dict[str, Any]) -> dict[str, Any]:
    """The user values of a job, combined as in `render`."""
    values: dict[str, Any] = {}
    for path in job.get("values") or []:
        with open(path, encoding="utf-8") as f:
            values = merge_maps(values, helm.values_from_yaml(f.read()))
    return values


def bench(helm: Any, _native: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """Times Helm's template rendering of already loaded charts."""
    import resource
    import time

    n = int(spec.get("iterations") or 5)
    out = []
    for job in spec["jobs"]:
        values = json.dumps(job_values(helm, job))
        opts: dict[str, Any] = {"name": "my-release", "namespace": "test-ns"}
        if job.get("kube_version"):
            opts["kube_version"] = job["kube_version"]
        if job.get("api_versions"):
            opts["api_versions"] = list(job["api_versions"])
        if job.get("is_upgrade"):
            opts["is_upgrade"] = True
            opts["is_install"] = False
        opts_s = json.dumps(opts)
        chart = helm.Chart.load(job["chart"])
        ok = True
        times = []
        for i in range(n + 1):
            t0 = time.perf_counter()
            try:
                _native.call_string("helm_render", chart._raw(), values, opts_s)
            except Exception:  # noqa: BLE001 - expected failures are timed too
                ok = False
            dt = time.perf_counter() - t0
            if i > 0:
                times.append(dt)
        times.sort()
        out.append({"ok": ok, "seconds": times[len(times) // 2]})
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"results": out, "peak_rss_kb": peak_kb}


def main() -> int:
    import helm_python as helm
    from helm_python import _native

    p = argparse.ArgumentParser()
    p.add_argument("chart", nargs="?")
    p.add_argument("--values", "-f", action="append", default=[])
    p.add_argument("--values-json", default=None)
    p.add_argument("--set", dest="set_", action="append", default=[])
    p.add_argument("--set-string", action="append", default=[])
    p.add_argument("--set-file", action="append", default=[])
    p.add_argument("--set-literal", action="append", default=[])
    p.add_argument("--release", default="my-release")
    p.add_argument("--namespace", default="test-ns")
    p.add_argument("--kube-version", default=None)
    p.add_argument("--api-versions", default=None)
    p.add_argument("--is-upgrade", action="store_true")
    p.add_argument("--values-only", default=None)
    p.add_argument("--set-only", default=None)
    p.add_argument("--string", action="store_true")
    p.add_argument("--set-batch", default=None)
    p.add_argument("--render-batch", default=None)
    p.add_argument("--templates-only", action="store_true")
    p.add_argument("--inspect-batch", default=None)
    p.add_argument("--package", nargs=2, default=None)
    p.add_argument("--bench-batch", default=None)
    args = p.parse_args()

    try:
        if args.values_only is not None:
            with open(args.values_only, encoding="utf-8") as f:
                text = f.read()
            print(json.dumps({"ok": True, "values": helm.values_from_yaml(text)}))
            return 0
        if args.set_batch is not None:
            with open(args.set_batch, encoding="utf-8") as f:
                batch = json.load(f)
            out = []
            for item in batch:
                parse = helm.parse_set_string_values if item.get("string") else helm.parse_set_string
                try:
                    out.append({"ok": True, "values": parse(item["expr"])})
                except Exception as e:  # noqa: BLE001
                    out.append({"ok": False, "error": str(e)})
            print(json.dumps(out))
            return 0
        if args.set_only is not None:
            parse = helm.parse_set_string_values if args.string else helm.parse_set_string
            print(json.dumps({"ok": True, "values": parse(args.set_only)}))
            return 0

        if args.bench_batch is not None:
            with open(args.bench_batch, encoding="utf-8") as f:
                spec = json.load(f)
            print(json.dumps(bench(helm, _native, spec)))
            return 0
        if args.package is not None:
            print(json.dumps({"ok": True, "path": helm.package(args.package[0], destination=args.package[1])}))
            return 0
        if args.inspect_batch is not None:
            with open(args.inspect_batch, encoding="utf-8") as f:
                paths = json.load(f)
            out = []
            for path in paths:
                try:
                    with helm.Chart.load(path) as c:
                        out.append(
                            {
                                "ok": True,
                                "metadata": c.metadata,
                                "values": c.values,
                                "templates": sorted(t["name"] for t in c.templates),
                                "files": sorted(f["name"] for f in c.files),
                                "crds": [x["filename"] for x in c.crds],
                                "crd_objects": [
                                    {"filename": x["filename"], "data": x["data"]} for x in c.crds
                                ],
                                "dependencies": sorted(d.get("name", "") for d in c.dependencies),
                                "has_schema": c.schema is not None,
                            }
                        )
                except Exception as e:  # noqa: BLE001
                    out.append({"ok": False, "error": str(e), "error_type": type(e).__name__})
            print(json.dumps(out))
            return 0
        if args.render_batch is not None:
            with open(args.render_batch, encoding="utf-8") as f:
                jobs = json.load(f)
            out = []
            for job in jobs:
                try:
                    out.append(render(helm, _native, job))
                except Exception as e:  # noqa: BLE001
                    out.append({"ok": False, "error": str(e), "error_type": type(e).__name__})
            print(json.dumps(out))
            return 0
        job = {
            "chart": args.chart,
            "values": args.values,
            "values_json": args.values_json,
            "set": args.set_,
            "set_string": args.set_string,
            "set_file": args.set_file,
            "set_literal": args.set_literal,
            "release": args.release,
            "namespace": args.namespace,
            "kube_version": args.kube_version,
            "api_versions": args.api_versions.split(",") if args.api_versions else None,
            "is_upgrade": args.is_upgrade,
            "templates_only": args.templates_only,
        }
        print(json.dumps(render(helm, _native, job)))
        return 0
    except Exception as e:  # noqa: BLE001 - every Helm failure is data here
        print(json.dumps({"ok": False, "error": str(e), "error_type": type(e).__name__}))
        return 0


if __name__ == "__main__":
    sys.exit(main())
