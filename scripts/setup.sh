#!/usr/bin/env bash
# Create .venv and install VaxTrace with its development tools. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
# The interactive docs' assets (swagger-ui-dist, redoc) from the npm registry, as package-lock.json
# pins them; served from node_modules (vaxtrace.web.documented). Peers are bundled: none needed.
npm ci --legacy-peer-deps --ignore-scripts --no-audit --no-fund --loglevel=error
