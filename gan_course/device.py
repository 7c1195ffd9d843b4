"""Choosing where tensors live and how many CPU threads torch uses (notebook 01)."""

from __future__ import annotations

import copy
import json
import os
import time
from pathlib import Path

import torch

from gan_course.errors import CourseError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "results.json"  # written by ./course.sh benchmark


def available_devices() -> list[str]:
    """Device names this machine can use, best first, e.g. `['cuda', 'cpu']`."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found + ["cpu"]


def get_device(name: str | None = "auto") -> torch.device:
    """Return a `torch.device`: `auto` picks CUDA, else Apple MPS, else the CPU.

    `name` may also be `cpu`, `cuda`, `cuda:1` or `mps`. Asking for a device that is
    not there is an error that lists what is. The setting `GAN_COURSE_DEVICE` (e.g. `cpu`) replaces
    `auto`'s choice: the tests use it so that a GPU machine reproduces the notebooks' stored CPU numbers.
    """
    name = (name or "auto").strip().lower()
    available = available_devices()
    if name == "auto":
        setting = os.environ.get("GAN_COURSE_DEVICE", "").strip().lower()
        if setting and setting != "auto":
            try:
                return get_device(setting)
            except CourseError as err:
                raise CourseError(f"GAN_COURSE_DEVICE={setting!r}: {err}") from None
        return torch.device(available[0])
    kind = name.split(":")[0]
    if kind not in DEVICE_CHOICES:
        raise CourseError(
            f"Unknown device {name!r}. Choose one of {', '.join(DEVICE_CHOICES)}; "
            f"this machine has: {', '.join(available)}."
        )
    if kind not in available:
        raise CourseError(
            f"Device {name!r} is not available on this machine; available: "
            f"{', '.join(available)}. Use --device auto (or get_device('auto')) to pick the best one."
        )
    if kind == "cuda" and ":" in name:
        index = int(name.split(":")[1]) if name.split(":")[1].isdigit() else -1
        if not 0 <= index < torch.cuda.device_count():
            raise CourseError(
                f"Device {name!r} does not exist; this machine has {torch.cuda.device_count()} CUDA device(s)."
            )
    return torch.device(name)


def cores_available() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class CpuWatch:
    """How many cores' worth of CPU *other* processes used since the last reading (Linux; 0.0 elsewhere).

    Reads the machine's busy time from /proc/stat and this process's own from `os.times()`: the difference
    is everyone else, e.g. another notebook's kernel that is training.
    """

    def __init__(self):
        self.last = self._now()

    @staticmethod
    def _now() -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat") as f:
                fields = [int(v) for v in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        busy = sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)  # all but idle and iowait
        own = os.times()
        return busy / os.sysconf("SC_CLK_TCK"), own.user + own.system, time.perf_counter()

    def others(self) -> float:
        """Cores used by other processes since the previous call (or since the watch was made)."""
        now, last = self._now(), self.last
        self.last = now
        if now is None or last is None or now[2] - last[2] < 0.05:
            return 0.0
        return max(0.0, ((now[0] - last[0]) - (now[1] - last[1])) / (now[2] - last[2]))


class SpeedWatch:
    """A run's steps per second, and a sentence when other programs are taking the CPU from it (the dashboard's)."""

    def __init__(self, device: torch.device | str = "cpu"):
        self.cpu = CpuWatch() if torch.device(device).type == "cpu" else None
        self.steps, self.seconds, self.best, self.last = 0, 0.0, 0.0, None

    def add(self, seconds: float) -> None:
        """One more step that took `seconds`."""
        self.steps, self.seconds = self.steps + 1, self.seconds + seconds

    def note(self) -> str | None:
        """Called now and then: None while the CPU is this run's, else e.g. 'another program is using the CPU
        (1.0 cores): 120 steps/s instead of 300' (300: this run's best so far)."""
        if self.cpu is None or self.steps < 50 or self.seconds <= 0:
            return self.last  # too few steps since the last reading to say anything new
        rate, others = self.steps / self.seconds, self.cpu.others()
        self.steps, self.seconds, self.best = 0, 0.0, max(self.best, rate)
        self.last = None
        if others >= 0.5:
            slower = f" instead of {self.best:.0f}" if rate < 0.8 * self.best else ""
            self.last = f"another program is using the CPU ({others:.1f} cores): {rate:.0f} steps/s{slower}"
        return self.last


def _threads_setting() -> tuple[int, str] | None:
    """A thread count the user set: GAN_COURSE_THREADS, else OMP_NUM_THREADS; None when neither is set."""
    for name in ("GAN_COURSE_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value:
            if not value.isdigit() or int(value) < 1:
                raise CourseError(f"{name} must be a positive integer, e.g. {name}=1; got {value!r}.")
            return int(value), f"set by {name}"
    return None


def choose_threads(watch_s: float = 0.2) -> tuple[int, str]:
    """(threads, why): the user's setting if any, else half the cores no other program is busy on, at least 1.

    Half, so that a second notebook that starts training later still finds a free core: two programs with
    2 threads each on 2 cores keep swapping places and each runs many times slower, while two 1-thread
    runs barely notice each other (benchmarks/README.md). Watches the CPU for `watch_s` seconds.
    """
    setting = _threads_setting()
    if setting is not None:
        return setting
    cores, watch = cores_available(), CpuWatch()
    time.sleep(watch_s)
    busy = watch.others()
    threads = max(1, round(cores - busy) // 2)
    return threads, f"half of the {max(0, round(cores - busy))} free of {cores} cores"


def set_threads(n: int | None = None) -> int:
    """Set torch's CPU threads: `n`, else the setting or the automatic choice of `choose_threads`.

    More threads than free cores only adds switching. Returns the number now in use.
    """
    if n is None:
        n = choose_threads()[0]
    if not isinstance(n, int) or n < 1:
        raise CourseError(f"threads must be a positive integer; got {n!r}.")
    torch.set_num_threads(n)
    return torch.get_num_threads()


def _results(path: Path | str) -> dict:
    """The committed benchmark's results (`./course.sh benchmark` writes them), or an error that says how to get
    them."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CourseError(f"No benchmark results at {path}: run ./course.sh benchmark to measure this machine.") from None
    except ValueError:
        raise CourseError(f"{path} is not a benchmark's JSON: run ./course.sh benchmark to write it again.") from None


