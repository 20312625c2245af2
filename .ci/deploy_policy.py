#!/usr/bin/env python3
"""Project rules for deploy/ that no schema expresses, checked by .ci/deploy-checks.sh.

Usage: deploy_policy.py REPO_ROOT
Reads the Kubernetes manifests, the Compose file and the Dockerfile and checks what
deploy/README.md promises: replicas and probes, the restricted security context, the ConfigMap
mounted as a directory (hot reload), the Secret-fed session secret, the Redis rate-limit backend,
kustomization resources that exist, and Dockerfile COPY sources that exist and are not
.dockerignored. Prints one line per rule and exits 1 if any fails.
"""

from __future__ import annotations

import fnmatch
import re
import sys
from pathlib import Path

import yaml  # PyYAML, installed with kubernetes-validate

ROOT = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
K8S = ROOT / "deploy" / "kubernetes"
failures: list[str] = []
passed = 0


def rule(name: str, ok: bool, detail: str = "") -> None:
    global passed
    if ok:
        passed += 1
        print(f"  ok   {name}")
    else:
        failures.append(name)
        print(f"  FAIL {name}{': ' + detail if detail else ''}")


def docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def gateway_rules(objects: dict, name: str, configmap: str, secret: str, secret_managed_elsewhere: bool = False) -> None:
    """The rules every rendering of the gateway must pass (the kustomization and the Helm chart):
    `objects` maps (kind, name) to the manifests, `name` is the gateway's Deployment, Service,
    HPA and PDB, `configmap` and `secret` the names they must use."""
    dep = objects.get(("Deployment", name), {})
    spec = dep.get("spec", {})
    pod = spec.get("template", {}).get("spec", {})
    containers = pod.get("containers", [])
    gw = containers[0] if containers else {}
    hpa = objects.get(("HorizontalPodAutoscaler", name))
    replicas = (hpa or {}).get("spec", {}).get("minReplicas", 0) if hpa and "replicas" not in spec else spec.get("replicas")
    rule("gateway runs 2+ replicas (the HPA's minimum when it owns the count)", (replicas or 0) >= 2)
    rule("readiness probe on /ready", gw.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/ready")
    rule("liveness probe on /health", gw.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/health")
    res = gw.get("resources", {})
    rule(
        "resource requests and limits set",
        all(k in res.get("requests", {}) for k in ("cpu", "memory"))
        and all(k in res.get("limits", {}) for k in ("cpu", "memory")),
    )
    psc, csc = pod.get("securityContext", {}), gw.get("securityContext", {})
    rule("runAsNonRoot", psc.get("runAsNonRoot") is True or csc.get("runAsNonRoot") is True)
    rule("readOnlyRootFilesystem", csc.get("readOnlyRootFilesystem") is True)
    rule("all capabilities dropped", csc.get("capabilities", {}).get("drop") == ["ALL"])
    rule("no privilege escalation", csc.get("allowPrivilegeEscalation") is False)
    rule(
        "seccomp RuntimeDefault",
        "RuntimeDefault" in (psc.get("seccompProfile", {}).get("type"), csc.get("seccompProfile", {}).get("type")),
    )
    mounts = gw.get("volumeMounts", [])
    config_mounts = [m for m in mounts if m.get("mountPath") == "/etc/toolgate"]
    rule("config mounted as a directory at /etc/toolgate", len(config_mounts) == 1)
    rule("config mount has no subPath (hot reload via ..data)", all("subPath" not in m for m in mounts))
    volumes = {v.get("name"): v for v in pod.get("volumes", [])}
    cm_name = volumes.get(config_mounts[0]["name"], {}).get("configMap", {}).get("name") if config_mounts else None
    rule(f"config volume is the {configmap} ConfigMap", cm_name == configmap and ("ConfigMap", cm_name) in objects)
    env_from = [e.get("secretRef", {}).get("name") for e in gw.get("envFrom", [])]
    rule(f"secrets come from the {secret} Secret",
         secret in env_from and (secret_managed_elsewhere or ("Secret", secret) in objects))
    args = gw.get("args", [])
    rule("serves on 0.0.0.0:8766", "0.0.0.0:8766" in args and any(p.get("containerPort") == 8766 for p in gw.get("ports", [])))

    # ---------- the gateway config in the ConfigMap ----------
    cm = objects.get(("ConfigMap", configmap), {}).get("data", {})
    gateway = yaml.safe_load(cm.get("gateway.yaml", "")) or {}
    server = gateway.get("server", {})
    rule("config listens on 0.0.0.0:8766", server.get("listen") == "0.0.0.0:8766")
    rule("config signs sessions with ${TOOLGATE_SESSION_SECRET}", server.get("session_secret") == "${TOOLGATE_SESSION_SECRET}")
    secret_keys = set(objects.get(("Secret", secret), {}).get("stringData", {}))
    referenced = set(re.findall(r"\$\{([A-Z0-9_]+)\}", "\n".join(cm.values())))
    env_names = {e.get("name") for e in gw.get("env", [])}
    unset = sorted(referenced - secret_keys - env_names)
    if not secret_managed_elsewhere:
        rule("every ${VAR} without default in the ConfigMap is set by the Secret or env", not unset, f"unset {unset}")

    # ---------- HPA, PDB, Service ----------
    if hpa is not None:
        rule("HPA autoscaling/v2 targets the gateway, min 2", hpa.get("apiVersion") == "autoscaling/v2"
             and hpa.get("spec", {}).get("scaleTargetRef", {}).get("name") == name
             and hpa.get("spec", {}).get("minReplicas", 0) >= 2)
    pdb = objects.get(("PodDisruptionBudget", name))
    svc_sel = objects.get(("Service", name), {}).get("spec", {}).get("selector")
    pdb_sel = (pdb or {}).get("spec", {}).get("selector", {}).get("matchLabels", {})
    pod_labels = spec.get("template", {}).get("metadata", {}).get("labels", {})
    rule("Service (and PDB) select the gateway pods",
         bool(svc_sel) and (pdb is None or bool(pdb_sel))
         and all(pod_labels.get(k) == v for k, v in {**svc_sel, **pdb_sel}.items()))


def kustomize_rules() -> None:
    """deploy/kubernetes: the kustomization and its objects."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    resources = kustomization.get("resources", [])
    missing = [r for r in resources if not (K8S / r).is_file()]
    rule("kustomization lists only files that exist", not missing, f"missing {missing}")
    unlisted = sorted(
        p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml" and p.name not in resources
    )
    rule("every manifest is listed in kustomization.yaml", not unlisted, f"unlisted {unlisted}")
    objects = {}
    for name in resources:
        for d in docs(K8S / name):
            objects[(d.get("kind"), d.get("metadata", {}).get("name"))] = d
    gateway_rules(objects, "toolgate", "toolgate-config", "toolgate-secrets")
    cm = objects.get(("ConfigMap", "toolgate-config"), {}).get("data", {})
    limits = (yaml.safe_load(cm.get("gateway.yaml", "")) or {}).get("rate_limits", {})
    rule("k8s rate limits use redis://redis:6379", limits.get("backend") == "redis" and "redis://redis:6379" in str(limits.get("redis_url")))
    rule("Secret values are placeholders", all(str(v).startswith("REPLACE-ME") for v in objects.get(("Secret", "toolgate-secrets"), {}).get("stringData", {}).values()))
    rule("Redis Deployment and Service exist", ("Deployment", "redis") in objects and ("Service", "redis") in objects)
    rule("HPA and PDB exist", ("HorizontalPodAutoscaler", "toolgate") in objects and ("PodDisruptionBudget", "toolgate") in objects)


def compose_and_dockerfile_rules() -> None:
    """deploy/docker-compose.yaml, its gateway config and deploy/Dockerfile."""
    # ---------- compose ----------
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yaml").read_text())
    services = compose.get("services", {})
    rule("compose has gateway, demo-upstreams and redis", {"gateway", "demo-upstreams", "redis"} <= set(services))
    gw_vols = [str(v) for v in services.get("gateway", {}).get("volumes", [])]
    rule("compose mounts deploy/compose read-only at /etc/toolgate", "./compose:/etc/toolgate:ro" in gw_vols)
    compose_cfg = yaml.safe_load((ROOT / "deploy" / "compose" / "gateway.yaml").read_text())
    rule("compose config uses the redis backend", compose_cfg.get("rate_limits", {}).get("backend") == "redis")
    rule("compose config takes API keys from the environment",
         all(str(k.get("key", "")).startswith("${") for k in compose_cfg.get("auth", {}).get("api_keys", [])))

    # ---------- Dockerfile ----------
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    ignore = [l.strip() for l in (ROOT / ".dockerignore").read_text().splitlines() if l.strip() and not l.startswith("#")]
    sources = []
    for line in dockerfile.replace("\\\n", " ").splitlines():
        parts = line.split()
        if parts[:1] == ["COPY"] and not any(p.startswith("--from") for p in parts):
            sources += [p for p in parts[1:-1] if not p.startswith("--")]
    bad = []
    for src in sources:
        if src == ".":
            continue
        if not (ROOT / src).exists():
            bad.append(f"{src} (missing)")
        elif any(fnmatch.fnmatch(src, pat) or src.startswith(pat.rstrip("/") + "/") for pat in ignore):
            bad.append(f"{src} (in .dockerignore)")
    rule("Dockerfile COPY sources exist and are in the build context", not bad, ", ".join(bad))
    rule("Dockerfile runs as a non-root user", re.search(r"^USER\s+10001", dockerfile, re.M) is not None)
    rule("Dockerfile has a HEALTHCHECK on /health", "HEALTHCHECK" in dockerfile and ":8766/health" in dockerfile)
    rule("Dockerfile exposes 8766 and serves on 0.0.0.0:8766",
         "EXPOSE 8766" in dockerfile and 'CMD ["serve", "--listen", "0.0.0.0:8766"]' in dockerfile)



def finish() -> None:
    """Prints the tally and exits 1 if any rule failed."""
    print(f"policy: {passed} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    kustomize_rules()
    compose_and_dockerfile_rules()
    finish()
