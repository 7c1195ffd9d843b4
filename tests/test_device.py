"""get_device picks or checks a device; set_threads sets torch's CPU threads; core_gflops, default_step_ms and
pace_note time this core against the benchmark's."""

import json
import re
import time

import pytest
import torch

from gan_course import device
from gan_course.device import available_devices, get_device, set_threads
from gan_course.errors import CourseError

AVAILABLE = available_devices()


def test_available_devices_end_with_the_cpu():
    assert AVAILABLE[-1] == "cpu"
    assert set(AVAILABLE) <= {"cuda", "mps", "cpu"}


@pytest.mark.parametrize("name", ["auto", None, "", " AUTO "])
def test_auto_returns_the_best_available_device(name):
    device = get_device(name)
    assert isinstance(device, torch.device)
    assert device.type == AVAILABLE[0]
    torch.zeros(1, device=device)  # usable


@pytest.mark.parametrize("name", ["cpu", " CPU "])
def test_cpu_always_works(name):
    assert get_device(name) == torch.device("cpu")


def test_unknown_device_lists_the_choices_and_what_is_available():
    message = f"Unknown device 'tpu'. Choose one of auto, cpu, cuda, mps; this machine has: {', '.join(AVAILABLE)}."
    with pytest.raises(CourseError, match=re.escape(message)):
        get_device("tpu")


@pytest.mark.parametrize("name", ["cuda", "cuda:0", "mps"])
def test_unavailable_device_says_what_is_available(name):
    if name.split(":")[0] in AVAILABLE:
        pytest.skip(f"{name} is available on this machine")
    with pytest.raises(CourseError, match=re.escape(
            f"Device {name!r} is not available on this machine; available: {', '.join(AVAILABLE)}. "
            "Use --device auto")):
        get_device(name)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_missing_cuda_index_is_a_course_error():
    with pytest.raises(CourseError, match=r"does not exist; this machine has \d+ CUDA device"):
        get_device(f"cuda:{torch.cuda.device_count()}")


def test_set_threads_uses_an_explicit_number(restore_threads, monkeypatch):
    monkeypatch.setenv("GAN_COURSE_THREADS", "2")
    assert set_threads(1) == 1 == torch.get_num_threads()


def test_set_threads_reads_the_environment(restore_threads, monkeypatch):
    monkeypatch.setenv("GAN_COURSE_THREADS", " 1 ")
    assert set_threads() == 1 == torch.get_num_threads()


def test_the_device_setting_replaces_autos_choice(monkeypatch):
    monkeypatch.setenv("GAN_COURSE_DEVICE", "cpu")
    assert get_device("auto") == torch.device("cpu")
    assert get_device("cpu") == torch.device("cpu")
    monkeypatch.setenv("GAN_COURSE_DEVICE", "tpu")
    with pytest.raises(CourseError, match=r"^GAN_COURSE_DEVICE='tpu': Unknown device 'tpu'. Choose one of auto, cpu"):
        get_device("auto")


