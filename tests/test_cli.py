"""The command line: what `train` and `sample` write, and one clean message with exit code 2 for each mistake."""

import gzip
import json
import re
import os
import shutil
import subprocess
import sys

import pytest
import torch
from PIL import Image

from gan_course.__main__ import main
from gan_course.data import data_root, split_files
from gan_course.device import available_devices
from gan_course.settings import course_default


@pytest.fixture(autouse=True)
def _threads(restore_threads):
    """`train` sets torch's thread count; give it back afterwards."""


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, meter):
    """`train --steps 50 --samples 100` once, with the digit meter (already cached by the `meter` fixture)."""
    out = tmp_path_factory.mktemp("run")
    code = main(["train", "--steps", "50", "--out", str(out), "--samples", "100"])
    return code, out


def test_train_writes_weights_samples_history_and_grid(trained_run):
    code, out = trained_run
    assert code == 0
    assert sorted(os.listdir(out)) == ["generator.pt", "grid.png", "history.json", "samples.pt"]
    samples = torch.load(out / "samples.pt", weights_only=True)
    assert samples.shape == (100, 1, 28, 28) and samples.dtype == torch.float32
    assert samples.min() >= -1 and samples.max() <= 1
    saved = json.loads((out / "history.json").read_text())
    assert saved["history"]["step"] == list(range(1, 51))
    assert saved["config"]["steps"] == 50 and saved["config"]["model"]["model"] == "mlp"
    with Image.open(out / "grid.png") as grid:
        assert grid.format == "PNG"


