"""benchmarks/benchmark.py: the samples it reads, its speed kept from an earlier run, and its bad arguments."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import benchmark  # noqa: E402  (benchmarks/ is a folder of scripts, not a package)


def test_a_larger_reading_starts_with_the_same_first_1000():
    images = torch.arange(10_000).float()
    assert torch.equal(benchmark.real_digits(images, 5000)[:1000], benchmark.real_digits(images, 1000))
    assert torch.equal(benchmark.benchmark_noise(5000)[:1000], benchmark.benchmark_noise(1000))
    picked = benchmark.real_digits(images, benchmark.MAX_SAMPLES)
    assert len(set(picked.tolist())) == 8000 and picked.max() < 8000  # never the meter's last 2,000
    with pytest.raises(ValueError, match="n must be from 1 to 8,000"):
        benchmark.real_digits(images, 8001)


def test_the_table_names_its_sample_count():
    real = {"confident": 0.96, "classes": 10, "fd": 29.0}
    run = {"name": "x", "threads": 1, "ms_per_step": 8.5, "marks": [{"seconds": 60, **real}]}
    assert "| real digits (5,000) |" in benchmark.table({"samples": 5000, "real digits": real, "runs": [run]})
    assert "| real digits (1,000) |" in benchmark.table({"real digits": real, "runs": [run]})  # older files


def test_earlier_speed_comes_with_its_date(tmp_path):
    out = tmp_path / "results.json"
    assert benchmark.earlier_speed(out) == {}
    out.write_text(json.dumps({"date": "2026-12-07 (default: 2026-12-08)", "runs": []}))
    assert benchmark.earlier_speed(out) == {}
    out.write_text(json.dumps({"date": "2026-12-07 (default: 2026-12-08)", "speed": {"a": 1}}))
    assert benchmark.earlier_speed(out) == {"speed": {"a": 1}, "speed date": "2026-12-07"}
    out.write_text(json.dumps({"date": "2026-12-09", "speed": {"a": 1}, "speed date": "2026-12-01"}))
    assert benchmark.earlier_speed(out)["speed date"] == "2026-12-01"


def run_benchmark(*args):
    return subprocess.run([sys.executable, str(BENCHMARKS / "benchmark.py"), *args], capture_output=True, text=True,
                          timeout=120)


def test_bad_sample_counts_are_refused_before_any_training(tmp_path):
    too_few = run_benchmark("--samples", "999", "--out", str(tmp_path / "r.json"))
    assert too_few.returncode == 2 and "--samples must be from 1000 to 8000" in too_few.stderr
    out = tmp_path / "results.json"
    out.write_text(json.dumps({"samples": 5000, "runs": []}))
    merged = run_benchmark("--merge", "--samples", "2000", "--out", str(out))
    assert merged.returncode == 2
    assert "scored 5,000 samples a copy and this run would score 2,000: merge with --samples 5000" in merged.stderr
    assert json.loads(out.read_text()) == {"samples": 5000, "runs": []}  # untouched
