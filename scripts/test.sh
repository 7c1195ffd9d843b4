#!/usr/bin/env bash
# The whole test suite: unit tests, nbval over every notebook, and the browser test. Run via ./course.sh test.
# Extra arguments go to pytest, e.g. ./course.sh test -k data
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${GAN_COURSE_VENV:-.venv}/bin/python"
# One torch thread in every kernel, as scripts/execute_notebooks.py uses to store the outputs: the same seed and
# thread count give the same numbers (another thread count sums in another order), and on a 2-core machine one
# thread runs at about 0.8x of two, and far faster than two beside another busy program (benchmarks/).
export OMP_NUM_THREADS=1
# The stored outputs are CPU numbers: on a GPU machine the notebooks' get_device("auto") must pick the CPU too.
export GAN_COURSE_DEVICE=cpu
exec "$PY" -m pytest tests notebooks --nbval --nbval-current-env \
  --nbval-sanitize-with notebooks/nbval_sanitize.cfg --nbval-cell-timeout 600 "$@"