def measured_speeds(path: Path | str = BENCHMARK) -> dict:
    """The course default's steps per second alone, beside a busy program and two at once, per thread policy,
    as the benchmark measured them on this project's machine (`benchmarks/results.json`, key "speed")."""
    results = _results(path)
    if "speed" not in results:
        raise CourseError(f"{path} has no speed measurements: run ./course.sh benchmark (without --speed-seconds 0).")
    return results["speed"]


def core_gflops(size: int = 1024, repeats: int = 20) -> float:
    """One thread's speed at a square float32 product, the best of 3 tries, in GFLOP/s (about a second). The
    same 2-core machine name has run at 83 and at 35 (benchmarks/README.md), and every figure in seconds
    moves with it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        a, b = torch.randn(size, size), torch.randn(size, size)
        a @ b
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            for _ in range(repeats):
                a @ b
            best = min(best, (time.perf_counter() - start) / repeats)
        return round(2 * size**3 / best / 1e9, 1)
    finally:
        torch.set_num_threads(threads)


def default_step_ms(steps: int = 100, warm: int = 20) -> float:
    """Milliseconds a training step of the course default takes on one thread of this CPU, now (about 2 s).

    Its own networks and step (`course_default()`: batches of 64, as after its doubling, R1 on every 4th step,
    the average of G), on random images and piles: the time depends on the arithmetic, not on the digits.
    `steps` steps are timed after `warm` untimed ones. A core's GFLOP/s (`core_gflops`) says what kind of core
    it is; a step also waits on memory and shares the core with whatever else runs, and this counts all of it.
    The global random numbers and the thread count are left as they were.
    """
    from gan_course.losses import make_optimizers  # local imports: these modules come later in the course
    from gan_course.models import build_models
    from gan_course.sampling import update_ema
    from gan_course.settings import course_default
    from gan_course.steps import r1_weight, step_on_device

    if not (isinstance(steps, int) and steps >= 1 and isinstance(warm, int) and warm >= 0):
        raise CourseError(f"default_step_ms times at least 1 step after 0 or more untimed ones; got steps={steps!r}, "
                          f"warm={warm!r}. Try default_step_ms() with its defaults (100 and 20).")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            config, rng = course_default(), torch.Generator().manual_seed(0)
            generator, discriminator = build_models(config.model, "cpu")
            average = copy.deepcopy(generator).requires_grad_(False)
            opt_g, opt_d = make_optimizers(generator, discriminator, config.lr_g, config.lr_d, (config.beta1, 0.999))
            images = torch.rand(2 * config.batch_size, 1, 28, 28, generator=rng) * 2 - 1
            piles = torch.randint(0, config.model.piles, (len(images),), generator=rng)
            start = 0.0
            for step in range(1, warm + steps + 1):
                if step == warm + 1:
                    start = time.perf_counter()
                step_on_device(generator, discriminator, opt_g, opt_d, images, rng, labels=piles,
                               r1=r1_weight(config.r1, step))
                update_ema(average, generator, config.ema, step)
            return round(1000 * (time.perf_counter() - start) / steps, 2)
    finally:
        torch.set_num_threads(threads)


def pace_note(gflops: float, path: Path | str = BENCHMARK, *, step_ms: float | None = None) -> str:
    """This core against the benchmark's, and what a minute of the course default's training buys here, in three
    lines. With `step_ms` (`default_step_ms()`) the minute is scaled by the milliseconds a step took there and
    here, e.g. '... There a minute of the course default's training bought 6,964 steps (9.9 ms a step over its
    five minutes). / A step takes 11.0 ms here now: expect roughly 6,300 steps a minute.'; without it, by the
    GFLOP/s alone (the same GFLOP/s has gone with 8.3 and with 9.9 ms a step on the course's machine,
    benchmarks/README.md)."""
    if not gflops > 0:
        raise CourseError(f"gflops must be a positive speed, as core_gflops() measures it; got {gflops!r}.")
    if step_ms is not None and not step_ms > 0:
        raise CourseError(f"step_ms must be a positive time, as default_step_ms() measures it; got {step_ms!r}.")
    results = _results(path)
    default = [r for r in results.get("runs", []) if r.get("preset") == "default"]
    # the pace measured just before the default's own run, else (older files) at the benchmark's start
    bench = (default[0] if default else {}).get("core GFLOP/s", results.get("core GFLOP/s"))
    if bench is None:
        raise CourseError(f'{path} has no core speed ("core GFLOP/s"): run ./course.sh benchmark.')
    minute = [m["step"] for r in default for m in r["marks"] if m["seconds"] == 60]
    if not minute:
        raise CourseError(f"{path} has no 60 s mark of the course default: run ./course.sh benchmark.")
    date = results.get("newer", {}).get("default") or results.get("date", "undated").split(" (")[0]  # its own run's
    there_ms = default[0].get("ms_per_step")
    first = f"This core: {gflops:.0f} GFLOP/s on one thread. The benchmark's ({date}): {bench:.0f}.\n"
    if step_ms is None or there_ms is None:
        ratio = gflops / bench
        return (first + f"There a minute of the course default's training bought {minute[0]:,} steps.\n"
                f"At {ratio:.1f}x its pace, expect roughly {round(minute[0] * ratio, -2):,.0f} steps a minute here.")
    return (first + f"There a minute of the course default's training bought {minute[0]:,} steps ({there_ms:.1f} ms a "
            f"step over its five minutes).\nA step takes {step_ms:.1f} ms here now: expect roughly "
            f"{round(minute[0] * there_ms / step_ms, -2):,.0f} steps a minute.")
