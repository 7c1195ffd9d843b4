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
# And AVX2 numbers: the digit meter's convolutions round differently with AVX-512 kernels (FD 56.6 against the
# stored 51.5 in notebook 05), so on an x86 machine that has AVX2, torch and oneDNN use their AVX2 kernels,
# as scripts/execute_notebooks.py does when it stores the outputs. The GAN's own numbers are the same either way.
if grep -qw avx2 /proc/cpuinfo 2>/dev/null; then
  export ATEN_CPU_CAPABILITY="${ATEN_CPU_CAPABILITY:-avx2}" ONEDNN_MAX_CPU_ISA="${ONEDNN_MAX_CPU_ISA:-AVX2}"
fi
NBVAL=(--nbval --nbval-current-env --nbval-sanitize-with notebooks/nbval_sanitize.cfg --nbval-cell-timeout 600)
skip_browser="${GAN_COURSE_SKIP_BROWSER:-}"
if [ $# -gt 0 ] || { [ -n "$skip_browser" ] && [ "$skip_browser" != "0" ]; }; then
  exec "$PY" -m pytest tests notebooks "${NBVAL[@]}" "$@"
fi
# The whole suite runs every notebook twice: under nbval, then with Run All in the browser. On one thread each,
# two trainings on 2 cores barely slow each other (0.89x to 1.02x, benchmarks/README.md), so the browser test
# runs in a second pytest beside the rest, and the suite takes about half as long. Its report follows.
# The digit meter is cached first (course.sh has checked the data), so that the two never train it at once.
"$PY" -c "from gan_course.quality import load_meter; load_meter()"
browser_log="$(mktemp)"
set -m  # the browser test in its own process group, where Ctrl-C (SIGINT) is not ignored: the trap passes it on
"$PY" -m pytest -p no:cacheprovider tests/test_browser.py >"$browser_log" 2>&1 &
browser=$!
set +m
trap 'kill -INT "$browser" 2>/dev/null && wait "$browser"; rm -f "$browser_log"' EXIT
status=0
"$PY" -m pytest tests notebooks "${NBVAL[@]}" -m "not browser" || status=$?
if [ "$status" -eq 2 ]; then exit 2; fi  # interrupted (Ctrl-C): the trap stops the browser test too
browser_status=0
wait "$browser" || browser_status=$?
echo
echo "==> the browser test (tests/test_browser.py), run beside the tests above"
cat "$browser_log"
if [ "$status" -ne 0 ]; then exit "$status"; fi
exit "$browser_status"
