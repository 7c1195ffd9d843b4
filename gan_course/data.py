"""MNIST: finding it, reading it, normalising it to [-1, 1], batching it (notebook 02).

Where the data lives, in order of precedence: the `root` argument, the environment
variable `GAN_COURSE_DATA`, then `./data`. That folder holds `MNIST/raw/`, exactly as
`torchvision.datasets.MNIST(root, download=True)` lays it out. Only the default `./data`
is downloaded into; a folder you name is read as it is (it may hold only the test split,
gzipped, like the course's offline copy).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms
from torchvision.datasets import MNIST

from gan_course.errors import CourseError
from gan_course.seeding import seed_worker

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
            partial = target.with_suffix(".partial")  # never leave half a file under the real name
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


class MNISTDigits(Dataset):
    """MNIST as torchvision serves it: item i is (transform(PIL image), label)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform=None):
        self.images, self.labels = images, labels
        self.transform = transform if transform is not None else mnist_transform()

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        image = Image.fromarray(self.images[i].numpy())  # uint8 (28, 28) -> a greyscale "L" image
        return self.transform(image), int(self.labels[i])


def load_dataset(root=None, split: str = "auto", transform=None, n: int | None = None) -> MNISTDigits:
    """`MNISTDigits` over `load_mnist(root, split)` (its first `n` digits; all if None), the course's transform by default."""
    images, labels = load_mnist(root, split)
    _check_count(n)
    return MNISTDigits(images[:n], labels[:n], transform=transform)


def _check_count(n) -> None:
    """Raise a `CourseError` unless n is None (all digits) or a positive whole number."""
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        raise CourseError(f"n must be a positive number of digits; got {n!r}.")


def normalise(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) in [0, 255] -> float32 (N, 1, 28, 28) in [-1, 1]; same numbers as `mnist_transform`."""
    if images.dtype != torch.uint8:
        raise CourseError(f"normalise expects uint8 pixels in [0, 255]; got dtype {images.dtype}.")
    return images.float().div(255).sub(0.5).div(0.5).unsqueeze(1)


def denormalise(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1] for display (the inverse of Normalize(0.5, 0.5)), clamped."""
    return images.mul(0.5).add(0.5).clamp(0, 1)


def make_loader(dataset, batch_size: int, rng: torch.Generator | None = None, num_workers: int = 0,
                device: torch.device | str = "cpu") -> DataLoader:
    """A shuffling DataLoader that drops the last partial batch; seeded through `rng`.

    `num_workers=0` is the course default: worker processes crash notebooks on some
    platforms, and MNIST in memory needs none.
    """
    check_batch_size(batch_size, len(dataset))
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True, generator=rng,
                      num_workers=num_workers, worker_init_fn=seed_worker,
                      pin_memory=torch.device(device).type == "cuda")


def check_batch_size(batch_size: int, n: int) -> None:
    """Raise a `CourseError` unless 1 <= batch_size <= n."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise CourseError(f"batch size must be a positive integer; got {batch_size!r}.")
    if batch_size > n:
        raise CourseError(f"batch size {batch_size} is larger than the data ({n} images). Use --batch-size {min(n, 64)} or less.")


def check_images(images: torch.Tensor, size: int = 28) -> None:
    """Catch the classic data mistakes before training: wrong shape, channels or range.

    images: (B, 1, size, size) float, expected in [-1, 1] to match the generator's Tanh.
    """
    if images.dim() != 4 or images.shape[1:] != (1, size, size):
        hint = (" Three channels, as Grayscale(3) makes them: MNIST is grey, so drop Grayscale(3) and use "
                "Normalize((0.5,), (0.5,)).") if images.dim() == 4 and images.shape[1] == 3 else ""
        hint = hint or (" Add a channel with images.unsqueeze(1)." if images.dim() == 3 else "")
        raise CourseError(f"images must have shape (B, 1, {size}, {size}); got {tuple(images.shape)}.{hint}")
    if not torch.isfinite(images).all():
        raise CourseError("images contain NaN or infinite values; check the data loading and transforms.")
    low, high = float(images.min()), float(images.max())
    if high > 1.001 or low < -1.001:
        raise CourseError(
            f"images must lie in [-1, 1] to match the generator's Tanh; got [{low:.3f}, {high:.3f}]. "
            "Normalising with MNIST's mean/std (0.1307, 0.3081) gives about [-0.42, 2.82]: use Normalize((0.5,), (0.5,))."
        )
    if low >= -0.001:
        raise CourseError(
            f"images lie in [{low:.3f}, {high:.3f}], not [-1, 1]: the generator's Tanh can draw values the data never has. "
            "Add Normalize((0.5,), (0.5,)) after ToTensor()."
        )


def shuffled_batches(images: torch.Tensor, batch_size: int, rng: torch.Generator | None = None):
    """Yield shuffled (batch_size, ...) slices of an in-memory tensor: one epoch, last partial batch dropped.

    The fast path for training: the same batches a DataLoader gives, without the
    per-image PIL round trip.
    """
    check_batch_size(batch_size, len(images))
    order = torch.randperm(len(images), generator=rng).to(images.device)
    for start in range(0, len(images) - batch_size + 1, batch_size):
        yield images[order[start:start + batch_size]]


COURSE_SIZE = 10_000  # digits the course trains on: the same on every machine (the offline copy has exactly this many)


def training_images(root=None, n: int | None = COURSE_SIZE) -> torch.Tensor:
    """The course's training set in memory: the first `n` digits (all if None) as (n, 1, 28, 28) float32 in [-1, 1].

    Taking the same number of digits everywhere makes an epoch the same length on a
    student's machine (60,000 downloaded digits) and in CI (the 10,000 offline ones).
    """
    images, _ = load_mnist(root)
    _check_count(n)
    return normalise(images[:n])
