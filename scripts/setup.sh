#!/usr/bin/env bash
# Create .venv and install VaxTrace with its development tools. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian packages: a CJK TrueType font the PDFs embed (vaxtrace.pdf finds it with fc-match) and
# poppler-utils (the tests read the PDFs back with pdftotext). Installed only when missing.
missing=()
for pkg in fonts-wqy-zenhei poppler-utils; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
# The interactive docs' assets (swagger-ui-dist, redoc) from the npm registry, as package-lock.json
# pins them; served from node_modules (vaxtrace.web.documented). Peers are bundled: none needed.
npm ci --legacy-peer-deps --ignore-scripts --no-audit --no-fund --loglevel=error
