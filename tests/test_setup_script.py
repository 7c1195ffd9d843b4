"""scripts/setup.sh through `./course.sh setup`, the command the codespaces run: idempotent, quick, clear when it fails.

These run the real script against the existing virtual environment, offline: its stamp says the pinned
packages are installed, so pip is skipped (a test that reinstalled packages would take minutes; without a
current stamp they skip). The kernel is registered into a temporary Jupyter folder, not the user's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETUP = ROOT / "scripts" / "setup.sh"
TIMEOUT = 300  # seconds; a run that skips pip takes a few


def venv_dir() -> Path:
    return ROOT / os.environ.get("GAN_COURSE_VENV", ".venv")  # setup.sh resolves it from the repository root


def expected_stamp(build: str) -> str:
    """What setup.sh writes after installing `build`, computed by setup.sh's own `want=` line."""
    line = re.search(r"^want=.*$", SETUP.read_text(), re.M)
    assert line, "scripts/setup.sh should compute its stamp in a want=... line"
    result = subprocess.run(["bash", "-c", f'{line.group(0)}\nprintf "%s" "$want"'], cwd=ROOT,
                            env={**os.environ, "TORCH_BUILD": build}, capture_output=True, text=True, check=True)
    return result.stdout


@pytest.fixture(scope="module")
def installed_build() -> str:
    """The torch build the venv's current stamp records; skip when set-up would have to run pip."""
    stamp = venv_dir() / ".gan-course-installed"
    if not stamp.is_file():
        pytest.skip(f"{stamp} is missing: run ./course.sh setup once (it installs packages, which a test must not)")
    build = stamp.read_text().strip().rsplit("-", 1)[-1]
    if stamp.read_text().strip() != expected_stamp(build):
        pytest.skip(f"{stamp} is out of date (requirements.txt or pyproject.toml changed): run ./course.sh setup once")
    return build


@pytest.fixture(scope="module")
def data_dir() -> Path:
    """The offline MNIST copy: $GAN_COURSE_DATA, else ../shared/data (CI's); these tests never download."""
    data = Path(os.environ.get("GAN_COURSE_DATA") or ROOT.parent / "shared" / "data")
    if not (data / "MNIST" / "raw").is_dir():
        pytest.skip(f"no offline MNIST at {data}/MNIST/raw; set GAN_COURSE_DATA (these tests do not download)")
    return data


def course(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """Run ./course.sh with the kernel registered under tmp_path instead of the user's Jupyter folder."""
    full_env = {**os.environ, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), **env}
    return subprocess.run(["./course.sh", *args], cwd=ROOT, env=full_env, capture_output=True, text=True,
                          timeout=TIMEOUT)


def test_setup_is_idempotent_registers_the_kernel_and_checks_the_data(installed_build, data_dir, tmp_path):
    stamp = venv_dir() / ".gan-course-installed"
    before = stamp.stat().st_mtime_ns
    runs = [course("setup", tmp_path=tmp_path, GAN_COURSE_TORCH=installed_build, GAN_COURSE_DATA=str(data_dir))
            for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stdout + run.stderr
        assert "Traceback" not in run.stderr
        assert "==> installing" not in run.stdout and "==> creating" not in run.stdout, "set-up ran pip again"
        assert re.search(rf"^==> checking the MNIST data\nMNIST ready in {re.escape(str(data_dir.resolve()))}: "
                         rf"[\d,]+ (training|test) digits; \d \.gz file\(s\) match torchvision's md5s$", run.stdout, re.M), run.stdout
    assert runs[0].stdout == runs[1].stdout
    assert stamp.stat().st_mtime_ns == before, "the stamp was rewritten: set-up reinstalled packages"
    kernel = json.loads((tmp_path / "jupyter" / "kernels" / "gan-course" / "kernel.json").read_text())
    assert kernel["display_name"] == "Python (gan-course)"
    assert os.path.abspath(kernel["argv"][0]) == os.path.abspath(venv_dir() / "bin" / "python")


def test_a_missing_data_folder_fails_with_one_clear_message(installed_build, tmp_path):
    missing = tmp_path / "no-such-folder"
    run = course("setup", tmp_path=tmp_path, GAN_COURSE_TORCH=installed_build, GAN_COURSE_DATA=str(missing))
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout.rstrip().endswith("==> checking the MNIST data")
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, run.stderr
    assert errors[0].startswith(f"error: The data folder GAN_COURSE_DATA={missing} does not exist")
    assert "Set GAN_COURSE_DATA (or --data) to a folder that holds MNIST/raw/" in errors[0]
    assert not missing.exists(), "a folder the user named must not be created or downloaded into"


def test_an_unknown_torch_build_stops_before_doing_anything(tmp_path):
    venv = tmp_path / "venv"
    run = subprocess.run(["bash", str(SETUP)], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "GAN_COURSE_TORCH": "bogus", "GAN_COURSE_VENV": str(venv)})
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == "GAN_COURSE_TORCH must be 'default' or 'cpu'; got 'bogus'.\n"
    assert not venv.exists()


def test_an_unknown_command_lists_the_commands(tmp_path):
    run = course("serve", tmp_path=tmp_path)
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == "Unknown command 'serve'. Use: ./course.sh lab | train | test | benchmark | setup\n"


def test_the_set_up_scripts_pass_shellcheck():
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (Debian: apt-get install shellcheck)")
    scripts = ["course.sh", "scripts/setup.sh", "scripts/test.sh"]
    run = subprocess.run([shellcheck, *scripts], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
