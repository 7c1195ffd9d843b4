"""The training console's widget: buttons, sliders, a live dashboard and a timeline, plain ipywidgets (notebooks 05, 06).

Works wherever ipywidgets do (JupyterLab, Notebook, VS Code). Figures are matplotlib `Figure`s (not pyplot, so the
inline backend never shows them as cell output) saved as PNG into `ipywidgets.Image`s. Only a drawing thread
redraws the dashboard, at most every `REDRAW_S` seconds and only when the run changed; training never draws.
"""

from __future__ import annotations

import atexit
import io
import math
import threading
import weakref

from matplotlib.figure import Figure

from gan_course.console import DELAY, LR, STEPS_PER_ROUND, TrainingConsole
from gan_course.errors import CourseError
from gan_course.visualisation import plot_d_outputs, plot_losses, plot_trend, show_grid

REDRAW_S = 1.5
_OPEN: weakref.WeakSet = weakref.WeakSet()  # views whose drawing thread may still run
FONT = "18px"  # readable on a classroom projector
STYLE = {"description_width": "170px"}
CSS = (f"<style>.gan-console .widget-label, .gan-console .widget-readout, .gan-console .widget-html-content "
       f"{{font-size: {FONT}; line-height: 1.4;}}</style>")


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes, for an `ipywidgets.Image`."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def dashboard_figure(branches: list[dict]) -> Figure:
    """Losses and D's outputs of the active branch (last), earlier branches dashed in grey, with marks."""
    fig = Figure(figsize=(16, 4.6))
    ax_loss, ax_d = fig.subplots(1, 2)
    active = branches[-1]
    plot_losses(active["history"], ax=ax_loss)
    plot_d_outputs(active["history"], ax=ax_d)
    for other in branches[:-1]:
        h, start = other["history"], len(ax_loss.lines)
        plot_trend(ax_loss, h.step, h.loss_d, f"{other['name']}: D", "grey")
        plot_trend(ax_loss, h.step, h.loss_g, f"{other['name']}: G", "darkgrey")
        plot_trend(ax_d, h.step, h.d_g_z1, f"{other['name']}: D(G(z))", "grey")
        for line in ax_loss.lines[start:] + ax_d.lines[-2:]:
            line.set_linestyle("--")
    marks = [(s, f"lr {who} {lr:.0e}", "purple") for s, who, lr in active["lr"]]
    marks += [(s, "health warning", "red") for s, _ in active["warnings"]]
    if active["forked_at"] is not None:
        marks.append((active["forked_at"], f"fork: {active['name']}", "black"))
    at = {}  # marks at the same step share one line and one label
    for step, label, color in marks:
        at[step] = (f"{at[step][0]}, {label}", at[step][1]) if step in at else (label, color)
    for ax in (ax_loss, ax_d):
        for step, (label, color) in at.items():
            ax.axvline(step, color=color, linestyle=":", linewidth=1.5)
            ax.annotate(label, (step, 0.03), xycoords=("data", "axes fraction"), rotation=90, va="bottom", ha="right",
                        fontsize=12, color=color)
        ax.legend(loc="best", fontsize=11)
        ax.tick_params(labelsize=12)
        ax.title.set_fontsize(15)
        ax.xaxis.label.set_fontsize(13)
        ax.yaxis.label.set_fontsize(13)
    fig.suptitle(f"{active['name']}: step {active['step']:,}", fontsize=15)
    return fig


def make_sliders(config, delay: float) -> dict:
    """The learning rates of D and G (log scale), D and G steps per round, and the delay per step."""
    import ipywidgets as w

    common = {"layout": w.Layout(width="460px"), "style": STYLE}
    log = {"base": 10, "min": round(math.log10(LR[0])), "max": round(math.log10(LR[1])), "step": 0.1,
           "readout_format": ".1e", **common}
    return {
        "lr_d": w.FloatLogSlider(value=config.lr_d, description="D learning rate", **log),
        "lr_g": w.FloatLogSlider(value=config.lr_g, description="G learning rate", **log),
        "d_steps": w.IntSlider(value=config.d_steps, min=STEPS_PER_ROUND[0], max=STEPS_PER_ROUND[1],
                               description="D steps per round", **common),
        "g_steps": w.IntSlider(value=config.k, min=STEPS_PER_ROUND[0], max=STEPS_PER_ROUND[1],
                               description="G steps per round", **common),
        "delay": w.FloatSlider(value=delay, min=DELAY[0], max=DELAY[1], step=0.05, description="delay per step (s)",
                               **common),
    }


