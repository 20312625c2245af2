#!/usr/bin/env bash
# The operator console in a real browser: Debian's headless Chromium driven by Playwright for
# Python (pinned below, in tests/console/.venv; the system Chromium is used, no browser is
# downloaded). Screenshots at 1280 and 390 px go to $CONSOLE_ARTIFACTS
# (default target/ci-artifacts/console).
#
# Usage: tests/console/run.sh path/to/toolgate
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PLAYWRIGHT_VERSION="1.65.2"
VENV="$HERE/.venv"
BIN="$(realpath -m -- "${1:?usage: $0 path/to/toolgate}")"
OUT="${CONSOLE_ARTIFACTS:-$ROOT/target/ci-artifacts/console}"

if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! "$VENV/bin/python" -c "import sys, importlib.metadata as m; sys.exit(m.version('playwright') != '$PLAYWRIGHT_VERSION')" >/dev/null 2>&1; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "playwright==$PLAYWRIGHT_VERSION"
fi
[[ -f "$VENV/.gitignore" ]] || echo '*' >"$VENV/.gitignore"
mkdir -p "$OUT"
exec "$VENV/bin/python" "$HERE/console_browser.py" "$BIN" "$OUT"
