"""JupyterLab in headless Chromium: start a private server on a copy of the notebooks, drive it with Playwright.

Used by tests/test_browser.py and scripts/screenshot.py. Nothing here touches the committed notebooks,
the virtual environment or the user's Jupyter settings: the server runs on a temporary copy of
`notebooks/` with its own config, settings, workspace and kernel folders, and is stopped by its PID.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
ARTIFACTS = ROOT / "artifacts"
TOKEN = "gan-course-browser-test"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
INSTALL_HINT = ("Install Debian's Chromium with `sudo apt-get install chromium` (after `sudo apt-get update`), "
                "or set GAN_COURSE_CHROMIUM to a Chromium or Chrome binary (macOS: \"/Applications/Google Chrome.app/"
                "Contents/MacOS/Google Chrome\"); set GAN_COURSE_SKIP_BROWSER=1 to skip the browser tests.")
# No news toast over the page, no autosave (outputs would be written into the copy mid-test), and every
# cell kept in the DOM (the default windowing detaches cells scrolled out of view, hiding them from locators).
OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    "@jupyterlab/extensionmanager-extension:plugin": {"enabled": False},
}
RAISES_MARK = "NBVAL_RAISES_EXCEPTION"
RAISES_TAG = "raises-exception"


def find_chromium() -> str | None:
    """The Chromium binary: $GAN_COURSE_CHROMIUM, else `chromium` / `chromium-browser` on the PATH."""
    named = os.environ.get("GAN_COURSE_CHROMIUM", "").strip()
    if named:
        return named if os.access(named, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def data_root() -> str:
    """An absolute MNIST folder for the kernel: the copied notebooks run from a temporary folder."""
    env = os.environ.get("GAN_COURSE_DATA", "").strip()
    return str(Path(env).expanduser().resolve() if env else ROOT / "data")


def cache_setting(root: str) -> dict[str, str]:
    """GAN_COURSE_CACHE for a read-only data folder, as tests/conftest.py does: root passes os.access() checks
    on a read-only folder, so without this the digit meter would be cached inside the offline copy."""
    if os.environ.get("GAN_COURSE_CACHE", "").strip() or not Path(root).is_dir():
        return {}
    if Path(root).stat().st_mode & stat.S_IWUSR:
        return {}
    return {"GAN_COURSE_CACHE": str(Path.home() / ".cache" / "gan-course")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_notebooks(target: Path, source: Path | None = None) -> Path:
    """A copy of notebooks/ (timestamps kept, so Jupytext sees the pairs as they are) in `target`."""
    shutil.copytree(source or NOTEBOOKS, target, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return target


def kernel_names(folder: Path) -> set[str]:
    names = {"python3"}
    for path in folder.glob("*.ipynb"):
        names.add(json.loads(path.read_text()).get("metadata", {}).get("kernelspec", {}).get("name", "python3"))
    return names


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    pid: int
    log: Path

    def tree_url(self, name: str) -> str:
        """Open `name` alone: `reset` drops the tabs an earlier page left in the (temporary) workspace."""
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(f"{self.url}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None


def _write_private_dirs(base: Path, notebooks: Path) -> dict[str, str]:
    """Config, settings, workspace, runtime and kernel folders of our own; returns the environment pointing at them."""
    settings = base / "app-settings"
    settings.mkdir(parents=True)
    (settings / "overrides.json").write_text(json.dumps(OVERRIDES, indent=2))
    kernels = base / "jupyter-data" / "kernels"
    for name in kernel_names(notebooks):  # whatever kernel the notebooks name runs this interpreter
        (kernels / name).mkdir(parents=True)
        spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": f"Python ({name})", "language": "python"}
        (kernels / name / "kernel.json").write_text(json.dumps(spec))
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # scripts/test.sh sets Agg for nbval; in JupyterLab figures must render inline
    env.update(cache_setting(data_root()))
    env.update({
        "GAN_COURSE_DATA": data_root(),
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(base / "user-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
        "JUPYTER_PATH": os.pathsep.join([str(base / "jupyter-data"), env.get("JUPYTER_PATH", "")]).rstrip(os.pathsep),
        "PYTHONUNBUFFERED": "1",
    })
    return env


def wait_for_server(url: str, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {process.returncode} before it answered; its log "
                               f"({log}) ends:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"JupyterLab did not answer on {url} within {timeout:.0f} s; its log ({log}) ends:\n"
                       f"{log.read_text()[-3000:]}")


def stop_server(lab: Lab, process: subprocess.Popen) -> None:
    """Shut the kernels down, then the server (SIGTERM, then SIGKILL), all by the PID we started."""
    if process.poll() is None:
        try:
            for kernel in lab.api("kernels"):
                lab.api(f"kernels/{kernel['id']}", method="DELETE")
        except (OSError, ValueError):
            pass  # the server is stopped below in any case
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
    try:  # the server ran in its own process group (its PID): end any kernel it left behind
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@contextmanager
def jupyter_lab(base: Path, source: Path | None = None):
    """Start JupyterLab on a copy of `source` (notebooks/) under `base`; yield a `Lab`; stop it by its PID, even on failure."""
    notebooks = copy_notebooks(base / "notebooks", source)
    env = _write_private_dirs(base, notebooks)
    log = base / "jupyterlab.log"
    for attempt in range(3):  # a free port can be taken between choosing it and binding it
        port = free_port()
        command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
                   f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}",
                   f"--ServerApp.root_dir={notebooks}", f"--LabApp.app_settings_dir={base / 'app-settings'}"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # containers and CI machines often run as root
        with open(log, "w") as out:
            process = subprocess.Popen(command, cwd=notebooks, env=env, stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        lab = Lab(f"http://127.0.0.1:{port}", TOKEN, notebooks, process.pid, log)
        try:
            wait_for_server(lab.url, process, log)
            break
        except RuntimeError:
            stop_server(lab, process)
            if attempt == 2 or "address already in use" not in log.read_text().lower():
                raise
    try:
        yield lab
    finally:
        stop_server(lab, process)


@contextmanager
def chromium_page(width: int = 1500, height: int = 1100):
    """A page in headless Chromium (the system's, never a downloaded one)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as err:
        raise RuntimeError("Playwright is missing: install the pinned packages (pip install -r requirements.txt).") from err
    executable = find_chromium()
    if executable is None:
        raise RuntimeError(f"Chromium not found. {INSTALL_HINT}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            yield page
        finally:
            browser.close()


# ---------------------------------------------------------------------------------------------------------
# Driving a notebook the way a student does: open it, Run > Run All Cells, read what the page shows.

ERROR_TEXT = re.compile(r"Traceback|^\w*(Error|Exception)\b", re.M)  # in stderr outputs (where errors render)
BROKEN_OUTPUT = re.compile(r"Error displaying widget|No renderer could be found|Loading widget\.\.\.")
NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"  # the notebook in the current tab
COLLECT_CELLS = """cells => cells.map(cell => ({
    code: cell.classList.contains('jp-CodeCell'),
    prompt: (cell.querySelector('.jp-InputArea-prompt') || {}).innerText || '',
    outputs: Array.from(cell.querySelectorAll('.jp-OutputArea-output')).map(o => ({
        mime: o.getAttribute('data-mime-type') || '', text: o.innerText.slice(0, 3000)})),
}))"""


def status_text(page) -> str:
    return page.locator("#jp-main-statusbar").inner_text()


def fail_on_dialog(page) -> None:
    dialog = page.locator(".jp-Dialog")
    if dialog.count():
        raise AssertionError(f"JupyterLab shows a dialog: {dialog.first.inner_text()!r}")


def wait_until(page, condition, timeout: float, what: str, poll: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fail_on_dialog(page)
        if condition():
            return
        page.wait_for_timeout(poll * 1000)
    raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}; status bar: {status_text(page)!r}")


def kernel_idle(page) -> bool:
    return "| Idle" in status_text(page)


def open_notebook(page, lab: Lab, name: str, timeout: float = 120) -> None:
    """Open `name` in JupyterLab, hide the file browser (more room for the notebook), wait for an idle kernel."""
    page.goto(lab.tree_url(name))
    page.locator(f"{NOTEBOOK} .jp-Cell").first.wait_for(timeout=timeout * 1000)
    sidebar_tab = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
    if sidebar_tab.count():
        sidebar_tab.first.click()
    wait_until(page, lambda: kernel_idle(page), timeout, "the kernel to be idle")


def prompts(page) -> list[str]:
    return page.locator(f"{NOTEBOOK} .jp-CodeCell .jp-InputArea-prompt").all_inner_texts()


def menu(page, top: str, item: str) -> None:
    page.get_by_role("menuitem", name=top, exact=True).click()
    page.get_by_role("menuitem", name=item, exact=True).click()


def clear_outputs(page) -> None:
    """Edit > Clear Outputs of All Cells: afterwards every prompt and output on the page is from this run."""
    menu(page, "Edit", "Clear Outputs of All Cells")
    wait_until(page, lambda: page.locator(f"{NOTEBOOK} .jp-OutputArea-output").count() == 0
               and all(p.strip() in ("[ ]:", "") for p in prompts(page)), 30, "the stored outputs to be cleared")


def run_all(page, timeout: float) -> float:
    """Clear the stored outputs, Run > Run All Cells, and wait until no cell is queued or running and the
    kernel is idle. Returns seconds."""
    clear_outputs(page)
    start = time.monotonic()
    menu(page, "Run", "Run All Cells")  # exact: not "Restart Kernel and Run All Cells…"
    wait_until(page, lambda: any(p.strip() not in ("[ ]:", "") for p in prompts(page)), 60,
               "Run All Cells to start the first cell")

    def finished() -> bool:
        return kernel_idle(page) and not any("*" in p for p in prompts(page))

    wait_until(page, lambda: finished() and (page.wait_for_timeout(1500) or finished()), timeout,
               "all cells to finish", poll=1.0)
    return time.monotonic() - start


def declared_error(cell) -> bool:
    """An error demo: nbval expects it to raise (comment marker or tag)."""
    return RAISES_MARK in "".join(cell.source) or RAISES_TAG in cell.get("metadata", {}).get("tags", [])


def notebook_problems(page, path: Path) -> list[str]:
    """What a student would see go wrong after Run All: cells that did not run, error outputs outside the
    declared error demos, widgets that failed to render. `path` is the notebook file the page shows."""
    import nbformat

    cells = nbformat.read(path, as_version=4).cells
    shown = page.locator(f"{NOTEBOOK} .jp-Cell").evaluate_all(COLLECT_CELLS)
    if len(shown) != len(cells):
        return [f"the page shows {len(shown)} cells, the notebook has {len(cells)}"]
    problems, not_run = [], []
    for index, (cell, seen) in enumerate(zip(cells, shown)):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        where = f"cell {index} ({cell.source.strip().splitlines()[0][:60]!r})"
        if not re.fullmatch(r"\[\d+\]:", seen["prompt"].strip()):
            not_run.append(str(index))
        if RAISES_MARK in cell.source and RAISES_TAG not in cell.get("metadata", {}).get("tags", []):
            problems.append(f"{where} is marked {RAISES_MARK} but not tagged {RAISES_TAG!r}: JupyterLab's Run All "
                            f"stops at it. Start the cell with `# %% tags=[\"{RAISES_TAG}\"]` in the .py.")
        for output in seen["outputs"]:
            if BROKEN_OUTPUT.search(output["text"]):
                problems.append(f"{where} shows a broken output:\n{output['text'][:500]}")
            elif (not declared_error(cell) and output["mime"] == "application/vnd.jupyter.stderr"
                  and ERROR_TEXT.search(output["text"])):
                problems.append(f"{where} shows an error:\n{output['text'][:1500]}")
    if not_run:
        problems.append(f"cells {', '.join(not_run)} did not run: Run All stopped before them")
    return problems


def screenshot(page, path: Path, bottom_of=None) -> Path:
    """A screenshot of the page; with `bottom_of` (a locator), cut just below that element."""
    path.parent.mkdir(parents=True, exist_ok=True)
    clip = None
    if bottom_of is not None:
        box, size = bottom_of.bounding_box(), page.viewport_size
        if box is not None:
            clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], box["y"] + box["height"] + 2)}
    page.screenshot(path=str(path), clip=clip)
    return path


