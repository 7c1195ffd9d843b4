"""Regenerate the stored outputs of the course notebooks from their `.py` sources.

    .venv/bin/python scripts/execute_notebooks.py                      # every notebook
    .venv/bin/python scripts/execute_notebooks.py notebooks/05_training.py

For each `notebooks/NN_name.py` (the Jupytext source you edit) it builds the notebook,
executes it top to bottom with nbclient in `notebooks/` (as Jupyter and nbval do), strips
the widget state and widget-view outputs (random model ids that nbval cannot compare and
that GitHub's viewer refuses without their state) and writes `NN_name.ipynb`. Run it with
the same data setting CI uses (GAN_COURSE_DATA=../shared/data) so the stored outputs
match what CI re-computes.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
RAISES = "NBVAL_RAISES_EXCEPTION"


def strip_widgets(nb: nbformat.NotebookNode) -> None:
    """Remove saved widget state and widget-view outputs; the text/plain repr stays."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            output.get("data", {}).pop(WIDGET_VIEW, None)
        cell.get("metadata", {}).pop("execution", None)


def execute(source: Path, timeout: int = 900) -> Path:
    nb = jupytext.read(source)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    # An error demo carries nbval's comment and the `raises-exception` tag (`# %% tags=["raises-exception"]`):
    # the tag lets nbclient, and a student's "Run All" in JupyterLab, carry on past it.
    demos = [c for c in nb.cells if c.cell_type == "code"
             and any(line.strip().lstrip("#").strip() == RAISES for line in c.source.splitlines() if line.strip().startswith("#"))]
    for cell in demos:
        if "raises-exception" not in cell.metadata.get("tags", []):
            raise RuntimeError(f'{source.name}: a cell marked {RAISES} needs `# %% tags=["raises-exception"]` too:\n{cell.source}')
    client.execute()
    for cell in demos:
        if not any(o.output_type == "error" for o in cell.outputs):
            raise RuntimeError(f"{source.name}: a cell marked {RAISES} did not raise:\n{cell.source}")
    strip_widgets(nb)
    target = source.with_suffix(".ipynb")
    tmp = target.with_suffix(".ipynb.tmp")
    nbformat.write(nb, tmp)
    tmp.replace(target)
    return target


def main(paths: list[str]) -> int:
    # the kernel runs in notebooks/, so a relative data folder given from the repo root must be made absolute
    if os.environ.get("GAN_COURSE_DATA"):
        os.environ["GAN_COURSE_DATA"] = str(Path(os.environ["GAN_COURSE_DATA"]).resolve())
    sources = [Path(p).resolve() for p in paths] or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))
    for source in sources:
        if source.suffix != ".py":
            source = source.with_suffix(".py")
        start = time.perf_counter()
        target = execute(source)
        print(f"{target.relative_to(ROOT)}: executed in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