def test_train_ends_with_a_one_line_summary(tmp_path, mnist, meter, capsys):
    code = main(["train", "--steps", "20", "--out", str(tmp_path), "--samples", "50", "--batch-size", "16",
                 "--lr", "1e-3", "--threads", "1", "--device", "cpu"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert out[0] == f"Training the mlp GAN with 50 piles on {len(mnist[0]):,} digits on cpu (1 threads: --threads), budget: 20 steps"
    assert out[-1].startswith("Trained 20 steps in ")
    assert "ms/step); digit meter: confident " in out[-1]
    assert out[-1].endswith(f"wrote {tmp_path}/generator.pt, samples.pt, history.json, grid.png")
    saved = json.loads((tmp_path / "history.json").read_text())
    config = saved["config"]
    assert (config["batch_size"], config["lr_g"], config["lr_d"], config["threads"]) == (16, 1e-3, 1e-3, 1)
    assert (saved["history"]["threads"], saved["history"]["device"]) == (1, "cpu")  # seed + threads reproduce it


def test_train_without_threads_uses_the_setting_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GAN_COURSE_THREADS", "1")
    assert main(["train", "--steps", "5", "--out", str(tmp_path), "--samples", "10", "--no-meter"]) == 0
    assert "(1 threads: set by GAN_COURSE_THREADS)" in capsys.readouterr().out.splitlines()[0]


def recorded_model(folder) -> tuple[int, int, float | None, int | None]:
    config = json.loads((folder / "history.json").read_text())["config"]
    return config["model"]["piles"], config["model"]["islands"], config["r1"], config["halve_lr_at"]


@pytest.mark.parametrize("args, recorded", [
    (["--islands", "10"], (0, 10, None, None)),  # islands replace the default's piles, and drop R1 as piles=False does
    (["--piles", "0"], (0, 0, None, None)),  # plain noise
    (["--piles", "0", "--islands", "10"], (0, 10, None, None)),
    (["--islands", "10", "--r1", "0.3"], (0, 10, 0.3, None)),  # asked for by name
    (["--halve-lr-at", "500"], (50, 0, 0.3, 500)),
    (["--halve-lr-at", "0"], (50, 0, 0.3, None)),  # never
    (["--islands", "0"], (50, 0, 0.3, 15_000)),  # the default already has no islands
    (["--islands", "10", "--halve-lr-at", "900"], (0, 10, None, 900)),  # asked for by name
])
def test_train_records_the_piles_and_islands_asked_for(tmp_path, args, recorded):
    assert main(["train", "--steps", "2", "--no-meter", "--samples", "10", *args, "--out", str(tmp_path)]) == 0
    assert recorded_model(tmp_path) == recorded


def test_the_islands_flag_trains_the_librarys_islands_preset(tmp_path):
    assert main(["train", "--steps", "2", "--no-meter", "--samples", "10", "--islands", "10", "--out",
                 str(tmp_path)]) == 0
    recorded = json.loads((tmp_path / "history.json").read_text())["config"]
    expected = course_default(piles=False).to_dict()
    for budget in ("steps", "seconds", "threads"):  # the flags' and the machine's, not the preset's
        del recorded[budget], expected[budget]
    assert recorded == expected


def test_train_records_the_default_piles(trained_run):
    assert recorded_model(trained_run[1]) == (50, 0, 0.3, 15_000)
    assert json.loads((trained_run[1] / "history.json").read_text())["config"]["model"]["projection"] is True


def test_train_records_when_the_batch_doubles_and_0_means_never(trained_run, tmp_path):
    assert json.loads((trained_run[1] / "history.json").read_text())["config"]["double_batch_at"] == 3000
    assert main(["train", "--steps", "2", "--no-meter", "--samples", "10", "--double-batch-at", "0", "--out",
                 str(tmp_path)]) == 0
    assert json.loads((tmp_path / "history.json").read_text())["config"]["double_batch_at"] is None


@pytest.mark.parametrize("flag, field, default, given", [
    ("--r1", "r1", 0.3, "0.5"),  # the gradient penalty's gamma; 0: none
    ("--ema", "ema", 0.9998, "0.999"),  # the average's decay; 0: draw from G itself
])
def test_train_records_the_setting_asked_for_and_0_means_none(trained_run, tmp_path, flag, field, default, given):
    assert json.loads((trained_run[1] / "history.json").read_text())["config"][field] == default  # the course default's
    for text, recorded in ((given, float(given)), ("0", None)):
        assert main(["train", "--steps", "2", "--no-meter", "--samples", "10", flag, text, "--out",
                     str(tmp_path / text)]) == 0
        assert json.loads((tmp_path / text / "history.json").read_text())["config"][field] == recorded


@pytest.mark.parametrize("args, message", [
    (["--islands", "100"], "error: --islands must be at most 64, the size of the MLP's noise; got 100."),
    (["--model", "dcgan", "--islands", "10"],
     "error: --islands works with the MLP GAN only; the DCGAN has none. Drop --islands, or --model dcgan."),
    (["--model", "dcgan", "--piles", "50"],
     "error: --piles works with the MLP GAN only; the DCGAN has none. Drop --piles, or --model dcgan."),
    (["--conditional", "--islands", "10"], "error: --islands gives G kinds of digit without labels, and --conditional "
                                           "tells G the digit itself: choose one. Drop --islands, or --conditional."),
    (["--conditional", "--piles", "50"], "error: --piles gives G kinds of digit without labels, and --conditional "
                                         "tells G the digit itself: choose one. Drop --piles, or --conditional."),
    (["--islands", "10", "--piles", "50"], "error: --islands and --piles are two ways of giving G kinds of digit: "
                                           "choose one (--islands 10 alone replaces the default's piles)."),
    (["--islands", "10", "--truncation", "0.8"],
     "error: --truncation shrinks the style numbers of the GAN with piles, and --islands 10 trains one without "
     "piles. Drop --truncation, or drop --islands (the MLP's default has 50 piles)."),
    (["--piles", "0", "--truncation", "0.8"], "error: --truncation shrinks the style numbers of the GAN with piles, "
                                              "and --piles 0 trains one without piles. Drop --truncation, or drop "
                                              "--piles (the MLP's default has 50 piles)."),
    (["--conditional", "--truncation", "0.8"], "error: --truncation shrinks the style numbers of the GAN with piles, "
                                               "and --conditional trains one without piles. Drop --truncation."),
    (["--islands", "10", "--projection", "1"], "error: --projection tells D the pile at its output, and --islands 10 "
                                               "trains a GAN without piles. Drop --projection."),
    (["--model", "dcgan", "--projection", "1"], "error: --projection tells D the pile at its output, and --model dcgan "
                                                "trains a GAN without piles. Drop --projection."),
])
def test_settings_that_cannot_train_exit_2_and_write_nothing(tmp_path, capsys, args, message):
    assert main(["train", "--steps", "2", "--no-meter", "--out", str(tmp_path / "out"), *args]) == 2
    assert one_error_line(capsys).startswith(message)
    assert not (tmp_path / "out").exists()


def test_train_beside_a_busy_program_says_so_in_a_note(tmp_path, busy_program, capsys):
    assert main(["train", "--steps", "300", "--out", str(tmp_path), "--samples", "10", "--no-meter",
                 "--threads", "1"]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note: ")]
    assert len(notes) == 1 and notes[0].startswith("note: another program is using the CPU ("), notes
    assert json.loads((tmp_path / "history.json").read_text())["history"]["machine"] == notes[0][len("note: "):]


def test_sample_rebuilds_the_generator_and_draws_the_same_digits(trained_run, tmp_path, capsys):
    _, run = trained_run
    code = main(["sample", "--checkpoint", str(run / "generator.pt"), "--out", str(tmp_path), "--samples", "100"])
    assert code == 0
    assert capsys.readouterr().out.strip() == f"Wrote 100 samples to {tmp_path}/samples.pt and the first 64 to {tmp_path}/grid.png"
    again = torch.load(tmp_path / "samples.pt", weights_only=True)
    assert torch.equal(again, torch.load(run / "samples.pt", weights_only=True))  # same seed, same weights
    assert (tmp_path / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_data_command_checks_the_files(capsys):
    assert main(["data"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"MNIST ready in {data_root().resolve()}: ")
    assert "digits;" in out and "match torchvision's md5s" in out


def test_data_command_reports_a_failed_md5(tmp_path, capsys):
    files = split_files(data_root(), "test")
    if files is None or files[0].suffix != ".gz":
        pytest.skip("needs the gzipped test split")
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    shutil.copy(files[1], raw)
    (raw / files[0].name).write_bytes(gzip.compress(gzip.open(files[0]).read(), compresslevel=1))  # same digits, other bytes
    assert main(["data", "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: t10k-images-idx3-ubyte.gz in {raw} failed the md5 check: the files are corrupt. " \
                  "Delete them and run this again to download them afresh.\n"


# --- mistakes: one line, exit code 2 ----------------------------------------------------------------


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize("args, message", [
    (["--lr", "0"], "argument --lr: must be a positive number, got '0'"),
    (["--lr", "-1"], "argument --lr: must be a positive number, got '-1'"),
    (["--lr", "fast"], "argument --lr: expected a number, got 'fast'"),
    (["--epochs", "0"], "argument --epochs: must be a positive number, got '0'"),
    (["--steps", "0"], "argument --steps: must be at least 1, got '0'"),
    (["--model", "gan"], "argument --model: invalid choice: 'gan'"),
    (["--double-batch-at", "-1"], "argument --double-batch-at: must be a step number, or 0 for never, got '-1'"),
    (["--double-batch-at", "soon"], "argument --double-batch-at: must be a step number, or 0 for never, got 'soon'"),
    (["--halve-lr-at", "-5"], "argument --halve-lr-at: must be a step number, or 0 for never, got '-5'"),
    (["--steps", "5", "--epochs", "1"], "argument --epochs: not allowed with argument --steps"),
    (["--islands", "1"], "argument --islands: must be 0 for none or at least 2, got '1'"),
    (["--piles", "-2"], "argument --piles: must be 0 for none or at least 2, got '-2'"),
    (["--piles", "many"], "argument --piles: expected a whole number, got 'many'"),
    (["--truncation", "0"], "argument --truncation: must be above 0 and at most 1 (1 for none), got '0'"),
    (["--truncation", "nan"], "argument --truncation: must be above 0 and at most 1 (1 for none), got 'nan'"),
    (["--r1", "-1"], "argument --r1: must be 0 for none or a positive number such as 0.3, got '-1'"),
    (["--r1", "inf"], "argument --r1: must be 0 for none or a positive number such as 0.3, got 'inf'"),
    (["--r1", "some"], "argument --r1: expected a number, got 'some'"),
    (["--ema", "1"], "argument --ema: must be 0 for none or a decay below 1 such as 0.999, got '1'"),
    (["--ema", "-0.5"], "argument --ema: must be 0 for none or a decay below 1 such as 0.999, got '-0.5'"),
])
def test_bad_arguments_exit_2_with_a_usage_message(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--out", str(tmp_path), *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("python -m gan_course train: error: ")
    assert os.listdir(tmp_path) == []


def train_args(tmp_path, *extra):
    return ["train", "--steps", "2", "--no-meter", "--out", str(tmp_path / "out"), *extra]


def test_unknown_device(tmp_path, capsys):
    assert main(train_args(tmp_path, "--device", "tpu")) == 2
    assert one_error_line(capsys).startswith("error: Unknown device 'tpu'. Choose one of auto, cpu, cuda, mps")


def test_unavailable_device(tmp_path, capsys):
    if "cuda" in available_devices():
        pytest.skip("CUDA is available here")
    assert main(train_args(tmp_path, "--device", "cuda")) == 2
    assert one_error_line(capsys).startswith("error: Device 'cuda' is not available on this machine; available: cpu.")


def test_missing_data_folder(tmp_path, capsys):
    assert main(train_args(tmp_path, "--data", "/nonexistent")) == 2
    assert one_error_line(capsys).startswith("error: The data folder /nonexistent does not exist (/nonexistent). Set GAN_COURSE_DATA")


def test_wrong_data_folder_in_the_environment(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GAN_COURSE_DATA", str(tmp_path / "missing"))
    assert main(train_args(tmp_path)) == 2
    assert one_error_line(capsys).startswith(f"error: The data folder GAN_COURSE_DATA={tmp_path / 'missing'} does not exist")


def test_batch_larger_than_the_data(tmp_path, mnist, capsys):
    n = len(mnist[0])  # 10,000 offline; 60,000 where MNIST was downloaded
    batch = max(20000, n + 1)
    assert main(train_args(tmp_path, "--batch-size", str(batch))) == 2
    assert one_error_line(capsys) == \
        f"error: batch size {batch} is larger than the data ({n} images). Use --batch-size 64 or less."
    assert not (tmp_path / "out" / "generator.pt").exists()


def test_a_batch_that_would_double_past_the_data_exits_2_before_the_output_folder_is_made(tmp_path, mnist, capsys):
    n = len(mnist[0])
    assert main(train_args(tmp_path, "--batch-size", str(n // 2 + 1))) == 2
    assert one_error_line(capsys) == (f"error: the batch doubles to {2 * (n // 2 + 1)} at step 3000, more than the data "
                                      f"({n} images). Use a batch size of at most {n // 2}, or never double it "
                                      f"(double_batch_at=None; --double-batch-at 0 on the command line).")
    assert not (tmp_path / "out").exists()
    assert main(train_args(tmp_path, "--batch-size", str(n // 2 + 1), "--double-batch-at", "0")) == 0


def test_unwritable_output_folder_fails_before_training(tmp_path, capsys):
    (tmp_path / "file").write_text("a regular file")
    out = tmp_path / "file" / "run"
    assert main(["train", "--steps", "2", "--no-meter", "--out", str(out)]) == 2
    assert one_error_line(capsys) == f"error: Cannot write to the output folder {out}: Not a directory. Choose another with --out."
    assert capsys.readouterr().out == ""  # nothing was trained


def test_garbage_checkpoint(tmp_path, capsys):
    checkpoint = tmp_path / "generator.pt"
    checkpoint.write_bytes(b"\x00garbage" * 50)
    assert main(["sample", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "s")]) == 2
    assert one_error_line(capsys).startswith(f"error: {checkpoint} is not a readable checkpoint (")


def test_missing_checkpoint(tmp_path, capsys):
    assert main(["sample", "--checkpoint", str(tmp_path / "none.pt"), "--out", str(tmp_path / "s")]) == 2
    assert one_error_line(capsys) == f"error: No checkpoint at {tmp_path / 'none.pt'}. Train one first: python -m gan_course train --out DIR."


def test_a_mistake_in_a_real_process_prints_no_traceback(tmp_path):
    process = subprocess.run([sys.executable, "-m", "gan_course", *train_args(tmp_path, "--data", "/nonexistent")],
                             capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert process.returncode == 2
    assert "Traceback" not in process.stderr
    assert process.stderr.strip().splitlines() == [
        "error: The data folder /nonexistent does not exist (/nonexistent). Set GAN_COURSE_DATA (or --data) to a folder "
        "that holds MNIST/raw/ with the IDX files, or unset it to download into ./data."]


# --- the conditional GAN: train --conditional, sample --digit ---------------------------------------


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory, meter):
    """`train --conditional --steps 50 --samples 100` once."""
    out = tmp_path_factory.mktemp("conditional")
    code = main(["train", "--conditional", "--steps", "50", "--out", str(out), "--samples", "100", "--threads", "1"])
    return code, out


def test_train_conditional_also_writes_the_digit_asked_for_each_sample(conditional_run):
    code, out = conditional_run
    assert code == 0
    assert sorted(os.listdir(out)) == ["generator.pt", "grid.png", "history.json", "labels.pt", "samples.pt"]
    samples, labels = torch.load(out / "samples.pt", weights_only=True), torch.load(out / "labels.pt", weights_only=True)
    assert samples.shape == (100, 1, 28, 28)
    assert labels.dtype == torch.int64 and labels.tolist() == [i % 10 for i in range(100)]
    config = json.loads((out / "history.json").read_text())["config"]
    assert config["model"]["conditional"] is True and config["n_fixed"] == 100


def test_train_conditional_summary_names_the_kind_and_the_asked_for_share(tmp_path, mnist, meter, capsys):
    code = main(["train", "--conditional", "--steps", "10", "--out", str(tmp_path), "--samples", "50", "--threads", "1"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert out[0] == f"Training the conditional mlp GAN on {len(mnist[0]):,} digits on cpu (1 threads: --threads), budget: 10 steps"
    assert re.search(r"classes \d+/10, FD [\d.]+, asked-for digit drawn \d+%; ", out[-1]), out[-1]
    assert out[-1].endswith(f"wrote {tmp_path}/generator.pt, samples.pt, labels.pt, history.json, grid.png")


def test_sample_a_digit_from_a_run_folder(conditional_run, capsys):
    _, run = conditional_run
    assert main(["sample", "--digit", "7", "--n", "64", str(run)]) == 0
    out = run / "sample"
    assert capsys.readouterr().out.strip() == (f"Wrote 64 samples to {out}/samples.pt, the digits asked for to "
                                               f"{out}/labels.pt and the first 64 to {out}/grid.png")
    assert torch.load(out / "samples.pt", weights_only=True).shape == (64, 1, 28, 28)
    assert torch.load(out / "labels.pt", weights_only=True).tolist() == [7] * 64


def test_sample_without_a_digit_draws_the_ten_in_turn_like_train(conditional_run, tmp_path):
    _, run = conditional_run
    assert main(["sample", str(run), "--out", str(tmp_path), "--samples", "100"]) == 0
    assert torch.equal(torch.load(tmp_path / "labels.pt", weights_only=True), torch.load(run / "labels.pt", weights_only=True))
    assert torch.equal(torch.load(tmp_path / "samples.pt", weights_only=True), torch.load(run / "samples.pt", weights_only=True))


def test_sample_an_unconditional_run_folder_writes_no_labels(trained_run, tmp_path):
    _, run = trained_run
    assert main(["sample", str(run), "--out", str(tmp_path), "--n", "10"]) == 0
    assert sorted(os.listdir(tmp_path)) == ["grid.png", "samples.pt"]


@pytest.mark.parametrize("text", ["10", "-1", "seven", "7.0"])
def test_a_digit_outside_0_to_9_is_a_usage_error(conditional_run, capsys, text):
    _, run = conditional_run
    with pytest.raises(SystemExit) as exit_info:
        main(["sample", "--digit", text, str(run), "--out", str(run / "nothing")])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == \
        f"python -m gan_course sample: error: argument --digit: must be a digit from 0 to 9, got {text!r}"
    assert not (run / "nothing").exists()


def test_digit_on_an_unconditional_run_is_refused_and_nothing_is_written(trained_run, capsys):
    _, run = trained_run
    assert main(["sample", "--digit", "3", str(run)]) == 2
    assert one_error_line(capsys) == (
        f"error: --digit needs a conditional run, but {run / 'generator.pt'} holds an unconditional generator, which "
        "cannot be told the digit. Drop --digit, or train one: python -m gan_course train --conditional.")
    assert not (run / "sample").exists()


def test_conditional_dcgan_is_refused_before_anything_is_written(tmp_path, capsys):
    assert main(["train", "--conditional", "--model", "dcgan", "--out", str(tmp_path / "out")]) == 2
    assert one_error_line(capsys) == \
        "error: the conditional GAN exists as an MLP only; got model 'dcgan'. Use --model mlp."
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, message", [
    ([], "error: Name the generator once: a run folder (python -m gan_course sample runs/default) or --checkpoint FILE --out DIR."),
    (["RUN", "--checkpoint", "x.pt"], "error: Name the generator once: a run folder (python -m gan_course sample runs/default) "
                                      "or --checkpoint FILE --out DIR."),
    (["--checkpoint", "x.pt"], "error: --checkpoint needs --out DIR, the folder for samples.pt and grid.png."),
])
def test_sample_needs_one_generator_and_a_place_to_write(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(["sample", *args]) == 2
    assert one_error_line(capsys) == message
    assert os.listdir(tmp_path) == []
