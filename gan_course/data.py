"""MNIST: finding it, reading it, torchvision's dataset and transform (notebook 02).

Where the data lives, in order of precedence: the `root` argument, the environment
variable `GAN_COURSE_DATA`, then `./data`. That folder holds `MNIST/raw/`, exactly as
`torchvision.datasets.MNIST(root, download=True)` lays it out. Only the default `./data`
is downloaded into; a folder you name is read as it is (it may hold only the test split,
gzipped, like the course's offline copy). From digits to batches: `gan_course.batches`.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from pathlib import Path

import torch
from torchvision import transforms
from torchvision.datasets import MNIST

from gan_course.errors import CourseError

ENV_VAR = "GAN_COURSE_DATA"
DEFAULT_ROOT = Path("data")
SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
MD5 = dict(MNIST.resources)  # torchvision's checksums of the four .gz files
FIX = f"Set {ENV_VAR} (or --data) to a folder that holds MNIST/raw/ with the IDX files, or unset it to download into ./data."


def default_root() -> Path:
    """`./data`; from the course's `notebooks/` folder, the project's `../data` (where set-up downloads it)."""
    cwd = Path.cwd()
    if cwd.name == "notebooks" and (cwd.parent / "pyproject.toml").is_file():
        return Path("..") / DEFAULT_ROOT
    return DEFAULT_ROOT


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The folder that holds `MNIST/raw/`: `root`, else `$GAN_COURSE_DATA`, else `./data` (see `default_root`)."""
    if root is not None and str(root) != "":
        return Path(root).expanduser()
    env = os.environ.get(ENV_VAR, "").strip()
    return Path(env).expanduser() if env else default_root()


def read_idx(path: str | os.PathLike) -> torch.Tensor:
    """Read one IDX file (`.gz` or not): images -> (N, 28, 28) uint8, labels -> (N,) uint8."""
    path = Path(path)
    try:
        raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise CourseError(f"{path} is truncated or corrupt ({err}). Delete it and download it again. {FIX}") from err
    except OSError as err:
        raise CourseError(f"Cannot read {path}: {err.strerror or err}. Check that it exists and is readable.") from err
    if len(raw) < 8:
        raise CourseError(f"{path} is too short to be an IDX file ({len(raw)} bytes). Download it again.")
    magic, count = int.from_bytes(raw[0:4], "big"), int.from_bytes(raw[4:8], "big")
    if magic not in (2049, 2051):
        raise CourseError(f"{path} is not an MNIST IDX file (magic number {magic}, expected 2049 or 2051).")
    header = 16 if magic == 2051 else 8
    shape = (count, int.from_bytes(raw[8:12], "big"), int.from_bytes(raw[12:16], "big")) if magic == 2051 else (count,)
    expected = header + int(torch.tensor(shape).prod())
    if len(raw) != expected:
        raise CourseError(f"{path} is truncated or corrupt: {len(raw)} bytes, expected {expected}. Download it again.")
    return torch.frombuffer(bytearray(raw[header:]), dtype=torch.uint8).reshape(shape)


def split_files(root: Path, split: str) -> tuple[Path, Path] | None:
    """The (images, labels) files of `split` under `root/MNIST/raw`, plain or `.gz`; None if absent."""
    raw = root / "MNIST" / "raw"
    found = []
    for name in SPLITS[split]:
        candidates = [raw / name, raw / f"{name}.gz"]
        hit = next((p for p in candidates if p.is_file()), None)
        if hit is None:
            return None
        found.append(hit)
    return found[0], found[1]


def download_mnist(root: Path) -> None:
    """Download MNIST with torchvision into `root` (all four files, checked against their md5s)."""
    try:
        MNIST(str(root), train=True, download=True)
    except (RuntimeError, OSError) as err:
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        # torchvision lists each mirror it tried; the last line holds the underlying cause
        cause = (lines[-1] if lines else type(err).__name__).rstrip(":.")
        raise CourseError(
            f"Could not download MNIST into {root.resolve()} (last error: {cause}). "
            f"Check the network and run again (files already fetched are kept), or set {ENV_VAR} (or --data) "
            "to a folder that holds MNIST/raw/ with the IDX files."
        ) from err


