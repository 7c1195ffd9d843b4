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

import html
import os
import re
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
RAISES = "raises-exception"  # the cell tag of an error demo: Run All carries on past it, nbval expects the error


def finish_progress_bars(nb: nbformat.NotebookNode) -> None:
    """Store each tqdm bar as it ended, not as it started.

    A tqdm widget's text/plain is written once, at 0%, when the bar appears; its later progress lives only
    in the widget state that `strip_widgets` removes. Rebuild the final text from that state (description,
    percentage, the right-hand text) so that a reader sees the finished bar. nbval's sanitize file turns
    both forms into the same text, so the comparison is unaffected.
    """
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            box = state.get(output.get("data", {}).get(WIDGET_VIEW, {}).get("model_id", ""), {}).get("state", {})
            children = [state.get(c.removeprefix("IPY_MODEL_"), {}).get("state", {}) for c in box.get("children", [])]
            if "%|" not in output.get("data", {}).get("text/plain", "") or len(children) != 3:
                continue
            left, bar, right = children  # "training mlp: 100%", the bar, "9360/9360 [00:31<00:00, ...]"
            filled = round(10 * bar.get("value", 0) / bar["max"]) if bar.get("max") else 0
            text = f"{left.get('value', '')}|{'█' * filled}{' ' * (10 - filled)}| {right.get('value', '').strip()}"
            output["data"]["text/plain"] = html.unescape(text).replace("\xa0", " ").replace("\u2007", " ")


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
    for cell in nb.cells:
        if cell.cell_type == "code" and "NBVAL_" in cell.source:
            raise RuntimeError(f'{source.name}: use a cell tag (# %% tags=["nbval-ignore-output"]), not an nbval comment:\n{cell.source}')
    demos = [c for c in nb.cells if c.cell_type == "code" and RAISES in c.metadata.get("tags", [])]
    client.execute()
    for cell in demos:
        if not any(o.output_type == "error" for o in cell.outputs):
            raise RuntimeError(f"{source.name}: a cell marked {RAISES} did not raise:\n{cell.source}")
    finish_progress_bars(nb)
    strip_widgets(nb)
    target = source.with_suffix(".ipynb")
    tmp = target.with_suffix(".ipynb.tmp")
    nbformat.write(nb, tmp)
    tmp.replace(target)
    return target


THREADS = "1"  # torch threads in the kernel: the same as scripts/test.sh gives nbval, so the numbers match
GUIDE = ROOT / "docs" / "teaching.md"
TABLE = re.compile(r"(<!-- minutes: .*? -->\n)(.*?)(<!-- /minutes -->)", re.S)


def record_minutes(name: str, seconds: float, guide: Path = GUIDE) -> None:
    """Write the measured time of a top-to-bottom run into the teacher's guide's table (one row per notebook)."""
    text = guide.read_text()
    match = TABLE.search(text)
    if match is None:
        raise RuntimeError(f"{guide} has no <!-- minutes: ... --> table to record the time in")
    rows = dict(re.findall(r"^\| `([^`]+)` \| (.*) \|$", match.group(2), re.M))
    rows[name] = f"{seconds / 60:.1f} | {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, {THREADS} torch thread(s)"
    table = "| notebook | minutes, top to bottom | measured |\n| --- | --- | --- |\n" + "".join(
        f"| `{key}` | {rows[key]} |\n" for key in sorted(rows))
    guide.write_text(text[:match.start(2)] + table + text[match.end(2):])


def main(paths: list[str]) -> int:
    os.environ["OMP_NUM_THREADS"] = THREADS  # inherited by every kernel started below
    os.environ["GAN_COURSE_DEVICE"] = "cpu"  # the stored outputs are CPU numbers, as scripts/test.sh compares them
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file() and "avx2" in cpuinfo.read_text().split():
        # and AVX2 numbers, even where AVX-512 is there: the meter's convolutions round differently (test.sh)
        os.environ.setdefault("ATEN_CPU_CAPABILITY", "avx2")
        os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
    # the kernel runs in notebooks/, so a relative data folder given from the repo root must be made absolute
    if os.environ.get("GAN_COURSE_DATA"):
        os.environ["GAN_COURSE_DATA"] = str(Path(os.environ["GAN_COURSE_DATA"]).resolve())
    sources = [Path(p).resolve() for p in paths] or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))
    for source in sources:
        if source.suffix != ".py":
            source = source.with_suffix(".py")
        start = time.perf_counter()
        target = execute(source)
        seconds = time.perf_counter() - start
        record_minutes(target.name, seconds)
        print(f"{target.relative_to(ROOT)}: executed in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
