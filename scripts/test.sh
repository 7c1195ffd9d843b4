#!/usr/bin/env bash
# The whole test suite: unit tests, nbval over every notebook, and the browser test. Run via ./course.sh test.
# Extra arguments go to pytest, e.g. ./course.sh test -k data
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${GAN_COURSE_VENV:-.venv}/bin/python"
exec "$PY" -m pytest tests notebooks --nbval --nbval-current-env \
  --nbval-sanitize-with notebooks/nbval_sanitize.cfg --nbval-cell-timeout 600 "$@"
