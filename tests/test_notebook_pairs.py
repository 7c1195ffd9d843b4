"""Every course notebook is a Jupytext pair: notebooks/NN_name.py (the source) and NN_name.ipynb (executed).

The .ipynb is what students open and what nbval re-runs; the .py is what people edit and review. These
tests fail when the two drift apart, when one of a pair is missing, or when a stored notebook was never
executed (see scripts/execute_notebooks.py for how to regenerate it).
"""

from __future__ import annotations

import difflib
from pathlib import Path

import jupytext
import nbformat
import pytest
from jupytext.config import load_jupytext_configuration_file

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
CONFIG = load_jupytext_configuration_file(str(ROOT / "jupytext.toml"))
SOURCES = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))
STORED = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def test_there_are_notebooks():
    assert SOURCES and STORED, f"no NN_name.py / NN_name.ipynb notebooks in {NOTEBOOKS}"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_every_source_has_its_notebook(source: Path):
    assert source.with_suffix(".ipynb").is_file(), (
        f"{source.name} has no {source.stem}.ipynb. Create it with: "
        f"GAN_COURSE_DATA=../shared/data .venv/bin/python scripts/execute_notebooks.py notebooks/{source.name}"
    )


@pytest.mark.parametrize("stored", STORED, ids=lambda p: p.name)
def test_every_notebook_has_its_source(stored: Path):
    assert stored.with_suffix(".py").is_file(), (
        f"{stored.name} has no {stored.stem}.py. Create it with: jupytext --to py:percent notebooks/{stored.name}"
    )


@pytest.mark.parametrize("stored", STORED, ids=lambda p: p.name)
def test_notebook_matches_its_source(stored: Path):
    source = stored.with_suffix(".py")
    if not source.is_file():
        pytest.skip(f"{source.name} is missing (reported by test_every_notebook_has_its_source)")
    expected = source.read_text(encoding="utf-8")
    actual = jupytext.writes(jupytext.read(stored, config=CONFIG), fmt="py:percent", config=CONFIG)
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                            f"{source.name} (source)", f"{stored.name} (as py:percent)", n=1))
        pytest.fail(
            f"{stored.name} and {source.name} differ. After editing the .py, regenerate the notebook with "
            f"scripts/execute_notebooks.py notebooks/{source.name}.\n{diff[:4000]}"
        )


@pytest.mark.parametrize("stored", STORED, ids=lambda p: p.name)
def test_notebook_was_executed(stored: Path):
    nb = nbformat.read(stored, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code, f"{stored.name} has no code cells"
    assert any(cell.get("execution_count") for cell in code), (
        f"{stored.name} has no executed cells: run scripts/execute_notebooks.py notebooks/{stored.stem}.py"
    )
    assert any(cell.get("outputs") for cell in code), f"{stored.name} has no stored outputs"
    counts = [cell.execution_count for cell in code if cell.execution_count is not None]
    assert counts == sorted(counts), f"{stored.name} was not executed top to bottom (execution counts {counts})"


@pytest.mark.parametrize("stored", STORED, ids=lambda p: p.name)
def test_notebook_has_no_widget_state(stored: Path):
    nb = nbformat.read(stored, as_version=4)
    assert "widgets" not in nb.metadata, (
        f"{stored.name} stores widget state (metadata.widgets); scripts/execute_notebooks.py strips it"
    )
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", f"{stored.name} lacks the python3 kernelspec"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_students_read_no_test_machinery(source: Path):
    """nbval's settings are cell tags (`# %% tags=["nbval-ignore-output"]`), never comments in a student's cell."""
    markers = [f"line {i}: {line.strip()}" for i, line in enumerate(source.read_text().splitlines(), 1)
               if "NBVAL_" in line]
    assert not markers, f"{source.name} has nbval comments; use cell tags instead:\n" + "\n".join(markers)


FORGOTTEN = {"NameError", "ImportError", "ModuleNotFoundError", "AttributeError", "SyntaxError", "IndentationError"}


@pytest.mark.parametrize("stored", STORED, ids=lambda p: p.name)
def test_every_error_demo_fails_with_the_mistake_it_shows(stored: Path):
    """A cell tagged raises-exception shows the error a student's mistake gets, not a name the notebook forgot."""
    nb = nbformat.read(stored, as_version=4)
    demos = {i: [o.ename for o in cell.outputs if o.output_type == "error"] for i, cell in enumerate(nb.cells)
             if cell.cell_type == "code" and "raises-exception" in cell.metadata.get("tags", [])}
    wrong = {i: errors for i, errors in demos.items() if not errors or errors[0] in FORGOTTEN}
    assert not wrong, (f"{stored.name}: error demos (cell: errors) that fail for the wrong reason or not at all: "
                       f"{wrong}. Import what the cell uses earlier, then rerun scripts/execute_notebooks.py")


@pytest.mark.parametrize("stored", STORED, ids=lambda p: p.name)
def test_no_progress_bar_is_stored_at_zero(stored: Path):
    nb = nbformat.read(stored, as_version=4)
    unfinished = [i for i, cell in enumerate(nb.cells) for output in cell.get("outputs", [])
                  if " 0%|" in output.get("data", {}).get("text/plain", "")]
    assert not unfinished, f"{stored.name}: cells {unfinished} store a progress bar at 0%; run scripts/execute_notebooks.py"


def test_the_teaching_guide_has_a_measured_time_for_every_notebook():
    guide = (ROOT / "docs" / "teaching.md").read_text()
    missing = [p.name for p in STORED if f"| `{p.name}` | " not in guide]
    assert not missing, f"docs/teaching.md has no measured time for {missing}: run scripts/execute_notebooks.py on them"
