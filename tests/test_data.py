"""MNIST: the IDX reader against facts of the real test split, its error messages, torchvision's dataset."""

import gzip
import re
import shutil
import socket
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

import gan_course.data as data
from gan_course.data import data_root, default_root, load_mnist, read_idx, split_files, verify_files
from gan_course.errors import CourseError

IMAGES, LABELS = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"
# Facts of the official 10,000-digit test split, checked with the independent reader below.
LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
FIRST_LABELS = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
IMAGE0_SUM, ALL_SUM = 18454, 264923200
IMAGE0_ROW7 = [84, 185, 159, 151, 60, 36, 0, 0]  # columns 6..13: the top stroke of the first "7"


def read_idx_independently(path: Path) -> np.ndarray:
    """A second IDX reader, written from the format description: gzip + struct + numpy."""
    raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    magic, count = struct.unpack(">ii", raw[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">ii", raw[8:16])
        return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, rows, cols)
    assert magic == 2049
    return np.frombuffer(raw, dtype=np.uint8, offset=8)


@pytest.fixture(scope="module")
def test_files() -> tuple[Path, Path]:
    files = split_files(data_root(), "test")
    if files is None:
        pytest.skip("the MNIST test split is not in the data folder")
    return files


@pytest.fixture(scope="module")
def test_split():
    return load_mnist(split="test")


def make_raw(root: Path) -> Path:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    return raw


# --- the reader against the real files -------------------------------------------------------------


def test_read_idx_agrees_with_an_independent_reader(test_files):
    for path in test_files:
        ours = read_idx(path)
        assert ours.dtype == torch.uint8
        assert np.array_equal(ours.numpy(), read_idx_independently(path))


def test_test_split_has_the_known_shape_labels_and_pixels(test_split):
    images, labels = test_split
    assert images.shape == (10000, 28, 28) and images.dtype == torch.uint8
    assert labels.shape == (10000,) and labels.dtype == torch.int64
    assert torch.bincount(labels, minlength=10).tolist() == LABEL_COUNTS
    assert labels[:10].tolist() == FIRST_LABELS
    assert int(images[0].sum()) == IMAGE0_SUM
    assert images[0, 7, 6:14].tolist() == IMAGE0_ROW7
    assert int(images.sum(dtype=torch.int64)) == ALL_SUM
    assert int(images.min()) == 0 and int(images.max()) == 255


def test_independent_reader_confirms_the_hard_coded_facts(test_files):
    images, labels = (read_idx_independently(p) for p in test_files)
    assert np.bincount(labels, minlength=10).tolist() == LABEL_COUNTS
    assert int(images[0].sum()) == IMAGE0_SUM and images[0, 7, 6:14].tolist() == IMAGE0_ROW7


def test_auto_split_takes_the_training_digits_else_the_test_digits(mnist, test_split):
    images, labels = mnist
    if split_files(data_root(), "train") is None:
        assert torch.equal(images, test_split[0]) and torch.equal(labels, test_split[1])
    else:
        assert images.shape == (60000, 28, 28)


def test_load_mnist_reads_uncompressed_files_too(tmp_path, test_files, test_split):
    raw = make_raw(tmp_path)
    for path in test_files:
        (raw / path.name.removesuffix(".gz")).write_bytes(gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes())
    images, labels = load_mnist(tmp_path)
    assert torch.equal(images, test_split[0]) and torch.equal(labels, test_split[1])


# --- where the data lives --------------------------------------------------------------------------


