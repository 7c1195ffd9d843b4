"""scripts/exercise_answers.py: the exercises whose answers the teacher's guide quotes still apply to the notebooks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("exercise_answers", ROOT / "scripts" / "exercise_answers.py")
answers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(answers)


@pytest.mark.parametrize("name", sorted(answers.CELL_EDITS))
def test_each_exercise_still_finds_the_notebook_line_it_changes(name):
    answers.check_edits(*answers.CELL_EDITS[name])  # raises SystemExit when a notebook no longer has the line


def test_a_notebook_without_the_line_stops_the_script_with_what_to_do(tmp_path, monkeypatch):
    (tmp_path / "04_losses.py").write_text("# %%\nprint('the generator step was rewritten')\n")
    monkeypatch.setattr(answers, "NOTEBOOKS", tmp_path)
    with pytest.raises(SystemExit, match=r"04_losses.py holds 0 copies of .*update CELL_EDITS in exercise_answers.py"):
        answers.check_edits(*answers.CELL_EDITS["04-3"])


def test_the_guides_answer_to_04s_gradient_exercise_is_what_the_exercise_gives():
    norms = answers.exercise_04_3()  # notebook 04's own cells, then the same with the saturating loss
    guide = (ROOT / "docs" / "teaching.md").read_text()
    quoted = f"{norms['non-saturating']:.2f} with the course's loss and {norms['saturating']:.2f} with the saturating"
    assert quoted in " ".join(guide.split()), f"docs/teaching.md should say {quoted!r}"
