#!/usr/bin/env bash
# The whole suite: ruff, mypy, then pytest (slow tests included). Exits non-zero on the first failing stage.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
echo "== ruff"
.venv/bin/ruff check .
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
mkdir -p artifacts
.venv/bin/pytest -p no:cacheprovider --junitxml=artifacts/junit.xml "$@"
echo "== suite took $(( $(date +%s) - start )) s"