def timeline_text(point: dict, branch: str) -> str:
    """A timeline point's statistics and the meter's reading, as HTML lines."""
    s, reading = point["stats"], point["reading"]
    rows = [f"<b>{branch}, step {point['step']:,}</b>", f"D loss {s['loss_d']:.3f} &nbsp; G loss {s['loss_g']:.3f}",
            f"D(x) {s['d_x']:.2f} &nbsp; D(G(z)) {s['d_g_z1']:.2f}",
            f"digit meter: {reading.summary()}" if reading is not None else "digit meter: none"]
    return "<br>".join(rows)


class ConsoleView:
    """The widget of one `TrainingConsole`; `box` is what is displayed."""

    def __init__(self, console: TrainingConsole):
        import ipywidgets as w

        self.console, self.drawn = console, None
        config, big = console.branch.config, {"font_size": FONT}
        self.buttons = {name: w.Button(description=name, icon=icon, style=big, layout=w.Layout(width="150px", height="48px"))
                        for name, icon in (("Train", "play"), ("Pause", "pause"), ("Step D", "step-forward"),
                                           ("Step G", "step-forward"), ("Stop", "stop"), ("Fork here", "code-fork"))}
        self.buttons["Train"].button_style = "primary"
        self.sliders = make_sliders(config, console.delay)
        self.status, self.messages = w.HTML(), w.HTML()
        self.dashboard = w.Image(format="png", layout=w.Layout(width="100%"))
        self.point = w.IntSlider(value=0, min=0, max=0, description="timeline", readout=False,
                                 layout=w.Layout(width="640px"), style=STYLE)
        self.play = w.Play(interval=700, min=0, max=0)
        w.jslink((self.play, "value"), (self.point, "value"))
        self.grid, self.point_text = w.Image(format="png", layout=w.Layout(width="320px")), w.HTML()
        self.box = w.VBox([w.HTML(CSS), w.HBox(list(self.buttons.values())), self.status,
                           w.HBox([w.VBox([self.sliders["lr_d"], self.sliders["lr_g"]]),
                                   w.VBox([self.sliders["d_steps"], self.sliders["g_steps"], self.sliders["delay"]])]),
                           self.dashboard, w.HBox([self.play, self.point]), w.HBox([self.grid, self.point_text]),
                           self.messages])
        self.box.add_class("gan-console")
        self.error, self._lock = "", threading.RLock()
        self._wire()
        self.refresh()
        self.redraw()
        self._closed = threading.Event()
        self._drawer = threading.Thread(target=self._draw_loop, name="gan-console-draw", daemon=True)
        self._drawer.start()
        _OPEN.add(self)

    def close(self) -> None:
        """Close the widget, once its drawing thread has finished the frame it is on."""
        self.stop_drawing()
        self.box.close()

    def stop_drawing(self) -> None:
        """End the drawing thread and wait for it: the widget stays, as it was last drawn."""
        self._closed.set()
        if self._drawer is not threading.current_thread():
            self._drawer.join(timeout=30)

    def _wire(self) -> None:
        c, s = self.console, self.sliders
        actions = {"Train": c.run, "Pause": c.pause, "Step D": c.step_d, "Step G": c.step_g, "Stop": c.stop,
                   "Fork here": self.fork}
        for name, action in actions.items():
            self.buttons[name].on_click(lambda _, act=action: self._do(act))
        s["lr_d"].observe(lambda _: self._do(lambda: c.set_lr(lr_d=self.moved_lr("lr_d"))), "value")
        s["lr_g"].observe(lambda _: self._do(lambda: c.set_lr(lr_g=self.moved_lr("lr_g"))), "value")
        s["d_steps"].observe(lambda ch: self._do(lambda: c.set_steps(d_steps=ch["new"])), "value")
        s["g_steps"].observe(lambda ch: self._do(lambda: c.set_steps(g_steps=ch["new"])), "value")
        s["delay"].observe(lambda ch: self._do(lambda: c.set_delay(ch["new"])), "value")
        self.point.observe(lambda _: self.show_point(), "value")

    def moved_lr(self, name: str) -> float | None:
        """The slider's learning rate if it differs from the branch's by more than the slider's rounding, else None.

        A log slider holds exponents in steps of 0.1, so it shows 2e-3 as 10**-2.7 = 0.001995: not a change.
        """
        slider, current = self.sliders[name], getattr(self.console.branch.config, name)
        return slider.value if abs(math.log10(slider.value / current)) > slider.step / 2 else None

    def fork(self) -> None:
        step = self.console.view()[1][-1]["timeline"][self.point.value]["step"]
        self.console.fork(step)
        self.console.set_lr(lr_d=self.moved_lr("lr_d"), lr_g=self.moved_lr("lr_g"))
        self.console.set_steps(self.sliders["d_steps"].value, self.sliders["g_steps"].value)

    def _do(self, action) -> None:
        """Run a button's or slider's action; a mistake is shown on the console, not raised into the void."""
        try:
            action()
            self.error = ""
        except CourseError as err:
            self.error = str(err)
        self.refresh()

    def refresh(self) -> None:
        """Status line, buttons, timeline range and messages: cheap, so every click updates them at once."""
        c = self.console
        with self._lock:
            state, branches = c.view()
            active = branches[-1]
            last = active["last"]
            self.status.value = (f"<b>{active['name']}</b> · <b>{state}</b> · step <b>{active['step']:,}</b> · "
                                 f"D loss {last['loss_d']:.3f} · G loss {last['loss_g']:.3f} · "
                                 f"D(x) {last['d_x']:.2f} · D(G(z)) {last['d_g_z1']:.2f}")
            for name, enabled in (("Train", state in ("idle", "paused")), ("Pause", state == "running"),
                                  ("Step D", state in ("idle", "paused")), ("Step G", state in ("idle", "paused")),
                                  ("Stop", state != "stopped")):
                self.buttons[name].disabled = not enabled
            following = self.point.value == self.point.max
            self.point.max = self.play.max = len(active["timeline"]) - 1
            if following:
                self.point.value = self.point.max
            notes = [f"<b>{c.message}</b>"] * bool(c.message) + [f"<span style='color:#b00'>{self.error}</span>"] * bool(self.error)
            notes += [f"step {s:,}: learning rate of {who} set to {lr:.1e}" for s, who, lr in active["lr"]]
            notes += [f"<span style='color:#b00'>step {s:,}: {m}</span>" for s, m in active["warnings"]]
            self.messages.value = "<br>".join(notes)

    def redraw(self) -> None:
        """The dashboard picture and the timeline point: only from the drawing thread (and once at the start)."""
        with self._lock:
            self.drawn = self.console.version
            branches = self.console.view()[1]
            self.dashboard.value = png(dashboard_figure(branches))
            self.show_point(branches)

    def show_point(self, branches: list[dict] | None = None) -> None:
        """The fixed-noise grid and the statistics at the timeline point the slider selects."""
        with self._lock:
            active = (branches or self.console.view()[1])[-1]
            index = min(self.point.value, len(active["timeline"]) - 1)
            point, (step, images) = active["timeline"][index], active["history"].snapshots[index]
            fig = Figure(figsize=(4.5, 4.5))
            show_grid(images, f"Fixed noise, step {step:,}", ax=fig.subplots())
            self.grid.value = png(fig)
            self.point_text.value = timeline_text(point, active["name"])

    def _repr_mimebundle_(self, **kwargs) -> dict:
        """The widget, with a plain-text form that does not change between runs (nbval compares it)."""
        return self.box._repr_mimebundle_(**kwargs) | {"text/plain": repr(self.console)}

    def _draw_loop(self) -> None:
        # the throttle: a redraw costs a few hundred milliseconds of a shared CPU; ends when the widget is closed
        while not self._closed.wait(REDRAW_S) and self.box.comm is not None:
            try:
                self.refresh()
                if self.drawn != self.console.version:
                    self.redraw()
            except Exception as err:  # keep drawing: one bad frame must not freeze the console for good
                self.error = f"The dashboard could not be drawn: {err!r}"


@atexit.register
def _stop_drawing_threads() -> None:
    """At exit, let drawing threads finish their frame: Python stopping one inside a redraw aborts the process.
    The widgets are left open: the kernel that would carry their closing messages is shutting down."""
    for view in list(_OPEN):
        view.stop_drawing()