# ---------------------------------------------------------------------------------------------------------
# The training widget of gan_course.live.training_controls: sliders, Train, an output area.

DONE_LINE = re.compile(r"^(Done|Stopped early): (\w+) GAN(?: with \d+ piles)?, epochs=(\d+), lr=([0-9.e+-]+), k=(\d+): "
                       r"([\d,]+) steps.*$", re.M)
RECORD_IMAGES = """area => {
    window.__dashboardImages = [];
    const record = () => area.querySelectorAll('img').forEach(img => {
        const list = window.__dashboardImages;
        if (img.src && list[list.length - 1] !== img.src) list.push(img.src);
    });
    new MutationObserver(record).observe(area, {subtree: true, childList: true, attributes: true,
                                                 attributeFilter: ['src']});
}"""


@dataclass
class TrainingRun:
    readouts_before: tuple[str, str]  # (epochs, learning rate) as the notebook set them
    epochs_readout: str
    lr_readout: str
    output: str
    images_drawn: int  # distinct dashboard pictures the output area showed during the run
    final_image_is_last: bool  # the picture left on screen is the last one drawn
    final_image_width: int  # natural width in pixels of the picture left on screen (0: not loaded)
    seconds: float


def widget_slider(page, description: str):
    label = page.locator("label.widget-label", has_text=re.compile(rf"^{re.escape(description)}$"))
    return page.locator(f"{NOTEBOOK} .widget-slider").filter(has=label)