def load_mnist(root=None, split: str = "auto", download: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Load one MNIST split: images (N, 28, 28) uint8 in [0, 255], labels (N,) int64 in 0..9.

    `split="auto"` takes the 60,000 training digits when present, else the 10,000 test
    digits (an offline folder may hold only those). `download=None` downloads only into
    the default `./data`.
    """
    if split not in ("auto", *SPLITS):
        raise CourseError(f"split must be 'auto', 'train' or 'test'; got {split!r}.")
    root = data_root(root)
    named = root != default_root()
    if named and not root.is_dir():
        source = f"{ENV_VAR}={os.environ.get(ENV_VAR)}" if os.environ.get(ENV_VAR) and root == data_root() else str(root)
        raise CourseError(f"The data folder {source} does not exist ({root.resolve()}). {FIX}")
    order = ("train", "test") if split == "auto" else (split,)
    files = next((f for f in (split_files(root, s) for s in order) if f), None)
    if files is None and (download if download is not None else not named):
        download_mnist(root)
        files = next((f for f in (split_files(root, s) for s in order) if f), None)
    if files is None:
        raise CourseError(f"No MNIST {'/'.join(order)} files in {(root / 'MNIST' / 'raw').resolve()}. {FIX}")
    images, labels = read_idx(files[0]), read_idx(files[1])
    if images.dim() != 3 or labels.dim() != 1 or len(images) != len(labels):
        raise CourseError(f"{files[0].name} and {files[1].name} do not match: shapes {tuple(images.shape)} and {tuple(labels.shape)}.")
    return images, labels.long()


def verify_files(root=None) -> dict[str, bool]:
    """Check each MNIST `.gz` file present in `root/MNIST/raw` against torchvision's md5."""
    raw = data_root(root) / "MNIST" / "raw"
    result = {}
    for name, md5 in MD5.items():
        if (raw / name).is_file():
            result[name] = hashlib.md5((raw / name).read_bytes()).hexdigest() == md5
    return result


def cache_dir(root=None) -> Path:
    """A writable folder for what the course derives from the data (the digit meter, unpacked IDX files): `$GAN_COURSE_CACHE`, else `<data root>/cache` if writable, else ~/.cache/gan-course."""
    env = os.environ.get("GAN_COURSE_CACHE", "").strip()
    if env:
        return Path(env).expanduser()
    root = data_root(root)
    # the mode bits too: root passes os.access on a folder that is read-only on purpose (a shared data copy)
    if root.is_dir() and os.access(root, os.W_OK) and root.stat().st_mode & 0o222:
        return root / "cache"
    return Path.home() / ".cache" / "gan-course"


def torchvision_mnist(root=None, transform=None) -> MNIST:
    """`torchvision.datasets.MNIST` with the course's transform: the training split, or the test split where only it exists.

    In the default `./data` this is exactly `MNIST(root, train=True, download=True, transform=...)`.
    torchvision insists on all four files, unpacked; an offline folder may hold only the gzipped
    test split, so its files are unpacked into `cache_dir()` and torchvision reads them from there.
    """
    transform = transform if transform is not None else mnist_transform()
    root = data_root(root)
    if root == default_root() or all(split_files(root, s) for s in SPLITS):
        return MNIST(str(root), train=True, download=root == default_root(), transform=transform)
    split = "train" if split_files(root, "train") else "test"
    unpacked = cache_dir(root) / "torchvision"
    for source in split_files(root, split) or ():
        target = unpacked / "MNIST" / "raw" / source.name.removesuffix(".gz")
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            # never leave half a file under the real name, nor share one with another process unpacking it too
            partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
            partial.write_bytes(gzip.open(source).read() if source.suffix == ".gz" else source.read_bytes())
            partial.replace(target)
    return OfflineMNIST(str(unpacked), train=split == "train", transform=transform)


class OfflineMNIST(MNIST):
    """torchvision's MNIST, unchanged but for accepting a folder that holds only the split it reads."""

    @property
    def raw_folder(self) -> str:  # torchvision names the folder after the class
        return str(Path(self.root) / "MNIST" / "raw")

    def _check_exists(self) -> bool:
        names = SPLITS["train" if self.train else "test"]
        return all((Path(self.raw_folder) / name).is_file() for name in names)


def mnist_transform() -> transforms.Compose:
    """PIL image -> (1, 28, 28) float in [-1, 1]: ToTensor gives [0, 1], Normalize(0.5, 0.5) maps to [-1, 1]."""
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