@pytest.fixture
def no_setting(monkeypatch):
    monkeypatch.delenv("GAN_COURSE_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)


@pytest.mark.parametrize("cores, busy, threads", [(2, 0.0, 1), (2, 1.0, 1), (1, 0.0, 1), (4, 0.0, 2), (4, 1.2, 1),
                                                  (16, 0.0, 8), (16, 15.0, 1)])
def test_choose_threads_takes_half_the_free_cores(no_setting, monkeypatch, cores, busy, threads):
    monkeypatch.setattr(device, "cores_available", lambda: cores)
    monkeypatch.setattr(device.CpuWatch, "others", lambda self: busy)
    chosen, why = device.choose_threads(watch_s=0)
    assert chosen == threads
    assert why == f"half of the {round(cores - busy)} free of {cores} cores"


def test_set_threads_without_a_number_uses_the_automatic_choice(no_setting, restore_threads):
    chosen, _ = device.choose_threads()
    assert set_threads() == torch.get_num_threads() >= 1
    assert chosen <= max(1, device.cores_available() // 2)


def test_a_thread_setting_wins_over_the_automatic_choice(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.delenv("GAN_COURSE_THREADS", raising=False)
    assert device.choose_threads() == (3, "set by OMP_NUM_THREADS")
    monkeypatch.setenv("GAN_COURSE_THREADS", "2")
    assert device.choose_threads() == (2, "set by GAN_COURSE_THREADS")


def test_cpu_watch_sees_another_busy_program(busy_program):
    watch = device.CpuWatch()
    time.sleep(1.0)
    assert watch.others() >= 0.5


def test_speed_watch_names_the_other_program_and_the_lost_speed(busy_program):
    speed = device.SpeedWatch("cpu")
    speed.best = 200.0  # a quiet stretch of this run reached 200 steps/s
    for _ in range(60):
        speed.add(0.01)  # now 100 steps/s
    time.sleep(0.5)
    note = speed.note()
    assert re.fullmatch(r"another program is using the CPU \(\d\.\d cores\): 100 steps/s instead of 200", note), note
    assert speed.note() == note  # too few new steps: the same words


def test_speed_watch_is_silent_on_a_gpu():
    speed = device.SpeedWatch("cuda") if torch.cuda.is_available() else device.SpeedWatch(torch.device("meta"))
    for _ in range(60):
        speed.add(0.01)
    assert speed.note() is None


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_set_threads_rejects_a_bad_environment_value(restore_threads, monkeypatch, value):
    monkeypatch.setenv("GAN_COURSE_THREADS", value)
    with pytest.raises(CourseError, match=re.escape(f"GAN_COURSE_THREADS must be a positive integer, e.g. GAN_COURSE_THREADS=1; got {value!r}.")):
        set_threads()


@pytest.mark.parametrize("n", [0, -2, 1.5, "2"])
def test_set_threads_rejects_a_bad_number(restore_threads, n):
    with pytest.raises(CourseError, match=re.escape(f"threads must be a positive integer; got {n!r}.")):
        set_threads(n)


def test_measured_speeds_come_from_the_committed_benchmark(tmp_path):
    speed = device.measured_speeds()
    assert {"automatic", "2 threads"} <= set(speed)
    assert speed["automatic"]["alone"]["steps_per_s"] > 0 and speed["automatic"]["alone"]["threads"] >= 1
    with pytest.raises(CourseError, match=r"^No benchmark results at .*missing.json: run ./course.sh benchmark"):
        device.measured_speeds(tmp_path / "missing.json")
    (tmp_path / "quality_only.json").write_text('{"runs": []}')
    with pytest.raises(CourseError, match=r"has no speed measurements: run ./course.sh benchmark"):
        device.measured_speeds(tmp_path / "quality_only.json")


def test_core_gflops_measures_one_thread_and_gives_the_thread_count_back():
    torch.set_num_threads(2)
    try:
        assert device.core_gflops(size=256, repeats=5) > 0
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)


def test_pace_note_scales_the_benchmarks_minute_by_this_cores_speed(tmp_path):
    results = {"core GFLOP/s": 40.0, "date": "2026-01-02", "runs": [
        {"preset": "islands", "marks": [{"seconds": 60.0, "step": 9999}]},
        {"preset": "default", "marks": [{"seconds": 30.0, "step": 1500}, {"seconds": 60.0, "step": 3000}]}]}
    (tmp_path / "results.json").write_text(json.dumps(results))
    assert device.pace_note(80.0, tmp_path / "results.json") == (
        "This core: 80 GFLOP/s on one thread. The benchmark's (2026-01-02): 40.\n"
        "There a minute of the course default's training bought 3,000 steps.\n"
        "At 2.0x its pace, expect roughly 6,000 steps a minute here.")
    results["runs"][1]["core GFLOP/s"] = 50.0  # the pace just before the default's own run wins over the start's
    (tmp_path / "results.json").write_text(json.dumps(results))
    assert device.pace_note(100.0, tmp_path / "results.json").endswith(
        "(2026-01-02): 50.\nThere a minute of the course default's training bought 3,000 steps.\n"
        "At 2.0x its pace, expect roughly 6,000 steps a minute here.")
    results |= {"date": "2026-01-02 (default: 2026-01-09)", "newer": {"default": "2026-01-09"}}  # merged in later
    (tmp_path / "results.json").write_text(json.dumps(results))
    assert "The benchmark's (2026-01-09): 50." in device.pace_note(100.0, tmp_path / "results.json")  # its own run's
    committed = device.pace_note(device.core_gflops(size=256, repeats=5))
    assert committed.startswith("This core: ") and "steps a minute here." in committed


def test_pace_note_scales_the_minute_by_the_milliseconds_of_a_step_when_given_them(tmp_path):
    results = {"core GFLOP/s": 40.0, "date": "2026-01-02", "runs": [
        {"preset": "default", "ms_per_step": 10.0, "marks": [{"seconds": 60.0, "step": 3000}]}]}
    (tmp_path / "results.json").write_text(json.dumps(results))
    assert device.pace_note(40.0, tmp_path / "results.json", step_ms=12.5) == (
        "This core: 40 GFLOP/s on one thread. The benchmark's (2026-01-02): 40.\n"
        "There a minute of the course default's training bought 3,000 steps (10.0 ms a step over its five minutes).\n"
        "A step takes 12.5 ms here now: expect roughly 2,400 steps a minute.")  # the same GFLOP/s, a slower step
    del results["runs"][0]["ms_per_step"]  # an older file: the GFLOP/s alone
    (tmp_path / "results.json").write_text(json.dumps(results))
    assert device.pace_note(40.0, tmp_path / "results.json", step_ms=12.5).endswith(
        "At 1.0x its pace, expect roughly 3,000 steps a minute here.")
    with pytest.raises(CourseError, match=r"step_ms must be a positive time, as default_step_ms\(\) measures it; got 0"):
        device.pace_note(40.0, tmp_path / "results.json", step_ms=0)


def test_default_step_ms_times_the_default_on_one_thread_and_leaves_the_random_numbers_and_threads_alone():
    torch.set_num_threads(2)
    try:
        torch.manual_seed(7)
        expected = torch.rand(3)
        torch.manual_seed(7)
        assert device.default_step_ms(steps=3, warm=1) > 0
        assert torch.equal(torch.rand(3), expected) and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)
    for bad in ({"steps": 0}, {"warm": -1}, {"steps": 2.5}):
        with pytest.raises(CourseError, match=r"default_step_ms times at least 1 step after 0 or more untimed ones"):
            device.default_step_ms(**bad)


def test_pace_note_says_what_is_missing(tmp_path):
    with pytest.raises(CourseError, match=r"gflops must be a positive speed, as core_gflops\(\) measures it; got 0"):
        device.pace_note(0)
    (tmp_path / "old.json").write_text('{"runs": []}')
    with pytest.raises(CourseError, match=r'has no core speed \("core GFLOP/s"\): run ./course.sh benchmark\.$'):
        device.pace_note(40.0, tmp_path / "old.json")
    (tmp_path / "other.json").write_text('{"core GFLOP/s": 40, "date": "d", "runs": [{"preset": "dcgan", "marks": []}]}')
    with pytest.raises(CourseError, match="has no 60 s mark of the course default: run ./course.sh benchmark"):
        device.pace_note(40.0, tmp_path / "other.json")
    with pytest.raises(CourseError, match=r"^No benchmark results at .*missing.json"):
        device.pace_note(40.0, tmp_path / "missing.json")
    (tmp_path / "cut.json").write_text('{"core GFLOP/s": 4')  # a run stopped while writing
    with pytest.raises(CourseError, match=r"cut.json is not a benchmark's JSON: run ./course.sh benchmark to write it"):
        device.pace_note(40.0, tmp_path / "cut.json")
