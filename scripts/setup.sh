#!/usr/bin/env bash
# Set up the course: a virtual environment with the pinned packages, the Jupyter kernel, and the MNIST data.
# Idempotent: a second run only re-checks the data. Used by ./course.sh, the devcontainers and CI.
#   GAN_COURSE_TORCH=cpu   install the CPU-only build of the same torch/torchvision versions (CPU devcontainer)
#   GAN_COURSE_DATA=DIR    check the MNIST files in DIR/MNIST/raw instead of downloading into ./data
#   GAN_COURSE_VENV=DIR    where the virtual environment goes (default .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${GAN_COURSE_VENV:-.venv}"
TORCH_BUILD="${GAN_COURSE_TORCH:-default}"
PYTHON="${PYTHON:-python3}"
case "$TORCH_BUILD" in default|cpu) ;; *) echo "GAN_COURSE_TORCH must be 'default' or 'cpu'; got '$TORCH_BUILD'." >&2; exit 2 ;; esac

if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating the virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
stamp="$VENV/.gan-course-installed"
want="$(cat requirements.txt pyproject.toml | sha256sum | cut -c1-16)-$TORCH_BUILD"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> installing the pinned packages (requirements.txt, torch build: $TORCH_BUILD; minutes the first time)"
  "$PY" -m pip install --quiet --no-cache-dir --upgrade pip
  if [ "$TORCH_BUILD" = cpu ]; then
    # Same versions, CPU-only wheels: ~0.2 GB instead of ~3 GB. --extra-index-url keeps PyPI for everything else.
    versions="$(grep -E '^(torch|torchvision)==' requirements.txt | sed 's/$/+cpu/')"
    # shellcheck disable=SC2086
    "$PY" -m pip install --quiet --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu $versions
  fi
  "$PY" -m pip install --quiet --no-cache-dir -r requirements.txt
  "$PY" -m pip install --quiet --no-cache-dir --no-deps -e .
  echo "$want" > "$stamp"
fi
"$PY" -m ipykernel install --user --name gan-course --display-name "Python (gan-course)" >/dev/null
echo "==> checking the MNIST data"
"$PY" -m gan_course data