def set_epochs_with_keys(page, epochs: int) -> str:
    """Keyboard on the slider handle, as a user would: Home (the minimum), then the right arrow."""
    handle = widget_slider(page, "epochs").locator(".noUi-handle")
    handle.focus()
    handle.press("Home")
    for _ in range(epochs - round(float(handle.get_attribute("aria-valuemin")))):
        handle.press("ArrowRight")
    return widget_slider(page, "epochs").locator(".widget-readout").inner_text().strip()


def set_lr_by_typing(page, text: str) -> str:
    """Type into the learning-rate slider's editable readout and press Enter."""
    return type_into_slider(page, "learning rate", text)


def type_into_slider(page, description: str, text: str) -> str:
    """Type into the editable readout of the slider labelled `description` and press Enter; returns the readout."""
    readout = widget_slider(page, description).locator(".widget-readout")
    readout.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    return readout.inner_text().strip()


def train_with_widget(page, epochs: int, lr_text: str, shots: Path, stem: str, timeout: float = 600) -> TrainingRun:
    """Move the sliders, screenshot, press Train, wait for the run's summary line, screenshot again."""
    cell = page.locator(f"{NOTEBOOK} .jp-CodeCell").filter(has=page.locator(".widget-button", has_text="Train"),
                                                            has_not=page.locator(".gan-console"))  # not the console's
    if cell.count() != 1:
        raise AssertionError(f"expected one cell with the sliders' Train button; found {cell.count()}")
    cell.evaluate("element => element.scrollIntoView({block: 'start'})")
    before = tuple(widget_slider(page, name).locator(".widget-readout").inner_text().strip()
                   for name in ("epochs", "learning rate"))
    epochs_readout = set_epochs_with_keys(page, epochs)
    lr_readout = set_lr_by_typing(page, lr_text)
    cell.evaluate("element => element.scrollIntoView({block: 'start'})")
    screenshot(page, shots / f"{stem}_before.png")
    area = cell.locator(".widget-output").last
    area.evaluate(RECORD_IMAGES)
    start = time.monotonic()
    cell.locator(".widget-button", has_text="Train").click()
    wait_until(page, lambda: DONE_LINE.search(area.inner_text()) or "Error:" in area.inner_text(), timeout,
               "the Train button's run to print its summary", poll=1.0)
    seconds = time.monotonic() - start
    wait_until(page, lambda: kernel_idle(page), 60, "the kernel to be idle after training")
    page.wait_for_timeout(1000)  # the last picture is sent just before the summary line; let it load
    cell.evaluate("element => element.scrollIntoView({block: 'start'})")
    drawn = page.evaluate("() => window.__dashboardImages")
    final = area.locator("img").evaluate_all("imgs => imgs.map(i => [i.src, i.naturalWidth])")
    screenshot(page, shots / f"{stem}_after.png", bottom_of=cell)
    return TrainingRun(before, epochs_readout, lr_readout, area.inner_text(), len(set(drawn)),
                       bool(final) and bool(drawn) and final[-1][0] == drawn[-1],
                       final[-1][1] if final else 0, seconds)


