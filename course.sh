#!/usr/bin/env bash
# The course's one entry point. Every command first runs scripts/setup.sh (idempotent, quick once done).
#   ./course.sh lab      set up, then open the course in JupyterLab
#   ./course.sh train    set up, then train the course default and write runs/default/grid.png (no browser needed)
#   ./course.sh test     set up, then run the whole test suite (unit tests, nbval over every notebook, browser test)
#   ./course.sh benchmark  set up, then measure quality against time and speed (about 50 minutes, idle machine):
#                        writes benchmarks/results.json, docs/quality_vs_time.png and docs/default_60s.png
#   ./course.sh setup    only set up (what the devcontainer runs once)
# Settings: GAN_COURSE_DATA=DIR reads MNIST from DIR/MNIST/raw instead of downloading into ./data.
set -euo pipefail
cd "$(dirname "$0")"
# Notebook kernels run in notebooks/: make a relative data folder absolute before anything starts one.
if [ -n "${GAN_COURSE_DATA:-}" ] && [ -d "$GAN_COURSE_DATA" ]; then
  GAN_COURSE_DATA="$(cd "$GAN_COURSE_DATA" && pwd)"
  export GAN_COURSE_DATA
fi
command="${1:-lab}"
[ $# -gt 0 ] && shift
case "$command" in
  setup) exec bash scripts/setup.sh "$@" ;;
  lab|train|test|benchmark) bash scripts/setup.sh ;;
  *) echo "Unknown command '$command'. Use: ./course.sh lab | train | test | benchmark | setup" >&2; exit 2 ;;
esac
PY="${GAN_COURSE_PYTHON:-.venv/bin/python}"
case "$command" in
  lab) exec "$PY" -m jupyter lab --notebook-dir=notebooks notebooks/01_setup.ipynb "$@" ;;
  train) exec "$PY" -m gan_course train --out runs/default "$@" ;;
  test) exec bash scripts/test.sh "$@" ;;
  benchmark) exec "$PY" benchmarks/benchmark.py "$@" ;;
esac
