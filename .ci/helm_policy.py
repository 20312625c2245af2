#!/usr/bin/env python3
"""Project rules for a rendering of the Helm chart (deploy/helm/toolgate), for .ci/deploy-checks.sh.

Usage: helm_policy.py RENDERED.yaml NAME
RENDERED.yaml is what .ci/helm_render.py wrote; NAME the gateway's object name (the release's
full name). Applies the same gateway rules as the kustomize manifests (deploy_policy.gateway_rules:
replicas, probes, security context, the ConfigMap mounted as a directory, the Secret, HPA/PDB
selectors), then what only the chart does: REDIS_URL pointing at the bundled Redis when there is
one, a Secret checksum on the pods (env is read at start) and none of the ConfigMap (it
hot-reloads). Prints one line per rule and exits 1 if any fails.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import deploy_policy as policy  # noqa: E402  (the shared rules)

rendered, name = Path(sys.argv[1]), sys.argv[2]
objects = {}
for doc in yaml.safe_load_all(rendered.read_text()):
    if doc:
        objects[(doc.get("kind"), doc.get("metadata", {}).get("name"))] = doc

dep = objects.get(("Deployment", name), {})
pod = dep.get("spec", {}).get("template", {})
containers = pod.get("spec", {}).get("containers", [])
gw = containers[0] if containers else {}
secret_refs = [e.get("secretRef", {}).get("name") for e in gw.get("envFrom", [])]
secret = secret_refs[0] if secret_refs else ""
managed_elsewhere = ("Secret", secret) not in objects
policy.gateway_rules(objects, name, f"{name}-config", secret, secret_managed_elsewhere=managed_elsewhere)

env = {e.get("name"): e.get("value") for e in gw.get("env", [])}
cm = objects.get(("ConfigMap", f"{name}-config"), {}).get("data", {})
limits = (yaml.safe_load(cm.get("gateway.yaml", "")) or {}).get("rate_limits", {})
if limits.get("backend") == "redis":
    policy.rule("redis rate-limit backend has a REDIS_URL", bool(env.get("REDIS_URL")))
bundled = ("Service", f"{name}-redis") in objects
if bundled:
    policy.rule("REDIS_URL points at the bundled Redis Service",
                env.get("REDIS_URL") == f"redis://{name}-redis:6379" and ("Deployment", f"{name}-redis") in objects)
else:
    policy.rule("no bundled Redis Deployment without its Service", ("Deployment", f"{name}-redis") not in objects)
annotations = pod.get("metadata", {}).get("annotations", {}) or {}
policy.rule("pods carry the Secret's checksum (env is read at start)", "checksum/secret" in annotations)
policy.rule("pods carry no ConfigMap checksum (config changes hot-reload)",
            not any("config" in key for key in annotations if key.startswith("checksum/")))
policy.rule("TOOLGATE_SERVICE is the gateway Service's name (for allowed_hosts)",
            env.get("TOOLGATE_SERVICE") == name and ("Service", name) in objects)
if managed_elsewhere:
    print(f"  note: Secret {secret} is managed outside the chart; its keys are not checked")
policy.finish()