# ---------------------------------------------------------------------------------------------------------
# The digit buttons of gan_course.conditional_live.digit_buttons: ten buttons, a caption, a picture.

DIGIT_CAPTION = re.compile(r"^\d+ samples of the digit \d, fresh noise \(picture \d+\)$")


@dataclass
class DigitPress:
    caption_before: str
    caption: str  # after the press
    src_before: str
    src: str  # the picture's src after the press
    width: int  # its natural width in pixels (0: not loaded)


def press_digit(page, digit: str, shot: Path, timeout: float = 60) -> DigitPress:
    """Press the button `digit` (0-9) and wait until the caption names that digit and the picture changed."""
    buttons = page.locator(f"{NOTEBOOK} .jp-CodeCell").filter(has=page.get_by_role("button", name="9", exact=True))
    if buttons.count() != 1:
        raise AssertionError(f"expected one cell with the digit buttons; found {buttons.count()}")
    cell = buttons.first
    cell.evaluate("element => element.scrollIntoView({block: 'start'})")
    caption = cell.get_by_text(DIGIT_CAPTION)
    image = cell.locator(".jp-OutputArea-output img").last
    before = (caption.inner_text().strip(), image.get_attribute("src") or "")
    cell.get_by_role("button", name=digit, exact=True).click()
    wait_until(page, lambda: f"of the digit {digit}," in caption.inner_text()
               and (image.get_attribute("src") or "") != before[1], timeout, f"the picture of the digit {digit}")
    page.wait_for_timeout(500)  # let the new picture load
    screenshot(page, shot, bottom_of=cell)
    return DigitPress(before[0], caption.inner_text().strip(), before[1], image.get_attribute("src") or "",
                      image.evaluate("img => img.naturalWidth"))