def test_data_root_prefers_the_argument_then_the_environment_then_data(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GAN_COURSE_DATA", "/from/env")
    assert data_root("given") == Path("given")
    assert data_root() == Path("/from/env")
    monkeypatch.delenv("GAN_COURSE_DATA")
    assert data_root() == default_root() == Path("data")


def test_default_root_from_the_notebooks_folder_is_the_projects_data(monkeypatch, tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert default_root() == Path("../data")


# --- errors: each one says what to do ---------------------------------------------------------------

FIX = "Set GAN_COURSE_DATA (or --data) to a folder that holds MNIST/raw/"


def test_missing_folder_given_as_argument(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(CourseError, match=re.escape(f"The data folder {missing} does not exist")) as info:
        load_mnist(missing)
    assert FIX in str(info.value)


def test_missing_folder_given_through_the_environment(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere"
    monkeypatch.setenv("GAN_COURSE_DATA", str(missing))
    with pytest.raises(CourseError, match=re.escape(f"The data folder GAN_COURSE_DATA={missing} does not exist")) as info:
        load_mnist()
    assert FIX in str(info.value)


def test_folder_without_mnist_files_is_not_downloaded_into(tmp_path, monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("a folder the user named must not be downloaded into")

    monkeypatch.setattr(data, "MNIST", no_download)
    with pytest.raises(CourseError, match=r"No MNIST train/test files in .*MNIST/raw\. Set GAN_COURSE_DATA"):
        load_mnist(tmp_path)
    with pytest.raises(CourseError, match=r"No MNIST test files in"):
        load_mnist(tmp_path, split="test")


def test_unknown_split_is_a_course_error():
    with pytest.raises(CourseError, match=re.escape("split must be 'auto', 'train' or 'test'; got 'valid'.")):
        load_mnist(split="valid")


def copy_split(test_files, root: Path) -> tuple[Path, Path]:
    raw = make_raw(root)
    return tuple(Path(shutil.copy(path, raw / path.name)) for path in test_files)


def test_truncated_gz_is_a_course_error(tmp_path, test_files):
    images_gz, _ = copy_split(test_files, tmp_path)
    images_gz.write_bytes(images_gz.read_bytes()[: images_gz.stat().st_size // 2])
    with pytest.raises(CourseError, match=r"is truncated or corrupt \(.*\)\. Delete it and download it again\. Set GAN_COURSE_DATA"):
        load_mnist(tmp_path)


def test_garbage_gz_is_a_course_error(tmp_path, test_files):
    images_gz, _ = copy_split(test_files, tmp_path)
    images_gz.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(CourseError, match=r"t10k-images-idx3-ubyte\.gz is truncated or corrupt"):
        load_mnist(tmp_path)


def test_gz_damaged_in_the_middle_is_a_course_error(tmp_path, test_files):
    images_gz, _ = copy_split(test_files, tmp_path)
    raw = bytearray(images_gz.read_bytes())
    raw[len(raw) // 2: len(raw) // 2 + 64] = bytes(64)
    images_gz.write_bytes(bytes(raw))
    with pytest.raises(CourseError, match=r"truncated or corrupt"):
        read_idx(images_gz)


def test_wrong_magic_number_is_a_course_error(tmp_path):
    path = tmp_path / "fake-idx"
    path.write_bytes(struct.pack(">iiii", 1234, 1, 28, 28) + bytes(784))
    with pytest.raises(CourseError, match=re.escape(f"{path} is not an MNIST IDX file (magic number 1234, expected 2049 or 2051).")):
        read_idx(path)


def test_short_and_truncated_uncompressed_files_are_course_errors(tmp_path):
    short = tmp_path / "short"
    short.write_bytes(b"\x00\x00\x08")
    with pytest.raises(CourseError, match=re.escape(f"{short} is too short to be an IDX file (3 bytes). Download it again.")):
        read_idx(short)
    cut = tmp_path / "cut"
    cut.write_bytes(struct.pack(">iiii", 2051, 2, 28, 28) + bytes(784))
    with pytest.raises(CourseError, match=re.escape(f"{cut} is truncated or corrupt: 800 bytes, expected 1584.")):
        read_idx(cut)


def test_unreadable_file_is_a_course_error(tmp_path):
    with pytest.raises(CourseError, match=r"Cannot read .*missing\.gz: .*Check that it exists"):
        read_idx(tmp_path / "missing.gz")


def test_images_and_labels_of_different_lengths_are_a_course_error(tmp_path):
    raw = make_raw(tmp_path)
    (raw / IMAGES).write_bytes(struct.pack(">iiii", 2051, 3, 28, 28) + bytes(3 * 784))
    (raw / LABELS).write_bytes(struct.pack(">ii", 2049, 2) + bytes(2))
    with pytest.raises(CourseError, match=re.escape("t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte do not match: shapes (3, 28, 28) and (2,).")):
        load_mnist(tmp_path)


# --- downloading (there is no network here) ---------------------------------------------------------

OFFLINE = RuntimeError(
    "Error downloading train-images-idx3-ubyte.gz:\n"
    "Tried https://ossci-datasets.s3.amazonaws.com/mnist/, got:\n<urlopen error [Errno -2] Name or service not known>\n")


def test_failed_download_into_the_default_folder_is_a_clear_course_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GAN_COURSE_DATA", raising=False)
    calls = []

    def offline_mnist(root, train=True, download=False):
        calls.append((root, download))
        raise OFFLINE

    monkeypatch.setattr(data, "MNIST", offline_mnist)
    message = (f"Could not download MNIST into {tmp_path.resolve() / 'data'} "
               "(last error: <urlopen error [Errno -2] Name or service not known>). Check the network and run again "
               "(files already fetched are kept), or set GAN_COURSE_DATA (or --data) to a folder that holds MNIST/raw/ "
               "with the IDX files.")
    with pytest.raises(CourseError, match=re.escape(message)):
        load_mnist()
    assert calls == [("data", True)]


def test_download_false_does_not_try_the_network(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GAN_COURSE_DATA", raising=False)
    monkeypatch.setattr(data, "MNIST", lambda *a, **k: pytest.fail("no download was asked for"))
    with pytest.raises(CourseError, match=r"No MNIST train/test files in"):
        load_mnist(download=False)


def network_reachable() -> bool:
    try:
        socket.getaddrinfo("ossci-datasets.s3.amazonaws.com", 443)
        return True
    except OSError:
        return False


def test_real_download_attempt_offline_fails_with_a_course_error(tmp_path, monkeypatch):
    if network_reachable():
        pytest.skip("the network is reachable: a real download would succeed")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GAN_COURSE_DATA", raising=False)
    with pytest.raises(CourseError, match=r"Could not download MNIST into .*Check the network and run again"):
        load_mnist()


# --- md5 ------------------------------------------------------------------------------------------


def test_verify_files_checks_the_gz_files_md5s(tmp_path, test_files):
    checks = verify_files()
    if not checks:
        pytest.skip("the data folder holds no .gz files to check")
    assert all(checks.values())
    images_gz, _ = copy_split(test_files, tmp_path)
    if images_gz.suffix == ".gz":
        images_gz.write_bytes(gzip.compress(gzip.open(images_gz).read(), compresslevel=1))  # same digits, different bytes
        assert verify_files(tmp_path)[images_gz.name] is False


def test_torchvision_mnist_reads_the_offline_split_with_torchvisions_own_class(tmp_path, monkeypatch):
    from torch.utils.data import DataLoader
    from torchvision.datasets import MNIST

    from gan_course.batches import load_dataset, make_loader
    from gan_course.data import torchvision_mnist

    monkeypatch.setenv("GAN_COURSE_CACHE", str(tmp_path))
    dataset = torchvision_mnist()
    assert isinstance(dataset, MNIST) and len(dataset) == len(load_dataset())
    assert sorted(p.name for p in (tmp_path / "torchvision" / "MNIST" / "raw").iterdir()) == [
        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]  # unpacked once, nothing half-written left
    theirs = next(iter(DataLoader(dataset, 64, shuffle=True, generator=torch.Generator().manual_seed(0))))
    ours = next(iter(make_loader(load_dataset(), 64, torch.Generator().manual_seed(0))))
    assert torch.equal(theirs[0], ours[0]) and torch.equal(theirs[1], ours[1])
    assert theirs[0].min() == -1 and theirs[0].max() == 1
