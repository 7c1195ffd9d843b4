"""Regenerate docs/course.png, the README's picture: the training notebook in JupyterLab after pressing Train.

    GAN_COURSE_DATA=../shared/data .venv/bin/python scripts/screenshot.py            # 10 epochs at 2e-3
    .venv/bin/python scripts/screenshot.py --epochs 5 --lr 1e-3 --out /tmp/course.png

Does what tests/test_browser.py does, with a longer run: starts JupyterLab on a temporary copy of
notebooks/ (never the committed files), opens notebooks/05_training.ipynb in headless Chromium, runs all
cells, moves the epochs slider with the keyboard, types the learning rate into its readout, presses Train
and saves the page when the run has finished. The before/after screenshots also go to artifacts/browser/.
Needs Debian's Chromium (`apt-get install chromium`).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import browser_support as bs  # noqa: E402

NOTEBOOK = "05_training.ipynb"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs slider value (default 10)")
    parser.add_argument("--lr", default="2e-3", help="text typed into the learning-rate readout (default 2e-3)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "course.png", help="where the picture goes")
    args = parser.parse_args(argv)
    if bs.find_chromium() is None:
        print(f"Chromium not found. {bs.INSTALL_HINT}", file=sys.stderr)
        return 2
    shots = bs.ARTIFACTS / "browser"
    with tempfile.TemporaryDirectory(prefix="gan-course-screenshot-") as base:
        with bs.jupyter_lab(Path(base)) as lab, bs.chromium_page() as page:
            bs.open_notebook(page, lab, NOTEBOOK)
            bs.run_all(page, timeout=900)
            problems = bs.notebook_problems(page, lab.root / NOTEBOOK)
            if problems:
                print(f"{NOTEBOOK} shows problems after Run All:\n- " + "\n- ".join(problems), file=sys.stderr)
                return 1
            run = bs.train_with_widget(page, args.epochs, args.lr, shots, "course", timeout=1800)
    done = bs.DONE_LINE.search(run.output)
    if not done or not run.final_image_is_last:
        print(f"The run did not finish cleanly; the output area shows:\n{run.output}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shots / "course_after.png", args.out)
    print(f"{done.group(0)}\nwrote {args.out} (and {shots}/course_before.png, course_after.png)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