# ---------------------------------------------------------------------------------------------------------
# The training console of gan_course.console_view: buttons, a status line, sliders, a dashboard, a timeline.

CONSOLE_STATUS = re.compile(r"(run \d+) · (\w+) · step ([\d,]+) · D loss ([\d.naninf-]+) · G loss ([\d.naninf-]+)")


@dataclass
class ConsoleStatus:
    branch: str  # "run 1", "run 2" after a fork
    state: str  # idle, running, paused, stopped
    step: int
    loss_d: str
    loss_g: str


class Console:
    """The console widget in the page, read and pressed the way a student does."""

    def __init__(self, page):
        self.page = page
        self.cell = page.locator(f"{NOTEBOOK} .jp-CodeCell").filter(has=page.locator(".gan-console"))
        if self.cell.count() != 1:
            raise AssertionError(f"expected one cell with the training console; found {self.cell.count()}")
        self.box = self.cell.locator(".gan-console")

    def status(self) -> ConsoleStatus:
        text = self.box.inner_text()
        match = CONSOLE_STATUS.search(text)
        if not match:
            raise AssertionError(f"no status line in the console; it shows:\n{text[:2000]}")
        branch, state, step, loss_d, loss_g = match.groups()
        return ConsoleStatus(branch, state, int(step.replace(",", "")), loss_d, loss_g)

    def press(self, name: str) -> None:
        self.box.locator(".widget-button", has_text=re.compile(rf"^\s*{re.escape(name)}\s*$")).click()

    def button_enabled(self, name: str) -> bool:
        return self.box.locator(".widget-button", has_text=re.compile(rf"^\s*{re.escape(name)}\s*$")).is_enabled()

    def wait_for(self, condition, timeout: float, what: str) -> ConsoleStatus:
        wait_until(self.page, lambda: condition(self.status()), timeout, what, poll=0.25)
        return self.status()

    def images(self) -> list[str]:
        """The `src` of the console's pictures: the dashboard, then the timeline's grid."""
        return self.box.locator("img").evaluate_all("imgs => imgs.map(i => i.src)")

    def text(self) -> str:
        return self.box.inner_text()

    def timeline_step(self) -> int:
        """The step of the timeline point on show (its statistics read "run N, step S")."""
        match = re.search(r"run \d+, step ([\d,]+)", self.text())
        if not match:
            raise AssertionError(f"no timeline point in the console; it shows:\n{self.text()[:2000]}")
        return int(match.group(1).replace(",", ""))

    def timeline_key(self, key: str, times: int = 1) -> None:
        """Move the timeline slider with the keyboard (Home, End, ArrowRight, ...)."""
        handle = widget_slider(self.page, "timeline").locator(".noUi-handle")
        handle.focus()
        for _ in range(times):
            handle.press(key)

    def show(self, timeline: bool = False) -> None:
        """Scroll the console's top (or, with `timeline`, its timeline grid) into view."""
        target = self.box.locator("img").last if timeline else self.cell
        target.evaluate(f"element => element.scrollIntoView({{block: '{'end' if timeline else 'start'}'}})")
