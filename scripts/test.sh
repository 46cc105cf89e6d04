#!/usr/bin/env bash
# Set up, lint, type-check and run the whole test suite on SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check vaxtrace tests bench
.venv/bin/mypy
export VAXTRACE_TEST_PG_URL=${VAXTRACE_TEST_PG_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}
.venv/bin/pytest "$@"
