#!/usr/bin/env bash
# Quick-start command 2: set up the environment and run the whole test suite.
#   bash tools/run_tests.sh [pytest args...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/install.sh
# Lint, format and types first: each names the file, line and rule.
.venv/bin/ruff check .
.venv/bin/ruff format --check --diff .
.venv/bin/mypy
set +e
# Two pytest workers, one per core, each test file on one worker (module
# fixtures train once); the trainings the tests start use one thread each.
# The whole suite: the end-to-end trainings (marked slow, which a plain
# pytest leaves out) too; '-m "not slow"' after it runs the fast part only.
OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}" \
    .venv/bin/python -m pytest -n 2 --dist loadfile -m "slow or not slow" "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "ERROR: pytest collected no test" >&2
    exit 1
fi
exit "$rc"
