#!/usr/bin/env python3
"""Renders and lints the Helm chart offline with Helm's own Go SDK, for .ci/deploy-checks.sh.

The helm CLI is not in the package registries CI can reach (Debian, PyPI, npm, crates.io), so
this uses helm-python-sdk (PyPI), which bundles Helm's official Go SDK as a C library
(libhelm_c) and calls it through ctypes: the values are checked against values.schema.json,
the templates are rendered by Helm's engine (what `helm template` does) and the chart is linted
by Helm's linter (what `helm lint --strict` does).

Usage:
  helm_render.py render CHART_DIR OUT.yaml [VALUES.yaml ...] [--release NAME] [--namespace NS]
      Writes every rendered manifest (NOTES.txt excepted) to OUT.yaml as one multi-document
      YAML stream, in template order, and prints one line per template.
  helm_render.py lint CHART_DIR [VALUES.yaml ...]
      Lints strictly; exits 1 on any warning or error.
  helm_render.py version
Exits 1 (with Helm's message) when the values or a template are rejected.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import helm_python as helm
import yaml  # PyYAML, installed with kubernetes-validate


def merged_values(files: list[str]) -> dict:
    """The values files, later ones overriding earlier ones key by key (like `helm -f a -f b`)."""

    def merge(base: dict, over: dict) -> dict:
        out = dict(base)
        for key, value in over.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = merge(out[key], value)
            else:
                out[key] = value
        return out

    values: dict = {}
    for name in files:
        values = merge(values, yaml.safe_load(Path(name).read_text()) or {})
    return values


def render(args: argparse.Namespace) -> int:
    values = merged_values(args.values)
    with helm.Chart.load(args.chart) as chart:
        chart.validate_schema(values)
        manifests = chart.render(values, name=args.release, namespace=args.namespace, is_install=True)
    docs = []
    for path in sorted(manifests):
        text = manifests[path]
        if path.endswith("NOTES.txt"):
            continue
        body = "\n".join(line for line in text.splitlines()).strip()
        kinds = [d.get("kind") for d in yaml.safe_load_all(body) if d] if body else []
        print(f"  {path}: {', '.join(kinds) if kinds else '(nothing rendered)'}")
        if kinds:
            docs.append(f"# Source: {path}\n{body}\n")
    Path(args.out).write_text("---\n".join(docs))
    return 0


def lint(args: argparse.Namespace) -> int:
    report = helm.lint(args.chart, merged_values(args.values), strict=True)
    names = {0: "UNKNOWN", 1: "INFO", 2: "WARNING", 3: "ERROR"}
    for message in report.get("messages", []):
        print(f"  [{names.get(message.get('severity'), '?')}] {message.get('path')}: {message.get('error')}")
    errors = report.get("errors") or []
    for error in errors:
        print(f"  error: {error}")
    worst = max((m.get("severity", 0) for m in report.get("messages", [])), default=0)
    print(f"  charts linted: {report.get('total_charts_linted')}")
    return 1 if errors or worst >= 2 else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("render")
    r.add_argument("chart")
    r.add_argument("out")
    r.add_argument("values", nargs="*")
    r.add_argument("--release", default="toolgate")
    r.add_argument("--namespace", default="toolgate")
    l = sub.add_parser("lint")
    l.add_argument("chart")
    l.add_argument("values", nargs="*")
    sub.add_parser("version")
    args = parser.parse_args()
    if args.command == "version":
        print(f"helm-python-sdk (libhelm_c {helm.helm_c_version()}, Helm SDK {helm.helm_sdk_version()})")
        return 0
    try:
        return render(args) if args.command == "render" else lint(args)
    except helm.HelmError as error:  # values rejected by the schema, a template's `fail`, bad YAML
        print(f"  helm: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
